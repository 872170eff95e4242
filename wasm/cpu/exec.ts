// The decoder's dispatch and run()'s inner loop: prefixes, then the
// one-byte and 0F opcode maps. Each entry calls a handler of an instruction
// group (wasm/ops/*) that is generic over the operand size; the size is
// chosen here, once. The hot handlers are inline (no call per instruction).
import { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, EXC_GP, EXC_UD } from '../abi';
import {
  eip, insnStart, code32, opsize32, addr32, segOverride, repPrefix, lockPrefix, abortInsn, setFault,
  sliceRetired, loopCheckAt, exitAfter,
} from './state';
import {
  fetch8, fetchOpcode, decodeModrm, decodeModrmFast, rmIsReg, modrm, limitInstructionLength, endLengthCheck, lengthChecked,
} from './decode';
import * as alu from '../ops/alu';
import * as stk from '../ops/stack';
import * as ctl from '../ops/control';
import * as shf from '../ops/shift';
import * as md from '../ops/muldiv';
import * as bcd from '../ops/bcd';
import * as bits from '../ops/bits';
import * as str from '../ops/string';
import * as io from '../ops/io';
import * as misc from '../ops/misc';
import * as sys from '../ops/system';
import * as far from '../ops/far';
import * as fpu from '../ops/fpu';
import { simd0F } from '../ops/simd/dispatch';

export function raiseUD(): void {
  setFault(EXC_UD, 0, false);
}

/**
 * Executes instructions from EIP until one stops (abortInsn: a fault or an
 * exit to the VMM, the instruction not retired), one asks for an exit after
 * it (exitAfter), or sliceRetired reaches loopCheckAt; with `single`, one
 * instruction. This is run()'s fast path: the dispatch is inline in the
 * loop, so an ordinary instruction costs no call to get to its handler, and
 * the loop's own work is the opcode fetch and the count.
 */
