// String instructions (MOVS CMPS STOS LODS SCAS INS OUTS) and the REP,
// REPE and REPNE prefixes.
//
// The source is DS:(E)SI (segment override allowed), the destination
// ES:(E)DI (never overridden); the address size picks SI/DI/CX or
// ESI/EDI/ECX. DF picks the direction.
//
// REP and restarts: each iteration commits its register updates only after
// its memory and port accesses succeeded, so a fault in iteration k leaves
// iterations < k done and EIP at the instruction. After each committed
// iteration the IO/MMIO replay log restarts, so an IO exit in the middle
// replays only the accesses of the current iteration. One execution runs at
// most REP_MAX iterations, then sets EIP back to the instruction, which runs
// again (interrupts and budget exits can come in between, as on real CPUs).
// The count per execution never depends on the path taken (fast or not), so
// the instruction count stays deterministic.
//
// Fast path: REP MOVS/STOS (either direction) move whole runs of elements
// that stay within one RAM page of the source and of the destination, found
// with the TLB and the segment limit, with memory.copy/fill; anything else
// (a TLB miss, MMIO, a limit in the way, a pending replay) goes element by
// element, which also fills the TLB for the next run.
import {
  V_SEGS, SEG_SIZE, SEG_LIMIT, SEG_CHECK, SEGCHK_READ, SEGCHK_WRITE, SEG_DS, SEG_ES,
  REG_EAX, REG_ECX, REG_EDX, REG_ESI, REG_EDI, FLAG_DF, LF_SUB, TLB_ENTRIES, TLB_ENTRY_SIZE,
} from '../abi';
import {
  cpu, eip, insnStart, abortInsn, accessIndex, addr32, segOverride, repPrefix, tlbBase, cpl,
  reg32, setReg32, reg16, setReg16, getReg, setReg, segBase,
} from '../cpu/state';
import { flag, setLazyArith } from '../cpu/flags';
import { readMem, writeMem } from '../cpu/operand';
import { segLinear } from '../cpu/segaccess';
import { clearLog, logPending, probeWrite, writeLin } from '../cpu/mmu';
import { ioPermitted, portIn, portOut } from './io';

/** Iterations of a REP instruction per execution. */
const REP_MAX: u32 = 1024;

// --- address-size registers -------------------------------------------------------

@inline function idx(r: u32): u32 {
  return addr32 ? reg32(r) : <u32>reg16(r);
}
@inline function setIdx(r: u32, v: u32): void {
  if (addr32) setReg32(r, v);
  else setReg16(r, <u16>v);
}
/** The per-element step: +size, or -size with DF set. */
@inline function step<T>(): u32 {
  return flag(FLAG_DF) ? -<u32>sizeof<T>() : <u32>sizeof<T>();
}
@inline function srcSeg(): i32 {
  return segOverride >= 0 ? segOverride : SEG_DS;
}

/**
 * Ends a committed REP iteration: stores the count and restarts the replay
 * log if the iteration made IO/MMIO accesses. Returns the new count.
 */
@inline function repCommit(count: u32, k: u32): u32 {
  const c = count - k;
  setIdx(REG_ECX, c);
  if (accessIndex != 0) {
    clearLog();
    accessIndex = 0;
  }
  return c;
}

// --- one iteration of each instruction --------------------------------------------
// Each returns false (with abortInsn set) if an access faulted or needs the VMM.

@inline function movsOnce<T>(): bool {
  const si = idx(REG_ESI);
  const di = idx(REG_EDI);
  const v = readMem<T>(srcSeg(), si);
  if (abortInsn) return false;
  writeMem<T>(SEG_ES, di, v);
  if (abortInsn) return false;
  const d = step<T>();
  setIdx(REG_ESI, si + d);
  setIdx(REG_EDI, di + d);
  return true;
}

@inline function stosOnce<T>(): bool {
  const di = idx(REG_EDI);
  writeMem<T>(SEG_ES, di, getReg<T>(REG_EAX));
  if (abortInsn) return false;
  setIdx(REG_EDI, di + step<T>());
  return true;
}

@inline function lodsOnce<T>(): bool {
  const si = idx(REG_ESI);
  const v = readMem<T>(srcSeg(), si);
  if (abortInsn) return false;
  setReg<T>(REG_EAX, v);
  setIdx(REG_ESI, si + step<T>());
  return true;
}

/** CMPS: [DS:SI] - [ES:DI]. Returns -1 on abort, else 1 if equal (ZF), 0 if not. */
@inline function cmpsOnce<T>(): i32 {
  const si = idx(REG_ESI);
  const di = idx(REG_EDI);
  const a = readMem<T>(srcSeg(), si);
  if (abortInsn) return -1;
  const b = readMem<T>(SEG_ES, di);
  if (abortInsn) return -1;
  setLazyArith<T>(LF_SUB, a, b, a - b);
  const d = step<T>();
  setIdx(REG_ESI, si + d);
  setIdx(REG_EDI, di + d);
  return a == b ? 1 : 0;
}

