// FXSAVE/FXRSTOR (0F AE /0 /1): the 512-byte x87/MMX/SSE image (SDM Vol. 2,
// FXSAVE, table "Non-64-bit-Mode Layout of FXSAVE and FXRSTOR Memory Region").
//
//   0 FCW  2 FSW  4 abridged FTW  6 FOP  8 FIP  12 FCS  16 FDP  20 FDS
//   24 MXCSR  28 MXCSR_MASK  32 + 16i: ST(i) (10 bytes, 6 reserved)
//   160 + 16i: XMMi  288-511: reserved / available to software (untouched)
//
// The vCPU block keeps the same layout except that its register slots are
// the physical R0-R7, so ST(i) = R((TOP + i) mod 8) is rotated here. The
// abridged tag byte is per physical register in both (no rotation).
//
// With CR4.OSFXSR = 0 the SDM lets an implementation leave MXCSR and the XMM
// registers out ("may not be saved"): this one neither saves nor restores
// MXCSR, MXCSR_MASK (bytes 24-31) and XMM0-7 then, so FXRSTOR does not check
// MXCSR either. FXSAVE does not change the x87 state (unlike FSAVE) and
// neither instruction takes a pending x87 exception.
import {
  V_CR0, V_CR4, CR0_EM, CR0_TS, CR4_OSFXSR, EXC_NM, EXC_GP, V_FPU, FPU_FCW, FPU_FSW, FPU_FTW, FPU_FOP,
  FPU_FIP, FPU_FCS, FPU_FDP, FPU_FDS, FPU_MXCSR, FPU_REGS, FPU_XMM, MXCSR_MASK_VALUE,
} from '../../abi';
import { cpu, cpl, abortInsn, setFault } from '../../cpu/state';
import { eaSeg, eaOff } from '../../cpu/decode';
import { segLinear } from '../../cpu/segaccess';
import { readLin, writeLin, probeWrite, translate } from '../../cpu/mmu';
import { refreshErrorSummary } from '../x87/status';

const AREA_SIZE: u32 = 512;
const IMAGE_MXCSR: u32 = 24;
const IMAGE_REGS: u32 = 32;
const IMAGE_XMM: u32 = 160;
/** The bytes this core reads and writes: up to 288, or 160 without the XMM registers (OSFXSR = 0). */
const IMAGE_END: u32 = 288;
/** The FCW bits software can change, and the reserved bit 6 that reads as 1. */
const FCW_WRITABLE: u16 = 0x1f3f;
const FCW_RESERVED_ONE: u16 = 0x0040;

/** FXSAVE/FXRSTOR use no XMM state, so OSFXSR does not gate them; EM or TS -> #NM (SDM FXSAVE). */
function fxAllowed(): bool {
  if (load<u32>(cpu + V_CR0) & (CR0_EM | CR0_TS)) { setFault(EXC_NM, 0, false); return false; }
  return true;
}

/** Linear address of the area: the segment checked for all 512 bytes, then 16-byte alignment (#GP(0)). */
function areaLinear(write: bool): u32 {
  const lin = segLinear(eaSeg, eaOff, AREA_SIZE, write);
  if (abortInsn) return 0;
  if (lin & 15) { setFault(EXC_GP, 0, true); return 0; }
  return lin;
}

@inline function withSse(): bool {
  return (load<u32>(cpu + V_CR4) & CR4_OSFXSR) != 0;
}

/** Host address of the slot of physical register R((top + i) mod 8), i.e. ST(i). */
@inline function stackSlot(top: u32, i: u32): usize {
  return cpu + V_FPU + FPU_REGS + (((top + i) & 7) << 4);
}

/** Both pages of [lin, lin + size) readable, or a #PF: nothing is committed before that. */
function probeRead(lin: u32, size: u32): bool {
  const user = cpl == 3;
  if (!translate(lin, false, user)) return false;
  const last = lin + size - 1;
  return ((last ^ lin) & 0xfffff000) == 0 || translate(last & 0xfffff000, false, user);
}

/**
 * 0F AE /0: FXSAVE m512. Every page is checked before the first byte is
 * written, so the image is written whole or not at all (an MMIO exit in
 * between replays the same bytes).
 */
