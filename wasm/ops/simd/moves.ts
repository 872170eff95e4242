// Data movement: MOVAPS/MOVUPS/MOVAPD/MOVUPD/MOVDQA/MOVDQU, the scalar
// MOVSS/MOVSD, the half moves (MOVLPS, MOVHPS, MOVHLPS, MOVLHPS, MOVLPD,
// MOVHPD), MOVD/MOVQ in all their forms, MOVQ2DQ/MOVDQ2Q, the non-temporal
// stores (a hint only: there is no cache to bypass) and MASKMOVQ/MASKMOVDQU.
import { SEG_DS, REG_EDI } from '../../abi';
import { abortInsn, addr32, segOverride, reg32, setReg32, cpl } from '../../cpu/state';
import { modrm, rmIsReg, eaSeg, eaOff } from '../../cpu/decode';
import { readMem, writeMem } from '../../cpu/operand';
import { segLinear } from '../../cpu/segaccess';
import { writeLin, probeWrite } from '../../cpu/mmu';
import { xmm, mm, writeMm, enterMmxMode } from './regs';
import { xmmSource, mmSource, readMemOperand, writeMemOperand, copy16 } from './operand';
import { sseAllowed, mmxAllowed, sseMmxAllowed } from './gate';

@inline function regField(): u32 {
  return (modrm >> 3) & 7;
}

/** XMM register i = the quadword v, zero-extended (MOVD, MOVQ, MOVQ2DQ, a MOVSS/MOVSD load). */
@inline function setXmmQword(i: u32, v: u64): void {
  const d = xmm(i);
  store<u64>(d, v);
  store<u64>(d, 0, 8);
}

/**
 * The 128-bit moves, load (V <- W) or store (W <- V) direction: MOVUPS,
 * MOVUPD, MOVDQU (unaligned), MOVAPS, MOVAPD, MOVDQA, MOVNTPS, MOVNTPD,
 * MOVNTDQ (aligned).
 */
export function move128(toMemory: bool, aligned: bool): void {
  if (!sseAllowed()) return;
  const v = xmm(regField());
  if (toMemory) {
    if (rmIsReg) copy16(xmm(modrm & 7), v);
    else writeMemOperand(v, 16, aligned);
  } else {
    const src = xmmSource(16, aligned);
    if (abortInsn) return;
    copy16(v, src);
  }
}

/**
 * F3/F2 0F 10/11: MOVSS (size 4) / MOVSD (8). Between registers only the low
 * lane moves; a load from memory zeroes the rest of the register.
 */
export function moveScalar(size: u32, toMemory: bool): void {
  if (!sseAllowed()) return;
  const v = xmm(regField());
  if (toMemory && !rmIsReg) { writeMemOperand(v, size, false); return; }
  if (!toMemory && !rmIsReg) {
    const src = readMemOperand(size, false);
    if (abortInsn) return;
    const lane = size == 4 ? <u64>load<u32>(src) : load<u64>(src);
    setXmmQword(regField(), lane);
    return;
  }
  const from = toMemory ? v : xmm(modrm & 7);
  const to = toMemory ? xmm(modrm & 7) : v;
  if (size == 4) store<u32>(to, load<u32>(from));
  else store<u64>(to, load<u64>(from));
}

/**
 * 0F 12/16 (and 66): one half of the register (`half` = 0 low, 8 high) from
 * m64 (MOVLPS, MOVHPS, MOVLPD, MOVHPD) or, register forms of the PS opcodes,
 * from the other half of a register: MOVHLPS (low <- high), MOVLHPS (high <- low).
 */
export function loadHalf(half: u32): void {
  if (!sseAllowed()) return;
  const src = rmIsReg ? xmm(modrm & 7) + (8 - half) : readMemOperand(8, false);
  if (abortInsn) return;
  store<u64>(xmm(regField()) + half, load<u64>(src));
}

/** 0F 13/17 (and 66): m64 = one half of the register (MOVLPS/MOVHPS/MOVLPD/MOVHPD stores). */
export function storeHalf(half: u32): void {
  if (!sseAllowed()) return;
  writeMemOperand(xmm(regField()) + half, 8, false);
}

