#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# contrib/buildroot and contrib/yocto stay in sync with the CMake build (docs/packaging.md): the
# same version as project(); a Buildroot package and a Yocto recipe for each library
# CMakeLists.txt requires, and no other; the units of systemd/ and the release tools of the
# tender-tools install component named where the recipes split and enable them; no placeholder
# that would break a user's build: libdivsufsort pinned by sha256 (one tarball, one sum, in both)
# with a real licence checksum, tender built from the enclosing tree or from a pinned commit.
# A real Buildroot or Yocto build cannot run here (no network builds of whole distributions in
# the suite).
set -euo pipefail

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/script-test.sh"
st_begin contrib-sync
BR=$SRC/contrib/buildroot/package/tender
YO=$SRC/contrib/yocto/recipes-tender/tender

version=$(sed -n 's/^project(tender VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
check "CMakeLists.txt has a project version" test -n "$version"
check "tender.mk's TENDER_VERSION is the project's" \
  eq "$(sed -n 's/^TENDER_VERSION = //p' "$BR/tender.mk")" "$version"
check "the Yocto recipe is tender_$version.bb, and the only one" \
  eq "$(cd "$YO" && echo tender_*.bb)" "tender_$version.bb"

# The libraries CMakeLists.txt requires: pkg-config modules, and mbedTLS found by find_library.
modules=$(sed -n 's/^ *pkg_check_modules([A-Z_]* REQUIRED IMPORTED_TARGET \([a-z0-9_-]*\)).*/\1/p' \
  "$SRC/CMakeLists.txt" | sort -u)
grep -q 'find_library(MBEDTLS_LIB mbedtls REQUIRED)' "$SRC/CMakeLists.txt" && modules+=$'\n'mbedtls
check "CMakeLists.txt requires libraries" ge "$(wc -w <<<"$modules")" 8
# module buildroot-package yocto-recipe
declare -A br=([libcurl]=libcurl [libarchive]=libarchive [libsystemd]=systemd [libcjson]=cjson
  [libseccomp]=libseccomp [libzstd]=zstd [libdivsufsort]=libdivsufsort
  [libmicrohttpd]=libmicrohttpd [libmosquitto]=mosquitto [libsodium]=libsodium [mbedtls]=mbedtls)
declare -A yo=([libcurl]=curl [libarchive]=libarchive [libsystemd]=systemd [libcjson]=cjson
  [libseccomp]=libseccomp [libzstd]=zstd [libdivsufsort]=libdivsufsort
  [libmicrohttpd]=libmicrohttpd [libmosquitto]=mosquitto [libsodium]=libsodium [mbedtls]=mbedtls)
unmapped=()
for m in $modules; do [[ -n ${br[$m]:-} ]] || unmapped+=("$m"); done
check "each required library has a Buildroot and a Yocto name here: ${unmapped[*]:-}" eq "${unmapped[*]:-}" ""

# words_of FILE VAR: the words of a make/bitbake assignment VAR = ... (with continuations).
words_of() {
  awk -v var="$2" '
    $0 ~ "^"var" *[:?]?= *" { on = 1; sub("^"var" *[:?]?= *", "") }
    on { line = $0; cont = sub(/\\$/, "", line); gsub(/"/, "", line); printf "%s ", line; if (!cont) on = 0 }
  ' "$1" | tr -s ' \t' '\n\n' | sed '/^$/d' | sort -u
}
want_br=$(for m in $modules; do echo "${br[$m]}"; done | sort -u)
want_yo=$(for m in $modules; do echo "${yo[$m]}"; done | sort -u)
check "tender.mk's TENDER_DEPENDENCIES are the required libraries (and host-pkgconf)" \
  eq "$(words_of "$BR/tender.mk" TENDER_DEPENDENCIES | grep -vx host-pkgconf | paste -sd' ')" \
  "$(paste -sd' ' <<<"$want_br")"
check "the Yocto recipe's DEPENDS are the required libraries" \
  eq "$(words_of "$YO/tender_$version.bb" DEPENDS | paste -sd' ')" "$(paste -sd' ' <<<"$want_yo")"
for b in $want_br; do
  [[ $b == libdivsufsort ]] || continue
  check "contrib/buildroot packages libdivsufsort (Buildroot has none)" \
    test -f "$SRC/contrib/buildroot/package/libdivsufsort/libdivsufsort.mk"
done
for b in $want_br; do
  check "Config.in selects or depends on $b" \
    grep -q "BR2_PACKAGE_$(tr 'a-z-' 'A-Z_' <<<"$b")\( \|$\)" "$BR/Config.in"
done

# The units: every one in systemd/ goes into the Yocto package, tenderd.service is enabled.
for u in "$SRC"/systemd/*.service; do
  check "the Yocto recipe packages $(basename "$u")" grep -q "/$(basename "$u")" "$YO/tender_$version.bb"
done
check "the Yocto recipe enables tenderd.service" \
  grep -q '^SYSTEMD_SERVICE:${PN} = "tenderd.service"' "$YO/tender_$version.bb"
check "tender.mk enables tenderd.service" grep -q 'multi-user.target.wants/tenderd.service' "$BR/tender.mk"

# The release tools: what the tender-tools install component holds.
DESTDIR=$WORK/tools cmake --install "$TENDER_BUILD_DIR" --component tender-tools >/dev/null
tools=$(cd "$WORK/tools" && find . -path '*/bin/*' -printf '%f\n' | sort | paste -sd' ')
check "the tender-tools component has binaries" test -n "$tools"
check "tender.mk removes exactly the tools unless BR2_PACKAGE_TENDER_TOOLS" \
  eq "$(sed -n 's/.*addprefix $(TARGET_DIR)\/usr\/bin\/,\([^)]*\)).*/\1/p' "$BR/tender.mk" | tr ' ' '\n' | sort | paste -sd' ')" "$tools"
check "the Yocto recipe's -tools package holds exactly the tools" \
  eq "$(grep -o '${bindir}/[a-z-]*' "$YO/tender_$version.bb" | sed 's|.*/||' | sort | paste -sd' ')" "$tools"
# Placeholders: nothing floating, nothing left to fill in.
DSS_BR=$SRC/contrib/buildroot/package/libdivsufsort
DSS_YO=$SRC/contrib/yocto/recipes-support/libdivsufsort/libdivsufsort_2.0.1.bb
contrib_text=$(cat "$SRC"/contrib/buildroot/package/*/* "$SRC"/contrib/yocto/recipes-*/*/*.bb)
check "contrib: no floating SRCREV (AUTOREV)" lacks "$contrib_text" AUTOREV
check "contrib: no example.com URL" lacks "$contrib_text" example.com
check "contrib: no licence checksum left at 0" eq "$(grep -c 'md5=\(0\|\$\)' <<<"$contrib_text")" 0
dss_source=$(sed -n 's/^LIBDIVSUFSORT_SOURCE = //p' "$DSS_BR/libdivsufsort.mk" |
  sed 's/$(LIBDIVSUFSORT_VERSION)/2.0.1/')
dss_sum=$(awk -v f="$dss_source" '$1 == "sha256" && $3 == f { print $2 }' "$DSS_BR/libdivsufsort.hash" 2>/dev/null)
check "Buildroot's libdivsufsort.hash has the sha256 of its tarball ($dss_source)" \
  eval '[[ $dss_sum =~ ^[0-9a-f]{64}$ ]]'
lic=$(sed -n 's/^LIBDIVSUFSORT_LICENSE_FILES = //p' "$DSS_BR/libdivsufsort.mk")
check "Buildroot's libdivsufsort.hash has the sha256 of its licence file ($lic)" \
  grep -Eq "^sha256 +[0-9a-f]{64} +$lic\$" "$DSS_BR/libdivsufsort.hash"
check "the Yocto libdivsufsort recipe fetches the same tarball" \
  grep -q "/libdivsufsort_\${PV}.orig.tar.bz2\"" "$DSS_YO"
yo_sum=$(sed -n 's/^SRC_URI\[sha256sum\] = "\(.*\)"/\1/p' "$DSS_YO")
check "the Yocto libdivsufsort recipe pins the same sha256" eval '[[ -n $yo_sum && $yo_sum == "$dss_sum" ]]'
check "the Yocto libdivsufsort recipe's licence checksum is an md5 of the same file" \
  grep -Eq "^LIC_FILES_CHKSUM = \"file://$lic;md5=[0-9a-f]{32}\"" "$DSS_YO"
check "tender.mk builds the enclosing tree when no site is set" \
  grep -q '^TENDER_SITE_METHOD = local' "$BR/tender.mk"
check "the Yocto tender recipe builds the enclosing tree by default (externalsrc)" \
  grep -q "else 'externalsrc'" "$YO/tender_$version.bb"
check "the Yocto tender recipe refuses a fetch without a pinned SRCREV" \
  grep -q 'bb.fatal("tender: TENDER_GIT_URL is set but SRCREV is not a commit id' "$YO/tender_$version.bb"
# The enclosing tree the recipes fall back to is this one: four levels up from the recipe, two
# from the BR2_EXTERNAL.
check "four levels above the Yocto recipe is the source tree" test -f "$YO/../../../../CMakeLists.txt"
check "two levels above the BR2_EXTERNAL is the source tree" test -f "$SRC/contrib/buildroot/../../CMakeLists.txt"
st_end
