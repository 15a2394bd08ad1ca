#!/bin/bash
# Runs inside the device tier's guest after a power cut and the boot after it, once tenderd has
# settled (scripts/lib/vm-cuts.sh): the store's invariants for app hello. Prints ok/FAIL lines
# and "current=VERSION" and "history=BYTES" (the size of the app's volume file); exits with the number of failures.
set -uo pipefail
S=/var/lib/tender/store
A=$S/apps/hello
failures=0
check() {
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}
cur=$(basename "$(readlink "$A/current" 2>/dev/null)" 2>/dev/null || echo none)
echo "current=$cur"
check "current resolves to a release with a readable manifest" jq -e .app "$A/current/manifest.json" >/dev/null
running=$(tender-runtime --root /run/tender/runtime list --format json 2>/dev/null | jq -r '.[] | select(.id | startswith("hello-")) | select(.status == "running") | .id')
check "exactly one hello container runs, the current one ($running)" test "$running" == "hello-${cur//./_}"
# The anti-rollback counter (docs/release-manifest.md) covers the running release: tenderd
# commits it right after the swap, before it reports success.
counter=$(cat "$A/counter" 2>/dev/null)
want=$(jq -r .releaseCounter "$A/current/manifest.json" 2>/dev/null)
check "the release counter ($counter) is a number at least current's ($want)" \
  test -n "$counter" -a -n "$want" -a "${counter//[0-9]/}" == "" -a "${counter:-0}" -ge "${want:-1}"
if [[ -L $A/previous ]]; then
  check "previous resolves" test -f "$A/previous/manifest.json"
fi
pins=$(ls "$S/state/pins" 2>/dev/null)
check "no update is pinned once settled ($pins)" test -z "$pins"
kept=("$(readlink -f "$A/current")")
[[ -L $A/previous ]] && kept+=("$(readlink -f "$A/previous")")
for r in "$A"/releases/*/; do
  r=${r%/}
  [[ " ${kept[*]} " == *" $r "* ]] || { echo "     orphan release $r"; failures=$((failures + 1)); }
done
parts=$(find "$S/blobs" "$S/tmp" -mindepth 1 \( -name '*.part' -o -path "$S/tmp/*" \) 2>/dev/null)
check "no .part file nor staging left ($parts)" test -z "$parts"
for b in "$S"/blobs/sha256/*; do
  [[ -f $b ]] || continue
  check "blob $(basename "$b" | cut -c1-12) re-verifies" test "$(sha256sum <"$b" | cut -c1-64)" == "$(basename "$b")"
done
# Each layer of a kept release equals its blob extracted again.
for m in "${kept[@]}"; do
  jq -r '.. | objects | select(has("diffId") and has("digest")) | "\(.digest) \(.diffId)"' "$m/manifest.json"
done | sort -u | while read -r digest diff; do
  l=$S/layers/sha256/${diff#sha256:}
  b=$S/blobs/sha256/${digest#sha256:}
  t=$(mktemp -d)
  if [[ -d $l && -f $b ]] && { tar -xzf "$b" -C "$t" 2>/dev/null || tar -xf "$b" -C "$t" 2>/dev/null; } && diff -r --no-dereference "$t" "$l" >/dev/null; then
    echo "ok   layer ${diff:7:12} equals its blob"
  else
    echo "FAIL layer ${diff:7:12} equals its blob"
    echo x >>/tmp/invariants.fail
  fi
  rm -rf "$t"
done
[[ -f /tmp/invariants.fail ]] && { failures=$((failures + $(wc -l </tmp/invariants.fail))); rm -f /tmp/invariants.fail; }
# The volume: scripts/lib/vm-cuts.sh compares the part of it that was synced before the cut.
h=$A/volumes/data/history
echo "history=$(stat -c %s "$h" 2>/dev/null || echo 0)"
exit "$failures"
