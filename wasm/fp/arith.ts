// Addition, multiplication, division and square root of the unpacked
// operands (a, b slots) into the out value, for every format: the format and
// the precision come from useFormat(), the NaN rules from screenOperands*().
// Each computes the exact result's leading 64 bits plus a sticky remainder
// and rounds once (roundPack).
import { FP_ZE } from '../abi';
import { rc, RC_DOWN, flags } from './state';
import { wideHi, wideLo, wideRem, mul64x64, div128by64, shiftRightJam128, sqrt128 } from './wide';
import { roundPack, normalizeRoundPack, setOutZero, setOutInf } from './round';
import { invalidResult, screenOperands2, screenOperand1, raiseDenormal1, raiseDenormal2 } from './special';
import {
  CLS_ZERO, CLS_INF, aCls, aSign, aExp, aSig, bCls, bSign, bExp, bSig,
} from './unpack';

const INTEGER_BIT: u64 = 0x8000000000000000;

/** Sign of an exact zero sum of operands of opposite signs: +0, or -0 when rounding down (IEEE 754 6.3). */
function exactZeroSign(): u32 { return rc == RC_DOWN ? 1 : 0; }

/** a + b, or a - b when subtract. */
export function addCore(subtract: bool): void {
  if (screenOperands2()) return;
  const signB = bSign ^ <u32>subtract;
  if (aCls == CLS_INF || bCls == CLS_INF) {
    if (aCls == CLS_INF && bCls == CLS_INF && aSign != signB) invalidResult();
    else { raiseDenormal2(); setOutInf(aCls == CLS_INF ? aSign : signB); }
    return;
  }
  raiseDenormal2();
  if (aCls == CLS_ZERO && bCls == CLS_ZERO) {
    setOutZero(aSign == signB ? aSign : exactZeroSign());
    return;
  }
  // x + 0 still goes through rounding: the precision control, FTZ and the
  // underflow rules apply to the nonzero operand as to any result.
  if (bCls == CLS_ZERO) { roundPack(aSign, aExp, aSig, 0); return; }
  if (aCls == CLS_ZERO) { roundPack(signB, bExp, bSig, 0); return; }

  // Order by magnitude: big - small, the result takes big's sign.
  let bigSign = aSign, bigExp = aExp, bigSig = aSig, smallSign = signB, smallExp = bExp, smallSig = bSig;
  if (aExp < bExp || (aExp == bExp && aSig < bSig)) {
    bigSign = signB; bigExp = bExp; bigSig = bSig; smallSign = aSign; smallExp = aExp; smallSig = aSig;
  }
  // Align the smaller operand; what falls off the 128 bits only matters as sticky.
  shiftRightJam128(smallSig, 0, <u32>(bigExp - smallExp));
  const alignedHi = wideHi, alignedLo = wideLo;
  if (bigSign == smallSign) {
    let hi = bigSig + alignedHi;
    let lo = alignedLo;
    let exp = bigExp;
    if (hi < bigSig) {
      // Carry out of bit 63: one more integer bit, shift right keeping the sticky bit.
      lo = (lo >> 1) | (hi << 63) | (lo & 1);
      hi = (hi >> 1) | INTEGER_BIT;
      exp++;
    }
    roundPack(bigSign, exp, hi, lo);
  } else {
    // Cancellation of more than one bit only happens for exponents at most
    // one apart, where the alignment lost nothing.
    const lo = <u64>0 - alignedLo;
    const hi = bigSig - alignedHi - <u64>(alignedLo != 0);
    if (hi == 0 && lo == 0) { setOutZero(exactZeroSign()); return; }
    normalizeRoundPack(bigSign, bigExp, hi, lo);
  }
}

export function mulCore(): void {
  if (screenOperands2()) return;
  const sign = aSign ^ bSign;
  if (aCls == CLS_INF || bCls == CLS_INF) {
    if (aCls == CLS_ZERO || bCls == CLS_ZERO) invalidResult();
    else { raiseDenormal2(); setOutInf(sign); }
    return;
  }
  raiseDenormal2();
  if (aCls == CLS_ZERO || bCls == CLS_ZERO) { setOutZero(sign); return; }
  // Product of two [1, 2) significands: [1, 4), i.e. bit 127 or bit 126 leads.
  mul64x64(aSig, bSig);
  let hi = wideHi, lo = wideLo, exp = aExp + bExp;
  if ((hi & INTEGER_BIT) != 0) exp++;
  else { hi = (hi << 1) | (lo >> 63); lo <<= 1; }
  roundPack(sign, exp, hi, lo);
}

export function divCore(): void {
  if (screenOperands2()) return;
  const sign = aSign ^ bSign;
  if (aCls == CLS_INF && bCls == CLS_INF) { invalidResult(); return; }
  if (bCls == CLS_ZERO) {
    if (aCls == CLS_ZERO) invalidResult();
    else if (aCls == CLS_INF) setOutInf(sign); // inf / 0 is no division by zero
    else { flags |= FP_ZE; setOutInf(sign); }
    return;
  }
  raiseDenormal2();
  if (aCls == CLS_INF) { setOutInf(sign); return; }
  if (bCls == CLS_INF || aCls == CLS_ZERO) { setOutZero(sign); return; }
  // Quotient of the significands scaled so that it has exactly 64 bits:
  // a >= b: a*2^63 / b in [2^63, 2^64); a < b: a*2^64 / b in (2^63, 2^64).
  let exp = aExp - bExp;
  let numHi = aSig, numLo: u64 = 0;
  if (aSig >= bSig) { numHi = aSig >> 1; numLo = aSig << 63; }
  else exp--;
  const q = div128by64(numHi, numLo, bSig);
  // 64 more quotient bits for rounding, and a sticky bit for what remains.
  const q2 = div128by64(wideRem, 0, bSig);
  roundPack(sign, exp, q, q2 | <u64>(wideRem != 0));
}

export function sqrtCore(): void {
  if (screenOperand1()) return;
  if (aCls == CLS_ZERO) { setOutZero(aSign); return; } // sqrt(-0) = -0
  if (aSign != 0) { invalidResult(); return; }
  raiseDenormal1();
  if (aCls == CLS_INF) { setOutInf(0); return; }
  // sig/2^63 * 2^exp = N * 2^(2k - 126) with N = sig*2^63 (exp even) or sig*2^64 (exp odd),
  // N in [2^126, 2^128): sqrt = sqrt(N)/2^63 * 2^k, k = floor(exp / 2).
  const odd = (aExp & 1) != 0;
  const nHi = odd ? aSig : aSig >> 1;
  const nLo = odd ? <u64>0 : aSig << 63;
  const root = sqrt128(nHi, nLo);
  // The bits below the root: above one half exactly when the remainder
  // N - root^2 exceeds root ((root + 1/2)^2 = root^2 + root + 1/4); never a tie.
  const remHi = wideHi, remLo = wideLo;
  let below: u64 = 0;
  if (remHi != 0 || remLo > root) below = 0x8000000000000001;
  else if (remLo != 0) below = 1;
  roundPack(0, aExp >> 1, root, below);
}
