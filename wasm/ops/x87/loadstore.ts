// Data transfer: FLD/FILD/FBLD and the constants (pushes), FST/FSTP/FIST/
// FISTP/FISTTP/FBSTP (stores), FXCH, FFREE, FINCSTP/FDECSTP.
import { FP_IE, FP_DE, FP_PE } from '../../abi';
import { abortInsn } from '../../cpu/state';
import { eaSeg, eaOff } from '../../cpu/decode';
import { readMem } from '../../cpu/operand';
import { f80ToF32, f80ToF64, f80ToInt, fpFlags, fpRoundedUp } from '../../fp/softfloat';
import {
  phys, top, setTop, isEmpty, markEmpty, regSe, regSig, writeReg, writeIndefinite, popStack, pushStack,
  pushOverflows, INDEFINITE_SE, INDEFINITE_SIG,
} from './regs';
import { stackUnderflow, stackOverflow, screenFlags, screenRounded, raiseFlags, unmasked, setC1 } from './status';
import { srcSe, srcSig, setSrc, setSrcInt, storeReal80, storeSized } from './memops';
import { roundingControl } from './mode';

// --- pushes ---------------------------------------------------------------------------

/**
 * Pushes srcSe/srcSig (FLD, FILD, FBLD, the constants). `srcEmpty`: FLD
 * ST(i) of an empty register (underflow; masked, the indefinite is pushed).
 * A full stack is an overflow (masked: the indefinite is pushed); then the
 * conversion's own exceptions (IE for an SNaN, DE for a denormal m32/m64)
 * are screened. C1 = 1 only on overflow (SDM FLD).
 */
export function fld(srcEmpty: bool): void {
  if (srcEmpty) {
    if (!stackUnderflow()) return;
    setSrc(INDEFINITE_SE, INDEFINITE_SIG);
  }
  if (pushOverflows()) {
    if (stackOverflow()) pushStack(INDEFINITE_SE, INDEFINITE_SIG);
    return;
  }
  // Only an unmasked invalid operand (an SNaN) keeps the value out; a
  // denormal m32/m64 loads even with DE unmasked (as the CPU does).
  const f = fpFlags();
  if (!screenFlags(f & ~FP_DE)) return;
  raiseFlags(f & FP_DE);
  pushStack(srcSe, srcSig);
}

/** FLD ST(i): the value is read before the push moves TOP. */
export function fldSt(i: u32): void {
  const p = phys(i);
  setSrc(regSe(p), regSig(p));
  fld(isEmpty(p));
}

// The constants of FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ (D9 E8-EE).
// The irrational ones are kept with more precision than 64 bits and rounded
// to 64 by the rounding control (SDM Vol. 1, 8.3.8 and FLD1/FLDL2T/...):
// `truncated` is the first 64 bits; every one is inexact, so rounding up adds
// one and rounding down or toward zero keeps the truncation (all are
// positive); to nearest adds one when the next bits are above one half.
// Loading a constant never raises the precision exception.
const CONST_SE: StaticArray<u16> = [0x3fff, 0x4000, 0x3fff, 0x4000, 0x3ffd, 0x3ffe, 0];
const CONST_TRUNCATED: StaticArray<u64> = [
  0x8000000000000000, // 1.0 (exact)
  0xd49a784bcd1b8afe, // log2(10): next bits 0.29 ulp
  0xb8aa3b295c17f0bb, // log2(e): next bits 0.74 ulp
  0xc90fdaa22168c234, // pi: next bits 0.77 ulp
  0x9a209a84fbcff798, // log10(2): next bits 0.56 ulp
  0xb17217f7d1cf79ab, // ln(2): next bits 0.79 ulp
  0, // +0.0 (exact)
];
/** Bit i: constant i rounds up to nearest. */
const CONST_NEAREST_UP: u32 = 0b0111100;
const CONST_EXACT: u32 = 0b1000001;

export function fldConst(index: u32): void {
  let sig = CONST_TRUNCATED[index];
  const bit = <u32>1 << index;
  if ((CONST_EXACT & bit) == 0) {
    const rc = roundingControl();
    if (rc == 2 || (rc == 0 && (CONST_NEAREST_UP & bit) != 0)) sig += 1;
  }
  setSrc(CONST_SE[index], sig);
  fld(false);
}

