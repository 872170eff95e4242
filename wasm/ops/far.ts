// Far control transfers: JMP/CALL far (ptr16:16/32 and m16:16/32), RETF,
// IRET. Real and virtual-8086 mode only reload CS from the selector;
// protected mode checks descriptors (conforming and non-conforming code,
// call gates with a stack switch and parameter copy, task gates and TSSs),
// returns to outer privilege levels switch stacks back, and IRET handles
// nested tasks (NT) and returns to virtual-8086 mode.
//
// Everything is read and checked first, frames are probed, then the new
// state is committed, so a fault leaves the instruction restartable.
import {
  SEG_CS, SEG_SS, SEG_ES, SEG_DS, SEG_FS, SEG_GS, SEG_TR, SEG_LIMIT, SEG_BASE, REG_ESP, V_CPL, V_NMI_MASKED,
  EXC_GP, EXC_NP, EXC_SS, EXC_TS, FLAG_NT, FLAG_VM, FLAG_IF, FLAG_IOPL, FLAG_VIP, FLAG_VIF,
} from '../abi';
import {
  cpu, eip, abortInsn, opsize32, addr32, protMode, v86Mode, cpl, setFault, reg32, setReg32, refreshMode,
} from '../cpu/state';
import { getEflags, writeEflags } from '../cpu/flags';
import { fetch16, fetch32, eaSeg, eaOff } from '../cpu/decode';
import { readMem, writeMem, getSP, setSP, spAdd, readStack } from '../cpu/operand';
import { readLinSys } from '../cpu/mmu';
import { loadSegmentReal } from '../cpu/segload';
import {
  descLo, descHi, descLin, descBase, descLimit, descDpl, descType, isCode, isConformingCode, isWritableData,
  fetchDescriptorOr, setAccessed, selFault, segReg, segSel, loadCS, loadDescriptorCache, nullInaccessibleSegments,
  innerStack, newSS, newSSLo, newSSHi, newSSLin, newESP,
  frameBegin, frameBeginCurrent, framePush, frameSp, frameIsBig,
  D_P, D_S, D_BIG, T_TSS16, T_TSS32, T_TASK, T_CALL16, T_CALL32, T_TSS16_BUSY, T_TSS32_BUSY,
} from '../cpu/descriptors';
import { taskSwitch, taskGate, TS_JMP, TS_CALL, TS_IRET } from '../cpu/task';

@inline function csLimit(): u32 {
  return load<u32>(segReg(SEG_CS), SEG_LIMIT);
}

// --- operands ----------------------------------------------------------------------

let fpOff: u32 = 0;
let fpSel: u32 = 0;

/** Reads a far pointer m16:16 / m16:32 at the ModRM address into fpOff/fpSel. */
function readFarPointer(): void {
  if (opsize32) {
    fpOff = readMem<u32>(eaSeg, eaOff);
    if (abortInsn) return;
    fpSel = readMem<u16>(eaSeg, addr32 ? eaOff + 4 : (eaOff + 4) & 0xffff);
  } else {
    fpOff = readMem<u16>(eaSeg, eaOff);
    if (abortInsn) return;
    fpSel = readMem<u16>(eaSeg, addr32 ? eaOff + 2 : (eaOff + 2) & 0xffff);
  }
}
function fetchFarPointer(): void {
  fpOff = opsize32 ? fetch32() : fetch16();
  fpSel = fetch16();
}

export function jmpFarImm(): void {
  fetchFarPointer();
  if (abortInsn) return;
  jmpFar(fpSel, fpOff);
}
export function jmpFarE(): void {
  readFarPointer();
  if (abortInsn) return;
  jmpFar(fpSel, fpOff);
}
export function callFarImm(): void {
  fetchFarPointer();
  if (abortInsn) return;
  callFar(fpSel, fpOff);
}
export function callFarE(): void {
  readFarPointer();
  if (abortInsn) return;
  callFar(fpSel, fpOff);
}

// --- JMP far -------------------------------------------------------------------------

