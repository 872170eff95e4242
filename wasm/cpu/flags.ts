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
import { cpu, bitsOf, refreshMode } from './state';
import { FLAG_VM, FLAG_AC } from '../abi';

@inline function sizeMask(bits: u32): u32 {
  return bits == 32 ? 0xffffffff : (<u32>1 << bits) - 1;
}

/** Records an arithmetic result whose six flags are all lazy. */
@inline export function setLazyArith<T>(op: u32, dst: T, src: T, res: T): void {
  store<u32>(cpu + V_LF_OP, op);
  store<u32>(cpu + V_LF_SIZE, bitsOf<T>());
  store<u32>(cpu + V_LF_DST, <u32>dst);
  store<u32>(cpu + V_LF_SRC, <u32>src);
  store<u32>(cpu + V_LF_RES, <u32>res);
  store<u32>(cpu + V_LF_MASK, FLAGS_ARITH);
}

/**
 * Records a result whose ZF, SF and PF are lazy; CF, OF and AF are given
 * (`fixed` holds their values, only those three bits are used).
 */
@inline export function setLazyResult<T>(res: T, fixed: u32): void {
  const f = load<u32>(cpu + V_FLAGS);
  store<u32>(cpu + V_FLAGS, (f & ~(FLAG_CF | FLAG_OF | FLAG_AF)) | (fixed & (FLAG_CF | FLAG_OF | FLAG_AF)));
  store<u32>(cpu + V_LF_OP, LF_RES);
  store<u32>(cpu + V_LF_SIZE, bitsOf<T>());
  store<u32>(cpu + V_LF_RES, <u32>res);
  store<u32>(cpu + V_LF_MASK, FLAG_ZF | FLAG_SF | FLAG_PF);
}

/** INC/DEC: like ADD/SUB by one but CF is left as it was. */
@inline export function setLazyIncDec<T>(op: u32, dst: T, res: T): void {
  if (load<u32>(cpu + V_LF_MASK) & FLAG_CF) {
    const f = load<u32>(cpu + V_FLAGS) & ~FLAG_CF;
    store<u32>(cpu + V_FLAGS, f | (lazyCF() ? FLAG_CF : 0));
  }
  store<u32>(cpu + V_LF_OP, op);
  store<u32>(cpu + V_LF_SIZE, bitsOf<T>());
  store<u32>(cpu + V_LF_DST, <u32>dst);
  store<u32>(cpu + V_LF_SRC, 1);
  store<u32>(cpu + V_LF_RES, <u32>res);
  store<u32>(cpu + V_LF_MASK, FLAGS_ARITH & ~FLAG_CF);
}

function lazyCF(): bool {
  const op = load<u32>(cpu + V_LF_OP);
  const m = sizeMask(load<u32>(cpu + V_LF_SIZE));
  const res = load<u32>(cpu + V_LF_RES) & m;
  const dst = load<u32>(cpu + V_LF_DST) & m;
  const src = load<u32>(cpu + V_LF_SRC) & m;
  switch (op) {
    case LF_ADD: return res < dst;
    case LF_ADC: {
      const cin = ((res - dst - src) & m) != 0;
      return res < dst || (cin && res == dst);
    }
    case LF_SUB: return dst < src;
    case LF_SBB: {
      const cin = ((dst - src - res) & m) != 0;
      return dst < src || (cin && dst == src);
    }
  }
  return false;
}

function lazyOF(): bool {
  const op = load<u32>(cpu + V_LF_OP);
  const bits = load<u32>(cpu + V_LF_SIZE);
  const res = load<u32>(cpu + V_LF_RES);
  const dst = load<u32>(cpu + V_LF_DST);
  const src = load<u32>(cpu + V_LF_SRC);
  if (op == LF_ADD || op == LF_ADC) return (((dst ^ res) & (src ^ res)) >> (bits - 1)) & 1 ? true : false;
  if (op == LF_SUB || op == LF_SBB) return (((dst ^ src) & (dst ^ res)) >> (bits - 1)) & 1 ? true : false;
  return false;
}

