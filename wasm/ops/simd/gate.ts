// Whether a SIMD instruction may run at all: the CR0/CR4 checks made before
// any operand is touched, and the fault for an unmasked SIMD FP exception.
//
// SDM Vol. 3, 2.5 and 13.1-13.2; Vol. 2, 2.5 (exception classes):
//   SSE/SSE2 (XMM state, MXCSR):  CR0.EM=1 or CR4.OSFXSR=0 -> #UD; then CR0.TS=1 -> #NM.
//   MMX, and the SSE/SSE2 instructions on MMX registers only (PAVGB mm,
//   PSHUFW, PADDQ mm, ...; SDM table 22-7):  CR0.EM=1 -> #UD; CR0.TS=1 ->
//   #NM; a pending x87 exception -> #MF. OSFXSR plays no part.
//   Instructions that mix both (CVTPI2PS xmm, mm; MOVQ2DQ): the SSE checks,
//   then #MF (table 22-4).
// LOCK prefixes were already turned into #UD by the decoder.
import { V_CR0, V_CR4, CR0_EM, CR0_TS, CR4_OSFXSR, CR4_OSXMMEXCPT, EXC_UD, EXC_NM, EXC_XM } from '../../abi';
import { cpu, setFault } from '../../cpu/state';
import { errorPending, reportPendingError } from '../x87/status';

export function ud(): void {
  setFault(EXC_UD, 0, false);
}

/** SSE/SSE2 gate. Returns false (fault raised) when the instruction may not run. */
export function sseAllowed(): bool {
  const cr0 = load<u32>(cpu + V_CR0);
  if ((cr0 & CR0_EM) != 0 || (load<u32>(cpu + V_CR4) & CR4_OSFXSR) == 0) { ud(); return false; }
  if (cr0 & CR0_TS) { setFault(EXC_NM, 0, false); return false; }
  return true;
}

/** MMX gate (also the SSE additions on MMX registers). */
export function mmxAllowed(): bool {
  const cr0 = load<u32>(cpu + V_CR0);
  if (cr0 & CR0_EM) { ud(); return false; }
  if (cr0 & CR0_TS) { setFault(EXC_NM, 0, false); return false; }
  return noPendingX87Exception();
}

/** An SSE instruction with an MMX register operand: SSE checks, then the x87 one. */
export function sseMmxAllowed(): bool {
  return sseAllowed() && noPendingX87Exception();
}

/**
 * An MMX instruction first takes a pending unmasked x87 exception (FSW.ES),
 * as a waiting x87 instruction would (SDM Vol. 1, 9.6.3 and table 22-7):
 * the x87's own report (#MF, or FERR# with CR0.NE=0).
 */
@inline function noPendingX87Exception(): bool {
  return !errorPending() || !reportPendingError();
}

/** An unmasked SIMD floating-point exception: #XM with CR4.OSXMMEXCPT=1, else #UD (SDM Vol. 3, 13.1.5). */
export function simdFpFault(): void {
  if (load<u32>(cpu + V_CR4) & CR4_OSXMMEXCPT) setFault(EXC_XM, 0, false);
  else ud();
}