function jmpFar(sel: u32, off: u32): void {
  if (!protMode || v86Mode) {
    if (off > csLimit()) { setFault(EXC_GP, 0, true); return; }
    loadSegmentReal(SEG_CS, sel);
    eip = off;
    return;
  }
  if ((sel & 0xfffc) == 0) { setFault(EXC_GP, 0, true); return; }
  if (!fetchDescriptorOr(sel, EXC_GP)) return;
  const lo = descLo, hi = descHi, lin = descLin;
  const dpl = descDpl(hi);
  const rpl = sel & 3;
  if (hi & D_S) {
    if (!checkCodeTarget(sel, hi)) return;
    if (off > descLimit(lo, hi)) { setFault(EXC_GP, 0, true); return; }
    setAccessed(lin, hi);
    if (abortInsn) return;
    loadCS(sel, lo, hi, cpl);
    eip = off;
    return;
  }
  switch (descType(hi)) {
    case T_TSS16: case T_TSS32:
      // A TSS descriptor is valid only in the GDT.
      if ((sel & 4) || dpl < cpl || dpl < rpl) { selFault(EXC_GP, sel); return; }
      if (!(hi & D_P)) { selFault(EXC_NP, sel); return; }
      taskSwitch(sel, lo, hi, lin, TS_JMP, false, 0);
      return;
    case T_TASK:
      if (dpl < cpl || dpl < rpl) { selFault(EXC_GP, sel); return; }
      if (!(hi & D_P)) { selFault(EXC_NP, sel); return; }
      taskGate(lo >>> 16, TS_JMP, false, 0);
      return;
    case T_CALL16: case T_CALL32: {
      if (dpl < cpl || dpl < rpl) { selFault(EXC_GP, sel); return; }
      if (!(hi & D_P)) { selFault(EXC_NP, sel); return; }
      const csel = lo >>> 16;
      const goff = descType(hi) == T_CALL32 ? (lo & 0xffff) | (hi & 0xffff0000) : lo & 0xffff;
      if ((csel & 0xfffc) == 0) { setFault(EXC_GP, 0, true); return; }
      if (!fetchDescriptorOr(csel, EXC_GP)) return;
      const clo = descLo, chi = descHi, clin = descLin;
      const cdpl = descDpl(chi);
      // JMP never changes the privilege level: conforming DPL <= CPL, else DPL == CPL.
      if (!isCode(chi) || (isConformingCode(chi) ? cdpl > cpl : cdpl != cpl)) { selFault(EXC_GP, csel); return; }
      if (!(chi & D_P)) { selFault(EXC_NP, csel); return; }
      if (goff > descLimit(clo, chi)) { setFault(EXC_GP, 0, true); return; }
      setAccessed(clin, chi);
      if (abortInsn) return;
      loadCS(csel, clo, chi, cpl);
      eip = goff;
      return;
    }
    default:
      selFault(EXC_GP, sel);
  }
}

/** A code segment named directly by JMP/CALL far: #GP(sel) unless usable at CPL, #NP(sel) if absent. */
function checkCodeTarget(sel: u32, hi: u32): bool {
  const dpl = descDpl(hi);
  if (!isCode(hi)) return selFault(EXC_GP, sel);
  if (isConformingCode(hi)) {
    if (dpl > cpl) return selFault(EXC_GP, sel);
  } else if ((sel & 3) > cpl || dpl != cpl) {
    return selFault(EXC_GP, sel);
  }
  if (!(hi & D_P)) return selFault(EXC_NP, sel);
  return true;
}

// --- CALL far ------------------------------------------------------------------------

