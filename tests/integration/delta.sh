#!/usr/bin/env bash
# tender-publish delta make/apply end to end: a layer with a changed, a moved, a new and a
# removed file; the delta rebuilds the new tar byte for byte and extracts it like `tar -x`; the
# applier's peak RSS stays under 32 MiB; a changed or symlinked old file and a wrong old layer
# are refused and leave nothing behind; a delta not worth it is not written (exit 3).
# Then the 1.1 GiB layer with a 640 MiB file (memory bound at scale; ~35 s, ~6 GiB of /tmp):
# on by default, off in a sanitizer build (its RSS is the sanitizer's) and when /tmp has less
# than 8 GiB free; TENDER_TEST_BIG=1 forces it, TENDER_TEST_BIG=0 leaves it out.
set -uo pipefail

build=${TENDER_BUILD_DIR:?}
pub=$build/bin/tender-publish
[[ -x $pub ]] || { echo "skip: $pub not built"; exit 77; }
command -v python3 >/dev/null || { echo "skip: python3 missing"; exit 77; }
tmp=$(mktemp -d /tmp/tender-delta-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

failures=0
ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }
check() { # name cmd...
  local name=$1
  shift
  if "$@"; then ok "$name"; else fail "$name"; fi
}

tarit() {
  tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner \
    --format=posix --pax-option=delete=atime,delete=ctime -cf "$2" -C "$1" .
}

# peak RSS in KiB of a command (GNU time), or "" without it or under ASan (shadow memory)
sanitized=0
grep -q libasan <<<"$(ldd "$pub" 2>/dev/null)" && sanitized=1
rss() {
  if [[ -x /usr/bin/time && $sanitized == 0 ]]; then
    /usr/bin/time -f %M -o "$tmp/rss" "$@" && tail -1 "$tmp/rss"
  else
    "$@" && echo ""
  fi
}

make_pair() { # dir big_mb
  local d=$1 mb=$2
  mkdir -p "$d/old/usr/lib" "$d/old/etc"
  python3 - "$d/old" "$mb" <<'EOF'
import os, random, sys
root, mb = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
words = [bytes(rng.choice(b"abcdefghijklmnop") for _ in range(rng.randint(2, 9))) for _ in range(4000)]
def text(n):
    out = bytearray()
    while len(out) < n:
        out += rng.choice(words) + b" "
    return bytes(out[:n])
with open(f"{root}/usr/lib/big.bin", "wb") as f:
    for _ in range(mb):
        f.write(text(1 << 20))
for i in range(40):
    open(f"{root}/usr/lib/lib{i}.so.1", "wb").write(text(rng.randint(1000, 60000)))
open(f"{root}/etc/moved.conf", "wb").write(text(30000))
open(f"{root}/etc/removed", "wb").write(b"bye\n")
EOF
  ln -s lib0.so.1 "$d/old/usr/lib/lib0.so"
  cp -a "$d/old" "$d/new"
  python3 - "$d/new" <<'EOF'
import os, sys
root = sys.argv[1]
p = f"{root}/usr/lib/big.bin"
data = bytearray(open(p, "rb").read())
for k in (1, 2, 3):
    o = len(data) * k // 4
    data[o:o] = b"an insertion of a few bytes %d" % k
data[100:110] = b"OVERWRITTEN"[:10]
open(p, "wb").write(data)
l = f"{root}/usr/lib/lib7.so.1"
d = bytearray(open(l, "rb").read()); d[50:60] = b"0123456789"; open(l, "wb").write(d)
os.makedirs(f"{root}/etc/sub")
os.rename(f"{root}/etc/moved.conf", f"{root}/etc/sub/moved.conf")
os.remove(f"{root}/etc/removed")
open(f"{root}/etc/new", "wb").write(b"a new file\n")
EOF
  tarit "$d/old" "$d/old.tar"
  tarit "$d/new" "$d/new.tar"
  mkdir "$d/oldx" && tar -xf "$d/old.tar" -C "$d/oldx"
}

