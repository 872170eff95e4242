// Ordered comparison of the a and b slots (FCOM/FUCOM/FCOMI, COMIS/UCOMIS).
import { FP_IE } from '../abi';
import { raiseDenormal2 } from './special';
import { flags } from './state';
import {
  CLS_ZERO, CLS_FINITE, CLS_SNAN, CLS_UNSUPPORTED, isNaNClass,
  aCls, aSign, aExp, aSig, bCls, bSign, bExp, bSig,
} from './unpack';

export const CMP_LESS: i32 = -1;
export const CMP_EQUAL: i32 = 0;
export const CMP_GREATER: i32 = 1;
export const CMP_UNORDERED: i32 = 2;

/** |a| against |b| (-1, 0, 1): zero < finite < infinity, finite by exponent then significand. */
function compareMagnitudes(): i32 {
  if (aCls != bCls) return aCls < bCls ? -1 : 1;
  if (aCls != CLS_FINITE) return 0;
  if (aExp != bExp) return aExp < bExp ? -1 : 1;
  if (aSig != bSig) return aSig < bSig ? -1 : 1;
  return 0;
}

/**
 * quiet: only an SNaN raises IE (FUCOM, UCOMIS); otherwise any NaN does
 * (FCOM, COMIS). An unsupported f80 is invalid either way. Unordered
 * operands raise no DE (host CPU); ordered denormal operands do.
 */
export function compareCore(quiet: bool): i32 {
  if (aCls == CLS_UNSUPPORTED || bCls == CLS_UNSUPPORTED) { flags |= FP_IE; return CMP_UNORDERED; }
  if (isNaNClass(aCls) || isNaNClass(bCls)) {
    if (!quiet || aCls == CLS_SNAN || bCls == CLS_SNAN) flags |= FP_IE;
    return CMP_UNORDERED;
  }
  raiseDenormal2();
  if (aCls == CLS_ZERO && bCls == CLS_ZERO) return CMP_EQUAL; // -0 == +0
  if (aSign != bSign) return aSign != 0 ? CMP_LESS : CMP_GREATER;
  const m = compareMagnitudes();
  return aSign != 0 ? -m : m;
}