function callFar(sel: u32, off: u32): void {
  const n: u32 = opsize32 ? 4 : 2;
  if (!protMode || v86Mode) {
    if (off > csLimit()) { setFault(EXC_GP, 0, true); return; }
    const sp = getSP();
    const cs = segSel(SEG_CS);
    if (n == 4) {
      writeMem<u32>(SEG_SS, spAdd(sp, -4), cs);
      if (abortInsn) return;
      writeMem<u32>(SEG_SS, spAdd(sp, -8), eip);
    } else {
      writeMem<u16>(SEG_SS, spAdd(sp, -2), <u16>cs);
      if (abortInsn) return;
      writeMem<u16>(SEG_SS, spAdd(sp, -4), <u16>eip);
    }
    if (abortInsn) return;
    setSP(spAdd(sp, -2 * n));
    loadSegmentReal(SEG_CS, sel);
    eip = off;
    return;
  }
  if ((sel & 0xfffc) == 0) { setFault(EXC_GP, 0, true); return; }
  if (!fetchDescriptorOr(sel, EXC_GP)) return;
  const lo = descLo, hi = descHi, lin = descLin;
  const dpl = descDpl(hi);
  const rpl = sel & 3;
  if (hi & D_S) {
    if (!checkCodeTarget(sel, hi)) return;
    if (off > descLimit(lo, hi)) { setFault(EXC_GP, 0, true); return; }
    pushReturn(n, lin, hi);
    if (abortInsn) return;
    loadCS(sel, lo, hi, cpl);
    eip = off;
    return;
  }
  switch (descType(hi)) {
    case T_TSS16: case T_TSS32:
      // A TSS descriptor is valid only in the GDT.
      if ((sel & 4) || dpl < cpl || dpl < rpl) { selFault(EXC_GP, sel); return; }
      if (!(hi & D_P)) { selFault(EXC_NP, sel); return; }
      taskSwitch(sel, lo, hi, lin, TS_CALL, false, 0);
      return;
    case T_TASK:
      if (dpl < cpl || dpl < rpl) { selFault(EXC_GP, sel); return; }
      if (!(hi & D_P)) { selFault(EXC_NP, sel); return; }
      taskGate(lo >>> 16, TS_CALL, false, 0);
      return;
    case T_CALL16: case T_CALL32:
      if (dpl < cpl || dpl < rpl) { selFault(EXC_GP, sel); return; }
      if (!(hi & D_P)) { selFault(EXC_NP, sel); return; }
      callGate(lo, hi);
      return;
    default:
      selFault(EXC_GP, sel);
  }
}

/** Pushes CS:EIP (n bytes each) on the current stack, probing first; sets the CS descriptor's accessed bit. */
function pushReturn(n: u32, csLin: u32, csHi: u32): void {
  const sp = getSP();
  const cs = segSel(SEG_CS);
  for (let pass = 0; pass < 2; pass++) {
    frameBeginCurrent(sp, pass == 1);
    framePush(cs, n);
    framePush(eip, n);
    if (abortInsn) return;
    if (pass == 0) {
      setAccessed(csLin, csHi);
      if (abortInsn) return;
    }
  }
  setSP(frameSp());
}

