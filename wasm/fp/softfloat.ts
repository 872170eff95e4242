// IEEE 754 arithmetic in software for the x87 (80-bit extended) and SSE
// (32/64-bit) units, with x86's rules: rounding control, x87 precision
// control, DAZ/FTZ, the six exception flags, x87 and SSE NaN propagation and
// the "indefinite" default NaN. Nothing allocates; two-word results come back
// in module globals (f80ResultSig/Se).
//
// This file is the API the instruction layers (ops/x87*, ops/simd*) use; the
// work is done by the other wasm/fp modules:
//   state.ts      mode, flags, results, destination format
//   unpack.ts     operands -> class, sign, exponent, normalized significand
//   round.ts      the one rounding routine (every format, precision control,
//                 overflow/underflow/FTZ) and the packing into f32/f64/f80
//   special.ts    invalid results, NaN propagation, operand screening (DE)
//   arith.ts      add/sub, mul, div, sqrt      wide.ts  128-bit helpers
//   remainder.ts  FPREM/FPREM1                 scale.ts FSCALE, FXTRACT
//   intround.ts   rounding to integers, FRNDINT
//   compare.ts    comparisons                  convert.ts conversions
//
// Usage: setFpMode() (and setX87ExceptionMask/setSseExceptionMask when
// exceptions are unmasked), clearFpFlags(), the operation, then fpFlags()
// (and fpRoundedUp() for the x87's C1). Flags accumulate until cleared.
//
// Unmasked exceptions, the caller's part (what the tests check against the
// CPU): the library always computes the masked-or-wrapped result and every
// flag. x87: when IE, DE or ZE is raised and unmasked, the destination keeps
// its value and FSW gets only those flags (C1 clear), except that FCOM/FUCOM
// still set C0/C2/C3 and FLD m32/m64 still loads on an unmasked DE; when an
// FST m32/m64 or FIST raises an unmasked exception nothing is stored. SSE: any
// raised unmasked exception is #XM and nothing is written; MXCSR gets only
// IE/DE/ZE when one of those is unmasked, else every raised flag.
//
// Behaviour found on the host CPU (an Intel Xeon, Ice Lake) and reproduced:
// tininess is detected after rounding (x87 and SSE); IE and ZE suppress DE,
// and so does a NaN operand; FST/FIST/CVT*2SI never raise DE; of two x87
// NaNs with equal significands the positive one wins; FPREM's partial step
// uses N = 32 + (exponent difference mod 32); FSCALE by zero returns the
// operand unrounded, by anything else rounds it (an unmasked underflow wraps
// a denormal), and a result still out of range after the 24576 wrap becomes
// a signed zero or infinity; an unmasked overflow/underflow in FST m32/m64
// reports that flag alone.
import {
  setMode, setX87Mask, setSseMask, clearStatus, useFormat, pcBits, daz, flags, roundedUp,
  resSig, resSe, res2Sig, res2Se, FMT_F32, FMT_F64, FMT_F80, memoryOperandDenormal,
} from './state';
import { unpackF80, unpackF32, unpackF64, takeA, takeB, bDenormal } from './unpack';
import { setOut, packF80, packF64, packF32 } from './round';
import { addCore, mulCore, divCore, sqrtCore } from './arith';
import { remCore } from './remainder';
import { roundIntCore } from './intround';
import { scaleCore, extractCore, exponentSign, exponentExp, exponentSig } from './scale';
import { compareCore } from './compare';
import { convertCore, x87StoreCore, operandCore, fromIntegerCore, toIntegerCore } from './convert';

export { CMP_LESS, CMP_EQUAL, CMP_GREATER, CMP_UNORDERED } from './compare';

// --- mode and status ----------------------------------------------------------
/**
 * Sets the mode for the following operations (x87: from FCW; SSE: from MXCSR).
 * roundingControl: 0 nearest-even, 1 down (-inf), 2 up (+inf), 3 toward zero.
 * precisionBits: x87 precision control (24, 53 or 64) for f80 add/sub/mul/div/sqrt.
 * denormalsAreZero / flushToZero: MXCSR.DAZ / FTZ, for the f32/f64 operations only.
 */
