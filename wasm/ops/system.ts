// System instructions: segment register moves and far-pointer loads, ARPL,
// CLI/STI, groups 6 and 7 (descriptor tables, LDTR, TR, VERR/VERW, MSW,
// INVLPG), LAR/LSL, CLTS, INVD/WBINVD, control and debug registers,
// SYSENTER/SYSEXIT. The P6 family's rules: privileged instructions at
// CPL > 0 (which includes virtual-8086 mode) raise #GP(0).
import {
  V_CR0, V_CR2, V_CR3, V_CR4, V_DR, V_CPL, V_FLAGS, V_SHADOW, V_GDTR_BASE, V_GDTR_LIMIT, V_IDTR_BASE, V_IDTR_LIMIT,
  V_SYSENTER_CS, V_SYSENTER_ESP, V_SYSENTER_EIP, SEG_CS, SEG_SS, SEG_LDTR, SEG_TR, SEG_VALID,
  REG_ESP, REG_ECX, REG_EDX, EXC_GP, EXC_NP,
  CR0_PE, CR0_MP, CR0_EM, CR0_TS, CR0_ET, CR0_NE, CR0_WP, CR0_AM, CR0_NW, CR0_CD, CR0_PG,
  CR4_TSD, CR4_DE, CR4_PSE, CR4_PAE, CR4_MCE, CR4_PGE, CR4_PCE, CR4_OSFXSR, CR4_OSXMMEXCPT,
  FLAG_IF, FLAG_IOPL, FLAG_ZF, FLAG_VM, FLAG_RF,
} from '../abi';
import {
  cpu, eip, insnStart, abortInsn, opsize32, addr32, protMode, v86Mode, cpl, setFault, refreshMode,
  reg32, setReg32, setReg16, segBase, kickLoop,
} from '../cpu/state';
import { getEflags, writeEflags, setFlagBit } from '../cpu/flags';
import { fetch8, modrm, rmIsReg, eaSeg, eaOff, invalidateFetch } from '../cpu/decode';
import { readE, readMem, writeMem, readEForWrite, writeBackE } from '../cpu/operand';
import { segLinear, updateSegCheck } from '../cpu/segaccess';
import { writeLin, writeLinSys, probeWrite, flushTlbAll, flushTlbPage } from '../cpu/mmu';
import { loadSegment, setSegmentCache } from '../cpu/segload';
import { raiseUD } from '../cpu/exec';
import {
  descLo, descHi, descLin, descBase, descLimit, descAttr, descDpl, descType, isConformingCode, isWritableData,
  fetchDescriptor, fetchDescriptorOr, selFault, segSel,
  D_S, D_CODE, D_RW, D_P, T_TSS16, T_TSS32, T_LDT, T_TSS16_BUSY, T_TSS32_BUSY, T_CALL16, T_CALL32, T_TASK,
} from '../cpu/descriptors';

@inline function gp0(): void {
  setFault(EXC_GP, 0, true);
}

/** Stores a selector-sized value to the E operand: 16 bits to memory, zero-extended to a 32-bit register. */
function storeSelectorE(v: u32): void {
  if (rmIsReg) {
    if (opsize32) setReg32(modrm & 7, v & 0xffff);
    else setReg16(modrm & 7, <u16>v);
  } else {
    writeMem<u16>(eaSeg, eaOff, <u16>v);
  }
}

// --- segment registers ---------------------------------------------------------------

/** 8E: MOV Sreg, Ew. MOV to CS is #UD; MOV SS inhibits interrupts for one instruction. */
export function movSregEw(): void {
  const r = (modrm >> 3) & 7;
  if (r == SEG_CS || r > 5) { raiseUD(); return; }
  const sel = <u32>readE<u16>();
  if (abortInsn) return;
  loadSegment(r, sel);
  if (abortInsn) return;
  if (r == SEG_SS) { store<u32>(cpu + V_SHADOW, 1); kickLoop(); } // run() looks at the shadow at check points
}

/** 8C: MOV Ew, Sreg. */
export function movEwSreg(): void {
  const r = (modrm >> 3) & 7;
  if (r > 5) { raiseUD(); return; }
  storeSelectorE(segSel(r));
}

