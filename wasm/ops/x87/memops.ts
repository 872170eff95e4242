// x87 memory operands: the formats of SDM Vol. 1, 4.2 and 8.2 read into the
// 80-bit register format and written back from it.
//
// Every read happens before the instruction changes any x87 state, and every
// store is computed first and written before the state changes: a fault
// (segment, page, MMIO exit) restarts the instruction with nothing changed.
// Loads leave the value in srcSe/srcSig; every conversion is softfloat's.
import { abortInsn, cpl } from '../../cpu/state';
import { eaSeg, eaOff } from '../../cpu/decode';
import { readMem, writeMem } from '../../cpu/operand';
import { segLinear } from '../../cpu/segaccess';
import { translate, probeWrite } from '../../cpu/mmu';
import {
  f80FromF32, f80FromF64, f80FromF32Operand, f80FromF64Operand, f80FromI64, f80ResultSe, f80ResultSig,
} from '../../fp/softfloat';

/** The source operand of the instruction, in register format. */
export let srcSe: u32 = 0;
export let srcSig: u64 = 0;

@inline export function setSrc(se: u32, sig: u64): void {
  srcSe = se;
  srcSig = sig;
}
@inline function srcFromResult(): void {
  setSrc(f80ResultSe(), f80ResultSig());
}

/** An integer as an exact 80-bit value (FILD, FBLD, the integer operands). */
export function setSrcInt(v: i64): void {
  f80FromI64(v);
  srcFromResult();
}

/**
 * m32real/m64real. FLD converts at once (DE for a denormal, IE for an SNaN);
 * the operand of an arithmetic or compare instruction (`operand`) converts
 * without flags and lets the operation that follows judge it, as the CPU
 * does (a QNaN in ST(0) wins over an SNaN operand, for one).
 */
export function loadReal32(operand: bool): void {
  const v = readMem<u32>(eaSeg, eaOff);
  if (abortInsn) return;
  if (operand) f80FromF32Operand(v);
  else f80FromF32(v);
  srcFromResult();
}

export function loadReal64(operand: bool): void {
  const v = readMem<u64>(eaSeg, eaOff);
  if (abortInsn) return;
  if (operand) f80FromF64Operand(v);
  else f80FromF64(v);
  srcFromResult();
}

/** m80 real: a bit-exact copy (no exceptions; SNaNs load as they are, SDM FLD). */
export function loadReal80(): void {
  const sig = readMem<u64>(eaSeg, eaOff);
  if (abortInsn) return;
  const se = readMem<u16>(eaSeg, eaOff + 8);
  if (abortInsn) return;
  setSrc(se, sig);
}

export function loadInt16(): void {
  const v = readMem<u16>(eaSeg, eaOff);
  if (abortInsn) return;
  setSrcInt(<i64><i16>v);
}

export function loadInt32(): void {
  const v = readMem<u32>(eaSeg, eaOff);
  if (abortInsn) return;
  setSrcInt(<i64><i32>v);
}

export function loadInt64(): void {
  const v = readMem<u64>(eaSeg, eaOff);
  if (abortInsn) return;
  setSrcInt(<i64>v);
}

/** Writes an 80-bit value (significand, then sign/exponent) at the operand address. */
export function storeReal80(se: u32, sig: u64): void {
  writeMem<u64>(eaSeg, eaOff, sig);
  if (abortInsn) return;
  writeMem<u16>(eaSeg, eaOff + 8, <u16>se);
}

/** Writes a value of `bytes` (2, 4 or 8) at the operand address. */
export function storeSized(bytes: u32, v: u64): void {
  if (bytes == 2) writeMem<u16>(eaSeg, eaOff, <u16>v);
  else if (bytes == 4) writeMem<u32>(eaSeg, eaOff, <u32>v);
  else writeMem<u64>(eaSeg, eaOff, v);
}

/**
 * Checks that `size` bytes at the operand address can be read (or written)
 * without a fault: the segment limit and rights, then the page(s). The
 * instructions that move whole images (FRSTOR, FNSAVE...) probe first so a
 * fault never stops them half way.
 */
export function probeOperand(size: u32, write: bool): bool {
  const lin = segLinear(eaSeg, eaOff, size, write);
  if (abortInsn) return false;
  const user = cpl == 3;
  if (write) return probeWrite(lin, size, user);
  if (!translate(lin, false, user)) return false;
  const last = lin + size - 1;
  if ((last ^ lin) & 0xfffff000) return translate(last & 0xfffff000, false, user);
  return true;
}