/** SCAS: accumulator - [ES:DI]. Returns as cmpsOnce. */
@inline function scasOnce<T>(): i32 {
  const di = idx(REG_EDI);
  const b = readMem<T>(SEG_ES, di);
  if (abortInsn) return -1;
  const a = getReg<T>(REG_EAX);
  setLazyArith<T>(LF_SUB, a, b, a - b);
  setIdx(REG_EDI, di + step<T>());
  return a == b ? 1 : 0;
}

@inline function insOnce<T>(): bool {
  const port = <u32>reg16(REG_EDX);
  const size = <u32>sizeof<T>();
  // The port permission, then the destination, are checked before the port
  // is read: a faulting INS never consumes device data.
  if (!ioPermitted(port, size)) return false;
  const di = idx(REG_EDI);
  const lin = segLinear(SEG_ES, di, size, true);
  if (abortInsn) return false;
  if (!probeWrite(lin, size, cpl == 3)) return false;
  const v = portIn(port, size);
  if (abortInsn) return false;
  writeLin<T>(lin, <T>v);
  if (abortInsn) return false;
  setIdx(REG_EDI, di + step<T>());
  return true;
}

@inline function outsOnce<T>(): bool {
  const port = <u32>reg16(REG_EDX);
  const size = <u32>sizeof<T>();
  if (!ioPermitted(port, size)) return false;
  const si = idx(REG_ESI);
  const v = readMem<T>(srcSeg(), si);
  if (abortInsn) return false;
  portOut(port, size, <u32>v);
  if (abortInsn) return false;
  setIdx(REG_ESI, si + step<T>());
  return true;
}

// --- fast paths: runs of elements within one RAM page ------------------------------
// A run starts at the current element and goes up (DF = 0) or down (DF = 1).

/**
 * Whether [off, off+len) of `seg` needs no check beyond the limit
 * (SEGCHK_* bit `chk`) and lies inside it. If not, the caller takes the
 * element-by-element path, which raises the right fault at the right element.
 */
@inline function segRunOk(seg: i32, off: u32, len: u32, chk: u32): bool {
  const s = cpu + V_SEGS + seg * SEG_SIZE;
  return (load<u32>(s, SEG_CHECK) & chk) != 0 &&
    <u64>off + <u64>(len - 1) <= <u64>load<u32>(s, SEG_LIMIT);
}

/**
 * How many whole elements of `size` bytes (at most `max`) a run from the
 * element at linear `lin` (index register value `off`) can hold without
 * leaving the page or wrapping the index.
 */
@inline function runElems(lin: u32, off: u32, size: u32, max: u32, down: bool): u32 {
  const po = lin & 0xfff;
  let n: u32;
  if (!down) {
    let bytes: u32 = 0x1000 - po;
    if (!addr32 && <u32>0x10000 - off < bytes) bytes = <u32>0x10000 - off;
    n = bytes / size;
  } else {
    if (po + size > 0x1000) return 0;
    n = po / size + 1;
    const m = off / size + 1; // the index must not wrap below 0
    if (m < n) n = m;
  }
  return n < max ? n : max;
}

/** Host address of `lin` if the TLB allows reads (write = false) or writes of its page, else 0. */
@inline function tlbHost(lin: u32, write: bool): usize {
  const e = tlbBase + ((lin >>> 12) & (TLB_ENTRIES - 1)) * TLB_ENTRY_SIZE;
  const tag = write ? load<u32>(e, 4) : load<u32>(e);
  if (tag != (lin & 0xfffff000)) return 0;
  return <usize>(lin + load<u32>(e, 8));
}

/**
 * REP MOVS: copies up to `max` elements within one page of the source and
 * one of the destination; returns how many (0: take the element path).
 */
function movsRun<T>(max: u32, down: bool): u32 {
  const size = <u32>sizeof<T>();
  const ss = srcSeg();
  const si = idx(REG_ESI);
  const di = idx(REG_EDI);
  const sl = segBase(ss) + si;
  const dl = segBase(SEG_ES) + di;
  let n = runElems(sl, si, size, max, down);
  const nd = runElems(dl, di, size, max, down);
  if (nd < n) n = nd;
  if (n == 0) return 0;
  const bytes = n * size;
  const back = down ? bytes - size : 0; // from the lowest element of the run to the current one
  if (!segRunOk(ss, si - back, bytes, SEGCHK_READ) || !segRunOk(SEG_ES, di - back, bytes, SEGCHK_WRITE)) return 0;
  let hs = tlbHost(sl, false);
  let hd = tlbHost(dl, true);
  if (hs == 0 || hd == 0) return 0;
  hs -= back;
  hd -= back;
  // Overlapping runs where the CPU's element order reads bytes it already
  // wrote (the destination ahead of the source in the direction of the copy)
  // replicate a pattern, which memory.copy (memmove) would not.
  if (!down && hd > hs && hd < hs + bytes) {
    for (let i: u32 = 0; i < bytes; i += size) store<T>(hd + i, load<T>(hs + i));
  } else if (down && hd < hs && hs < hd + bytes) {
    for (let i = bytes; i != 0; ) {
      i -= size;
      store<T>(hd + i, load<T>(hs + i));
    }
  } else {
    memory.copy(hd, hs, bytes);
  }
  const d = down ? -bytes : bytes;
  setIdx(REG_ESI, si + d);
  setIdx(REG_EDI, di + d);
  return n;
}

