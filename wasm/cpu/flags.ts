// Lazy arithmetic flags.
//
// Arithmetic instructions record (operation, size, dst, src, result) instead
// of computing six flags that are usually overwritten unread; a flag is
// computed only when something reads it. V_LF_MASK says which of the six
// arithmetic flags are lazy; the others (and every non-arithmetic flag) are
// stored in V_FLAGS.
import {
  V_FLAGS, V_LF_OP, V_LF_SIZE, V_LF_RES, V_LF_DST, V_LF_SRC, V_LF_MASK,
  LF_ADD, LF_ADC, LF_SUB, LF_SBB, LF_RES,
  FLAG_CF, FLAG_PF, FLAG_AF, FLAG_ZF, FLAG_SF, FLAG_OF, FLAGS_ARITH,
} from '../abi';
import { cpu, bitsOf, refreshMode, kickLoop } from './state';
import { FLAG_VM, FLAG_AC, FLAG_TF } from '../abi';

// The record holds dst, src and result shifted to the top of 32 bits
// ("top-aligned": an 8-bit value v is stored as v << 24). Then ZF is
// `res == 0`, SF the sign bit, the carries unsigned compares and OF a sign
// bit for every operand size alike; only PF and AF shift back (by 32 - size).
@inline function top<T>(v: T): u32 {
  return <u32>v << (32 - bitsOf<T>());
}

// The recorders keep the block's address in a local (one load of the
// global) and store the operation and the size (adjacent words) at once.
@inline function recordOp<T>(c: u32, op: u32): void {
  store<u64>(c, <u64>op | (<u64>bitsOf<T>() << 32), V_LF_OP); // V_LF_OP, then V_LF_SIZE
}

/** Records an arithmetic result whose six flags are all lazy. */
@inline export function setLazyArith<T>(op: u32, dst: T, src: T, res: T): void {
  const c = cpu;
  recordOp<T>(c, op);
  store<u32>(c, top<T>(dst), V_LF_DST);
  store<u32>(c, top<T>(src), V_LF_SRC);
  store<u32>(c, top<T>(res), V_LF_RES);
  store<u32>(c, FLAGS_ARITH, V_LF_MASK);
}

/**
 * Records a result whose ZF, SF and PF are lazy; CF, OF and AF are given
 * (`fixed` holds their values, only those three bits are used).
 */
@inline export function setLazyResult<T>(res: T, fixed: u32): void {
  const c = cpu;
  const f = load<u32>(c, V_FLAGS);
  store<u32>(c, (f & ~(FLAG_CF | FLAG_OF | FLAG_AF)) | (fixed & (FLAG_CF | FLAG_OF | FLAG_AF)), V_FLAGS);
  recordOp<T>(c, LF_RES);
  store<u32>(c, top<T>(res), V_LF_RES);
  store<u32>(c, FLAG_ZF | FLAG_SF | FLAG_PF, V_LF_MASK);
}

/** INC/DEC: like ADD/SUB by one but CF is left as it was. */
@inline export function setLazyIncDec<T>(op: u32, dst: T, res: T): void {
  const c = cpu;
  if (load<u32>(c, V_LF_MASK) & FLAG_CF) {
    const f = load<u32>(c, V_FLAGS) & ~FLAG_CF;
    store<u32>(c, f | (lazyCFQuick() ? FLAG_CF : 0), V_FLAGS);
  }
  recordOp<T>(c, op);
  store<u32>(c, top<T>(dst), V_LF_DST);
  store<u32>(c, top<T>(<T>1), V_LF_SRC);
  store<u32>(c, top<T>(res), V_LF_RES);
  store<u32>(c, FLAGS_ARITH & ~FLAG_CF, V_LF_MASK);
}

/** A lazy CF; after SUB/CMP (JB/JAE/JBE/JA) and ADD (INC/DEC keep CF) inline. */
@inline function lazyCFQuick(): bool {
  const op = load<u32>(cpu, V_LF_OP);
  if (op == LF_SUB) return load<u32>(cpu, V_LF_DST) < load<u32>(cpu, V_LF_SRC);
  if (op == LF_ADD) return load<u32>(cpu, V_LF_RES) < load<u32>(cpu, V_LF_DST);
  return lazyCF();
}

