// The x87 transcendental functions (FSIN, FCOS, FSINCOS, FPTAN, F2XM1,
// FYL2X, FYL2XP1, FPATAN) for finite nonzero operands, computed with 128-bit
// significands and rounded once to the 64-bit significand. The special
// operands (zeros, infinities, NaNs, the domain rules) are the instruction
// layer's (ops/x87/trans.ts).
//
// Accuracy: every series below is carried to about 2^-120 relative error,
// so the result is the correctly rounded value except when the exact value
// lies within ~2^-120 of a rounding boundary: well inside the 1-2 ulp a
// real x87 promises. As on the x87, FSIN/FCOS/FSINCOS/FPTAN reduce their
// argument modulo pi/2 with the 66-bit value of pi the SDM gives (Vol. 1,
// 8.3.8), exactly, so results for large arguments match the hardware's
// reduction rather than the true sine.
//
// Two number formats, both as plain scalars (results come back in module
// globals: nothing allocates and nothing is kept in linear memory, which
// several module instances share):
//   fixed: an unsigned Q2.126 value h:l * 2^-126, 0 <= v < 4;
//   wide float: sign, exponent e and a Q2.126 significand in [1, 2)
//     (bit 126 set), value = +-(h:l) * 2^(e - 126); h = l = 0 is zero.

import { FP_OE, FP_UE, FP_PE } from '../abi';

// --- 128-bit integers -----------------------------------------------------------------

/** Result of the 128-bit helpers. */
let oh: u64 = 0;
let ol: u64 = 0;

@inline function lt128(ah: u64, al: u64, bh: u64, bl: u64): bool {
  return ah < bh || (ah == bh && al < bl);
}
@inline function add128(ah: u64, al: u64, bh: u64, bl: u64): void {
  const l = al + bl;
  oh = ah + bh + (l < al ? 1 : 0);
  ol = l;
}
@inline function sub128(ah: u64, al: u64, bh: u64, bl: u64): void {
  oh = ah - bh - (al < bl ? 1 : 0);
  ol = al - bl;
}
function shr128(h: u64, l: u64, n: u32): void {
  if (n == 0) { oh = h; ol = l; } else if (n < 64) {
    ol = (l >> n) | (h << (64 - n));
    oh = h >> n;
  } else if (n < 128) {
    ol = h >> (n - 64);
    oh = 0;
  } else { oh = 0; ol = 0; }
}
function shl128(h: u64, l: u64, n: u32): void {
  if (n == 0) { oh = h; ol = l; } else if (n < 64) {
    oh = (h << n) | (l >> (64 - n));
    ol = l << n;
  } else if (n < 128) {
    oh = l << (n - 64);
    ol = 0;
  } else { oh = 0; ol = 0; }
}
@inline function clz128(h: u64, l: u64): u32 {
  return h != 0 ? <u32>clz<u64>(h) : 64 + <u32>clz<u64>(l);
}

/** 64 x 64 -> 128 bits, into ph:pl. */
let ph: u64 = 0;
let pl: u64 = 0;
function mul64(a: u64, b: u64): void {
  const a0 = a & 0xffffffff;
  const a1 = a >> 32;
  const b0 = b & 0xffffffff;
  const b1 = b >> 32;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >> 32) + (p01 & 0xffffffff) + (p10 & 0xffffffff);
  pl = (mid << 32) | (p00 & 0xffffffff);
  ph = a1 * b1 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

// --- fixed point (Q2.126) -------------------------------------------------------------

const ONE_H: u64 = 0x4000000000000000; // 1.0

// Accumulator words 1-3 of a 256-bit product (word 0 only feeds carries into word 1).
let w1: u64 = 0;
let w2: u64 = 0;
let w3: u64 = 0;
@inline function accumulateAt1(lo: u64, hi: u64): void {
  const s1 = w1 + lo;
  const c1: u64 = s1 < lo ? 1 : 0;
  w1 = s1;
  const s2 = w2 + hi;
  const c2: u64 = s2 < hi ? 1 : 0;
  const s3 = s2 + c1;
  w3 += c2 + (s3 < c1 ? 1 : 0);
  w2 = s3;
}