/** LDS/LES/LFS/LGS/LSS: offset (operand size) then selector. */
export function loadFarPointer(seg: i32): void {
  const n: u32 = opsize32 ? 4 : 2;
  const off = n == 4 ? readMem<u32>(eaSeg, eaOff) : <u32>readMem<u16>(eaSeg, eaOff);
  if (abortInsn) return;
  const sel = <u32>readMem<u16>(eaSeg, addr32 ? eaOff + n : (eaOff + n) & 0xffff);
  if (abortInsn) return;
  loadSegment(seg, sel);
  if (abortInsn) return;
  const r = (modrm >> 3) & 7;
  if (n == 4) setReg32(r, off); else setReg16(r, <u16>off);
}

/** 63: ARPL Ew, Gw (protected mode only). */
export function arpl(): void {
  if (!protMode || v86Mode) { raiseUD(); return; }
  const d = <u32>readEForWrite<u16>();
  if (abortInsn) return;
  const s = reg32((modrm >> 3) & 7) & 3;
  if ((d & 3) < s) {
    writeBackE<u16>(<u16>((d & ~3) | s));
    if (abortInsn) return;
    setFlagBit(FLAG_ZF, true);
  } else {
    setFlagBit(FLAG_ZF, false);
  }
}

// --- interrupt flag -------------------------------------------------------------------

/** CLI/STI: real mode always; v86 mode at IOPL 3; protected mode at CPL <= IOPL. */
function ifChangeAllowed(): bool {
  if (!protMode) return true;
  const iopl = (load<u32>(cpu + V_FLAGS) & FLAG_IOPL) >> 12;
  return v86Mode ? iopl == 3 : cpl <= iopl;
}
export function cli(): void {
  if (!ifChangeAllowed()) { gp0(); return; }
  store<u32>(cpu + V_FLAGS, load<u32>(cpu + V_FLAGS) & ~FLAG_IF);
}
export function sti(): void {
  if (!ifChangeAllowed()) { gp0(); return; }
  const f = load<u32>(cpu + V_FLAGS);
  if (!(f & FLAG_IF)) {
    store<u32>(cpu + V_FLAGS, f | FLAG_IF);
    // Interrupts stay off until after the next instruction.
    store<u32>(cpu + V_SHADOW, 1);
    kickLoop(); // run() looks at the shadow at check points
  }
}

// --- group 6: SLDT STR LLDT LTR VERR VERW ------------------------------------------------

export function group6(): void {
  if (!protMode || v86Mode) { raiseUD(); return; }
  switch ((modrm >> 3) & 7) {
    case 0: storeSelectorE(segSel(SEG_LDTR)); break;
    case 1: storeSelectorE(segSel(SEG_TR)); break;
    case 2: lldt(); break;
    case 3: ltr(); break;
    case 4: verify(false); break;
    case 5: verify(true); break;
    default: raiseUD(); break;
  }
}

function lldt(): void {
  if (cpl != 0) { gp0(); return; }
  const sel = <u32>readE<u16>();
  if (abortInsn) return;
  if ((sel & 0xfffc) == 0) {
    setSegmentCache(SEG_LDTR, sel, 0, 0, 0);
    return;
  }
  if (sel & 4) { selFault(EXC_GP, sel); return; }
  if (!fetchDescriptorOr(sel, EXC_GP)) return;
  const lo = descLo, hi = descHi;
  if (descType(hi) != T_LDT) { selFault(EXC_GP, sel); return; }
  if (!(hi & D_P)) { selFault(EXC_NP, sel); return; }
  setSegmentCache(SEG_LDTR, sel, descBase(lo, hi), descLimit(lo, hi), descAttr(hi));
}

function ltr(): void {
  if (cpl != 0) { gp0(); return; }
  const sel = <u32>readE<u16>();
  if (abortInsn) return;
  if ((sel & 0xfffc) == 0) { gp0(); return; }
  if (sel & 4) { selFault(EXC_GP, sel); return; }
  if (!fetchDescriptorOr(sel, EXC_GP)) return;
  const lo = descLo, hi = descHi, lin = descLin;
  const t = descType(hi);
  if (t != T_TSS16 && t != T_TSS32) { selFault(EXC_GP, sel); return; }
  if (!(hi & D_P)) { selFault(EXC_NP, sel); return; }
  // The TSS becomes busy.
  writeLinSys<u8>(lin + 5, <u8>((hi >>> 8) | 2));
  if (abortInsn) return;
  setSegmentCache(SEG_TR, sel, descBase(lo, hi), descLimit(lo, hi), descAttr(hi | 0x200));
}

