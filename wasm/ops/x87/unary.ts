// Operations on ST(0) (and ST(1)): FCHS, FABS, FSQRT, FRNDINT, FSCALE,
// FXTRACT, FPREM, FPREM1.
import {
  f80Sqrt, f80RoundInt, f80Scale, f80Rem, f80Extract, f80ResultSe, f80ResultSig, f80Result2Se, f80Result2Sig, fpFlags,
} from '../../fp/softfloat';
import {
  phys, isEmpty, regSe, regSig, writeReg, writeIndefinite, pushStack, pushOverflows, FSW_CC, FSW_C2,
  INDEFINITE_SE, INDEFINITE_SIG,
} from './regs';
import { stackUnderflow, stackOverflow, screenFlags, setCC, setC1 } from './status';
import { isNan } from './classify';

/** ST(0), or false after the underflow response (masked: ST(0) becomes the indefinite). */
function st0Present(): bool {
  const p0 = phys(0);
  if (!isEmpty(p0)) return true;
  if (stackUnderflow()) writeIndefinite(p0);
  return false;
}

/** ST(0) and ST(1) both present, else the underflow response on ST(0). */
function st0st1Present(): bool {
  if (!isEmpty(phys(1))) return st0Present();
  if (stackUnderflow()) writeIndefinite(phys(0));
  return false;
}

/** FCHS (negate) and FABS: sign bit only, never an exception but underflow; C1 = 0. */
export function signOp(abs: bool): void {
  if (!st0Present()) return;
  const p0 = phys(0);
  const se = regSe(p0);
  setC1(false);
  writeReg(p0, abs ? se & 0x7fff : se ^ 0x8000, regSig(p0));
}

/** Writes softfloat's result to ST(0) once its exceptions allow it. */
function commitSt0(f: u32): void {
  if (!screenFlags(f)) return;
  writeReg(phys(0), f80ResultSe(), f80ResultSig());
}

/** FSQRT (precision control applies) and FRNDINT; neither can overflow or underflow. */
export function sqrtOrRound(sqrt: bool): void {
  if (!st0Present()) return;
  const p0 = phys(0);
  if (sqrt) f80Sqrt(regSe(p0), regSig(p0));
  else f80RoundInt(regSe(p0), regSig(p0));
  commitSt0(fpFlags());
}

/** FSCALE: ST(0) * 2^trunc(ST(1)). */
export function fscale(): void {
  if (!st0st1Present()) return;
  const p0 = phys(0);
  const p1 = phys(1);
  f80Scale(regSe(p0), regSig(p0), regSe(p1), regSig(p1));
  commitSt0(fpFlags());
}

/**
 * FPREM (truncating quotient) and FPREM1 (IEEE remainder): one partial
 * step; C2 says whether it is incomplete, else C0 C3 C1 are the three low
 * quotient bits. A stack fault or a NaN result clears C2 and C1 and
 * leaves C0 and C3 (as the CPU does).
 */
export function fprem(ieee: bool): void {
  setCC(FSW_C2, 0);
  if (!st0st1Present()) return;
  const p0 = phys(0);
  const p1 = phys(1);
  const cc = f80Rem(regSe(p0), regSig(p0), regSe(p1), regSig(p1), ieee);
  if (!screenFlags(fpFlags())) return;
  const se = f80ResultSe();
  const sig = f80ResultSig();
  if (!isNan(se, sig)) setCC(FSW_CC, cc);
  writeReg(p0, se, sig);
}

/**
 * FXTRACT: ST(0) becomes its unbiased exponent and its significand (with
 * exponent 0, the sign kept) is pushed (SDM FXTRACT). Zero: divide-by-zero,
 * exponent -inf; infinity: exponent +inf; NaN: both the NaN. A masked stack
 * fault (ST(0) empty, or the push overflows) makes both the indefinite.
 */
export function fxtract(): void {
  const p0 = phys(0);
  if (isEmpty(p0) || pushOverflows()) {
    if (isEmpty(p0) ? stackUnderflow() : stackOverflow()) {
      writeIndefinite(p0);
      pushStack(INDEFINITE_SE, INDEFINITE_SIG);
    }
    return;
  }
  f80Extract(regSe(p0), regSig(p0));
  if (!screenFlags(fpFlags())) return;
  writeReg(p0, f80Result2Se(), f80Result2Sig());
  pushStack(f80ResultSe(), f80ResultSig());
}