/** a * b in Q2.126 (truncated). The product must stay below 4. */
function fmul(ah: u64, al: u64, bh: u64, bl: u64): void {
  mul64(al, bl);
  w1 = ph;
  w2 = 0;
  w3 = 0;
  mul64(ah, bl);
  accumulateAt1(pl, ph);
  mul64(al, bh);
  accumulateAt1(pl, ph);
  mul64(ah, bh);
  const s2 = w2 + pl;
  w3 += ph + (s2 < pl ? 1 : 0);
  w2 = s2;
  ol = (w1 >> 62) | (w2 << 2);
  oh = (w2 >> 62) | (w3 << 2);
}

/** a / n for a small integer n (truncated). */
function fdivSmall(ah: u64, al: u64, n: u32): void {
  const d = <u64>n;
  let x = ah >> 32;
  const q3 = x / d;
  let r = x % d;
  x = (r << 32) | (ah & 0xffffffff);
  const q2 = x / d;
  r = x % d;
  x = (r << 32) | (al >> 32);
  const q1 = x / d;
  r = x % d;
  x = (r << 32) | (al & 0xffffffff);
  const q0 = x / d;
  oh = (q3 << 32) | q2;
  ol = (q1 << 32) | q0;
}

/** a / b in Q2.126 (truncated); b != 0 and a / b < 4. Restoring division, one bit a step. */
function fdiv(ah: u64, al: u64, bh: u64, bl: u64): void {
  let rh = ah;
  let rl = al;
  let q: u64 = 0;
  while (!lt128(rh, rl, bh, bl)) {
    sub128(rh, rl, bh, bl);
    rh = oh;
    rl = ol;
    q++;
  }
  let qh: u64 = q << 62;
  let ql: u64 = 0;
  for (let i: i32 = 125; i >= 0; i--) {
    const carry = rh >> 63;
    rh = (rh << 1) | (rl >> 63);
    rl <<= 1;
    if (carry != 0 || !lt128(rh, rl, bh, bl)) {
      sub128(rh, rl, bh, bl);
      rh = oh;
      rl = ol;
      if (i >= 64) qh |= <u64>1 << <u64>(i - 64);
      else ql |= <u64>1 << <u64>i;
    }
  }
  oh = qh;
  ol = ql;
}

// --- wide floats ----------------------------------------------------------------------

/** The wide float result of the helpers below. */
let fs = false;
let fe: i32 = 0;
let fh: u64 = 0;
let fl: u64 = 0;

/** Makes +-(h:l) * 2^(e-126) a normalized wide float (bit 126 the leading one). */
function normalize(s: bool, e: i32, h: u64, l: u64): void {
  fs = s;
  if (h == 0 && l == 0) { fe = 0; fh = 0; fl = 0; return; }
  const lz = clz128(h, l);
  if (lz > 1) shl128(h, l, lz - 1);
  else if (lz == 0) shr128(h, l, 1);
  else { oh = h; ol = l; }
  fe = e - <i32>lz + 1;
  fh = oh;
  fl = ol;
}

/** An 80-bit value (finite; denormals are normalized) as a wide float. */
function fromF80(se: u32, sig: u64): void {
  const exp = <i32>(se & 0x7fff);
  normalize((se & 0x8000) != 0, (exp == 0 ? 1 : exp) - 16383, sig >> 1, sig << 63);
}

function fromInt(n: i32): void {
  normalize(n < 0, 126, 0, <u64>(n < 0 ? -n : n));
}

/** a * b (either operand may be an unnormalized fixed value with e = 0, as long as the product is below 4 * 2^e). */
function wmul(as: bool, ae: i32, ah: u64, al: u64, bs: bool, be: i32, bh: u64, bl: u64): void {
  fmul(ah, al, bh, bl);
  normalize(as != bs, ae + be, oh, ol);
}

/** a / b, b nonzero and normalized, a normalized or zero. */
function wdiv(as: bool, ae: i32, ah: u64, al: u64, bs: bool, be: i32, bh: u64, bl: u64): void {
  fdiv(ah, al, bh, bl);
  normalize(as != bs, ae - be, oh, ol);
}