/** CALL through a call gate (gate checks done): same level, or a more privileged one with a stack switch. */
function callGate(lo: u32, hi: u32): void {
  const gate32 = descType(hi) == T_CALL32;
  const n: u32 = gate32 ? 4 : 2;
  const count = hi & 0x1f;
  const csel = lo >>> 16;
  const goff = gate32 ? (lo & 0xffff) | (hi & 0xffff0000) : lo & 0xffff;
  if ((csel & 0xfffc) == 0) { setFault(EXC_GP, 0, true); return; }
  if (!fetchDescriptorOr(csel, EXC_GP)) return;
  const clo = descLo, chi = descHi, clin = descLin;
  const cdpl = descDpl(chi);
  if (!isCode(chi) || cdpl > cpl) { selFault(EXC_GP, csel); return; }
  if (!(chi & D_P)) { selFault(EXC_NP, csel); return; }

  if (isConformingCode(chi) || cdpl == cpl) {
    if (goff > descLimit(clo, chi)) { setFault(EXC_GP, 0, true); return; }
    pushReturn(n, clin, chi);
    if (abortInsn) return;
    loadCS(csel, clo, chi, cpl);
    eip = goff;
    return;
  }

  // More privileged: the stack for the new CPL comes from the TSS; the
  // caller's SS:ESP, `count` parameters and CS:EIP are pushed on it.
  if (!innerStack(cdpl)) return;
  const ss = newSS, sslo = newSSLo, sshi = newSSHi, sslin = newSSLin, esp = newESP;
  const ssBase = descBase(sslo, sshi);
  const ssLimit = descLimit(sslo, sshi);
  const oldSS = segSel(SEG_SS);
  const oldESP = reg32(REG_ESP);
  const oldSP = getSP();
  const oldCS = segSel(SEG_CS);
  for (let pass = 0; pass < 2; pass++) {
    frameBegin(ssBase, ssLimit, sshi, esp, false, ss, pass == 1);
    framePush(oldSS, n);
    framePush(oldESP, n);
    for (let i = count; i > 0; i--) {
      const p = gate32 ? readStack<u32>(spAdd(oldSP, (i - 1) * 4)) : <u32>readStack<u16>(spAdd(oldSP, (i - 1) * 2));
      if (abortInsn) return;
      framePush(p, n);
    }
    framePush(oldCS, n);
    framePush(eip, n);
    if (abortInsn) return;
    if (pass == 0) {
      if (goff > descLimit(clo, chi)) { setFault(EXC_GP, 0, true); return; }
      setAccessed(sslin, sshi);
      if (abortInsn) return;
      setAccessed(clin, chi);
      if (abortInsn) return;
    }
  }
  const sp = frameSp();
  const big = frameIsBig();
  store<u32>(cpu + V_CPL, cdpl);
  loadDescriptorCache(SEG_SS, ss, sslo, sshi);
  setReg32(REG_ESP, big ? sp : (esp & 0xffff0000) | sp);
  loadCS(csel, clo, chi, cdpl);
  eip = goff;
}

// --- RETF ----------------------------------------------------------------------------

export function retFar(withImm: bool): void {
  const imm = withImm ? fetch16() : 0;
  if (abortInsn) return;
  const n: u32 = opsize32 ? 4 : 2;
  const sp = getSP();
  const off = n == 4 ? readStack<u32>(sp) : <u32>readStack<u16>(sp);
  if (abortInsn) return;
  const sel = <u32>readStack<u16>(spAdd(sp, n));
  if (abortInsn) return;
  if (!protMode || v86Mode) {
    if (off > csLimit()) { setFault(EXC_GP, 0, true); return; }
    loadSegmentReal(SEG_CS, sel);
    eip = off;
    setSP(spAdd(sp, 2 * n + imm));
    return;
  }
  const rpl = sel & 3;
  if ((sel & 0xfffc) == 0) { setFault(EXC_GP, 0, true); return; }
  if (!fetchDescriptorOr(sel, EXC_GP)) return;
  const lo = descLo, hi = descHi, lin = descLin;
  if (!checkReturnCode(sel, hi)) return;
  if (rpl == cpl) {
    if (off > descLimit(lo, hi)) { setFault(EXC_GP, 0, true); return; }
    setAccessed(lin, hi);
    if (abortInsn) return;
    loadCS(sel, lo, hi, cpl);
    eip = off;
    setSP(spAdd(sp, 2 * n + imm));
    return;
  }
  // Outer privilege level: SS:ESP follow the parameters.
  const sp2 = spAdd(sp, 2 * n + imm);
  const nesp = n == 4 ? readStack<u32>(sp2) : <u32>readStack<u16>(sp2);
  if (abortInsn) return;
  const nss = <u32>readStack<u16>(spAdd(sp2, n));
  if (abortInsn) return;
  if (!checkOuterStack(nss, rpl)) return;
  const slo = descLo, shi = descHi, slin = descLin;
  if (off > descLimit(lo, hi)) { setFault(EXC_GP, 0, true); return; }
  setAccessed(lin, hi);
  if (abortInsn) return;
  setAccessed(slin, shi);
  if (abortInsn) return;
  loadCS(sel, lo, hi, rpl);
  loadDescriptorCache(SEG_SS, nss, slo, shi);
  setOuterEsp(nesp + imm, shi);
  eip = off;
  nullInaccessibleSegments();
}

