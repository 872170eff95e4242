// The integer SIMD operations, as v128 -> v128 functions of the 0F opcode.
//
// The MMX instruction and its SSE2 128-bit form (the same opcode with 66)
// are one operation on lanes: an MMX operand is loaded into the low half of
// a v128 and only the low 64 bits of the result are kept. The only
// operations where the halves interact are the packs and the high unpacks,
// which get `mmx` to place their 64-bit results as the SDM says.
import { shiftLeft, shiftRight, shiftRightArith } from './shiftlanes';

/** [a.lo, b.lo]: the four words (two dwords) of two MMX operands side by side. */
@inline function lowHalves(a: v128, b: v128): v128 {
  return v128.shuffle<u64>(a, b, 0, 2);
}

/** The pack instructions: saturate a's lanes then b's into the narrower type. */
@inline function pack(op: u32, a: v128, b: v128, mmx: bool): v128 {
  // For MMX, narrowing [a.lo, b.lo] gives [sat(a.lo), sat(b.lo)] in the low 64 bits.
  if (mmx) { a = lowHalves(a, b); b = a; }
  if (op == 0x63) return i8x16.narrow_i16x8_s(a, b); // PACKSSWB
  if (op == 0x67) return i8x16.narrow_i16x8_u(a, b); // PACKUSWB: signed words to unsigned bytes, as x86
  return i16x8.narrow_i32x4_s(a, b); // 6B PACKSSDW
}

/** Lane size of an unpack: 0 bytes, 1 words, 2 dwords, 3 qwords (PUNPCKLQDQ/HQDQ, 0F 6C/6D). */
@inline function unpackKind(op: u32): u32 {
  return op >= 0x6c ? 3 : op & 3;
}

