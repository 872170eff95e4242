// The hardware task switch (SDM Vol. 3, 7.3), for 32-bit and 16-bit TSSs:
// JMP/CALL to a TSS or a task gate, INT/exceptions through a task gate, and
// IRET with NT=1 (back to the task in the back link).
//
// Up to the commit point (the first write to the old TSS) every check, read
// and probe is done with nothing changed, so a fault there restarts the
// instruction. After it, the switch completes: faults while loading the new
// task's segment registers are raised in the new task's context (its EIP is
// the restart point), as on real processors.
//
// 32-bit TSS: 0 link, 4 ESP0, 8 SS0, 0C ESP1, 10 SS1, 14 ESP2, 18 SS2, 1C CR3,
//   20 EIP, 24 EFLAGS, 28..44 EAX ECX EDX EBX ESP EBP ESI EDI,
//   48..5C ES CS SS DS FS GS (dword slots), 60 LDT, 64 T, 66 I/O map base.
// 16-bit TSS: 0 link, 2..0C SP0 SS0 SP1 SS1 SP2 SS2, 0E IP, 10 FLAGS,
//   12..20 AX..DI, 22..28 ES CS SS DS, 2A LDT.
import {
  V_CR0, V_CR3, V_DR, V_CPL, V_GDTR_BASE, SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR,
  SEG_SEL, SEG_ATTR, SEG_LIMIT, SEG_BASE, CR0_TS, CR0_PG, FLAG_NT, FLAG_VM,
  EXC_GP, EXC_NP, EXC_SS, EXC_TS, EXC_DB,
} from '../abi';
import { deliverEvent, EV_EXCEPTION } from './interrupt';
import { cpu, eip, insnStart, abortInsn, refreshMode, setFault, reg32, setReg32 } from './state';
import { getEflags, writeEflags } from './flags';
import { readLinSys, writeLinSys, probeWrite, flushTlbAll } from './mmu';
import { push } from './operand';
import { invalidateFetch } from './decode';
import { setSegmentCache, loadSegmentReal } from './segload';
import {
  descLo, descHi, descLin, descBase, descLimit, descAttr, descDpl, descType, isCode, isConformingCode,
  isWritableData, fetchDescriptorOr, setAccessed, selFault, segReg, segSel, loadDescriptorCache,
  D_S, D_CODE, D_RW, D_P, D_SYS32, T_TSS16, T_TSS32, T_TSS16_BUSY, T_TSS32_BUSY, T_LDT,
} from './descriptors';

/** What caused the task switch (decides busy bits, the back link and NT). */
export const TS_JMP: u32 = 0;
export const TS_CALL: u32 = 1;
export const TS_IRET: u32 = 2;
export const TS_INT: u32 = 3;

/**
 * Switches to the task of TSS selector `sel`, named by a task gate
 * (JMP/CALL/INT, the gate's checks done by the caller) or by the back link
 * of the current TSS (IRET with NT = 1). It must be a GDT selector of a TSS
 * descriptor, available, or busy for IRET: #GP(sel) if not (#TS(sel) for
 * IRET); #NP(sel) if not present. SDM Vol. 3A 7.3, Vol. 2A IRET.
 */
export function switchToTss(sel: u32, source: u32, hasError: bool, error: u32): void {
  const vector = source == TS_IRET ? EXC_TS : EXC_GP;
  if (sel & 4) { selFault(vector, sel); return; }
  if (!fetchDescriptorOr(sel, vector)) return;
  const hi = descHi;
  const t = descType(hi);
  const ok = source == TS_IRET ? t == T_TSS16_BUSY || t == T_TSS32_BUSY : t == T_TSS16 || t == T_TSS32;
  if (!ok) { selFault(vector, sel); return; }
  if (!(hi & D_P)) { selFault(EXC_NP, sel); return; }
  taskSwitch(sel, descLo, hi, descLin, source, hasError, error);
}

/**
 * Switches to the task whose TSS descriptor (selector `sel`, words lo/hi at
 * linear `lin` in the GDT) has been checked by the caller: present, and
 * available (busy for IRET). The current EIP is saved as the old task's
 * return point. `hasError`: push `error` on the new task's stack (an
 * exception delivered through a task gate).
 */
