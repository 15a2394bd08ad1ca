#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Device code is device code (issue 18): signing, key generation and the delta generator live in
# libtender-make, which only tender-publish, tools, bench and tests link. The device's binaries
# (tenderd, tenderctl, tender-runtime) and libtender itself must hold none of it, nor reference
# the crypto libraries' signing entry points, nor link libdivsufsort; tenderd links neither
# libmosquitto nor libmicrohttpd (loaded when configured). nm sees what a binary
# defines and calls; in the sanitizer build (no --gc-sections) an object pulled in for one
# function brings all of its others, so a verification file that also signs shows there.
set -euo pipefail

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/script-test.sh"
st_need nm readelf
st_begin device-symbols tenderd tenderctl tender-runtime tender-publish

# What makes releases: tender's own functions (defined) and the libraries' (referenced).
MAKE_DEFINED='tender_pk_(private_load|private_sign|private_done|generate_p256|write_new_file|write_private_pem)|tender_sign|tender_sign_keygen|tender_tuf_(keygen|sign|sign_metadata|key_public)|tender_delta_make|delta_approx_(index|encode|free)|divsufsort'
MAKE_USED='mbedtls_pk_sign|mbedtls_ecp_gen_key|mbedtls_pk_write_key_pem|crypto_sign_keypair|crypto_sign_detached|divsufsort'

# publisher_symbols FILE: the release-making symbols FILE defines or references, one a line.
publisher_symbols() {
  nm "$1" 2>/dev/null | awk -v d="^($MAKE_DEFINED)$" -v u="^($MAKE_USED)(@.*)?$" \
    '($2 ~ /^[TtWw]$/ && $3 ~ d) || ($1 == "U" && $2 ~ u) {print ($1 == "U" ? $2 : $3)}' | sort -u
}
none() { [[ -z $1 ]] || { echo "     found: $(echo "$1" | tr '\n' ' ')" >&2; return 1; }; }
needs() { readelf -d "$1" | awk '/NEEDED/ {print $NF}'; }

for bin in tenderd tenderctl tender-runtime; do
  check "$bin holds no signing, key generation or delta generator code" none "$(publisher_symbols "$B/$bin")"
  check "$bin does not link libdivsufsort" lacks "$(needs "$B/$bin")" libdivsufsort
done
# MQTT and the monitor are off by default: their libraries (and the TLS stacks they bring) are
# loaded when configured (agent/dynlib.h), never linked.
check "tenderd does not link libmosquitto" lacks "$(needs "$B/tenderd")" libmosquitto
check "tenderd does not link libmicrohttpd" lacks "$(needs "$B/tenderd")" libmicrohttpd
LIB=${TENDER_BUILD_DIR}/lib/libtender.a
check "libtender.a is built" test -f "$LIB"
check "libtender.a holds no signing, key generation or delta generator code" \
  none "$(publisher_symbols "$LIB")"
# The check itself sees what it looks for, where it is.
check "tender-publish holds the signing and the generator" \
  eq "$(publisher_symbols "$B/tender-publish" | grep -cE '^(tender_sign|tender_tuf_sign|tender_delta_make|tender_pk_generate_p256)$')" 4
st_end