/** 0F 6E: MOVD mm, r/m32 / 66 0F 6E: MOVD xmm, r/m32 (zero-extended). */
export function movdIn(mmx: bool): void {
  if (!(mmx ? mmxAllowed() : sseAllowed())) return;
  const v = rmIsReg ? reg32(modrm & 7) : readMem<u32>(eaSeg, eaOff);
  if (abortInsn) return;
  if (mmx) writeMm(regField(), <u64>v);
  else setXmmQword(regField(), <u64>v);
}

/** 0F 7E: MOVD r/m32, mm / 66 0F 7E: MOVD r/m32, xmm. */
export function movdOut(mmx: bool): void {
  if (!(mmx ? mmxAllowed() : sseAllowed())) return;
  const v = load<u32>(mmx ? mm(regField()) : xmm(regField()));
  if (rmIsReg) setReg32(modrm & 7, v);
  else writeMem<u32>(eaSeg, eaOff, v);
  if (abortInsn) return;
  if (mmx) enterMmxMode();
}

/** 0F 6F: MOVQ mm, mm/m64. */
export function movqToMm(): void {
  if (!mmxAllowed()) return;
  const src = mmSource(8);
  if (abortInsn) return;
  writeMm(regField(), load<u64>(src));
}

/** 0F 7F: MOVQ mm/m64, mm; 0F E7: MOVNTQ m64, mm. */
export function movqFromMm(): void {
  if (!mmxAllowed()) return;
  const v = load<u64>(mm(regField()));
  if (rmIsReg) { writeMm(modrm & 7, v); return; }
  writeMemOperand(mm(regField()), 8, false);
  if (abortInsn) return;
  enterMmxMode();
}

/** F3 0F 7E: MOVQ xmm, xmm/m64 (upper quadword zeroed). */
export function movqToXmm(): void {
  if (!sseAllowed()) return;
  const src = xmmSource(8, false);
  if (abortInsn) return;
  setXmmQword(regField(), load<u64>(src));
}

/** 66 0F D6: MOVQ xmm/m64, xmm (a register destination gets its upper quadword zeroed). */
export function movqFromXmm(): void {
  if (!sseAllowed()) return;
  const v = load<u64>(xmm(regField()));
  if (rmIsReg) setXmmQword(modrm & 7, v);
  else writeMemOperand(xmm(regField()), 8, false);
}

/** F3 0F D6: MOVQ2DQ xmm, mm / F2 0F D6: MOVDQ2Q mm, xmm (register operands only). */
export function movqBetween(toXmm: bool): void {
  if (!sseMmxAllowed()) return;
  if (toXmm) {
    setXmmQword(regField(), load<u64>(mm(modrm & 7)));
    enterMmxMode();
  } else {
    writeMm(regField(), load<u64>(xmm(modrm & 7)));
  }
}

/** 0F C3: MOVNTI m32, r32: an ordinary store of a general register (no CR0/CR4 checks, SDM MOVNTI). */
export function movnti(): void {
  writeMem<u32>(eaSeg, eaOff, reg32(regField()));
}

/**
 * 0F F7: MASKMOVQ mm1, mm2 / 66 0F F7: MASKMOVDQU xmm1, xmm2: the bytes of
 * the first register whose mask byte (second register) has its top bit set
 * are stored at DS:(E)DI (segment override allowed). The whole destination
 * is checked before anything is written; a zero mask accesses nothing
 * (which the SDM leaves to the implementation).
 */
export function maskedStore(mmx: bool): void {
  if (!(mmx ? mmxAllowed() : sseAllowed())) return;
  const size: u32 = mmx ? 8 : 16;
  const data = mmx ? mm(regField()) : xmm(regField());
  const maskReg = mmx ? mm(modrm & 7) : xmm(modrm & 7);
  let mask = <u32>i8x16.bitmask(v128.load(maskReg));
  if (mmx) mask &= 0xff;
  if (mask != 0) {
    const off = addr32 ? reg32(REG_EDI) : reg32(REG_EDI) & 0xffff;
    const lin = segLinear(segOverride >= 0 ? segOverride : SEG_DS, off, size, true);
    if (abortInsn) return;
    if (!probeWrite(lin, size, cpl == 3)) return;
    for (let i: u32 = 0; i < size; i++) {
      if ((mask >> i) & 1) {
        writeLin<u8>(lin + i, load<u8>(data + i));
        if (abortInsn) return;
      }
    }
  }
  if (mmx) enterMmxMode();
}
