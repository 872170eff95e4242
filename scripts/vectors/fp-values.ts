// Floating-point encodings and the edge-value distributions of the FPU
// vectors: 32/64-bit IEEE values (SSE, x87 memory operands) and 80-bit
// extended values (x87 registers), as raw bit patterns.
import { Rng } from './lib.ts';

/** An 80-bit x87 value: sign|exponent and the 64-bit significand (explicit integer bit 63). */
export interface X80 {
  se: number;
  sig: bigint;
}

const J = 1n << 63n;
const FRAC63 = J - 1n;

export function u64(rng: Rng): bigint {
  return (BigInt(rng.u32()) << 32n) | BigInt(rng.u32());
}

/** A random integer of `bits` bits (up to 64) as a bigint. */
export function randBits(rng: Rng, bits: number): bigint {
  return BigInt.asUintN(bits, u64(rng));
}

function signed(rng: Rng, se: number): number {
  return rng.bool(0.5) ? se | 0x8000 : se;
}

// ---------------------------------------------------------------------------
// 80-bit extended
// ---------------------------------------------------------------------------

/**
 * Low significand bits that sit at a rounding boundary for a precision of
 * `p` bits (24, 53, 64): exact, half-way, just below or above half-way, all
 * ones, or random. The bits at and above the precision are random.
 */
export function roundingSig(rng: Rng, p: number): bigint {
  const hi = J | randBits(rng, 63);
  if (p >= 64) return hi;
  const below = BigInt(64 - p);
  const half = 1n << (below - 1n);
  const low = rng.pick([0n, half, half - 1n, half + 1n, (1n << below) - 1n, 1n, randBits(rng, Number(below))]);
  return ((hi >> below) << below) | low;
}

/** A normal number with exponent (unbiased) in [lo, hi]. */
export function x80Normal(rng: Rng, lo = -70, hi = 70): X80 {
  const e = 16383 + rng.range(lo, hi);
  const sig = rng.bool(0.35) ? roundingSig(rng, rng.pick([24, 53, 64])) : J | randBits(rng, 63);
  return { se: signed(rng, Math.min(Math.max(e, 1), 0x7ffe)), sig };
}

export const X80_QNAN_INDEFINITE: X80 = { se: 0xffff, sig: 0xc000000000000000n };

/** Special and unusual 80-bit encodings, including those the 387 and later reject as invalid operands. */
export function x80Special(rng: Rng): X80 {
  switch (rng.int(18)) {
    case 0: return { se: signed(rng, 0), sig: 0n }; // ±0
    case 1: return { se: signed(rng, 0), sig: rng.pick([1n, FRAC63, randBits(rng, 63) | 1n]) }; // denormal
    case 2: return { se: signed(rng, 0), sig: J | randBits(rng, rng.pick([0, 63])) }; // pseudo-denormal
    case 3: return { se: signed(rng, 0x7fff), sig: J }; // ±inf
    case 4: return { se: signed(rng, 0x7fff), sig: 0xc000000000000000n | randBits(rng, rng.pick([0, 8, 62])) }; // QNaN
    case 5: return { se: signed(rng, 0x7fff), sig: J | (randBits(rng, 62) || 1n) }; // SNaN
    case 6: return { ...X80_QNAN_INDEFINITE };
    case 7: return { se: signed(rng, rng.range(1, 0x7ffe)), sig: rng.pick([0n, randBits(rng, 63)]) }; // unnormal
    case 8: return { se: signed(rng, 0x7fff), sig: randBits(rng, 63) }; // pseudo-NaN / pseudo-inf
    case 9: return { se: signed(rng, 1), sig: J | randBits(rng, rng.pick([0, 63])) }; // smallest normals
    case 10: return { se: signed(rng, 0x7ffe), sig: rng.pick([~0n & ((1n << 64n) - 1n), J | randBits(rng, 63)]) }; // largest
    case 11: return { se: signed(rng, 0x3fff), sig: J }; // ±1
    case 12: return { se: signed(rng, 16383 + rng.range(-1, 65)), sig: integral(rng) }; // integers, halves
    case 13: return { se: signed(rng, rng.pick([0x3c01, 0x3c00, 0x3bff, 0x3f81, 0x3f80, 0x3f7f, 0x407e, 0x407f, 0x43fe, 0x43ff])), sig: roundingSig(rng, rng.pick([24, 53])) }; // float/double limits
    case 14: return { se: signed(rng, rng.range(1, 0x7ffe)), sig: J | randBits(rng, 63) }; // anywhere
    case 15: return { se: signed(rng, rng.range(0x3fff - 16, 0x3fff + 16)), sig: rng.pick([J, 0xc000000000000000n, 0xffffffffffffffffn, 0x8000000000000001n]) };
    default: return x80Normal(rng, -80, 80);
  }
}

