// Integer SIMD groups: `mmx` (MMX, and the SSE/SSE2 additions that work on
// MMX registers) and `sse-int` (the same operations on XMM registers, SSE2).
// Most opcodes exist in both forms: no prefix for MMX, 66 for XMM.
import { EDI, FULL, Rng, Spec } from './lib.ts';
import { FB } from './fpstate.ts';
import { EXC_MF, Lane, VDef, genV, imm8, mmxEnv, vecVal } from './simd-env.ts';

/** [opcode, name, lanes of the first operand, lanes of the second (default the same), MMX form exists] */
type IntOp = [number, string, Lane, Lane?, boolean?];

const INT_OPS: IntOp[] = [
  [0x60, 'punpcklbw', 'i8'], [0x61, 'punpcklwd', 'i16'], [0x62, 'punpckldq', 'i32'], [0x63, 'packsswb', 'i16'],
  [0x64, 'pcmpgtb', 'i8'], [0x65, 'pcmpgtw', 'i16'], [0x66, 'pcmpgtd', 'i32'], [0x67, 'packuswb', 'i16'],
  [0x68, 'punpckhbw', 'i8'], [0x69, 'punpckhwd', 'i16'], [0x6a, 'punpckhdq', 'i32'], [0x6b, 'packssdw', 'i32'],
  [0x6c, 'punpcklqdq', 'i64', 'i64', false], [0x6d, 'punpckhqdq', 'i64', 'i64', false],
  [0x74, 'pcmpeqb', 'i8'], [0x75, 'pcmpeqw', 'i16'], [0x76, 'pcmpeqd', 'i32'],
  [0xd1, 'psrlw', 'i16', 'count'], [0xd2, 'psrld', 'i32', 'count'], [0xd3, 'psrlq', 'i64', 'count'],
  [0xd4, 'paddq', 'i64'], [0xd5, 'pmullw', 'i16'], [0xd8, 'psubusb', 'i8'], [0xd9, 'psubusw', 'i16'],
  [0xda, 'pminub', 'i8'], [0xdb, 'pand', 'x'], [0xdc, 'paddusb', 'i8'], [0xdd, 'paddusw', 'i16'],
  [0xde, 'pmaxub', 'i8'], [0xdf, 'pandn', 'x'], [0xe0, 'pavgb', 'i8'], [0xe1, 'psraw', 'i16', 'count'],
  [0xe2, 'psrad', 'i32', 'count'], [0xe3, 'pavgw', 'i16'], [0xe4, 'pmulhuw', 'i16'], [0xe5, 'pmulhw', 'i16'],
  [0xe8, 'psubsb', 'i8'], [0xe9, 'psubsw', 'i16'], [0xea, 'pminsw', 'i16'], [0xeb, 'por', 'x'],
  [0xec, 'paddsb', 'i8'], [0xed, 'paddsw', 'i16'], [0xee, 'pmaxsw', 'i16'], [0xef, 'pxor', 'x'],
  [0xf1, 'psllw', 'i16', 'count'], [0xf2, 'pslld', 'i32', 'count'], [0xf3, 'psllq', 'i64', 'count'],
  [0xf4, 'pmuludq', 'i32'], [0xf5, 'pmaddwd', 'i16'], [0xf6, 'psadbw', 'i8'], [0xf8, 'psubb', 'i8'],
  [0xf9, 'psubw', 'i16'], [0xfa, 'psubd', 'i32'], [0xfb, 'psubq', 'i64'], [0xfc, 'paddb', 'i8'],
  [0xfd, 'paddw', 'i16'], [0xfe, 'paddd', 'i32'],
];

/** Shifts by an immediate: [opcode, /reg, name, lanes, MMX form exists] */
const SHIFT_IMM: [number, number, string, Lane, boolean][] = [
  [0x71, 2, 'psrlw', 'i16', true], [0x71, 4, 'psraw', 'i16', true], [0x71, 6, 'psllw', 'i16', true],
  [0x72, 2, 'psrld', 'i32', true], [0x72, 4, 'psrad', 'i32', true], [0x72, 6, 'pslld', 'i32', true],
  [0x73, 2, 'psrlq', 'i64', true], [0x73, 6, 'psllq', 'i64', true],
  [0x73, 3, 'psrldq', 'i64', false], [0x73, 7, 'pslldq', 'i64', false],
];