function lazyCF(): bool {
  const op = load<u32>(cpu, V_LF_OP);
  const res = load<u32>(cpu, V_LF_RES);
  const dst = load<u32>(cpu, V_LF_DST);
  const src = load<u32>(cpu, V_LF_SRC);
  switch (op) {
    case LF_ADD: return res < dst;
    case LF_ADC: {
      // The carry in is what the sum leaves over (top-aligned: 0 or the unit).
      const cin = res - dst - src != 0;
      return res < dst || (cin && res == dst);
    }
    case LF_SUB: return dst < src;
    case LF_SBB: {
      const cin = dst - src - res != 0;
      return dst < src || (cin && dst == src);
    }
  }
  return false;
}

function lazyOF(): bool {
  const op = load<u32>(cpu, V_LF_OP);
  const res = load<u32>(cpu, V_LF_RES);
  const dst = load<u32>(cpu, V_LF_DST);
  const src = load<u32>(cpu, V_LF_SRC);
  if (op == LF_ADD || op == LF_ADC) return <i32>((dst ^ res) & (src ^ res)) < 0;
  if (op == LF_SUB || op == LF_SBB) return <i32>((dst ^ src) & (dst ^ res)) < 0;
  return false;
}

@inline function lazyAF(): bool {
  const x = load<u32>(cpu, V_LF_DST) ^ load<u32>(cpu, V_LF_SRC) ^ load<u32>(cpu, V_LF_RES);
  return ((x >> (32 - load<u32>(cpu, V_LF_SIZE))) & 0x10) != 0;
}
@inline function lazyZF(): bool {
  return load<u32>(cpu, V_LF_RES) == 0;
}
@inline function lazySF(): bool {
  return <i32>load<u32>(cpu, V_LF_RES) < 0;
}
@inline function lazyPF(): bool {
  const low = load<u32>(cpu, V_LF_RES) >> (32 - load<u32>(cpu, V_LF_SIZE));
  return (popcnt<u32>(low & 0xff) & 1) == 0;
}

export function getCF(): bool {
  return (load<u32>(cpu, V_LF_MASK) & FLAG_CF) ? lazyCF() : (load<u32>(cpu, V_FLAGS) & FLAG_CF) != 0;
}
export function getOF(): bool {
  return (load<u32>(cpu, V_LF_MASK) & FLAG_OF) ? lazyOF() : (load<u32>(cpu, V_FLAGS) & FLAG_OF) != 0;
}
export function getZF(): bool {
  return (load<u32>(cpu, V_LF_MASK) & FLAG_ZF) ? lazyZF() : (load<u32>(cpu, V_FLAGS) & FLAG_ZF) != 0;
}
export function getSF(): bool {
  return (load<u32>(cpu, V_LF_MASK) & FLAG_SF) ? lazySF() : (load<u32>(cpu, V_FLAGS) & FLAG_SF) != 0;
}
export function getPF(): bool {
  return (load<u32>(cpu, V_LF_MASK) & FLAG_PF) ? lazyPF() : (load<u32>(cpu, V_FLAGS) & FLAG_PF) != 0;
}
export function getAF(): bool {
  return (load<u32>(cpu, V_LF_MASK) & FLAG_AF) ? lazyAF() : (load<u32>(cpu, V_FLAGS) & FLAG_AF) != 0;
}

/** The full EFLAGS value (bit 1 always set). */
export function getEflags(): u32 {
  const mask = load<u32>(cpu, V_LF_MASK);
  let f = load<u32>(cpu, V_FLAGS);
  if (mask == 0) return f | 2;
  f &= ~mask;
  if ((mask & FLAG_CF) && lazyCF()) f |= FLAG_CF;
  if ((mask & FLAG_PF) && lazyPF()) f |= FLAG_PF;
  if ((mask & FLAG_AF) && lazyAF()) f |= FLAG_AF;
  if ((mask & FLAG_ZF) && lazyZF()) f |= FLAG_ZF;
  if ((mask & FLAG_SF) && lazySF()) f |= FLAG_SF;
  if ((mask & FLAG_OF) && lazyOF()) f |= FLAG_OF;
  return f | 2;
}

/** Stores every flag explicitly (no lazy flags afterwards). No mode side effects: see setEflagsChecked in system code. */
export function setEflagsRaw(v: u32): void {
  store<u32>(cpu, (v | 2) & 0x3f7fd7, V_FLAGS);
  store<u32>(cpu, 0, V_LF_MASK);
  // run() samples TF only at careful boundaries: make the next one careful.
  if (v & FLAG_TF) kickLoop();
}

