// The transcendental instructions: FSIN, FCOS, FSINCOS, FPTAN, F2XM1 (on
// ST(0)) and FYL2X, FYL2XP1, FPATAN (ST(1) = f(ST(0), ST(1)), then pop):
// stack rules, the special operands of the SDM's tables, domain rules.
// The values of finite nonzero operands come from fp/x87trans.ts.
import { FP_IE, FP_DE, FP_ZE, FP_OE, FP_UE, FP_PE } from '../../abi';
import { f80Add, f80ResultSe, f80ResultSig, fpFlags } from '../../fp/softfloat';
import {
  trig, twoToXMinus1, yLog2X, yLog2XPlus1, atan2, piQuarters, roundResult, roundedSe, roundedSig, roundedFlags,
  roundedUp, TRIG_COS, TRIG_TAN, TRIG_SINCOS,
} from '../../fp/x87trans';
import {
  phys, isEmpty, regSe, regSig, writeReg, popStack, pushStack, pushOverflows, FSW_C1, FSW_C2,
  INDEFINITE_SE, INDEFINITE_SIG,
} from './regs';
import { stackUnderflow, stackOverflow, screenRounded, setCC, unmasked } from './status';
import { classify, isTiny, CLASS_NAN, CLASS_UNSUPPORTED, CLASS_INFINITY, CLASS_ZERO, CLASS_DENORMAL } from './classify';
import { beginOp, roundingControl } from './mode';

/** Below this biased exponent (|x| < 2^-68) FSIN & co. give their trivial results (measured on the CPU). */
const TRIG_TRIVIAL_EXP: u32 = 16383 - 68;

const ONE_SE: u32 = 0x3fff;
const ONE_SIG: u64 = 0x8000000000000000;

// The result(s) an instruction writes, and how it was rounded.
let outSe: u32 = 0;
let outSig: u64 = 0;
let out2Se: u32 = 0;
let out2Sig: u64 = 0;
let outFlags: u32 = 0;
let outUp = false;

@inline function setOut(se: u32, sig: u64): void {
  outSe = se;
  outSig = sig;
}
@inline function setOut2(se: u32, sig: u64): void {
  out2Se = se;
  out2Sig = sig;
}

/** The exponent adjustment of the unmasked overflow/underflow response (SDM Vol. 1, 8.5.4-8.5.5). */
const WRAP: i32 = 24576;

/**
 * Rounds x87trans's result `which` to 80 bits (to out, or out2 for 2). An
 * unmasked overflow or underflow delivers the result with its exponent
 * wrapped by -+24576, and an unmasked underflow is raised for any tiny
 * result, exact or not (as softfloat does for the arithmetic).
 */
function roundOut(which: u32): void {
  const rc = roundingControl();
  roundResult(which, rc, 0);
  let f = roundedFlags;
  let k: i32 = 0;
  if ((f & FP_OE) != 0 && unmasked(FP_OE) != 0) k = -WRAP;
  else if (unmasked(FP_UE) != 0 && ((f & FP_UE) != 0 || isTiny(roundedSe, roundedSig))) { k = WRAP; f |= FP_UE; }
  if (k != 0) roundResult(which, rc, k);
  outFlags |= f;
  outUp = roundedUp;
  if (which == 1) setOut(roundedSe, roundedSig);
  else setOut2(roundedSe, roundedSig);
}

/** A NaN or unsupported operand among x (and y): the x87's propagated NaN or the indefinite, with IE as due. */
function propagateNan(xSe: u32, xSig: u64, ySe: u32, ySig: u64): void {
  f80Add(xSe, xSig, ySe, ySig, false);
  setOut(f80ResultSe(), f80ResultSig());
  setOut2(outSe, outSig);
  outFlags |= fpFlags();
}

@inline function isBad(c: u32): bool {
  return c == CLASS_NAN || c == CLASS_UNSUPPORTED;
}

/** Signed zero or infinity. */
@inline function zeroOrInf(negative: bool, inf: bool): void {
  setOut((negative ? 0x8000 : 0) | (inf ? 0x7fff : 0), inf ? 0x8000000000000000 : 0);
}

@inline function invalid(): void {
  outFlags |= FP_IE;
  setOut(INDEFINITE_SE, INDEFINITE_SIG);
  setOut2(INDEFINITE_SE, INDEFINITE_SIG);
}

// How an instruction uses the stack.
const ST0: u32 = 0; // ST(0) replaced (FSIN, FCOS, F2XM1)
const ST0_PUSH: u32 = 1; // ST(0) replaced, then a second result pushed (FSINCOS, FPTAN)
const ST1_POP: u32 = 2; // ST(1) replaced, then the stack popped (FYL2X, FYL2XP1, FPATAN)

// The operands and their classes: x = ST(0), y = ST(1) (x again for one-operand instructions).
let xSe: u32 = 0, xSig: u64 = 0, xClass: u32 = 0;
let ySe: u32 = 0, ySig: u64 = 0, yClass: u32 = 0;
/** begin() found a stack fault: the instruction is over. */
let stackFaulted = false;

