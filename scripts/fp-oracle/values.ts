// Operand generators for the softfloat fixtures: deterministic random values
// of f32/f64/f80 with the edge cases the x87/SSE rules care about, as the
// hex strings the oracle reads.

/** Deterministic PRNG (xorshift128+ on two 64-bit BigInt words, seeded by a string). */
export class Rng {
  private s0: bigint;
  private s1: bigint;
  constructor(seed: string) {
    let h = 0xcbf29ce484222325n;
    for (const ch of seed) h = BigInt.asUintN(64, (h ^ BigInt(ch.charCodeAt(0))) * 0x100000001b3n);
    this.s0 = h | 1n;
    this.s1 = BigInt.asUintN(64, h * 0x9e3779b97f4a7c15n) | 2n;
    for (let i = 0; i < 8; i++) this.u64();
  }
  u64(): bigint {
    let x = this.s0;
    const y = this.s1;
    this.s0 = y;
    x = BigInt.asUintN(64, x ^ (x << 23n));
    this.s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return BigInt.asUintN(64, this.s1 + y);
  }
  /** Integer in [0, n). */
  int(n: number): number { return Number(this.u64() % BigInt(n)); }
  range(lo: number, hi: number): number { return lo + this.int(hi - lo + 1); }
  bool(p = 0.5): boolean { return this.int(1 << 20) < p * (1 << 20); }
  pick<T>(list: readonly T[]): T { return list[this.int(list.length)]; }
  /** n random bits. */
  bits(n: number): bigint { return n <= 0 ? 0n : this.u64() >> BigInt(64 - Math.min(n, 64)); }
}

export interface Format {
  name: 'f32' | 'f64' | 'f80';
  expBits: number;
  /** Significand bits stored: 23, 52, or 64 (f80's explicit integer bit included). */
  fracBits: number;
  bias: number;
  maxExp: number;
  /** Precision in bits (24, 53, 64). */
  precision: number;
}
export const F32: Format = { name: 'f32', expBits: 8, fracBits: 23, bias: 127, maxExp: 0xff, precision: 24 };
export const F64: Format = { name: 'f64', expBits: 11, fracBits: 52, bias: 1023, maxExp: 0x7ff, precision: 53 };
export const F80: Format = { name: 'f80', expBits: 15, fracBits: 64, bias: 16383, maxExp: 0x7fff, precision: 64 };

const hex = (v: bigint, digits: number) => v.toString(16).padStart(digits, '0');

/**
 * Encodes sign, biased exponent field and significand. sig is the full
 * significand with its integer bit at position precision-1 (for f80 it is
 * stored as given, so unnormals and pseudo-denormals are expressible).
 */
export function encode(f: Format, sign: number, exp: number, sig: bigint): string {
  if (f.name === 'f80') return hex(BigInt((sign << 15) | exp), 4) + hex(BigInt.asUintN(64, sig), 16);
  const frac = sig & ((1n << BigInt(f.fracBits)) - 1n);
  const v = (BigInt(sign) << BigInt(f.expBits + f.fracBits)) | (BigInt(exp) << BigInt(f.fracBits)) | frac;
  return hex(v, f.name === 'f32' ? 8 : 16);
}

const intBit = (f: Format) => 1n << BigInt(f.precision - 1);

/**
 * A significand with the integer bit set: random bits, often with a run of
 * trailing zeros (short significands make exact results and ties), sometimes
 * all ones or a single bit (carries when rounding).
 */
export function randomSig(rng: Rng, f: Format): bigint {
  const p = f.precision;
  const kind = rng.int(10);
  if (kind === 0) return (1n << BigInt(p)) - 1n; // all ones
  if (kind === 1) return intBit(f) | (rng.bool() ? 1n : 0n); // 1.0 or 1.0 + ulp
  if (kind === 2) return ((1n << BigInt(p)) - 1n) ^ (rng.bits(3)); // near all ones
  const zeros = kind < 6 ? rng.int(p) : 0;
  return (intBit(f) | rng.bits(p - 1)) & ~((1n << BigInt(zeros)) - 1n);
}

