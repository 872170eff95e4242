// Lane shifts with x86's count rules, generic over the lane type.
//
// x86 shifts by the whole 64-bit count (SDM PSLLW/PSRLW/PSRAW): a count
// above the lane width - 1 clears every lane of a logical shift and fills an
// arithmetic one with the sign. WebAssembly takes the count modulo the lane
// width, so large counts are handled here.
import { bitsOf } from '../../cpu/state';

/** Logical left shift of every lane of type T (u16, u32, u64). */
@inline export function shiftLeft<T>(a: v128, n: u64): v128 {
  if (n >= <u64>bitsOf<T>()) return i32x4.splat(0);
  return v128.shl<T>(a, <i32>n);
}

/** Logical right shift (T unsigned). */
@inline export function shiftRight<T>(a: v128, n: u64): v128 {
  if (n >= <u64>bitsOf<T>()) return i32x4.splat(0);
  return v128.shr<T>(a, <i32>n);
}

/** Arithmetic right shift (T signed): counts past the width shift by width - 1. */
@inline export function shiftRightArith<T>(a: v128, n: u64): v128 {
  const max = <u64>bitsOf<T>() - 1;
  return v128.shr<T>(a, <i32>(n > max ? max : n));
}

/**
 * PSLLDQ/PSRLDQ: the whole register shifted by n bytes (n > 15 clears it).
 * A byte swizzle with out-of-range indices (>= 16) reading as zero does it:
 * right by n reads byte i + n; left by n reads byte i - n, which wraps to
 * 0xF0-0xFF (out of range) for i < n.
 */
@inline export function shiftBytes(a: v128, n: u32, left: bool): v128 {
  const k = <i8>(n > 16 ? 16 : n);
  const index = i8x16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const shifted = left ? i8x16.sub(index, i8x16.splat(k)) : i8x16.add(index, i8x16.splat(k));
  return i8x16.swizzle(a, shifted);
}