const shiftImm = (rng: Rng) => (rng.bool(0.8) ? rng.int(18) : rng.pick([31, 32, 33, 63, 64, 65, 127, 128, 255]));

/** The integer operations in one register kind: 'm' (MMX, no prefix) or 'x' (XMM, 66). */
function intDefs(k: 'm' | 'x', n: number): VDef[] {
  const x = k === 'x';
  const pre = x ? 0x66 : undefined;
  const defs: VDef[] = [];
  for (const [op, name, lanes, src, mmxToo] of INT_OPS) {
    if (!x && mmxToo === false) continue;
    // MMX's PUNPCKL* read only 32 bits of memory; the XMM forms a full aligned m128
    const mem = x ? 16 : op >= 0x60 && op <= 0x62 ? 4 : 8;
    defs.push({ name, pre, opc: [0x0f, op], reg: k, rm: k, mem, aligned: x, lanes, rmLanes: src ?? lanes, n });
  }
  for (const [op, ext, name, lanes, mmxToo] of SHIFT_IMM) {
    if (!x && !mmxToo) continue;
    defs.push({ name, pre, opc: [0x0f, op], reg: k, rm: k, ext, lanes, imm: shiftImm, n: Math.round(n * 0.8) });
  }
  return defs;
}

/** Moves, shuffles, inserts/extracts and the mask moves. */
function moveDefs(k: 'm' | 'x', n: number): VDef[] {
  const x = k === 'x';
  const pre = x ? 0x66 : undefined;
  const w = x ? 16 : 8;
  const defs: VDef[] = [
    { name: 'movd', pre, opc: [0x0f, 0x6e], reg: k, rm: 'r', mem: 4, lanes: 'i32', n },
    { name: 'movd', pre, opc: [0x0f, 0x7e], reg: k, rm: 'r', mem: 4, lanes: 'i32', toRm: true, n },
    { name: x ? 'movdqa' : 'movq', pre, opc: [0x0f, 0x6f], reg: k, rm: k, mem: w, aligned: x, lanes: 'x', n },
    { name: x ? 'movdqa' : 'movq', pre, opc: [0x0f, 0x7f], reg: k, rm: k, mem: w, aligned: x, lanes: 'x', toRm: true, n },
    { name: x ? 'pshufd' : 'pshufw', pre, opc: [0x0f, 0x70], reg: k, rm: k, mem: w, aligned: x, lanes: x ? 'i32' : 'i16', imm: imm8, n },
    { name: 'pinsrw', pre, opc: [0x0f, 0xc4], reg: k, rm: 'r', mem: 2, lanes: 'i16', imm: imm8, n },
    { name: 'pextrw', pre, opc: [0x0f, 0xc5], reg: 'r', rm: k, lanes: 'i16', imm: imm8, n },
    { name: 'pmovmskb', pre, opc: [0x0f, 0xd7], reg: 'r', rm: k, lanes: 'i8', n },
    { name: x ? 'movntdq' : 'movntq', pre, opc: [0x0f, 0xe7], reg: k, rm: k, mem: w, memOnly: true, aligned: x, lanes: 'x', toRm: true, n: Math.round(n / 2) },
  ];
  if (x) {
    defs.push(
      { name: 'movdqu', pre: 0xf3, opc: [0x0f, 0x6f], reg: 'x', rm: 'x', mem: 16, lanes: 'x', n },
      { name: 'movdqu', pre: 0xf3, opc: [0x0f, 0x7f], reg: 'x', rm: 'x', mem: 16, lanes: 'x', toRm: true, n },
      { name: 'movq', pre: 0xf3, opc: [0x0f, 0x7e], reg: 'x', rm: 'x', mem: 8, lanes: 'x', n },
      { name: 'movq', pre: 0x66, opc: [0x0f, 0xd6], reg: 'x', rm: 'x', mem: 8, lanes: 'x', toRm: true, n },
      { name: 'pshufhw', pre: 0xf3, opc: [0x0f, 0x70], reg: 'x', rm: 'x', mem: 16, aligned: true, lanes: 'i16', imm: imm8, n },
      { name: 'pshuflw', pre: 0xf2, opc: [0x0f, 0x70], reg: 'x', rm: 'x', mem: 16, aligned: true, lanes: 'i16', imm: imm8, n },
      { name: 'movq2dq', pre: 0xf3, opc: [0x0f, 0xd6], reg: 'x', rm: 'm', lanes: 'x', n },
      { name: 'movdq2q', pre: 0xf2, opc: [0x0f, 0xd6], reg: 'm', rm: 'x', lanes: 'x', n },
      { name: 'movnti', opc: [0x0f, 0xc3], reg: 'r', rm: 'r', mem: 4, memOnly: true, lanes: 'i32', toRm: true, n: Math.round(n / 2) },
    );
  }
  return defs;
}