/** FBLD m80bcd: 18 packed BCD digits and a sign byte (SDM Vol. 1, 4.7); exact. */
export function fbld(): void {
  const lo = readMem<u64>(eaSeg, eaOff);
  if (abortInsn) return;
  const hi = readMem<u16>(eaSeg, eaOff + 8);
  if (abortInsn) return;
  // Digits beyond 9 give an undefined result: they are simply weighted as they are.
  let v: u64 = 0;
  for (let i: i32 = 8; i >= 0; i--) {
    const byte = i == 8 ? <u64>(hi & 0xff) : (lo >> (<u64>i * 8)) & 0xff;
    v = v * 100 + (byte >> 4) * 10 + (byte & 0xf);
  }
  const negative = (hi & 0x8000) != 0;
  setSrcInt(negative ? -<i64>v : <i64>v);
  if (negative && v == 0) setSrc(0x8000, 0);
  fld(false);
}

// --- stores -----------------------------------------------------------------------------

/**
 * FST/FSTP ST(i): an exact copy; an empty ST(0) underflows (masked: the
 * indefinite is stored). The undocumented FSTP1 (D9 D8+i) is FSTP that
 * never checks: the CPU copies an empty ST(0) as it is (`checked` false).
 */
export function fstSt(i: u32, pop: bool, checked: bool = true): void {
  const p0 = phys(0);
  const pd = phys(i);
  if (checked && isEmpty(p0)) {
    if (!stackUnderflow()) return;
    writeIndefinite(pd);
  } else {
    setC1(false);
    writeReg(pd, regSe(p0), regSig(p0));
  }
  if (pop) popStack();
}

// Memory formats a store converts to.
export const STORE_REAL32: u32 = 0;
export const STORE_REAL64: u32 = 1;
export const STORE_REAL80: u32 = 2;
export const STORE_INT16: u32 = 3;
export const STORE_INT32: u32 = 4;
export const STORE_INT64: u32 = 5;
export const STORE_INT16_TRUNC: u32 = 6; // FISTTP (SSE3)
export const STORE_INT32_TRUNC: u32 = 7;
export const STORE_INT64_TRUNC: u32 = 8;
export const STORE_BCD: u32 = 9;

/** The largest magnitude FBSTP can store: 18 nines. */
const BCD_MAX: u64 = 999999999999999999;

/** The bytes a store of `format` writes (the 80-bit ones write 8 + 2). */
function storeBytes(format: u32): u32 {
  switch (format) {
    case STORE_REAL32: case STORE_INT32: case STORE_INT32_TRUNC: return 4;
    case STORE_INT16: case STORE_INT16_TRUNC: return 2;
    default: return 8;
  }
}

/** The value an invalid operation stores when IE is masked: the indefinite of the format. */
function indefiniteOf(format: u32): u64 {
  switch (format) {
    case STORE_REAL32: return 0xffc00000;
    case STORE_REAL64: return 0xfff8000000000000;
    case STORE_INT16: case STORE_INT16_TRUNC: return 0x8000;
    case STORE_INT32: case STORE_INT32_TRUNC: return 0x80000000;
    case STORE_INT64: case STORE_INT64_TRUNC: return 0x8000000000000000;
    default: return INDEFINITE_SIG; // m80 real and BCD share the pattern FFFF C000 0000 0000 0000
  }
}

/** Writes the low part (significand, integer or digits) and, for m80 formats, the sign/exponent word. */
function writeOut(format: u32, v: u64, se: u32): void {
  if (format == STORE_REAL80 || format == STORE_BCD) storeReal80(se, v);
  else storeSized(storeBytes(format), v);
}

/** Packs a magnitude below 10^18 into 18 BCD digits (9 bytes; the 9th in the returned high byte). */
let bcdHigh: u32 = 0;
function toBcd(m: u64): u64 {
  let lo: u64 = 0;
  for (let i: u64 = 0; i < 8; i++) {
    const d = m % 100;
    m /= 100;
    lo |= ((d / 10) << 4 | (d % 10)) << (i * 8);
  }
  bcdHigh = <u32>((m / 10) << 4 | (m % 10));
  return lo;
}

