// x87 groups: arithmetic, loads, stores, one-operand instructions and
// compares. (Control and environment: groups-x87-control.ts; the
// transcendentals: groups-x87-trans.ts.)
import { CF, FULL, PF, Rng, Spec, ZF } from './lib.ts';
import { FB } from './fpstate.ts';
import {
  F32, F64, X80, bigLe, ieeeVal, intVal, isNaN80, randBits, x80Bytes, x80Normal, x80Related, x80Special, x80Val,
} from './fp-values.ts';
import { EXC_MF, depthFor, fillStack, many, memOperand, sti } from './x87-env.ts';

const J = 1n << 63n;

/** ST(0) = a and ST(i) = b (one value when i is 0). */
function st0AndI(a: X80, i: number, b: X80): (X80 | undefined)[] {
  const given: (X80 | undefined)[] = [a];
  if (i) given[i] = b;
  return given;
}

/** An x87 operand pair: independent, or the second related to the first. */
function pair(rng: Rng, pSpecial = 0.3): [X80, X80] {
  const a = x80Val(rng, pSpecial);
  return [a, rng.bool(0.5) ? x80Related(rng, a) : x80Val(rng, pSpecial)];
}

/** A 32/64-bit memory operand near an x87 value (same exponent and leading bits), or any edge value. */
function ieeeNear(rng: Rng, a: X80, f: typeof F32): bigint {
  const e = (a.se & 0x7fff) - 16383 + f.bias;
  const emax = 2 * f.bias + 1;
  if (!rng.bool(0.5) || e <= 0 || e >= emax) return ieeeVal(rng, f);
  const m = BigInt.asUintN(f.man, a.sig >> BigInt(63 - f.man)) + BigInt(rng.range(-1, 1));
  const sign = rng.bool(0.3) ? (a.se >> 15) ^ 1 : a.se >> 15;
  return (BigInt(sign) << BigInt(f.bits - 1)) | (BigInt(e) << BigInt(f.man)) | BigInt.asUintN(f.man, m);
}

// ---------------------------------------------------------------------------
// Arithmetic: FADD FMUL FSUB FSUBR FDIV FDIVR in every form
// ---------------------------------------------------------------------------
const D8_NAMES = ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'];
/** DC/DE register forms: reg 4..7 are SUBR, SUB, DIVR, DIV (ST(i) is the destination). */
const DC_NAMES = ['fadd', 'fmul', 'fcom2', 'fcomp3', 'fsubr', 'fsub', 'fdivr', 'fdiv'];
const ARITH_OPS = [0, 1, 4, 5, 6, 7];

