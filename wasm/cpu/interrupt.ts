// Interrupt and exception delivery: the entry point shared by CPU exceptions,
// INT n and external interrupts, and the real-mode (IVT) path. Protected and
// virtual-8086 mode delivery (gates, stack switches, task gates) is in pmint.ts.
import {
  V_IDTR_BASE, V_IDTR_LIMIT, SEG_CS, EXC_GP, EXC_TS, FLAG_IF, FLAG_TF, FLAG_AC, FLAG_RF, V_HALTED,
} from '../abi';
import { cpu, eip, protMode, abortInsn, setFault, exitAfter, faultVector, faultError } from './state';
import { getEflags, writeEflags } from './flags';
import { readLinSys } from './mmu';
import { getSP, setSP, spAdd, writeStack } from './operand';
import { loadSegmentReal } from './segload';
import { deliverProtected } from './pmint';
import { V_SEGS, SEG_SIZE, SEG_SEL, RUN_EXCEPTION_EXIT_MASK, EXIT_VECTOR, EXIT_ERROR_CODE, NO_ERROR_CODE, EXIT_EXCEPTION } from '../abi';

/** A CPU exception (fault or trap), raised by the processor itself. */
export const EV_EXCEPTION: u32 = 0;
/** INT n, INT3, INTO: the gate's DPL is checked; IOPL-sensitive in v86 mode. */
export const EV_SOFTWARE: u32 = 1;
/** An external interrupt, NMI or INT1: no DPL check. */
export const EV_EXTERNAL: u32 = 2;

/**
 * Delivers `vector`. EIP must already be the return address (the faulting
 * instruction for faults, the next one for traps and interrupts). On a
 * fault during delivery, abortInsn/faultVector describe it and nothing of
 * the frame is committed.
 */
export function deliverEvent(vector: u32, kind: u32, hasError: bool, error: u32): void {
  // Exceptions the VMM asked to see (tests, debuggers) exit instead of being
  // delivered; EIP stays the return address the frame would have held.
  if (kind != EV_EXTERNAL && vector < 32 && (load<u32>(cpu + RUN_EXCEPTION_EXIT_MASK) & (<u32>1 << vector)) != 0) {
    store<u32>(cpu + EXIT_VECTOR, vector);
    store<u32>(cpu + EXIT_ERROR_CODE, hasError ? error : NO_ERROR_CODE);
    exitAfter = EXIT_EXCEPTION;
    return;
  }
  store<u32>(cpu + V_HALTED, 0);
  if (protMode) deliverProtected(vector, kind, hasError, error);
  else deliverReal(vector);
  // A #TS/#NP/#SS/#GP raised while delivering an event external to the
  // program (an interrupt, NMI or CPU exception; not INT n/INT3/INTO)
  // carries EXT (bit 0) in its error code.
  if (abortInsn && kind != EV_SOFTWARE && faultVector >= EXC_TS && faultVector <= EXC_GP) faultError |= 1;
}

function deliverReal(vector: u32): void {
  const limit = load<u32>(cpu + V_IDTR_LIMIT);
  if (vector * 4 + 3 > limit) {
    setFault(EXC_GP, vector * 8 + 2, true);
    return;
  }
  const entry = readLinSys<u32>(<u32>load<u64>(cpu + V_IDTR_BASE) + vector * 4);
  if (abortInsn) return;
  const f = getEflags();
  const sp = getSP();
  const cs = load<u32>(cpu + V_SEGS + SEG_CS * SEG_SIZE + SEG_SEL);
  writeStack<u16>(spAdd(sp, -2), <u16>f);
  if (abortInsn) return;
  writeStack<u16>(spAdd(sp, -4), <u16>cs);
  if (abortInsn) return;
  writeStack<u16>(spAdd(sp, -6), <u16>eip);
  if (abortInsn) return;
  setSP(spAdd(sp, -6));
  writeEflags(f & ~(FLAG_IF | FLAG_TF | FLAG_AC | FLAG_RF));
  loadSegmentReal(SEG_CS, entry >>> 16);
  eip = entry & 0xffff;
}

