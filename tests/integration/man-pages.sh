#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The man pages (man/*.scd) stay in sync with the binaries and the configuration reference:
# every option a binary's --help (and each subcommand's --help) offers is in its man page, every
# key of docs/configuration.md's table is in agent.json(5), and each page renders with scdoc
# (when installed) into a page that man(1) formats without warnings.
set -euo pipefail

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/script-test.sh"
st_begin man-pages tenderd tenderctl tender-runtime tender-publish tender-server-mock

# options_of CMD...: the long options CMD's help text names, one a line.
options_of() { "$@" 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }

# in_page PAGE OPTIONS: each option appears in PAGE's source as itself (not as a prefix).
in_page() {
  local page=$SRC/man/$1 opt missing=()
  for opt in $2; do
    grep -q -- "${opt}\([^a-z0-9-]\|$\)" "$page" || missing+=("$opt")
  done
  [[ ${#missing[@]} -eq 0 ]] || { echo "     ${page##*/} lacks ${missing[*]}" >&2; return 1; }
}

check "tenderd --help's options are in tenderd.8" in_page tenderd.8.scd "$(options_of "$B/tenderd" --help)"
check "tenderctl --help's options are in tenderctl.8" \
  in_page tenderctl.8.scd "$(options_of "$B/tenderctl" --help; options_of "$B/tenderctl" store --help)"
check "tender-runtime --help's options are in tender-runtime.8" \
  in_page tender-runtime.8.scd "$(options_of "$B/tender-runtime" --help)"
check "tender-server-mock --help's options are in tender-server-mock.1" \
  in_page tender-server-mock.1.scd "$(options_of "$B/tender-server-mock" --help)"
pub=$(options_of "$B/tender-publish" --help
  for c in keygen release verify tuf-init tuf-add tuf-remove tuf-rotate tuf-refresh; do
    options_of "$B/tender-publish" "$c" --help
  done
  options_of "$B/tender-publish" delta make --help
  options_of "$B/tender-publish" delta apply --help)
check "tender-publish's and its commands' options are in tender-publish.1" in_page tender-publish.1.scd "$pub"

keys=$(sed -n 's/^| `\([a-zA-Z.]*\)` | .* | \(.*\) | .*/\1 \2/p' "$SRC/docs/configuration.md" |
  awk '$2 != "removed" {print $1}')
check "docs/configuration.md lists keys" ge "$(wc -w <<<"$keys")" 30
check "every key of docs/configuration.md is in agent.json.5" in_page agent.json.5.scd "$keys"

if command -v scdoc >/dev/null && command -v man >/dev/null; then
  for src in "$SRC"/man/*.scd; do
    page=$(basename "$src" .scd)
    check "$page renders" scdoc <"$src" >"$WORK/$page"
    check "man formats $page without warnings" \
      eq "$(MANWIDTH=80 man --warnings -l "$WORK/$page" 2>&1 >/dev/null)" ""
  done
else
  echo "scdoc or man is not installed: the pages are not rendered here (scripts/install-deps)"
fi
st_end