export function gX87Arith(rng: Rng): Spec[] {
  const out: Spec[] = [];
  const N = 72;
  for (const op of ARITH_OPS) {
    // D8: ST(0) = ST(0) op ST(i)
    many(rng, out, N, (fb) => {
      const i = rng.int(8);
      const [a, b] = pair(rng);
      fillStack(fb, depthFor(rng, i + 1), st0AndI(a, i, b));
      fb.code.push(0xd8, 0xc0 | (op << 3) | i);
      return `${D8_NAMES[op]} st0,${sti(i)}`;
    });
    // DC: ST(i) = ST(i) op ST(0); DE: the same and pop
    for (const [opc, suffix] of [[0xdc, ''], [0xde, 'p']] as const) {
      many(rng, out, N, (fb) => {
        const i = rng.int(8);
        const [a, b] = pair(rng);
        fillStack(fb, depthFor(rng, i + 1), st0AndI(a, i, b));
        fb.code.push(opc, 0xc0 | (op << 3) | i);
        return `${DC_NAMES[op]}${suffix} ${sti(i)},st0`;
      });
    }
    // Memory operands: m32fp, m64fp, m32int, m16int
    const mems: [number, string, (a: X80) => number[]][] = [
      [0xd8, 'm32fp', (a) => bigLe(ieeeNear(rng, a, F32), 4)],
      [0xdc, 'm64fp', (a) => bigLe(ieeeNear(rng, a, F64), 8)],
      [0xda, 'm32int', () => bigLe(intVal(rng, 32), 4)],
      [0xde, 'm16int', () => bigLe(intVal(rng, 16), 2)],
    ];
    for (const [opc, kind, gen] of mems) {
      many(rng, out, N, (fb) => {
        const a = x80Val(rng);
        fillStack(fb, depthFor(rng, 1), [a]);
        const bytes = gen(a);
        const rm = memOperand(fb, bytes.length, bytes);
        const seg = fb.seg(rm, false);
        fb.emit({ opc: [opc], rm, f: op, seg });
        return `${opc >= 0xda && opc !== 0xdc ? 'fi' + D8_NAMES[op].slice(1) : D8_NAMES[op]} ${kind} ${rm.desc}`;
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Loads: FLD m32/m64/m80/st(i), FILD m16/m32/m64, FBLD, the constants
// ---------------------------------------------------------------------------

/** A depth for a push: anything, sometimes a full stack (overflow). */
function pushDepth(rng: Rng): number {
  return rng.bool(0.1) ? 8 : rng.int(8);
}

/** 18 packed BCD digits and a sign byte; sometimes invalid digits (A-F) or sign-byte junk. */
function bcdBytes(rng: Rng): number[] {
  const nd = rng.pick([0, 1, 2, 5, 9, 17, 18, 18, 18, rng.range(1, 18)]);
  const digits: number[] = [];
  for (let d = 0; d < 18; d++) digits.push(d < nd ? (rng.bool(0.3) ? 9 : rng.int(10)) : 0);
  if (rng.bool(0.25)) {
    // invalid digits somewhere
    for (let k = rng.range(1, 3); k > 0; k--) digits[rng.int(18)] = rng.range(10, 15);
  }
  const bytes: number[] = [];
  for (let b = 0; b < 9; b++) bytes.push(digits[2 * b] | (digits[2 * b + 1] << 4));
  const sign = rng.bool(0.5) ? 0x80 : 0;
  bytes.push(rng.bool(0.15) ? sign | rng.int(0x80) : sign);
  return bytes;
}

const CONSTS: [number, string][] = [
  [0xe8, 'fld1'], [0xe9, 'fldl2t'], [0xea, 'fldl2e'], [0xeb, 'fldpi'], [0xec, 'fldlg2'], [0xed, 'fldln2'], [0xee, 'fldz'],
];

export function gX87Load(rng: Rng): Spec[] {
  const out: Spec[] = [];
  const memLoads: [string, number, number, (fb: FB) => number[]][] = [
    ['fld m32fp', 0xd9, 0, () => bigLe(ieeeVal(rng, F32), 4)],
    ['fld m64fp', 0xdd, 0, () => bigLe(ieeeVal(rng, F64), 8)],
    ['fld m80fp', 0xdb, 5, () => x80Bytes(x80Val(rng, 0.6))],
    ['fild m16int', 0xdf, 0, () => bigLe(intVal(rng, 16), 2)],
    ['fild m32int', 0xdb, 0, () => bigLe(intVal(rng, 32), 4)],
    ['fild m64int', 0xdf, 5, () => bigLe(intVal(rng, 64), 8)],
    ['fbld m80bcd', 0xdf, 4, () => bcdBytes(rng)],
  ];
  const counts = [380, 380, 320, 150, 150, 150, 300];
  memLoads.forEach(([name, opc, f, gen], k) => {
    many(rng, out, counts[k], (fb) => {
      fillStack(fb, pushDepth(rng));
      const bytes = gen(fb);
      const rm = memOperand(fb, bytes.length, bytes);
      fb.emit({ opc: [opc], rm, f, seg: fb.seg(rm, false) });
      return `${name} ${rm.desc}`;
    });
  });
  // FLD ST(i): the source is read before the push
  many(rng, out, 200, (fb) => {
    const i = rng.int(8);
    fillStack(fb, rng.bool(0.1) ? 8 : depthFor(rng, i + 1));
    fb.code.push(0xd9, 0xc0 | i);
    return `fld ${sti(i)}`;
  });
  // The constants under every rounding control and precision
  for (const [b, name] of CONSTS) {
    for (let rc = 0; rc < 4; rc++) {
      for (let k = 0; k < 5; k++) {
        const fb = new FB(rng);
        fb.fcw(k < 2 ? 3 : rng.pick([0, 2, 3]), rc, k === 4 ? rng.u32() & 0x3f : 0x3f);
        fillStack(fb, k === 3 ? 8 : rng.int(8));
        fb.code.push(0xd9, b);
        out.push(fb.spec(`${name} rc=${rc} pc=${fb.pc}${k === 3 ? ' (full stack)' : ''} #${k}`, FULL, { allow: [EXC_MF] }));
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Stores: FST/FSTP m32/m64/m80/st(i), FIST/FISTP m16/m32/m64, FBSTP
// ---------------------------------------------------------------------------

/** An x87 value near the limits of a 32/64-bit float (overflow, underflow, denormal results). */
function nearFloatLimits(rng: Rng, f: typeof F32): X80 {
  const lim = rng.pick([f.bias, -f.bias + 1, -f.bias - f.man, -f.bias - f.man + 1, -f.bias - rng.int(f.man), rng.range(-f.bias, f.bias)]);
  return { se: (rng.bool(0.5) ? 0x8000 : 0) | (16383 + lim + rng.range(-1, 1)), sig: x80Normal(rng).sig };
}

/** An x87 value near an integer limit, or a fraction that rounds differently under each RC. */
function nearInt(rng: Rng, bits: number): X80 {
  const k = rng.int(5);
  let mag: bigint;
  let fracBits = 0n;
  if (k === 0) mag = (1n << BigInt(bits - 1)) + BigInt(rng.range(-2, 1)); // the limits
  else if (k === 1) mag = BigInt(rng.range(0, 5));
  else if (k === 2) mag = randBits(rng, rng.range(1, bits + 1));
  else if (k === 3) mag = 10n ** 18n + BigInt(rng.range(-2, 1)); // FBSTP's limit
  else return x80Val(rng, 0.5);
  // value = mag + frac/4 (halves and quarters round differently under each RC)
  fracBits = BigInt(rng.pick([0, 0, 1, 2, 3]));
  const v = (mag << 2n) | fracBits;
  if (v === 0n) return { se: rng.bool(0.5) ? 0x8000 : 0, sig: 0n };
  const len = v.toString(2).length;
  const sig = BigInt.asUintN(64, len <= 64 ? v << BigInt(64 - len) : v >> BigInt(len - 64));
  return { se: (rng.bool(0.5) ? 0x8000 : 0) | (16383 + len - 1 - 2), sig };
}

export function gX87Store(rng: Rng): Spec[] {
  const out: Spec[] = [];
  const stores: [string, number, number, number, (fb: FB) => X80, number][] = [
    ['fst m32fp', 0xd9, 2, 4, () => (rng.bool(0.5) ? nearFloatLimits(rng, F32) : x80Val(rng, 0.4)), 240],
    ['fstp m32fp', 0xd9, 3, 4, () => (rng.bool(0.5) ? nearFloatLimits(rng, F32) : x80Val(rng, 0.4)), 240],
    ['fst m64fp', 0xdd, 2, 8, () => (rng.bool(0.5) ? nearFloatLimits(rng, F64) : x80Val(rng, 0.4)), 240],
    ['fstp m64fp', 0xdd, 3, 8, () => (rng.bool(0.5) ? nearFloatLimits(rng, F64) : x80Val(rng, 0.4)), 240],
    ['fstp m80fp', 0xdb, 7, 10, () => x80Val(rng, 0.6), 150],
    ['fist m16int', 0xdf, 2, 2, () => nearInt(rng, 16), 160],
    ['fistp m16int', 0xdf, 3, 2, () => nearInt(rng, 16), 160],
    ['fist m32int', 0xdb, 2, 4, () => nearInt(rng, 32), 160],
    ['fistp m32int', 0xdb, 3, 4, () => nearInt(rng, 32), 160],
    ['fistp m64int', 0xdf, 7, 8, () => nearInt(rng, 64), 200],
    ['fbstp m80bcd', 0xdf, 6, 10, () => nearInt(rng, 60), 220],
  ];
  for (const [name, opc, f, size, gen, n] of stores) {
    many(rng, out, n, (fb) => {
      fillStack(fb, depthFor(rng, 1), [gen(fb)]);
      const rm = memOperand(fb, size);
      fb.emit({ opc: [opc], rm, f, seg: fb.seg(rm, true) });
      return `${name} ${rm.desc}`;
    });
  }
  // FST/FSTP ST(i) (DD D0+i / DD D8+i)
  for (const [name, b] of [['fst', 0xd0], ['fstp', 0xd8]] as const) {
    many(rng, out, 150, (fb) => {
      const i = rng.int(8);
      fillStack(fb, depthFor(rng, 1), [x80Val(rng, 0.4)]);
      fb.code.push(0xdd, b | i);
      return `${name} ${sti(i)}`;
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// One-operand and two-operand register instructions (D9 E0-FF, minus the
// transcendentals and the constants)
// ---------------------------------------------------------------------------

/** `x` made positive with probability p (most square roots should not be invalid). */
function positive(rng: Rng, x: X80, p: number): X80 {
  return rng.bool(p) ? { se: x.se & 0x7fff, sig: x.sig } : x;
}

/** FSCALE's scale factor: small and large integers, fractions, specials. */
function scaleFactor(rng: Rng): X80 {
  const k = rng.int(6);
  if (k === 0) return x80Special(rng);
  if (k === 1) return { se: (rng.bool(0.5) ? 0x8000 : 0) | rng.range(0x3ffe, 0x4010), sig: J | randBits(rng, 63) }; // fractions, up to 2^17
  const n = k === 2 ? rng.range(1, 40) : k === 3 ? rng.range(16380, 16450) : rng.range(1, 70000);
  const len = n.toString(2).length;
  return { se: (rng.bool(0.5) ? 0x8000 : 0) | (16383 + len - 1), sig: BigInt(n) << BigInt(64 - len) };
}

/** FPREM's operands: exponent differences from 0 to past 63 (partial remainders), and specials. */
function remPair(rng: Rng): [X80, X80] {
  if (rng.bool(0.15)) return pair(rng, 0.6);
  const b = x80Normal(rng, -40, 40);
  const d = rng.pick([0, 1, 2, 3, 10, 31, 32, 62, 63, 64, 65, 100, rng.range(0, 80)]);
  const a = { se: (rng.bool(0.5) ? 0x8000 : 0) | Math.min(0x7ffe, (b.se & 0x7fff) + d), sig: rng.bool(0.2) ? b.sig : J | randBits(rng, 63) };
  return [a, b];
}

export function gX87Unary(rng: Rng): Spec[] {
  const out: Spec[] = [];
  // one operand, ST(0) only
  const ones: [string, number, number, () => X80][] = [
    ['fchs', 0xe0, 80, () => x80Val(rng, 0.5)],
    ['fabs', 0xe1, 80, () => x80Val(rng, 0.5)],
    ['ftst', 0xe4, 140, () => x80Val(rng, 0.6)],
    ['fxam', 0xe5, 220, () => x80Val(rng, 0.8)],
    ['fsqrt', 0xfa, 280, () => (rng.bool(0.4) ? x80Special(rng) : positive(rng, x80Normal(rng, -16000, 16000), 0.8))],
    ['frndint', 0xfc, 280, () => (rng.bool(0.7) ? nearInt(rng, rng.pick([8, 32, 63, 64, 66])) : x80Val(rng, 0.5))],
    ['fxtract', 0xf4, 220, () => (rng.bool(0.5) ? x80Special(rng) : x80Normal(rng, -16000, 16000))],
  ];
  for (const [name, b, n, gen] of ones) {
    many(rng, out, n, (fb) => {
      // FXAM also classifies an empty ST(0); FXTRACT pushes (overflow on a full stack)
      const depth = name === 'fxam' && rng.bool(0.1) ? 0 : name === 'fxtract' && rng.bool(0.08) ? 8 : depthFor(rng, 1);
      fillStack(fb, depth, [gen()]);
      fb.code.push(0xd9, b);
      return name;
    });
  }
  // two operands, ST(0) and ST(1)
  const twos: [string, number, number, () => [X80, X80]][] = [
    ['fscale', 0xfd, 280, () => [x80Val(rng, 0.3), scaleFactor(rng)]],
    ['fprem', 0xf8, 300, () => remPair(rng)],
    ['fprem1', 0xf5, 300, () => remPair(rng)],
  ];
  for (const [name, b, n, gen] of twos) {
    many(rng, out, n, (fb) => {
      fillStack(fb, depthFor(rng, 2), gen());
      fb.code.push(0xd9, b);
      return name;
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Compares: FCOM FCOMP FCOMPP FUCOM FUCOMP FUCOMPP FICOM FICOMP FCOMI FCOMIP
// FUCOMI FUCOMIP, FCMOVcc, FNSTSW AX
// ---------------------------------------------------------------------------

/** A compare pair: often equal, ±0, NaNs, infinities. */
function cmpPair(rng: Rng): [X80, X80] {
  const a = x80Val(rng, 0.45);
  if (rng.bool(0.15)) return [a, { ...a }];
  if (rng.bool(0.1) && !isNaN80(a)) return [a, { se: a.se ^ 0x8000, sig: a.sig }];
  return [a, rng.bool(0.5) ? x80Related(rng, a) : x80Val(rng, 0.45)];
}

const FCMOV: [number, number, string][] = [
  [0xda, 0xc0, 'fcmovb'], [0xda, 0xc8, 'fcmove'], [0xda, 0xd0, 'fcmovbe'], [0xda, 0xd8, 'fcmovu'],
  [0xdb, 0xc0, 'fcmovnb'], [0xdb, 0xc8, 'fcmovne'], [0xdb, 0xd0, 'fcmovnbe'], [0xdb, 0xd8, 'fcmovnu'],
];

export function gX87Compare(rng: Rng): Spec[] {
  const out: Spec[] = [];
  // register forms, ST(0) against ST(i)
  const regs: [string, number, number, number, number][] = [
    // name, opcode, modrm base, registers popped, count
    ['fcom', 0xd8, 0xd0, 0, 130],
    ['fcomp', 0xd8, 0xd8, 1, 130],
    ['fucom', 0xdd, 0xe0, 0, 130],
    ['fucomp', 0xdd, 0xe8, 1, 130],
    ['fcomi', 0xdb, 0xf0, 0, 140],
    ['fcomip', 0xdf, 0xf0, 1, 140],
    ['fucomi', 0xdb, 0xe8, 0, 140],
    ['fucomip', 0xdf, 0xe8, 1, 140],
  ];
  for (const [name, opc, base, , n] of regs) {
    many(rng, out, n, (fb) => {
      const i = rng.bool(0.6) ? 1 : rng.int(8);
      const [a, b] = cmpPair(rng);
      fillStack(fb, depthFor(rng, i + 1), st0AndI(a, i, b));
      fb.code.push(opc, base | i);
      return `${name} st0,${sti(i)}`;
    });
  }
  for (const [name, b0, b1] of [['fcompp', 0xde, 0xd9], ['fucompp', 0xda, 0xe9]] as const) {
    many(rng, out, 110, (fb) => {
      fillStack(fb, depthFor(rng, 2), cmpPair(rng));
      fb.code.push(b0, b1);
      return name;
    });
  }
  // memory forms
  const mems: [string, number, number, (a: X80) => number[]][] = [
    ['fcom m32fp', 0xd8, 2, (a) => bigLe(ieeeNear(rng, a, F32), 4)],
    ['fcomp m32fp', 0xd8, 3, (a) => bigLe(ieeeNear(rng, a, F32), 4)],
    ['fcom m64fp', 0xdc, 2, (a) => bigLe(ieeeNear(rng, a, F64), 8)],
    ['fcomp m64fp', 0xdc, 3, (a) => bigLe(ieeeNear(rng, a, F64), 8)],
    ['ficom m16int', 0xde, 2, () => bigLe(intVal(rng, 16), 2)],
    ['ficomp m16int', 0xde, 3, () => bigLe(intVal(rng, 16), 2)],
    ['ficom m32int', 0xda, 2, () => bigLe(intVal(rng, 32), 4)],
    ['ficomp m32int', 0xda, 3, () => bigLe(intVal(rng, 32), 4)],
  ];
  for (const [name, opc, f, gen] of mems) {
    many(rng, out, 80, (fb) => {
      const a = rng.bool(0.3) ? nearInt(rng, 16) : x80Val(rng, 0.45);
      fillStack(fb, depthFor(rng, 1), [a]);
      const bytes = gen(a);
      const rm = memOperand(fb, bytes.length, bytes);
      fb.emit({ opc: [opc], rm, f, seg: fb.seg(rm, false) });
      return `${name} ${rm.desc}`;
    });
  }
  // FCMOVcc ST(0), ST(i): every condition with the flags it reads
  for (const [opc, base, name] of FCMOV) {
    many(rng, out, 48, (fb) => {
      const i = rng.int(8);
      fb.eflags = (fb.eflags & ~(CF | PF | ZF)) | (rng.bool(0.5) ? CF : 0) | (rng.bool(0.5) ? PF : 0) | (rng.bool(0.5) ? ZF : 0);
      fillStack(fb, depthFor(rng, i + 1));
      fb.code.push(opc, base | i);
      return `${name} st0,${sti(i)}`;
    });
  }
  // FNSTSW AX after a compare, and SAHF: the classic branch sequence
  many(rng, out, 120, (fb) => {
    fillStack(fb, depthFor(rng, 2), cmpPair(rng));
    const [b0, b1] = rng.pick([[0xd8, 0xd1], [0xdd, 0xe1], [0xde, 0xd9], [0xda, 0xe9]]);
    const sahf = rng.bool(0.5);
    fb.code.push(b0, b1, 0xdf, 0xe0, ...(sahf ? [0x9e] : []));
    return `${b0 === 0xd8 ? 'fcom st1' : b0 === 0xdd ? 'fucom st1' : b0 === 0xde ? 'fcompp' : 'fucompp'}; fnstsw ax${sahf ? '; sahf' : ''}`;
  });
  return out;
}

