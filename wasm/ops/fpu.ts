// x87 escape opcodes (D8-DF) and WAIT; 0F AE (FXSAVE, the fences) is in ops/simd/group15.ts.
// The x87 itself is in ops/x87/ (docs/x87.md); here are the checks that
// come before it (SDM Vol. 3, 2.5 and table 2-2: CR0.EM/TS/MP).
import { V_CR0, CR0_EM, CR0_TS, CR0_MP, EXC_NM } from '../abi';
import { cpu, setFault, abortInsn } from '../cpu/state';
import { decodeModrm } from '../cpu/decode';
import { x87Execute } from './x87/dispatch';
import { errorPending, reportPendingError } from './x87/status';

/**
 * D8-DF. The ModRM (and displacement) is fetched first: fetch faults come
 * before #NM, a decode fault (SDM Vol. 3, table 6-2). CR0.EM=1 or CR0.TS=1
 * makes every x87 instruction #NM (emulation, lazy FPU switching).
 */
export function escape(op: u32): void {
  decodeModrm();
  if (abortInsn) return;
  if (load<u32>(cpu + V_CR0) & (CR0_EM | CR0_TS)) { setFault(EXC_NM, 0, false); return; }
  x87Execute(op);
}

/**
 * WAIT/FWAIT: #NM only when both MP and TS are set (EM plays no part);
 * otherwise it reports a pending x87 error (#MF or FERR#).
 */
export function fwait(): void {
  if ((load<u32>(cpu + V_CR0) & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS)) { setFault(EXC_NM, 0, false); return; }
  if (errorPending()) reportPendingError();
}
