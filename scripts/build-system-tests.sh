#!/usr/bin/env bash
# Assembles the bare-metal system tests (test/system/*.asm, nasm) into the
# 64 KiB ROM images test/system/bin/<name>.bin that test/system/system.test.ts
# runs on our core. With --qemu, also runs each image under QEMU (the
# reference) and reports whether it passed there.
#
#   scripts/build-system-tests.sh [--qemu] [name...]
#
# Under QEMU a program passes when it prints "PASS <name>" and exits through
# isa-debug-exit with status 0 (QEMU's exit code 1); triple_fault passes when
# it prints "TRIPLE" and QEMU exits 0 (the shutdown, with -no-reboot).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/test/system"
out="$src/bin"
logs="$root/test-artifacts/system-qemu"

run_qemu=0
names=()
for arg in "$@"; do
  case "$arg" in
    --qemu) run_qemu=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) names+=("$arg") ;;
  esac
done
if [[ ${#names[@]} -eq 0 ]]; then
  for asm in "$src"/*.asm; do names+=("$(basename "$asm" .asm)"); done
fi

command -v nasm >/dev/null || { echo "nasm is not installed (apt-get install nasm)" >&2; exit 2; }
mkdir -p "$out"
for name in "${names[@]}"; do
  nasm -f bin -w+all -I "$src/" -o "$out/$name.bin" "$src/$name.asm"
  size=$(stat -c %s "$out/$name.bin")
  if [[ $size -ne 65536 ]]; then
    echo "$name.bin is $size bytes, not 65536" >&2
    exit 1
  fi
done
echo "assembled ${#names[@]} image(s) into ${out#"$root"/}"

[[ $run_qemu -eq 1 ]] || exit 0

qemu=${QEMU:-qemu-system-i386}
command -v "$qemu" >/dev/null || { echo "$qemu is not installed (apt-get install qemu-system-x86)" >&2; exit 2; }
mkdir -p "$logs"
failed=0
for name in "${names[@]}"; do
  log="$logs/$name.log"
  set +e
  timeout 60 "$qemu" -cpu pentium3 -m 16 -bios "$out/$name.bin" -display none \
    -debugcon stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -no-reboot -nodefaults </dev/null >"$log" 2>&1
  rc=$?
  set -e
  if [[ $name == triple_fault ]]; then
    if [[ $rc -eq 0 ]] && grep -q '^TRIPLE$' "$log"; then verdict=pass; else verdict=FAIL; fi
  else
    if [[ $rc -eq 1 ]] && grep -q "^PASS $name\$" "$log"; then verdict=pass; else verdict=FAIL; fi
  fi
  [[ $verdict == pass ]] || failed=$((failed + 1))
  printf '%-20s qemu exit %-3s %s\n' "$name" "$rc" "$verdict"
  if [[ $verdict != pass ]]; then sed 's/^/    | /' "$log" | tail -n 20; fi
done
echo "$(( ${#names[@]} - failed )) passed, $failed failed"
[[ $failed -eq 0 ]]