export function taskSwitch(sel: u32, lo: u32, hi: u32, lin: u32, source: u32, hasError: bool, error: u32): void {
  const newBase = descBase(lo, hi);
  const newLimit = descLimit(lo, hi);
  const new32 = (hi & D_SYS32) != 0;
  const minLimit: u32 = new32 ? 0x67 : 0x2b;
  if (newLimit < minLimit) { selFault(EXC_TS, sel); return; }

  // The old TSS must hold the state to be saved.
  const tr = segReg(SEG_TR);
  const oldSel = load<u32>(tr, SEG_SEL);
  const oldBase = <u32>load<u64>(tr, SEG_BASE);
  const old32 = (load<u32>(tr, SEG_ATTR) & 8) != 0;
  const oldMin: u32 = old32 ? 0x5f : 0x29;
  if (load<u32>(tr, SEG_LIMIT) < oldMin) { selFault(EXC_TS, oldSel); return; }

  // Read the new task's state.
  let nCr3: u32 = 0, nEip: u32, nFlags: u32, nLdt: u32;
  let r0: u32, r1: u32, r2: u32, r3: u32, r4: u32, r5: u32, r6: u32, r7: u32;
  let sEs: u32, sCs: u32, sSs: u32, sDs: u32, sFs: u32 = 0, sGs: u32 = 0;
  let trapBit = false;
  if (new32) {
    nCr3 = readLinSys<u32>(newBase + 0x1c); if (abortInsn) return;
    nEip = readLinSys<u32>(newBase + 0x20); if (abortInsn) return;
    nFlags = readLinSys<u32>(newBase + 0x24); if (abortInsn) return;
    r0 = readLinSys<u32>(newBase + 0x28); if (abortInsn) return;
    r1 = readLinSys<u32>(newBase + 0x2c); if (abortInsn) return;
    r2 = readLinSys<u32>(newBase + 0x30); if (abortInsn) return;
    r3 = readLinSys<u32>(newBase + 0x34); if (abortInsn) return;
    r4 = readLinSys<u32>(newBase + 0x38); if (abortInsn) return;
    r5 = readLinSys<u32>(newBase + 0x3c); if (abortInsn) return;
    r6 = readLinSys<u32>(newBase + 0x40); if (abortInsn) return;
    r7 = readLinSys<u32>(newBase + 0x44); if (abortInsn) return;
    sEs = readLinSys<u16>(newBase + 0x48); if (abortInsn) return;
    sCs = readLinSys<u16>(newBase + 0x4c); if (abortInsn) return;
    sSs = readLinSys<u16>(newBase + 0x50); if (abortInsn) return;
    sDs = readLinSys<u16>(newBase + 0x54); if (abortInsn) return;
    sFs = readLinSys<u16>(newBase + 0x58); if (abortInsn) return;
    sGs = readLinSys<u16>(newBase + 0x5c); if (abortInsn) return;
    nLdt = readLinSys<u16>(newBase + 0x60); if (abortInsn) return;
    trapBit = (readLinSys<u16>(newBase + 0x64) & 1) != 0; if (abortInsn) return;
  } else {
    // A 16-bit task: the upper halves of the registers become 0xFFFF.
    nEip = readLinSys<u16>(newBase + 0x0e); if (abortInsn) return;
    nFlags = readLinSys<u16>(newBase + 0x10); if (abortInsn) return;
    r0 = 0xffff0000 | readLinSys<u16>(newBase + 0x12); if (abortInsn) return;
    r1 = 0xffff0000 | readLinSys<u16>(newBase + 0x14); if (abortInsn) return;
    r2 = 0xffff0000 | readLinSys<u16>(newBase + 0x16); if (abortInsn) return;
    r3 = 0xffff0000 | readLinSys<u16>(newBase + 0x18); if (abortInsn) return;
    r4 = 0xffff0000 | readLinSys<u16>(newBase + 0x1a); if (abortInsn) return;
    r5 = 0xffff0000 | readLinSys<u16>(newBase + 0x1c); if (abortInsn) return;
    r6 = 0xffff0000 | readLinSys<u16>(newBase + 0x1e); if (abortInsn) return;
    r7 = 0xffff0000 | readLinSys<u16>(newBase + 0x20); if (abortInsn) return;
    sEs = readLinSys<u16>(newBase + 0x22); if (abortInsn) return;
    sCs = readLinSys<u16>(newBase + 0x24); if (abortInsn) return;
    sSs = readLinSys<u16>(newBase + 0x26); if (abortInsn) return;
    sDs = readLinSys<u16>(newBase + 0x28); if (abortInsn) return;
    nLdt = readLinSys<u16>(newBase + 0x2a); if (abortInsn) return;
  }

  // Probe every write of the switch.
  const gdt = <u32>load<u64>(cpu + V_GDTR_BASE);
  const oldDesc = gdt + (oldSel & 0xfff8);
  const clearOldBusy = (source == TS_JMP || source == TS_IRET) && (oldSel & 0xfffc) != 0;
  const nest = source == TS_CALL || source == TS_INT;
  if (old32) probeWrite(oldBase + 0x20, 0x40, false); else probeWrite(oldBase + 0x0e, 0x1c, false);
  if (abortInsn) return;
  if (clearOldBusy) { probeWrite(oldDesc + 5, 1, false); if (abortInsn) return; }
  if (source != TS_IRET) { probeWrite(lin + 5, 1, false); if (abortInsn) return; }
  if (nest) { probeWrite(newBase, 2, false); if (abortInsn) return; }
  let oldDescByte: u32 = 0;
  if (clearOldBusy) { oldDescByte = readLinSys<u8>(oldDesc + 5); if (abortInsn) return; }

  // --- commit point: save the old task -----------------------------------------
  let oldFlags = getEflags();
  if (source == TS_IRET) oldFlags &= ~FLAG_NT;
  if (clearOldBusy) writeLinSys<u8>(oldDesc + 5, <u8>(oldDescByte & ~2));
  if (old32) {
    writeLinSys<u32>(oldBase + 0x20, eip);
    writeLinSys<u32>(oldBase + 0x24, oldFlags);
    for (let r: u32 = 0; r < 8; r++) writeLinSys<u32>(oldBase + 0x28 + r * 4, reg32(r));
    for (let s: i32 = 0; s < 6; s++) writeLinSys<u16>(oldBase + 0x48 + <u32>s * 4, <u16>segSel(s));
  } else {
    writeLinSys<u16>(oldBase + 0x0e, <u16>eip);
    writeLinSys<u16>(oldBase + 0x10, <u16>oldFlags);
    for (let r: u32 = 0; r < 8; r++) writeLinSys<u16>(oldBase + 0x12 + r * 2, <u16>reg32(r));
    for (let s: i32 = 0; s < 4; s++) writeLinSys<u16>(oldBase + 0x22 + <u32>s * 2, <u16>segSel(s));
  }
  if (nest) {
    writeLinSys<u16>(newBase, <u16>oldSel);
    nFlags |= FLAG_NT;
  }
  if (source != TS_IRET) writeLinSys<u8>(lin + 5, <u8>((hi >>> 8) | 2));

  // --- load the new task ----------------------------------------------------------
  setSegmentCache(SEG_TR, sel, newBase, newLimit, descAttr(hi | 0x200));
  store<u64>(cpu + V_CR0, load<u64>(cpu + V_CR0) | CR0_TS);
  // Local breakpoint enables are cleared by every task switch.
  store<u64>(cpu + V_DR + 7 * 8, load<u64>(cpu + V_DR + 7 * 8) & ~<u64>0x155);
  if (new32 && (load<u32>(cpu + V_CR0) & CR0_PG) != 0) {
    store<u64>(cpu + V_CR3, <u64>nCr3);
    flushTlbAll(true);
    invalidateFetch();
  }
  writeEflags(nFlags);
  setReg32(0, r0); setReg32(1, r1); setReg32(2, r2); setReg32(3, r3);
  setReg32(4, r4); setReg32(5, r5); setReg32(6, r6); setReg32(7, r7);
  eip = new32 ? nEip : nEip & 0xffff;
  // From here on a fault belongs to the new task: it restarts at its EIP.
  insnStart = eip;

  // The selectors are loaded first with unusable caches, then checked.
  const vm = (nFlags & FLAG_VM) != 0 && new32;
  store<u32>(cpu + V_CPL, vm ? 3 : sCs & 3);
  setSegmentCache(SEG_ES, sEs, 0, 0, 0);
  setSegmentCache(SEG_CS, sCs, 0, 0, 0);
  setSegmentCache(SEG_SS, sSs, 0, 0, 0);
  setSegmentCache(SEG_DS, sDs, 0, 0, 0);
  setSegmentCache(SEG_FS, sFs, 0, 0, 0);
  setSegmentCache(SEG_GS, sGs, 0, 0, 0);
  setSegmentCache(SEG_LDTR, nLdt, 0, 0, 0);
  refreshMode();

  // LDT: a GDT selector of an LDT descriptor (or null).
  if ((nLdt & 0xfffc) != 0) {
    if (nLdt & 4) { selFault(EXC_TS, nLdt); return; }
    if (!fetchDescriptorOr(nLdt, EXC_TS)) return;
    const lhi = descHi;
    if (descType(lhi) != T_LDT || !(lhi & D_P)) { selFault(EXC_TS, nLdt); return; }
    setSegmentCache(SEG_LDTR, nLdt, descBase(descLo, lhi), descLimit(descLo, lhi), descAttr(lhi));
  }

  if (vm) {
    loadSegmentReal(SEG_CS, sCs);
    loadSegmentReal(SEG_SS, sSs);
    loadSegmentReal(SEG_ES, sEs);
    loadSegmentReal(SEG_DS, sDs);
    loadSegmentReal(SEG_FS, sFs);
    loadSegmentReal(SEG_GS, sGs);
  } else {
    const newCpl = sCs & 3;
    if (!tssLoadSeg(SEG_CS, sCs, newCpl)) return;
    if (!tssLoadSeg(SEG_SS, sSs, newCpl)) return;
    if (!tssLoadSeg(SEG_ES, sEs, newCpl)) return;
    if (!tssLoadSeg(SEG_DS, sDs, newCpl)) return;
    if (!tssLoadSeg(SEG_FS, sFs, newCpl)) return;
    if (!tssLoadSeg(SEG_GS, sGs, newCpl)) return;
  }

  if (eip > load<u32>(segReg(SEG_CS), SEG_LIMIT)) { setFault(EXC_GP, 0, true); return; }
  if (hasError) {
    if (new32) push<u32>(error); else push<u16>(<u16>error);
    if (abortInsn) return;
  }
  if (trapBit) {
    // The TSS's T flag: a debug trap (DR6.BT) before the new task's first instruction.
    store<u64>(cpu + V_DR + 6 * 8, load<u64>(cpu + V_DR + 6 * 8) | 0x8000);
    deliverEvent(EXC_DB, EV_EXCEPTION, false, 0);
  }
}

