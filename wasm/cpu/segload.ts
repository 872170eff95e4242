// Loading segment registers. Real and virtual-8086 mode compute the base from
// the selector; protected mode reads and checks a descriptor (descriptors.ts).
import {
  V_SEGS, SEG_SIZE, SEG_SEL, SEG_ATTR, SEG_LIMIT, SEG_BASE, SEG_CS, SEG_SS, SEG_VALID,
} from '../abi';
import { cpu, protMode, v86Mode, refreshMode } from './state';
import { updateSegCheck } from './segaccess';
import { invalidateFetch } from './decode';
import { loadSegmentProtected } from './descriptors';

/** Writes a segment register's hidden part directly (descriptor already checked). */
export function setSegmentCache(seg: i32, sel: u32, base: u32, limit: u32, attr: u32): void {
  const s = cpu + V_SEGS + seg * SEG_SIZE;
  store<u32>(s, sel & 0xffff, SEG_SEL);
  store<u64>(s, <u64>base, SEG_BASE);
  store<u32>(s, limit, SEG_LIMIT);
  store<u32>(s, attr, SEG_ATTR);
  updateSegCheck(seg);
  if (seg == SEG_CS || seg == SEG_SS) {
    refreshMode();
    if (seg == SEG_CS) invalidateFetch();
  }
}

/**
 * Real mode: only selector and base change; the limit and attributes stay
 * in the cache (what "unreal mode" relies on; QEMU does the same).
 * Virtual-8086 mode: 64 KiB, 16-bit, DPL 3 segments.
 */
export function loadSegmentReal(seg: i32, sel: u32): void {
  const s = cpu + V_SEGS + seg * SEG_SIZE;
  if (v86Mode) {
    setSegmentCache(seg, sel, sel << 4, 0xffff, 0xf3 | SEG_VALID | (seg == SEG_CS ? 0x08 : 0));
    return;
  }
  store<u32>(s, sel & 0xffff, SEG_SEL);
  store<u64>(s, <u64>((sel & 0xffff) << 4), SEG_BASE);
  store<u32>(s, load<u32>(s, SEG_ATTR) | SEG_VALID, SEG_ATTR);
  if (seg == SEG_CS) invalidateFetch();
  if (seg == SEG_CS || seg == SEG_SS) refreshMode();
}

/** MOV/POP/LDS… to a data or stack segment register (CS goes through far transfers). */
export function loadSegment(seg: i32, sel: u32): void {
  if (!protMode || v86Mode) loadSegmentReal(seg, sel);
  else loadSegmentProtected(seg, sel);
}
