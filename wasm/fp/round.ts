// The one rounding routine of the library, for every format and for the x87
// precision control, and the packing of its output into f32/f64/f80.
//
// An operation ends in an "out" value: sign, biased exponent field and a
// significand in the f80 layout (explicit integer bit 63). Infinities and
// NaNs use the format's all-ones exponent; a zero or denormal has field 0.
// packF32/packF64/packF80 encode it.
import { FP_OE, FP_UE, FP_PE } from '../abi';
import {
  rc, RC_NEAREST, RC_DOWN, RC_UP, flags, roundedUp, fmt, FMT_F80, fmtBias, fmtMaxExp, fmtBits, fmtWrap, fmtMask,
  fmtFlush, resSe, resSig,
} from './state';
import { wideHi, wideLo, shiftRightJam128 } from './wide';

export let outSign: u32 = 0;
export let outExp: i32 = 0;
export let outSig: u64 = 0;

const INTEGER_BIT: u64 = 0x8000000000000000;
const HALF: u64 = 0x8000000000000000;

export function setOut(sign: u32, exp: i32, sig: u64): void { outSign = sign; outExp = exp; outSig = sig; }
export function setOutZero(sign: u32): void { setOut(sign, 0, 0); }
export function setOutInf(sign: u32): void { setOut(sign, fmtMaxExp, INTEGER_BIT); }

// Outcome of roundSignificand().
let roundInexact = false;
let roundIncrement = false;
/** The increment carried out of bit 63: the value became 2^64, i.e. 1.0 at the next exponent. */
let roundCarry = false;

/**
 * Rounds hi:lo (binary point anywhere; only the bit positions matter) to
 * `bits` significant bits counted from bit 63 of hi, with the rounding
 * control: returns the kept bits (the rest zero).
 */
function roundSignificand(sign: u32, hi: u64, lo: u64, bits: u32): u64 {
  let kept: u64, fraction: u64, ulp: u64;
  if (bits >= 64) {
    kept = hi; fraction = lo; ulp = 1;
  } else {
    // The dropped part as a fraction of one unit in the last kept place, with
    // what falls off its end ORed into bit 0 (it only matters as "nonzero").
    const dropped = <u64>(64 - bits);
    ulp = <u64>1 << dropped;
    kept = hi & ~(ulp - 1);
    fraction = (hi << <u64>bits) | (lo >> dropped) | <u64>((lo << <u64>bits) != 0);
  }
  roundInexact = fraction != 0;
  let increment = false;
  if (roundInexact) {
    if (rc == RC_NEAREST) increment = fraction > HALF || (fraction == HALF && (kept & ulp) != 0);
    else if (rc == RC_DOWN) increment = sign != 0;
    else if (rc == RC_UP) increment = sign == 0;
  }
  roundIncrement = increment;
  roundCarry = false;
  if (increment) {
    kept += ulp;
    roundCarry = kept == 0;
  }
  return kept;
}

/**
 * Rounds sign * hi:lo * 2^exp (hi:lo normalized: bit 63 of hi set, binary
 * point after it) to the current format (state.ts fmt*) and the rounding
 * control -> out*, raising PE/UE/OE and recording C1 (roundedUp).
 *
 * Underflow (SDM 4.9.1.5): tininess is detected after rounding, as the host
 * CPU does it (x87 and SSE alike): a result that rounds to the smallest
 * normal with an unbounded exponent is not tiny. Masked, a tiny result is
 * denormalized and then rounded (in the same bit positions: with x87
 * precision control, the kept bits are fixed in the 64-bit significand, so a
 * denormal keeps fewer), and UE is raised only if that is inexact; with FTZ
 * it is a signed zero with UE and PE. Unmasked, the result keeps full
 * precision with the exponent wrapped up by fmtWrap and UE is raised even if
 * exact (SDM 8.5.5).
 * Overflow (SDM 4.9.1.4): masked, infinity or the largest finite value by
 * the rounding direction, with OE and PE; unmasked, the exponent wrapped down
 * by fmtWrap (SDM 8.5.4).
 * An f80 result still out of range after the wrap (only FSCALE gets that
 * far) becomes a signed zero (UE, PE) or infinity (OE, PE, C1) whatever the
 * rounding control, as on the host CPU.
 */