/** a + b (the smaller operand is truncated to the larger one's last bit). */
function wadd(as: bool, ae: i32, ah: u64, al: u64, bs: bool, be: i32, bh: u64, bl: u64): void {
  if (bh == 0 && bl == 0) { normalize(as, ae, ah, al); return; }
  if (ah == 0 && al == 0) { normalize(bs, be, bh, bl); return; }
  if (be > ae || (be == ae && lt128(ah, al, bh, bl))) {
    const ts = as; const te = ae; const th = ah; const tl = al;
    as = bs; ae = be; ah = bh; al = bl;
    bs = ts; be = te; bh = th; bl = tl;
  }
  const d = ae - be;
  shr128(bh, bl, d > 200 ? 200 : <u32>d);
  if (as == bs) add128(ah, al, oh, ol);
  else sub128(ah, al, oh, ol);
  normalize(as, ae, oh, ol);
}

/** |value| of a wide float as Q2.126 (needs e <= 1); bits below 2^-126 are dropped. */
function toFixed(e: i32, h: u64, l: u64): void {
  if (e >= 0) shl128(h, l, <u32>e);
  else shr128(h, l, <u32>min<i32>(-e, 200));
}

// --- constants (Q2.126, rounded) -------------------------------------------------------
const PI_H: u64 = 0xc90fdaa22168c234;
const PI_L: u64 = 0xc4c6628b80dc1cd1;
const PI_2_H: u64 = 0x6487ed5110b4611a;
const PI_2_L: u64 = 0x62633145c06e0e69;
const LN2_H: u64 = 0x2c5c85fdf473de6a;
const LN2_L: u64 = 0xf278ece600fcbdac;
const INV_LN2_H: u64 = 0x5c551d94ae0bf85d;
const INV_LN2_L: u64 = 0xdf43ff68348e9f44;
const SQRT2_H: u64 = 0x5a827999fcef3242;
const SQRT2_L: u64 = 0x2cbec4d9baa55f50;
/** atan(k/8), k = 0..8. */
const ATAN_H: StaticArray<u64> = [
  0, 0x07f56ea6ab0bdb71, 0x0fadbafc96406eb1, 0x16f61941e4def08e, 0x1dac670561bb4f68,
  0x23c01757bdfd67e6, 0x292f1f464d3dc249, 0x2e014f8af08c679c, 0x3243f6a8885a308d,
];
const ATAN_L: StaticArray<u64> = [
  0, 0x9644bcc4f9f44478, 0x56dc79ef5f7a217e, 0x715464245b9fc890, 0xadfc88bd978751a0,
  0xd720d78599710dd2, 0x066a1fca915f6b28, 0xf2cb69548429110f, 0x313198a2e0370734,
];
/** pi66 / 2 = PI66_HALF * 2^-67: the x87's reduction constant (SDM Vol. 1, 8.3.8: pi = 0.C90FDAA2 2168C234 C * 2^2). */
const PI66_H: u64 = 0xc;
const PI66_L: u64 = 0x90fdaa22168c234c;

/**
 * A series value that came out exactly 1 is 1 - 2^-126 or 1 + 2^-126 (the
 * side the next, vanished, term is on), so the rounding that follows sees
 * an inexact value on the correct side of it.
 */
function nudgeOne(h: u64, l: u64, up: bool): void {
  oh = h;
  ol = l;
  if (h == ONE_H && l == 0) {
    if (up) ol = 1;
    else { oh = ONE_H - 1; ol = 0xffffffffffffffff; }
  }
}

// --- results -----------------------------------------------------------------------------

// The unrounded results of the functions below (two for FSINCOS: sin, then cos).
let r1s = false;
let r1e: i32 = 0;
let r1h: u64 = 0;
let r1l: u64 = 0;
let r2s = false;
let r2e: i32 = 0;
let r2h: u64 = 0;
let r2l: u64 = 0;
@inline function setResult1(): void { r1s = fs; r1e = fe; r1h = fh; r1l = fl; }
@inline function setResult2(): void { r2s = fs; r2e = fe; r2h = fh; r2l = fl; }

