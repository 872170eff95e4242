// Lane selection: PSHUFW/PSHUFD/PSHUFHW/PSHUFLW, SHUFPS/SHUFPD, PINSRW,
// PEXTRW, and the sign-bit masks PMOVMSKB/MOVMSKPS/MOVMSKPD. Generic over
// the lane type T.
import { abortInsn, reg16, setReg32 } from '../../cpu/state';
import { modrm, rmIsReg, eaSeg, eaOff } from '../../cpu/decode';
import { readMem } from '../../cpu/operand';
import { xmm, mm, writeMm, enterMmxMode, scratchRes } from './regs';
import { mmSource, xmmSource, copy16 } from './operand';
import { sseAllowed, mmxAllowed } from './gate';

/** Four lanes of T at `to`: lane i = lane (imm >> 2i) & 3 of `from`. */
@inline function pickFour<T>(to: usize, from: usize, imm: u32): void {
  for (let i: u32 = 0; i < 4; i++) {
    store<T>(to + i * sizeof<T>(), load<T>(from + ((imm >> (i << 1)) & 3) * sizeof<T>()));
  }
}

/** 0F 70: PSHUFW mm, mm/m64, imm8. */
export function pshufw(imm: u32): void {
  if (!mmxAllowed()) return;
  const src = mmSource(8);
  if (abortInsn) return;
  const res = scratchRes();
  pickFour<u16>(res, src, imm);
  writeMm((modrm >> 3) & 7, load<u64>(res));
}

/**
 * 66/F3/F2 0F 70: PSHUFD (the four dwords), PSHUFHW (the high four words;
 * the low quadword copied), PSHUFLW (the low four words).
 * `part`: 0 PSHUFD, 1 PSHUFLW, 2 PSHUFHW.
 */
export function pshufx(part: u32, imm: u32): void {
  if (!sseAllowed()) return;
  const src = xmmSource(16, true);
  if (abortInsn) return;
  const res = scratchRes();
  if (part == 0) {
    pickFour<u32>(res, src, imm);
  } else {
    const half: u32 = part == 2 ? 8 : 0;
    copy16(res, src);
    pickFour<u16>(res + half, src + half, imm);
  }
  copy16(xmm((modrm >> 3) & 7), res);
}

/**
 * 0F C6: SHUFPS (T = u32) / SHUFPD (T = u64): the low half of the result
 * from the destination, the high half from the source, each lane chosen by
 * the next imm8 field (2 bits for 4 lanes, 1 bit for 2).
 */
export function shufp<T>(imm: u32): void {
  if (!sseAllowed()) return;
  const src = xmmSource(16, true);
  if (abortInsn) return;
  const dst = xmm((modrm >> 3) & 7);
  const res = scratchRes();
  const lanes: u32 = 16 / sizeof<T>();
  const fieldBits: u32 = lanes == 4 ? 2 : 1;
  for (let i: u32 = 0; i < lanes; i++) {
    const from = i < lanes / 2 ? dst : src;
    const pick = (imm >> (i * fieldBits)) & (lanes - 1);
    store<T>(res + i * sizeof<T>(), load<T>(from + pick * sizeof<T>()));
  }
  copy16(dst, res);
}

/** 0F C4: PINSRW mm/xmm, r32/m16, imm8: one word replaced (index imm8 mod lanes). */
export function pinsrw(mmx: bool, imm: u32): void {
  if (!(mmx ? mmxAllowed() : sseAllowed())) return;
  const w: u16 = rmIsReg ? reg16(modrm & 7) : readMem<u16>(eaSeg, eaOff);
  if (abortInsn) return;
  const dst = (modrm >> 3) & 7;
  if (mmx) {
    const shift = (imm & 3) << 4;
    writeMm(dst, (load<u64>(mm(dst)) & ~(<u64>0xffff << shift)) | (<u64>w << shift));
  } else {
    store<u16>(xmm(dst) + ((imm & 7) << 1), w);
  }
}

/** 0F C5: PEXTRW r32, mm/xmm, imm8 (register source only): the word zero-extended. */
export function pextrw(mmx: bool, imm: u32): void {
  if (!(mmx ? mmxAllowed() : sseAllowed())) return;
  const src = mmx ? mm(modrm & 7) + ((imm & 3) << 1) : xmm(modrm & 7) + ((imm & 7) << 1);
  setReg32((modrm >> 3) & 7, <u32>load<u16>(src));
  if (mmx) enterMmxMode();
}

/**
 * PMOVMSKB (T = i8), MOVMSKPS (i32), MOVMSKPD (i64): r32 = the sign bit of
 * each lane of a register (only 8 bytes for the MMX PMOVMSKB).
 */
export function moveMask<T>(mmx: bool): void {
  if (!(mmx ? mmxAllowed() : sseAllowed())) return;
  let bits = <u32>v128.bitmask<T>(v128.load(mmx ? mm(modrm & 7) : xmm(modrm & 7)));
  if (mmx) bits &= 0xff;
  setReg32((modrm >> 3) & 7, bits);
  if (mmx) enterMmxMode();
}
