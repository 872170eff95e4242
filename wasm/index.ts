// The core's exports: the KVM-like interface the TypeScript VMM drives.
// Every function takes the base address of a vCPU block; nothing persists in
// module globals between calls.
import { run as runVcpu, reset as resetVcpu, stateChanged as changed } from './cpu/run';
import { getEflags as eflags, setEflagsRaw } from './cpu/flags';
import { cpu, refreshMode } from './cpu/state';
import { flushTlbAll } from './cpu/mmu';
import { invalidateFetch } from './cpu/decode';

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