/**
 * FST/FSTP/FIST/FISTP/FISTTP/FBSTP to memory. The converted value and its
 * exceptions are computed first, then written, then the x87 state changes,
 * so a faulting write leaves everything as it was. Memory destinations get
 * no adjusted result: an unmasked invalid operation, overflow or underflow
 * stores nothing and does not pop (SDM Vol. 1, 4.9.2 and 8.5.4-8.5.5); an
 * unmasked precision exception stores the rounded value.
 */
export function fstMem(format: u32, pop: bool): void {
  const p0 = phys(0);
  if (isEmpty(p0)) {
    if (unmasked(FP_IE) == 0) {
      writeOut(format, indefiniteOf(format), INDEFINITE_SE);
      if (abortInsn) return;
    }
    if (stackUnderflow() && pop) popStack();
    return;
  }
  const se = regSe(p0);
  const sig = regSig(p0);
  let v: u64 = 0;
  let outSe: u32 = se;
  switch (format) {
    case STORE_REAL32: v = <u64>f80ToF32(se, sig); break;
    case STORE_REAL64: v = f80ToF64(se, sig); break;
    case STORE_REAL80: v = sig; break;
    case STORE_INT16: v = <u64>f80ToInt(se, sig, 16, false); break;
    case STORE_INT32: v = <u64>f80ToInt(se, sig, 32, false); break;
    case STORE_INT64: v = <u64>f80ToInt(se, sig, 64, false); break;
    case STORE_INT16_TRUNC: v = <u64>f80ToInt(se, sig, 16, true); break;
    case STORE_INT32_TRUNC: v = <u64>f80ToInt(se, sig, 32, true); break;
    case STORE_INT64_TRUNC: v = <u64>f80ToInt(se, sig, 64, true); break;
    default: v = <u64>f80ToInt(se, sig, 64, false); break;
  }
  let f = fpFlags();
  // An integer store that is invalid (NaN, out of range) stores the integer indefinite.
  if ((f & FP_IE) != 0 && format >= STORE_INT16 && format <= STORE_INT64_TRUNC) v = indefiniteOf(format);
  if (format == STORE_BCD) {
    const iv = <i64>v;
    const mag: u64 = iv < 0 ? <u64>(0 - iv) : <u64>iv;
    if ((f & FP_IE) != 0 || mag > BCD_MAX) {
      // Out of the 18 digits: invalid, and only that (SDM FBSTP).
      f = FP_IE;
      v = INDEFINITE_SIG;
      outSe = INDEFINITE_SE;
    } else {
      v = toBcd(mag);
      outSe = bcdHigh | (se & 0x8000); // the sign of the source, even for a result of 0
    }
  }
  // C1 is the round-up indicator of a rounded result; an invalid one (the indefinite) was not rounded.
  const up = fpRoundedUp() && (f & FP_IE) == 0;
  if (unmasked(f) & ~FP_PE) {
    // Nothing is stored and nothing pops; screenRounded records what was raised.
    screenRounded(f, up);
    return;
  }
  writeOut(format, v, outSe);
  if (abortInsn) return;
  screenRounded(f, up);
  if (pop) popStack();
}

// --- register moves -------------------------------------------------------------------

/** FXCH ST(i). An empty operand underflows; masked, it reads as the indefinite. */
export function fxch(i: u32): void {
  const p0 = phys(0);
  const pi = phys(i);
  if (isEmpty(p0) || isEmpty(pi)) {
    if (!stackUnderflow()) return;
    if (isEmpty(p0)) writeIndefinite(p0);
    if (isEmpty(pi)) writeIndefinite(pi);
  } else {
    setC1(false);
  }
  const se = regSe(p0);
  const sig = regSig(p0);
  writeReg(p0, regSe(pi), regSig(pi));
  writeReg(pi, se, sig);
}

/** FFREE ST(i) (and FFREEP, which pops too): the tag only; the value stays. C1 = 0 (as the CPU does). */
export function ffree(i: u32, pop: bool): void {
  setC1(false);
  markEmpty(phys(i));
  if (pop) popStack();
}

/** FINCSTP/FDECSTP: TOP moves, no tag changes; C1 = 0. */
export function moveTop(delta: u32): void {
  setTop(top() + delta);
  setC1(false);
}