/** The CS of RETF/IRET: a present code segment usable at its RPL, which may not be below the CPL. */
function checkReturnCode(sel: u32, hi: u32): bool {
  const rpl = sel & 3;
  const dpl = descDpl(hi);
  if (!isCode(hi) || rpl < cpl) return selFault(EXC_GP, sel);
  if (isConformingCode(hi) ? dpl > rpl : dpl != rpl) return selFault(EXC_GP, sel);
  if (!(hi & D_P)) return selFault(EXC_NP, sel);
  return true;
}

/** The SS of a return to an outer level (descriptor left in descLo/descHi/descLin). */
function checkOuterStack(ss: u32, rpl: u32): bool {
  if ((ss & 0xfffc) == 0) { setFault(EXC_GP, 0, true); return false; }
  if ((ss & 3) != rpl) return selFault(EXC_GP, ss);
  if (!fetchDescriptorOr(ss, EXC_GP)) return false;
  const hi = descHi;
  if (!isWritableData(hi) || descDpl(hi) != rpl) return selFault(EXC_GP, ss);
  if (!(hi & D_P)) return selFault(EXC_SS, ss);
  return true;
}

function setOuterEsp(v: u32, ssHi: u32): void {
  if (ssHi & D_BIG) setReg32(REG_ESP, v);
  else setReg32(REG_ESP, (reg32(REG_ESP) & 0xffff0000) | (v & 0xffff));
}

// --- IRET ----------------------------------------------------------------------------

export function iret(): void {
  if (!protMode) iretReal();
  else if (v86Mode) {
    // Without VME, IRET in v86 mode is IOPL-sensitive.
    if ((getEflags() & FLAG_IOPL) != FLAG_IOPL) { setFault(EXC_GP, 0, true); return; }
    iretReal();
  } else if (getEflags() & FLAG_NT) iretTask();
  else iretProtected();
  if (abortInsn) return;
  // IRET ends an NMI handler: NMIs are unmasked.
  store<u32>(cpu + V_NMI_MASKED, 0);
}

/** Real mode, and v86 mode at IOPL 3 (which cannot change IOPL, VM, VIF or VIP). */
function iretReal(): void {
  const n: u32 = opsize32 ? 4 : 2;
  const sp = getSP();
  const off = n == 4 ? readStack<u32>(sp) : <u32>readStack<u16>(sp);
  if (abortInsn) return;
  const sel = <u32>readStack<u16>(spAdd(sp, n));
  if (abortInsn) return;
  const fl = n == 4 ? readStack<u32>(spAdd(sp, 2 * n)) : <u32>readStack<u16>(spAdd(sp, 2 * n));
  if (abortInsn) return;
  if (off > csLimit()) { setFault(EXC_GP, 0, true); return; }
  const cur = getEflags();
  let mask: u32 = n == 4 ? 0x257fd5 : 0x7fd5; // everything but VM, VIF, VIP
  if (v86Mode) mask &= ~FLAG_IOPL;
  loadSegmentReal(SEG_CS, sel);
  eip = off;
  setSP(spAdd(sp, 3 * n));
  writeEflags((cur & ~mask) | (fl & mask));
}

/** NT=1: return to the task named by the back link of the current TSS. */
function iretTask(): void {
  const link = <u32>readLinSys<u16>(<u32>load<u64>(segReg(SEG_TR), SEG_BASE));
  if (abortInsn) return;
  if (link & 4) { selFault(EXC_TS, link); return; }
  if (!fetchDescriptorOr(link, EXC_TS)) return;
  const hi = descHi;
  const t = descType(hi);
  if (t != T_TSS16_BUSY && t != T_TSS32_BUSY) { selFault(EXC_TS, link); return; }
  if (!(hi & D_P)) { selFault(EXC_NP, link); return; }
  taskSwitch(link, descLo, hi, descLin, TS_IRET, false, 0);
}

