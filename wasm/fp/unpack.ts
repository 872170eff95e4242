// Operands in one internal form for every format: class, sign, unbiased
// exponent and a 64-bit significand normalized to bit 63, so that a finite
// value is sig / 2^63 * 2^exp. Denormals are normalized here (and flagged);
// NaNs keep their payload in the f80 layout (bit 63 set, quiet bit 62, the
// f32/f64 fraction left-aligned below it), which is also how an f32/f64 NaN
// converts to f80 and back.
//
// unpack*() fill the u* globals; takeA()/takeB() move them to operand slots.

export const CLS_ZERO: u32 = 0;
export const CLS_FINITE: u32 = 1; // normal or denormal, nonzero
export const CLS_INF: u32 = 2;
export const CLS_QNAN: u32 = 3;
export const CLS_SNAN: u32 = 4;
/** f80 encodings the x87 rejects (SDM 8.2.2): pseudo-NaN, pseudo-infinity, unnormal. */
export const CLS_UNSUPPORTED: u32 = 5;

const F80_BIAS: i32 = 16383;
const INTEGER_BIT: u64 = 0x8000000000000000;
export const QUIET_BIT: u64 = 0x4000000000000000;

export let uCls: u32 = 0;
export let uSign: u32 = 0;
export let uExp: i32 = 0;
export let uSig: u64 = 0;
/** The operand was a denormal (or f80 pseudo-denormal): the DE condition. */
export let uDenormal = false;

export let aCls: u32 = 0;
export let aSign: u32 = 0;
export let aExp: i32 = 0;
export let aSig: u64 = 0;
export let aDenormal = false;
export let bCls: u32 = 0;
export let bSign: u32 = 0;
export let bExp: i32 = 0;
export let bSig: u64 = 0;
export let bDenormal = false;

export function takeA(): void { aCls = uCls; aSign = uSign; aExp = uExp; aSig = uSig; aDenormal = uDenormal; }
export function takeB(): void { bCls = uCls; bSign = uSign; bExp = uExp; bSig = uSig; bDenormal = uDenormal; }

export function isNaNClass(cls: u32): bool { return cls == CLS_QNAN || cls == CLS_SNAN; }

/** An f80 (sign<<15 | exponent, significand with explicit integer bit). */
export function unpackF80(se: u32, sig: u64): void {
  uSign = (se >> 15) & 1;
  uDenormal = false;
  uSig = sig;
  uExp = 0;
  const e = <i32>(se & 0x7fff);
  if (e == 0x7fff) {
    if ((sig & INTEGER_BIT) == 0) uCls = CLS_UNSUPPORTED;
    else if ((sig << 1) == 0) uCls = CLS_INF;
    else uCls = (sig & QUIET_BIT) != 0 ? CLS_QNAN : CLS_SNAN;
  } else if (e == 0) {
    if (sig == 0) { uCls = CLS_ZERO; return; }
    // Denormal, or pseudo-denormal (integer bit set): both have the weight of exponent 1 (SDM 8.2.2).
    const shift = <i32>clz(sig);
    uCls = CLS_FINITE;
    uDenormal = true;
    uSig = sig << <u64>shift;
    uExp = 1 - F80_BIAS - shift;
  } else if ((sig & INTEGER_BIT) == 0) {
    uCls = CLS_UNSUPPORTED; // unnormal
  } else {
    uCls = CLS_FINITE;
    uExp = e - F80_BIAS;
  }
}

/**
 * An IEEE binary format with a hidden integer bit: f32 (8, 23) or f64 (11, 52),
 * given as the low bits of a u64. denormalsAreZero: MXCSR.DAZ (no DE then).
 */
export function unpackBinary(a: u64, expBits: u32, fracBits: u32, denormalsAreZero: bool): void {
  const maxExp = (1 << expBits) - 1;
  const bias = (maxExp >> 1);
  const frac = a & ((<u64>1 << fracBits) - 1);
  const e = <i32>((a >> fracBits) & <u64>maxExp);
  uSign = <u32>(a >> (expBits + fracBits)) & 1;
  uDenormal = false;
  uExp = 0;
  if (e == maxExp) {
    uSig = INTEGER_BIT | (frac << (63 - fracBits));
    if (frac == 0) uCls = CLS_INF;
    else uCls = (uSig & QUIET_BIT) != 0 ? CLS_QNAN : CLS_SNAN;
  } else if (e == 0) {
    uSig = 0;
    if (frac == 0 || denormalsAreZero) { uCls = CLS_ZERO; return; }
    const shift = <i32>clz(frac);
    uCls = CLS_FINITE;
    uDenormal = true;
    uSig = frac << <u64>shift;
    // frac * 2^(1 - bias - fracBits), with frac's top bit now at bit 63.
    uExp = 1 - bias - <i32>fracBits + (63 - shift);
  } else {
    uCls = CLS_FINITE;
    uSig = INTEGER_BIT | (frac << (63 - fracBits));
    uExp = e - bias;
  }
}

export function unpackF32(a: u32, denormalsAreZero: bool): void { unpackBinary(<u64>a, 8, 23, denormalsAreZero); }
export function unpackF64(a: u64, denormalsAreZero: bool): void { unpackBinary(a, 11, 52, denormalsAreZero); }
