// The SSE/SSE2 conversions (0F 2A, 2C, 2D, 5A, 5B, E6): one generic lane
// conversion from S to D, where i32 is an integer lane, u32 an f32 lane and
// u64 an f64 lane; the dispatcher picks the types, the lane count, where
// the source comes from and where the result goes.
import { FP_IE, FP_PE } from '../../abi';
import { abortInsn, reg32, setReg32 } from '../../cpu/state';
import { modrm, rmIsReg, eaSeg, eaOff } from '../../cpu/decode';
import { readMem } from '../../cpu/operand';
import {
  i32ToF32, i32ToF64, f32ToInt, f64ToInt, f32ToF64, f64ToF32,
} from '../../fp/softfloat';
import { xmm, mm, writeMm, enterMmxMode, scratchRes, scratchSrc } from './regs';
import { xmmSource, readMemOperand, copy16 } from './operand';
import { sseAllowed, sseMmxAllowed } from './gate';
import { fpBegin, fpCommit, FP_ALL } from './mxcsr';

/** Where the source lanes are: XMM register or memory; MMX register or m64; r32 or m32. */
export const FROM_XMM: u32 = 0;
export const FROM_MM: u32 = 1;
export const FROM_GPR: u32 = 2;
/** Where the result goes: XMM register keeping its other lanes, XMM zero-extended, MMX register, r32. */
export const TO_XMM_MERGE: u32 = 0;
export const TO_XMM_ZERO: u32 = 1;
export const TO_MM: u32 = 2;
export const TO_GPR: u32 = 3;

/** One lane: i32 -> f32/f64 (exact, or rounded by RC), f32/f64 -> i32 (rounded or truncated), f32 <-> f64. */
@inline function convertLane<S, D>(x: S, truncate: bool): D {
  if (isSigned<S>()) {
    if (sizeof<D>() == 4) return <D>i32ToF32(<i32>x);
    return <D>i32ToF64(<i32>x);
  }
  if (isSigned<D>()) {
    if (sizeof<S>() == 4) return <D><i32>f32ToInt(<u32>x, 32, truncate);
    return <D><i32>f64ToInt(<u64>x, 32, truncate);
  }
  if (sizeof<S>() == 4) return <D>f32ToF64(<u32>x);
  return <D>f64ToF32(<u64>x);
}

/** The source lanes' host address, or 0 after a fault. */
function sourceLanes(from: u32, bytes: u32): usize {
  if (from == FROM_GPR) {
    const v = rmIsReg ? reg32(modrm & 7) : readMem<u32>(eaSeg, eaOff);
    const to = scratchSrc();
    store<u32>(to, v);
    return to;
  }
  if (from == FROM_MM && rmIsReg) return mm(modrm & 7);
  // A 16-byte memory source (CVTPD2PS, CVTDQ2PS, CVTPD2PI, ...) must be aligned.
  return from == FROM_XMM ? xmmSource(bytes, bytes == 16) : readMemOperand(bytes, false);
}

/**
 * Converts `lanes` lanes of S to D. Conversions to integers report only IE
 * and PE (SDM CVTSS2SI: a denormal source is no DE there). An MMX register
 * source or destination makes it an x87-touching instruction (#MF check,
 * MMX mode); from memory CVTPI2PS/CVTPI2PD stay pure SSE (SDM CVTPI2PS).
 * A fault reading a memory operand leaves the x87 state alone.
 */
export function convert<S, D>(from: u32, to: u32, lanes: u32, truncate: bool): void {
  const mmxState = to == TO_MM || (from == FROM_MM && rmIsReg);
  if (!(mmxState ? sseMmxAllowed() : sseAllowed())) return;
  const src = sourceLanes(from, lanes * <u32>sizeof<S>());
  if (abortInsn) return;
  const dst = (modrm >> 3) & 7;
  const res = scratchRes();
  if (to == TO_XMM_MERGE) copy16(res, xmm(dst));
  else v128.store(res, i32x4.splat(0));
  fpBegin();
  for (let i: u32 = 0; i < lanes; i++) {
    store<D>(res + i * sizeof<D>(), convertLane<S, D>(load<S>(src + i * sizeof<S>()), truncate));
  }
  // The switch to MMX mode happens before the SIMD FP exception is taken: an Intel CPU
  // reports #XM from CVTPS2PI/CVTPI2PS with TOP = 0 and every tag valid already.
  if (mmxState) enterMmxMode();
  if (!fpCommit(isSigned<D>() ? FP_IE | FP_PE : FP_ALL)) return;
  if (to == TO_GPR) setReg32(dst, load<u32>(res));
  else if (to == TO_MM) writeMm(dst, load<u64>(res));
  else copy16(xmm(dst), res);
}
