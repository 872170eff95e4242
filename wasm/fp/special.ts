// Results that need no arithmetic: invalid operations, NaN propagation and
// the operand checks every x87/SSE operation starts with.
import { FP_IE, FP_DE } from '../abi';
import { flags, fmtMaxExp, fmtX87 } from './state';
import { setOut } from './round';
import {
  CLS_QNAN, CLS_SNAN, CLS_UNSUPPORTED, QUIET_BIT, isNaNClass,
  aCls, aSign, aSig, aDenormal, bCls, bSign, bSig, bDenormal,
} from './unpack';

/** The QNaN "real indefinite" (sign 1, quiet bit only), in the out form of any format. */
const INDEFINITE_SIG: u64 = 0xc000000000000000;

/** An invalid operation with IE masked delivers the indefinite (SDM 4.8.3.7). */
export function invalidResult(): void {
  flags |= FP_IE;
  setOut(1, fmtMaxExp, INDEFINITE_SIG);
}

function quietNaNResult(sign: u32, sig: u64): void { setOut(sign, fmtMaxExp, sig | QUIET_BIT); }

/** A NaN operand as the result: quieted, with IE if it was signaling. */
function nanResult(cls: u32, sign: u32, sig: u64): void {
  if (cls == CLS_SNAN) flags |= FP_IE;
  quietNaNResult(sign, sig);
}

/**
 * The NaN result of a two-operand operation with at least one NaN operand.
 * x87 (SDM table 4-7): one NaN wins over a number; of two NaNs a QNaN wins
 * over an SNaN, otherwise the larger significand, and on a tie the host CPU
 * keeps the positive one. SSE: the first operand if it is a NaN, else the
 * second. Either way an SNaN among the operands raises IE.
 */
export function propagateNaN2(): void {
  if (aCls == CLS_SNAN || bCls == CLS_SNAN) flags |= FP_IE;
  const aNaN = isNaNClass(aCls), bNaN = isNaNClass(bCls);
  let useA: bool;
  if (!bNaN) useA = true;
  else if (!aNaN) useA = false;
  else if (!fmtX87) useA = true;
  else if (aCls != bCls) useA = aCls == CLS_QNAN;
  else if (aSig != bSig) useA = aSig > bSig;
  else { quietNaNResult(aSign & bSign, aSig); return; }
  if (useA) quietNaNResult(aSign, aSig);
  else quietNaNResult(bSign, bSig);
}

/**
 * The checks before a two-operand operation computes anything: an
 * unsupported f80 operand is invalid (even beside a NaN), then NaNs
 * propagate. Returns true when the result is already decided.
 */
export function screenOperands2(): bool {
  if (aCls == CLS_UNSUPPORTED || bCls == CLS_UNSUPPORTED) { invalidResult(); return true; }
  if (isNaNClass(aCls) || isNaNClass(bCls)) { propagateNaN2(); return true; }
  return false;
}

/** The same for a one-operand operation on the a slot. */
export function screenOperand1(): bool {
  if (aCls == CLS_UNSUPPORTED) { invalidResult(); return true; }
  if (isNaNClass(aCls)) { nanResult(aCls, aSign, aSig); return true; }
  return false;
}

/**
 * DE for denormal operands, called once an operation is known to be neither
 * invalid nor a division by zero: those take priority and suppress it (SDM
 * 4.9.2, exception priority; so does a NaN operand).
 */
export function raiseDenormal2(): void { if (aDenormal || bDenormal) flags |= FP_DE; }
export function raiseDenormal1(): void { if (aDenormal) flags |= FP_DE; }
