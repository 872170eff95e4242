// Classes of 80-bit values (SDM Vol. 1, 8.2.2 and table 8-3), shared by
// FXAM, the full tag word of FSTENV/FSAVE and the exception screening.
import { isEmpty, regSe, regSig } from './regs';

// FXAM's encoding in C3 C2 C0 (SDM FXAM).
export const CLASS_UNSUPPORTED: u32 = 0; // pseudo-NaN, pseudo-infinity, unnormal
export const CLASS_NAN: u32 = 1;
export const CLASS_NORMAL: u32 = 2;
export const CLASS_INFINITY: u32 = 3;
export const CLASS_ZERO: u32 = 4;
export const CLASS_EMPTY: u32 = 5;
export const CLASS_DENORMAL: u32 = 6; // also the pseudo-denormals (exponent 0, integer bit 1)

export function classify(se: u32, sig: u64): u32 {
  const exp = se & 0x7fff;
  const integerBit = (sig >> 63) != 0;
  if (exp == 0) return sig == 0 ? CLASS_ZERO : CLASS_DENORMAL;
  if (!integerBit) return CLASS_UNSUPPORTED;
  if (exp == 0x7fff) return (sig << 1) == 0 ? CLASS_INFINITY : CLASS_NAN;
  return CLASS_NORMAL;
}

/** Whether a finite nonzero value is below the normal range (exponent field 0). */
@inline export function isTiny(se: u32, sig: u64): bool {
  return (se & 0x7fff) == 0 && sig != 0;
}

@inline export function isNan(se: u32, sig: u64): bool {
  return (se & 0x7fff) == 0x7fff && (sig << 1) != 0;
}

// Full tag values (SDM Vol. 1, figure 8-7).
const TAG_VALID: u32 = 0;
const TAG_ZERO: u32 = 1;
const TAG_SPECIAL: u32 = 2;
const TAG_EMPTY: u32 = 3;

/**
 * The 16-bit tag word FSTENV/FSAVE store: two bits per *physical* register,
 * computed from the contents of each non-empty one (SDM Vol. 3, 22.18.4).
 */
export function fullTagWord(): u32 {
  let w: u32 = 0;
  for (let p: u32 = 0; p < 8; p++) {
    let t = TAG_EMPTY;
    if (!isEmpty(p)) {
      const c = classify(regSe(p), regSig(p));
      t = c == CLASS_NORMAL ? TAG_VALID : c == CLASS_ZERO ? TAG_ZERO : TAG_SPECIAL;
    }
    w |= t << (p * 2);
  }
  return w;
}

/** The abridged tag byte for a loaded tag word: only empty (11) versus not empty counts. */
export function abridgedFromTagWord(w: u32): u32 {
  let b: u32 = 0;
  for (let p: u32 = 0; p < 8; p++) {
    if (((w >> (p * 2)) & 3) != TAG_EMPTY) b |= <u32>1 << p;
  }
  return b;
}