/** VERR (write = false) / VERW: ZF = the segment is readable / writable at CPL and RPL. */
function verify(write: bool): void {
  const sel = <u32>readE<u16>();
  if (abortInsn) return;
  let ok = false;
  if ((sel & 0xfffc) != 0 && fetchDescriptor(sel)) {
    const hi = descHi;
    const dpl = descDpl(hi);
    const privOk = dpl >= cpl && dpl >= (sel & 3);
    if (hi & D_S) {
      if (write) ok = isWritableData(hi) && privOk;
      else if (hi & D_CODE) ok = (hi & D_RW) != 0 && (isConformingCode(hi) || privOk);
      else ok = privOk;
    }
  }
  if (abortInsn) return;
  setFlagBit(FLAG_ZF, ok);
}

// --- LAR / LSL --------------------------------------------------------------------------

/** Shared by LAR and LSL: reads the selector operand and decides whether it is visible. */
function accessibleDescriptor(forLsl: bool): bool {
  const sel = <u32>readE<u16>();
  if (abortInsn) return false;
  if ((sel & 0xfffc) == 0 || !fetchDescriptor(sel)) return false;
  const hi = descHi;
  const dpl = descDpl(hi);
  const privOk = dpl >= cpl && dpl >= (sel & 3);
  if (hi & D_S) return isConformingCode(hi) || privOk;
  const t = descType(hi);
  let valid = t == T_TSS16 || t == T_LDT || t == T_TSS16_BUSY || t == T_TSS32 || t == T_TSS32_BUSY;
  if (!forLsl) valid = valid || t == T_CALL16 || t == T_TASK || t == T_CALL32;
  return valid && privOk;
}

export function lar(): void {
  if (!protMode || v86Mode) { raiseUD(); return; }
  const ok = accessibleDescriptor(false);
  if (abortInsn) return;
  if (ok) {
    // Access rights: the second descriptor word masked to type/S/DPL/P and the flags.
    const v = descHi & 0x00f0ff00;
    const r = (modrm >> 3) & 7;
    if (opsize32) setReg32(r, v); else setReg16(r, <u16>v);
  }
  setFlagBit(FLAG_ZF, ok);
}

export function lsl(): void {
  if (!protMode || v86Mode) { raiseUD(); return; }
  const ok = accessibleDescriptor(true);
  if (abortInsn) return;
  if (ok) {
    const v = descLimit(descLo, descHi);
    const r = (modrm >> 3) & 7;
    if (opsize32) setReg32(r, v); else setReg16(r, <u16>v);
  }
  setFlagBit(FLAG_ZF, ok);
}

// --- group 7: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG -------------------------------------------

export function group7(): void {
  switch ((modrm >> 3) & 7) {
    case 0: storeTable(V_GDTR_BASE, V_GDTR_LIMIT); break;
    case 1: storeTable(V_IDTR_BASE, V_IDTR_LIMIT); break;
    case 2: loadTable(V_GDTR_BASE, V_GDTR_LIMIT); break;
    case 3: loadTable(V_IDTR_BASE, V_IDTR_LIMIT); break;
    case 4: {
      const cr0 = load<u32>(cpu + V_CR0);
      if (rmIsReg && opsize32) setReg32(modrm & 7, cr0);
      else storeSelectorE(cr0 & 0xffff);
      break;
    }
    case 6: lmsw(); break;
    case 7: invlpg(); break;
    default: raiseUD(); break;
  }
}

/** SGDT/SIDT: 16-bit limit, then the base (24 bits with a 16-bit operand size, the top byte 0). */
function storeTable(baseOff: u32, limitOff: u32): void {
  if (rmIsReg) { raiseUD(); return; }
  const lin = segLinear(eaSeg, eaOff, 6, true);
  if (abortInsn) return;
  probeWrite(lin, 6, cpl == 3);
  if (abortInsn) return;
  let base = <u32>load<u64>(cpu + baseOff);
  if (!opsize32) base &= 0x00ffffff;
  writeLin<u16>(lin, <u16>load<u32>(cpu + limitOff));
  writeLin<u32>(lin + 2, base);
}