// --- sin, cos, tan -------------------------------------------------------------------------

// The reduced argument: |x| = q * pi66/2 + r, |r| <= pi66/4.
let quadrant: u32 = 0;
let rs = false;
let re: i32 = 0;
let rh: u64 = 0;
let rl: u64 = 0;

/** Reduces |x| (finite, nonzero, below 2^63) exactly by the x87's pi/2 (long division, one bit a step). */
function reduce(se: u32, sig: u64): void {
  const exp = <i32>(se & 0x7fff);
  // |x| <= pi66/4 = 0.C90FDAA22168C234C * 2^0 needs no reduction.
  if (exp < 0x3ffe || (exp == 0x3ffe && sig <= 0xc90fdaa22168c234)) {
    fromF80(se & 0x7fff, sig);
    quadrant = 0;
    rs = false; re = fe; rh = fh; rl = fl;
    return;
  }
  // |x| = sig * 2^(exp-16383-63) = N * 2^-67 with N = sig << shift; divide N by PI66.
  const shift = exp - 16383 + 4;
  let remH: u64 = 0;
  let remL: u64 = 0;
  let q: u32 = 0;
  for (let i: i32 = 63 + shift; i >= 0; i--) {
    const bit: u64 = i >= shift ? (sig >> <u64>(i - shift)) & 1 : 0;
    remH = (remH << 1) | (remL >> 63);
    remL = (remL << 1) | bit;
    q <<= 1;
    if (!lt128(remH, remL, PI66_H, PI66_L)) {
      sub128(remH, remL, PI66_H, PI66_L);
      remH = oh;
      remL = ol;
      q |= 1;
    }
  }
  // Round the quotient to nearest: |r| <= pi/4.
  let negative = false;
  shl128(remH, remL, 1);
  if (lt128(PI66_H, PI66_L, oh, ol)) {
    sub128(PI66_H, PI66_L, remH, remL);
    remH = oh;
    remL = ol;
    negative = true;
    q++;
  }
  quadrant = q & 3;
  normalize(negative, 126 - 67, remH, remL);
  rs = fs; re = fe; rh = fh; rl = fl;
}

// sin r = r * S(r^2), cos r = C(r^2) (Taylor series in Horner form, 17 terms: 2^-128 at |r| = pi/4).
let zh: u64 = 0;
let zl: u64 = 0;
function squareReduced(): void {
  wmul(false, re, rh, rl, false, re, rh, rl);
  toFixed(fe, fh, fl);
  zh = oh;
  zl = ol;
}
/** 1 - z/(a(a+1)) * (1 - z/((a+2)(a+3)) * ...): a = 2 for S (sin), 1 for C (cos). */
function trigSeries(first: u32): void {
  let th = ONE_H;
  let tl: u64 = 0;
  for (let k: u32 = 17; k >= 1; k--) {
    const a = 2 * k + first - 2;
    fmul(th, tl, zh, zl);
    fdivSmall(oh, ol, a * (a + 1));
    sub128(ONE_H, 0, oh, ol);
    th = oh;
    tl = ol;
  }
  nudgeOne(th, tl, false);
}

/** sin r into (fs, fe, fh, fl). */
function sinReduced(): void {
  trigSeries(2);
  wmul(rs, re, rh, rl, false, 0, oh, ol);
}
/** cos r. */
function cosReduced(): void {
  trigSeries(1);
  normalize(false, 0, oh, ol);
}

export const TRIG_SIN: u32 = 0;
export const TRIG_COS: u32 = 1;
export const TRIG_TAN: u32 = 2;
export const TRIG_SINCOS: u32 = 3;

/**
 * sin, cos, tan or both sin and cos of x (finite, nonzero, |x| < 2^63):
 * result 1 (and result 2 = cos for TRIG_SINCOS).
 */
