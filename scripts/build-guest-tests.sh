#!/usr/bin/env bash
# Builds the i386 programs that test/machine/fpu-guest.test.ts runs inside
# the bundled Linux guest, and records what they print natively.
#
#   scripts/build-guest-tests.sh [--check] [--qemu]
#
# test/guest/fpmath.c is compiled twice, static and stripped:
#   test/guest/bin/fpmath-x87    -march=i686 -mfpmath=387 (no SSE in the program's own code)
#   test/guest/bin/fpmath-sse2   -march=i686 -msse2 -mfpmath=sse
# Both are run on this host; their output must be identical and is written
# to test/guest/fpmath.expected. (If they ever differ legitimately, the
# script stops: keep two expected files and teach the test about them.)
#
# --check  builds into a temporary directory and only compares with what is
#          committed (binaries and expected output); nothing is written.
# --qemu   also runs both binaries in the bundled guest under
#          qemu-system-i386 (-cpu pentium3,+sse2: the x87/MMX/SSE/SSE2
#          features wkvm's CPUID reports) and compares with the expected
#          output: a second reference, independent of this host's CPU
#          (with no FMA, for one: glibc picks fma's other variant). QEMU's TCG does not
#          trap unmasked SSE exceptions (#XM); that difference is reported
#          as known. Log: build/guest/fpmath-qemu.log
#
# Needs an x86 Linux host with gcc-multilib (gcc -m32, libc6-dev-i386).
# Same compiler and glibc give the same bytes: Debian bookworm's gcc
# 12.2.0-14+deb12u1 and libc6-dev-i386 2.36-9+deb12u14 built the committed ones.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/test/guest"
check=0
qemu=0
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    --qemu) qemu=1 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "unknown argument $arg" >&2; exit 2 ;;
  esac
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [[ $check -eq 1 ]]; then out="$tmp/bin"; expected="$tmp/fpmath.expected"; else out="$src/bin"; expected="$src/fpmath.expected"; fi
mkdir -p "$out"

# -std=c11 (not gnu11): standard excess precision (assignments round on the
# x87) and no FMA contraction. -frounding-math: the code changes rounding
# modes. No build id, no unwind tables: smaller, reproducible binaries.
common=(-m32 -static -s -O2 -std=c11 -frounding-math -fno-asynchronous-unwind-tables
        -Wall -Wextra -Wno-unused-function -Wl,--build-id=none)
gcc "${common[@]}" -march=i686 -mfpmath=387 -o "$out/fpmath-x87" "$src/fpmath.c" -lm
gcc "${common[@]}" -march=i686 -msse2 -mfpmath=sse -o "$out/fpmath-sse2" "$src/fpmath.c" -lm

# A check that the flags did what they say: the SSE2 build does its double
# arithmetic with SSE2 instructions.
sse2_ops() { objdump -d "$1" | grep -cE '\s(mulsd|divsd|addsd)\s' || true; }
[[ $(sse2_ops "$out/fpmath-sse2") -gt 0 ]] || { echo "fpmath-sse2 has no SSE2 arithmetic" >&2; exit 1; }

"$out/fpmath-x87" > "$tmp/x87.out"
"$out/fpmath-sse2" > "$tmp/sse2.out"
if ! cmp -s "$tmp/x87.out" "$tmp/sse2.out"; then
  echo "the two builds print different things natively:" >&2
  diff "$tmp/x87.out" "$tmp/sse2.out" >&2 || true
  exit 1
fi
cp "$tmp/x87.out" "$expected"
for b in fpmath-x87 fpmath-sse2; do
  echo "$b: $(stat -c %s "$out/$b") bytes, sha256 $(sha256sum "$out/$b" | cut -c1-16)"
done
echo "both print the same $(wc -l < "$expected") lines natively ($(tail -2 "$expected" | head -1))"

if [[ $check -eq 1 ]]; then
  status=0
  for f in bin/fpmath-x87 bin/fpmath-sse2 fpmath.expected; do
    if cmp -s "$tmp/$f" "$src/$f"; then
      echo "$f: same as committed"
    else
      echo "$f: DIFFERS from committed"; status=1
    fi
  done
  exit $status
fi

[[ $qemu -eq 1 ]] || exit 0

# Both binaries on one raw disk, each starting on a 512-byte sector.
x87_size=$(stat -c %s "$out/fpmath-x87")
sse2_size=$(stat -c %s "$out/fpmath-sse2")
x87_sectors=$(( (x87_size + 511) / 512 ))
sse2_sectors=$(( (sse2_size + 511) / 512 ))
cp "$out/fpmath-x87" "$tmp/disk.img"
truncate -s $((x87_sectors * 512)) "$tmp/disk.img"
cat "$out/fpmath-sse2" >> "$tmp/disk.img"
truncate -s $(( (x87_sectors + sse2_sectors) * 512 )) "$tmp/disk.img"
log="$root/build/guest/fpmath-qemu.log"
python3 "$root/scripts/guest/qemu-boot-test.py" --cpu pentium3,+sse2 --log "$log" \
  --extra "-drive file=$tmp/disk.img,format=raw,if=virtio" \
  --cmd "dd if=/dev/vda bs=512 count=$x87_sectors 2>/dev/null | head -c $x87_size > /x87; chmod +x /x87" \
  --cmd "dd if=/dev/vda bs=512 skip=$x87_sectors count=$sse2_sectors 2>/dev/null | head -c $sse2_size > /sse2; chmod +x /sse2" \
  --cmd "M=FP; echo \"<\$M-x87>\"; /x87; echo \"<\$M-x87-end>\"" \
  --cmd "M=FP; echo \"<\$M-sse2>\"; /sse2; echo \"<\$M-sse2-end>\"" > "$tmp/qemu.txt"
# QEMU's TCG never raises #XM: unmasked SSE exceptions do not trap there, so
# the SSE2 build's first three trap lines (and the digest) are known to differ.
without_sse_traps() { grep -vE '^(1/0|DBL_MAX\*2|0/0), [a-z]+ enabled|^digest ' "$1"; }
status=0
for b in x87 sse2; do
  # What the guest printed between the markers, without the tty's \r.
  tr -d '\r' < "$log" | sed -n "/^<FP-$b>\$/,/^<FP-$b-end>\$/p" | sed '1d;$d' > "$tmp/qemu-$b.out"
  if cmp -s "$tmp/qemu-$b.out" "$expected"; then
    echo "QEMU guest, fpmath-$b: same as native"
  elif [[ $b == sse2 ]] && cmp -s <(without_sse_traps "$tmp/qemu-$b.out") <(without_sse_traps "$expected"); then
    echo "QEMU guest, fpmath-$b: same as native except the SSE traps (QEMU's TCG raises no #XM)"
  else
    echo "QEMU guest, fpmath-$b: DIFFERENT from native:"; diff "$expected" "$tmp/qemu-$b.out" | head -20 || true; status=1
  fi
done
exit $status