export function setFpMode(roundingControl: u32, precisionBits: u32, denormalsAreZero: bool, flushToZero: bool): void {
  setMode(roundingControl, precisionBits, denormalsAreZero, flushToZero);
}
/**
 * FCW's exception masks (bits 0-5, 1 = masked; default all masked) for the f80
 * operations. With OE or UE unmasked, an f80 result that overflows or
 * underflows comes back with its exponent wrapped by -/+24576 (SDM 8.5.4,
 * 8.5.5) and UE is raised for any tiny result, exact or not; f80ToF32/F64
 * raise the same flags (their caller must not store then). The IE/DE/ZE masks
 * change nothing here (see "Unmasked exceptions" above).
 */
export function setX87ExceptionMask(mask: u32): void { setX87Mask(mask); }
/**
 * MXCSR's exception masks moved to bits 0-5 ((mxcsr >> 7) & 0x3F; default all
 * masked) for the f32/f64 operations. Unmasked UE: UE for any tiny result and
 * no FTZ. The caller discards results when an unmasked exception is raised.
 */
export function setSseExceptionMask(mask: u32): void { setSseMask(mask); }
export function clearFpFlags(): void { clearStatus(); }
export function fpFlags(): u32 { return flags; }
export function fpRoundedUp(): bool { return roundedUp; }

// --- 80-bit results -----------------------------------------------------------
/** Result of the last f80 operation: significand (explicit integer bit 63) and sign<<15 | biased exponent. */
export function f80ResultSig(): u64 { return resSig; }
export function f80ResultSe(): u32 { return resSe; }
/** f80Extract's second result (the exponent, FXTRACT's ST(1)). */
export function f80Result2Sig(): u64 { return res2Sig; }
export function f80Result2Se(): u32 { return res2Se; }

function loadF80(se: u32, sig: u64): void { unpackF80(se, sig); takeA(); memoryOperandDenormal = false; }
function loadF80Pair(aSe: u32, aSig: u64, bSe: u32, bSig: u64): void {
  unpackF80(aSe, aSig); takeA();
  unpackF80(bSe, bSig); takeB();
  // A denormal f32/f64 memory operand (f80FromF32Operand) counts as a denormal operand:
  // which of the two it is does not matter to DE.
  if (memoryOperandDenormal) { bDenormal = true; memoryOperandDenormal = false; }
}

// --- x87 (80-bit) operations: x87 NaN rules, precision control applies ----------
/** a + b (sub: a - b) -> result. */
export function f80Add(aSe: u32, aSig: u64, bSe: u32, bSig: u64, sub: bool): void {
  useFormat(FMT_F80, pcBits, true); loadF80Pair(aSe, aSig, bSe, bSig); addCore(sub); packF80();
}
export function f80Mul(aSe: u32, aSig: u64, bSe: u32, bSig: u64): void {
  useFormat(FMT_F80, pcBits, true); loadF80Pair(aSe, aSig, bSe, bSig); mulCore(); packF80();
}
export function f80Div(aSe: u32, aSig: u64, bSe: u32, bSig: u64): void {
  useFormat(FMT_F80, pcBits, true); loadF80Pair(aSe, aSig, bSe, bSig); divCore(); packF80();
}
export function f80Sqrt(aSe: u32, aSig: u64): void {
  useFormat(FMT_F80, pcBits, true); loadF80(aSe, aSig); sqrtCore(); packF80();
}
/**
 * One FPREM (ieee=false, quotient truncated) or FPREM1 (ieee=true, nearest) step
 * of a / b -> result. Returns the condition bits as FSW holds them:
 * C2 (0x400) when the reduction is incomplete (C0, C3, C1 clear then), else
 * C0 (0x100) = Q2, C3 (0x4000) = Q1, C1 (0x200) = Q0. 0 after an invalid
 * operation or a NaN result. No precision control.
 */
