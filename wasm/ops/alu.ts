// Integer ALU, moves and flag instructions. One generic handler per operand
// form; the eight ALU operations share aluOp() and the lazy-flags recorder.
import {
  LF_ADD, LF_ADC, LF_SUB, LF_SBB, FLAG_CF, FLAG_DF, FLAG_PF, FLAG_AF, FLAG_ZF, FLAG_SF,
  V_FLAGS, REG_EAX, REG_EBX, SEG_DS,
} from '../abi';
import { cpu, abortInsn, opsize32, addr32, segOverride, getReg, setReg, reg8, setReg8, reg16, setReg16, reg32, setReg32 } from '../cpu/state';
import { setLazyArith, setLazyResult, setLazyIncDec, getCF, getEflags, setEflagsRaw, materializeFlags, setFlagBit, testCond } from '../cpu/flags';
import { fetchImm, fetchS8, modrm, rmIsReg, eaOff, eaSeg, decodeMoffs, fetch8, decodeMemOperand } from '../cpu/decode';
import { readE, writeE, readEForWrite, writeBackE, readG, writeG, readMem, writeMem } from '../cpu/operand';

export const OP_ADD: u32 = 0;
export const OP_OR: u32 = 1;
export const OP_ADC: u32 = 2;
export const OP_SBB: u32 = 3;
export const OP_AND: u32 = 4;
export const OP_SUB: u32 = 5;
export const OP_XOR: u32 = 6;
export const OP_CMP: u32 = 7;

/** dst <op> src without flags (ADC/SBB read CF). */
@inline function aluResult<T>(op: u32, dst: T, src: T): T {
  switch (op & 7) {
    case 0: return dst + src;
    case 1: return dst | src;
    case 2: { const c: T = getCF() ? 1 : 0; return dst + src + c; }
    case 3: { const c: T = getCF() ? 1 : 0; return dst - src - c; }
    case 4: return dst & src;
    case 6: return dst ^ src;
    default: return dst - src; // SUB, CMP
  }
}

/** Records the flags of r = dst <op> src. */
@inline function aluFlags<T>(op: u32, dst: T, src: T, r: T): void {
  switch (op & 7) {
    case 0: setLazyArith<T>(LF_ADD, dst, src, r); break;
    case 2: setLazyArith<T>(LF_ADC, dst, src, r); break;
    case 3: setLazyArith<T>(LF_SBB, dst, src, r); break;
    case 1: case 4: case 6: setLazyResult<T>(r, 0); break;
    default: setLazyArith<T>(LF_SUB, dst, src, r); break; // SUB, CMP
  }
}

/** dst <op> src with flags; the result (CMP's is discarded by callers). */
export function aluOp<T>(op: u32, dst: T, src: T): T {
  const r = aluResult<T>(op, dst, src);
  aluFlags<T>(op, dst, src, r);
  return r;
}

/**
 * A read-modify-write ALU op on the E operand. Fix: the flags are recorded
 * only after the write-back succeeded; before, a write that faulted or
 * exited (MMIO) had already changed them, so the restarted instruction (ADC,
 * SBB) read a clobbered CF and the exception frame held wrong flags.
 */
@inline function aluRmw<T>(op: u32, d: T, s: T): void {
  const r = aluResult<T>(op, d, s);
  writeBackE<T>(r);
  if (abortInsn) return;
  aluFlags<T>(op, d, s, r);
}

/** Sign-extended imm8 or a full immediate of size T. */
@inline function fetchOperandImm<T>(imm8: bool): T {
  return imm8 ? <T>fetchS8() : <T>fetchImm<T>();
}

export function aluEG<T>(op: u32): void {
  if ((op & 7) == OP_CMP) {
    const d = readE<T>();
    if (abortInsn) return;
    aluOp<T>(op, d, readG<T>());
    return;
  }
  const d = readEForWrite<T>();
  if (abortInsn) return;
  aluRmw<T>(op, d, readG<T>());
}

// The 32-bit forms with a register operand, the bulk of integer code, are
// inline in the decoder: no call, no reload of the ModRM globals, and with
// the operation a constant, no dispatch on it. Memory operands take the
// generic handlers (the ModRM is decoded by then).

/** ALU Ed, Gd (01, 09, … 39). */
@inline export function aluEGFast(op: u32): void {
  const m = fetch8();
  if (m < 0xc0) { decodeMemOperand(m); aluEG<u32>(op); return; }
  const e = m & 7;
  const d = reg32(e);
  const s = reg32((m >> 3) & 7);
  const r = aluResult<u32>(op, d, s);
  if ((op & 7) != OP_CMP) setReg32(e, r);
  aluFlags<u32>(op, d, s, r);
}

/** ALU Gd, Ed (03, 0B, … 3B). */
@inline export function aluGEFast(op: u32): void {
  const m = fetch8();
  if (m < 0xc0) { decodeMemOperand(m); aluGE<u32>(op); return; }
  const g = (m >> 3) & 7;
  const d = reg32(g);
  const s = reg32(m & 7);
  const r = aluResult<u32>(op, d, s);
  if ((op & 7) != OP_CMP) setReg32(g, r);
  aluFlags<u32>(op, d, s, r);
}

