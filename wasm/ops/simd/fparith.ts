// SSE/SSE2 floating-point arithmetic on lanes: ADD/SUB/MUL/DIV/SQRT/MIN/MAX,
// RCP/RSQRT, CMPcc (packed and scalar, single and double) and
// COMIS/UCOMIS. One generic lane loop (T = u32 single, u64 double) serves
// every form; scalar forms run lane 0 and keep the other lanes.
import { FLAG_CF, FLAG_PF, FLAG_ZF, FLAGS_ARITH } from '../../abi';
import { abortInsn } from '../../cpu/state';
import { modrm } from '../../cpu/decode';
import { setFlagsPartial } from '../../cpu/flags';
import { CMP_LESS, CMP_EQUAL, CMP_GREATER, CMP_UNORDERED } from '../../fp/softfloat';
import { xmm, scratchRes } from './regs';
import { xmmSource, copy16 } from './operand';
import { sseAllowed } from './gate';
import { fpBegin, fpCommit, dazActive, FP_ALL } from './mxcsr';
import { fpAdd, fpMul, fpDiv, fpSqrt, fpCompare, isDenormal, signOf } from './fplanes';
import { reciprocalApprox, reciprocalSqrtApprox } from './approx';

/**
 * MIN/MAX (SDM MINPS/MAXPS): the first operand only when it is strictly
 * less (greater) than the second; otherwise the second, which covers equal
 * values (-0 vs +0) and NaNs in either operand (IE, even for a QNaN: the
 * comparison is a signaling one).
 */
@inline function minMax<T>(a: T, b: T, max: bool): T {
  const r = fpCompare<T>(a, b, false) == (max ? CMP_GREATER : CMP_LESS) ? a : b;
  // With DAZ a denormal operand takes part as a zero of its sign, and that zero is the result.
  return dazActive && isDenormal<T>(r) ? signOf<T>(r) : r;
}

/**
 * CMPcc (imm8 bits 2-0, SDM CMPPS table): EQ, LT, LE, UNORD, NEQ, NLT, NLE,
 * ORD; LT/LE and their negations signal on QNaNs, the others are quiet.
 * All ones when true.
 */
@inline function comparePredicate<T>(a: T, b: T, imm: u32): T {
  const pred = imm & 3;
  const r = fpCompare<T>(a, b, pred == 0 || pred == 3);
  let t: bool;
  if (pred == 0) t = r == CMP_EQUAL;
  else if (pred == 1) t = r == CMP_LESS;
  else if (pred == 2) t = r == CMP_LESS || r == CMP_EQUAL;
  else t = r == CMP_UNORDERED;
  if (imm & 4) t = !t;
  return t ? <T>-1 : <T>0;
}

/** One lane of 0F `op` (51-53, 58-5F, C2): a is the destination's lane, b the source's. */
@inline function laneOp<T>(op: u32, a: T, b: T, imm: u32): T {
  switch (op) {
    case 0x51: return fpSqrt<T>(b);
    case 0x52: return <T>reciprocalSqrtApprox(<u32>b); // single precision only (dispatcher)
    case 0x53: return <T>reciprocalApprox(<u32>b);
    case 0x58: return fpAdd<T>(a, b, false);
    case 0x59: return fpMul<T>(a, b);
    case 0x5c: return fpAdd<T>(a, b, true);
    case 0x5d: return minMax<T>(a, b, false);
    case 0x5e: return fpDiv<T>(a, b);
    case 0x5f: return minMax<T>(a, b, true);
    default: return comparePredicate<T>(a, b, imm); // C2 CMPcc
  }
}

/**
 * The arithmetic and compare instructions: every lane (packed) or lane 0
 * (scalar: the source is m32/m64, the other destination lanes are kept).
 * A packed memory operand must be 16-byte aligned.
 */
export function fpLanes<T>(op: u32, packed: bool, imm: u32): void {
  if (!sseAllowed()) return;
  const size = <u32>sizeof<T>();
  const src = xmmSource(packed ? 16 : size, packed);
  if (abortInsn) return;
  const dst = xmm((modrm >> 3) & 7);
  const res = scratchRes();
  copy16(res, dst);
  fpBegin();
  const lanes: u32 = packed ? 16 / size : 1;
  for (let i: u32 = 0; i < lanes; i++) {
    const at = i * size;
    store<T>(res + at, laneOp<T>(op, load<T>(dst + at), load<T>(src + at), imm));
  }
  if (!fpCommit(FP_ALL)) return;
  copy16(dst, res);
}

/**
 * 0F 2E/2F: UCOMISS/COMISS (T = u32), 66: UCOMISD/COMISD (u64). EFLAGS
 * (SDM COMISS): unordered ZF PF CF = 111, greater 000, less 001, equal 100;
 * OF SF AF cleared. COMIS signals on QNaNs, UCOMIS only on SNaNs.
 */
export function comis<T>(quiet: bool): void {
  if (!sseAllowed()) return;
  const src = xmmSource(<u32>sizeof<T>(), false);
  if (abortInsn) return;
  fpBegin();
  const r = fpCompare<T>(load<T>(xmm((modrm >> 3) & 7)), load<T>(src), quiet);
  if (!fpCommit(FP_ALL)) return;
  const f: u32 = r == CMP_UNORDERED ? FLAG_ZF | FLAG_PF | FLAG_CF
    : r == CMP_LESS ? FLAG_CF : r == CMP_EQUAL ? FLAG_ZF : 0;
  setFlagsPartial(FLAGS_ARITH, f);
}
