// The x87 register stack as it lives in the vCPU block (V_FPU, FXSAVE layout).
//
// The eight 16-byte slots at FPU_REGS are the *physical* registers R0-R7;
// ST(i) is R((TOP + i) mod 8), TOP being FSW bits 11-13 (SDM Vol. 1, 8.1.2).
// A push decrements TOP, a pop increments it: only TOP and the tags move,
// never the values. The abridged tag byte (FPU_FTW) has bit i set when Ri is
// not empty; the full two-bit tags (valid/zero/special) are derived from the
// contents when FSTENV/FSAVE need them (tags.ts), as the x87 itself does
// (SDM Vol. 3, 22.18.4: only "empty" is state, the rest is recomputed).
//
// An 80-bit value travels as a pair: `se` (sign << 15 | biased exponent) and
// `sig` (64-bit significand with the explicit integer bit 63).
import { V_FPU, FPU_FCW, FPU_FSW, FPU_FTW, FPU_REGS } from '../../abi';
import { cpu } from '../../cpu/state';

// Status word bits (SDM Vol. 1, figure 8-4). Bits 0-5 are the exception
// flags at the FP_* positions of abi.ts.
export const FSW_SF: u32 = 0x0040; // stack fault (with IE)
export const FSW_ES: u32 = 0x0080; // error summary: an unmasked exception flag is set
export const FSW_C0: u32 = 0x0100;
export const FSW_C1: u32 = 0x0200;
export const FSW_C2: u32 = 0x0400;
export const FSW_C3: u32 = 0x4000;
export const FSW_CC: u32 = FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3;
export const FSW_TOP_SHIFT: u32 = 11;
export const FSW_TOP: u32 = 0x3800;
export const FSW_B: u32 = 0x8000; // busy: a copy of ES on every x87 since the 387
export const FSW_FLAGS: u32 = 0x3f; // IE DE ZE OE UE PE

// Control word fields (SDM Vol. 1, figure 8-6).
export const FCW_MASKS: u32 = 0x3f;
export const FCW_PC_SHIFT: u32 = 8;
export const FCW_RC_SHIFT: u32 = 10;

/** The QNaN "real indefinite" (SDM Vol. 1, table 4-3): the masked response of most invalid operations. */
export const INDEFINITE_SE: u32 = 0xffff;
export const INDEFINITE_SIG: u64 = 0xc000000000000000;

@inline export function fpuArea(): usize {
  return cpu + V_FPU;
}
@inline export function fcw(): u32 {
  return load<u16>(cpu + V_FPU + FPU_FCW);
}
@inline export function fsw(): u32 {
  return load<u16>(cpu + V_FPU + FPU_FSW);
}
@inline export function setFsw(v: u32): void {
  store<u16>(cpu + V_FPU + FPU_FSW, <u16>v);
}
@inline export function top(): u32 {
  return (fsw() >> FSW_TOP_SHIFT) & 7;
}
@inline export function setTop(t: u32): void {
  setFsw((fsw() & ~FSW_TOP) | ((t & 7) << FSW_TOP_SHIFT));
}
/** The physical register number of ST(i). */
@inline export function phys(i: u32): u32 {
  return (top() + i) & 7;
}

// --- tags ------------------------------------------------------------------------

@inline export function tagByte(): u32 {
  return load<u8>(cpu + V_FPU + FPU_FTW);
}
@inline export function setTagByte(v: u32): void {
  store<u8>(cpu + V_FPU + FPU_FTW, <u8>v);
}
@inline export function isEmpty(p: u32): bool {
  return (tagByte() & (<u32>1 << p)) == 0;
}
@inline export function markValid(p: u32): void {
  setTagByte(tagByte() | (<u32>1 << p));
}
@inline export function markEmpty(p: u32): void {
  setTagByte(tagByte() & ~(<u32>1 << p));
}

// --- values ------------------------------------------------------------------------

@inline export function regAddr(p: u32): usize {
  return cpu + V_FPU + FPU_REGS + (p << 4);
}
@inline export function regSig(p: u32): u64 {
  return load<u64>(regAddr(p));
}
@inline export function regSe(p: u32): u32 {
  return load<u16>(regAddr(p), 8);
}
/** Writes a value into physical register p and tags it non-empty. */
@inline export function writeReg(p: u32, se: u32, sig: u64): void {
  const a = regAddr(p);
  store<u64>(a, sig);
  store<u16>(a, <u16>se, 8);
  markValid(p);
}
@inline export function writeIndefinite(p: u32): void {
  writeReg(p, INDEFINITE_SE, INDEFINITE_SIG);
}

/** Pops the stack: ST(0) becomes empty and TOP moves up (SDM Vol. 1, 8.1.2). */
export function popStack(): void {
  const t = top();
  markEmpty(t);
  setTop(t + 1);
}

/** Pushes a value; the caller has checked that the new ST(0) was empty (or handled the overflow). */
export function pushStack(se: u32, sig: u64): void {
  const t = (top() - 1) & 7;
  writeReg(t, se, sig);
  setTop(t);
}

/** Whether a push would overflow: the register that becomes ST(0) is in use. */
@inline export function pushOverflows(): bool {
  return !isEmpty((top() - 1) & 7);
}
