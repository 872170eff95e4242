// Protected-mode descriptors: reading them from the GDT/LDT, the checks of
// segment-register loads, and the helpers the far transfers (far.ts),
// interrupt delivery (pmint.ts) and task switches (task.ts) share: loading CS
// with a new CPL, the inner stack from the TSS, and frames built on a stack
// segment that is not loaded yet (written only after every check and probe).
//
// Descriptor layout (as two little-endian u32 words lo, hi):
//   lo: limit 0..15 | base 0..15 << 16
//   hi: base 16..23 | type 8..11 | S 12 | DPL 13..14 | P 15 | limit 16..19
//       | AVL 20 | L 21 | D/B 22 | G 23 | base 24..31
// Gates: lo = offset 0..15 | selector << 16, hi = type, DPL, P, parameter
// count 0..4 (call gates) and offset 16..31 in bits 16..31 (32-bit gates).
// The segment cache keeps descriptor bits 40..55 (hi >> 8) with the limit
// bits cleared, plus SEG_VALID.
import {
  V_SEGS, SEG_SIZE, SEG_SEL, SEG_ATTR, SEG_LIMIT, SEG_BASE, SEG_ES, SEG_SS, SEG_DS, SEG_FS, SEG_GS,
  SEG_CS, SEG_LDTR, SEG_TR, SEG_VALID, ATTR_CODE, ATTR_S, V_GDTR_BASE, V_GDTR_LIMIT, V_CPL, REG_ESP,
  EXC_GP, EXC_SS, EXC_NP, EXC_TS,
} from '../abi';
import { cpu, cpl, abortInsn, setFault, setReg32 } from './state';
import { readLinSys, writeLinSys, writeLin, probeWrite } from './mmu';
import { setSegmentCache } from './segload';

// Descriptor bits in the high word.
export const D_ACCESSED: u32 = 0x100;
export const D_RW: u32 = 0x200; // readable code / writable data
export const D_CONFORMING: u32 = 0x400; // code; expand-down for data
export const D_CODE: u32 = 0x800;
export const D_S: u32 = 0x1000;
export const D_P: u32 = 0x8000;
export const D_BIG: u32 = 0x400000;
export const D_G: u32 = 0x800000;
/** System descriptors: type bit 3, a 32-bit gate or TSS (16-bit without it). */
export const D_SYS32: u32 = 0x800;

// System descriptor types (hi bits 8..11 with S = 0).
export const T_TSS16: u32 = 1;
export const T_LDT: u32 = 2;
export const T_TSS16_BUSY: u32 = 3;
export const T_CALL16: u32 = 4;
export const T_TASK: u32 = 5;
export const T_INT16: u32 = 6;
export const T_TRAP16: u32 = 7;
export const T_TSS32: u32 = 9;
export const T_TSS32_BUSY: u32 = 11;
export const T_CALL32: u32 = 12;
export const T_INT32: u32 = 14;
export const T_TRAP32: u32 = 15;

/** The descriptor read by the last fetchDescriptor(): words and linear address. */
export let descLo: u32 = 0;
export let descHi: u32 = 0;
export let descLin: u32 = 0;

