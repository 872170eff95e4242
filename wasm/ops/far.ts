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
  EXC_GP, EXC_NP, EXC_SS, FLAG_NT, FLAG_VM, FLAG_IF, FLAG_IOPL, FLAG_VIP, FLAG_VIF,
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
  descLo, descHi, descLin, descLimit, descDpl, descType, isCode, isConformingCode, isWritableData,
  fetchDescriptorOr, setAccessed, selFault, segReg, segSel, loadCS, loadDescriptorCache, nullInaccessibleSegments,
  gateCode, gateSel, gateOff, innerStack, frameBeginInner, setAccessedInner, enterInner,
  frameBeginCurrent, framePush, frameSp,
  D_P, D_S, D_BIG, D_SYS32, T_TSS16, T_TSS32, T_TASK, T_CALL16, T_CALL32,
} from '../cpu/descriptors';
import { taskSwitch, switchToTss, TS_JMP, TS_CALL, TS_IRET } from '../cpu/task';

@inline function csLimit(): u32 {
  return load<u32>(segReg(SEG_CS), SEG_LIMIT);
}

// --- operands ----------------------------------------------------------------------

// The far pointer an instruction reads (JMP/CALL) or pops (RETF/IRET, with EFLAGS).
let fpOff: u32 = 0;
let fpSel: u32 = 0;
let fpFlags: u32 = 0;

/** Reads a far pointer m16:16 / m16:32 at the ModRM address into fpOff/fpSel; false if that faulted. */
function readFarPointer(): bool {
  const n: u32 = opsize32 ? 4 : 2;
  fpOff = opsize32 ? readMem<u32>(eaSeg, eaOff) : <u32>readMem<u16>(eaSeg, eaOff);
  if (abortInsn) return false;
  fpSel = readMem<u16>(eaSeg, addr32 ? eaOff + n : (eaOff + n) & 0xffff);
  return !abortInsn;
}
/** Fetches a far pointer ptr16:16 / ptr16:32 (offset first) into fpOff/fpSel. */
function fetchFarPointer(): bool {
  fpOff = opsize32 ? fetch32() : fetch16();
  fpSel = fetch16();
  return !abortInsn;
}

export function jmpFarImm(): void {
  if (fetchFarPointer()) farTransfer(fpSel, fpOff, false);
}
export function jmpFarE(): void {
  if (readFarPointer()) farTransfer(fpSel, fpOff, false);
}
export function callFarImm(): void {
  if (fetchFarPointer()) farTransfer(fpSel, fpOff, true);
}
export function callFarE(): void {
  if (readFarPointer()) farTransfer(fpSel, fpOff, true);
}

// --- JMP and CALL far ----------------------------------------------------------------

/**
 * JMP far (`call` false) and CALL far to sel:off (SDM Vol. 2A, JMP and CALL;
 * Vol. 3A 5.8, 7.3). Both accept the same targets with the same checks: a
 * code segment usable at the CPL, a TSS or a task gate (a task switch), or a
 * call gate. They differ where the SDM says: CALL pushes the return address
 * (on a more privileged level's stack through a call gate, see
 * callGateInner), and JMP through a call gate never changes the privilege
 * level.
 */
function farTransfer(sel: u32, off: u32, call: bool): void {
  if (!protMode || v86Mode) { farTransferReal(sel, off, call); return; }
  if ((sel & 0xfffc) == 0) { setFault(EXC_GP, 0, true); return; }
  if (!fetchDescriptorOr(sel, EXC_GP)) return;
  let lo = descLo, hi = descHi, lin = descLin;
  // The return address CALL pushes: the operand size, or a call gate's size.
  let n: u32 = opsize32 ? 4 : 2;
  if (hi & D_S) {
    if (!checkCodeTarget(sel, hi)) return;
  } else {
    // A system descriptor: a gate or TSS of DPL >= CPL and >= RPL.
    const type = descType(hi);
    const tss = type == T_TSS16 || type == T_TSS32;
    if (!tss && type != T_TASK && type != T_CALL16 && type != T_CALL32) { selFault(EXC_GP, sel); return; }
    const dpl = descDpl(hi);
    // A TSS descriptor is valid only in the GDT.
    if ((tss && (sel & 4) != 0) || dpl < cpl || dpl < (sel & 3)) { selFault(EXC_GP, sel); return; }
    if (!(hi & D_P)) { selFault(EXC_NP, sel); return; }
    const source = call ? TS_CALL : TS_JMP;
    if (tss) { taskSwitch(sel, lo, hi, lin, source, false, 0); return; }
    if (type == T_TASK) { switchToTss(lo >>> 16, source, false, 0); return; }
    // A call gate: on to the code segment it names.
    const gateHi = hi;
    if (!gateCode(lo, hi, !call)) return;
    sel = gateSel;
    off = gateOff;
    lo = descLo;
    hi = descHi;
    lin = descLin;
    n = (gateHi & D_SYS32) ? 4 : 2;
    if (!isConformingCode(hi) && descDpl(hi) < cpl) {
      callGateInner(sel, off, lo, hi, lin, n, gateHi & 0x1f);
      return;
    }
  }
  // Same privilege level: CPL unchanged, CS.RPL := CPL.
  if (off > descLimit(lo, hi)) { setFault(EXC_GP, 0, true); return; }
  if (call) pushReturn(n, lin, hi);
  else setAccessed(lin, hi);
  if (abortInsn) return;
  loadCS(sel, lo, hi, cpl);
  eip = off;
}

