// Shared pieces of the MMX/SSE/SSE2 groups: lane values, the MXCSR and x87
// environment, and one table-driven builder for the ModRM-form instructions.
import { FULL, RM, Rng, Spec, regName } from './lib.ts';
import { ALL_MASKED, FB, mxcsrDesc } from './fpstate.ts';
import { F32, F64, bigLe, ieeeRelated, ieeeVal, randBits } from './fp-values.ts';
import { fillStack } from './x87-env.ts';

export const EXC_GP = 13;
export const EXC_MF = 16;
export const EXC_XM = 19;

/** How a register's value is made: float lanes, integer lanes, shift counts, raw bits. */
export type Lane = 'f32' | 'f64' | 'i8' | 'i16' | 'i32' | 'i64' | 'count' | 'x';

const LANE_BITS: Record<Lane, number> = { f32: 32, f64: 64, i8: 8, i16: 16, i32: 32, i64: 64, count: 64, x: 64 };

/** An integer lane: the limits, small numbers, powers of two, byte patterns, random. */
function intLane(rng: Rng, bits: number): bigint {
  const mask = (1n << BigInt(bits)) - 1n;
  const min = 1n << BigInt(bits - 1);
  switch (rng.int(8)) {
    case 0: return rng.pick([0n, 1n, mask, min, min - 1n, min + 1n, mask - 1n]);
    case 1: return BigInt.asUintN(bits, BigInt(rng.range(-16, 16)));
    case 2: return BigInt.asUintN(bits, (1n << BigInt(rng.int(bits))) + BigInt(rng.range(-1, 1)));
    case 3: return BigInt.asUintN(bits, rng.pick([0x7fn, 0x80n, 0xffn, 0x100n, 0x7fffn, 0x8000n, 0xffffn]));
    default: return randBits(rng, bits);
  }
}

/** A shift count (64-bit register or memory operand): mostly in range, sometimes past it or huge. */
function countLane(rng: Rng): bigint {
  const k = rng.int(8);
  if (k < 5) return BigInt(rng.int(18));
  if (k === 5) return BigInt(rng.pick([31, 32, 33, 63, 64, 65, 127, 128, 255, 256]));
  if (k === 6) return (1n << BigInt(rng.range(16, 63))) | BigInt(rng.int(8));
  return randBits(rng, 64);
}

export function laneVal(rng: Rng, lane: Lane): bigint {
  switch (lane) {
    case 'f32': return ieeeVal(rng, F32);
    case 'f64': return ieeeVal(rng, F64);
    case 'count': return countLane(rng);
    case 'x': return randBits(rng, 64);
    default: return intLane(rng, LANE_BITS[lane]);
  }
}

/** A lane related to `a`: equal, off by one, negated, or (floats) ieeeRelated. */
function relatedLane(rng: Rng, lane: Lane, a: bigint): bigint {
  const bits = LANE_BITS[lane];
  if (lane === 'f32') return ieeeRelated(rng, F32, a);
  if (lane === 'f64') return ieeeRelated(rng, F64, a);
  if (lane === 'count' || lane === 'x') return laneVal(rng, lane);
  switch (rng.int(5)) {
    case 0: case 1: return a;
    case 2: return BigInt.asUintN(bits, a + BigInt(rng.range(-1, 1)));
    case 3: return BigInt.asUintN(bits, -a);
    default: return laneVal(rng, lane);
  }
}

/** A register value of `width` bits made of `lane` lanes; lanes related to `other`'s when given. */
export function vecVal(rng: Rng, lane: Lane, width: number, other?: bigint): bigint {
  const lb = LANE_BITS[lane];
  if (lane === 'count' && width > 64) return (rng.bool(0.3) ? randBits(rng, 64) << 64n : 0n) | countLane(rng); // only the low 64 bits count
  if (width <= lb) return BigInt.asUintN(width, laneVal(rng, lane));
  let v = 0n;
  const related = other !== undefined && rng.bool(0.6);
  for (let k = width / lb - 1; k >= 0; k--) {
    const mask = (1n << BigInt(lb)) - 1n;
    const l = related ? relatedLane(rng, lane, (other! >> BigInt(k * lb)) & mask) : laneVal(rng, lane);
    v = (v << BigInt(lb)) | l;
  }
  return v;
}

/**
 * MXCSR for an instruction that uses it: every rounding control, DAZ, FTZ,
 * mostly all exceptions masked, sometimes sticky flags. Others keep the default.
 */
export function sseEnv(fb: FB): void {
  const rng = fb.rng;
  const masks = rng.bool(0.75) ? ALL_MASKED : rng.u32() & ALL_MASKED;
  fb.mxcsr(rng.int(4), masks, rng.bool(0.3), rng.bool(0.3), rng.bool(0.3) ? rng.u32() & 0x3f : 0);
}

/**
 * The x87 side of an MMX instruction: often a clean FNINIT state, sometimes
 * a stack with TOP anywhere and empty registers (every MMX instruction but
 * EMMS sets TOP=0 and all tags valid), rarely an unmasked x87 exception
 * pending (#MF before the MMX instruction).
 */
export function mmxEnv(fb: FB): void {
  const rng = fb.rng;
  if (rng.bool(0.3)) fillStack(fb, rng.int(9), [], rng.int(8));
  if (rng.bool(0.04)) {
    const bit = 1 << rng.int(6);
    fb.fpu.fcw &= ~bit;
    fb.fpu.fsw |= bit;
  }
}