export function trig(se: u32, sig: u64, which: u32): void {
  reduce(se, sig);
  squareReduced();
  const negX = (se & 0x8000) != 0;
  // sin(q*pi/2 + r) and cos(q*pi/2 + r) by quadrant; sin is odd in x, cos even.
  sinReduced();
  const ss = fs; const sE = fe; const sH = fh; const sL = fl;
  cosReduced();
  const cs = fs; const cE = fe; const cH = fh; const cL = fl;
  const q = quadrant;
  if (which == TRIG_TAN) {
    // tan = sin r / cos r, or -cos r / sin r in the odd quadrants.
    if ((q & 1) == 0) wdiv(ss, sE, sH, sL, cs, cE, cH, cL);
    else wdiv(!cs, cE, cH, cL, ss, sE, sH, sL);
    if (zh == 0 && zl < 64) {
      // r so small that S/C rounds to 1: tan r is just above r, cot r just below 1/r.
      const s0 = fs; const e0 = fe;
      if ((q & 1) == 0) fmul(fh, fl, ONE_H, 1);
      else fmul(fh, fl, ONE_H - 1, 0xffffffffffffffff);
      normalize(s0, e0, oh, ol);
    }
    fs = fs != negX;
    setResult1();
    return;
  }
  // sin x: q=0 sin r, 1 cos r, 2 -sin r, 3 -cos r.
  if ((q & 1) == 0) { fs = ss; fe = sE; fh = sH; fl = sL; } else { fs = cs; fe = cE; fh = cH; fl = cL; }
  fs = (fs != ((q & 2) != 0)) != negX;
  if (which == TRIG_SIN || which == TRIG_SINCOS) setResult1();
  // cos x: q=0 cos r, 1 -sin r, 2 -cos r, 3 sin r.
  if ((q & 1) == 0) { fs = cs; fe = cE; fh = cH; fl = cL; } else { fs = !ss; fe = sE; fh = sH; fl = sL; }
  fs = fs != ((q & 2) != 0);
  if (which == TRIG_COS) setResult1();
  else if (which == TRIG_SINCOS) setResult2();
}

// --- 2^x - 1 -----------------------------------------------------------------------------

/** e^y - 1 = y * E(y), E(y) = 1 + y/2 (1 + y/3 (1 + ...)), for a wide float |y| < 1.4. */
function expm1Wide(ys: bool, ye: i32, yh: u64, yl: u64): void {
  toFixed(ye, yh, yl);
  const ah = oh;
  const al = ol;
  let th = ONE_H;
  let tl: u64 = 0;
  for (let k: u32 = 40; k >= 2; k--) {
    fmul(th, tl, ah, al);
    fdivSmall(oh, ol, k);
    if (ys) sub128(ONE_H, 0, oh, ol);
    else add128(ONE_H, 0, oh, ol);
    th = oh;
    tl = ol;
  }
  nudgeOne(th, tl, !ys);
  wmul(ys, ye, yh, yl, false, 0, oh, ol);
}

/** F2XM1: 2^x - 1 for finite nonzero x with |x| <= 1 (the instruction's domain; +-1 are exact). */
export function twoToXMinus1(se: u32, sig: u64): void {
  fromF80(se, sig);
  if (fe == 0) {
    // |x| = 1: 2^1 - 1 = 1, 2^-1 - 1 = -1/2.
    normalize(fs, fs ? -1 : 0, ONE_H, 0);
  } else {
    wmul(fs, fe, fh, fl, false, 0, LN2_H, LN2_L); // y = x ln 2
    expm1Wide(fs, fe, fh, fl);
  }
  setResult1();
}

// --- logarithms ------------------------------------------------------------------------------

/**
 * S(u^2) in fixed point (oh:ol) for a wide float u, by Horner from the last
 * of `terms` terms: S(z) = sum z^k / (2k+1), the series of atanh(u) / u, or
 * with `alternating` signs sum (-z)^k / (2k+1), that of atan(u) / u. A value
 * that came out exactly 1 is nudged to the side of the vanished terms
 * (above for atanh, below for atan).
 */
