// Operands of SIMD instructions: the ModRM r/m operand as an XMM or MMX
// register or as 4/8/16 bytes of memory, and the scratch space results are
// built in before they are committed.
//
// A source operand is returned as a host address: the register itself, or
// the vCPU's source scratch after the memory bytes were read there. Handlers
// compute into the result scratch and copy to the destination only after
// everything that can fault (memory, an unmasked SIMD FP exception), so an
// aborted instruction changes nothing.
import { EXC_GP } from '../../abi';
import { abortInsn, setFault, cpl } from '../../cpu/state';
import { rmIsReg, modrm, eaOff, eaSeg } from '../../cpu/decode';
import { segLinear } from '../../cpu/segaccess';
import { readLin, writeLin, probeWrite } from '../../cpu/mmu';
import { xmm, mm, scratchSrc } from './regs';


@inline export function copy16(to: usize, from: usize): void {
  v128.store(to, v128.load(from));
}

/**
 * Linear address of the `size`-byte memory operand. `aligned`: the legacy
 * SSE rule for 16-byte operands (MOVAPS, MOVDQA, every arithmetic m128, but
 * not MOVUPS/MOVUPD/MOVDQU): #GP(0) unless 16-byte aligned "regardless of
 * segment" (SDM Vol. 2, MOVAPS), i.e. the linear address is checked, after
 * the segment checks.
 */
function operandLinear(size: u32, write: bool, aligned: bool): u32 {
  const lin = segLinear(eaSeg, eaOff, size, write);
  if (abortInsn) return 0;
  if (aligned && (lin & 15) != 0) { setFault(EXC_GP, 0, true); return 0; }
  return lin;
}

/**
 * Reads `size` (2, 4, 8 or 16) bytes of the memory operand into the source scratch; 2- and
 * 4-byte reads are zero-extended to 8 bytes. Check abortInsn after.
 */
export function readMemOperand(size: u32, aligned: bool): usize {
  const to = scratchSrc();
  const lin = operandLinear(size, false, aligned);
  if (abortInsn) return to;
  if (size == 2) store<u64>(to, <u64>readLin<u16>(lin));
  else if (size == 4) store<u64>(to, <u64>readLin<u32>(lin));
  else {
    const lo = readLin<u64>(lin);
    if (abortInsn) return to;
    store<u64>(to, lo);
    if (size == 16) store<u64>(to, readLin<u64>(lin + 8), 8);
  }
  return to;
}

/** The r/m operand of an XMM instruction: XMM register, or `size` bytes of memory. */
@inline export function xmmSource(size: u32, aligned: bool): usize {
  return rmIsReg ? xmm(modrm & 7) : readMemOperand(size, aligned);
}

/** The r/m operand of an MMX instruction: MMX register, or `size` bytes of memory. */
@inline export function mmSource(size: u32): usize {
  return rmIsReg ? mm(modrm & 7) : readMemOperand(size, false);
}

/**
 * Writes `size` (4, 8 or 16) bytes from host address `from` to the memory
 * operand. A 16-byte store probes its pages first, so a fault in its second
 * half cannot leave the first half written.
 */
export function writeMemOperand(from: usize, size: u32, aligned: bool): void {
  const lin = operandLinear(size, true, aligned);
  if (abortInsn) return;
  if (size == 4) { writeLin<u32>(lin, load<u32>(from)); return; }
  if (size == 16 && !probeWrite(lin, 16, cpl == 3)) return;
  writeLin<u64>(lin, load<u64>(from));
  if (size == 16 && !abortInsn) writeLin<u64>(lin + 8, load<u64>(from, 8));
}
