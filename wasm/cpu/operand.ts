// Operand access shared by every instruction handler: the ModRM "E" operand
// (register or memory), the "G" register operand, memory through a segment,
// and the stack. Handlers are generic over T (u8, u16, u32): one handler
// serves every operand size.
import { SEG_SS, REG_ESP, TLB_ENTRIES, TLB_ENTRY_SIZE } from '../abi';
import { abortInsn, stack32, tlbBase, cpl, getReg, setReg, reg32, setReg32, reg16, setReg16 } from './state';
import { modrm, rmIsReg, eaOff, eaSeg } from './decode';
import { segLinear } from './segaccess';
import { readLin, writeLin, probeWrite } from './mmu';

/** Linear address of the last readEForWrite(), for the write-back. */
let rmwLin: u32 = 0;

@inline export function readMem<T>(seg: i32, off: u32): T {
  const lin = segLinear(seg, off, <u32>sizeof<T>(), false);
  if (abortInsn) return <T>0;
  return readLin<T>(lin);
}

@inline export function writeMem<T>(seg: i32, off: u32, v: T): void {
  const lin = segLinear(seg, off, <u32>sizeof<T>(), true);
  if (abortInsn) return;
  writeLin<T>(lin, v);
}

@inline export function readE<T>(): T {
  if (rmIsReg) return getReg<T>(modrm & 7);
  return readMem<T>(eaSeg, eaOff);
}

@inline export function writeE<T>(v: T): void {
  if (rmIsReg) setReg<T>(modrm & 7, v);
  else writeMem<T>(eaSeg, eaOff, v);
}

/**
 * Reads the E operand of a read-modify-write instruction (segment checked for writing).
 * Fix: the page is checked for writing too, before the read, as the CPU does
 * for a read-modify-write (#PF with W=1 on the read, D bit set): the
 * write-back can then no longer fault after the instruction computed its
 * result (only an MMIO write can still exit).
 */
@inline export function readEForWrite<T>(): T {
  if (rmIsReg) return getReg<T>(modrm & 7);
  const lin = segLinear(eaSeg, eaOff, <u32>sizeof<T>(), true);
  if (abortInsn) return <T>0;
  rmwLin = lin;
  // The write tag hits only for a writable, dirty RAM page, whose read tag is valid too.
  const e = tlbBase + ((lin >>> 12) & (TLB_ENTRIES - 1)) * TLB_ENTRY_SIZE;
  if (load<u32>(e, 4) == ((lin + <u32>sizeof<T>() - 1) & 0xfffff000)) {
    return load<T>(<usize>(lin + load<u32>(e, 8)));
  }
  if (!probeWrite(lin, <u32>sizeof<T>(), cpl == 3)) return <T>0;
  return readLin<T>(lin);
}

/** Writes back the E operand read by readEForWrite(). */
@inline export function writeBackE<T>(v: T): void {
  if (rmIsReg) setReg<T>(modrm & 7, v);
  else writeLin<T>(rmwLin, v);
}

@inline export function readG<T>(): T {
  return getReg<T>((modrm >> 3) & 7);
}
@inline export function writeG<T>(v: T): void {
  setReg<T>((modrm >> 3) & 7, v);
}

// --- stack ------------------------------------------------------------------------

@inline export function getSP(): u32 {
  return stack32 ? reg32(REG_ESP) : reg16(REG_ESP);
}
/** Sets ESP or SP (the B bit of SS decides). */
@inline export function setSP(v: u32): void {
  if (stack32) setReg32(REG_ESP, v);
  else setReg16(REG_ESP, <u16>v);
}
/** SP after moving by `delta` bytes, wrapped to the stack's width. */
@inline export function spAdd(sp: u32, delta: u32): u32 {
  return stack32 ? sp + delta : (sp + delta) & 0xffff;
}

/** Writes T at SS:(sp) without moving the stack pointer. */
@inline export function writeStack<T>(sp: u32, v: T): void {
  writeMem<T>(SEG_SS, sp, v);
}
@inline export function readStack<T>(sp: u32): T {
  return readMem<T>(SEG_SS, sp);
}

@inline export function push<T>(v: T): void {
  const sp = spAdd(getSP(), -<u32>sizeof<T>());
  writeMem<T>(SEG_SS, sp, v);
  if (abortInsn) return;
  setSP(sp);
}

@inline export function pop<T>(): T {
  const sp = getSP();
  const v = readMem<T>(SEG_SS, sp);
  if (abortInsn) return <T>0;
  setSP(spAdd(sp, <u32>sizeof<T>()));
  return v;
}