function iretProtected(): void {
  const n: u32 = opsize32 ? 4 : 2;
  const sp = getSP();
  const off = n == 4 ? readStack<u32>(sp) : <u32>readStack<u16>(sp);
  if (abortInsn) return;
  const sel = <u32>readStack<u16>(spAdd(sp, n));
  if (abortInsn) return;
  const fl = n == 4 ? readStack<u32>(spAdd(sp, 2 * n)) : <u32>readStack<u16>(spAdd(sp, 2 * n));
  if (abortInsn) return;
  if (n == 4 && (fl & FLAG_VM) != 0 && cpl == 0) {
    iretToV86(sp, off, sel, fl);
    return;
  }
  const rpl = sel & 3;
  if ((sel & 0xfffc) == 0) { setFault(EXC_GP, 0, true); return; }
  if (!fetchDescriptorOr(sel, EXC_GP)) return;
  const lo = descLo, hi = descHi, lin = descLin;
  if (!checkReturnCode(sel, hi)) return;

  // Which flags may change depends on the CPL before the return.
  const cur = getEflags();
  const iopl = (cur & FLAG_IOPL) >> 12;
  let mask: u32 = 0x254dd5; // CF PF AF ZF SF TF DF OF NT RF AC ID
  if (cpl <= iopl) mask |= FLAG_IF;
  if (cpl == 0) mask |= FLAG_IOPL | FLAG_VIP | FLAG_VIF;
  if (n == 2) mask &= 0xffff;
  const newFlags = (cur & ~mask) | (fl & mask);

  if (rpl == cpl) {
    if (off > descLimit(lo, hi)) { setFault(EXC_GP, 0, true); return; }
    setAccessed(lin, hi);
    if (abortInsn) return;
    loadCS(sel, lo, hi, cpl);
    eip = off;
    setSP(spAdd(sp, 3 * n));
    writeEflags(newFlags);
    return;
  }
  const sp3 = spAdd(sp, 3 * n);
  const nesp = n == 4 ? readStack<u32>(sp3) : <u32>readStack<u16>(sp3);
  if (abortInsn) return;
  const nss = <u32>readStack<u16>(spAdd(sp3, n));
  if (abortInsn) return;
  if (!checkOuterStack(nss, rpl)) return;
  const slo = descLo, shi = descHi, slin = descLin;
  if (off > descLimit(lo, hi)) { setFault(EXC_GP, 0, true); return; }
  setAccessed(lin, hi);
  if (abortInsn) return;
  setAccessed(slin, shi);
  if (abortInsn) return;
  writeEflags(newFlags);
  loadCS(sel, lo, hi, rpl);
  loadDescriptorCache(SEG_SS, nss, slo, shi);
  setOuterEsp(nesp, shi);
  eip = off;
  nullInaccessibleSegments();
}

/** IRETD at CPL 0 with VM=1 in the popped EFLAGS: ESP, SS, ES, DS, FS, GS follow on the stack. */
function iretToV86(sp: u32, off: u32, sel: u32, fl: u32): void {
  const nesp = readStack<u32>(spAdd(sp, 12));
  if (abortInsn) return;
  const nss = readStack<u32>(spAdd(sp, 16));
  if (abortInsn) return;
  const nes = readStack<u32>(spAdd(sp, 20));
  if (abortInsn) return;
  const nds = readStack<u32>(spAdd(sp, 24));
  if (abortInsn) return;
  const nfs = readStack<u32>(spAdd(sp, 28));
  if (abortInsn) return;
  const ngs = readStack<u32>(spAdd(sp, 32));
  if (abortInsn) return;
  if (off > 0xffff) { setFault(EXC_GP, 0, true); return; }
  writeEflags(fl); // VM=1: v86 mode from here on
  store<u32>(cpu + V_CPL, 3);
  refreshMode();
  loadSegmentReal(SEG_CS, sel & 0xffff);
  loadSegmentReal(SEG_SS, nss & 0xffff);
  loadSegmentReal(SEG_ES, nes & 0xffff);
  loadSegmentReal(SEG_DS, nds & 0xffff);
  loadSegmentReal(SEG_FS, nfs & 0xffff);
  loadSegmentReal(SEG_GS, ngs & 0xffff);
  setReg32(REG_ESP, nesp);
  eip = off & 0xffff;
}
