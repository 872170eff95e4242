// The x87 opcode map (D8-DF, SDM Vol. 2, appendix A.4): one switch on the
// escape byte, then one on the ModRM byte (register forms) or its reg field
// (memory forms). Also the two things every x87 instruction shares: the
// report of a pending error before a waiting instruction, and the last
// instruction/operand pointers and opcode after a non-control one.
import { V_FPU, FPU_FOP, FPU_FIP, FPU_FCS, FPU_FDP, FPU_FDS, V_SEGS, SEG_SIZE, SEG_SEL, SEG_CS } from '../../abi';
import { cpu, abortInsn, insnStart } from '../../cpu/state';
import { modrm, eaSeg, eaOff } from '../../cpu/decode';
import { raiseUD } from '../../cpu/exec';
import { errorPending, reportPendingError } from './status';
import { beginOp } from './mode';
import { arith } from './arith';
import { compare, ftst, fxam, fcmov, srcFromSt } from './compare';
import {
  fld, fldSt, fldConst, fbld, fstSt, fstMem, fxch, ffree, moveTop,
  STORE_REAL32, STORE_REAL64, STORE_REAL80, STORE_INT16, STORE_INT32, STORE_INT64,
  STORE_INT16_TRUNC, STORE_INT32_TRUNC, STORE_INT64_TRUNC, STORE_BCD,
} from './loadstore';
import { signOp, sqrtOrRound, fscale, fprem, fxtract } from './unary';
import { ftrig, f2xm1, fdyadic, FN_YL2X, FN_YL2XP1, FN_PATAN } from './trans';
import { fninit, fnclex, fldcw, fnstcw, fnstsw, fnstenv, fldenv, fnsave, frstor } from './env';
import { loadReal32, loadReal64, loadReal80, loadInt16, loadInt32, loadInt64 } from './memops';
import { TRIG_SIN, TRIG_COS, TRIG_TAN, TRIG_SINCOS } from '../../fp/x87trans';

/**
 * Executes x87 instruction `op` (D8-DF) whose ModRM is decoded; CR0.EM/TS
 * were checked by the caller.
 */
export function x87Execute(op: u32): void {
  const m = modrm;
  // A pending unmasked exception is reported before a waiting instruction
  // (after the decode faults: a reserved encoding is #UD first).
  if (errorPending() && waits(op, m) && reportPendingError()) return;
  switch (op) {
    case 0xd8: escD8(m); break;
    case 0xd9: escD9(m); break;
    case 0xda: escDA(m); break;
    case 0xdb: escDB(m); break;
    case 0xdc: escDC(m); break;
    case 0xdd: escDD(m); break;
    case 0xde: escDE(m); break;
    default: escDF(m); break;
  }
  if (!abortInsn && !isControl(op, m)) notePointers(op, m);
}

/**
 * FOP, FIP/FCS and (memory operands) FDP/FDS describe the last non-control
 * instruction (SDM Vol. 1, 8.1.8-8.1.9), prefixes included in FIP, whether
 * or not it raised an exception.
 */
function notePointers(op: u32, m: u32): void {
  const a = cpu + V_FPU;
  store<u16>(a + FPU_FOP, <u16>(((op & 7) << 8) | m));
  store<u32>(a + FPU_FIP, insnStart);
  store<u16>(a + FPU_FCS, load<u16>(cpu + V_SEGS + SEG_CS * SEG_SIZE + SEG_SEL));
  if (m < 0xc0) {
    store<u32>(a + FPU_FDP, eaOff);
    store<u16>(a + FPU_FDS, load<u16>(cpu + V_SEGS + eaSeg * SEG_SIZE + SEG_SEL));
  }
}

/**
 * The control instructions (SDM Vol. 1, 8.3.12): FLDENV, FLDCW, FNSTENV,
 * FNSTCW, FNOP, FDECSTP, FINCSTP, FNENI/FNDISI/FNCLEX/FNINIT/FNSETPM,
 * FRSTOR, FNSAVE, FNSTSW, FFREE(P).
 */
function isControl(op: u32, m: u32): bool {
  const mem = m < 0xc0;
  const reg = (m >> 3) & 7;
  switch (op) {
    case 0xd9: return mem ? reg >= 4 : m == 0xd0 || m == 0xf6 || m == 0xf7;
    case 0xdb: return m >= 0xe0 && m <= 0xe4;
    case 0xdd: return mem ? reg == 4 || reg >= 6 : m < 0xc8;
    case 0xdf: return m == 0xe0 || (m >= 0xc0 && m < 0xc8);
  }
  return false;
}

/**
 * Whether the instruction waits (takes a pending error first): everything
 * but the FN* forms (FNSTENV, FNSTCW, FNCLEX, FNINIT, FNSAVE, FNSTSW), the
 * 8087/287 leftovers FNENI/FNDISI/FNSETPM, and the reserved encodings.
 */