/** A significand whose value with some exponent is an integer or a half: n.0, n.5, n.5±tiny. */
function integral(rng: Rng): bigint {
  const bits = rng.range(1, 64);
  let s = J | (randBits(rng, 63) >> BigInt(64 - bits)) << BigInt(64 - bits);
  if (bits < 64 && rng.bool(0.5)) s |= 1n << BigInt(63 - bits); // .5 (relative to an integer of `bits` bits)
  if (rng.bool(0.15)) s ^= 1n;
  return s & ((1n << 64n) - 1n);
}

/** The general distribution: specials often, normals near 1 mostly. */
export function x80Val(rng: Rng, pSpecial = 0.3): X80 {
  return rng.bool(pSpecial) ? x80Special(rng) : x80Normal(rng);
}

export function isNaN80(x: X80): boolean {
  return (x.se & 0x7fff) === 0x7fff && (x.sig & FRAC63) !== 0n;
}

// ---------------------------------------------------------------------------
// IEEE single and double (as bit patterns: number for 32 bits, bigint for 64)
// ---------------------------------------------------------------------------
interface Fmt {
  bits: number;
  man: number; // mantissa (fraction) bits
  bias: number;
}
export const F32: Fmt = { bits: 32, man: 23, bias: 127 };
export const F64: Fmt = { bits: 64, man: 52, bias: 1023 };

function enc(f: Fmt, sign: boolean, e: number, m: bigint): bigint {
  return ((sign ? 1n : 0n) << BigInt(f.bits - 1)) | (BigInt(e) << BigInt(f.man)) | BigInt.asUintN(f.man, m);
}

/** An edge or random value of format `f`, as a bigint bit pattern. */
export function ieeeVal(rng: Rng, f: Fmt): bigint {
  const s = rng.bool(0.5);
  const emax = 2 * f.bias + 1;
  const M = BigInt(f.man);
  const rm = () => randBits(rng, f.man);
  const k = rng.int(24);
  switch (k) {
    case 0: return enc(f, s, 0, 0n);
    case 1: return enc(f, s, 0, rng.pick([1n, (1n << M) - 1n, rm() || 1n])); // denormal
    case 2: return enc(f, s, 1, rng.pick([0n, rm()])); // smallest normals
    case 3: return enc(f, s, emax - 1, rng.pick([(1n << M) - 1n, rm()])); // largest
    case 4: return enc(f, s, emax, 0n); // inf
    case 5: return enc(f, s, emax, (1n << (M - 1n)) | rng.pick([0n, rm() >> 1n, 1n])); // QNaN
    case 6: return enc(f, s, emax, (rm() >> 1n) || 1n); // SNaN
    case 7: return enc(f, true, emax, 1n << (M - 1n)); // the default NaN
    case 8: return enc(f, s, f.bias, rng.pick([0n, 1n, (1n << M) - 1n, 1n << (M - 1n)])); // 1, 1+ulp, 2-ulp, 1.5
    case 9: case 10: { // integers and halves near the 16/32/64-bit conversion limits
      const e = f.bias + rng.pick([0, 1, 14, 15, 16, 30, 31, 32, 62, 63, 64, rng.range(0, 40)]);
      const keep = Math.max(0, f.man - (e - f.bias) - rng.int(2));
      return enc(f, s, e, (rm() >> BigInt(keep)) << BigInt(keep));
    }
    case 11: return enc(f, s, rng.range(1, emax - 1), rm()); // anywhere
    case 12: return enc(f, s, rng.pick([1, 2, emax - 2, emax - 1, f.bias - f.man, f.bias + f.man]), rm());
    case 13: { // rounding boundaries of the low mantissa bits
      const low = rng.pick([0n, 1n, 2n, 3n, (1n << M) - 1n, (1n << M) - 2n]);
      return enc(f, s, f.bias + rng.range(-20, 20), (rm() & ~7n) | low);
    }
    default: return enc(f, s, f.bias + rng.range(-30, 30), rm()); // ordinary numbers
  }
}