@inline export function descBase(lo: u32, hi: u32): u32 {
  return (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
}
@inline export function descLimit(lo: u32, hi: u32): u32 {
  const l = (lo & 0xffff) | (hi & 0xf0000);
  return (hi & D_G) ? (l << 12) | 0xfff : l;
}
/** Cache attributes: descriptor bits 40..55 without the limit bits, valid. */
@inline export function descAttr(hi: u32): u32 {
  return ((hi >>> 8) & 0xf0ff) | SEG_VALID;
}
@inline export function descDpl(hi: u32): u32 {
  return (hi >>> 13) & 3;
}
/** Type with the S bit (0x10 = code/data): system types are 0..15. */
@inline export function descType(hi: u32): u32 {
  return (hi >>> 8) & 0x1f;
}
@inline export function isCode(hi: u32): bool {
  return (hi & (D_S | D_CODE)) == (D_S | D_CODE);
}
@inline export function isData(hi: u32): bool {
  return (hi & (D_S | D_CODE)) == D_S;
}
@inline export function isConformingCode(hi: u32): bool {
  return (hi & (D_S | D_CODE | D_CONFORMING)) == (D_S | D_CODE | D_CONFORMING);
}
@inline export function isWritableData(hi: u32): bool {
  return (hi & (D_S | D_CODE | D_RW)) == (D_S | D_RW);
}

@inline export function segReg(seg: i32): u32 {
  return cpu + V_SEGS + seg * SEG_SIZE;
}
@inline export function segSel(seg: i32): u32 {
  return load<u32>(segReg(seg), SEG_SEL);
}

/**
 * Reads the descriptor of selector `sel` from the GDT or the LDT into
 * descLo/descHi/descLin. Returns false if the selector lies outside its
 * table (no fault raised: the caller picks #GP or #TS), or on a memory
 * fault (abortInsn set). The null selector is the caller's business.
 */
export function fetchDescriptor(sel: u32): bool {
  const index = sel & 0xfff8;
  let base: u32;
  let limit: u32;
  if (sel & 4) {
    const ldtr = segReg(SEG_LDTR);
    if (!(load<u32>(ldtr, SEG_ATTR) & SEG_VALID)) return false;
    base = <u32>load<u64>(ldtr, SEG_BASE);
    limit = load<u32>(ldtr, SEG_LIMIT);
  } else {
    base = <u32>load<u64>(cpu + V_GDTR_BASE);
    limit = load<u32>(cpu + V_GDTR_LIMIT);
  }
  if (index + 7 > limit) return false;
  descLin = base + index;
  descLo = readLinSys<u32>(descLin);
  if (abortInsn) return false;
  descHi = readLinSys<u32>(descLin + 4);
  return !abortInsn;
}

/** fetchDescriptor, raising `vector`(sel) when the selector is outside its table. */
export function fetchDescriptorOr(sel: u32, vector: i32): bool {
  if (fetchDescriptor(sel)) return true;
  if (!abortInsn) setFault(vector, sel & 0xfffc, true);
  return false;
}

/** Sets the accessed bit of the descriptor at `lin` (high word `hi`) if it is clear. */
export function setAccessed(lin: u32, hi: u32): void {
  if (!(hi & D_ACCESSED)) writeLinSys<u8>(lin + 5, <u8>((hi >>> 8) | 1));
}

/** Raises `vector` with a selector error code; returns false for `if (!x) return` chains. */
@inline export function selFault(vector: i32, sel: u32): bool {
  setFault(vector, sel & 0xfffc, true);
  return false;
}

// --- segment register loads ---------------------------------------------------

/**
 * MOV/POP/LDS… to DS, ES, FS, GS or SS in protected mode, with the SDM's
 * checks: #GP(sel) for a selector outside its table, a descriptor of the
 * wrong kind or privilege; #SS(sel) / #NP(sel) for a segment not present; a
 * null selector is allowed for data registers only.
 */
export function loadSegmentProtected(seg: i32, sel: u32): void {
  sel &= 0xffff;
  const rpl = sel & 3;
  if ((sel & 0xfffc) == 0) {
    if (seg == SEG_SS) { setFault(EXC_GP, 0, true); return; }
    setSegmentCache(seg, sel, 0, 0, 0);
    return;
  }
  if (!fetchDescriptorOr(sel, EXC_GP)) return;
  const lo = descLo, hi = descHi, lin = descLin;
  const dpl = descDpl(hi);
  if (seg == SEG_SS) {
    if (rpl != cpl || !isWritableData(hi) || dpl != cpl) { selFault(EXC_GP, sel); return; }
    if (!(hi & D_P)) { selFault(EXC_SS, sel); return; }
  } else {
    if (!(hi & D_S) || ((hi & D_CODE) && !(hi & D_RW))) { selFault(EXC_GP, sel); return; }
    if (!isConformingCode(hi) && (rpl > dpl || cpl > dpl)) { selFault(EXC_GP, sel); return; }
    if (!(hi & D_P)) { selFault(EXC_NP, sel); return; }
  }
  setAccessed(lin, hi);
  if (abortInsn) return;
  setSegmentCache(seg, sel, descBase(lo, hi), descLimit(lo, hi), descAttr(hi | D_ACCESSED));
}

/** Loads a checked descriptor into a segment register's cache (accessed bit included). */
export function loadDescriptorCache(seg: i32, sel: u32, lo: u32, hi: u32): void {
  setSegmentCache(seg, sel, descBase(lo, hi), descLimit(lo, hi), descAttr(hi | D_ACCESSED));
}

/** Sets the CPL and loads CS (selector RPL := CPL) from a checked code descriptor. */
export function loadCS(sel: u32, lo: u32, hi: u32, newCpl: u32): void {
  store<u32>(cpu + V_CPL, newCpl);
  setSegmentCache(SEG_CS, (sel & 0xfffc) | newCpl, descBase(lo, hi), descLimit(lo, hi), descAttr(hi | D_ACCESSED));
}

/**
 * After a return to an outer privilege level: data segment registers that
 * the new CPL may not use (data or non-conforming code with DPL < CPL) are
 * loaded with the null selector.
 */
export function nullInaccessibleSegments(): void {
  nullIfInaccessible(SEG_ES);
  nullIfInaccessible(SEG_DS);
  nullIfInaccessible(SEG_FS);
  nullIfInaccessible(SEG_GS);
}
function nullIfInaccessible(seg: i32): void {
  const s = segReg(seg);
  const attr = load<u32>(s, SEG_ATTR);
  if (!(attr & SEG_VALID)) return;
  const dpl = (attr >> 5) & 3;
  const conforming = (attr & (ATTR_S | ATTR_CODE | 4)) == (ATTR_S | ATTR_CODE | 4);
  if (!conforming && dpl < cpl) setSegmentCache(seg, 0, 0, 0, 0);
}

// --- gates -----------------------------------------------------------------------

/** Results of gateCode(): the selector and offset a gate names (its code descriptor is in descLo/descHi/descLin). */
export let gateSel: u32 = 0;
export let gateOff: u32 = 0;

/**
 * The code segment a call, interrupt or trap gate leads to, once the gate
 * itself passed its caller's checks (SDM Vol. 2A CALL, JMP and INT n
 * pseudocode; Vol. 3A 5.8.4, 6.12.1.1): #GP(0) for a null selector; #GP(sel)
 * for a selector outside its table or a descriptor that is not code or has
 * DPL > CPL (a gate never leads to a less privileged level); #NP(sel) if not
 * present. `sameLevel` (JMP, which never changes the CPL) also refuses a
 * non-conforming segment with DPL < CPL, with #GP(sel) before #NP as the
 * SDM orders them.
 */
export function gateCode(lo: u32, hi: u32, sameLevel: bool): bool {
  const sel = lo >>> 16;
  if ((sel & 0xfffc) == 0) { setFault(EXC_GP, 0, true); return false; }
  if (!fetchDescriptorOr(sel, EXC_GP)) return false;
  const chi = descHi;
  const dpl = descDpl(chi);
  if (!isCode(chi) || dpl > cpl) return selFault(EXC_GP, sel);
  if (sameLevel && !isConformingCode(chi) && dpl != cpl) return selFault(EXC_GP, sel);
  if (!(chi & D_P)) return selFault(EXC_NP, sel);
  gateSel = sel;
  gateOff = (hi & D_SYS32) ? (lo & 0xffff) | (hi & 0xffff0000) : lo & 0xffff;
  return true;
}

// --- the inner stack of a privilege change ------------------------------------

/** Results of innerStack(): the new SS selector, its descriptor words, the new ESP. */
export let newSS: u32 = 0;
export let newSSLo: u32 = 0;
export let newSSHi: u32 = 0;
export let newSSLin: u32 = 0;
export let newESP: u32 = 0;

/**
 * Reads SS:ESP for privilege level `dpl` from the current TSS and checks the
 * stack segment (CALL through a call gate, interrupts): #TS(TSS selector)
 * if the TSS is too short, #TS(SS) for a bad selector or descriptor,
 * #SS(SS) if not present. Returns false on a fault.
 */
export function innerStack(dpl: u32): bool {
  const tr = segReg(SEG_TR);
  const trBase = <u32>load<u64>(tr, SEG_BASE);
  const trLimit = load<u32>(tr, SEG_LIMIT);
  const tss32 = (load<u32>(tr, SEG_ATTR) & 8) != 0;
  let ss: u32;
  let esp: u32;
  if (tss32) {
    const off = dpl * 8 + 4;
    if (off + 5 > trLimit) return selFault(EXC_TS, load<u32>(tr, SEG_SEL));
    esp = readLinSys<u32>(trBase + off);
    if (abortInsn) return false;
    ss = <u32>readLinSys<u16>(trBase + off + 4);
  } else {
    const off = dpl * 4 + 2;
    if (off + 3 > trLimit) return selFault(EXC_TS, load<u32>(tr, SEG_SEL));
    esp = <u32>readLinSys<u16>(trBase + off);
    if (abortInsn) return false;
    ss = <u32>readLinSys<u16>(trBase + off + 2);
  }
  if (abortInsn) return false;
  if ((ss & 0xfffc) == 0) return selFault(EXC_TS, ss);
  if ((ss & 3) != dpl) return selFault(EXC_TS, ss);
  if (!fetchDescriptorOr(ss, EXC_TS)) return false;
  const hi = descHi;
  if (descDpl(hi) != dpl || !isWritableData(hi)) return selFault(EXC_TS, ss);
  if (!(hi & D_P)) return selFault(EXC_SS, ss);
  newSS = ss;
  newSSLo = descLo;
  newSSHi = hi;
  newSSLin = descLin;
  newESP = esp;
  return true;
}

/** Starts a frame at the inner stack's SS:ESP (#SS(new SS) on a limit violation). */
export function frameBeginInner(commit: bool): void {
  frameBegin(descBase(newSSLo, newSSHi), descLimit(newSSLo, newSSHi), newSSHi, newESP, false, newSS, commit);
}

/**
 * After the probe of a frame on the inner stack: the accessed bits of the
 * new SS and CS descriptors (memory writes that can fault, so before the commit).
 */
export function setAccessedInner(csLin: u32, csHi: u32): void {
  setAccessed(newSSLin, newSSHi);
  if (abortInsn) return;
  setAccessed(csLin, csHi);
}

/**
 * Commits a change to the more privileged level `dpl` once its frame is
 * written: the CPL, SS from the TSS, ESP below the frame (a 16-bit stack
 * changes only SP, the upper half comes from the TSS's ESP), and CS.
 */
export function enterInner(csSel: u32, csLo: u32, csHi: u32, dpl: u32): void {
  const sp = frameSp();
  store<u32>(cpu + V_CPL, dpl);
  loadDescriptorCache(SEG_SS, newSS, newSSLo, newSSHi);
  setReg32(REG_ESP, frameIsBig() ? sp : (newESP & 0xffff0000) | sp);
  loadCS(csSel, csLo, csHi, dpl);
}

// --- frames on a stack segment ------------------------------------------------
// A frame (interrupt, call gate) is built twice with the same sequence of
// framePush() calls: first with commit = false, which checks the limits and
// probes every slot, then with commit = true, which writes. Nothing is
// written unless the whole frame fits.

let frBase: u32 = 0;
let frLimit: u32 = 0;
let frHi: u32 = 0; // descriptor high word (for expand-down and B)
let frSp: u32 = 0;
let frUser = false;
let frCommit = false;
let frErr: u32 = 0;

/**
 * Starts a frame at SP `sp` on the stack segment (base, limit, descriptor
 * high word `hi`); a limit violation raises #SS(errSel). `user` says which
 * privilege the writes use (CPL 3 only when staying at CPL 3).
 */
export function frameBegin(base: u32, limit: u32, hi: u32, sp: u32, user: bool, errSel: u32, commit: bool): void {
  frBase = base;
  frLimit = limit;
  frHi = hi;
  frSp = (hi & D_BIG) ? sp : sp & 0xffff;
  frUser = user;
  frErr = errSel & 0xfffc;
  frCommit = commit;
}

/** Starts a frame on the current SS (#SS(0) on a limit violation). */
export function frameBeginCurrent(sp: u32, commit: bool): void {
  const s = segReg(SEG_SS);
  const attr = load<u32>(s, SEG_ATTR);
  frameBegin(<u32>load<u64>(s, SEG_BASE), load<u32>(s, SEG_LIMIT), (attr & 0xffff) << 8, sp, cpl == 3, 0, commit);
}

/** The stack pointer after the pushes so far (already wrapped to 16 bits for a 16-bit stack). */
export function frameSp(): u32 {
  return frSp;
}
export function frameIsBig(): bool {
  return (frHi & D_BIG) != 0;
}

/** Pushes `size` (2 or 4) bytes of `v`. */
export function framePush(v: u32, size: u32): void {
  if (abortInsn) return;
  const big = (frHi & D_BIG) != 0;
  const sp = big ? frSp - size : (frSp - size) & 0xffff;
  const last = <u64>sp + <u64>(size - 1);
  let ok: bool;
  if ((frHi & (D_CODE | D_CONFORMING)) == D_CONFORMING) {
    // Expand-down: valid offsets are limit+1 .. 0xFFFF or 0xFFFFFFFF.
    ok = sp > frLimit && last <= (big ? <u64>0xffffffff : <u64>0xffff);
  } else {
    ok = last <= <u64>frLimit;
  }
  if (!ok) { setFault(EXC_SS, frErr, true); return; }
  const lin = frBase + sp;
  if (!frCommit) {
    probeWrite(lin, size, frUser);
  } else if (frUser) {
    if (size == 4) writeLin<u32>(lin, v); else writeLin<u16>(lin, <u16>v);
  } else {
    if (size == 4) writeLinSys<u32>(lin, v); else writeLinSys<u16>(lin, <u16>v);
  }
  frSp = sp;
}