/** Loads one segment register of the new task with the checks of SDM table 7-1 (#TS, #SS, #NP). */
function tssLoadSeg(seg: i32, sel: u32, newCpl: u32): bool {
  if ((sel & 0xfffc) == 0) {
    if (seg == SEG_CS || seg == SEG_SS) return selFault(EXC_TS, sel);
    return true; // already null
  }
  if (!fetchDescriptorOr(sel, EXC_TS)) return false;
  const lo = descLo, hi = descHi, lin = descLin;
  const dpl = descDpl(hi);
  const rpl = sel & 3;
  if (!(hi & D_S)) return selFault(EXC_TS, sel);
  if (seg == SEG_CS) {
    if (!isCode(hi)) return selFault(EXC_TS, sel);
    if (isConformingCode(hi) ? dpl > rpl : dpl != rpl) return selFault(EXC_TS, sel);
  } else if (seg == SEG_SS) {
    if (!isWritableData(hi) || dpl != newCpl || rpl != newCpl) return selFault(EXC_TS, sel);
  } else {
    if ((hi & D_CODE) && !(hi & D_RW)) return selFault(EXC_TS, sel);
    if (!isConformingCode(hi) && (dpl < newCpl || dpl < rpl)) return selFault(EXC_TS, sel);
  }
  if (!(hi & D_P)) return selFault(seg == SEG_SS ? EXC_SS : EXC_NP, sel);
  setAccessed(lin, hi);
  if (abortInsn) return false;
  loadDescriptorCache(seg, sel, lo, hi);
  return true;
}
