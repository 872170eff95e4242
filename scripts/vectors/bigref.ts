// A small arbitrary-precision binary float (BigInt significand, number
// exponent) and the reference values of the x87 transcendentals, accurate far
// beyond 64 bits. The generator uses them to measure how far the host CPU's
// results are from the exact ones, which sets each vector's tolerance.
import { X80 } from './fp-values.ts';

/** value = m * 2^e */
export interface BF {
  m: bigint;
  e: number;
}

/** Working precision in bits. Enough for a 2^63 argument reduced modulo pi/2 with 400 bits to spare. */
const P = 512;

function bitLen(m: bigint): number {
  return m === 0n ? 0 : (m < 0n ? -m : m).toString(2).length;
}

function norm(m: bigint, e: number): BF {
  const n = bitLen(m) - P;
  return n > 0 ? { m: m / (1n << BigInt(n)), e: e + n } : { m, e };
}

export const bf = (m: bigint | number, e = 0): BF => norm(BigInt(m), e);
export const ZERO = bf(0);
export const ONE = bf(1);

export function neg(a: BF): BF {
  return { m: -a.m, e: a.e };
}

/** Binary exponent of the leading bit (floor(log2|a|)); -Infinity for zero. */
export function ilog2(a: BF): number {
  return a.m === 0n ? -Infinity : bitLen(a.m) - 1 + a.e;
}

export function add(a: BF, b: BF): BF {
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  if (ilog2(a) - ilog2(b) > P + 8) return a;
  if (ilog2(b) - ilog2(a) > P + 8) return b;
  const e = Math.min(a.e, b.e);
  return norm((a.m << BigInt(a.e - e)) + (b.m << BigInt(b.e - e)), e);
}

export function sub(a: BF, b: BF): BF {
  return add(a, neg(b));
}

export function mul(a: BF, b: BF): BF {
  return norm(a.m * b.m, a.e + b.e);
}

export function div(a: BF, b: BF): BF {
  if (b.m === 0n) throw new Error('bigref: division by zero');
  const shift = Math.max(0, P + bitLen(b.m) - bitLen(a.m) + 2);
  return norm((a.m << BigInt(shift)) / b.m, a.e - b.e - shift);
}

export function ldexp(a: BF, k: number): BF {
  return { m: a.m, e: a.e + k };
}

export function cmpAbs(a: BF, b: BF): number {
  const d = sub({ m: a.m < 0n ? -a.m : a.m, e: a.e }, { m: b.m < 0n ? -b.m : b.m, e: b.e });
  return d.m === 0n ? 0 : d.m < 0n ? -1 : 1;
}

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitLen(n) / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function sqrt(a: BF): BF {
  if (a.m < 0n) throw new Error('bigref: sqrt of a negative number');
  let m = a.m, e = a.e;
  const shift = 2 * P - bitLen(m);
  const s = shift + ((e - shift) & 1 ? 1 : 0); // make the exponent even
  m <<= BigInt(s);
  e -= s;
  return norm(isqrt(m), e / 2);
}

/** Rounds to the nearest integer (ties away from zero). */
export function roundInt(a: BF): bigint {
  if (a.e >= 0) return a.m << BigInt(a.e);
  const sh = BigInt(-a.e);
  const half = 1n << (sh - 1n);
  return a.m < 0n ? -((-a.m + half) >> sh) : (a.m + half) >> sh;
}

/** Sums a series until the terms no longer matter: term(k) for k = 0, 1, ... */
function series(term: (k: number, prev: BF) => BF, first: BF): BF {
  let sum = first, t = first;
  for (let k = 1; k < 4000; k++) {
    t = term(k, t);
    if (t.m === 0n || ilog2(t) < ilog2(sum) - P - 8) return sum;
    sum = add(sum, t);
  }
  throw new Error('bigref: series did not converge');
}

/** atanh(z) for |z| <= 1/3: z + z^3/3 + z^5/5 + ... */
function atanhSmall(z: BF): BF {
  const z2 = mul(z, z);
  let pw = z;
  return series((k) => {
    pw = mul(pw, z2);
    return div(pw, bf(2 * k + 1));
  }, z);
}

/** atan(z) for |z| <= 0.25: z - z^3/3 + z^5/5 - ... */
function atanSmall(z: BF): BF {
  const z2 = neg(mul(z, z));
  let pw = z;
  return series((k) => {
    pw = mul(pw, z2);
    return div(pw, bf(2 * k + 1));
  }, z);
}

