// Rounding a finite value to an integer: FRNDINT, FIST/FISTTP and the SSE
// conversions to integers share it (the rounding control, or truncation).
import { FP_PE } from '../abi';
import { rc, RC_NEAREST, RC_DOWN, RC_UP, flags, roundedUp } from './state';
import { roundPack, normalizeRoundPack, setOutZero, setOutInf } from './round';
import { screenOperand1, raiseDenormal1 } from './special';
import { CLS_FINITE, CLS_ZERO, aCls, aSign, aExp, aSig } from './unpack';

export let intInexact = false;
export let intIncrement = false;
/** The magnitude is 2^64 or more: it fits no integer format. */
export let intTooBig = false;

const HALF: u64 = 0x8000000000000000;

/**
 * |sig/2^63 * 2^exp| rounded to an integer, sig normalized (bit 63 set).
 * truncate: toward zero whatever the rounding control (FISTTP, CVTT*).
 */
export function roundToInteger(sign: u32, exp: i32, sig: u64, truncate: bool): u64 {
  intInexact = false; intIncrement = false; intTooBig = false;
  if (exp >= 64) { intTooBig = true; return 0; }
  if (exp == 63) return sig;
  let whole: u64, fraction: u64;
  if (exp >= 0) {
    whole = sig >> <u64>(63 - exp);
    fraction = sig << <u64>(exp + 1);
  } else {
    whole = 0;
    // exp == -1: sig/2^64 is the fraction itself; below, less than a half (nonzero).
    fraction = exp == -1 ? sig : 1;
  }
  if (fraction == 0) return whole;
  intInexact = true;
  let increment = false;
  if (!truncate) {
    if (rc == RC_NEAREST) increment = fraction > HALF || (fraction == HALF && (whole & 1) != 0);
    else if (rc == RC_DOWN) increment = sign != 0;
    else if (rc == RC_UP) increment = sign == 0;
  }
  intIncrement = increment;
  // whole < 2^63 here, so the increment cannot wrap.
  return whole + <u64>increment;
}

/** FRNDINT of the a slot into the out value: PE when inexact, C1 when rounded up. */
export function roundIntCore(): void {
  if (screenOperand1()) return;
  raiseDenormal1();
  if (aCls == CLS_ZERO) { setOutZero(aSign); return; }
  if (aCls != CLS_FINITE) { setOutInf(aSign); return; }
  const whole = roundToInteger(aSign, aExp, aSig, false);
  if (intInexact) { flags |= FP_PE; roundedUp = intIncrement; }
  // Already integral (exponent 63 and up): unchanged; a zero keeps the sign (-0.3 -> -0).
  if (aExp >= 63) roundPack(aSign, aExp, aSig, 0);
  else normalizeRoundPack(aSign, 63, whole, 0);
}