export function execLoop(single: bool): void {
  // The prefix state holds the defaults between instructions: set here,
  // restored after an instruction with prefixes, and a change of CS.D
  // (refreshMode()) ends the loop (kickLoop), so the next call sets it anew.
  resetPrefixes();
  let op: u32 = 0;
  let prefixed = false;
  // After prefixes, `op` holds the opcode that follows them and the loop
  // goes straight back to the dispatch (one loop, not one inside another:
  // V8 puts a stack check in every loop header).
  let dispatchNext = false;
  for (;;) {
    if (!dispatchNext) {
      insnStart = eip;
      const first = fetchOpcode();
      if (first < 0) return;
      op = <u32>first;
    }
    dispatchNext = false;
    switch (op) {
      case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65: case 0x66: case 0x67:
      case 0xf0: case 0xf2: case 0xf3:
        prefixed = true;
        op = readPrefixes(op);
        if (abortInsn) break;
        dispatchNext = true;
        continue;
      // ALU: op = bits 5..3, form = bits 2..0
      case 0x00: case 0x08: case 0x10: case 0x18: case 0x20: case 0x28: case 0x30: case 0x38:
        decodeModrmFast(); alu.aluEG<u8>(op >> 3); break;
      case 0x02: case 0x0a: case 0x12: case 0x1a: case 0x22: case 0x2a: case 0x32: case 0x3a:
        decodeModrmFast(); alu.aluGE<u8>(op >> 3); break;
      // The full-size forms: one case per operation, so that the register
      // form (alu.aluEGFast/aluGEFast, inline) folds to the one operation.
      case 0x01: aluEGv(alu.OP_ADD); break;
      case 0x09: aluEGv(alu.OP_OR); break;
      case 0x11: aluEGv(alu.OP_ADC); break;
      case 0x19: aluEGv(alu.OP_SBB); break;
      case 0x21: aluEGv(alu.OP_AND); break;
      case 0x29: aluEGv(alu.OP_SUB); break;
      case 0x31: aluEGv(alu.OP_XOR); break;
      case 0x39: aluEGv(alu.OP_CMP); break;
      case 0x03: aluGEv(alu.OP_ADD); break;
      case 0x0b: aluGEv(alu.OP_OR); break;
      case 0x13: aluGEv(alu.OP_ADC); break;
      case 0x1b: aluGEv(alu.OP_SBB); break;
      case 0x23: aluGEv(alu.OP_AND); break;
      case 0x2b: aluGEv(alu.OP_SUB); break;
      case 0x33: aluGEv(alu.OP_XOR); break;
      case 0x3b: aluGEv(alu.OP_CMP); break;
      case 0x04: case 0x0c: case 0x14: case 0x1c: case 0x24: case 0x2c: case 0x34: case 0x3c:
        alu.aluAI<u8>(op >> 3); break;
      case 0x05: case 0x0d: case 0x15: case 0x1d: case 0x25: case 0x2d: case 0x35: case 0x3d:
        if (opsize32) alu.aluAI<u32>(op >> 3); else alu.aluAI<u16>(op >> 3); break;

      case 0x06: stk.pushSeg(SEG_ES); break;
      case 0x07: stk.popSeg(SEG_ES); break;
      case 0x0e: stk.pushSeg(SEG_CS); break;
      case 0x0f: exec0F(fetch8()); break;
      case 0x16: stk.pushSeg(SEG_SS); break;
      case 0x17: stk.popSeg(SEG_SS); break;
      case 0x1e: stk.pushSeg(SEG_DS); break;
      case 0x1f: stk.popSeg(SEG_DS); break;
      case 0x27: bcd.daa(); break;
      case 0x2f: bcd.das(); break;
      case 0x37: bcd.aaa(); break;
      case 0x3f: bcd.aas(); break;

      case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
        if (opsize32) alu.incReg<u32>(op & 7); else alu.incReg<u16>(op & 7); break;
      case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
        if (opsize32) alu.decReg<u32>(op & 7); else alu.decReg<u16>(op & 7); break;
      case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
        if (opsize32) stk.pushReg<u32>(op & 7); else stk.pushReg<u16>(op & 7); break;
      case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
        if (opsize32) stk.popReg<u32>(op & 7); else stk.popReg<u16>(op & 7); break;

      case 0x60: if (opsize32) stk.pusha<u32>(); else stk.pusha<u16>(); break;
      case 0x61: if (opsize32) stk.popa<u32>(); else stk.popa<u16>(); break;
      case 0x62: decodeModrm(); if (rmIsReg) raiseUD(); else if (opsize32) misc.bound<u32>(); else misc.bound<u16>(); break;
      case 0x63: decodeModrm(); sys.arpl(); break;
      case 0x68: if (opsize32) stk.pushImm<u32>(); else stk.pushImm<u16>(); break;
      case 0x69: decodeModrmFast(); if (opsize32) md.imulGEI<u32>(false); else md.imulGEI<u16>(false); break;
      case 0x6a: if (opsize32) stk.pushImm8<u32>(); else stk.pushImm8<u16>(); break;
      case 0x6b: decodeModrmFast(); if (opsize32) md.imulGEI<u32>(true); else md.imulGEI<u16>(true); break;
      case 0x6c: str.ins<u8>(); break;
      case 0x6d: if (opsize32) str.ins<u32>(); else str.ins<u16>(); break;
      case 0x6e: str.outs<u8>(); break;
      case 0x6f: if (opsize32) str.outs<u32>(); else str.outs<u16>(); break;

      // One case per condition: jccShort() is inline and folds its test.
      case 0x70: ctl.jccShort(0); break;
      case 0x71: ctl.jccShort(1); break;
      case 0x72: ctl.jccShort(2); break;
      case 0x73: ctl.jccShort(3); break;
      case 0x74: ctl.jccShort(4); break;
      case 0x75: ctl.jccShort(5); break;
      case 0x76: ctl.jccShort(6); break;
      case 0x77: ctl.jccShort(7); break;
      case 0x78: ctl.jccShort(8); break;
      case 0x79: ctl.jccShort(9); break;
      case 0x7a: ctl.jccShort(10); break;
      case 0x7b: ctl.jccShort(11); break;
      case 0x7c: ctl.jccShort(12); break;
      case 0x7d: ctl.jccShort(13); break;
      case 0x7e: ctl.jccShort(14); break;
      case 0x7f: ctl.jccShort(15); break;

      case 0x80: case 0x82: decodeModrmFast(); alu.group1<u8>(false); break;
      case 0x81: if (opsize32) alu.group1Fast(false); else { decodeModrm(); alu.group1<u16>(false); } break;
      case 0x83: if (opsize32) alu.group1Fast(true); else { decodeModrm(); alu.group1<u16>(true); } break;
      case 0x84: decodeModrmFast(); alu.testEG<u8>(); break;
      case 0x85: decodeModrmFast(); if (opsize32) alu.testEG<u32>(); else alu.testEG<u16>(); break;
      case 0x86: decodeModrm(); alu.xchgEG<u8>(); break;
      case 0x87: decodeModrm(); if (opsize32) alu.xchgEG<u32>(); else alu.xchgEG<u16>(); break;
      case 0x88: alu.movEGFast<u8>(); break;
      case 0x89: if (opsize32) alu.movEGFast<u32>(); else { decodeModrm(); alu.movEG<u16>(); } break;
      case 0x8a: alu.movGEFast<u8>(); break;
      case 0x8b: if (opsize32) alu.movGEFast<u32>(); else { decodeModrm(); alu.movGE<u16>(); } break;
      case 0x8c: decodeModrm(); sys.movEwSreg(); break;
      case 0x8d: if (decodeModrmFast() >= 0xc0) raiseUD(); else alu.lea(); break;
      case 0x8e: decodeModrm(); sys.movSregEw(); break;
      case 0x8f: decodeModrm(); if (((modrm >> 3) & 7) != 0) raiseUD(); else if (opsize32) stk.popE<u32>(); else stk.popE<u16>(); break;

      case 0x90: break; // NOP (and PAUSE with F3)
      case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
        if (opsize32) alu.xchgAReg<u32>(op & 7); else alu.xchgAReg<u16>(op & 7); break;
      case 0x98: alu.cbw(); break;
      case 0x99: alu.cwd(); break;
      case 0x9a: far.callFarImm(); break;
      case 0x9b: fpu.fwait(); break;
      case 0x9c: stk.pushf(); break;
      case 0x9d: stk.popf(); break;
      case 0x9e: alu.sahf(); break;
      case 0x9f: alu.lahf(); break;

      case 0xa0: alu.movAMoffs<u8>(); break;
      case 0xa1: if (opsize32) alu.movAMoffs<u32>(); else alu.movAMoffs<u16>(); break;
      case 0xa2: alu.movMoffsA<u8>(); break;
      case 0xa3: if (opsize32) alu.movMoffsA<u32>(); else alu.movMoffsA<u16>(); break;
      case 0xa4: str.movs<u8>(); break;
      case 0xa5: if (opsize32) str.movs<u32>(); else str.movs<u16>(); break;
      case 0xa6: str.cmps<u8>(); break;
      case 0xa7: if (opsize32) str.cmps<u32>(); else str.cmps<u16>(); break;
      case 0xa8: alu.testAI<u8>(); break;
      case 0xa9: if (opsize32) alu.testAI<u32>(); else alu.testAI<u16>(); break;
      case 0xaa: str.stos<u8>(); break;
      case 0xab: if (opsize32) str.stos<u32>(); else str.stos<u16>(); break;
      case 0xac: str.lods<u8>(); break;
      case 0xad: if (opsize32) str.lods<u32>(); else str.lods<u16>(); break;
      case 0xae: str.scas<u8>(); break;
      case 0xaf: if (opsize32) str.scas<u32>(); else str.scas<u16>(); break;

      case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
        alu.movRegImm<u8>(op & 7); break;
      case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
        if (opsize32) alu.movRegImm<u32>(op & 7); else alu.movRegImm<u16>(op & 7); break;

      case 0xc0: decodeModrm(); shf.group2<u8>(shf.COUNT_IMM); break;
      case 0xc1: decodeModrmFast(); if (opsize32) shf.group2<u32>(shf.COUNT_IMM); else shf.group2<u16>(shf.COUNT_IMM); break;
      case 0xc2: ctl.retNear(true); break;
      case 0xc3: ctl.retNear(false); break;
      case 0xc4: decodeModrm(); if (rmIsReg) raiseUD(); else sys.loadFarPointer(SEG_ES); break;
      case 0xc5: decodeModrm(); if (rmIsReg) raiseUD(); else sys.loadFarPointer(SEG_DS); break;
      case 0xc6: decodeModrmFast(); if (((modrm >> 3) & 7) != 0) raiseUD(); else alu.movEI<u8>(); break;
      case 0xc7: decodeModrmFast(); if (((modrm >> 3) & 7) != 0) raiseUD(); else if (opsize32) alu.movEI<u32>(); else alu.movEI<u16>(); break;
      case 0xc8: stk.enter(); break;
      case 0xc9: stk.leave(); break;
      case 0xca: far.retFar(true); break;
      case 0xcb: far.retFar(false); break;
      case 0xcc: ctl.int3(); break;
      case 0xcd: ctl.intImm(); break;
      case 0xce: ctl.into(); break;
      case 0xcf: far.iret(); break;

      case 0xd0: decodeModrm(); shf.group2<u8>(shf.COUNT_ONE); break;
      case 0xd1: decodeModrmFast(); if (opsize32) shf.group2<u32>(shf.COUNT_ONE); else shf.group2<u16>(shf.COUNT_ONE); break;
      case 0xd2: decodeModrm(); shf.group2<u8>(shf.COUNT_CL); break;
      case 0xd3: decodeModrmFast(); if (opsize32) shf.group2<u32>(shf.COUNT_CL); else shf.group2<u16>(shf.COUNT_CL); break;
      case 0xd4: bcd.aam(); break;
      case 0xd5: bcd.aad(); break;
      case 0xd6: bcd.salc(); break;
      case 0xd7: alu.xlat(); break;
      case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf:
        fpu.escape(op); break;

      case 0xe0: ctl.loop(0); break;
      case 0xe1: ctl.loop(1); break;
      case 0xe2: ctl.loop(2); break;
      case 0xe3: ctl.jcxz(); break;
      case 0xe4: io.inImm<u8>(); break;
      case 0xe5: if (opsize32) io.inImm<u32>(); else io.inImm<u16>(); break;
      case 0xe6: io.outImm<u8>(); break;
      case 0xe7: if (opsize32) io.outImm<u32>(); else io.outImm<u16>(); break;
      case 0xe8: ctl.callRel(); break;
      case 0xe9: ctl.jmpRel(); break;
      case 0xea: far.jmpFarImm(); break;
      case 0xeb: ctl.jmpShort(); break;
      case 0xec: io.inDx<u8>(); break;
      case 0xed: if (opsize32) io.inDx<u32>(); else io.inDx<u16>(); break;
      case 0xee: io.outDx<u8>(); break;
      case 0xef: if (opsize32) io.outDx<u32>(); else io.outDx<u16>(); break;

      case 0xf1: ctl.icebp(); break;
      case 0xf4: misc.hlt(); break;
      case 0xf5: alu.cmc(); break;
      case 0xf6: decodeModrmFast(); group3<u8>(); break;
      case 0xf7: decodeModrmFast(); if (opsize32) group3<u32>(); else group3<u16>(); break;
      case 0xf8: alu.setCarry(0); break;
      case 0xf9: alu.setCarry(1); break;
      case 0xfa: sys.cli(); break;
      case 0xfb: sys.sti(); break;
      case 0xfc: alu.setDirection(false); break;
      case 0xfd: alu.setDirection(true); break;
      case 0xfe: decodeModrm(); group4(); break;
      case 0xff: decodeModrmFast(); if (opsize32) group5<u32>(); else group5<u16>(); break;
      default: raiseUD(); break;
    }
    if (prefixed) {
      prefixed = false;
      afterPrefixed();
    }
    if (abortInsn) return;
    const retired = sliceRetired + 1;
    sliceRetired = retired;
    if (single || exitAfter != 0 || retired >= loopCheckAt) return;
  }
}