export function f32Val(rng: Rng): number {
  return Number(ieeeVal(rng, F32));
}
export function f64Val(rng: Rng): bigint {
  return ieeeVal(rng, F64);
}

/**
 * A second operand related to the first, for interesting arithmetic: equal,
 * negated, a half-ulp away (rounding ties), close exponent (cancellation),
 * far exponent (sticky bits), or independent.
 */
export function ieeeRelated(rng: Rng, f: Fmt, a: bigint): bigint {
  const M = BigInt(f.man);
  const signBit = 1n << BigInt(f.bits - 1);
  const e = Number((a >> M) & BigInt(2 * f.bias + 1));
  switch (rng.int(8)) {
    case 0: return a;
    case 1: return a ^ signBit;
    case 2: { // half an ulp of a, maybe a little more or less
      const eb = e - f.man - 1;
      if (eb < 1) return ieeeVal(rng, f);
      return enc(f, rng.bool(0.5), eb, rng.pick([0n, 1n, (1n << M) - 1n]));
    }
    case 3: return BigInt.asUintN(f.bits, a + BigInt(rng.range(-3, 3)));
    case 4: { // close exponent
      const eb = Math.min(Math.max(e + rng.range(-2, 2), 1), 2 * f.bias);
      return enc(f, rng.bool(0.5), eb, randBits(rng, f.man));
    }
    case 5: { // far exponent
      const eb = Math.min(Math.max(e + rng.pick([-1, 1]) * rng.range(f.man - 2, f.man + 40), 0), 2 * f.bias);
      return enc(f, rng.bool(0.5), eb, randBits(rng, f.man));
    }
    default: return ieeeVal(rng, f);
  }
}

/**
 * A second x87 operand related to the first: equal, negated, half an ulp at
 * some precision (rounding ties after an add), a close exponent
 * (cancellation), a far exponent (sticky bits), or independent.
 */
export function x80Related(rng: Rng, a: X80): X80 {
  const e = a.se & 0x7fff;
  const clampE = (x: number) => Math.min(Math.max(x, 1), 0x7ffe);
  switch (rng.int(8)) {
    case 0: return { ...a };
    case 1: return { se: a.se ^ 0x8000, sig: a.sig };
    case 2: {
      const p = rng.pick([24, 53, 64]);
      return { se: (rng.bool(0.5) ? 0x8000 : 0) | clampE(e - p), sig: rng.pick([J, J | 1n, 0xffffffffffffffffn]) };
    }
    case 3: return { se: a.se, sig: BigInt.asUintN(64, a.sig + BigInt(rng.range(-3, 3))) | (a.sig & J) };
    case 4: return { se: (rng.bool(0.5) ? 0x8000 : 0) | clampE(e + rng.range(-2, 2)), sig: J | randBits(rng, 63) };
    case 5: return { se: (rng.bool(0.5) ? 0x8000 : 0) | clampE(e + rng.pick([-1, 1]) * rng.range(20, 100)), sig: J | randBits(rng, 63) };
    default: return x80Val(rng);
  }
}

/** Signed integer edge values for x87 integer memory operands (as unsigned bit patterns). */
export function intVal(rng: Rng, bits: 16 | 32 | 64): bigint {
  const min = -(1n << BigInt(bits - 1));
  const max = (1n << BigInt(bits - 1)) - 1n;
  const k = rng.int(6);
  let v: bigint;
  if (k === 0) v = rng.pick([0n, 1n, -1n, min, max, min + 1n, max - 1n]);
  else if (k === 1) v = BigInt(rng.range(-100, 100));
  else if (k === 2) v = (rng.bool(0.5) ? 1n : -1n) * ((1n << BigInt(rng.range(1, bits - 1))) + BigInt(rng.range(-2, 2)));
  else v = BigInt.asIntN(bits, randBits(rng, bits) >> BigInt(rng.int(bits)));
  return BigInt.asUintN(bits, v);
}

export function bigLe(v: bigint, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
  return out;
}

/** The 10 bytes of an 80-bit value in memory (significand, then sign|exponent). */
export function x80Bytes(x: X80): number[] {
  return [...bigLe(x.sig, 8), x.se & 0xff, (x.se >> 8) & 0xff];
}
