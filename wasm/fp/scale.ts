// Exponent manipulation: FSCALE (a * 2^trunc(b)) and FXTRACT (split into
// exponent and significand), SDM vol. 2 FSCALE / FXTRACT.
import { FP_ZE } from '../abi';
import { flags, fmtBias } from './state';
import { roundPack, normalizeRoundPack, setOut, setOutZero, setOutInf, setOutExact, outSign, outExp, outSig } from './round';
import { invalidResult, screenOperand1, screenOperands2, raiseDenormal1, raiseDenormal2 } from './special';
import { roundToInteger, intTooBig } from './intround';
import { CLS_ZERO, CLS_INF, aCls, aSign, aExp, aSig, bCls, bSign, bExp, bSig } from './unpack';

/**
 * A scale this large already over/underflows any f80 even after the 24576
 * exponent wrap of an unmasked exception, so bigger ones are clamped to it.
 */
const SCALE_LIMIT: i32 = 0x10000;

/** FSCALE: a * 2^trunc(b), rounded only when it over/underflows. */
export function scaleCore(): void {
  if (screenOperands2()) return;
  if (bCls == CLS_INF) {
    // 0 * 2^+inf and inf * 2^-inf are invalid; otherwise b's infinity sends
    // a finite a to an infinity or a zero of a's sign.
    if (bSign == 0 ? aCls == CLS_ZERO : aCls == CLS_INF) { invalidResult(); return; }
    raiseDenormal2();
    if (bSign == 0) setOutInf(aSign);
    else setOutZero(aSign);
    return;
  }
  raiseDenormal2();
  if (aCls == CLS_ZERO) { setOutZero(aSign); return; }
  if (aCls == CLS_INF) { setOutInf(aSign); return; }
  // Scaling by a zero returns a as it is; by anything else (even |b| < 1) a
  // goes through rounding, so an unmasked underflow wraps a denormal (host CPU).
  if (bCls == CLS_ZERO) { setOutExact(aSign, aExp, aSig); return; }
  const magnitude = roundToInteger(bSign, bExp, bSig, true);
  const m: i32 = intTooBig || magnitude > <u64>SCALE_LIMIT ? SCALE_LIMIT : <i32>magnitude;
  roundPack(aSign, aExp + (bSign != 0 ? -m : m), aSig, 0);
}

/** FXTRACT's second result, the exponent (an out value). */
export let exponentSign: u32 = 0;
export let exponentExp: i32 = 0;
export let exponentSig: u64 = 0;

function exponentFromOut(): void { exponentSign = outSign; exponentExp = outExp; exponentSig = outSig; }

/**
 * FXTRACT: the out value is the significand (a with the exponent of 1.0) and
 * exponent* the unbiased exponent as a number. 0 gives -inf with ZE and the
 * signed zero; inf gives +inf and the infinity; a NaN or invalid operand
 * gives the same NaN twice.
 */
export function extractCore(): void {
  if (screenOperand1()) { exponentFromOut(); return; }
  raiseDenormal1();
  if (aCls == CLS_ZERO) {
    flags |= FP_ZE;
    setOutInf(1); exponentFromOut();
    setOutZero(aSign);
    return;
  }
  if (aCls == CLS_INF) {
    setOutInf(0); exponentFromOut();
    setOutInf(aSign);
    return;
  }
  // The exponent is a small integer: exact.
  const e = aExp;
  normalizeRoundPack(e < 0 ? 1 : 0, 63, <u64>(e < 0 ? -e : e), 0);
  exponentFromOut();
  setOut(aSign, fmtBias, aSig);
}
