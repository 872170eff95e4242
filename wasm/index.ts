// The core's exports: the KVM-like interface the TypeScript VMM drives.
// Every function takes the base address of a vCPU block; nothing persists in
// module globals between calls.
import { run as runVcpu, reset as resetVcpu, stateChanged as changed } from './cpu/run';
import { getEflags as eflags, setEflagsRaw } from './cpu/flags';
import { cpu, refreshMode } from './cpu/state';
import { flushTlbAll } from './cpu/mmu';
import { invalidateFetch } from './cpu/decode';
import { EXIT_DATA, EXIT_VECTOR } from './abi';
import {
  apicDeliverMessage, apicAcceptsPicInterrupts as acceptsPic, apicMatchDestination as matchDestination,
  apicLocalInterrupt as localInterrupt, apicRead32, apicWrite32, apicHwEnabled,
} from './cpu/apic';

export function run(base: u32): u32 {
  return runVcpu(base);
}
export function reset(base: u32): void {
  resetVcpu(base);
}
export function stateChanged(base: u32): void {
  changed(base);
}
export function getEflags(base: u32): u32 {
  cpu = base;
  return eflags();
}
export function setEflags(base: u32, v: u32): void {
  cpu = base;
  setEflagsRaw(v);
  refreshMode();
}
export function flushTlb(base: u32): void {
  cpu = base;
  flushTlbAll(false);
  invalidateFetch();
}

// --- the local APIC, from the VMM's side (cpu/apic.ts) -------------------------------

/**
 * An interrupt message for this vCPU's local APIC (I/O APIC, MSI, another
 * vCPU's IPI): delivery mode APIC_DM_*; level-triggered fixed interrupts set
 * TMR, so their EOI exits with EXIT_APIC_EOI.
 */
export function apicDeliver(base: u32, vector: u32, deliveryMode: u32, levelTriggered: bool): void {
  cpu = base;
  apicDeliverMessage(vector, deliveryMode, levelTriggered);
}
/** Whether the 8259's INTR reaches this vCPU (APIC disabled, or LINT0 unmasked ExtINT). */
export function apicAcceptsPicInterrupts(base: u32): bool {
  cpu = base;
  return acceptsPic();
}
/** Whether a message to `dest` (physical ID, or logical mask when `logical`) reaches this APIC. */
export function apicMatchDestination(base: u32, dest: u32, logical: bool): bool {
  cpu = base;
  return apicHwEnabled() && matchDestination(dest, logical);
}
/** An edge on LINT0 (pin 0) or LINT1 (pin 1), delivered per its LVT entry; returns whether anything was. */
export function apicLocalInterrupt(base: u32, pin: u32): bool {
  cpu = base;
  return localInterrupt(pin);
}
/** Reads the 32-bit APIC register at `offset` as the guest would (at guest time RUN_TIME_NS). */
export function apicReadRegister(base: u32, offset: u32): u32 {
  cpu = base;
  return apicRead32(offset & 0xff0);
}
/**
 * Writes an APIC register as the guest would (firmware set-up: Machine.boot()
 * programs virtual wire mode this way). EOI and IPI exits are not reported.
 */
export function apicWriteRegister(base: u32, offset: u32, value: u32): void {
  cpu = base;
  // The exit record may hold the VMM's answer to an exit: an IPI must not clobber it.
  const data = load<u64>(base + EXIT_DATA);
  const vector = load<u32>(base + EXIT_VECTOR);
  apicWrite32(offset & 0xff0, value);
  store<u64>(base + EXIT_DATA, data);
  store<u32>(base + EXIT_VECTOR, vector);
}
