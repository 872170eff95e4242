// Segment-relative addressing: offset -> linear address with the limit and
// access-rights checks of the descriptor cache.
import {
  V_SEGS, SEG_SIZE, SEG_ATTR, SEG_LIMIT, SEG_BASE, SEG_CHECK, SEG_SS, SEG_VALID,
  ATTR_S, ATTR_CODE, ATTR_D, SEGCHK_READ, SEGCHK_WRITE, EXC_GP, EXC_SS,
} from '../abi';
import { cpu, protMode, v86Mode, setFault } from './state';

/**
 * Recomputes the derived access bits of segment `seg` from its attributes.
 * Real and virtual-8086 mode check limits only, never access rights.
 */
export function updateSegCheck(seg: i32): void {
  const s = cpu + V_SEGS + seg * SEG_SIZE;
  const attr = load<u32>(s, SEG_ATTR);
  let chk: u32 = 0;
  if (!protMode || v86Mode) {
    chk = SEGCHK_READ | SEGCHK_WRITE;
  } else if ((attr & SEG_VALID) && (attr & ATTR_S)) {
    const type = attr & 0xf;
    if (attr & ATTR_CODE) {
      if (type & 2) chk = SEGCHK_READ;
    } else if (!(type & 4)) {
      chk = SEGCHK_READ | ((type & 2) ? SEGCHK_WRITE : 0);
    }
  }
  store<u32>(s, chk, SEG_CHECK);
}

/** Linear address of `size` bytes at `off` in segment `seg`, or a fault (#GP(0) / #SS(0)). */
@inline export function segLinear(seg: i32, off: u32, size: u32, write: bool): u32 {
  // The block's segment area is in the loads' immediate offsets.
  const s = cpu + seg * SEG_SIZE;
  if ((load<u32>(s, V_SEGS + SEG_CHECK) & (write ? SEGCHK_WRITE : SEGCHK_READ)) != 0 &&
      <u64>off + <u64>(size - 1) <= <u64>load<u32>(s, V_SEGS + SEG_LIMIT)) {
    return <u32>load<u32>(s, V_SEGS + SEG_BASE) + off;
  }
  return segLinearSlow(seg, off, size, write);
}

function segLinearSlow(seg: i32, off: u32, size: u32, write: bool): u32 {
  const s = cpu + V_SEGS + seg * SEG_SIZE;
  const attr = load<u32>(s, SEG_ATTR);
  const limit = load<u32>(s, SEG_LIMIT);
  const vec = seg == SEG_SS ? EXC_SS : EXC_GP;
  const last = <u64>off + <u64>(size - 1);
  if (!protMode || v86Mode) {
    if (last > <u64>limit) setFault(vec, 0, true);
    return <u32>load<u64>(s, SEG_BASE) + off;
  }
  if (!(attr & SEG_VALID) || !(attr & ATTR_S)) {
    setFault(EXC_GP, 0, true);
    return 0;
  }
  const type = attr & 0xf;
  if (attr & ATTR_CODE) {
    if (write || !(type & 2)) { setFault(vec, 0, true); return 0; }
  } else if (write && !(type & 2)) {
    setFault(vec, 0, true);
    return 0;
  }
  if (!(attr & ATTR_CODE) && (type & 4)) {
    // Expand-down: valid offsets are limit+1 .. 0xFFFF or 0xFFFFFFFF.
    const upper: u64 = (attr & ATTR_D) ? 0xffffffff : 0xffff;
    if (<u64>off <= <u64>limit || last > upper) { setFault(vec, 0, true); return 0; }
  } else if (last > <u64>limit) {
    setFault(vec, 0, true);
    return 0;
  }
  return <u32>load<u64>(s, SEG_BASE) + off;
}
