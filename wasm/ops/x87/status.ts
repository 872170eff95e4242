// x87 exception flags, condition codes and the deferred error report.
//
// An x87 exception never interrupts the instruction that raises it (SDM Vol. 1,
// 8.6): a masked one gets its default response; an unmasked one sets its flag,
// ES and B, and is *reported* when the next waiting x87 instruction (or WAIT)
// starts: #MF with CR0.NE=1, FERR# (IRQ13 through the PIC) with CR0.NE=0.
// So the only state an error leaves is FSW.ES, and reporting it is one test
// at the start of a waiting instruction.
import {
  V_CR0, CR0_NE, V_FPU, FPU_FERR_IGNNE, V_HALTED, EXC_MF, EXIT_FERR, FP_IE, FP_DE, FP_ZE,
} from '../../abi';
import { cpu, setFault, setPendingExit } from '../../cpu/state';
import { fpRoundedUp } from '../../fp/softfloat';
import {
  fcw, fsw, setFsw, FSW_ES, FSW_B, FSW_SF, FSW_C1, FSW_FLAGS, FCW_MASKS,
} from './regs';

/** Exception flags of `f` that the control word does not mask. */
@inline export function unmasked(f: u32): u32 {
  return f & ~fcw() & FCW_MASKS;
}

/**
 * Sets exception flags (they are sticky) and, when one of them is unmasked,
 * ES and B: the error is then pending until FNCLEX/FNINIT clear it.
 */
export function raiseFlags(f: u32): void {
  const s = fsw() | (f & (FSW_FLAGS | FSW_SF));
  setErrorSummary(s, unmasked(f) != 0 || (s & FSW_ES) != 0);
}

/**
 * Recomputes ES and B from the flags and the masks after FLDCW, FLDENV,
 * FRSTOR or FNSTENV changed either (SDM Vol. 1, 8.1.3.1: ES is set while
 * any unmasked flag is).
 */
export function refreshErrorSummary(): void {
  const s = fsw();
  setErrorSummary(s, unmasked(s) != 0);
}

/**
 * Writes FSW `s` with ES and B = `pending`. ES is what drives FERR#, and the
 * board's IGNNE# latch can only be set while FERR# is active (SDM Vol. 1,
 * D.2.1.2: its flip-flop is cleared by the inactive FERR#): whenever ES
 * changes, IGNNE# is dropped, so a port F0h write made while no error was
 * pending cannot hide the next one.
 */
function setErrorSummary(s: u32, pending: bool): void {
  const was = (fsw() & FSW_ES) != 0;
  s &= ~(FSW_ES | FSW_B);
  if (pending) s |= FSW_ES | FSW_B;
  setFsw(s);
  if (was != pending) clearIgnne();
}

/** IGNNE# inactive (the FPU_FERR_IGNNE word the VMM sets on a port F0h write). */
export function clearIgnne(): void {
  store<u32>(cpu + V_FPU + FPU_FERR_IGNNE, 0);
}

/** Sets the condition bits in `which` (FSW_C*) to their values in `values`. */
@inline export function setCC(which: u32, values: u32): void {
  setFsw((fsw() & ~which) | (values & which));
}
@inline export function setC1(on: bool): void {
  setCC(FSW_C1, on ? FSW_C1 : 0);
}

/**
 * Stack underflow: an instruction read an empty register (SDM Vol. 1,
 * 8.5.1.1): IE and SF set, C1 = 0. Returns true when IE is masked and the
 * caller must apply the masked response (the indefinite as the value).
 */
export function stackUnderflow(): bool {
  setCC(FSW_C1, 0);
  raiseFlags(FP_IE | FSW_SF);
  return unmasked(FP_IE) == 0;
}

/** Stack overflow: a push onto a register in use; IE and SF, C1 = 1. Returns true when masked. */
export function stackOverflow(): bool {
  setCC(FSW_C1, FSW_C1);
  raiseFlags(FP_IE | FSW_SF);
  return unmasked(FP_IE) == 0;
}

/**
 * The exception flags an operation raised (softfloat's accumulated flags),
 * screened as the x87 does before it writes a result (SDM Vol. 1, 8.5 and
 * 4.9.2). Invalid operation, denormal operand and divide-by-zero are
 * detected before the computation: when unmasked, the instruction stops
 * with its operands unchanged (and only the flags up to that one are set).
 * Overflow, underflow and precision come after, with the result delivered.
 * Returns true when the caller may write its result (and pop). C1 becomes
 * the round-up indicator of the result.
 */
export function screenFlags(f: u32): bool {
  return screenRounded(f, fpRoundedUp());
}

/** screenFlags() for a result rounded outside softfloat (the transcendentals): `roundedUp` is its C1. */
export function screenRounded(f: u32, roundedUp: bool): bool {
  if (f == 0) { setC1(roundedUp); return true; } // the common case: nothing raised
  if (stopsBeforeResult(f)) return false;
  setC1(roundedUp);
  raiseFlags(f);
  return true;
}

/**
 * The pre-computation part of the screening: with invalid operation,
 * denormal operand or divide-by-zero unmasked (in that priority) the
 * instruction stops with only the flags up to that one raised, and C1
 * cleared (as the CPU leaves it). Returns true when it stops.
 */
export function stopsBeforeResult(f: u32): bool {
  const u = unmasked(f);
  if ((u & (FP_IE | FP_DE | FP_ZE)) == 0) return false;
  setC1(false);
  if (u & FP_IE) raiseFlags(FP_IE);
  else if (u & FP_DE) raiseFlags(f & (FP_IE | FP_DE));
  else raiseFlags(f & (FP_IE | FP_DE | FP_ZE));
  return true;
}

/** Whether FSW says an unmasked exception is waiting to be reported. */
@inline export function errorPending(): bool {
  return (fsw() & FSW_ES) != 0;
}

/**
 * A waiting instruction meets a pending error (ES set). CR0.NE=1: #MF, a
 * fault on this instruction. CR0.NE=0 (MS-DOS compatibility): unless IGNNE#
 * is asserted the processor asserts FERR# and freezes before the
 * instruction until an interrupt arrives (SDM Vol. 1, D.2.1.1 and D.2.2):
 * the core marks the vCPU halted with EIP on this instruction and exits
 * with EXIT_FERR; the VMM raises IRQ13, whose handler runs and returns here.
 * Returns true when the instruction must not run.
 */
export function reportPendingError(): bool {
  if (load<u32>(cpu + V_CR0) & CR0_NE) { setFault(EXC_MF, 0, false); return true; }
  if (load<u32>(cpu + V_FPU + FPU_FERR_IGNNE) != 0) return false;
  store<u32>(cpu + V_HALTED, 1);
  setPendingExit(EXIT_FERR);
  return true;
}