/** REP STOS: fills up to `max` elements within one page; returns how many (0: take the element path). */
function stosRun<T>(max: u32, down: bool): u32 {
  const size = <u32>sizeof<T>();
  const di = idx(REG_EDI);
  const dl = segBase(SEG_ES) + di;
  const n = runElems(dl, di, size, max, down);
  if (n == 0) return 0;
  const bytes = n * size;
  const back = down ? bytes - size : 0;
  if (!segRunOk(SEG_ES, di - back, bytes, SEGCHK_WRITE)) return 0;
  let hd = tlbHost(dl, true);
  if (hd == 0) return 0;
  hd -= back;
  const v = getReg<T>(REG_EAX);
  if (sizeof<T>() == 1) {
    memory.fill(hd, <u8>v, bytes);
  } else {
    for (let i: u32 = 0; i < bytes; i += size) store<T>(hd + i, v);
  }
  setIdx(REG_EDI, di + (down ? -bytes : bytes));
  return n;
}

// --- the instructions -----------------------------------------------------------

const OP_MOVS: u32 = 0;
const OP_STOS: u32 = 1;
const OP_LODS: u32 = 2;
const OP_CMPS: u32 = 3;
const OP_SCAS: u32 = 4;
const OP_INS: u32 = 5;
const OP_OUTS: u32 = 6;

/**
 * One element of string instruction `op`: -1 if an access faulted or needs
 * the VMM (abortInsn set); else, for CMPS/SCAS, 1 if the operands were
 * equal (ZF) and 0 if not; 1 for the others.
 */
@inline function once<T>(op: u32): i32 {
  if (op == OP_CMPS) return cmpsOnce<T>();
  if (op == OP_SCAS) return scasOnce<T>();
  let ok: bool;
  if (op == OP_MOVS) ok = movsOnce<T>();
  else if (op == OP_STOS) ok = stosOnce<T>();
  else if (op == OP_LODS) ok = lodsOnce<T>();
  else if (op == OP_INS) ok = insOnce<T>();
  else ok = outsOnce<T>();
  return ok ? 1 : -1;
}

/**
 * String instruction `op` with its REP prefix, if any (SDM Vol. 2B, REP):
 * while (E)CX != 0, one element (or, for MOVS and STOS, a run of them on
 * the fast path), committed with the new count; REPE/REPNE CMPS and SCAS
 * also stop after an element that ends the condition. Every instruction
 * calls this with a constant `op`, so inlining leaves each its own loop
 * with only its element operation.
 */
@inline function repString<T>(op: u32): void {
  if (repPrefix == 0) { once<T>(op); return; }
  const runs = op == OP_MOVS || op == OP_STOS;
  const conditional = op == OP_CMPS || op == OP_SCAS;
  let count = repCount();
  // No fast path while the replay log holds accesses of a restarted iteration.
  const fast = runs && !logPending();
  const down = fast && flag(FLAG_DF);
  for (let done: u32 = 0; count != 0; ) {
    if (done >= REP_MAX) { repContinue(); return; }
    let k: u32 = 0;
    if (fast) {
      const max = REP_MAX - done < count ? REP_MAX - done : count;
      k = op == OP_MOVS ? movsRun<T>(max, down) : stosRun<T>(max, down);
    }
    let eq: i32 = 1;
    if (k == 0) {
      eq = once<T>(op);
      if (eq < 0) return;
      k = 1;
    }
    count = repCommit(count, k);
    done += k;
    if (conditional && repCondStops(eq)) return;
  }
}

@inline function repCount(): u32 {
  return idx(REG_ECX);
}

/** Sets EIP back to the instruction: more iterations follow in the next execution. */
@inline function repContinue(): void {
  eip = insnStart;
}

/** REPE (F3) goes on while equal, REPNE (F2) while not equal. */
@inline function repCondStops(eq: i32): bool {
  return repPrefix == 0xf3 ? eq == 0 : eq != 0;
}

export function movs<T>(): void { repString<T>(OP_MOVS); }
export function stos<T>(): void { repString<T>(OP_STOS); }
export function lods<T>(): void { repString<T>(OP_LODS); }
export function cmps<T>(): void { repString<T>(OP_CMPS); }
export function scas<T>(): void { repString<T>(OP_SCAS); }
export function ins<T>(): void { repString<T>(OP_INS); }
export function outs<T>(): void { repString<T>(OP_OUTS); }
