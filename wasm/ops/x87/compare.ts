// Comparisons and tests: FCOM/FCOMP/FCOMPP, FUCOM/FUCOMP/FUCOMPP, FICOM/FICOMP,
// FTST (condition codes), FCOMI/FCOMIP/FUCOMI/FUCOMIP (EFLAGS), FXAM, FCMOVcc.
import { FLAG_ZF, FLAG_PF, FLAG_CF, FLAGS_ARITH, FP_IE, FP_DE } from '../../abi';
import { f80Compare, fpFlags, CMP_LESS, CMP_EQUAL, CMP_GREATER, CMP_UNORDERED } from '../../fp/softfloat';
import { setFlagsPartial, testCond } from '../../cpu/flags';
import {
  phys, isEmpty, regSe, regSig, writeReg, writeIndefinite, popStack, FSW_C0, FSW_C1, FSW_C2, FSW_C3,
} from './regs';
import { stackUnderflow, raiseFlags, unmasked, setCC } from './status';
import { srcSe, srcSig, setSrc } from './memops';
import { classify, CLASS_EMPTY } from './classify';

const CC_RESULT: u32 = FSW_C3 | FSW_C2 | FSW_C0;

/** Condition codes of a comparison result (SDM FCOM, table 3-21): >, <, =, unordered. */
function ccOf(r: i32): u32 {
  if (r == CMP_GREATER) return 0;
  if (r == CMP_LESS) return FSW_C0;
  if (r == CMP_EQUAL) return FSW_C3;
  return FSW_C3 | FSW_C2 | FSW_C0;
}

/** EFLAGS of a comparison result (SDM FCOMI, table 3-23): ZF PF CF; OF SF AF cleared. */
function eflagsOf(r: i32): u32 {
  if (r == CMP_GREATER) return 0;
  if (r == CMP_LESS) return FLAG_CF;
  if (r == CMP_EQUAL) return FLAG_ZF;
  return FLAG_ZF | FLAG_PF | FLAG_CF;
}

@inline function popTimes(n: u32): void {
  for (let i: u32 = 0; i < n; i++) popStack();
}

/**
 * ST(0) against srcSe/srcSig (or an empty register: `srcEmpty`); `quiet`
 * for the FUCOM forms (only SNaNs are invalid). With `toEflags` the result
 * goes to ZF/PF/CF with OF, SF, AF cleared (FCOMI), else to C3/C2/C0 with C1
 * cleared. As the CPU does (whatever SDM FCOM/FCOMI say of the unmasked
 * case), the result is written even when an exception is unmasked:
 * "unordered" for an invalid operand or an empty register (IE), the
 * comparison for a denormal (DE); an unmasked exception only keeps the
 * stack from popping. FCOMI leaves C1 alone but for a stack underflow.
 */
export function compare(srcEmpty: bool, quiet: bool, toEflags: bool, pops: u32): void {
  const p0 = phys(0);
  let r: i32 = CMP_UNORDERED;
  let stop = false;
  if (srcEmpty || isEmpty(p0)) {
    stop = !stackUnderflow();
  } else {
    r = f80Compare(regSe(p0), regSig(p0), srcSe, srcSig, quiet);
    const f = fpFlags();
    raiseFlags(f);
    stop = (unmasked(f) & (FP_IE | FP_DE)) != 0;
    if (!toEflags) setCC(FSW_C1, 0);
  }
  if (toEflags) setFlagsPartial(FLAGS_ARITH, eflagsOf(r));
  else setCC(CC_RESULT, ccOf(r));
  if (!stop) popTimes(pops);
}

/** FTST: ST(0) against +0.0, as FCOM does. */
export function ftst(): void {
  setSrc(0, 0);
  compare(false, false, false, 0);
}

/** Loads ST(i) as the comparison source; returns whether it is empty. */
export function srcFromSt(i: u32): bool {
  const p = phys(i);
  setSrc(regSe(p), regSig(p));
  return isEmpty(p);
}

/**
 * FXAM: the class of ST(0) in C3 C2 C0 and its sign in C1, empty or not
 * (SDM FXAM: C1 is the sign bit of the register). Never an exception.
 */
export function fxam(): void {
  const p = phys(0);
  const se = regSe(p);
  const c = isEmpty(p) ? CLASS_EMPTY : classify(se, regSig(p));
  const cc = ((c & 4) != 0 ? FSW_C3 : 0) | ((c & 2) != 0 ? FSW_C2 : 0) | ((c & 1) != 0 ? FSW_C0 : 0);
  setCC(CC_RESULT | FSW_C1, cc | ((se & 0x8000) != 0 ? FSW_C1 : 0));
}

/**
 * FCMOVcc ST(0), ST(i): `cc` is the Jcc condition (B, E, BE, U and their
 * negations). Both registers are checked for underflow whatever the
 * condition; the masked response makes ST(0) the indefinite. C1 is left
 * alone otherwise (as the CPU does).
 */
export function fcmov(cc: u32, i: u32): void {
  const p0 = phys(0);
  const pi = phys(i);
  if (isEmpty(p0) || isEmpty(pi)) {
    if (stackUnderflow()) writeIndefinite(p0);
    return;
  }
  if (testCond(cc)) writeReg(p0, regSe(pi), regSig(pi));
}