function oddSeries(ue: i32, uh: u64, ul: u64, terms: i32, alternating: bool): void {
  wmul(false, ue, uh, ul, false, ue, uh, ul);
  toFixed(fe, fh, fl);
  const zH = oh;
  const zL = ol;
  fdivSmall(ONE_H, 0, <u32>(2 * terms - 1));
  let th = oh;
  let tl = ol;
  for (let k = terms - 2; k >= 0; k--) {
    fmul(th, tl, zH, zL);
    const ph2 = oh;
    const pl2 = ol;
    fdivSmall(ONE_H, 0, <u32>(2 * k + 1));
    if (alternating) sub128(oh, ol, ph2, pl2);
    else add128(oh, ol, ph2, pl2);
    th = oh;
    tl = ol;
  }
  nudgeOne(th, tl, !alternating);
}

/**
 * ln(1 + d/s) ... as 2u * L(u^2) with u = d / s given as a wide float
 * (|u| <= 0.18): ln((1 + u) / (1 - u)) = 2 atanh u, L summed from z^30 / 61.
 */
function lnFromU(us: bool, ue: i32, uh: u64, ul: u64): void {
  if (uh == 0 && ul == 0) { normalize(false, 0, 0, 0); return; }
  oddSeries(ue, uh, ul, 31, false);
  wmul(us, ue + 1, uh, ul, false, 0, oh, ol);
}

/** log2 of a positive finite wide float m * 2^e: e + ln(m')/ln 2 with m' in [sqrt(1/2), sqrt(2)). */
function log2Wide(e: i32, h: u64, l: u64): void {
  // The significand alone: value h:l * 2^-126 in [1, 2); above sqrt(2) take half of it.
  if (lt128(SQRT2_H, SQRT2_L, h, l)) { shr128(h, l, 1); h = oh; l = ol; e++; }
  // u = (m - 1) / (m + 1), computed as a wide float so that it keeps its precision near m = 1.
  let ds = false;
  if (lt128(h, l, ONE_H, 0)) { sub128(ONE_H, 0, h, l); ds = true; } else sub128(h, l, ONE_H, 0);
  normalize(ds, 0, oh, ol);
  const dS = fs; const dE = fe; const dH = fh; const dL = fl;
  add128(h, l, ONE_H, 0);
  const sH = oh;
  const sL = ol;
  if (dH == 0 && dL == 0) normalize(false, 0, 0, 0);
  else wdiv(dS, dE, dH, dL, false, 0, sH, sL);
  lnFromU(fs, fe, fh, fl);
  wmul(fs, fe, fh, fl, false, 0, INV_LN2_H, INV_LN2_L);
  if (e != 0) {
    const ls = fs; const le = fe; const lh = fh; const ll = fl;
    fromInt(e);
    wadd(fs, fe, fh, fl, ls, le, lh, ll);
  }
}

/** FYL2X: y * log2(x) for finite nonzero y and finite x > 0. */
export function yLog2X(xSe: u32, xSig: u64, ySe: u32, ySig: u64): void {
  fromF80(xSe, xSig);
  log2Wide(fe, fh, fl);
  const ls = fs; const le = fe; const lh = fh; const ll = fl;
  fromF80(ySe, ySig);
  wmul(fs, fe, fh, fl, ls, le, lh, ll);
  setResult1();
}

/**
 * FYL2XP1: y * log2(1 + x) for finite nonzero y and x > -1. In the
 * documented domain (|x| < 1 - sqrt(2)/2) ln(1 + x) = 2 atanh(x / (2 + x)),
 * which keeps full precision for tiny x; beyond, 1 + x is formed first.
 */
export function yLog2XPlus1(xSe: u32, xSig: u64, ySe: u32, ySig: u64): void {
  fromF80(xSe, xSig);
  if (fe < -2) {
    const xs = fs; const xe = fe; const xh = fh; const xl = fl;
    // 2 + x in fixed point (|x| < 1/4): only the denominator, so truncation is harmless.
    toFixed(xe, xh, xl);
    if (xs) sub128(ONE_H << 1, 0, oh, ol);
    else add128(ONE_H << 1, 0, oh, ol);
    wdiv(xs, xe, xh, xl, false, 0, oh, ol);
    lnFromU(fs, fe, fh, fl);
    wmul(fs, fe, fh, fl, false, 0, INV_LN2_H, INV_LN2_L);
  } else {
    wadd(fs, fe, fh, fl, false, 0, ONE_H, 0);
    log2Wide(fe, fh, fl);
  }
  const ls = fs; const le = fe; const lh = fh; const ll = fl;
  fromF80(ySe, ySig);
  wmul(fs, fe, fh, fl, ls, le, lh, ll);
  setResult1();
}

