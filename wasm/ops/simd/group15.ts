// 0F AE (group 15): FXSAVE, FXRSTOR, LDMXCSR, STMXCSR, CLFLUSH (memory
// forms) and LFENCE, MFENCE, SFENCE (register forms). The XSAVE family
// (/4-/6 memory) is not reported by CPUID and is #UD, as are the F3/F2
// forms (RDFSBASE..., 64-bit mode only). A 66 prefix is ignored.
import { abortInsn, cpl, repPrefix } from '../../cpu/state';
import { modrm, rmIsReg, eaSeg, eaOff } from '../../cpu/decode';
import { segLinear } from '../../cpu/segaccess';
import { translate } from '../../cpu/mmu';
import { sseAllowed, ud } from './gate';
import { ldmxcsr, stmxcsr } from './mxcsr';
import { fxsave, fxrstor } from './fxsave';

/** A word only touched by fences' atomic read-modify-write. */
const FENCE_WORD: usize = memory.data(4, 4);

/**
 * CLFLUSH m8: there is no cache to write back, but the operand is checked
 * as a one-byte read (segment, page: SDM CLFLUSH) - nothing is read, so an
 * MMIO page is not touched. No CR0/CR4 condition applies.
 */
function clflush(): void {
  const lin = segLinear(eaSeg, eaOff, 1, false);
  if (abortInsn) return;
  translate(lin, false, cpl == 3);
}

/** 0F AE with the ModRM byte decoded. */
export function group15(): void {
  if (repPrefix != 0) { ud(); return; }
  const op = (modrm >> 3) & 7;
  if (rmIsReg) {
    // LFENCE /5, MFENCE /6, SFENCE /7 (any r/m), no CR0/CR4 condition (SDM LFENCE). One
    // vCPU executes in program order; against the other vCPUs' workers on the shared memory
    // a sequentially consistent atomic (a locked instruction on an x86 host) orders them.
    if (op < 5) { ud(); return; }
    atomic.add<u32>(FENCE_WORD, 0);
    return;
  }
  switch (op) {
    case 0: fxsave(); break;
    case 1: fxrstor(); break;
    case 2: if (sseAllowed()) ldmxcsr(); break;
    case 3: if (sseAllowed()) stmxcsr(); break;
    case 7: clflush(); break;
    default: ud(); break;
  }
}
