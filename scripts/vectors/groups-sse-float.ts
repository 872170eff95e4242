// SSE/SSE2 floating point: arithmetic (sse-arith), compares (sse-cmp),
// conversions (sse-cvt) and the reciprocal approximations (sse-rcp), in
// packed and scalar, single and double forms, under every MXCSR mode.
import { Rng, Spec } from './lib.ts';
import { Lane, VDef, genV } from './simd-env.ts';

/** The four forms of a float opcode: [suffix, mandatory prefix, lanes, memory bytes, aligned]. */
const FORMS: [string, number | undefined, Lane, number, boolean][] = [
  ['ps', undefined, 'f32', 16, true],
  ['ss', 0xf3, 'f32', 4, false],
  ['pd', 0x66, 'f64', 16, true],
  ['sd', 0xf2, 'f64', 8, false],
];

function floatDefs(name: string, op: number, n: number, extra: Partial<VDef> = {}): VDef[] {
  return FORMS.map(([sfx, pre, lanes, mem, aligned]) => ({ name: name + sfx, pre, opc: [0x0f, op], reg: 'x', rm: 'x', mem, aligned, lanes, float: true, n, ...extra }));
}

export function gSseArith(rng: Rng): Spec[] {
  const out: Spec[] = [];
  const ops: [string, number][] = [['add', 0x58], ['mul', 0x59], ['sub', 0x5c], ['min', 0x5d], ['div', 0x5e], ['max', 0x5f], ['sqrt', 0x51]];
  for (const [name, op] of ops) for (const d of floatDefs(name, op, 165)) genV(rng, d, out);
  return out;
}

/** CMPccPS/SS/PD/SD's predicate: 0-7 (with the high imm8 bits sometimes set: legacy SSE ignores them). */
const predicate = (rng: Rng) => (rng.bool(0.9) ? rng.int(8) : rng.int(256));

export function gSseCmp(rng: Rng): Spec[] {
  const out: Spec[] = [];
  for (const d of floatDefs('cmp', 0xc2, 400, { imm: predicate })) genV(rng, d, out);
  const comis: VDef[] = [
    { name: 'ucomiss', opc: [0x0f, 0x2e], reg: 'x', rm: 'x', mem: 4, lanes: 'f32', float: true, n: 170 },
    { name: 'comiss', opc: [0x0f, 0x2f], reg: 'x', rm: 'x', mem: 4, lanes: 'f32', float: true, n: 170 },
    { name: 'ucomisd', pre: 0x66, opc: [0x0f, 0x2e], reg: 'x', rm: 'x', mem: 8, lanes: 'f64', float: true, n: 170 },
    { name: 'comisd', pre: 0x66, opc: [0x0f, 0x2f], reg: 'x', rm: 'x', mem: 8, lanes: 'f64', float: true, n: 170 },
  ];
  for (const d of comis) genV(rng, d, out);
  return out;
}

