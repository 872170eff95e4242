// MXCSR: the SSE floating-point mode and the exception plumbing around every
// SSE/SSE2 floating-point instruction, and LDMXCSR/STMXCSR.
//
//   bits 0-5   IE DE ZE OE UE PE   flags (sticky)
//   bit 6      DAZ                 denormal operands read as zero
//   bits 7-12  IM DM ZM OM UM PM   masks
//   bits 13-14 RC                  rounding control
//   bit 15     FTZ                 tiny results flushed to zero (with UE masked)
import { EXC_GP, MXCSR_MASK_VALUE, FP_IE, FP_DE, FP_ZE } from '../../abi';
import { abortInsn, setFault } from '../../cpu/state';
import { eaSeg, eaOff } from '../../cpu/decode';
import { readMem, writeMem } from '../../cpu/operand';
import { setFpMode, setSseExceptionMask, clearFpFlags, fpFlags } from '../../fp/softfloat';
import { mxcsr, setMxcsr } from './regs';
import { simdFpFault } from './gate';

export const MXCSR_DAZ: u32 = 0x40;
export const MXCSR_FTZ: u32 = 0x8000;
/** Every exception flag. */
export const FP_ALL: u32 = 0x3f;
/** The pre-computation exceptions (SDM Vol. 1, 11.5.2): detected on the operands, before any result. */
const FP_PRE: u32 = FP_IE | FP_DE | FP_ZE;

/** Whether MXCSR.DAZ was set when the current instruction began (fpBegin). */
export let dazActive = false;

/** Before the lanes of an SSE FP instruction: softfloat's mode from MXCSR, no flags yet. */
export function fpBegin(): void {
  const m = mxcsr();
  dazActive = (m & MXCSR_DAZ) != 0;
  // FTZ applies only while underflow is masked (SDM Vol. 1, 10.2.3.3): softfloat knows the
  // masks, which also make an unmasked UE report every tiny result (exact or not).
  setFpMode((m >> 13) & 3, 64, dazActive, (m & MXCSR_FTZ) != 0);
  setSseExceptionMask((m >> 7) & FP_ALL);
  clearFpFlags();
}

/**
 * After the lanes: the exceptions they raised (restricted to `reported`)
 * go into MXCSR; an unmasked one is #XM (or #UD) and the destination must
 * not be written: returns false then.
 *
 * SDM Vol. 1, 11.5.1: pre-computation exceptions (IE, DE, ZE) of all lanes
 * are handled first; if one of them is unmasked, only their flags are set
 * and the post-computation exceptions (OE, UE, PE) are not looked at.
 */
export function fpCommit(reported: u32): bool {
  const raised = fpFlags() & reported;
  if (raised == 0) return true;
  const m = mxcsr();
  const unmasked = raised & ~(m >> 7) & FP_ALL;
  const pre = raised & FP_PRE;
  if ((unmasked & FP_PRE) != 0) {
    setMxcsr(m | pre);
    simdFpFault();
    return false;
  }
  setMxcsr(m | raised);
  if (unmasked != 0) { simdFpFault(); return false; }
  return true;
}

/** 0F AE /2: LDMXCSR m32. Setting a bit outside MXCSR_MASK is #GP(0) (SDM LDMXCSR). */
export function ldmxcsr(): void {
  const v = readMem<u32>(eaSeg, eaOff);
  if (abortInsn) return;
  if ((v & ~MXCSR_MASK_VALUE) != 0) { setFault(EXC_GP, 0, true); return; }
  setMxcsr(v);
}

/** 0F AE /3: STMXCSR m32. */
export function stmxcsr(): void {
  writeMem<u32>(eaSeg, eaOff, mxcsr());
}