/**
 * Writes EFLAGS as POPF/IRET/task switches do: every bit given, then the mode
 * caches if VM changed. Privilege rules (which bits may change) are the
 * caller's.
 */
export function writeEflags(v: u32): void {
  const old = load<u32>(cpu, V_FLAGS);
  setEflagsRaw(v);
  if ((old ^ v) & (FLAG_VM | FLAG_AC)) refreshMode();
}

/** Makes every arithmetic flag explicit so individual bits can be changed. */
export function materializeFlags(): void {
  if (load<u32>(cpu, V_LF_MASK) != 0) setEflagsRaw(getEflags());
}

/** Sets or clears one arithmetic flag (materializing the rest). */
export function setFlagBit(bit: u32, on: bool): void {
  materializeFlags();
  const f = load<u32>(cpu, V_FLAGS);
  store<u32>(cpu, on ? f | bit : f & ~bit, V_FLAGS);
}

/**
 * Sets the arithmetic flags in `which` to their bits in `values` and leaves
 * every other flag as it is, lazy or not (the lazy record stays valid for
 * the flags it still covers). For instructions that change only some flags:
 * rotates (CF, OF), BT (CF), CMPXCHG8B (ZF).
 */
export function setFlagsPartial(which: u32, values: u32): void {
  store<u32>(cpu, load<u32>(cpu, V_LF_MASK) & ~which, V_LF_MASK);
  const f = load<u32>(cpu, V_FLAGS);
  store<u32>(cpu, (f & ~which) | (values & which), V_FLAGS);
}

/** A non-arithmetic flag (DF, IF, TF, …), never lazy. */
@inline export function flag(bit: u32): bool {
  return (load<u32>(cpu, V_FLAGS) & bit) != 0;
}


/** An arithmetic flag kept explicitly in V_FLAGS. */
@inline function stored(bit: u32): bool {
  return (load<u32>(cpu, V_FLAGS) & bit) != 0;
}

/** SF != OF (the signed "less"): for SUB/CMP with both lazy, dst < src signed. */
@inline function signedLess(mask: u32): bool {
  if ((mask & (FLAG_SF | FLAG_OF)) == (FLAG_SF | FLAG_OF) && load<u32>(cpu, V_LF_OP) == LF_SUB) {
    return <i32>load<u32>(cpu, V_LF_DST) < <i32>load<u32>(cpu, V_LF_SRC);
  }
  const sf = (mask & FLAG_SF) ? lazySF() : stored(FLAG_SF);
  const ov = (mask & FLAG_OF) ? lazyOF() : stored(FLAG_OF);
  return sf != ov;
}

/** Evaluates condition code cc (the low nibble of Jcc/SETcc/CMOVcc). */
export function testCond(cc: u32): bool {
  return cond(cc);
}

/**
 * testCond() inline, for Jcc: with a constant cc (one case per opcode) it
 * folds to the one flag test it needs, read from the record in place (ZF is
 * one compare, CF after SUB/CMP one unsigned compare).
 */
@inline export function cond(cc: u32): bool {
  const mask = load<u32>(cpu, V_LF_MASK);
  let r: bool;
  switch (cc >> 1) {
    case 0: r = (mask & FLAG_OF) ? lazyOF() : stored(FLAG_OF); break;
    case 1: r = (mask & FLAG_CF) ? lazyCFQuick() : stored(FLAG_CF); break;
    case 2: r = (mask & FLAG_ZF) ? lazyZF() : stored(FLAG_ZF); break;
    case 3:
      r = ((mask & FLAG_ZF) ? lazyZF() : stored(FLAG_ZF)) || ((mask & FLAG_CF) ? lazyCFQuick() : stored(FLAG_CF));
      break;
    case 4: r = (mask & FLAG_SF) ? lazySF() : stored(FLAG_SF); break;
    case 5: r = (mask & FLAG_PF) ? lazyPF() : stored(FLAG_PF); break;
    case 6: r = signedLess(mask); break;
    default: r = ((mask & FLAG_ZF) ? lazyZF() : stored(FLAG_ZF)) || signedLess(mask); break;
  }
  return (cc & 1) ? !r : r;
}