export type Kind = 'x' | 'm' | 'r';
const WIDTH: Record<Kind, number> = { x: 128, m: 64, r: 32 };

/** A ModRM-form MMX/SSE instruction. */
export interface VDef {
  name: string;
  /** Mandatory prefix (0x66, 0xF2, 0xF3), before 0F. */
  pre?: number;
  opc: number[];
  /** The ModRM.reg operand: XMM, MMX or a 32-bit general register. */
  reg: Kind;
  /** The ModRM.rm operand when it is a register. */
  rm: Kind;
  /** Size of the memory form in bytes (none: register only). */
  mem?: number;
  /** Memory form only (mod=3 is another instruction or invalid). */
  memOnly?: boolean;
  /** The memory operand must be 16-byte aligned: a misaligned one (some vectors) raises #GP. */
  aligned?: boolean;
  /** The destination is ModRM.rm (stores); default ModRM.reg. */
  toRm?: boolean;
  /** Fixed ModRM.reg (group opcodes such as 71 /2): the reg field is then not an operand. */
  ext?: number;
  /** Lanes of the reg operand's value, and of the rm operand's (default the same). */
  lanes: Lane;
  rmLanes?: Lane;
  imm?: (rng: Rng) => number;
  /** Uses MXCSR; may raise #XM. */
  float?: boolean;
  n: number;
}

const KIND_NAME: Record<Kind, (r: number) => string> = { x: (r) => `xmm${r}`, m: (r) => `mm${r}`, r: (r) => regName(32, r) };

function setKind(fb: FB, k: Kind, r: number, v: bigint): void {
  if (k === 'x') fb.xmm(r, v);
  else if (k === 'm') fb.mm(r, v);
  else fb.setOp(32, r, Number(v & 0xffffffffn));
}

/** Builds `d.n` vectors of a ModRM-form instruction into `out`. */
export function genV(rng: Rng, d: VDef, out: Spec[]): void {
  const rmLanes = d.rmLanes ?? d.lanes;
  const mmx = d.reg === 'm' || d.rm === 'm';
  for (let i = 0; i < d.n; i++) {
    const fb = new FB(rng);
    if (d.float) sseEnv(fb);
    if (mmx) mmxEnv(fb);
    const r = d.ext ?? rng.int(8);
    const useMem = d.mem !== undefined && (d.memOnly || rng.bool(0.4));
    let rm: RM;
    let misaligned = false;
    if (useMem) {
      const need = d.mem!;
      misaligned = !!d.aligned && rng.bool(0.08);
      const avoid = d.reg === 'r' && d.ext === undefined ? [r] : [];
      if (d.aligned) {
        const base = 0x00200000 + rng.int(0x1f00 / 16) * 16 + (misaligned ? rng.pick([1, 4, 8, 12, rng.range(1, 15)]) : 0);
        rm = fb.mem({ need, target: base, avoid });
      } else rm = fb.mem({ need, avoid });
    } else {
      const rr = rng.int(8);
      rm = { mem: false, reg: rr, ea: 0, a16: false, desc: KIND_NAME[d.rm](rr), enc: (f) => [0xc0 | (f << 3) | rr] };
    }
    // values: the reg operand (also read by most instructions), then the rm operand, often related
    const regV = vecVal(rng, d.lanes, WIDTH[d.reg]);
    if (d.ext === undefined) setKind(fb, d.reg, r, regV);
    const rmV = vecVal(rng, rmLanes, useMem ? d.mem! * 8 : WIDTH[d.rm], rmLanes === d.lanes ? regV : undefined);
    const sameReg = !useMem && d.ext === undefined && d.rm === d.reg && rm.reg === r;
    if (useMem) {
      if (!d.toRm) fb.plant(rm.ea, bigLe(rmV, d.mem!));
    } else if (!sameReg && !(d.toRm && d.rm === 'r')) setKind(fb, d.rm, rm.reg, rmV);
    const imm = d.imm?.(rng);
    fb.emit({ opc: d.opc, pre: d.pre !== undefined ? [d.pre] : [], rm, f: r, imm: imm !== undefined ? [imm & 0xff] : undefined, seg: fb.seg(rm, !!d.toRm) });
    const regDesc = d.ext === undefined ? KIND_NAME[d.reg](r) : '';
    const rmDesc = rm.mem ? rm.desc : KIND_NAME[d.rm](rm.reg);
    const ops = d.toRm ? [rmDesc, regDesc] : [regDesc, rmDesc];
    if (imm !== undefined) ops.push('0x' + (imm & 0xff).toString(16));
    const env = d.float ? ` [${mxcsrDesc(fb.fpu.mxcsr)}]` : '';
    // a misaligned m128 faults before anything else; otherwise #XM (SSE) or #MF (MMX) may happen
    const extra: Partial<Spec> = misaligned ? { allow: [EXC_GP], expect: EXC_GP } : { allow: [...(d.float ? [EXC_XM] : []), ...(mmx ? [EXC_MF] : [])] };
    out.push(fb.spec(`${d.name} ${ops.filter((o) => o).join(',')}${env}${misaligned ? ' (misaligned)' : ''} #${i}`, FULL, extra));
  }
}

export const imm8 = (rng: Rng) => (rng.bool(0.3) ? rng.pick([0, 1, 0x1b, 0x4e, 0xe4, 0xff, 0x55, 0xaa]) : rng.int(256));