function waits(op: u32, m: u32): bool {
  const mem = m < 0xc0;
  const reg = (m >> 3) & 7;
  switch (op) {
    case 0xd9:
      if (mem) return reg != 1 && reg < 6;
      return !((m >= 0xd1 && m <= 0xd7) || m == 0xe2 || m == 0xe3 || m == 0xe6 || m == 0xe7 || m == 0xef);
    case 0xda: return mem || m < 0xe0 || m == 0xe9;
    case 0xdb:
      if (mem) return reg != 4 && reg != 6;
      return m < 0xe0 || (m >= 0xe8 && m < 0xf8);
    case 0xdd:
      if (mem) return reg != 5 && reg < 6;
      return m < 0xf0;
    case 0xde: return mem || m < 0xd8 || m == 0xd9 || m >= 0xe0;
    case 0xdf: return mem || m < 0xe0 || (m >= 0xe8 && m < 0xf8);
  }
  return true;
}

/** The reg field's arithmetic or (2, 3) comparison with the source loaded: `dest` for the register forms of DC/DE. */
function arithOrCompare(reg: u32, dest: u32, srcEmpty: bool, pop: bool): void {
  if (reg == 2) compare(srcEmpty, false, false, 0);
  else if (reg == 3) compare(srcEmpty, false, false, 1);
  else arith(reg, dest, srcEmpty, pop);
}

/** D8: FADD/FMUL/FCOM/FCOMP/FSUB/FSUBR/FDIV/FDIVR with m32real or ST(i), into ST(0). */
function escD8(m: u32): void {
  beginOp(true);
  let empty = false;
  if (m >= 0xc0) empty = srcFromSt(m & 7);
  else { loadReal32(true); if (abortInsn) return; }
  arithOrCompare((m >> 3) & 7, 0, empty, false);
}

/** DC: the same with m64real into ST(0), or ST(0) into ST(i) (DC D0/D8: FCOM/FCOMP aliases). */
function escDC(m: u32): void {
  beginOp(true);
  if (m >= 0xc0) {
    arithOrCompare((m >> 3) & 7, m & 7, srcFromSt(m & 7), false);
    return;
  }
  loadReal64(true);
  if (abortInsn) return;
  arithOrCompare((m >> 3) & 7, 0, false, false);
}

/** DA: m32int arithmetic; FCMOVB/E/BE/U; FUCOMPP. */
function escDA(m: u32): void {
  if (m >= 0xc0) {
    if (m < 0xe0) { fcmovOf(m, 0); return; }
    if (m == 0xe9) { beginOp(false); compare(srcFromSt(1), true, false, 2); return; }
    raiseUD();
    return;
  }
  beginOp(true);
  loadInt32();
  if (abortInsn) return;
  arithOrCompare((m >> 3) & 7, 0, false, false);
}

/** DE: m16int arithmetic; the popping register forms FADDP...FDIVP; FCOMPP (DE D9); DE D0-D7 = FCOMP. */
function escDE(m: u32): void {
  beginOp(true);
  if (m >= 0xc0) {
    const reg = (m >> 3) & 7;
    if (reg == 3) {
      if (m == 0xd9) compare(srcFromSt(1), false, false, 2);
      else raiseUD();
      return;
    }
    if (reg == 2) { compare(srcFromSt(m & 7), false, false, 1); return; }
    arith(reg, m & 7, srcFromSt(m & 7), true);
    return;
  }
  loadInt16();
  if (abortInsn) return;
  arithOrCompare((m >> 3) & 7, 0, false, false);
}

/** FCMOVcc: DA C0-DF are B, E, BE, U; DB C0-DF their negations (`negate` 1). */
function fcmovOf(m: u32, negate: u32): void {
  const which = (m >> 3) & 3;
  const cc: u32 = which == 0 ? 2 : which == 1 ? 4 : which == 2 ? 6 : 10;
  fcmov(cc | negate, m & 7);
}