/** 81/83 with a 32-bit operand; `imm8` = sign-extended byte (83). */
@inline export function group1Fast(imm8: bool): void {
  const m = fetch8();
  if (m < 0xc0) { decodeMemOperand(m); group1<u32>(imm8); return; }
  const imm = imm8 ? fetchS8() : fetchImm<u32>();
  if (abortInsn) return;
  const op = (m >> 3) & 7;
  const e = m & 7;
  const d = reg32(e);
  const r = aluResult<u32>(op, d, imm);
  if (op != OP_CMP) setReg32(e, r);
  aluFlags<u32>(op, d, imm, r);
}

export function aluGE<T>(op: u32): void {
  const s = readE<T>();
  if (abortInsn) return;
  const r = aluOp<T>(op, readG<T>(), s);
  if ((op & 7) != OP_CMP) writeG<T>(r);
}

export function aluAI<T>(op: u32): void {
  const imm = <T>fetchImm<T>();
  if (abortInsn) return;
  const r = aluOp<T>(op, getReg<T>(REG_EAX), imm);
  if ((op & 7) != OP_CMP) setReg<T>(REG_EAX, r);
}

/** 80-83: ALU op with an immediate; `imm8` = sign-extended byte (83). */
export function group1<T>(imm8: bool): void {
  const op = (modrm >> 3) & 7;
  // The immediate follows the ModRM bytes: fetch it before touching memory
  // (fix: CMP read memory first, so a data fault hid a fault on the fetch).
  const imm = fetchOperandImm<T>(imm8);
  if (abortInsn) return;
  if (op == OP_CMP) {
    const d = readE<T>();
    if (abortInsn) return;
    aluOp<T>(op, d, imm);
    return;
  }
  const d = readEForWrite<T>();
  if (abortInsn) return;
  aluRmw<T>(op, d, imm);
}

export function testEG<T>(): void {
  const d = readE<T>();
  if (abortInsn) return;
  setLazyResult<T>(d & readG<T>(), 0);
}
export function testAI<T>(): void {
  const imm = <T>fetchImm<T>();
  if (abortInsn) return;
  setLazyResult<T>(getReg<T>(REG_EAX) & imm, 0);
}
export function testEI<T>(): void {
  const imm = <T>fetchImm<T>();
  if (abortInsn) return;
  const d = readE<T>();
  if (abortInsn) return;
  setLazyResult<T>(d & imm, 0);
}

export function notE<T>(): void {
  const d = readEForWrite<T>();
  if (abortInsn) return;
  writeBackE<T>(~d);
}
export function negE<T>(): void {
  const d = readEForWrite<T>();
  if (abortInsn) return;
  const r: T = <T>0 - d;
  writeBackE<T>(r);
  if (abortInsn) return; // fix: flags only after the write-back succeeded
  setLazyArith<T>(LF_SUB, <T>0, d, r);
}

export function incE<T>(): void {
  const d = readEForWrite<T>();
  if (abortInsn) return;
  const r: T = d + 1;
  writeBackE<T>(r);
  if (abortInsn) return; // fix: flags only after the write-back succeeded
  setLazyIncDec<T>(LF_ADD, d, r);
}
export function decE<T>(): void {
  const d = readEForWrite<T>();
  if (abortInsn) return;
  const r: T = d - 1;
  writeBackE<T>(r);
  if (abortInsn) return; // fix: flags only after the write-back succeeded
  setLazyIncDec<T>(LF_SUB, d, r);
}
export function incReg<T>(r: u32): void {
  const d = getReg<T>(r);
  const v: T = d + 1;
  setLazyIncDec<T>(LF_ADD, d, v);
  setReg<T>(r, v);
}
export function decReg<T>(r: u32): void {
  const d = getReg<T>(r);
  const v: T = d - 1;
  setLazyIncDec<T>(LF_SUB, d, v);
  setReg<T>(r, v);
}

// --- moves -------------------------------------------------------------------------

/** MOV Ev, Gv / MOV Gv, Ev of size T (88, 89, 8A, 8B), the ModRM fetched here. */
@inline export function movEGFast<T>(): void {
  const m = fetch8();
  const v = getReg<T>((m >> 3) & 7);
  if (m >= 0xc0) {
    setReg<T>(m & 7, v);
  } else {
    decodeMemOperand(m);
    writeMem<T>(eaSeg, eaOff, v);
  }
}
@inline export function movGEFast<T>(): void {
  const m = fetch8();
  let v: T;
  if (m >= 0xc0) {
    v = getReg<T>(m & 7);
  } else {
    decodeMemOperand(m);
    v = readMem<T>(eaSeg, eaOff);
    if (abortInsn) return;
  }
  setReg<T>((m >> 3) & 7, v);
}