/**
 * What every transcendental does first. An empty operand is a stack
 * underflow, and for FSINCOS/FPTAN a push onto a register in use an overflow
 * (SDM Vol. 1, 8.5.1.1): the masked response makes every result the
 * indefinite, written over whatever the register held (as the CPU does on an
 * overflow). Otherwise the operands are read and classified into x and y,
 * the results cleared (the second one is 1.0: FPTAN's, and cos 0) and a NaN
 * or unsupported operand propagated. Returns true when the operands are
 * numbers for the instruction to compute with; then or not, finish() ends it.
 */
function begin(stack: u32): bool {
  const p0 = phys(0);
  const p1 = phys(1);
  const pops = stack == ST1_POP;
  let masked: bool;
  if (isEmpty(p0) || (pops && isEmpty(p1))) masked = stackUnderflow();
  else if (stack == ST0_PUSH && pushOverflows()) masked = stackOverflow();
  else {
    stackFaulted = false;
    beginOp(false);
    xSe = regSe(p0);
    xSig = regSig(p0);
    xClass = classify(xSe, xSig);
    ySe = pops ? regSe(p1) : xSe;
    ySig = pops ? regSig(p1) : xSig;
    yClass = pops ? classify(ySe, ySig) : xClass;
    outFlags = 0;
    outUp = false;
    setOut2(ONE_SE, ONE_SIG);
    if (!isBad(xClass) && !isBad(yClass)) return true;
    propagateNan(xSe, xSig, ySe, ySig);
    return false;
  }
  stackFaulted = true;
  if (masked) {
    setOut(INDEFINITE_SE, INDEFINITE_SIG);
    setOut2(INDEFINITE_SE, INDEFINITE_SIG);
    writeResults(stack);
  }
  return false;
}

/** Writes the result to ST(0) (then pushes the second one) or to ST(1) (then pops). */
function writeResults(stack: u32): void {
  writeReg(phys(stack == ST1_POP ? 1 : 0), outSe, outSig);
  if (stack == ST0_PUSH) pushStack(out2Se, out2Sig);
  else if (stack == ST1_POP) popStack();
}

/** After begin(): the results screened for unmasked exceptions (SDM Vol. 1, 8.5), then written. */
function finish(stack: u32): void {
  if (!stackFaulted && screenRounded(outFlags, outUp)) writeResults(stack);
}

/**
 * FSIN, FCOS, FSINCOS (ST(0) = sin, then cos pushed) and FPTAN (ST(0) = tan,
 * then 1.0 pushed). |x| >= 2^63 is out of range: C2 = 1, C1 = 0 and
 * nothing else changes (SDM FSIN). An infinity is invalid; zeros give exact
 * results. C2 is cleared otherwise, stack faults included.
 */
export function ftrig(which: u32): void {
  const stack = which == TRIG_TAN || which == TRIG_SINCOS ? ST0_PUSH : ST0;
  setCC(FSW_C2, 0);
  if (begin(stack)) {
    if (xClass == CLASS_INFINITY) {
      invalid();
    } else if (xClass == CLASS_ZERO) {
      if (which == TRIG_COS) setOut(ONE_SE, ONE_SIG);
      else setOut(xSe, xSig);
    } else {
      if ((xSe & 0x7fff) >= 16383 + 63) {
        setCC(FSW_C1 | FSW_C2, FSW_C2);
        return;
      }
      if (xClass == CLASS_DENORMAL) outFlags |= FP_DE;
      if ((xSe & 0x7fff) < TRIG_TRIVIAL_EXP) {
        // |x| < 2^-68: the CPU returns sin x = tan x = x and cos x = 1 as they
        // are, inexact but not rounded (C1 = 0) whatever the rounding control.
        if (which == TRIG_COS) setOut(ONE_SE, ONE_SIG);
        else setOut(xSe, xSig);
        alwaysInexact();
      } else {
        trig(xSe, xSig, which);
        roundOut(1);
        if (which == TRIG_SINCOS) roundOut(2);
      }
    }
  }
  finish(stack);
}

/**
 * F2XM1: ST(0) = 2^ST(0) - 1; -inf gives -1, +inf itself, zeros themselves.
 * Outside the domain (|x| > 1) the result is undefined: the CPU leaves ST(0)
 * as it is, with the precision exception, and so does this. A finite
 * nonzero operand always raises PE (2^-1 - 1 = -0.5 included).
 */
export function f2xm1(): void {
  if (begin(ST0)) {
    if (xClass == CLASS_INFINITY) {
      if (xSe & 0x8000) setOut(0x8000 | ONE_SE, ONE_SIG);
      else setOut(xSe, xSig);
    } else if (xClass == CLASS_ZERO) {
      setOut(xSe, xSig);
    } else {
      if (xClass == CLASS_DENORMAL) outFlags |= FP_DE;
      if ((xSe & 0x7fff) >= 0x3fff && ((xSe & 0x7fff) > 0x3fff || xSig != 0x8000000000000000)) setOut(xSe, xSig);
      else {
        twoToXMinus1(xSe, xSig);
        roundOut(1);
      }
      alwaysInexact();
    }
  }
  finish(ST0);
}

