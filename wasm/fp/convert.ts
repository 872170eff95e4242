// Conversions between the formats and to/from integers, on the a slot into
// the out value (or an integer). The destination format is selected by the
// caller (useFormat); narrowing conversions round like any result.
import { FP_IE, FP_PE, FP_OE, FP_UE } from '../abi';
import { flags, roundedUp, fmtMask, fmtBias, fmtMaxExp, memoryOperandDenormal } from './state';
import { roundPack, normalizeRoundPack, setOut, setOutZero, setOutInf } from './round';
import { screenOperand1, raiseDenormal1 } from './special';
import { roundToInteger, intInexact, intIncrement, intTooBig } from './intround';
import { CLS_FINITE, CLS_ZERO, CLS_INF, aCls, aSign, aExp, aSig, aDenormal } from './unpack';

/**
 * The a slot in the current format: exact when it widens, rounded with
 * OE/UE/PE when it narrows; an SNaN is quieted with IE. reportDenormal: DE
 * for a denormal source (FLD m32/m64, CVTSS2SD, CVTSD2SS; the x87's FST
 * m32/m64 do not report it: host CPU).
 */
export function convertCore(reportDenormal: bool): void {
  if (screenOperand1()) return;
  if (reportDenormal) raiseDenormal1();
  if (aCls == CLS_FINITE) roundPack(aSign, aExp, aSig, 0);
  else if (aCls == CLS_ZERO) setOutZero(aSign);
  else setOutInf(aSign);
}

/**
 * FST m32/m64: convertCore without DE (the x87 stores do not report it).
 * When the store overflows or underflows with that exception unmasked,
 * nothing is stored and only OE or UE is reported (no PE, C1 clear), as the
 * host CPU does; SSE's CVTSD2SS reports its unmasked underflow like any
 * arithmetic result instead (UE, and PE when inexact).
 */
export function x87StoreCore(): void {
  const before = flags;
  convertCore(false);
  const raised = flags & ~before & (FP_OE | FP_UE);
  if ((raised & ~fmtMask) != 0) { flags = before | raised; roundedUp = false; }
}

/**
 * An x87 instruction's f32/f64 memory operand (FADD m32, FCOM m64...) as an
 * f80 for the operation that follows: exact, without flags, an SNaN still
 * signaling. The CPU judges such an operand in its own format: an SNaN loses
 * to a QNaN in ST(0), and a denormal raises DE only where a denormal f80
 * would (not beside a NaN, an invalid operation or a division by zero), so
 * that is left to the operation (memoryOperandDenormal).
 */
export function operandCore(): void {
  if (aCls == CLS_FINITE) setOut(aSign, aExp + fmtBias, aSig);
  else if (aCls == CLS_ZERO) setOutZero(aSign);
  else setOut(aSign, fmtMaxExp, aSig); // infinity or NaN: an f80 holds every f32/f64 payload as it is
  memoryOperandDenormal = aDenormal;
}

/** A signed integer into the current format (rounded if it has more bits than the significand). */
export function fromIntegerCore(value: i64): void {
  const negative = value < 0;
  // |i64 min| = 2^63 is still right as an unsigned magnitude.
  const magnitude: u64 = negative ? <u64>0 - <u64>value : <u64>value;
  normalizeRoundPack(negative ? 1 : 0, 63, magnitude, 0);
}

/**
 * The a slot to a signed integer of `bits` (16, 32 or 64), rounded with the
 * rounding control or truncated. NaN, infinity, an unsupported f80 or a
 * rounded value out of range: IE and the integer indefinite, the most
 * negative value, returned sign-extended to i64 (0xFFFF...8000 for 16 bits,
 * 0xFFFFFFFF80000000 for 32): a caller stores the low `bits` bits.
 * Otherwise PE when inexact and C1 (roundedUp) when rounded up. No DE (host
 * CPU: FIST and CVT*2SI ignore denormal sources).
 */
export function toIntegerCore(bits: u32, truncate: bool): i64 {
  const indefinite: i64 = <i64>(<u64>-1 << <u64>(bits - 1));
  if (screenOperand1() || aCls == CLS_INF) { flags |= FP_IE; return indefinite; }
  if (aCls == CLS_ZERO) return 0;
  const magnitude = roundToInteger(aSign, aExp, aSig, truncate);
  // Positive values reach 2^(bits-1) - 1, negative ones -2^(bits-1).
  const limit: u64 = (<u64>1 << <u64>(bits - 1)) - <u64>(aSign == 0);
  if (intTooBig || magnitude > limit) { flags |= FP_IE; return indefinite; }
  if (intInexact) { flags |= FP_PE; roundedUp = intIncrement; }
  return aSign != 0 ? -<i64>magnitude : <i64>magnitude;
}
