// IN and OUT. Port access is allowed in real mode, at CPL <= IOPL, or when
// the TSS I/O permission bitmap clears every bit of the port range; each
// access is an IO exit (through the replay log, so it reaches the VMM once).
import {
  V_SEGS, SEG_SIZE, SEG_TR, SEG_ATTR, SEG_LIMIT, SEG_BASE, FLAG_IOPL, EXC_GP, EXIT_IO, REG_EAX, REG_EDX,
} from '../abi';
import { cpu, abortInsn, protMode, v86Mode, cpl, setFault, getReg, setReg, reg16 } from '../cpu/state';
import { getEflags } from '../cpu/flags';
import { fetch8 } from '../cpu/decode';
import { vmmAccess, readLinSys } from '../cpu/mmu';

/** Checks that `size` bytes of ports from `port` may be accessed; raises #GP(0) if not. */
export function ioPermitted(port: u32, size: u32): bool {
  if (!protMode) return true;
  if (!v86Mode && cpl <= ((getEflags() & FLAG_IOPL) >> 12)) return true;
  const tr = cpu + V_SEGS + SEG_TR * SEG_SIZE;
  const type = load<u32>(tr, SEG_ATTR) & 0xf;
  // Only a 32-bit TSS (available 9 or busy 11) has a bitmap.
  if ((type & 7) == 1 || (type & 7) == 3) {
    if (type & 8) {
      const limit = load<u32>(tr, SEG_LIMIT);
      const base = <u32>load<u64>(tr, SEG_BASE);
      if (limit >= 0x67) {
        const mapOff = <u32>readLinSys<u16>(base + 0x66);
        if (abortInsn) return false;
        const byteOff = mapOff + (port >> 3);
        if (byteOff + 1 <= limit) {
          const bitsWord = <u32>readLinSys<u16>(base + byteOff);
          if (abortInsn) return false;
          const mask = ((<u32>1 << size) - 1) << (port & 7);
          if ((bitsWord & mask) == 0) return true;
        }
      }
    }
  }
  setFault(EXC_GP, 0, true);
  return false;
}

/** Reads `size` bytes from a port (the VMM answers). */
export function portIn(port: u32, size: u32): u32 {
  if (!ioPermitted(port, size)) return 0;
  return <u32>vmmAccess(EXIT_IO, port, size, false, 0);
}
export function portOut(port: u32, size: u32, v: u32): void {
  if (!ioPermitted(port, size)) return;
  vmmAccess(EXIT_IO, port, size, true, <u64>v);
}

export function inImm<T>(): void {
  const port = fetch8();
  if (abortInsn) return;
  const v = portIn(port, <u32>sizeof<T>());
  if (abortInsn) return;
  setReg<T>(REG_EAX, <T>v);
}
export function inDx<T>(): void {
  const v = portIn(reg16(REG_EDX), <u32>sizeof<T>());
  if (abortInsn) return;
  setReg<T>(REG_EAX, <T>v);
}
export function outImm<T>(): void {
  const port = fetch8();
  if (abortInsn) return;
  portOut(port, <u32>sizeof<T>(), <u32>getReg<T>(REG_EAX));
}
export function outDx<T>(): void {
  portOut(reg16(REG_EDX), <u32>sizeof<T>(), <u32>getReg<T>(REG_EAX));
}
