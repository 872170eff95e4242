// Mode, status and results shared by every module of the floating-point
// library (wasm/fp). softfloat.ts is the public API; the other fp modules
// read and write these globals directly.
import { FP_IE, FP_DE, FP_ZE, FP_OE, FP_UE, FP_PE } from '../abi';

export const ALL_EXCEPTIONS: u32 = FP_IE | FP_DE | FP_ZE | FP_OE | FP_UE | FP_PE;

// Rounding control, x86 encoding (FCW.RC, MXCSR.RC).
export const RC_NEAREST: u32 = 0;
export const RC_DOWN: u32 = 1;
export const RC_UP: u32 = 2;
export const RC_ZERO: u32 = 3;

// --- mode (setFpMode, set*ExceptionMask) ---------------------------------------
export let rc: u32 = RC_NEAREST;
/** x87 precision control for f80 add/sub/mul/div/sqrt: significand bits 24, 53 or 64. */
export let pcBits: u32 = 64;
/** MXCSR.DAZ: denormal f32/f64 operands of SSE operations read as signed zero. */
export let daz = false;
/** MXCSR.FTZ: tiny SSE results become signed zero when underflow is masked. */
export let ftz = false;
/** FCW exception masks (1 = masked) for the f80 operations. */
export let x87Mask: u32 = ALL_EXCEPTIONS;
/** MXCSR exception masks (bits 7-12 shifted down to FP_* positions) for the f32/f64 operations. */
export let sseMask: u32 = ALL_EXCEPTIONS;

// --- status -----------------------------------------------------------------
/** Exception flags raised since the caller last cleared them (FP_* positions). */
export let flags: u32 = 0;
/** x87 C1 after a rounded result: the last rounding increased the magnitude. */
export let roundedUp = false;

/**
 * The memory operand just loaded by f80FromF32Operand/F64Operand was a
 * denormal: the next two-operand f80 operation raises DE for it (then clears
 * this). clearStatus() clears it too.
 */
export let memoryOperandDenormal = false;

// --- f80 results ------------------------------------------------------------
/** The f80 result of the last operation: significand (explicit integer bit 63) and sign<<15 | exponent. */
export let resSig: u64 = 0;
export let resSe: u32 = 0;
/** A second f80 result (FXTRACT's exponent). */
export let res2Sig: u64 = 0;
export let res2Se: u32 = 0;

// --- the destination format of the operation in progress ----------------------
// Every operation selects its destination format first (useFormat); the
// shared special-case, rounding and packing code reads these.
export const FMT_F32: u32 = 0;
export const FMT_F64: u32 = 1;
export const FMT_F80: u32 = 2;
export let fmt: u32 = FMT_F80;
/** Exponent bias, and the all-ones biased exponent of infinities/NaNs. */
export let fmtBias: i32 = 16383;
export let fmtMaxExp: i32 = 0x7fff;
/** Significand bits kept when rounding (the x87 precision control for f80 arithmetic). */
export let fmtBits: u32 = 64;
/**
 * Exponent adjustment of a result delivered with an unmasked overflow or
 * underflow exception (SDM 8.5.4/8.5.5: 24576 for double extended; 1536 and
 * 192 for double and single, the IEEE 754-1985 values, only meaningful to a
 * caller that keeps such a result).
 */
export let fmtWrap: i32 = 24576;
/** Exception masks in effect (x87 or SSE). */
export let fmtMask: u32 = ALL_EXCEPTIONS;
/** FTZ in effect: SSE operation, FTZ set and underflow masked (SDM 10.2.3.3). */
export let fmtFlush = false;
/** x87 rules: unsupported f80 encodings and the x87 NaN priority (SDM table 4-7). */
export let fmtX87 = true;

/**
 * Selects the destination format. x87: the x87 NaN rules and FCW masks apply
 * (also to FST m32/m64 conversions); otherwise SSE's rules, masks and FTZ.
 */
export function useFormat(format: u32, bits: u32, x87: bool): void {
  fmt = format;
  fmtBits = bits;
  fmtX87 = x87;
  fmtMask = x87 ? x87Mask : sseMask;
  fmtFlush = !x87 && ftz && (sseMask & FP_UE) != 0;
  if (format == FMT_F80) { fmtBias = 16383; fmtMaxExp = 0x7fff; fmtWrap = 24576; }
  else if (format == FMT_F64) { fmtBias = 1023; fmtMaxExp = 0x7ff; fmtWrap = 1536; }
  else { fmtBias = 127; fmtMaxExp = 0xff; fmtWrap = 192; }
}

export function setMode(roundingControl: u32, precisionBits: u32, denormalsAreZero: bool, flushToZero: bool): void {
  rc = roundingControl & 3;
  pcBits = precisionBits;
  daz = denormalsAreZero;
  ftz = flushToZero;
}
export function setX87Mask(mask: u32): void { x87Mask = mask & ALL_EXCEPTIONS; }
export function setSseMask(mask: u32): void { sseMask = mask & ALL_EXCEPTIONS; }
export function clearStatus(): void { flags = 0; roundedUp = false; memoryOperandDenormal = false; }