function escD9(m: u32): void {
  if (m < 0xc0) {
    switch ((m >> 3) & 7) {
      case 0: beginOp(false); loadReal32(false); if (!abortInsn) fld(false); break;
      case 2: beginOp(false); fstMem(STORE_REAL32, false); break;
      case 3: beginOp(false); fstMem(STORE_REAL32, true); break;
      case 4: fldenv(); break;
      case 5: fldcw(); break;
      case 6: fnstenv(); break;
      case 7: fnstcw(); break;
      default: raiseUD(); break;
    }
    return;
  }
  beginOp(false);
  switch (m - 0xc0) {
    case 0x00: case 0x01: case 0x02: case 0x03: case 0x04: case 0x05: case 0x06: case 0x07:
      fldSt(m & 7); break;
    case 0x08: case 0x09: case 0x0a: case 0x0b: case 0x0c: case 0x0d: case 0x0e: case 0x0f:
      fxch(m & 7); break;
    case 0x10: break; // FNOP
    case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
      fstSt(m & 7, true, false); break; // FSTP1 alias
    case 0x20: signOp(false); break; // FCHS
    case 0x21: signOp(true); break; // FABS
    case 0x24: ftst(); break;
    case 0x25: fxam(); break;
    case 0x28: case 0x29: case 0x2a: case 0x2b: case 0x2c: case 0x2d: case 0x2e:
      fldConst(m - 0xe8); break;
    case 0x30: f2xm1(); break;
    case 0x31: fdyadic(FN_YL2X); break;
    case 0x32: ftrig(TRIG_TAN); break;
    case 0x33: fdyadic(FN_PATAN); break;
    case 0x34: fxtract(); break;
    case 0x35: fprem(true); break;
    case 0x36: moveTop(<u32>-1); break; // FDECSTP
    case 0x37: moveTop(1); break; // FINCSTP
    case 0x38: fprem(false); break;
    case 0x39: fdyadic(FN_YL2XP1); break;
    case 0x3a: beginOp(true); sqrtOrRound(true); break;
    case 0x3b: ftrig(TRIG_SINCOS); break;
    case 0x3c: sqrtOrRound(false); break;
    case 0x3d: fscale(); break;
    case 0x3e: ftrig(TRIG_SIN); break;
    case 0x3f: ftrig(TRIG_COS); break;
    default: raiseUD(); break;
  }
}

function escDB(m: u32): void {
  if (m < 0xc0) {
    switch ((m >> 3) & 7) {
      case 0: beginOp(false); loadInt32(); if (!abortInsn) fld(false); break;
      case 1: beginOp(false); fstMem(STORE_INT32_TRUNC, true); break;
      case 2: beginOp(false); fstMem(STORE_INT32, false); break;
      case 3: beginOp(false); fstMem(STORE_INT32, true); break;
      case 5: beginOp(false); loadReal80(); if (!abortInsn) fld(false); break;
      case 7: beginOp(false); fstMem(STORE_REAL80, true); break;
      default: raiseUD(); break;
    }
    return;
  }
  if (m < 0xe0) { fcmovOf(m, 1); return; }
  switch (m) {
    case 0xe0: case 0xe1: case 0xe4: break; // FNENI, FNDISI, FNSETPM: no-ops since the 387
    case 0xe2: fnclex(); break;
    case 0xe3: fninit(); break;
    default:
      if (m >= 0xe8 && m < 0xf8) { beginOp(false); compare(srcFromSt(m & 7), m < 0xf0, true, 0); } // FUCOMI, FCOMI
      else raiseUD();
      break;
  }
}

function escDD(m: u32): void {
  if (m < 0xc0) {
    switch ((m >> 3) & 7) {
      case 0: beginOp(false); loadReal64(false); if (!abortInsn) fld(false); break;
      case 1: beginOp(false); fstMem(STORE_INT64_TRUNC, true); break;
      case 2: beginOp(false); fstMem(STORE_REAL64, false); break;
      case 3: beginOp(false); fstMem(STORE_REAL64, true); break;
      case 4: frstor(); break;
      case 6: fnsave(); break;
      case 7: fnstsw(false); break;
      default: raiseUD(); break;
    }
    return;
  }
  beginOp(false);
  switch ((m >> 3) & 7) {
    case 0: ffree(m & 7, false); break;
    case 1: fxch(m & 7); break; // alias
    case 2: fstSt(m & 7, false); break;
    case 3: fstSt(m & 7, true); break;
    case 4: compare(srcFromSt(m & 7), true, false, 0); break; // FUCOM
    case 5: compare(srcFromSt(m & 7), true, false, 1); break; // FUCOMP
    default: raiseUD(); break;
  }
}

function escDF(m: u32): void {
  if (m < 0xc0) {
    beginOp(false);
    switch ((m >> 3) & 7) {
      case 0: loadInt16(); if (!abortInsn) fld(false); break;
      case 1: fstMem(STORE_INT16_TRUNC, true); break;
      case 2: fstMem(STORE_INT16, false); break;
      case 3: fstMem(STORE_INT16, true); break;
      case 4: fbld(); break;
      case 5: loadInt64(); if (!abortInsn) fld(false); break;
      case 6: fstMem(STORE_BCD, true); break;
      default: fstMem(STORE_INT64, true); break;
    }
    return;
  }
  beginOp(false);
  switch ((m >> 3) & 7) {
    case 0: ffree(m & 7, true); break; // FFREEP
    case 1: fxch(m & 7); break; // alias
    case 2: case 3: fstSt(m & 7, true); break; // FSTP aliases
    case 4:
      if (m == 0xe0) fnstsw(true);
      else raiseUD();
      break;
    case 5: compare(srcFromSt(m & 7), true, true, 1); break; // FUCOMIP
    case 6: compare(srcFromSt(m & 7), false, true, 1); break; // FCOMIP
    default: raiseUD(); break;
  }
}