/** The prefix state of an instruction without prefixes. */
@inline function resetPrefixes(): void {
  opsize32 = code32;
  addr32 = code32;
  segOverride = -1;
  repPrefix = 0;
  lockPrefix = false;
}

/**
 * Reads the prefixes that follow the prefix byte `op` (already fetched) and
 * returns the opcode after them. An instruction longer than 15 bytes is
 * #GP(0) (see limitInstructionLength); LOCK is checked here, once the opcode
 * is known.
 */
function readPrefixes(op: u32): u32 {
  let prefixes = 0;
  for (;;) {
    switch (op) {
      case 0x66: opsize32 = !code32; break;
      case 0x67: addr32 = !code32; break;
      case 0x26: segOverride = SEG_ES; break;
      case 0x2e: segOverride = SEG_CS; break;
      case 0x36: segOverride = SEG_SS; break;
      case 0x3e: segOverride = SEG_DS; break;
      case 0x64: segOverride = SEG_FS; break;
      case 0x65: segOverride = SEG_GS; break;
      case 0xf0: lockPrefix = true; break;
      case 0xf2: case 0xf3: repPrefix = op; break;
      default:
        if (lockPrefix) checkLock(op);
        return op;
    }
    if (++prefixes == 4) limitInstructionLength();
    op = fetch8();
    if (abortInsn) return 0;
  }
  return 0; // not reached
}

