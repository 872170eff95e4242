// FPREM / FPREM1: one step of the partial remainder of a by b (SDM vol. 2,
// FPREM and FPREM1), into the out value. The remainder is always exact.
import { wideRem, div128by64 } from './wide';
import { roundPack, normalizeRoundPack, setOutZero, setOutExact } from './round';
import { invalidResult, screenOperands2, raiseDenormal2 } from './special';
import {
  CLS_ZERO, CLS_INF, aCls, aSign, aExp, aSig, bCls, bExp, bSig,
} from './unpack';

// FSW condition bits: C2 = reduction incomplete; quotient bits Q2 -> C0, Q1 -> C3, Q0 -> C1.
export const FSW_C0: u32 = 0x100;
export const FSW_C1: u32 = 0x200;
export const FSW_C2: u32 = 0x400;
export const FSW_C3: u32 = 0x4000;

function quotientBits(q: u64): u32 {
  return ((q & 4) != 0 ? FSW_C0 : 0) | ((q & 2) != 0 ? FSW_C3 : 0) | ((q & 1) != 0 ? FSW_C1 : 0);
}

/**
 * Returns the FSW condition bits. ieee: FPREM1 (quotient rounded to nearest,
 * ties to even) rather than FPREM (truncated).
 *
 * When the exponents differ by 64 or more, the step only reduces the
 * difference (C2 set, the other condition bits clear): the SDM's
 * "implementation-dependent N between 32 and 63" is 32 + (difference mod 32)
 * on the host CPU, so a step takes a multiple of 32 off the difference. In
 * both cases the remainder is (sigA * 2^k) mod sigB, k being the difference
 * or N, in units of a's last place divided by 2^k.
 */
export function remCore(ieee: bool): u32 {
  if (screenOperands2()) return 0;
  if (aCls == CLS_INF || bCls == CLS_ZERO) { invalidResult(); return 0; }
  raiseDenormal2();
  if (aCls == CLS_ZERO || bCls == CLS_INF) {
    // a is its own remainder (an infinite divisor leaves a finite a alone).
    if (aCls == CLS_ZERO) setOutZero(aSign);
    else setOutExact(aSign, aExp, aSig);
    return 0;
  }
  const diff = aExp - bExp;
  if (diff < 0) {
    // |a| < |b|: quotient 0, except FPREM1 rounding a/b in (1/2, 1) up to 1.
    if (!ieee || diff < -1 || aSig <= bSig) { roundPack(aSign, aExp, aSig, 0); return 0; }
    // a - b, of the opposite sign: |b| - |a| in units of a's last place is 2*sigB - sigA.
    normalizeRoundPack(aSign ^ 1, aExp, bSig - (aSig - bSig), 0);
    return FSW_C1;
  }
  const partial = diff >= 64;
  const shift = partial ? 32 + (diff & 31) : diff;
  // (sigA * 2^shift) / sigB: the high word sigA >> (64 - shift) is below 2^63 <= sigB, so the quotient fits.
  const numHi = shift == 0 ? <u64>0 : aSig >> <u64>(64 - shift);
  const numLo = aSig << <u64>shift;
  let q = div128by64(numHi, numLo, bSig);
  let rem = wideRem;
  let sign = aSign;
  if (ieee && !partial && (rem > bSig - rem || (rem == bSig - rem && (q & 1) != 0))) {
    // Round the quotient up: the remainder changes sign, |b| - rem.
    rem = bSig - rem;
    q++;
    sign ^= 1;
  }
  // a = q*b*2^(diff-shift) + rem * 2^(aExp-63-shift): rem's units are a's last place scaled down by 2^shift.
  // (a zero remainder keeps a's sign: it is never rounded up).
  normalizeRoundPack(sign, bExp + (diff - shift), rem, 0);
  return partial ? FSW_C2 : quotientBits(q);
}
