// Dispatch of the MMX/SSE/SSE2 opcodes of the 0F map.
//
// One opcode is up to four instructions told apart by a "mandatory prefix"
// (SDM Vol. 2, 2.1.2): none, 66, F3 or F2. When F2/F3 is present it decides
// (the last one wins, as the decoder records it) and 66 is ignored;
// otherwise 66 selects the second form. A combination the opcode does not
// define, or a register/memory form it does not have, is #UD, decided here
// before the CR0/CR4 checks of the handler (an invalid opcode comes first).
import { code32, opsize32, repPrefix, abortInsn } from '../../cpu/state';
import { fetch8, decodeModrm, rmIsReg } from '../../cpu/decode';
import { ud, mmxAllowed } from './gate';
import * as regs from './regs';
import * as ints from './intops';
import * as shuf from './shuffle';
import * as mov from './moves';
import * as fp from './fparith';
import * as cvt from './convert';
import { group15 } from './group15';

const NONE: u32 = 0;
const P66: u32 = 1;
const PF3: u32 = 2;
const PF2: u32 = 3;

@inline function mandatoryPrefix(): u32 {
  if (repPrefix == 0xf3) return PF3;
  if (repPrefix == 0xf2) return PF2;
  return opsize32 != code32 ? P66 : NONE;
}

/** 0F 77: EMMS (MMX gate). */
function emms(): void {
  if (mmxAllowed()) regs.emms();
}

/** The SSE floating-point arithmetic (51, 58-5F, C2) by prefix: PS, PD, SS, SD. */
function fpArith(op: u32, p: u32, imm: u32): void {
  if (p == NONE) fp.fpLanes<u32>(op, true, imm);
  else if (p == P66) fp.fpLanes<u64>(op, true, imm);
  else if (p == PF3) fp.fpLanes<u32>(op, false, imm);
  else fp.fpLanes<u64>(op, false, imm);
}

/** 0F 2A: CVTPI2PS, CVTPI2PD, CVTSI2SS, CVTSI2SD. */
function cvtFromInt(p: u32): void {
  if (p == NONE) cvt.convert<i32, u32>(cvt.FROM_MM, cvt.TO_XMM_MERGE, 2, false);
  else if (p == P66) cvt.convert<i32, u64>(cvt.FROM_MM, cvt.TO_XMM_ZERO, 2, false);
  else if (p == PF3) cvt.convert<i32, u32>(cvt.FROM_GPR, cvt.TO_XMM_MERGE, 1, false);
  else cvt.convert<i32, u64>(cvt.FROM_GPR, cvt.TO_XMM_MERGE, 1, false);
}

/** 0F 2C/2D: CVT(T)PS2PI, CVT(T)PD2PI, CVT(T)SS2SI, CVT(T)SD2SI. */
function cvtToInt(p: u32, truncate: bool): void {
  if (p == NONE) cvt.convert<u32, i32>(cvt.FROM_XMM, cvt.TO_MM, 2, truncate);
  else if (p == P66) cvt.convert<u64, i32>(cvt.FROM_XMM, cvt.TO_MM, 2, truncate);
  else if (p == PF3) cvt.convert<u32, i32>(cvt.FROM_XMM, cvt.TO_GPR, 1, truncate);
  else cvt.convert<u64, i32>(cvt.FROM_XMM, cvt.TO_GPR, 1, truncate);
}

/** 0F 5A: CVTPS2PD, CVTPD2PS, CVTSS2SD, CVTSD2SS. */
function cvtPrecision(p: u32): void {
  if (p == NONE) cvt.convert<u32, u64>(cvt.FROM_XMM, cvt.TO_XMM_ZERO, 2, false);
  else if (p == P66) cvt.convert<u64, u32>(cvt.FROM_XMM, cvt.TO_XMM_ZERO, 2, false);
  else if (p == PF3) cvt.convert<u32, u64>(cvt.FROM_XMM, cvt.TO_XMM_MERGE, 1, false);
  else cvt.convert<u64, u32>(cvt.FROM_XMM, cvt.TO_XMM_MERGE, 1, false);
}

/** 0F 5B: CVTDQ2PS, CVTPS2DQ, CVTTPS2DQ (F2: #UD). */
function cvtDwords(p: u32): void {
  if (p == NONE) cvt.convert<i32, u32>(cvt.FROM_XMM, cvt.TO_XMM_ZERO, 4, false);
  else if (p == P66) cvt.convert<u32, i32>(cvt.FROM_XMM, cvt.TO_XMM_ZERO, 4, false);
  else if (p == PF3) cvt.convert<u32, i32>(cvt.FROM_XMM, cvt.TO_XMM_ZERO, 4, true);
  else ud();
}