/** After an instruction with prefixes: the defaults again, and undo limitInstructionLength(). */
function afterPrefixed(): void {
  resetPrefixes();
  if (lengthChecked) endLengthCheck();
}
/**
 * LOCK is allowed only on read-modify-write instructions with a memory
 * destination; anything else is #UD. Peeks at the opcode (and ModRM) bytes.
 */
function checkLock(op: u32): void {
  // Decode the ModRM (if any) without consuming it: save and restore EIP.
  const save = eip;
  let ok = false;
  let op2: u32 = 0;
  if (op == 0x0f) op2 = fetch8();
  const m = fetch8();
  if (abortInsn) return;
  const mem = m < 0xc0;
  const reg = (m >> 3) & 7;
  if (op == 0x0f) {
    switch (op2) {
      case 0xab: case 0xb3: case 0xbb: case 0xb0: case 0xb1: case 0xc0: case 0xc1: ok = mem; break;
      case 0xba: ok = mem && reg >= 5; break;
      case 0xc7: ok = mem && reg == 1; break;
    }
  } else if (op < 0x40) {
    ok = mem && (op & 7) < 2 && (op >> 3) != 7;
  } else {
    switch (op) {
      case 0x80: case 0x81: case 0x82: case 0x83: ok = mem && reg != 7; break;
      case 0x86: case 0x87: ok = mem; break;
      case 0xf6: case 0xf7: ok = mem && (reg == 2 || reg == 3); break;
      case 0xfe: case 0xff: ok = mem && reg < 2; break;
    }
  }
  eip = save;
  if (!ok) raiseUD();
}