export function fxsave(): void {
  if (!fxAllowed()) return;
  const lin = areaLinear(true);
  if (abortInsn) return;
  const sse = withSse();
  if (!probeWrite(lin, sse ? IMAGE_END : IMAGE_XMM, cpl == 3)) return;
  const f = cpu + V_FPU;
  const fsw = <u64>load<u16>(f + FPU_FSW);
  writeLin<u64>(lin, <u64>load<u16>(f + FPU_FCW) | (fsw << 16) | (<u64>load<u8>(f + FPU_FTW) << 32) |
    (<u64>(load<u16>(f + FPU_FOP) & 0x7ff) << 48));
  if (abortInsn) return;
  writeLin<u64>(lin + 8, <u64>load<u32>(f + FPU_FIP) | (<u64>load<u16>(f + FPU_FCS) << 32));
  if (abortInsn) return;
  writeLin<u64>(lin + 16, <u64>load<u32>(f + FPU_FDP) | (<u64>load<u16>(f + FPU_FDS) << 32));
  if (abortInsn) return;
  if (sse) {
    writeLin<u64>(lin + IMAGE_MXCSR, <u64>load<u32>(f + FPU_MXCSR) | (<u64>MXCSR_MASK_VALUE << 32));
    if (abortInsn) return;
  }
  const top = (<u32>fsw >> 11) & 7;
  for (let i: u32 = 0; i < 8; i++) {
    const r = stackSlot(top, i);
    const at = lin + IMAGE_REGS + (i << 4);
    writeLin<u64>(at, load<u64>(r));
    if (abortInsn) return;
    writeLin<u64>(at + 8, <u64>load<u16>(r, 8)); // sign/exponent, 6 reserved bytes of 0
    if (abortInsn) return;
  }
  if (!sse) return;
  for (let at: u32 = 0; at < 128; at += 8) {
    writeLin<u64>(lin + IMAGE_XMM + at, load<u64>(f + FPU_XMM + at));
    if (abortInsn) return;
  }
}

/**
 * 0F AE /1: FXRSTOR m512. MXCSR bits outside MXCSR_MASK are #GP(0), with
 * nothing loaded. Both pages are checked first; then the registers are
 * loaded straight from memory (ST(i) into R((TOP + i) mod 8) of the image's
 * TOP) and the control words last. Nothing read depends on what was
 * written, so an MMIO exit half way replays to the same state.
 */
export function fxrstor(): void {
  if (!fxAllowed()) return;
  const lin = areaLinear(false);
  if (abortInsn) return;
  const sse = withSse();
  if (!probeRead(lin, sse ? IMAGE_END : IMAGE_XMM)) return;
  const w0 = readLin<u64>(lin);
  if (abortInsn) return;
  const w1 = readLin<u64>(lin + 8);
  if (abortInsn) return;
  const w2 = readLin<u64>(lin + 16);
  if (abortInsn) return;
  const newMxcsr = sse ? readLin<u32>(lin + IMAGE_MXCSR) : 0;
  if (abortInsn) return;
  if ((newMxcsr & ~MXCSR_MASK_VALUE) != 0) { setFault(EXC_GP, 0, true); return; }
  const f = cpu + V_FPU;
  const fsw = <u16>(w0 >> 16);
  const top = (<u32>fsw >> 11) & 7;
  for (let i: u32 = 0; i < 8; i++) {
    const at = lin + IMAGE_REGS + (i << 4);
    const sig = readLin<u64>(at);
    if (abortInsn) return;
    const se = readLin<u16>(at + 8);
    if (abortInsn) return;
    const r = stackSlot(top, i);
    store<u64>(r, sig);
    store<u64>(r, <u64>se, 8); // the slot's reserved bytes stay zero
  }
  if (sse) {
    for (let at: u32 = 0; at < 128; at += 8) {
      const v = readLin<u64>(lin + IMAGE_XMM + at);
      if (abortInsn) return;
      store<u64>(f + FPU_XMM + at, v);
    }
    store<u32>(f + FPU_MXCSR, newMxcsr);
  }
  // FCW bit 6 always reads 1, bits 7 and 13-15 are 0 (as FLDCW leaves them); ES and B follow
  // from the loaded flags and masks, as after FRSTOR (both checked against an Intel CPU).
  store<u16>(f + FPU_FCW, (<u16>w0 & FCW_WRITABLE) | FCW_RESERVED_ONE);
  store<u16>(f + FPU_FSW, fsw);
  store<u8>(f + FPU_FTW, <u8>(w0 >> 32));
  store<u16>(f + FPU_FOP, <u16>(w0 >> 48) & 0x7ff);
  store<u32>(f + FPU_FIP, <u32>w1);
  store<u16>(f + FPU_FCS, <u16>(w1 >> 32));
  store<u32>(f + FPU_FDP, <u32>w2);
  store<u16>(f + FPU_FDS, <u16>(w2 >> 32));
  refreshErrorSummary();
}