export function roundPack(sign: u32, exp: i32, hi: u64, lo: u64): void {
  let e = exp + fmtBias;
  const bits = fmtBits;
  if (e < 1) {
    // Tiny after rounding unless an exponent-0 value rounds up to the smallest normal.
    let tiny = e < 0;
    if (!tiny) { roundSignificand(sign, hi, lo, bits); tiny = !roundCarry; }
    if (tiny) {
      if ((fmtMask & FP_UE) == 0) {
        flags |= FP_UE;
        e += fmtWrap;
        if (e < 1) {
          // Out of range even wrapped: an x87 register gets a signed zero (inexact);
          // an SSE result is discarded, its PE is the unbounded rounding's.
          if (fmt == FMT_F80) flags |= FP_PE;
          else { roundSignificand(sign, hi, lo, bits); if (roundInexact) flags |= FP_PE; }
          setOutZero(sign);
          return;
        }
      } else if (fmtFlush) {
        flags |= FP_UE | FP_PE;
        setOutZero(sign);
        return;
      } else {
        shiftRightJam128(hi, lo, <u32>(1 - e));
        hi = wideHi; lo = wideLo;
        e = 1;
        const kept = roundSignificand(sign, hi, lo, bits);
        if (roundInexact) { flags |= FP_UE | FP_PE; roundedUp = roundIncrement; }
        // Field 0 unless rounding reached the integer bit (the smallest normal).
        setOut(sign, (kept & INTEGER_BIT) != 0 ? 1 : 0, kept);
        return;
      }
    }
  }
  let kept = roundSignificand(sign, hi, lo, bits);
  if (roundCarry) { kept = INTEGER_BIT; e++; }
  if (roundInexact) { flags |= FP_PE; roundedUp = roundIncrement; }
  if (e >= fmtMaxExp) {
    flags |= FP_OE;
    if ((fmtMask & FP_OE) == 0 && e - fmtWrap < fmtMaxExp) {
      e -= fmtWrap;
    } else if ((fmtMask & FP_OE) == 0) {
      // Out of range even wrapped: an x87 register gets a signed infinity
      // (inexact, rounded up); an SSE result is discarded.
      if (fmt == FMT_F80) { flags |= FP_PE; roundedUp = true; }
      setOutInf(sign);
      return;
    } else {
      flags |= FP_PE;
      const toInfinity = rc == RC_NEAREST || (rc == RC_DOWN && sign != 0) || (rc == RC_UP && sign == 0);
      roundedUp = toInfinity;
      if (toInfinity) setOutInf(sign);
      else setOut(sign, fmtMaxExp - 1, ~(<u64>0) << <u64>(64 - bits));
      return;
    }
  }
  setOut(sign, e, kept);
}

/**
 * A value the format holds exactly (sig normalized), in its canonical
 * encoding, without rounding or flags: a denormal stays one even with
 * underflow unmasked, a pseudo-denormal becomes normal. For the x87
 * operations whose result is an operand as it is (FPREM by infinity,
 * FSCALE by zero: host CPU).
 */
export function setOutExact(sign: u32, exp: i32, sig: u64): void {
  const e = exp + fmtBias;
  if (e >= 1) setOut(sign, e, sig);
  else setOut(sign, 0, sig >> <u64>(1 - e));
}

/**
 * Like roundPack for a significand not yet normalized (any hi:lo, zero
 * included: a zero is exact and keeps its sign).
 */
export function normalizeRoundPack(sign: u32, exp: i32, hi: u64, lo: u64): void {
  if (hi == 0 && lo == 0) { setOutZero(sign); return; }
  const shift = hi != 0 ? <u32>clz(hi) : 64 + <u32>clz(lo);
  if (shift != 0) {
    const h = shift < 64 ? (hi << <u64>shift) | (lo >> <u64>(64 - shift)) : lo << <u64>(shift - 64);
    lo = shift < 64 ? lo << <u64>shift : 0;
    hi = h;
  }
  roundPack(sign, exp - <i32>shift, hi, lo);
}

// --- encodings ------------------------------------------------------------------
// The out exponent is already the format's field; the significand drops its
// explicit integer bit for f32/f64 (the field says whether it was set).

export function packF80(): void {
  resSe = (outSign << 15) | <u32>outExp;
  resSig = outSig;
}
export function packF64(): u64 {
  return (<u64>outSign << 63) | (<u64>outExp << 52) | ((outSig >> 11) & 0xfffffffffffff);
}
export function packF32(): u32 {
  return (outSign << 31) | (<u32>outExp << 23) | (<u32>(outSig >> 40) & 0x7fffff);
}