export const LN2 = ldexp(atanhSmall(div(ONE, bf(3))), 1);
// Machin: pi/4 = 4 atan(1/5) - atan(1/239)
export const PI = ldexp(sub(ldexp(atanSmall(div(ONE, bf(5))), 2), atanSmall(div(ONE, bf(239)))), 2);
const HALF_PI = ldexp(PI, -1);

export function fromX80(x: X80): BF {
  const e = Math.max(x.se & 0x7fff, 1) - 16383 - 63;
  return norm(x.se & 0x8000 ? -x.sig : x.sig, e);
}

/** sin and cos of r, |r| <= pi/4, by their Taylor series. */
function sinCosSmall(r: BF): [BF, BF] {
  const r2 = neg(mul(r, r));
  const s = series((k, t) => div(mul(t, r2), bf((2 * k) * (2 * k + 1))), r);
  const c = series((k, t) => div(mul(t, r2), bf((2 * k - 1) * (2 * k))), ONE);
  return [s, c];
}

/** [sin x, cos x]: x reduced modulo pi/2 with the working precision. */
export function sinCos(x: BF): [BF, BF] {
  const k = roundInt(div(x, HALF_PI));
  const r = sub(x, mul(bf(k), HALF_PI));
  const [s, c] = sinCosSmall(r);
  switch (Number(((k % 4n) + 4n) % 4n)) {
    case 0: return [s, c];
    case 1: return [c, neg(s)];
    case 2: return [neg(s), neg(c)];
    default: return [neg(c), s];
  }
}

/** atan(z) for any z. */
export function atan(z: BF): BF {
  if (cmpAbs(z, ONE) > 0) {
    const t = atan(div(ONE, z));
    return z.m < 0n ? sub(neg(HALF_PI), t) : sub(HALF_PI, t);
  }
  // atan z = 2 atan(z / (1 + sqrt(1 + z^2))), twice: |z| <= tan(pi/16) < 0.2
  for (let k = 0; k < 2; k++) z = div(z, add(ONE, sqrt(add(ONE, mul(z, z)))));
  return ldexp(atanSmall(z), 2);
}

/** FPATAN: the angle of (x, y), i.e. atan(y/x) in the right quadrant (x, y non-zero). */
export function atan2(y: BF, x: BF): BF {
  const t = atan(div(y, x));
  if (x.m > 0n) return t;
  return y.m < 0n ? sub(t, PI) : add(t, PI);
}

/** 2^x - 1 for |x| <= 1: the series of exp(x ln 2) - 1. */
export function exp2m1(x: BF): BF {
  const y = mul(x, LN2);
  return series((k, t) => div(mul(t, y), bf(k + 1)), y);
}

/** ln x for x > 0. */
export function ln(x: BF): BF {
  // x = m * 2^k with m in [0.75, 1.5): ln x = k ln 2 + 2 atanh((m - 1) / (m + 1))
  let k = ilog2(x);
  let m = ldexp(x, -k);
  if (cmpAbs(m, bf(3, -1)) >= 0) {
    m = ldexp(m, -1);
    k += 1;
  }
  const z = div(sub(m, ONE), add(m, ONE));
  return add(mul(bf(k), LN2), ldexp(atanhSmall(z), 1));
}

/** ln(1 + x) for |x| < 0.3, without cancellation. */
export function ln1p(x: BF): BF {
  return ldexp(atanhSmall(div(x, add(bf(2), x))), 1);
}

/**
 * How far the 80-bit `got` is from the exact `ref`, in ulps of the 64-bit
 * significand at ref's binade (denormal results: the smallest binade).
 */
export function ulpError(got: X80, ref: BF): number {
  const d = sub(fromX80(got), ref);
  if (d.m === 0n) return 0;
  const ulpExp = Math.max(ilog2(ref), -16382) - 63;
  const scaled = ldexp(d, -ulpExp);
  const lg = ilog2(scaled);
  if (lg > 900) return Infinity;
  const top = norm(scaled.m < 0n ? -scaled.m : scaled.m, scaled.e);
  return Number(top.m) * 2 ** top.e;
}

export function toNumber(a: BF): number {
  const b = norm(a.m, a.e);
  const sh = Math.max(0, bitLen(b.m) - 60);
  return Number(b.m >> BigInt(sh)) * 2 ** (b.e + sh);
}