@inline function lazyAF(): bool {
  return ((load<u32>(cpu + V_LF_DST) ^ load<u32>(cpu + V_LF_SRC) ^ load<u32>(cpu + V_LF_RES)) & 0x10) != 0;
}
@inline function lazyZF(): bool {
  return (load<u32>(cpu + V_LF_RES) & sizeMask(load<u32>(cpu + V_LF_SIZE))) == 0;
}
@inline function lazySF(): bool {
  return ((load<u32>(cpu + V_LF_RES) >> (load<u32>(cpu + V_LF_SIZE) - 1)) & 1) != 0;
}
@inline function lazyPF(): bool {
  return (popcnt<u32>(load<u32>(cpu + V_LF_RES) & 0xff) & 1) == 0;
}

export function getCF(): bool {
  return (load<u32>(cpu + V_LF_MASK) & FLAG_CF) ? lazyCF() : (load<u32>(cpu + V_FLAGS) & FLAG_CF) != 0;
}
export function getOF(): bool {
  return (load<u32>(cpu + V_LF_MASK) & FLAG_OF) ? lazyOF() : (load<u32>(cpu + V_FLAGS) & FLAG_OF) != 0;
}
export function getZF(): bool {
  return (load<u32>(cpu + V_LF_MASK) & FLAG_ZF) ? lazyZF() : (load<u32>(cpu + V_FLAGS) & FLAG_ZF) != 0;
}
export function getSF(): bool {
  return (load<u32>(cpu + V_LF_MASK) & FLAG_SF) ? lazySF() : (load<u32>(cpu + V_FLAGS) & FLAG_SF) != 0;
}
export function getPF(): bool {
  return (load<u32>(cpu + V_LF_MASK) & FLAG_PF) ? lazyPF() : (load<u32>(cpu + V_FLAGS) & FLAG_PF) != 0;
}
export function getAF(): bool {
  return (load<u32>(cpu + V_LF_MASK) & FLAG_AF) ? lazyAF() : (load<u32>(cpu + V_FLAGS) & FLAG_AF) != 0;
}

/** The full EFLAGS value (bit 1 always set). */
export function getEflags(): u32 {
  const mask = load<u32>(cpu + V_LF_MASK);
  let f = load<u32>(cpu + V_FLAGS);
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
  store<u32>(cpu + V_FLAGS, (v | 2) & 0x3f7fd7);
  store<u32>(cpu + V_LF_MASK, 0);
}

/**
 * Writes EFLAGS as POPF/IRET/task switches do: every bit given, then the mode
 * caches if VM changed. Privilege rules (which bits may change) are the
 * caller's.
 */
export function writeEflags(v: u32): void {
  const old = load<u32>(cpu + V_FLAGS);
  setEflagsRaw(v);
  if ((old ^ v) & (FLAG_VM | FLAG_AC)) refreshMode();
}

/** Makes every arithmetic flag explicit so individual bits can be changed. */
export function materializeFlags(): void {
  if (load<u32>(cpu + V_LF_MASK) != 0) setEflagsRaw(getEflags());
}

/** Sets or clears one arithmetic flag (materializing the rest). */
export function setFlagBit(bit: u32, on: bool): void {
  materializeFlags();
  const f = load<u32>(cpu + V_FLAGS);
  store<u32>(cpu + V_FLAGS, on ? f | bit : f & ~bit);
}

/**
 * Sets the arithmetic flags in `which` to their bits in `values` and leaves
 * every other flag as it is, lazy or not (the lazy record stays valid for
 * the flags it still covers). For instructions that change only some flags:
 * rotates (CF, OF), BT (CF), CMPXCHG8B (ZF).
 */
export function setFlagsPartial(which: u32, values: u32): void {
  store<u32>(cpu + V_LF_MASK, load<u32>(cpu + V_LF_MASK) & ~which);
  const f = load<u32>(cpu + V_FLAGS);
  store<u32>(cpu + V_FLAGS, (f & ~which) | (values & which));
}

/** A non-arithmetic flag (DF, IF, TF, …), never lazy. */
@inline export function flag(bit: u32): bool {
  return (load<u32>(cpu + V_FLAGS) & bit) != 0;
}

/** Evaluates condition code cc (the low nibble of Jcc/SETcc/CMOVcc). */
export function testCond(cc: u32): bool {
  let r: bool;
  switch (cc >> 1) {
    case 0: r = getOF(); break;
    case 1: r = getCF(); break;
    case 2: r = getZF(); break;
    case 3: r = getCF() || getZF(); break;
    case 4: r = getSF(); break;
    case 5: r = getPF(); break;
    case 6: r = getSF() != getOF(); break;
    default: r = getZF() || (getSF() != getOF()); break;
  }
  return (cc & 1) ? !r : r;
}

