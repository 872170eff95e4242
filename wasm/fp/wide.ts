// 128-bit unsigned arithmetic on pairs of u64 (WebAssembly has no i128):
// the products, quotients and shifts the significand code needs. Two-word
// results come back in wideHi/wideLo, a division's remainder in wideRem.

export let wideHi: u64 = 0;
export let wideLo: u64 = 0;
export let wideRem: u64 = 0;

const LOW32: u64 = 0xffffffff;

/** a * b -> wideHi:wideLo, from four 32x32->64 partial products. */
export function mul64x64(a: u64, b: u64): void {
  const aLo = a & LOW32, aHi = a >> 32, bLo = b & LOW32, bHi = b >> 32;
  const ll = aLo * bLo, lh = aLo * bHi, hl = aHi * bLo, hh = aHi * bHi;
  // The middle column: at most three 32-bit quantities, no overflow.
  const mid = (ll >> 32) + (lh & LOW32) + (hl & LOW32);
  wideLo = (mid << 32) | (ll & LOW32);
  wideHi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

/**
 * (hi:lo) / d -> quotient (returned) and remainder (wideRem), for a
 * normalized divisor (bit 63 set) and hi < d, so that the quotient fits 64
 * bits. Schoolbook division in two 32-bit digits (Knuth's algorithm D): each
 * digit is estimated from the divisor's top half and corrected at most twice.
 */
export function div128by64(hi: u64, lo: u64, d: u64): u64 {
  const dHi = d >> 32, dLo = d & LOW32;
  const lo1 = lo >> 32, lo0 = lo & LOW32;
  let q1 = hi / dHi;
  let r = hi - q1 * dHi;
  while (q1 > LOW32 || q1 * dLo > ((r << 32) | lo1)) {
    q1--; r += dHi;
    if (r > LOW32) break;
  }
  // Partial remainder (hi:lo1) - q1*d: the true value is below d, so mod 2^64 is exact.
  const mid = ((hi << 32) | lo1) - q1 * d;
  let q0 = mid / dHi;
  r = mid - q0 * dHi;
  while (q0 > LOW32 || q0 * dLo > ((r << 32) | lo0)) {
    q0--; r += dHi;
    if (r > LOW32) break;
  }
  wideRem = ((mid << 32) | lo0) - q0 * d;
  return (q1 << 32) | q0;
}

/**
 * (hi:lo) >> n -> wideHi:wideLo, any n, with every bit shifted out ORed into
 * bit 0 ("jamming"): a sticky bit that keeps rounding correct.
 */
export function shiftRightJam128(hi: u64, lo: u64, n: u32): void {
  if (n == 0) {
    wideHi = hi; wideLo = lo;
  } else if (n < 64) {
    const s = <u64>n, back = <u64>(64 - n);
    wideLo = (hi << back) | (lo >> s) | <u64>((lo << back) != 0);
    wideHi = hi >> s;
  } else if (n < 128) {
    const s = <u64>(n - 64);
    // Bits of hi below the shift (none when n == 64) and all of lo are lost.
    const lostHi = s == 0 ? 0 : hi << (64 - s);
    wideLo = (hi >> s) | <u64>((lostHi | lo) != 0);
    wideHi = 0;
  } else {
    wideLo = <u64>((hi | lo) != 0);
    wideHi = 0;
  }
}

/** (hi:lo) << n -> wideHi:wideLo, for n < 128. */
export function shiftLeft128(hi: u64, lo: u64, n: u32): void {
  if (n == 0) {
    wideHi = hi; wideLo = lo;
  } else if (n < 64) {
    const s = <u64>n;
    wideHi = (hi << s) | (lo >> (64 - s));
    wideLo = lo << s;
  } else {
    wideHi = lo << <u64>(n - 64);
    wideLo = 0;
  }
}

/**
 * floor(sqrt(hi:lo)) for 2^126 <= hi:lo < 2^128 (so the root has bit 63 set),
 * with the remainder N - root^2 (at most 2*root, 65 bits) in wideHi:wideLo.
 * A double-precision estimate (within about 2^13) and one integer Newton
 * step (which never lands below the root) leave the root or root+1.
 */
export function sqrt128(hi: u64, lo: u64): u64 {
  // N >= hi * 2^64 > hi^2, so the root is at least hi (and below 2^64).
  let root: u64 = hi;
  if (hi != 0xffffffffffffffff) {
    const estimate = Math.sqrt(<f64>hi) * 4294967296.0;
    let r: u64 = estimate >= 18446744073709551615.0 ? 0xffffffffffffffff : <u64>estimate;
    // The division needs a normalized divisor above hi; the root is in [2^63, 2^64) and
    // above hi, so moving the estimate there only brings it closer.
    if (r < 0x8000000000000000) r = 0x8000000000000000;
    if (r <= hi) r = hi + 1;
    const q = div128by64(hi, lo, r);
    root = (r >> 1) + (q >> 1) + (r & q & 1);
  }
  for (;;) {
    mul64x64(root, root);
    if (wideHi < hi || (wideHi == hi && wideLo <= lo)) break;
    root--;
  }
  // root^2 <= N here; N - root^2 (wideHi:wideLo hold root^2).
  const remLo = lo - wideLo;
  const remHi = hi - wideHi - <u64>(lo < wideLo);
  wideHi = remHi; wideLo = remLo;
  return root;
}
