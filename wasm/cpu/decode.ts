// Instruction fetch and ModRM/SIB decoding.
//
// Fetch keeps a window of EIP values [fetchStart, fetchStart + fetchLen) that
// lie in one RAM page and inside the CS limit; inside it, a fetch is one
// subtract, one compare and one load. Leaving the window (or any TLB/CS
// change, which empties it) goes through the checked slow path.
import {
  V_SEGS, SEG_SIZE, SEG_LIMIT, SEG_CS, SEG_DS, SEG_SS, EXC_GP, TLB_ENTRIES, TLB_ENTRY_SIZE, V_TLB, TLB_SET_SIZE,
} from '../abi';
import { cpu, cpl, eip, insnStart, csBase, tlbBase, addr32, segOverride, setFault, abortInsn, reg32, reg16 } from './state';
import { readLin } from './mmu';

let fetchStart: u32 = 0;
let fetchLen: u32 = 0;
let fetchHost: u32 = 0; // host address of EIP 0 in the window's page

/** Forgets the fetch window (after TLB flushes, CS loads, mode changes). */
export function invalidateFetch(): void {
  fetchLen = 0;
}

@inline export function fetch8(): u32 {
  if (eip - fetchStart < fetchLen) {
    const b = <u32>load<u8>(fetchHost + eip);
    eip++;
    return b;
  }
  return fetchSlow();
}

/**
 * Set while decoding an instruction with four or more prefix bytes: only
 * those can exceed the 15-byte limit (no prefix-free instruction is longer
 * than 12 bytes), so only they pay for the check, made in fetchSlow().
 */
export let lengthChecked = false;

/** Shrinks the fetch window so that fetching past insnStart + 15 takes the slow path. */
export function limitInstructionLength(): void {
  lengthChecked = true;
  const allowed = insnStart + 15 - fetchStart; // window-relative end of the legal bytes
  if (allowed < fetchLen) fetchLen = allowed;
}

export function endLengthCheck(): void {
  lengthChecked = false;
  fetchLen = 0;
}

function fetchSlow(): u32 {
  if (abortInsn) return 0;
  if (lengthChecked && eip - insnStart >= 15) {
    setFault(EXC_GP, 0, true);
    return 0;
  }
  const limit = load<u32>(cpu + V_SEGS + SEG_CS * SEG_SIZE + SEG_LIMIT);
  if (eip > limit) {
    setFault(EXC_GP, 0, true);
    return 0;
  }
  const lin = csBase + eip;
  const b = <u32>readLin<u8>(lin);
  if (abortInsn) return 0;
  // If the page is cached as RAM, open a window over it.
  // Instruction fetches are never alignment-checked: use the CPL's real set.
  const e = cpu + V_TLB + (cpl == 3 ? TLB_SET_SIZE : 0) + ((lin >>> 12) & (TLB_ENTRIES - 1)) * TLB_ENTRY_SIZE;
  if (load<u32>(e) == (lin & 0xfffff000)) {
    let start = eip - (lin & 0xfff);
    let len: u32 = 0x1000;
    // Fix: when CS.base is not page-aligned, the page can begin below EIP 0
    // (start wrapped): the window then covers EIP 0 to the page end only.
    // Before, len = limit - start + 1 wrapped to more than a page, so fetches
    // ran past the page (unchecked, into the next physical page or beyond RAM).
    if (start > eip) {
      len = start + 0x1000;
      start = 0;
    }
    if (<u64>start + <u64>len - 1 > <u64>limit) len = limit - start + 1;
    fetchStart = start;
    fetchLen = len;
    fetchHost = load<u32>(e, 8) + csBase;
  } else {
    fetchLen = 0;
  }
  if (lengthChecked) limitInstructionLength();
  eip++;
  return b;
}

/** The opcode byte: like fetch8(), but -1 if the fetch faulted (only its slow path can). */
@inline export function fetchOpcode(): i32 {
  if (eip - fetchStart < fetchLen) {
    const b = <i32>load<u8>(fetchHost + eip);
    eip++;
    return b;
  }
  const b = fetchSlow();
  return abortInsn ? -1 : <i32>b;
}

// Immediates and displacements inside the window are one (unaligned) load;
// the window test is done in 64 bits so that it cannot wrap. At the window's
// end they go byte by byte through fetch8().
@inline export function fetch16(): u32 {
  if (<u64>(eip - fetchStart) + 2 <= <u64>fetchLen) {
    const v = <u32>load<u16>(fetchHost + eip);
    eip += 2;
    return v;
  }
  return fetch16Slow();
}
@inline export function fetch32(): u32 {
  if (<u64>(eip - fetchStart) + 4 <= <u64>fetchLen) {
    const v = load<u32>(fetchHost + eip);
    eip += 4;
    return v;
  }
  return fetch32Slow();
}
function fetch16Slow(): u32 {
  const lo = fetch8();
  return lo | (fetch8() << 8);
}
function fetch32Slow(): u32 {
  const lo = fetch16Slow();
  return lo | (fetch16Slow() << 16);
}
/** An immediate of the operand size of T, zero-extended. */
@inline export function fetchImm<T>(): u32 {
  if (sizeof<T>() == 1) return fetch8();
  if (sizeof<T>() == 2) return fetch16();
  return fetch32();
}
@inline export function fetchS8(): u32 {
  return <u32><i32><i8>fetch8();
}