export function movEG<T>(): void {
  writeE<T>(readG<T>());
}
export function movGE<T>(): void {
  const v = readE<T>();
  if (abortInsn) return;
  writeG<T>(v);
}
export function movEI<T>(): void {
  const imm = <T>fetchImm<T>();
  if (abortInsn) return;
  writeE<T>(imm);
}
export function movRegImm<T>(r: u32): void {
  const imm = <T>fetchImm<T>();
  if (abortInsn) return;
  setReg<T>(r, imm);
}
export function movAMoffs<T>(): void {
  decodeMoffs();
  if (abortInsn) return;
  const v = readE<T>();
  if (abortInsn) return;
  setReg<T>(REG_EAX, v);
}
export function movMoffsA<T>(): void {
  decodeMoffs();
  if (abortInsn) return;
  writeE<T>(getReg<T>(REG_EAX));
}

export function lea(): void {
  if (opsize32) setReg32((modrm >> 3) & 7, eaOff);
  else setReg16((modrm >> 3) & 7, <u16>eaOff);
}

/** MOVZX: D is the destination width, S the source width. */
export function movzx<D, S>(): void {
  const v = readE<S>();
  if (abortInsn) return;
  writeG<D>(<D>v);
}
/** MOVSX: S is a signed type (i8/i16). */
export function movsx<D, S>(): void {
  let v: S;
  if (sizeof<S>() == 1) v = <S>readE<u8>();
  else v = <S>readE<u16>();
  if (abortInsn) return;
  writeG<D>(<D>(<i32>v));
}

export function xchgEG<T>(): void {
  const d = readEForWrite<T>();
  if (abortInsn) return;
  const g = readG<T>();
  writeBackE<T>(g);
  if (abortInsn) return;
  writeG<T>(d);
}
export function xchgAReg<T>(r: u32): void {
  const a = getReg<T>(REG_EAX);
  setReg<T>(REG_EAX, getReg<T>(r));
  setReg<T>(r, a);
}

export function cmov<T>(cc: u32): void {
  // The source is read (and may fault) whether or not the condition holds.
  const v = readE<T>();
  if (abortInsn) return;
  if (testCond(cc)) writeG<T>(v);
}

export function setcc(cc: u32): void {
  writeE<u8>(testCond(cc) ? 1 : 0);
}

export function bswapReg(r: u32): void {
  // With a 16-bit operand the result is undefined; real CPUs give 0 in the low word.
  if (opsize32) setReg32(r, bswap<u32>(reg32(r)));
  else setReg16(r, 0);
}

export function xadd<T>(): void {
  const d = readEForWrite<T>();
  if (abortInsn) return;
  const s = readG<T>();
  const r: T = d + s;
  writeBackE<T>(r);
  if (abortInsn) return;
  setLazyArith<T>(LF_ADD, d, s, r);
  if (!rmIsReg || ((modrm & 7) != ((modrm >> 3) & 7))) writeG<T>(d);
}

export function cmpxchg<T>(): void {
  const d = readEForWrite<T>();
  if (abortInsn) return;
  const a = getReg<T>(REG_EAX);
  if (a == d) {
    writeBackE<T>(readG<T>());
    if (abortInsn) return;
  } else {
    // The destination is written back unchanged (the bus sees a write), then EAX loads it.
    writeBackE<T>(d);
    if (abortInsn) return;
    setReg<T>(REG_EAX, d);
  }
  setLazyArith<T>(LF_SUB, a, d, a - d);
}

export function cbw(): void {
  if (opsize32) setReg32(REG_EAX, <u32><i32><i16>reg16(REG_EAX));
  else setReg16(REG_EAX, <u16><i16><i8>reg8(REG_EAX));
}
export function cwd(): void {
  if (opsize32) setReg32(2, (<i32>reg32(REG_EAX)) < 0 ? 0xffffffff : 0);
  else setReg16(2, (<i16>reg16(REG_EAX)) < 0 ? 0xffff : 0);
}

const SAHF_MASK: u32 = FLAG_SF | FLAG_ZF | FLAG_AF | FLAG_PF | FLAG_CF;
export function sahf(): void {
  const f = getEflags();
  setEflagsRaw((f & ~SAHF_MASK) | (<u32>reg8(4) & SAHF_MASK));
}
export function lahf(): void {
  setReg8(4, <u8>((getEflags() & SAHF_MASK) | 2));
}

export function cmc(): void {
  setFlagBit(FLAG_CF, !getCF());
}
export function setCarry(v: u32): void {
  setFlagBit(FLAG_CF, v != 0);
}
export function setDirection(on: bool): void {
  const f = load<u32>(cpu, V_FLAGS);
  store<u32>(cpu, on ? f | FLAG_DF : f & ~FLAG_DF, V_FLAGS);
}

export function xlat(): void {
  const base = addr32 ? reg32(REG_EBX) : <u32>reg16(REG_EBX);
  const off = addr32 ? base + reg8(REG_EAX) : (base + reg8(REG_EAX)) & 0xffff;
  const v = readMem<u8>(segOverride >= 0 ? segOverride : SEG_DS, off);
  if (abortInsn) return;
  setReg8(REG_EAX, v);
}

