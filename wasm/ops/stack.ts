// Stack instructions: PUSH/POP of every operand kind, PUSHA/POPA, PUSHF/POPF,
// ENTER/LEAVE. Multi-slot instructions write every slot before moving ESP,
// so a fault part-way leaves the registers untouched.
import {
  V_SEGS, SEG_SIZE, SEG_SEL, SEG_SS, REG_ESP, REG_EBP, EXC_GP,
  FLAG_VM, FLAG_RF, FLAG_IF, FLAG_IOPL, V_SHADOW,
} from '../abi';
import {
  cpu, abortInsn, opsize32, stack32, cpl, v86Mode, getReg, setReg, reg32, reg16, setReg32, setReg16, setFault, kickLoop,
} from '../cpu/state';
import { getEflags } from '../cpu/flags';
import { fetchImm, fetchS8, fetch8, fetch16, eaOff, eaSeg, eaBaseEsp, rmIsReg, modrm } from '../cpu/decode';
import { readE, writeMem, push, pop, getSP, setSP, spAdd, writeStack, readStack } from '../cpu/operand';
import { loadSegment } from '../cpu/segload';
import { writeEflags } from '../cpu/flags';

export function pushReg<T>(r: u32): void {
  push<T>(getReg<T>(r));
}
export function popReg<T>(r: u32): void {
  const v = pop<T>();
  if (abortInsn) return;
  setReg<T>(r, v);
}
export function pushImm<T>(): void {
  const v = <T>fetchImm<T>();
  if (abortInsn) return;
  push<T>(v);
}
export function pushImm8<T>(): void {
  const v = <T>fetchS8();
  if (abortInsn) return;
  push<T>(v);
}
export function pushE<T>(): void {
  const v = readE<T>();
  if (abortInsn) return;
  push<T>(v);
}
export function popE<T>(): void {
  const sp = getSP();
  const v = readStack<T>(sp);
  if (abortInsn) return;
  if (rmIsReg) {
    setSP(spAdd(sp, <u32>sizeof<T>()));
    setReg<T>(modrm & 7, v);
    return;
  }
  // With ESP as the base, the address is computed after ESP is incremented.
  const off = eaBaseEsp ? eaOff + <u32>sizeof<T>() : eaOff;
  writeMem<T>(eaSeg, off, v);
  if (abortInsn) return;
  setSP(spAdd(sp, <u32>sizeof<T>()));
}

/** PUSH Sreg: with a 32-bit operand, P6 writes the selector with a 16-bit move. */
export function pushSeg(seg: i32): void {
  const sel = <u16>load<u32>(cpu + V_SEGS + seg * SEG_SIZE + SEG_SEL);
  const size: u32 = opsize32 ? 4 : 2;
  const sp = spAdd(getSP(), -size);
  writeStack<u16>(sp, sel);
  if (abortInsn) return;
  setSP(sp);
}
export function popSeg(seg: i32): void {
  const sp = getSP();
  const sel = readStack<u16>(sp);
  if (abortInsn) return;
  loadSegment(seg, sel);
  if (abortInsn) return;
  setSP(spAdd(sp, opsize32 ? 4 : 2));
  // POP SS inhibits interrupts until after the next instruction.
  if (seg == SEG_SS) { store<u32>(cpu, 1, V_SHADOW); kickLoop(); } // run() looks at the shadow at check points
}

