// Where the SIMD registers live, and the MMX/x87 aliasing.
//
// XMM0-7 are 16 bytes each at FPU_XMM. MMX register i is the 64-bit
// significand of *physical* x87 register Ri (SDM Vol. 1, 9.5: the MMX
// registers are mapped to R0-R7, not to the stack ST(i)), i.e. the first 8
// bytes of FPU_REGS slot i; the slot's bytes 8-9 are the sign/exponent.
import { V_FPU, FPU_REGS, FPU_XMM, FPU_FSW, FPU_FTW, FPU_MXCSR } from '../../abi';
import { cpu } from '../../cpu/state';

/** Host address of XMM register i. */
@inline export function xmm(i: u32): usize {
  return cpu + V_FPU + FPU_XMM + (i << 4);
}

/** Host address of MMX register i (the significand of physical R_i). */
@inline export function mm(i: u32): usize {
  return cpu + V_FPU + FPU_REGS + (i << 4);
}

/**
 * The x87 side effects of an MMX instruction (SDM Vol. 1, 9.5.1, table
 * 9-2): TOP = 0 and every register tagged valid (abridged tag 0xFF; EMMS
 * then empties them). Called once the operands have been read, so an MMX
 * instruction whose memory operand faults leaves the x87 state as it was;
 * an #XM of CVTPS2PI/CVTPI2PS comes after it (as on an Intel CPU).
 */
@inline export function enterMmxMode(): void {
  const fsw = cpu + V_FPU + FPU_FSW;
  store<u16>(fsw, load<u16>(fsw) & ~(<u16>7 << 11));
  store<u8>(cpu + V_FPU + FPU_FTW, 0xff);
}

/**
 * Writes MMX register i. Besides the significand, a write sets the
 * register's sign and exponent bits to all ones (SDM Vol. 1, 9.5.1), so the
 * x87 sees a NaN/infinity there; and the instruction enters MMX mode.
 */
@inline export function writeMm(i: u32, v: u64): void {
  const r = mm(i);
  store<u64>(r, v);
  store<u16>(r, 0xffff, 8);
  enterMmxMode();
}

/**
 * EMMS: every x87 register empty (abridged tag 0). Like every MMX
 * instruction it also sets TOP to 0 (measured on an Intel CPU; SDM Vol. 1,
 * table 9-2).
 */
@inline export function emms(): void {
  enterMmxMode();
  store<u8>(cpu + V_FPU + FPU_FTW, 0);
}

/**
 * Scratch for the instruction being executed, per vCPU: the module's static
 * memory is shared by every vCPU worker's instance, so it cannot hold
 * anything that changes. These are the first 32 of the FXSAVE image's
 * reserved bytes 288-463 (V_FPU + 0x120), which FXSAVE never writes from
 * here: a memory source operand (16 bytes, 16-aligned) and a result being built.
 */
const FPU_SCRATCH_SRC: u32 = 0x120;
const FPU_SCRATCH_RES: u32 = 0x130;
@inline export function scratchSrc(): usize {
  return cpu + V_FPU + FPU_SCRATCH_SRC;
}
@inline export function scratchRes(): usize {
  return cpu + V_FPU + FPU_SCRATCH_RES;
}

@inline export function mxcsr(): u32 {
  return load<u32>(cpu + V_FPU + FPU_MXCSR);
}
@inline export function setMxcsr(v: u32): void {
  store<u32>(cpu + V_FPU + FPU_MXCSR, v);
}