// --- ModRM ---------------------------------------------------------------------
export let modrm: u32 = 0;
export let rmIsReg = false;
export let eaOff: u32 = 0;
export let eaSeg: i32 = SEG_DS;
/** The address uses ESP as its base (POP [ESP+x] adjusts for the pop). */
export let eaBaseEsp = false;

@inline export function modReg(): u32 {
  return (modrm >> 3) & 7;
}
@inline export function modRm(): u32 {
  return modrm & 7;
}

/**
 * Fetches a ModRM byte (and SIB/displacement) and computes the effective
 * address; returns the ModRM byte. Inline: a register operand costs the
 * fetch and one compare, and callers can test the returned byte instead of
 * reloading the globals; memory operands go through decodeModrmMem().
 */
@inline export function decodeModrm(): u32 {
  const m = fetch8();
  modrm = m;
  if (m >= 0xc0) {
    rmIsReg = true;
    return m;
  }
  decodeModrmMem(m);
  return m;
}

/**
 * decodeModrm() with the 32-bit memory forms inline as well (SIB bytes
 * included: compiled code addresses its stack through ESP). For the hot
 * opcodes (MOV, the ALU ops, LEA, TEST, MOVZX); 16-bit addressing calls
 * decodeModrmMem().
 */
@inline export function decodeModrmFast(): u32 {
  const m = fetch8();
  if (m >= 0xc0) {
    modrm = m;
    rmIsReg = true;
    return m;
  }
  decodeMemOperand(m);
  return m;
}

/**
 * The memory operand of ModRM byte `m` (below 0xC0): modrm, rmIsReg and the
 * effective address, for the generic handlers. The inline fast paths fetch
 * the byte themselves and handle a register operand without these globals.
 */
@inline export function decodeMemOperand(m: u32): void {
  modrm = m;
  if (addr32) decodeEa32(m);
  else decodeEa16(m);
}

/** The effective address of a memory operand with ModRM byte `m`. */
function decodeModrmMem(m: u32): void {
  if (addr32) decodeEa32(m);
  else decodeEa16(m);
}

/** 32-bit addressing: [base + index * scale + disp], SIB byte when rm = 4. */
@inline function decodeEa32(m: u32): void {
  rmIsReg = false;
  eaBaseEsp = false;
  const mod = m >> 6;
  const rm = m & 7;
  let seg = SEG_DS;
  let off: u32 = 0;
  if (rm == 4) {
    const sib = fetch8();
    const base = sib & 7;
    const index = (sib >> 3) & 7;
    if (base == 5 && mod == 0) {
      off = fetch32();
    } else {
      off = reg32(base);
      if (base == 4 || base == 5) seg = SEG_SS;
      eaBaseEsp = base == 4;
    }
    if (index != 4) off += reg32(index) << (sib >> 6);
  } else if (rm == 5 && mod == 0) {
    off = fetch32();
  } else {
    off = reg32(rm);
    if (rm == 5) seg = SEG_SS;
  }
  if (mod == 1) off += fetchS8();
  else if (mod == 2) off += fetch32();
  eaOff = off;
  eaSeg = segOverride >= 0 ? segOverride : seg;
}

/** 16-bit addressing: BX/BP + SI/DI + disp, wrapped to 16 bits. */
function decodeEa16(m: u32): void {
  rmIsReg = false;
  eaBaseEsp = false;
  const mod = m >> 6;
  const rm = m & 7;
  let seg = SEG_DS;
  let off: u32 = 0;
  switch (rm) {
    case 0: off = reg16(3) + reg16(6); break;
    case 1: off = reg16(3) + reg16(7); break;
    case 2: off = reg16(5) + reg16(6); seg = SEG_SS; break;
    case 3: off = reg16(5) + reg16(7); seg = SEG_SS; break;
    case 4: off = reg16(6); break;
    case 5: off = reg16(7); break;
    case 6:
      if (mod == 0) off = fetch16();
      else { off = reg16(5); seg = SEG_SS; }
      break;
    default: off = reg16(3); break;
  }
  if (mod == 1) off += fetchS8();
  else if (mod == 2) off += fetch16();
  eaOff = off & 0xffff;
  eaSeg = segOverride >= 0 ? segOverride : seg;
}

/** A memory offset operand (moffs of MOV A0-A3): address-size wide, DS unless overridden. */
export function decodeMoffs(): void {
  eaOff = addr32 ? fetch32() : fetch16();
  eaSeg = segOverride >= 0 ? segOverride : SEG_DS;
  rmIsReg = false;
}

/** Sets the effective address directly (string instructions, XLAT). */
@inline export function setEa(seg: i32, off: u32): void {
  eaSeg = seg;
  eaOff = off;
  rmIsReg = false;
}