export function gSseCvt(rng: Rng): Spec[] {
  const out: Spec[] = [];
  const n = 165;
  const defs: VDef[] = [
    // integer to float
    { name: 'cvtpi2ps', opc: [0x0f, 0x2a], reg: 'x', rm: 'm', mem: 8, lanes: 'f32', rmLanes: 'i32', float: true, n },
    { name: 'cvtsi2ss', pre: 0xf3, opc: [0x0f, 0x2a], reg: 'x', rm: 'r', mem: 4, lanes: 'f32', rmLanes: 'i32', float: true, n },
    { name: 'cvtpi2pd', pre: 0x66, opc: [0x0f, 0x2a], reg: 'x', rm: 'm', mem: 8, lanes: 'f64', rmLanes: 'i32', float: true, n },
    { name: 'cvtsi2sd', pre: 0xf2, opc: [0x0f, 0x2a], reg: 'x', rm: 'r', mem: 4, lanes: 'f64', rmLanes: 'i32', float: true, n },
    { name: 'cvtdq2ps', opc: [0x0f, 0x5b], reg: 'x', rm: 'x', mem: 16, aligned: true, lanes: 'f32', rmLanes: 'i32', float: true, n },
    { name: 'cvtdq2pd', pre: 0xf3, opc: [0x0f, 0xe6], reg: 'x', rm: 'x', mem: 8, lanes: 'f64', rmLanes: 'i32', float: true, n },
    // float to integer, truncating and rounding by MXCSR.RC
    ...(['t', ''] as const).flatMap((t): VDef[] => {
      const op = t ? 0x2c : 0x2d;
      return [
        { name: `cvt${t}ps2pi`, opc: [0x0f, op], reg: 'm', rm: 'x', mem: 8, lanes: 'i32', rmLanes: 'f32', float: true, n },
        { name: `cvt${t}ss2si`, pre: 0xf3, opc: [0x0f, op], reg: 'r', rm: 'x', mem: 4, lanes: 'i32', rmLanes: 'f32', float: true, n },
        { name: `cvt${t}pd2pi`, pre: 0x66, opc: [0x0f, op], reg: 'm', rm: 'x', mem: 16, aligned: true, lanes: 'i32', rmLanes: 'f64', float: true, n },
        { name: `cvt${t}sd2si`, pre: 0xf2, opc: [0x0f, op], reg: 'r', rm: 'x', mem: 8, lanes: 'i32', rmLanes: 'f64', float: true, n },
      ];
    }),
    { name: 'cvtps2dq', pre: 0x66, opc: [0x0f, 0x5b], reg: 'x', rm: 'x', mem: 16, aligned: true, lanes: 'i32', rmLanes: 'f32', float: true, n },
    { name: 'cvttps2dq', pre: 0xf3, opc: [0x0f, 0x5b], reg: 'x', rm: 'x', mem: 16, aligned: true, lanes: 'i32', rmLanes: 'f32', float: true, n },
    { name: 'cvtpd2dq', pre: 0xf2, opc: [0x0f, 0xe6], reg: 'x', rm: 'x', mem: 16, aligned: true, lanes: 'i32', rmLanes: 'f64', float: true, n },
    { name: 'cvttpd2dq', pre: 0x66, opc: [0x0f, 0xe6], reg: 'x', rm: 'x', mem: 16, aligned: true, lanes: 'i32', rmLanes: 'f64', float: true, n },
    // float to float
    { name: 'cvtps2pd', opc: [0x0f, 0x5a], reg: 'x', rm: 'x', mem: 8, lanes: 'f64', rmLanes: 'f32', float: true, n },
    { name: 'cvtpd2ps', pre: 0x66, opc: [0x0f, 0x5a], reg: 'x', rm: 'x', mem: 16, aligned: true, lanes: 'f32', rmLanes: 'f64', float: true, n },
    { name: 'cvtss2sd', pre: 0xf3, opc: [0x0f, 0x5a], reg: 'x', rm: 'x', mem: 4, lanes: 'f64', rmLanes: 'f32', float: true, n },
    { name: 'cvtsd2ss', pre: 0xf2, opc: [0x0f, 0x5a], reg: 'x', rm: 'x', mem: 8, lanes: 'f32', rmLanes: 'f64', float: true, n },
  ];
  for (const d of defs) genV(rng, d, out);
  return out;
}

/**
 * RCPPS RCPSS RSQRTPS RSQRTSS. The results are the host's approximations
 * (relative error at most 1.5 * 2^-12, SDM); the group's file carries a
 * tolerance (see generate.ts GROUP_SETTINGS) so that an implementation need
 * not reproduce Intel's tables.
 */
export function gSseRcp(rng: Rng): Spec[] {
  const out: Spec[] = [];
  const defs: VDef[] = [
    { name: 'rcpps', opc: [0x0f, 0x53], reg: 'x', rm: 'x', mem: 16, aligned: true, lanes: 'f32', float: true, n: 170 },
    { name: 'rcpss', pre: 0xf3, opc: [0x0f, 0x53], reg: 'x', rm: 'x', mem: 4, lanes: 'f32', float: true, n: 170 },
    { name: 'rsqrtps', opc: [0x0f, 0x52], reg: 'x', rm: 'x', mem: 16, aligned: true, lanes: 'f32', float: true, n: 170 },
    { name: 'rsqrtss', pre: 0xf3, opc: [0x0f, 0x52], reg: 'x', rm: 'x', mem: 4, lanes: 'f32', float: true, n: 170 },
  ];
  for (const d of defs) genV(rng, d, out);
  return out;
}
