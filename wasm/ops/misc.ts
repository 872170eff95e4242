// CPUID, TSC, MSRs, HLT, BOUND, CMPXCHG8B.  STUB: partially to be implemented.
import { V_HALTED, EXIT_HLT, EXC_GP } from '../abi';
import { cpu, cpl, exitAfter, setFault } from '../cpu/state';
import { raiseUD } from '../cpu/exec';
export function hlt(): void {
  if (cpl != 0) { setFault(EXC_GP, 0, true); return; }
  store<u32>(cpu + V_HALTED, 1);
  exitAfter = EXIT_HLT;
}
export function bound<T>(): void { raiseUD(); }
export function cpuid(): void { raiseUD(); }
export function rdtsc(): void { raiseUD(); }
export function rdmsr(): void { raiseUD(); }
export function wrmsr(): void { raiseUD(); }
export function rdpmc(): void { raiseUD(); }
export function cmpxchg8b(): void { raiseUD(); }