/** Real and virtual-8086 mode: CS is reloaded from the selector; CALL pushes CS and (E)IP on the stack. */
function farTransferReal(sel: u32, off: u32, call: bool): void {
  if (off > csLimit()) { setFault(EXC_GP, 0, true); return; }
  if (call) {
    const sp = getSP();
    const cs = segSel(SEG_CS);
    if (opsize32) {
      writeMem<u32>(SEG_SS, spAdd(sp, -4), cs);
      if (abortInsn) return;
      writeMem<u32>(SEG_SS, spAdd(sp, -8), eip);
    } else {
      writeMem<u16>(SEG_SS, spAdd(sp, -2), <u16>cs);
      if (abortInsn) return;
      writeMem<u16>(SEG_SS, spAdd(sp, -4), <u16>eip);
    }
    if (abortInsn) return;
    setSP(spAdd(sp, opsize32 ? -8 : -4));
  }
  loadSegmentReal(SEG_CS, sel);
  eip = off;
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

/**
 * CALL through a call gate to a more privileged level (code segment
 * sel/lo/hi/lin checked): the stack for the new CPL comes from the TSS; the
 * caller's SS:ESP, `count` parameters copied from the caller's stack and
 * CS:EIP are pushed on it, n bytes each (the gate's size). SDM Vol. 3A 5.8.5.
 */
function callGateInner(sel: u32, off: u32, lo: u32, hi: u32, lin: u32, n: u32, count: u32): void {
  const dpl = descDpl(hi);
  if (!innerStack(dpl)) return;
  const oldSS = segSel(SEG_SS);
  const oldESP = reg32(REG_ESP);
  const oldSP = getSP();
  const oldCS = segSel(SEG_CS);
  for (let pass = 0; pass < 2; pass++) {
    frameBeginInner(pass == 1);
    framePush(oldSS, n);
    framePush(oldESP, n);
    for (let i = count; i > 0; i--) {
      const p = n == 4 ? readStack<u32>(spAdd(oldSP, (i - 1) * 4)) : <u32>readStack<u16>(spAdd(oldSP, (i - 1) * 2));
      if (abortInsn) return;
      framePush(p, n);
    }
    framePush(oldCS, n);
    framePush(eip, n);
    if (abortInsn) return;
    if (pass == 0) {
      if (off > descLimit(lo, hi)) { setFault(EXC_GP, 0, true); return; }
      setAccessedInner(lin, hi);
      if (abortInsn) return;
    }
  }
  enterInner(sel, lo, hi, dpl);
  eip = off;
}

// --- RETF ----------------------------------------------------------------------------

export function retFar(withImm: bool): void {
  const imm = withImm ? fetch16() : 0;
  if (abortInsn) return;
  const n: u32 = opsize32 ? 4 : 2;
  const sp = getSP();
  if (!popReturn(sp, n, false)) return;
  if (!protMode || v86Mode) {
    if (fpOff > csLimit()) { setFault(EXC_GP, 0, true); return; }
    loadSegmentReal(SEG_CS, fpSel);
    eip = fpOff;
    setSP(spAdd(sp, 2 * n + imm));
    return;
  }
  returnProtected(sp, n, 2 * n, imm, false, 0);
}

/** Reads the EIP and CS (and EFLAGS) a far return pops, n bytes each, at `sp` into fpOff/fpSel/fpFlags. */
function popReturn(sp: u32, n: u32, withFlags: bool): bool {
  fpOff = n == 4 ? readStack<u32>(sp) : <u32>readStack<u16>(sp);
  if (abortInsn) return false;
  fpSel = <u32>readStack<u16>(spAdd(sp, n));
  if (abortInsn) return false;
  if (withFlags) {
    const at = spAdd(sp, 2 * n);
    fpFlags = n == 4 ? readStack<u32>(at) : <u32>readStack<u16>(at);
    if (abortInsn) return false;
  }
  return true;
}

/**
 * Protected-mode RETF and IRET once CS:EIP (fpSel:fpOff) are popped from
 * `size` bytes at `sp` (SDM Vol. 2A, RET and IRET: RETURN-TO-SAME- and
 * -OUTER-PRIVILEGE-LEVEL). An outer level takes SS:ESP from above the
 * frame and the `imm` bytes of RETF's parameters, and nulls the data
 * segment registers it may not use. IRET (`iret`) also writes `flags`.
 */
function returnProtected(sp: u32, n: u32, size: u32, imm: u32, iret: bool, flags: u32): void {
  const sel = fpSel, off = fpOff;
  const rpl = sel & 3;
  if ((sel & 0xfffc) == 0) { setFault(EXC_GP, 0, true); return; }
  if (!fetchDescriptorOr(sel, EXC_GP)) return;
  const lo = descLo, hi = descHi, lin = descLin;
  if (!checkReturnCode(sel, hi)) return;
  const above = spAdd(sp, size + imm);
  if (rpl == cpl) {
    if (off > descLimit(lo, hi)) { setFault(EXC_GP, 0, true); return; }
    setAccessed(lin, hi);
    if (abortInsn) return;
    loadCS(sel, lo, hi, cpl);
    eip = off;
    setSP(above);
    if (iret) writeEflags(flags);
    return;
  }
  const nesp = n == 4 ? readStack<u32>(above) : <u32>readStack<u16>(above);
  if (abortInsn) return;
  const nss = <u32>readStack<u16>(spAdd(above, n));
  if (abortInsn) return;
  if (!checkOuterStack(nss, rpl)) return;
  const slo = descLo, shi = descHi, slin = descLin;
  if (off > descLimit(lo, hi)) { setFault(EXC_GP, 0, true); return; }
  setAccessed(lin, hi);
  if (abortInsn) return;
  setAccessed(slin, shi);
  if (abortInsn) return;
  if (iret) writeEflags(flags);
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
  if (!popReturn(sp, n, true)) return;
  if (fpOff > csLimit()) { setFault(EXC_GP, 0, true); return; }
  const cur = getEflags();
  let mask: u32 = n == 4 ? 0x257fd5 : 0x7fd5; // everything but VM, VIF, VIP
  if (v86Mode) mask &= ~FLAG_IOPL;
  loadSegmentReal(SEG_CS, fpSel);
  eip = fpOff;
  setSP(spAdd(sp, 3 * n));
  writeEflags((cur & ~mask) | (fpFlags & mask));
}

/** NT=1: return to the task named by the back link of the current TSS. */
function iretTask(): void {
  const link = <u32>readLinSys<u16>(<u32>load<u64>(segReg(SEG_TR), SEG_BASE));
  if (!abortInsn) switchToTss(link, TS_IRET, false, 0);
}

function iretProtected(): void {
  const n: u32 = opsize32 ? 4 : 2;
  const sp = getSP();
  if (!popReturn(sp, n, true)) return;
  const fl = fpFlags;
  if (n == 4 && (fl & FLAG_VM) != 0 && cpl == 0) {
    iretToV86(sp, fpOff, fpSel, fl);
    return;
  }
  // Which flags may change depends on the CPL before the return.
  const cur = getEflags();
  const iopl = (cur & FLAG_IOPL) >> 12;
  let mask: u32 = 0x254dd5; // CF PF AF ZF SF TF DF OF NT RF AC ID
  if (cpl <= iopl) mask |= FLAG_IF;
  if (cpl == 0) mask |= FLAG_IOPL | FLAG_VIP | FLAG_VIF;
  if (n == 2) mask &= 0xffff;
  returnProtected(sp, n, 3 * n, 0, true, (cur & ~mask) | (fl & mask));
}

/** The dword `at` bytes above `sp` on the stack; 0 without an access once one has faulted. */
@inline function stackDword(sp: u32, at: u32): u32 {
  return abortInsn ? 0 : readStack<u32>(spAdd(sp, at));
}

/** IRETD at CPL 0 with VM=1 in the popped EFLAGS: ESP, SS, ES, DS, FS, GS follow on the stack. */
function iretToV86(sp: u32, off: u32, sel: u32, fl: u32): void {
  const nesp = stackDword(sp, 12);
  const nss = stackDword(sp, 16);
  const nes = stackDword(sp, 20);
  const nds = stackDword(sp, 24);
  const nfs = stackDword(sp, 28);
  const ngs = stackDword(sp, 32);
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