export function f80Rem(aSe: u32, aSig: u64, bSe: u32, bSig: u64, ieee: bool): u32 {
  useFormat(FMT_F80, 64, true); loadF80Pair(aSe, aSig, bSe, bSig);
  const c = remCore(ieee); packF80();
  return c;
}
/** FRNDINT: to an integer with the rounding control (PE when inexact, C1 when rounded up). */
export function f80RoundInt(aSe: u32, aSig: u64): void {
  useFormat(FMT_F80, 64, true); loadF80(aSe, aSig); roundIntCore(); packF80();
}
/** FSCALE: a * 2^trunc(b) (OE/UE when it leaves the range; exact otherwise). */
export function f80Scale(aSe: u32, aSig: u64, bSe: u32, bSig: u64): void {
  useFormat(FMT_F80, 64, true); loadF80Pair(aSe, aSig, bSe, bSig); scaleCore(); packF80();
}
/**
 * FXTRACT: result = the significand (a's sign, exponent of 1.0), result2 =
 * the unbiased exponent as an f80 number (FXTRACT pushes it last: ST(0) gets
 * result, ST(1) result2). Zero: ZE, result2 -inf; infinity: result2 +inf.
 */
export function f80Extract(aSe: u32, aSig: u64): void {
  useFormat(FMT_F80, 64, true); loadF80(aSe, aSig); extractCore();
  packF80();
  const significandSe = resSe, significandSig = resSig;
  setOut(exponentSign, exponentExp, exponentSig); packF80();
  res2Se = resSe; res2Sig = resSig;
  resSe = significandSe; resSig = significandSig;
}
/**
 * Compares a with b (CMP_*). quiet: only SNaN operands raise IE (FUCOM*, UCOMIS*);
 * otherwise any NaN does (FCOM*, COMIS*). Unsupported f80 encodings raise IE.
 * DE for denormal operands of an ordered compare.
 */
export function f80Compare(aSe: u32, aSig: u64, bSe: u32, bSig: u64, quiet: bool): i32 {
  useFormat(FMT_F80, 64, true); loadF80Pair(aSe, aSig, bSe, bSig);
  return compareCore(quiet);
}
/** Exact conversions into f80 (FLD m32/m64: DE for denormal inputs; an SNaN is quieted with IE). */
export function f80FromF32(a: u32): void {
  useFormat(FMT_F80, 64, true); unpackF32(a, false); takeA(); convertCore(true); packF80();
}
export function f80FromF64(a: u64): void {
  useFormat(FMT_F80, 64, true); unpackF64(a, false); takeA(); convertCore(true); packF80();
}
/**
 * The f32/f64 memory operand of FADD/FSUB/FSUBR/FMUL/FDIV/FDIVR/FCOM/FCOMP m32/m64
 * as an f80 (result), to pass to the f80 operation called next: no flags now
 * (an SNaN stays signaling, so that a QNaN in ST(0) wins over it as on the
 * CPU); a denormal source raises DE in that next two-operand operation, where
 * a denormal f80 would. Call after clearFpFlags(), right before the operation.
 */
export function f80FromF32Operand(a: u32): void {
  useFormat(FMT_F80, 64, true); unpackF32(a, false); takeA(); operandCore(); packF80();
}
export function f80FromF64Operand(a: u64): void {
  useFormat(FMT_F80, 64, true); unpackF64(a, false); takeA(); operandCore(); packF80();
}
/** FILD (and the integer operand of FIADD, FICOM...): exact. */
export function f80FromI64(a: i64): void {
  useFormat(FMT_F80, 64, true); fromIntegerCore(a); packF80();
}
/**
 * FST m32/m64: rounded with the rounding control, no precision control
 * (OE/UE/PE, C1; NaN: IE for SNaN, quieted, payload truncated; unsupported:
 * IE and the indefinite; no DE). With OE/UE unmasked and raised, the caller
 * must not store: only that flag is reported then (no PE, C1 clear).
 */
export function f80ToF32(aSe: u32, aSig: u64): u32 {
  useFormat(FMT_F32, 24, true); loadF80(aSe, aSig); x87StoreCore();
  return packF32();
}
export function f80ToF64(aSe: u32, aSig: u64): u64 {
  useFormat(FMT_F64, 53, true); loadF80(aSe, aSig); x87StoreCore();
  return packF64();
}
/**
 * FIST/FISTP (rounded with the rounding control) or FISTTP (truncate) to a
 * signed integer of `bits` (16, 32 or 64). Out of range, NaN, infinity or
 * unsupported: IE and the integer indefinite (the most negative value),
 * returned sign-extended (16 bits: 0xFFFFFFFFFFFF8000): store the low `bits`.
 */