/** Biased exponent for a finite normal: mostly near 1.0, sometimes anywhere or near the extremes. */
export function randomExp(rng: Rng, f: Format): number {
  const k = rng.int(10);
  if (k < 5) return f.bias + rng.range(-40, 40);
  if (k < 7) return rng.range(1, f.maxExp - 1);
  if (k < 8) return rng.range(1, 80);
  if (k < 9) return rng.range(f.maxExp - 80, f.maxExp - 1);
  return f.bias + rng.range(-3, 3);
}

export function normal(rng: Rng, f: Format, exp?: number, sign?: number): string {
  const e = Math.max(1, Math.min(f.maxExp - 1, exp ?? randomExp(rng, f)));
  return encode(f, sign ?? rng.int(2), e, randomSig(rng, f));
}

/** A NaN: quiet or signaling, payload random or minimal. */
export function nan(rng: Rng, f: Format, quiet: boolean): string {
  const p = f.precision;
  const quietBit = 1n << BigInt(p - 2);
  let payload = rng.bool(0.3) ? 1n : rng.bits(p - 2);
  if (!quiet && payload === 0n) payload = 1n;
  const sig = (f.name === 'f80' ? intBit(f) : 0n) | (quiet ? quietBit : 0n) | payload;
  return encode(f, rng.int(2), f.maxExp, sig);
}

export function denormal(rng: Rng, f: Format): string {
  const p = f.precision;
  const k = rng.int(4);
  const sig = k === 0 ? 1n : k === 1 ? intBit(f) - 1n : (rng.bits(p - 1) >> BigInt(rng.int(p - 1))) | 1n;
  return encode(f, rng.int(2), 0, sig);
}

/**
 * Special operands: zeros, infinities, NaNs, denormals, the extreme normals
 * and for f80 the encodings the x87 rejects (unnormal, pseudo-NaN/infinity)
 * or reads as denormals (pseudo-denormal).
 */
export function special(rng: Rng, f: Format): string {
  const s = rng.int(2);
  const ones = (1n << BigInt(f.precision)) - 1n;
  const choices = f.name === 'f80' ? 15 : 11;
  switch (rng.int(choices)) {
    case 0: return encode(f, s, 0, 0n);
    case 1: return encode(f, s, f.maxExp, f.name === 'f80' ? intBit(f) : 0n);
    case 2: return nan(rng, f, true);
    case 3: return nan(rng, f, false);
    case 4: return denormal(rng, f);
    case 5: return denormal(rng, f);
    case 6: return encode(f, s, f.maxExp - 1, ones);
    case 7: return encode(f, s, 1, intBit(f) | (rng.bool() ? 0n : rng.bits(f.precision - 1)));
    case 8: return encode(f, 1, f.maxExp, intBit(f) | (intBit(f) >> 1n)); // the indefinite
    case 9: return encode(f, s, f.bias, intBit(f));
    case 10: return normal(rng, f);
    case 11: return encode(f, s, 0, intBit(f) | rng.bits(63)); // pseudo-denormal
    case 12: return encode(f, s, rng.range(1, f.maxExp - 1), rng.bits(63) >> BigInt(rng.int(63))); // unnormal
    case 13: return encode(f, s, f.maxExp, rng.bits(63) >> BigInt(rng.int(62))); // pseudo-NaN / pseudo-infinity
    default: return encode(f, s, f.bias + rng.range(-2, 2), rng.bits(63)); // unnormal near 1
  }
}

/** Any operand: mostly finite normals, a fifth special. */
export function anyValue(rng: Rng, f: Format): string {
  return rng.bool(0.2) ? special(rng, f) : normal(rng, f);
}

/** Splits an encoded operand back into sign, exponent field and significand. */
export function decode(f: Format, text: string): { sign: number; exp: number; sig: bigint } {
  if (f.name === 'f80') {
    const se = parseInt(text.slice(0, 4), 16);
    return { sign: se >> 15, exp: se & 0x7fff, sig: BigInt('0x' + text.slice(4)) };
  }
  const v = BigInt('0x' + text);
  const exp = Number((v >> BigInt(f.fracBits)) & BigInt(f.maxExp));
  const frac = v & ((1n << BigInt(f.fracBits)) - 1n);
  return { sign: Number(v >> BigInt(f.expBits + f.fracBits)), exp, sig: exp === 0 ? frac : frac | intBit(f) };
}
