// x87 escape opcodes, WAIT, and the 0F AE group (FXSAVE, fences). The FPU
// itself comes with the x87/SSE issue; until then the CPU reports no FPU
// (CPUID.1:EDX.FPU = 0) and escapes raise #NM when CR0.EM or CR0.TS says so, #UD otherwise.
import { V_CR0, CR0_EM, CR0_TS, CR0_MP, EXC_NM } from '../abi';
import { cpu, setFault } from '../cpu/state';
import { raiseUD } from '../cpu/exec';
import { decodeModrm } from '../cpu/decode';

export function escape(op: u32): void {
  const cr0 = load<u32>(cpu + V_CR0);
  if (cr0 & (CR0_EM | CR0_TS)) { setFault(EXC_NM, 0, false); return; }
  decodeModrm();
  raiseUD();
}
export function fwait(): void {
  const cr0 = load<u32>(cpu + V_CR0);
  if ((cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS)) setFault(EXC_NM, 0, false);
}
export function group15(): void { raiseUD(); }
