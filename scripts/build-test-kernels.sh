#!/usr/bin/env bash
# Assembles the multiboot test kernels of the machine tests
# (test/machine/kernels/*.asm, nasm) into the .bin files committed beside
# them. With --qemu, also runs multiboot_timers under QEMU, the reference:
# it must print "PASS timers" and exit through isa-debug-exit with status 0
# (QEMU's exit code 1).
#
#   scripts/build-test-kernels.sh [--qemu]
#
# Debian packages: nasm; qemu-system-x86 (for --qemu).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/test/machine/kernels"

run_qemu=0
for arg in "$@"; do
  case "$arg" in
    --qemu) run_qemu=1 ;;
    *) echo "usage: $0 [--qemu]" >&2; exit 2 ;;
  esac
done

for src in "$dir"/*.asm; do
  bin="${src%.asm}.bin"
  nasm -f bin -o "$bin" "$src"
  echo "built ${bin#"$root"/}"
done

if [ "$run_qemu" = 1 ]; then
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  status=0
  timeout 60 qemu-system-i386 -cpu pentium3 -m 64 -kernel "$dir/multiboot_timers.bin" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 -nographic -no-reboot >"$log" 2>&1 || status=$?
  # Only the kernel's own lines (SeaBIOS and the option ROM print before it).
  tr -d '\r' <"$log" | sed -n 's/.*\(multiboot_timers:\)/\1/; /^multiboot_timers:/,$p'
  if [ "$status" = 1 ] && tr -d '\r' <"$log" | grep -qx 'PASS timers'; then
    echo "QEMU: multiboot_timers passed"
  else
    echo "QEMU: multiboot_timers FAILED (exit status $status)" >&2
    exit 1
  fi
fi