/** 0F E6: CVTTPD2DQ (66), CVTDQ2PD (F3), CVTPD2DQ (F2); no-prefix #UD. */
function cvtE6(p: u32): void {
  if (p == P66) cvt.convert<u64, i32>(cvt.FROM_XMM, cvt.TO_XMM_ZERO, 2, true);
  else if (p == PF3) cvt.convert<i32, u64>(cvt.FROM_XMM, cvt.TO_XMM_ZERO, 2, false);
  else if (p == PF2) cvt.convert<u64, i32>(cvt.FROM_XMM, cvt.TO_XMM_ZERO, 2, false);
  else ud();
}

/** 0F D6: MOVQ xmm/m64, xmm (66), MOVQ2DQ (F3), MOVDQ2Q (F2). */
function opD6(p: u32): void {
  if (p == P66) mov.movqFromXmm();
  else if (p == NONE || !rmIsReg) ud();
  else mov.movqBetween(p == PF3);
}

/** An opcode whose only forms are "none" (MMX) and 66 (SSE2 on XMM). */
function mmxOrXmm(op: u32, p: u32): void {
  if (p > P66) ud();
  else ints.intBinary(op, p == NONE);
}

/** Is 0F `op` one of the integer "dst op= src" instructions of intLanes()? */
@inline function isIntBinary(op: u32): bool {
  return (op >= 0x60 && op <= 0x6b) || (op >= 0x74 && op <= 0x76) || (op >= 0xd1 && op <= 0xd5) ||
    (op >= 0xd8 && op <= 0xdf) || (op >= 0xe0 && op <= 0xe5) || (op >= 0xe8 && op <= 0xef) ||
    (op >= 0xf1 && op <= 0xf6) || (op >= 0xf8 && op <= 0xfe);
}

/** Does 0F `op` carry an imm8 after its ModRM operand? */
@inline function hasImm8(op: u32): bool {
  return (op >= 0x70 && op <= 0x73) || (op >= 0xc2 && op <= 0xc6 && op != 0xc3);
}

/**
 * Executes 0F `op` for op in 10-17, 28-2F, 50-7F, AE, C2-C6, D0-FF (the
 * exec0F cases route them here).
 */