/** PUNPCKL*: interleave the low halves (for MMX: the low 32 bits of each). */
@inline function unpackLow(kind: u32, a: v128, b: v128): v128 {
  switch (kind) {
    case 0: return v128.shuffle<u8>(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    case 1: return v128.shuffle<u16>(a, b, 0, 8, 1, 9, 2, 10, 3, 11);
    case 2: return v128.shuffle<u32>(a, b, 0, 4, 1, 5);
    default: return v128.shuffle<u64>(a, b, 0, 2); // 6C PUNPCKLQDQ
  }
}

/** PUNPCKH*: interleave the high halves. */
@inline function unpackHigh(kind: u32, a: v128, b: v128, mmx: bool): v128 {
  // The high half of an MMX operand is bits 63:32: move it down and interleave as the low unpack does.
  if (mmx) return unpackLow(kind, i64x2.shr_u(a, 32), i64x2.shr_u(b, 32));
  switch (kind) {
    case 0: return v128.shuffle<u8>(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    case 1: return v128.shuffle<u16>(a, b, 4, 12, 5, 13, 6, 14, 7, 15);
    case 2: return v128.shuffle<u32>(a, b, 2, 6, 3, 7);
    default: return v128.shuffle<u64>(a, b, 1, 3); // 6D PUNPCKHQDQ
  }
}

/** PMULHW (signed) / PMULHUW: the high 16 bits of each 32-bit product. */
@inline function mulHigh(a: v128, b: v128, signed: bool): v128 {
  // The shifted products fit 16 bits, so the saturating narrow is exact.
  if (signed) {
    const lo = i32x4.shr_s(i32x4.extmul_low_i16x8_s(a, b), 16);
    const hi = i32x4.shr_s(i32x4.extmul_high_i16x8_s(a, b), 16);
    return i16x8.narrow_i32x4_s(lo, hi);
  }
  const lo = i32x4.shr_u(i32x4.extmul_low_i16x8_u(a, b), 16);
  const hi = i32x4.shr_u(i32x4.extmul_high_i16x8_u(a, b), 16);
  return i16x8.narrow_i32x4_u(lo, hi);
}

/** PSADBW: per quadword, the sum of the 8 absolute byte differences in its low word. */
@inline function sumAbsDiff(a: v128, b: v128): v128 {
  const diff = v128.or(v128.sub_sat<u8>(a, b), v128.sub_sat<u8>(b, a));
  const s32 = i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(diff));
  return i64x2.add(v128.and(s32, i64x2.splat(0xffffffff)), i64x2.shr_u(s32, 32));
}

/** PMULUDQ: the unsigned 64-bit products of dword lanes 0 (and 2). */
@inline function mulEvenDwords(a: v128, b: v128): v128 {
  return i64x2.extmul_low_i32x4_u(v128.shuffle<u32>(a, a, 0, 2, 0, 2), v128.shuffle<u32>(b, b, 0, 2, 0, 2));
}

/** The shift count of PSxx by register: the whole low quadword of the source. */
@inline function count(b: v128): u64 {
  return <u64>i64x2.extract_lane(b, 0);
}

/**
 * Integer SIMD opcode 0F `op` on the operands at host addresses `a`
 * (destination) and `b` (source), 8 bytes each for MMX, 16 for XMM; the
 * 16-byte result goes to `to` (for MMX its low 8 bytes are the result).
 */
export function intLanes(op: u32, to: usize, a: usize, b: usize, mmx: bool): void {
  const va = mmx ? v128.load64_zero(a) : v128.load(a);
  const vb = mmx ? v128.load64_zero(b) : v128.load(b);
  v128.store(to, lanes(op, va, vb, mmx));
}

function lanes(op: u32, a: v128, b: v128, mmx: bool): v128 {
  switch (op) {
    case 0x60: case 0x61: case 0x62: case 0x6c: return unpackLow(unpackKind(op), a, b);
    case 0x68: case 0x69: case 0x6a: case 0x6d: return unpackHigh(unpackKind(op), a, b, mmx);
    case 0x63: case 0x67: case 0x6b: return pack(op, a, b, mmx);
    case 0x64: return v128.gt<i8>(a, b); // PCMPGTB
    case 0x65: return v128.gt<i16>(a, b);
    case 0x66: return v128.gt<i32>(a, b);
    case 0x74: return v128.eq<i8>(a, b); // PCMPEQB
    case 0x75: return v128.eq<i16>(a, b);
    case 0x76: return v128.eq<i32>(a, b);
    case 0xd1: return shiftRight<u16>(a, count(b)); // PSRLW
    case 0xd2: return shiftRight<u32>(a, count(b));
    case 0xd3: return shiftRight<u64>(a, count(b));
    case 0xd4: return v128.add<i64>(a, b); // PADDQ
    case 0xd5: return v128.mul<i16>(a, b); // PMULLW
    case 0xd8: return v128.sub_sat<u8>(a, b); // PSUBUSB
    case 0xd9: return v128.sub_sat<u16>(a, b);
    case 0xda: return v128.min<u8>(a, b); // PMINUB
    case 0xdb: return v128.and(a, b); // PAND
    case 0xdc: return v128.add_sat<u8>(a, b); // PADDUSB
    case 0xdd: return v128.add_sat<u16>(a, b);
    case 0xde: return v128.max<u8>(a, b); // PMAXUB
    case 0xdf: return v128.andnot(b, a); // PANDN: ~a & b
    case 0xe0: return v128.avgr<u8>(a, b); // PAVGB: (a + b + 1) >> 1, as wasm's rounding average
    case 0xe1: return shiftRightArith<i16>(a, count(b)); // PSRAW
    case 0xe2: return shiftRightArith<i32>(a, count(b));
    case 0xe3: return v128.avgr<u16>(a, b); // PAVGW
    case 0xe4: return mulHigh(a, b, false); // PMULHUW
    case 0xe5: return mulHigh(a, b, true); // PMULHW
    case 0xe8: return v128.sub_sat<i8>(a, b); // PSUBSB
    case 0xe9: return v128.sub_sat<i16>(a, b);
    case 0xea: return v128.min<i16>(a, b); // PMINSW
    case 0xeb: return v128.or(a, b); // POR
    case 0xec: return v128.add_sat<i8>(a, b); // PADDSB
    case 0xed: return v128.add_sat<i16>(a, b);
    case 0xee: return v128.max<i16>(a, b); // PMAXSW
    case 0xef: return v128.xor(a, b); // PXOR
    case 0xf1: return shiftLeft<u16>(a, count(b)); // PSLLW
    case 0xf2: return shiftLeft<u32>(a, count(b));
    case 0xf3: return shiftLeft<u64>(a, count(b));
    case 0xf4: return mulEvenDwords(a, b); // PMULUDQ
    case 0xf5: return i32x4.dot_i16x8_s(a, b); // PMADDWD (0x8000*0x8000*2 wraps to 0x80000000 in both)
    case 0xf6: return sumAbsDiff(a, b); // PSADBW
    case 0xf8: return v128.sub<i8>(a, b); // PSUBB
    case 0xf9: return v128.sub<i16>(a, b);
    case 0xfa: return v128.sub<i32>(a, b);
    case 0xfb: return v128.sub<i64>(a, b); // PSUBQ
    case 0xfc: return v128.add<i8>(a, b); // PADDB
    case 0xfd: return v128.add<i16>(a, b);
    default: return v128.add<i32>(a, b); // FE PADDD
  }
}

/** Whether 0F `op` is an MMX unpack-low, whose memory operand is 32 bits (PUNPCKLBW mm, mm/m32). */
@inline export function isMmxUnpackLow(op: u32): bool {
  return op >= 0x60 && op <= 0x62;
}