// --- arctangent -------------------------------------------------------------------------------

/** atan(u) = u * A(u^2), A(z) = 1 - z/3 + z^2/5 - ... (from z^20 / 41): for |u| <= 1/16, u a wide float. */
function atanSmall(us: bool, ue: i32, uh: u64, ul: u64): void {
  oddSeries(ue, uh, ul, 21, true);
  wmul(us, ue, uh, ul, false, 0, oh, ol);
}

/**
 * FPATAN: atan2(y, x) for finite nonzero x and y: the angle of (x, y),
 * in (-pi, pi], with y's sign.
 */
export function atan2(ySe: u32, ySig: u64, xSe: u32, xSig: u64): void {
  fromF80(ySe & 0x7fff, ySig);
  const ae = fe; const ah = fh; const al = fl;
  fromF80(xSe & 0x7fff, xSig);
  const be = fe; const bh = fh; const bl = fl;
  // t = min/max <= 1: theta = atan(t), or pi/2 - atan(t) when |y| > |x|.
  const swapped = be < ae || (be == ae && lt128(bh, bl, ah, al));
  if (swapped) wdiv(false, be, bh, bl, false, ae, ah, al);
  else wdiv(false, ae, ah, al, false, be, bh, bl);
  const te = fe; const th = fh; const tl = fl;
  let thetaFloat = false; // theta still a wide float (tiny results keep their precision)
  let qh: u64 = 0;
  let ql: u64 = 0;
  if (te < -4) {
    atanSmall(false, te, th, tl);
    thetaFloat = true;
  } else {
    // atan(t) = atan(c) + atan((t - c) / (1 + t c)), c = k/8 nearest to t: |u| <= 1/16.
    toFixed(te, th, tl);
    const tH = oh;
    const tL = ol;
    shr128(tH, tL, 122);
    const k = <u32>((ol + 1) >> 1); // round(8t) = floor((floor(16t) + 1) / 2)
    const cH = <u64>k << 59; // k/8 in Q2.126
    let us = false;
    if (lt128(tH, tL, cH, 0)) { sub128(cH, 0, tH, tL); us = true; } else sub128(tH, tL, cH, 0);
    const nH = oh;
    const nL = ol;
    fmul(tH, tL, cH, 0);
    add128(ONE_H, 0, oh, ol);
    const dH = oh;
    const dL = ol;
    normalize(us, 0, nH, nL);
    if (fh == 0 && fl == 0) {
      qh = ATAN_H[k];
      ql = ATAN_L[k];
    } else {
      wdiv(fs, fe, fh, fl, false, 0, dH, dL);
      atanSmall(fs, fe, fh, fl);
      const s = fs;
      toFixed(fe, fh, fl);
      if (s) sub128(ATAN_H[k], ATAN_L[k], oh, ol);
      else add128(ATAN_H[k], ATAN_L[k], oh, ol);
      qh = oh;
      ql = ol;
    }
  }
  const xNegative = (xSe & 0x8000) != 0;
  if (swapped || xNegative) {
    if (thetaFloat) {
      toFixed(fe, fh, fl);
      qh = oh;
      ql = ol;
    }
    if (swapped) { sub128(PI_2_H, PI_2_L, qh, ql); qh = oh; ql = ol; }
    if (xNegative) { sub128(PI_H, PI_L, qh, ql); qh = oh; ql = ol; }
    normalize(false, 0, qh, ql);
  } else if (!thetaFloat) {
    normalize(false, 0, qh, ql);
  }
  fs = (ySe & 0x8000) != 0;
  setResult1();
}

// --- rounding to 80 bits -----------------------------------------------------------------------

/** The rounded result: sign/exponent, significand, exception flags (FP_PE, FP_UE, FP_OE) and C1. */
export let roundedSe: u32 = 0;
export let roundedSig: u64 = 0;
export let roundedFlags: u32 = 0;
export let roundedUp = false;