export function simd0F(op: u32): void {
  const p = mandatoryPrefix();
  if (op == 0x77) {
    if (p == NONE) emms(); else ud();
    return;
  }
  decodeModrm();
  const imm = hasImm8(op) ? fetch8() : 0;
  if (abortInsn) return;
  if (isIntBinary(op)) { mmxOrXmm(op, p); return; }
  switch (op) {
    case 0x10: case 0x11: // MOVUPS, MOVUPD, MOVSS, MOVSD
      if (p <= P66) mov.move128(op == 0x11, false);
      else mov.moveScalar(p == PF3 ? 4 : 8, op == 0x11);
      break;
    case 0x12: case 0x16: // MOVLPS/MOVHLPS, MOVLPD; MOVHPS/MOVLHPS, MOVHPD (F3/F2: SSE3)
      if (p > P66 || (p == P66 && rmIsReg)) ud(); else mov.loadHalf(op == 0x16 ? 8 : 0);
      break;
    case 0x13: case 0x17: // MOVLPS, MOVLPD, MOVHPS, MOVHPD stores
      if (p > P66 || rmIsReg) ud(); else mov.storeHalf(op == 0x17 ? 8 : 0);
      break;
    case 0x14: // UNPCKLPS, UNPCKLPD: PUNPCKLDQ / PUNPCKLQDQ on XMM
      if (p > P66) ud(); else ints.intBinary(p == NONE ? 0x62 : 0x6c, false);
      break;
    case 0x15: // UNPCKHPS, UNPCKHPD
      if (p > P66) ud(); else ints.intBinary(p == NONE ? 0x6a : 0x6d, false);
      break;
    case 0x28: case 0x29: // MOVAPS, MOVAPD
      if (p > P66) ud(); else mov.move128(op == 0x29, true);
      break;
    case 0x2a: cvtFromInt(p); break;
    case 0x2b: // MOVNTPS, MOVNTPD
      if (p > P66 || rmIsReg) ud(); else mov.move128(true, true);
      break;
    case 0x2c: case 0x2d: cvtToInt(p, op == 0x2c); break;
    case 0x2e: case 0x2f: // UCOMISS, COMISS, UCOMISD, COMISD
      if (p > P66) ud();
      else if (p == NONE) fp.comis<u32>(op == 0x2e);
      else fp.comis<u64>(op == 0x2e);
      break;
    case 0x50: // MOVMSKPS, MOVMSKPD
      if (p > P66 || !rmIsReg) ud();
      else if (p == NONE) shuf.moveMask<i32>(false);
      else shuf.moveMask<i64>(false);
      break;
    case 0x51: case 0x58: case 0x59: case 0x5c: case 0x5d: case 0x5e: case 0x5f: case 0xc2:
      fpArith(op, p, imm);
      break;
    case 0x52: case 0x53: // RSQRTPS/RSQRTSS, RCPPS/RCPSS: single precision only
      if (p == NONE) fp.fpLanes<u32>(op, true, 0);
      else if (p == PF3) fp.fpLanes<u32>(op, false, 0);
      else ud();
      break;
    case 0x54: case 0x55: case 0x56: case 0x57: // ANDP*, ANDNP*, ORP*, XORP*: PAND, PANDN, POR, PXOR
      if (p > P66) ud(); else ints.intBinary(op == 0x54 ? 0xdb : op == 0x55 ? 0xdf : op == 0x56 ? 0xeb : 0xef, false);
      break;
    case 0x5a: cvtPrecision(p); break;
    case 0x5b: cvtDwords(p); break;
    case 0x6c: case 0x6d: // PUNPCKLQDQ, PUNPCKHQDQ: 66 only
      if (p != P66) ud(); else ints.intBinary(op, false);
      break;
    case 0x6e: // MOVD mm/xmm, r/m32
      if (p > P66) ud(); else mov.movdIn(p == NONE);
      break;
    case 0x6f: // MOVQ mm, mm/m64; MOVDQA; MOVDQU
      if (p == NONE) mov.movqToMm();
      else if (p == PF2) ud();
      else mov.move128(false, p == P66);
      break;
    case 0x70: // PSHUFW, PSHUFD, PSHUFHW, PSHUFLW
      if (p == NONE) shuf.pshufw(imm);
      else shuf.pshufx(p == P66 ? 0 : p == PF3 ? 2 : 1, imm);
      break;
    case 0x71: case 0x72: case 0x73: // shifts by imm8, register operand only
      if (p > P66 || !rmIsReg) ud(); else ints.shiftImmediate(op, imm, p == NONE);
      break;
    case 0x7e: // MOVD r/m32, mm/xmm; F3: MOVQ xmm, xmm/m64
      if (p == PF3) mov.movqToXmm();
      else if (p == PF2) ud();
      else mov.movdOut(p == NONE);
      break;
    case 0x7f: // MOVQ mm/m64, mm; MOVDQA; MOVDQU stores
      if (p == NONE) mov.movqFromMm();
      else if (p == PF2) ud();
      else mov.move128(true, p == P66);
      break;
    case 0xae: group15(); break;
    case 0xc3: // MOVNTI m32, r32
      if (p != NONE || rmIsReg) ud(); else mov.movnti();
      break;
    case 0xc4: // PINSRW
      if (p > P66) ud(); else shuf.pinsrw(p == NONE, imm);
      break;
    case 0xc5: // PEXTRW (register source only)
      if (p > P66 || !rmIsReg) ud(); else shuf.pextrw(p == NONE, imm);
      break;
    case 0xc6: // SHUFPS, SHUFPD
      if (p > P66) ud();
      else if (p == NONE) shuf.shufp<u32>(imm);
      else shuf.shufp<u64>(imm);
      break;
    case 0xd6: opD6(p); break;
    case 0xd7: // PMOVMSKB (register source only)
      if (p > P66 || !rmIsReg) ud(); else shuf.moveMask<i8>(p == NONE);
      break;
    case 0xe6: cvtE6(p); break;
    case 0xe7: // MOVNTQ, MOVNTDQ
      if (p > P66 || rmIsReg) ud();
      else if (p == NONE) mov.movqFromMm();
      else mov.move128(true, true);
      break;
    case 0xf7: // MASKMOVQ, MASKMOVDQU (register operands only)
      if (p > P66 || !rmIsReg) ud(); else mov.maskedStore(p == NONE);
      break;
    default: ud(); break; // D0 (ADDSUBPD), F0 (LDDQU): SSE3; FF: UD0
  }
}