/** LGDT/LIDT (CPL 0): a 16-bit operand size loads a 24-bit base. */
function loadTable(baseOff: u32, limitOff: u32): void {
  if (rmIsReg) { raiseUD(); return; }
  if (cpl != 0) { gp0(); return; }
  const limit = <u32>readMem<u16>(eaSeg, eaOff);
  if (abortInsn) return;
  let base = readMem<u32>(eaSeg, addr32 ? eaOff + 2 : (eaOff + 2) & 0xffff);
  if (abortInsn) return;
  if (!opsize32) base &= 0x00ffffff;
  store<u64>(cpu + baseOff, <u64>base);
  store<u32>(cpu + limitOff, limit);
}

/** LMSW: loads PE, MP, EM, TS; PE can be set but not cleared. */
function lmsw(): void {
  if (cpl != 0) { gp0(); return; }
  const v = <u32>readE<u16>();
  if (abortInsn) return;
  const cr0 = load<u32>(cpu + V_CR0);
  setCr0((cr0 & ~<u32>0xe) | (v & 0xf) | (cr0 & CR0_PE));
}

function invlpg(): void {
  if (rmIsReg) { raiseUD(); return; }
  if (cpl != 0) { gp0(); return; }
  flushTlbPage(segBase(eaSeg) + eaOff);
  invalidateFetch();
}

// --- CLTS, INVD, WBINVD ---------------------------------------------------------------------

export function clts(): void {
  if (cpl != 0) { gp0(); return; }
  store<u64>(cpu + V_CR0, load<u64>(cpu + V_CR0) & ~<u64>CR0_TS);
}
export function invd(): void {
  if (cpl != 0) { gp0(); return; }
  // No caches to flush.
}

// --- control registers ----------------------------------------------------------------------

const CR0_BITS: u32 = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG;
// CR4 bits this core implements. VME/PVI (virtual-8086 extensions) and PAE
// paging are not implemented, so setting them is #GP(0) like any reserved bit;
// CPUID must not report them.
const CR4_BITS: u32 = CR4_TSD | CR4_DE | CR4_PSE | CR4_MCE | CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT;

/**
 * MOV CR/DR ignore the mod field: the operand is always a register. The
 * decoder read a memory form's SIB/displacement bytes, so the ModRM byte is
 * re-read and EIP put just past it.
 */
function registerForm(): void {
  if (rmIsReg) return;
  eip = insnStart;
  let b = fetch8();
  while (b == 0x66 || b == 0x67 || b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 ||
         b == 0xf0 || b == 0xf2 || b == 0xf3) {
    b = fetch8();
  }
  fetch8(); // the second opcode byte (after 0F)
  modrm = fetch8() | 0xc0;
  rmIsReg = true;
}

/** Writes CR0 (P6 rules): reserved bits are ignored, ET reads as 1; PG without PE, or NW without CD, is #GP(0). */
export function setCr0(v: u32): void {
  v = (v & CR0_BITS) | CR0_ET;
  if ((v & CR0_PG) && !(v & CR0_PE)) { gp0(); return; }
  if ((v & CR0_NW) && !(v & CR0_CD)) { gp0(); return; }
  const old = load<u32>(cpu + V_CR0);
  store<u64>(cpu + V_CR0, <u64>v);
  const changed = old ^ v;
  if (changed & (CR0_PG | CR0_WP | CR0_PE)) flushTlbAll(false);
  if (changed & CR0_PE) {
    // Real mode runs at CPL 0. The segment caches stay as they are (a far
    // jump reloads CS); only their derived access checks follow the mode.
    if (!(v & CR0_PE)) store<u32>(cpu + V_CPL, 0);
    refreshMode();
    for (let s = 0; s < 8; s++) updateSegCheck(s);
  }
  refreshMode();
  invalidateFetch();
}

function setCr4(v: u32): void {
  if (v & ~CR4_BITS) { gp0(); return; }
  const old = load<u32>(cpu + V_CR4);
  store<u64>(cpu + V_CR4, <u64>v);
  if ((old ^ v) & (CR4_PSE | CR4_PGE | CR4_PAE)) flushTlbAll(false);
  refreshMode();
  invalidateFetch();
}