/** ALU Ev, Gv (01, 09, … 39) with a constant operation. */
@inline function aluEGv(op: u32): void {
  if (opsize32) alu.aluEGFast(op);
  else { decodeModrm(); alu.aluEG<u16>(op); }
}
/** ALU Gv, Ev (03, 0B, … 3B) with a constant operation. */
@inline function aluGEv(op: u32): void {
  if (opsize32) alu.aluGEFast(op);
  else { decodeModrm(); alu.aluGE<u16>(op); }
}

function group3<T>(): void {
  switch ((modrm >> 3) & 7) {
    case 0: case 1: alu.testEI<T>(); break;
    case 2: alu.notE<T>(); break;
    case 3: alu.negE<T>(); break;
    case 4: md.mul<T>(); break;
    case 5: md.imul1<T>(); break;
    case 6: md.div<T>(); break;
    default: md.idiv<T>(); break;
  }
}

function group4(): void {
  const r = (modrm >> 3) & 7;
  if (r == 0) alu.incE<u8>();
  else if (r == 1) alu.decE<u8>();
  else raiseUD();
}

function group5<T>(): void {
  switch ((modrm >> 3) & 7) {
    case 0: alu.incE<T>(); break;
    case 1: alu.decE<T>(); break;
    case 2: ctl.callNearE<T>(); break;
    case 3: if (rmIsReg) raiseUD(); else far.callFarE(); break;
    case 4: ctl.jmpNearE<T>(); break;
    case 5: if (rmIsReg) raiseUD(); else far.jmpFarE(); break;
    case 6: stk.pushE<T>(); break;
    default: raiseUD(); break;
  }
}