export function f80ToInt(aSe: u32, aSig: u64, bits: u32, truncate: bool): i64 {
  useFormat(FMT_F80, 64, true); loadF80(aSe, aSig);
  return toIntegerCore(bits, truncate);
}

// --- SSE (32/64-bit) operations: SSE NaN rules (the first operand's NaN wins), DAZ/FTZ ---
function loadF32Pair(a: u32, b: u32): void {
  useFormat(FMT_F32, 24, false);
  unpackF32(a, daz); takeA();
  unpackF32(b, daz); takeB();
}
function loadF64Pair(a: u64, b: u64): void {
  useFormat(FMT_F64, 53, false);
  unpackF64(a, daz); takeA();
  unpackF64(b, daz); takeB();
}
export function f32Add(a: u32, b: u32, sub: bool): u32 { loadF32Pair(a, b); addCore(sub); return packF32(); }
export function f32Mul(a: u32, b: u32): u32 { loadF32Pair(a, b); mulCore(); return packF32(); }
export function f32Div(a: u32, b: u32): u32 { loadF32Pair(a, b); divCore(); return packF32(); }
export function f32Sqrt(a: u32): u32 {
  useFormat(FMT_F32, 24, false); unpackF32(a, daz); takeA(); sqrtCore(); return packF32();
}
/** COMISS (quiet=false) / UCOMISS (quiet=true): CMP_*. */
export function f32Compare(a: u32, b: u32, quiet: bool): i32 { loadF32Pair(a, b); return compareCore(quiet); }
export function f64Add(a: u64, b: u64, sub: bool): u64 { loadF64Pair(a, b); addCore(sub); return packF64(); }
export function f64Mul(a: u64, b: u64): u64 { loadF64Pair(a, b); mulCore(); return packF64(); }
export function f64Div(a: u64, b: u64): u64 { loadF64Pair(a, b); divCore(); return packF64(); }
export function f64Sqrt(a: u64): u64 {
  useFormat(FMT_F64, 53, false); unpackF64(a, daz); takeA(); sqrtCore(); return packF64();
}
export function f64Compare(a: u64, b: u64, quiet: bool): i32 { loadF64Pair(a, b); return compareCore(quiet); }
/** CVTSS2SD: exact (DE for a denormal unless DAZ; SNaN quieted with IE). */
export function f32ToF64(a: u32): u64 {
  useFormat(FMT_F64, 53, false); unpackF32(a, daz); takeA(); convertCore(true); return packF64();
}
/** CVTSD2SS: rounded (OE/UE/PE, FTZ). */
export function f64ToF32(a: u64): u32 {
  useFormat(FMT_F32, 24, false); unpackF64(a, daz); takeA(); convertCore(true); return packF32();
}
/**
 * CVTSS2SI / CVTTSS2SI (truncate) to i32 or i64 (bits 32/64). Invalid: IE and
 * the integer indefinite, returned sign-extended (0xFFFFFFFF80000000 for 32
 * bits: the low 32 bits are 0x80000000).
 */
export function f32ToInt(a: u32, bits: u32, truncate: bool): i64 {
  useFormat(FMT_F32, 24, false); unpackF32(a, daz); takeA(); return toIntegerCore(bits, truncate);
}
export function f64ToInt(a: u64, bits: u32, truncate: bool): i64 {
  useFormat(FMT_F64, 53, false); unpackF64(a, daz); takeA(); return toIntegerCore(bits, truncate);
}
/** CVTSI2SS: rounded with the rounding control (PE). */
export function i32ToF32(a: i32): u32 { useFormat(FMT_F32, 24, false); fromIntegerCore(<i64>a); return packF32(); }
/** CVTSI2SD: exact. */
export function i32ToF64(a: i32): u64 { useFormat(FMT_F64, 53, false); fromIntegerCore(<i64>a); return packF64(); }
/** CVTSI2SS/SD with a 64-bit source (REX.W; rounded, PE). Extra: not needed by a 32-bit CPU. */
export function i64ToF32(a: i64): u32 { useFormat(FMT_F32, 24, false); fromIntegerCore(a); return packF32(); }
export function i64ToF64(a: i64): u64 { useFormat(FMT_F64, 53, false); fromIntegerCore(a); return packF64(); }