/** Whether rounding sig + rest (+ sticky bits below) to sig's last bit goes up in magnitude, by rc. */
function roundsUp(negative: bool, sig: u64, rest: u64, sticky: bool, rc: u32): bool {
  if (rc == 0) return rest > 0x8000000000000000 || (rest == 0x8000000000000000 && (sticky || (sig & 1) != 0));
  const inexact = rest != 0 || sticky;
  if (rc == 1) return negative && inexact;
  if (rc == 2) return !negative && inexact;
  return false;
}

/**
 * Rounds result `which` (1 or 2) to 64 bits with rounding control rc, its
 * exponent adjusted by `bias` (the unmasked overflow/underflow response;
 * 0 otherwise). Tiny results are denormalized, then rounded. Underflow is
 * flagged for an inexact result that is tiny after rounding (as softfloat
 * and the CPU detect it); the unmasked rule is the caller's.
 */
export function roundResult(which: u32, rc: u32, bias: i32): void {
  const s = which == 1 ? r1s : r2s;
  const e = which == 1 ? r1e : r2e;
  const h = which == 1 ? r1h : r2h;
  const l = which == 1 ? r1l : r2l;
  const sign: u32 = s ? 0x8000 : 0;
  roundedFlags = 0;
  roundedUp = false;
  if (h == 0 && l == 0) { roundedSe = sign; roundedSig = 0; return; }
  // The 128-bit significand with its leading one at bit 127 (x2: the 64 bits kept).
  let x2 = (h << 1) | (l >> 63);
  let x1 = l << 1;
  let x0: u64 = 0;
  let sticky = false;
  let biased = e + 16383 + bias;
  const tiny = biased < 1;
  // Tiny after rounding unless rounding to 64 bits (exponent unbounded) reaches the smallest normal.
  const tinyAfter = tiny && !(biased == 0 && x2 == 0xffffffffffffffff && roundsUp(s, x2, x1, false, rc));
  if (tiny) {
    let n = <u32>(1 - biased);
    if (n > 192) n = 192;
    while (n >= 64) {
      sticky = sticky || x0 != 0;
      x0 = x1; x1 = x2; x2 = 0;
      n -= 64;
    }
    if (n > 0) {
      sticky = sticky || (x0 << (64 - n)) != 0;
      x0 = (x0 >> n) | (x1 << (64 - n));
      x1 = (x1 >> n) | (x2 << (64 - n));
      x2 >>= n;
    }
    biased = 0;
  }
  sticky = sticky || x0 != 0;
  const inexact = x1 != 0 || sticky;
  const up = roundsUp(s, x2, x1, sticky, rc);
  let sig = x2;
  if (up) {
    sig++;
    if (sig == 0) { sig = 0x8000000000000000; biased++; }
    else if (tiny && (sig >> 63) != 0) biased = 1; // rounded up into the normal range
  }
  if (inexact) roundedFlags |= FP_PE;
  if (tinyAfter && inexact) roundedFlags |= FP_UE;
  roundedUp = up;
  if (biased >= 0x7fff) {
    // Overflow: infinity, or the largest finite value when rounding toward zero from it.
    roundedFlags |= FP_OE | FP_PE;
    const toInf = rc == 0 || (rc == 1 && s) || (rc == 2 && !s);
    roundedSe = sign | (toInf ? 0x7fff : 0x7ffe);
    roundedSig = toInf ? 0x8000000000000000 : 0xffffffffffffffff;
    roundedUp = toInf;
    return;
  }
  roundedSe = sign | <u32>biased;
  roundedSig = sig;
}

/** A multiple of pi/4 (1 to 4 quarters), for FPATAN's special operands: result 1. */
export function piQuarters(quarters: u32, negative: bool): void {
  if (quarters == 4) normalize(negative, 0, PI_H, PI_L);
  else if (quarters == 2) normalize(negative, 0, PI_2_H, PI_2_L);
  else if (quarters == 1) normalize(negative, 0, ATAN_H[8], ATAN_L[8]);
  else {
    sub128(PI_H, PI_L, ATAN_H[8], ATAN_L[8]);
    normalize(negative, 0, oh, ol);
  }
  setResult1();
}
