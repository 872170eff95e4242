// IEEE 754 arithmetic in software for the x87 (80-bit extended) and SSE
// (32/64-bit) units, with x86's rules: rounding control, x87 precision
// control, DAZ/FTZ, the six exception flags, x87 and SSE NaN propagation and
// the "indefinite" default NaN. Nothing allocates; two-word results come back
// in module globals (resSig/resSe).
//
// This file is the API the instruction layers (ops/x87*.ts, ops/sse*.ts) use.
// STATUS: skeleton — the bodies are being written (issue 6); every function
// below returns a placeholder until then.

// --- mode and status ----------------------------------------------------------
/** Rounding control, x86 encoding: 0 nearest-even, 1 down (-inf), 2 up (+inf), 3 toward zero. */
let rc: u32 = 0;
/** x87 precision control for f80 results of add/sub/mul/div/sqrt: significand bits 24, 53 or 64. */
let pcBits: u32 = 64;
/** SSE MXCSR.DAZ: denormal f32/f64 operands are read as zero (with their sign), no DE. */
let daz = false;
/** SSE MXCSR.FTZ: when underflow is masked, tiny results become zero (UE and PE set). */
let ftz = false;
/** Exception flags raised since the caller last cleared them (FP_IE..FP_PE bit positions). */
let flags: u32 = 0;
/** x87 C1 after a rounded result: 1 when the significand was rounded up in magnitude. */
let roundedUp = false;

/** Sets the mode for the following operations (x87: from FCW; SSE: from MXCSR). */
export function setFpMode(roundingControl: u32, precisionBits: u32, denormalsAreZero: bool, flushToZero: bool): void {
  rc = roundingControl; pcBits = precisionBits; daz = denormalsAreZero; ftz = flushToZero;
}
export function clearFpFlags(): void { flags = 0; roundedUp = false; }
export function fpFlags(): u32 { return flags; }
export function fpRoundedUp(): bool { return roundedUp; }

// --- 80-bit results -----------------------------------------------------------
/** Result of the last f80 operation: significand (explicit integer bit 63) and sign<<15 | biased exponent. */
let resSig: u64 = 0;
let resSe: u32 = 0;
export function f80ResultSig(): u64 { return resSig; }
export function f80ResultSe(): u32 { return resSe; }

// --- x87 (80-bit) operations: x87 NaN rules, precision control applies ----------
/** a + b (sub: a - b) -> resSig/resSe. */
export function f80Add(aSe: u32, aSig: u64, bSe: u32, bSig: u64, sub: bool): void { resSe = aSe; resSig = aSig; }
export function f80Mul(aSe: u32, aSig: u64, bSe: u32, bSig: u64): void { resSe = aSe; resSig = aSig; }
export function f80Div(aSe: u32, aSig: u64, bSe: u32, bSig: u64): void { resSe = aSe; resSig = aSig; }
export function f80Sqrt(aSe: u32, aSig: u64): void { resSe = aSe; resSig = aSig; }
/**
 * One FPREM (ieee=false, quotient truncated) or FPREM1 (ieee=true, nearest) step
 * of a / b -> resSig/resSe. Returns the condition bits as FSW holds them:
 * C2 (0x400) when the reduction is incomplete, else C0 (0x100) = Q2, C3 (0x4000) = Q1, C1 (0x200) = Q0.
 */
export function f80Rem(aSe: u32, aSig: u64, bSe: u32, bSig: u64, ieee: bool): u32 { resSe = aSe; resSig = aSig; return 0; }
/** FRNDINT: to an integer with the rounding control (PE when inexact). */
export function f80RoundInt(aSe: u32, aSig: u64): void { resSe = aSe; resSig = aSig; }
/** FSCALE: a * 2^trunc(b). */
export function f80Scale(aSe: u32, aSig: u64, bSe: u32, bSig: u64): void { resSe = aSe; resSig = aSig; }
/**
 * Compares a with b. quiet: only SNaN operands raise IE (FUCOM*, UCOMIS*);
 * otherwise any NaN does (FCOM*, COMIS*). Also sets DE for denormal operands.
 */
export const CMP_LESS: i32 = -1;
export const CMP_EQUAL: i32 = 0;
export const CMP_GREATER: i32 = 1;
export const CMP_UNORDERED: i32 = 2;
export function f80Compare(aSe: u32, aSig: u64, bSe: u32, bSig: u64, quiet: bool): i32 { return CMP_UNORDERED; }
/** Exact conversions into f80 (DE for denormal inputs; an SNaN is quieted with IE). */
export function f80FromF32(a: u32): void { resSe = 0; resSig = <u64>a; }
export function f80FromF64(a: u64): void { resSe = 0; resSig = a; }
export function f80FromI64(a: i64): void { resSe = 0; resSig = <u64>a; }
/** Rounded conversions out of f80 with the rounding control (OE/UE/PE; NaN: IE for SNaN, quieted). */
export function f80ToF32(aSe: u32, aSig: u64): u32 { return 0; }
export function f80ToF64(aSe: u32, aSig: u64): u64 { return 0; }
/**
 * To a signed integer of `bits` (16, 32 or 64): rounded with the rounding control,
 * or truncated (FISTTP). Out of range or NaN: IE and the integer indefinite (0x8000...).
 */
export function f80ToInt(aSe: u32, aSig: u64, bits: u32, truncate: bool): i64 { return 0; }

// --- SSE (32/64-bit) operations: SSE NaN rules (the first operand's NaN wins), DAZ/FTZ ---
export function f32Add(a: u32, b: u32, sub: bool): u32 { return a; }
export function f32Mul(a: u32, b: u32): u32 { return a; }
export function f32Div(a: u32, b: u32): u32 { return a; }
export function f32Sqrt(a: u32): u32 { return a; }
export function f32Compare(a: u32, b: u32, quiet: bool): i32 { return CMP_UNORDERED; }
export function f64Add(a: u64, b: u64, sub: bool): u64 { return a; }
export function f64Mul(a: u64, b: u64): u64 { return a; }
export function f64Div(a: u64, b: u64): u64 { return a; }
export function f64Sqrt(a: u64): u64 { return a; }
export function f64Compare(a: u64, b: u64, quiet: bool): i32 { return CMP_UNORDERED; }
export function f32ToF64(a: u32): u64 { return <u64>a; }
export function f64ToF32(a: u64): u32 { return <u32>a; }
/** Rounded (rc) or truncated (CVTT*) to i32 or i64 (bits 32/64); invalid: IE and 0x80000000 / 0x8000000000000000. */
export function f32ToInt(a: u32, bits: u32, truncate: bool): i64 { return 0; }
export function f64ToInt(a: u64, bits: u32, truncate: bool): i64 { return 0; }
export function i32ToF32(a: i32): u32 { return 0; }
export function i32ToF64(a: i32): u64 { return 0; }