export function movFromCr(): void {
  registerForm();
  if (abortInsn) return;
  const cr = (modrm >> 3) & 7;
  if (cr == 1 || cr > 4) { raiseUD(); return; }
  if (cpl != 0) { gp0(); return; }
  let v: u32;
  switch (cr) {
    case 0: v = load<u32>(cpu + V_CR0); break;
    case 2: v = load<u32>(cpu + V_CR2); break;
    case 3: v = load<u32>(cpu + V_CR3); break;
    default: v = load<u32>(cpu + V_CR4); break;
  }
  setReg32(modrm & 7, v);
}

export function movToCr(): void {
  registerForm();
  if (abortInsn) return;
  const cr = (modrm >> 3) & 7;
  if (cr == 1 || cr > 4) { raiseUD(); return; }
  if (cpl != 0) { gp0(); return; }
  const v = reg32(modrm & 7);
  switch (cr) {
    case 0: setCr0(v); break;
    case 2: store<u64>(cpu + V_CR2, <u64>v); break;
    case 3:
      // Global pages survive a CR3 load.
      store<u64>(cpu + V_CR3, <u64>v);
      flushTlbAll(true);
      invalidateFetch();
      break;
    default: setCr4(v); break;
  }
}

// --- debug registers (stored only: no breakpoints yet) ---------------------------------------

/** The DR number actually accessed: DR4/DR5 alias DR6/DR7 unless CR4.DE (then #UD, returns -1). */
function drIndex(): i32 {
  let dr = <i32>((modrm >> 3) & 7);
  if (dr == 4 || dr == 5) {
    if (load<u32>(cpu + V_CR4) & CR4_DE) { raiseUD(); return -1; }
    dr += 2;
  }
  return dr;
}

export function movFromDr(): void {
  registerForm();
  if (abortInsn) return;
  if (cpl != 0) { gp0(); return; }
  const dr = drIndex();
  if (dr < 0) return;
  setReg32(modrm & 7, load<u32>(cpu + V_DR + <u32>dr * 8));
}

export function movToDr(): void {
  registerForm();
  if (abortInsn) return;
  if (cpl != 0) { gp0(); return; }
  const dr = drIndex();
  if (dr < 0) return;
  let v = reg32(modrm & 7);
  if (dr == 6) v = (v & 0xe00f) | 0xffff0ff0;
  else if (dr == 7) v = (v & ~<u32>0xd800) | 0x400;
  store<u64>(cpu + V_DR + <u32>dr * 8, <u64>v);
}

// --- SYSENTER / SYSEXIT (P6) -------------------------------------------------------------------

/** Flat 4 GiB 32-bit segments, as SYSENTER/SYSEXIT load them (descriptor bits 40..55). */
const FLAT_CODE0: u32 = 0xc09b | SEG_VALID;
const FLAT_DATA0: u32 = 0xc093 | SEG_VALID;
const FLAT_CODE3: u32 = 0xc0fb | SEG_VALID;
const FLAT_DATA3: u32 = 0xc0f3 | SEG_VALID;

export function sysenter(): void {
  const cs = <u32>load<u64>(cpu + V_SYSENTER_CS);
  if (!protMode || (cs & 0xfffc) == 0) { gp0(); return; }
  writeEflags(getEflags() & ~(FLAG_VM | FLAG_IF | FLAG_RF));
  store<u32>(cpu + V_CPL, 0);
  setSegmentCache(SEG_SS, (cs + 8) & 0xfffc, 0, 0xffffffff, FLAT_DATA0);
  setSegmentCache(SEG_CS, cs & 0xfffc, 0, 0xffffffff, FLAT_CODE0);
  setReg32(REG_ESP, <u32>load<u64>(cpu + V_SYSENTER_ESP));
  eip = <u32>load<u64>(cpu + V_SYSENTER_EIP);
}

export function sysexit(): void {
  const cs = <u32>load<u64>(cpu + V_SYSENTER_CS);
  if (!protMode || cpl != 0 || (cs & 0xfffc) == 0) { gp0(); return; }
  store<u32>(cpu + V_CPL, 3);
  setSegmentCache(SEG_SS, ((cs + 24) & 0xfffc) | 3, 0, 0xffffffff, FLAT_DATA3);
  setSegmentCache(SEG_CS, ((cs + 16) & 0xfffc) | 3, 0, 0xffffffff, FLAT_CODE3);
  setReg32(REG_ESP, reg32(REG_ECX));
  eip = reg32(REG_EDX);
}