make_pair s 12
gzip -9 -k s/new.tar
check "make from a plain and a gzip blob" "$pub" delta make --from s/old.tar --to s/new.tar.gz --out s/d
check "delta is small" test "$(stat -c %s s/d)" -lt 200000
check "rebuild is byte for byte" "$pub" delta apply --delta s/d --old s/oldx --out s/re.tar
check "rebuilt tar equals the new tar" cmp -s s/re.tar s/new.tar
mkdir s/newx s/ref && tar -xf s/new.tar -C s/ref
kb=$(rss "$pub" delta apply --delta s/d --old s/oldx --extract s/newx)
check "apply extracts" test $? -eq 0
check "extracted layer equals tar -x of the new layer" diff -r --no-dereference s/newx s/ref
if [[ -n $kb ]]; then
  echo "     apply peak RSS ${kb} KiB"
  check "apply peak RSS under 32 MiB" test "$kb" -lt $((32 * 1024))
fi

# A changed old file: refused, and the destination is left empty.
cp -a s/oldx s/changed
printf 'X' | dd of=s/changed/usr/lib/big.bin bs=1 seek=5000 conv=notrunc status=none
mkdir s/out1
"$pub" delta apply --delta s/d --old s/changed --extract s/out1 2>s/err1
check "changed old file refused" test $? -ne 0
check "error names the digest" grep -q "mismatch" s/err1
check "nothing left behind" test -z "$(ls -A s/out1)"

# A symlinked old file (pointing at the very same content): never followed.
cp -a s/oldx s/linked
mv s/linked/usr/lib/big.bin s/outside.bin && ln -s "$tmp/s/outside.bin" s/linked/usr/lib/big.bin
mkdir s/out2
"$pub" delta apply --delta s/d --old s/linked --extract s/out2 2>s/err2
check "symlinked old file refused" test $? -ne 0
check "error names the file" grep -q "usr/lib/big.bin" s/err2
check "nothing left behind (symlink)" test -z "$(ls -A s/out2)"

# The wrong old layer: refused before reading anything.
mkdir s/empty s/out3
make_pair w 1
"$pub" delta make --from w/old.tar --to s/new.tar --out s/wrong --force 2>/dev/null
"$pub" delta apply --delta s/wrong --old s/oldx --extract s/out3 2>s/err3
check "delta for another old layer refused" test $? -ne 0

# Not worth it: an unrelated new layer.
mkdir -p n/old n/new
head -c 300000 /dev/urandom >n/old/a
head -c 300000 /dev/urandom >n/new/b
tarit n/old n/old.tar && tarit n/new n/new.tar && gzip -k n/new.tar
"$pub" delta make --from n/old.tar --to n/new.tar.gz --out n/d 2>/dev/null
check "delta not worth it: exit 3" test $? -eq 3
check "delta not worth it: no file" test ! -e n/d

big=${TENDER_TEST_BIG:-}
if [[ -z $big ]]; then
  big=1
  if [[ -n ${ASAN_OPTIONS:-} ]] || grep -q '^TENDER_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
    big=0
    echo "skip big: sanitizer build (TENDER_TEST_BIG=1 forces it)"
  elif (($(df --output=avail -k "$tmp" | tail -n 1) < 8 * 1024 * 1024)); then
    big=0
    echo "skip big: less than 8 GiB free in $tmp (TENDER_TEST_BIG=1 forces it)"
  fi
fi
if [[ $big == 1 ]]; then
  rm -rf s w n
  mkdir -p b/old/data
  head -c $((640 << 20)) /dev/urandom >b/old/data/big.bin
  head -c $((420 << 20)) /dev/urandom >b/old/data/other.bin
  cp -a b/old b/new
  printf 'edited' | dd of=b/new/data/big.bin bs=1 seek=$((300 << 20)) conv=notrunc status=none
  tarit b/old b/old.tar && tarit b/new b/new.tar && rm -rf b/new
  mv b/old b/oldx
  check "big: make" "$pub" delta make --from b/old.tar --to b/new.tar --out b/d --force
  mkdir b/newx
  kb=$(rss "$pub" delta apply --delta b/d --old b/oldx --extract b/newx)
  check "big: apply" test $? -eq 0
  echo "     big apply peak RSS ${kb} KiB"
  [[ -n $kb ]] && check "big: apply peak RSS under 32 MiB" test "$kb" -lt $((32 * 1024))
fi

((failures == 0)) || { echo "$failures failed"; exit 1; }
echo "all delta checks passed"
