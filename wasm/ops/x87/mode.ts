// The rounding and precision softfloat applies to the current instruction,
// from the x87 control word (SDM Vol. 1, 8.1.5.2-8.1.5.3).
import { setFpMode, setX87ExceptionMask, clearFpFlags } from '../../fp/softfloat';
import { fcw, FCW_PC_SHIFT, FCW_RC_SHIFT, FCW_MASKS } from './regs';

/**
 * Significand bits for each precision-control value: 00 single (24),
 * 01 reserved (treated as 64: no x87 documents it), 10 double (53),
 * 11 double extended (64).
 */
@inline function precisionBits(pc: u32): u32 {
  return pc == 0 ? 24 : pc == 2 ? 53 : 64;
}

/**
 * Starts the numeric part of an instruction: softfloat's flags cleared, its
 * rounding control and exception masks set from FCW. Precision control
 * applies only to FADD, FSUB(R), FMUL, FDIV(R) and FSQRT (SDM Vol. 1,
 * 8.1.5.2); everything else rounds to 64 bits (`withPrecisionControl`
 * false). With the masks, softfloat itself delivers the unmasked overflow
 * and underflow responses (the exponent wrapped by 24576, SDM 8.5.4-8.5.5).
 */
export function beginOp(withPrecisionControl: bool): void {
  const c = fcw();
  clearFpFlags();
  setFpMode((c >> FCW_RC_SHIFT) & 3, withPrecisionControl ? precisionBits((c >> FCW_PC_SHIFT) & 3) : 64, false, false);
  setX87ExceptionMask(c & FCW_MASKS);
}

/** FCW.RC: 0 nearest, 1 down, 2 up, 3 toward zero. */
@inline export function roundingControl(): u32 {
  return (fcw() >> FCW_RC_SHIFT) & 3;
}
