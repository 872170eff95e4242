// Guest time and the time-stamp counter: one time base for the core and the VMM.
//
// The VMM writes, before each run(), RUN_TIME_NS (guest time in ns at the
// start of the slice, from its GuestClock) and RUN_NS_PER_INSN (the clock's
// ns per instruction, 16.16 fixed point). Inside the slice the core's "now"
// is RUN_TIME_NS + sliceRetired * RUN_NS_PER_INSN: in deterministic mode that
// is exactly the VMM's InstructionClock, so the TSC, the APIC timer and the
// PIT are one clock; in real time the estimate is re-synchronised at every
// slice. Time never goes backwards: run() raises a RUN_TIME_NS below the end
// of the previous slice (V_TIME_LAST) to it, and leaves the end of the slice
// in RUN_TIME_NS when it returns (a VMM that never writes it therefore gets
// an instruction clock of RUN_NS_PER_INSN).
//
// The TSC counts at TSC_HZ = 1 GHz: TSC = now (ns) + V_TSC_OFFSET, and never
// reads less than the last value read (V_TSC_LAST).
import { RUN_TIME_NS, RUN_NS_PER_INSN, RUN_NS_PER_INSN_SHIFT, V_TSC_OFFSET, V_TSC_LAST, V_TIME_LAST } from '../abi';
import { cpu, sliceRetired } from './state';

/** Guest time in ns at the current instruction boundary. */
export function guestNowNs(): u64 {
  return load<u64>(cpu + RUN_TIME_NS) + ((sliceRetired * <u64>load<u32>(cpu + RUN_NS_PER_INSN)) >> RUN_NS_PER_INSN_SHIFT);
}

/**
 * The first instruction (sliceRetired value) whose boundary is at or after
 * guest time `ns`; u64 max when time does not advance within the slice.
 */
export function insnAtNs(ns: u64): u64 {
  const t0 = load<u64>(cpu + RUN_TIME_NS);
  if (ns <= t0) return 0;
  const fx = <u64>load<u32>(cpu + RUN_NS_PER_INSN);
  if (fx == 0) return U64.MAX_VALUE;
  const d = ns - t0;
  if (d >= (<u64>1 << 40)) return U64.MAX_VALUE; // far beyond any slice (and no overflow below)
  return ((d << RUN_NS_PER_INSN_SHIFT) + fx - 1) / fx;
}

/** At run() entry: time never goes backwards. */
export function timeSliceStart(): void {
  const last = load<u64>(cpu + V_TIME_LAST);
  if (load<u64>(cpu + RUN_TIME_NS) < last) store<u64>(cpu + RUN_TIME_NS, last);
}

/** When run() returns (before sliceRetired is cleared): RUN_TIME_NS = the end of the slice. */
export function timeSliceEnd(): void {
  const now = guestNowNs();
  store<u64>(cpu + RUN_TIME_NS, now);
  store<u64>(cpu + V_TIME_LAST, now);
}

/** RDTSC, RDMSR 0x10: the TSC at 1 GHz, monotonic. */
export function tscRead(): u64 {
  let t = guestNowNs() + load<u64>(cpu + V_TSC_OFFSET);
  const last = load<u64>(cpu + V_TSC_LAST);
  if (t < last) t = last;
  else store<u64>(cpu + V_TSC_LAST, t);
  return t;
}

/** WRMSR 0x10: the TSC reads `v` now and counts on from it. */
export function tscWrite(v: u64): void {
  store<u64>(cpu + V_TSC_OFFSET, v - guestNowNs());
  store<u64>(cpu + V_TSC_LAST, v);
}

/** The guest time (ns) at which the TSC reaches `tsc` (at least 1: 0 means "none" to callers). */
export function nsAtTsc(tsc: u64): u64 {
  const ns = <i64>(tsc - load<u64>(cpu + V_TSC_OFFSET));
  return ns < 1 ? 1 : <u64>ns;
}