export function pusha<T>(): void {
  const sp0 = getSP();
  const n = <u32>sizeof<T>();
  for (let i: u32 = 0; i < 8; i++) {
    writeStack<T>(spAdd(sp0, -(i + 1) * n), getReg<T>(i));
    if (abortInsn) return;
  }
  setSP(spAdd(sp0, -8 * n));
}
export function popa<T>(): void {
  const sp0 = getSP();
  const n = <u32>sizeof<T>();
  // Read all eight slots first (the SP slot is skipped), then commit.
  let v0: T = 0, v1: T = 0, v2: T = 0, v3: T = 0, v5: T = 0, v6: T = 0, v7: T = 0;
  v7 = readStack<T>(sp0); if (abortInsn) return;
  v6 = readStack<T>(spAdd(sp0, n)); if (abortInsn) return;
  v5 = readStack<T>(spAdd(sp0, 2 * n)); if (abortInsn) return;
  v3 = readStack<T>(spAdd(sp0, 4 * n)); if (abortInsn) return;
  v2 = readStack<T>(spAdd(sp0, 5 * n)); if (abortInsn) return;
  v1 = readStack<T>(spAdd(sp0, 6 * n)); if (abortInsn) return;
  v0 = readStack<T>(spAdd(sp0, 7 * n)); if (abortInsn) return;
  setReg<T>(7, v7); setReg<T>(6, v6); setReg<T>(5, v5); setReg<T>(3, v3);
  setReg<T>(2, v2); setReg<T>(1, v1); setReg<T>(0, v0);
  setSP(spAdd(sp0, 8 * n));
}

export function pushf(): void {
  const f = getEflags();
  if (v86Mode && (f & FLAG_IOPL) != FLAG_IOPL) { setFault(EXC_GP, 0, true); return; }
  if (opsize32) push<u32>(f & ~(FLAG_VM | FLAG_RF));
  else push<u16>(<u16>f);
}

export function popf(): void {
  const f = getEflags();
  const iopl = (f & FLAG_IOPL) >> 12;
  if (v86Mode && iopl != 3) { setFault(EXC_GP, 0, true); return; }
  const v: u32 = opsize32 ? pop<u32>() : <u32>pop<u16>();
  if (abortInsn) return;
  // CF PF AF ZF SF TF DF OF NT AC ID always; IF when CPL <= IOPL; IOPL at CPL 0.
  let mask: u32 = 0x244dd5;
  if (cpl <= iopl) mask |= FLAG_IF;
  if (cpl == 0 && !v86Mode) mask |= FLAG_IOPL;
  if (!opsize32) mask &= 0xffff;
  writeEflags((f & ~mask & ~FLAG_RF) | (v & mask));
}

export function enter(): void {
  const alloc = fetch16();
  const level = fetch8() & 31;
  if (abortInsn) return;
  const n: u32 = opsize32 ? 4 : 2;
  let sp = getSP();
  let bp = stack32 ? reg32(REG_EBP) : <u32>reg16(REG_EBP);
  sp = spAdd(sp, -n);
  if (opsize32) writeStack<u32>(sp, reg32(REG_EBP)); else writeStack<u16>(sp, reg16(REG_EBP));
  if (abortInsn) return;
  const frame = sp;
  if (level > 0) {
    for (let i: u32 = 1; i < level; i++) {
      bp = spAdd(bp, -n);
      sp = spAdd(sp, -n);
      if (opsize32) {
        const v = readStack<u32>(bp); if (abortInsn) return;
        writeStack<u32>(sp, v);
      } else {
        const v = readStack<u16>(bp); if (abortInsn) return;
        writeStack<u16>(sp, v);
      }
      if (abortInsn) return;
    }
    sp = spAdd(sp, -n);
    if (opsize32) writeStack<u32>(sp, frame); else writeStack<u16>(sp, <u16>frame);
    if (abortInsn) return;
  }
  sp = spAdd(sp, -alloc);
  if (opsize32) setReg32(REG_EBP, stack32 ? frame : (reg32(REG_EBP) & 0xffff0000) | frame);
  else setReg16(REG_EBP, <u16>frame);
  setSP(sp);
}

export function leave(): void {
  const bp = stack32 ? reg32(REG_EBP) : <u32>reg16(REG_EBP);
  if (opsize32) {
    const v = readStack<u32>(bp);
    if (abortInsn) return;
    setSP(spAdd(bp, 4));
    setReg32(REG_EBP, v);
  } else {
    const v = readStack<u16>(bp);
    if (abortInsn) return;
    setSP(spAdd(bp, 2));
    setReg16(REG_EBP, v);
  }
}