/** The 0F map; inline in execLoop (MOVZX, Jcc near, IMUL, SETcc are common in compiled code). */
@inline function exec0F(op: u32): void {
  if (abortInsn) return;
  switch (op) {
    case 0x00: decodeModrm(); sys.group6(); break;
    case 0x01: decodeModrm(); sys.group7(); break;
    case 0x02: decodeModrm(); sys.lar(); break;
    case 0x03: decodeModrm(); sys.lsl(); break;
    case 0x06: sys.clts(); break;
    case 0x08: case 0x09: sys.invd(); break;
    case 0x0b: raiseUD(); break; // UD2
    // MMX, SSE, SSE2 (wasm/ops/simd/dispatch.ts decodes the mandatory prefix)
    case 0x10: case 0x11: case 0x12: case 0x13: case 0x14: case 0x15: case 0x16: case 0x17:
      simd0F(op); break;
    case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
      decodeModrm(); break; // hint NOPs (NOP Ev, P6 family)
    case 0x20: decodeModrm(); sys.movFromCr(); break;
    case 0x21: decodeModrm(); sys.movFromDr(); break;
    case 0x22: decodeModrm(); sys.movToCr(); break;
    case 0x23: decodeModrm(); sys.movToDr(); break;
    case 0x28: case 0x29: case 0x2a: case 0x2b: case 0x2c: case 0x2d: case 0x2e: case 0x2f:
      simd0F(op); break;
    case 0x30: misc.wrmsr(); break;
    case 0x31: misc.rdtsc(); break;
    case 0x32: misc.rdmsr(); break;
    case 0x33: misc.rdpmc(); break;
    case 0x34: sys.sysenter(); break;
    case 0x35: sys.sysexit(); break;
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
      decodeModrmFast(); if (opsize32) alu.cmov<u32>(op & 15); else alu.cmov<u16>(op & 15); break;
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
    case 0x60: case 0x61: case 0x62: case 0x63: case 0x64: case 0x65: case 0x66: case 0x67:
    case 0x68: case 0x69: case 0x6a: case 0x6b: case 0x6c: case 0x6d: case 0x6e: case 0x6f:
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f:
      simd0F(op); break;
    case 0x80: ctl.jccNear(0); break;
    case 0x81: ctl.jccNear(1); break;
    case 0x82: ctl.jccNear(2); break;
    case 0x83: ctl.jccNear(3); break;
    case 0x84: ctl.jccNear(4); break;
    case 0x85: ctl.jccNear(5); break;
    case 0x86: ctl.jccNear(6); break;
    case 0x87: ctl.jccNear(7); break;
    case 0x88: ctl.jccNear(8); break;
    case 0x89: ctl.jccNear(9); break;
    case 0x8a: ctl.jccNear(10); break;
    case 0x8b: ctl.jccNear(11); break;
    case 0x8c: ctl.jccNear(12); break;
    case 0x8d: ctl.jccNear(13); break;
    case 0x8e: ctl.jccNear(14); break;
    case 0x8f: ctl.jccNear(15); break;
    case 0x90: case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
    case 0x98: case 0x99: case 0x9a: case 0x9b: case 0x9c: case 0x9d: case 0x9e: case 0x9f:
      decodeModrmFast(); alu.setcc(op & 15); break;
    case 0xa0: stk.pushSeg(SEG_FS); break;
    case 0xa1: stk.popSeg(SEG_FS); break;
    case 0xa2: misc.cpuid(); break;
    case 0xa3: decodeModrm(); if (opsize32) bits.btEG<u32>(bits.BT); else bits.btEG<u16>(bits.BT); break;
    case 0xa4: decodeModrm(); if (opsize32) shf.shld<u32>(true); else shf.shld<u16>(true); break;
    case 0xa5: decodeModrm(); if (opsize32) shf.shld<u32>(false); else shf.shld<u16>(false); break;
    case 0xa8: stk.pushSeg(SEG_GS); break;
    case 0xa9: stk.popSeg(SEG_GS); break;
    case 0xab: decodeModrm(); if (opsize32) bits.btEG<u32>(bits.BTS); else bits.btEG<u16>(bits.BTS); break;
    case 0xac: decodeModrm(); if (opsize32) shf.shrd<u32>(true); else shf.shrd<u16>(true); break;
    case 0xad: decodeModrm(); if (opsize32) shf.shrd<u32>(false); else shf.shrd<u16>(false); break;
    case 0xae: simd0F(op); break; // FXSAVE, FXRSTOR, LDMXCSR, STMXCSR, fences, CLFLUSH
    case 0xaf: decodeModrmFast(); if (opsize32) md.imulGE<u32>(); else md.imulGE<u16>(); break;
    case 0xb0: decodeModrm(); alu.cmpxchg<u8>(); break;
    case 0xb1: decodeModrm(); if (opsize32) alu.cmpxchg<u32>(); else alu.cmpxchg<u16>(); break;
    case 0xb2: decodeModrm(); if (rmIsReg) raiseUD(); else sys.loadFarPointer(SEG_SS); break;
    case 0xb3: decodeModrm(); if (opsize32) bits.btEG<u32>(bits.BTR); else bits.btEG<u16>(bits.BTR); break;
    case 0xb4: decodeModrm(); if (rmIsReg) raiseUD(); else sys.loadFarPointer(SEG_FS); break;
    case 0xb5: decodeModrm(); if (rmIsReg) raiseUD(); else sys.loadFarPointer(SEG_GS); break;
    case 0xb6: decodeModrmFast(); if (opsize32) alu.movzx<u32, u8>(); else alu.movzx<u16, u8>(); break;
    case 0xb7: decodeModrmFast(); if (opsize32) alu.movzx<u32, u16>(); else alu.movzx<u16, u16>(); break;
    case 0xba: decodeModrm(); if (opsize32) bits.group8<u32>(); else bits.group8<u16>(); break;
    case 0xbb: decodeModrm(); if (opsize32) bits.btEG<u32>(bits.BTC); else bits.btEG<u16>(bits.BTC); break;
    case 0xbc: decodeModrm(); if (opsize32) bits.bsf<u32>(); else bits.bsf<u16>(); break;
    case 0xbd: decodeModrm(); if (opsize32) bits.bsr<u32>(); else bits.bsr<u16>(); break;
    case 0xbe: decodeModrmFast(); if (opsize32) alu.movsx<u32, i8>(); else alu.movsx<u16, i8>(); break;
    case 0xbf: decodeModrmFast(); if (opsize32) alu.movsx<u32, i16>(); else alu.movsx<u16, i16>(); break;
    case 0xc0: decodeModrm(); alu.xadd<u8>(); break;
    case 0xc1: decodeModrm(); if (opsize32) alu.xadd<u32>(); else alu.xadd<u16>(); break;
    case 0xc7: decodeModrmFast(); if (((modrm >> 3) & 7) == 1 && !rmIsReg) misc.cmpxchg8b(); else raiseUD(); break;
    case 0xc2: case 0xc3: case 0xc4: case 0xc5: case 0xc6: simd0F(op); break;
    case 0xc8: case 0xc9: case 0xca: case 0xcb: case 0xcc: case 0xcd: case 0xce: case 0xcf:
      alu.bswapReg(op & 7); break;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: case 0xd4: case 0xd5: case 0xd6: case 0xd7:
    case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf:
    case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0xe4: case 0xe5: case 0xe6: case 0xe7:
    case 0xe8: case 0xe9: case 0xea: case 0xeb: case 0xec: case 0xed: case 0xee: case 0xef:
    case 0xf0: case 0xf1: case 0xf2: case 0xf3: case 0xf4: case 0xf5: case 0xf6: case 0xf7:
    case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd: case 0xfe: case 0xff:
      simd0F(op); break;
    default: raiseUD(); break;
  }
}

