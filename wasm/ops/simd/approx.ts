// RCPPS/RCPSS and RSQRTPS/RSQRTSS: the approximate reciprocal and
// reciprocal square root. The SDM only bounds their error (|relative error|
// <= 1.5 * 2^-12); the values here are the ones Intel CPUs return, as
// measured on this project's host (every single-precision input was run
// through RCPSS/RSQRTSS natively and compared):
//
// - The result has a 12-bit fraction (bits 10-0 are zero) and depends only
//   on the input's top 11 significand bits (RCP), or on the exponent's
//   lowest bit and the top 10 significand bits (RSQRT): a 2048-entry table.
// - Each entry is the exact value at the *midpoint* of its input interval,
//   rounded to nearest at 12 fraction bits. For RCP that is
//   round(2^25 / (4097 + 2i)) in units of 2^-13 (i = the 11 bits); for
//   RSQRT the midpoint's 1/sqrt is at least 1e-4 units from a rounding
//   tie, far above an f64 computation's error, so f64 arithmetic
//   reproduces the table exactly.
// - Denormal inputs count as zero; results below the normal range are zero
//   (whatever MXCSR's DAZ/FTZ say); neither raises any exception, and an
//   SNaN is quieted without IE.
const SIGN: u32 = 0x80000000;
const INFINITY: u32 = 0x7f800000;
const QNAN_BIT: u32 = 0x400000;
const INDEFINITE: u32 = 0xffc00000;

/** RCPSS on one single-precision value. */
export function reciprocalApprox(x: u32): u32 {
  const sign = x & SIGN;
  const e = (x >> 23) & 0xff;
  const frac = x & 0x7fffff;
  if (e == 0xff) return frac != 0 ? x | QNAN_BIT : sign; // NaN quieted; 1/inf = 0
  if (e == 0) return sign | INFINITY; // zero and denormals
  // 1/x = 2^(127-e) * 1/1.f, and 1/1.f in (0.5, 1] is q * 2^-13 with q in [4097, 8190].
  const d = 4097 + 2 * (frac >> 12);
  const q = ((<u32>1 << 26) / d + 1) >> 1;
  const exp = 253 - <i32>e; // biased exponent of q * 2^-13 * 2^(127-e)
  if (exp <= 0) return sign; // would be denormal: flushed
  return sign | (<u32>exp << 23) | ((q & 0xfff) << 11);
}

/** RSQRTSS on one single-precision value. */
export function reciprocalSqrtApprox(x: u32): u32 {
  const e = (x >> 23) & 0xff;
  const frac = x & 0x7fffff;
  if (e == 0xff) {
    if (frac != 0) return x | QNAN_BIT;
    return x & SIGN ? INDEFINITE : 0; // 1/sqrt(+inf) = +0; -inf is invalid
  }
  if (e == 0) return (x & SIGN) | INFINITY; // zero and denormals
  if (x & SIGN) return INDEFINITE;
  // x = 2^(2n) * y with y in [0.5, 2): y < 1 when the unbiased exponent is odd (biased e even).
  const yBelowOne = (e & 1) == 0;
  const n = (<i32>e - (yBelowOne ? 126 : 127)) >> 1;
  const midpoint = (1.0 + (<f64>(frac >> 13) + 0.5) / 1024.0) * (yBelowOne ? 0.5 : 1.0);
  const r = 1.0 / Math.sqrt(midpoint); // in (0.7, 1.42)
  let exp: i32 = 126;
  let q = <u32>Math.round(r * 8192.0); // units of 2^-13 while r < 1
  if (r >= 1.0) { exp = 127; q = <u32>Math.round(r * 4096.0); }
  return (<u32>(exp - n) << 23) | ((q & 0xfff) << 11);
}