export const FN_YL2X: u32 = 0;
export const FN_YL2XP1: u32 = 1;
export const FN_PATAN: u32 = 2;

/**
 * FYL2X, FYL2XP1, FPATAN: x = ST(0), y = ST(1); the result replaces ST(1)
 * and the stack pops. Special operands follow the SDM's result tables.
 */
export function fdyadic(fn: u32): void {
  if (begin(ST1_POP)) {
    if (xClass == CLASS_DENORMAL || yClass == CLASS_DENORMAL) outFlags |= FP_DE;
    if (fn == FN_PATAN) patan(xSe, xSig, xClass, ySe, ySig, yClass);
    else logarithm(fn == FN_YL2XP1, xSe, xSig, xClass, ySe, ySig, yClass);
    // An invalid operand is reported alone: a denormal one does not add DE.
    if (outFlags & FP_IE) outFlags &= ~FP_DE;
  }
  finish(ST1_POP);
}

/**
 * y * log2(x) (or log2(1 + x)) for non-NaN operands: the SDM's FYL2X and
 * FYL2XP1 tables. For FYL2XP1 outside its documented domain the value of
 * log2(1 + x) is used as it is for x > -1; for a finite x <= -1 the CPU
 * returns x itself (with PE), and so does this. Every finite nonzero
 * FYL2XP1 result raises PE, even an exact one (x = 1), as on the CPU.
 */
function logarithm(plusOne: bool, xSe: u32, xSig: u64, cx: u32, ySe: u32, ySig: u64, cy: u32): void {
  const xNeg = (xSe & 0x8000) != 0;
  const yNeg = (ySe & 0x8000) != 0;
  const yZero = cy == CLASS_ZERO;
  const yInf = cy == CLASS_INFINITY;
  // Where the argument of the logarithm stands: below zero, zero, below one, one, above one, infinite.
  let arg: i32;
  if (plusOne) {
    const aboveMinusOne = !xNeg || (xSe & 0x7fff) < 0x3fff;
    if (cx == CLASS_ZERO) arg = 3;
    else if (cx == CLASS_INFINITY) arg = xNeg ? -1 : 5;
    else if (!aboveMinusOne) {
      if (yZero || yInf) { invalid(); return; }
      setOut(xSe, xSig);
      outFlags |= FP_PE;
      return;
    } else arg = xNeg ? 2 : 4;
  } else {
    const one = xSe == 0x3fff && xSig == 0x8000000000000000;
    if (cx == CLASS_ZERO) arg = 0;
    else if (xNeg) arg = -1;
    else if (cx == CLASS_INFINITY) arg = 5;
    else if (one) arg = 3;
    else arg = (xSe & 0x7fff) < 0x3fff ? 2 : 4;
  }
  if (arg < 0) { invalid(); return; }
  if (arg == 0) {
    // log = -inf: y * -inf; 0 * inf is invalid, a finite y divides by zero.
    if (yZero) invalid();
    else {
      if (!yInf) outFlags |= FP_ZE;
      zeroOrInf(!yNeg, true);
    }
    return;
  }
  if (arg == 3) {
    // log = 0 (+0 for FYL2X of 1; FYL2XP1 of +-0 gives x's sign): y * 0.
    if (yInf) invalid();
    else zeroOrInf(yNeg != (plusOne && xNeg), false);
    return;
  }
  if (arg == 5) {
    // log = +inf: y * inf.
    if (yZero) invalid();
    else zeroOrInf(yNeg, true);
    return;
  }
  // A finite log with the sign of (argument - 1).
  if (yZero || yInf) {
    zeroOrInf(yNeg != (arg == 2), yInf);
    return;
  }
  if (plusOne) yLog2XPlus1(xSe, xSig, ySe, ySig);
  else yLog2X(xSe, xSig, ySe, ySig);
  roundOut(1);
  if (plusOne) alwaysInexact();
}

/** PE for a result the CPU reports inexact even when it is exact (and then UE too if it is tiny). */
function alwaysInexact(): void {
  outFlags |= FP_PE;
  if (isTiny(outSe, outSig)) outFlags |= FP_UE;
}

/** atan2(y, x) for non-NaN operands: the SDM's FPATAN table (no invalid cases: 0/0 and inf/inf have angles). */
function patan(xSe: u32, xSig: u64, cx: u32, ySe: u32, ySig: u64, cy: u32): void {
  const xNeg = (xSe & 0x8000) != 0;
  const yNeg = (ySe & 0x8000) != 0;
  if (cy == CLASS_ZERO) {
    if (xNeg) piQuarters(4, yNeg);
    else { zeroOrInf(yNeg, false); return; }
  } else if (cy == CLASS_INFINITY) {
    piQuarters(cx == CLASS_INFINITY ? (xNeg ? 3 : 1) : 2, yNeg);
  } else if (cx == CLASS_ZERO) {
    piQuarters(2, yNeg);
  } else if (cx == CLASS_INFINITY) {
    if (xNeg) piQuarters(4, yNeg);
    else { zeroOrInf(yNeg, false); return; }
  } else {
    atan2(ySe, ySig, xSe, xSig);
  }
  roundOut(1);
}
