// SSE/SSE2 data movement (sse-move): loads and stores in every width and
// alignment, the half moves, mask extraction, shuffles, unpacks and the
// bitwise logic. Float lanes hold edge values (NaN payloads, denormals):
// a move must not change them, whatever MXCSR says.
import { Rng, Spec } from './lib.ts';
import { VDef, genV, imm8 } from './simd-env.ts';

export function gSseMove(rng: Rng): Spec[] {
  const out: Spec[] = [];
  const n = 90;
  const defs: VDef[] = [];
  // full and scalar moves: [name, prefix, lanes, memory bytes, aligned]
  const moves: [string, number | undefined, 'f32' | 'f64', number, boolean, number, number][] = [
    ['movups', undefined, 'f32', 16, false, 0x10, 0x11],
    ['movupd', 0x66, 'f64', 16, false, 0x10, 0x11],
    ['movss', 0xf3, 'f32', 4, false, 0x10, 0x11],
    ['movsd', 0xf2, 'f64', 8, false, 0x10, 0x11],
    ['movaps', undefined, 'f32', 16, true, 0x28, 0x29],
    ['movapd', 0x66, 'f64', 16, true, 0x28, 0x29],
  ];
  for (const [name, pre, lanes, mem, aligned, load, store] of moves) {
    defs.push({ name, pre, opc: [0x0f, load], reg: 'x', rm: 'x', mem, aligned, lanes, n });
    defs.push({ name, pre, opc: [0x0f, store], reg: 'x', rm: 'x', mem, aligned, lanes, toRm: true, n });
  }
  defs.push(
    // the 64-bit halves: memory forms, and the register forms that share their opcodes
    { name: 'movlps', opc: [0x0f, 0x12], reg: 'x', rm: 'x', mem: 8, memOnly: true, lanes: 'f32', n },
    { name: 'movhlps', opc: [0x0f, 0x12], reg: 'x', rm: 'x', lanes: 'f32', n },
    { name: 'movlps', opc: [0x0f, 0x13], reg: 'x', rm: 'x', mem: 8, memOnly: true, lanes: 'f32', toRm: true, n },
    { name: 'movhps', opc: [0x0f, 0x16], reg: 'x', rm: 'x', mem: 8, memOnly: true, lanes: 'f32', n },
    { name: 'movlhps', opc: [0x0f, 0x16], reg: 'x', rm: 'x', lanes: 'f32', n },
    { name: 'movhps', opc: [0x0f, 0x17], reg: 'x', rm: 'x', mem: 8, memOnly: true, lanes: 'f32', toRm: true, n },
    { name: 'movlpd', pre: 0x66, opc: [0x0f, 0x12], reg: 'x', rm: 'x', mem: 8, memOnly: true, lanes: 'f64', n },
    { name: 'movlpd', pre: 0x66, opc: [0x0f, 0x13], reg: 'x', rm: 'x', mem: 8, memOnly: true, lanes: 'f64', toRm: true, n },
    { name: 'movhpd', pre: 0x66, opc: [0x0f, 0x16], reg: 'x', rm: 'x', mem: 8, memOnly: true, lanes: 'f64', n },
    { name: 'movhpd', pre: 0x66, opc: [0x0f, 0x17], reg: 'x', rm: 'x', mem: 8, memOnly: true, lanes: 'f64', toRm: true, n },
    // non-temporal stores
    { name: 'movntps', opc: [0x0f, 0x2b], reg: 'x', rm: 'x', mem: 16, memOnly: true, aligned: true, lanes: 'f32', toRm: true, n: 50 },
    { name: 'movntpd', pre: 0x66, opc: [0x0f, 0x2b], reg: 'x', rm: 'x', mem: 16, memOnly: true, aligned: true, lanes: 'f64', toRm: true, n: 50 },
    // sign masks
    { name: 'movmskps', opc: [0x0f, 0x50], reg: 'r', rm: 'x', lanes: 'f32', n },
    { name: 'movmskpd', pre: 0x66, opc: [0x0f, 0x50], reg: 'r', rm: 'x', lanes: 'f64', n },
    // shuffles and unpacks
    { name: 'shufps', opc: [0x0f, 0xc6], reg: 'x', rm: 'x', mem: 16, aligned: true, lanes: 'f32', imm: imm8, n: 120 },
    { name: 'shufpd', pre: 0x66, opc: [0x0f, 0xc6], reg: 'x', rm: 'x', mem: 16, aligned: true, lanes: 'f64', imm: imm8, n: 120 },
    { name: 'unpcklps', opc: [0x0f, 0x14], reg: 'x', rm: 'x', mem: 16, aligned: true, lanes: 'f32', n },
    { name: 'unpckhps', opc: [0x0f, 0x15], reg: 'x', rm: 'x', mem: 16, aligned: true, lanes: 'f32', n },
    { name: 'unpcklpd', pre: 0x66, opc: [0x0f, 0x14], reg: 'x', rm: 'x', mem: 16, aligned: true, lanes: 'f64', n },
    { name: 'unpckhpd', pre: 0x66, opc: [0x0f, 0x15], reg: 'x', rm: 'x', mem: 16, aligned: true, lanes: 'f64', n },
  );
  // bitwise logic
  for (const [name, op] of [['and', 0x54], ['andn', 0x55], ['or', 0x56], ['xor', 0x57]] as const) {
    defs.push({ name: name + 'ps', opc: [0x0f, op], reg: 'x', rm: 'x', mem: 16, aligned: true, lanes: 'f32', n: 70 });
    defs.push({ name: name + 'pd', pre: 0x66, opc: [0x0f, op], reg: 'x', rm: 'x', mem: 16, aligned: true, lanes: 'f64', n: 70 });
  }
  for (const d of defs) genV(rng, d, out);
  return out;
}