/** MASKMOVQ / MASKMOVDQU: bytes of the first register where the second's byte has bit 7 set go to DS:[EDI]. */
function maskMov(rng: Rng, k: 'm' | 'x', n: number, out: Spec[]): void {
  const x = k === 'x';
  const w = x ? 16 : 8;
  for (let i = 0; i < n; i++) {
    const fb = new FB(rng);
    if (!x) mmxEnv(fb);
    fb.set(EDI, 0x00200000 + rng.int(0x2000 - w));
    const r = rng.int(8), m = rng.int(8);
    const data = vecVal(rng, 'x', w * 8);
    const mask = rng.bool(0.2) ? rng.pick([0n, (1n << BigInt(w * 8)) - 1n]) : vecVal(rng, 'i8', w * 8);
    if (x) {
      fb.xmm(r, data);
      if (m !== r) fb.xmm(m, mask);
    } else {
      fb.mm(r, data);
      if (m !== r) fb.mm(m, mask);
    }
    const seg = rng.bool(0.1) ? rng.pick([0x26, 0x36, 0x3e]) : null;
    fb.emit({ opc: [0x0f, 0xf7], pre: x ? [0x66] : [], rm: { mem: false, reg: m, ea: 0, a16: false, desc: '', enc: (f) => [0xc0 | (f << 3) | m] }, f: r, seg });
    const nm = x ? 'xmm' : 'mm';
    out.push(fb.spec(`${x ? 'maskmovdqu' : 'maskmovq'} ${nm}${r},${nm}${m} [edi=0x${fb.regs[EDI].toString(16)}] #${i}`, FULL, { allow: x ? [] : [EXC_MF] }));
  }
}

/** EMMS: empties every tag, TOP unchanged; #MF first if an x87 exception is pending. */
function emms(rng: Rng, n: number, out: Spec[]): void {
  for (let i = 0; i < n; i++) {
    const fb = new FB(rng);
    mmxEnv(fb);
    if (rng.bool(0.5)) fb.fpu.ftw = rng.int(256);
    fb.code.push(0x0f, 0x77);
    out.push(fb.spec(`emms #${i}`, FULL, { allow: [EXC_MF] }));
  }
}

export function gMmx(rng: Rng): Spec[] {
  const out: Spec[] = [];
  for (const d of [...intDefs('m', 44), ...moveDefs('m', 50)]) genV(rng, d, out);
  maskMov(rng, 'm', 70, out);
  emms(rng, 60, out);
  // MMX then x87: an MMX instruction leaves TOP=0 and every register valid, so FLD overflows
  for (let i = 0; i < 40; i++) {
    const fb = new FB(rng);
    mmxEnv(fb);
    const emmsFirst = rng.bool(0.5);
    fb.code.push(0x0f, 0xef, 0xc0 | (rng.int(8) << 3) | rng.int(8), ...(emmsFirst ? [0x0f, 0x77] : []), 0xd9, 0xe8);
    out.push(fb.spec(`pxor; ${emmsFirst ? 'emms; ' : ''}fld1 #${i}`, FULL, { allow: [EXC_MF] }));
  }
  return out;
}

export function gSseInt(rng: Rng): Spec[] {
  const out: Spec[] = [];
  for (const d of [...intDefs('x', 44), ...moveDefs('x', 50)]) genV(rng, d, out);
  maskMov(rng, 'x', 70, out);
  return out;
}

