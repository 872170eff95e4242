// x87 transcendentals: FSIN FCOS FSINCOS FPTAN FPATAN F2XM1 FYL2X FYL2XP1.
//
// Their results are approximations on real CPUs (Intel's argument reduction
// uses a 66-bit pi), so a vector with ordinary inputs carries a tolerance:
// the host's distance from the exact value (bigref.ts), rounded up, plus 2
// ulps, so that an implementation within 1.5 ulps of the exact result or one
// reproducing the host's passes. Special inputs (zeros, infinities, NaNs,
// empty registers, unsupported encodings, out-of-range arguments) have no
// tolerance: their results are exact.
import * as F from '../../test/cpu/vector-format.ts';
import { FULL, Rng, Spec } from './lib.ts';
import { ALL_MASKED, FB, hexToX80 } from './fpstate.ts';
import { X80, randBits, x80Special } from './fp-values.ts';
import * as B from './bigref.ts';
import { EXC_MF, fillStack, finish, x87Env } from './x87-env.ts';

const J = 1n << 63n;
/** Tolerance added to the host's own error, in ulps. */
const SLACK = 2;

/** A normal number 2^e * 1.xxx with e in [lo, hi]. */
function normal(rng: Rng, lo: number, hi: number, neg = rng.bool(0.5)): X80 {
  return { se: (neg ? 0x8000 : 0) | (16383 + rng.range(lo, hi)), sig: J | randBits(rng, 63) };
}

/** The 80-bit value nearest to a BF (round to nearest, normal range only). */
function toX80(a: B.BF): X80 {
  const neg = a.m < 0n;
  const lg = B.ilog2(a);
  const scaled = B.ldexp({ m: neg ? -a.m : a.m, e: a.e }, 63 - lg);
  let sig = B.roundInt(scaled);
  let e = lg;
  if (sig >> 64n) {
    sig >>= 1n;
    e++;
  }
  return { se: (neg ? 0x8000 : 0) | (16383 + e), sig };
}

/**
 * A trig argument: mostly moderate, sometimes tiny or large, sometimes close
 * to a multiple of pi/2 (k < 2^12, relative distance 2^-40..2^-10: small
 * results, but never so close that the host's reduction error exceeds them).
 */
function trigArg(rng: Rng): X80 {
  const k = rng.int(20);
  if (k < 10) return normal(rng, -3, 2);
  if (k < 13) return normal(rng, -70, -4);
  if (k < 17) return normal(rng, 3, 62);
  const n = BigInt(rng.range(1, 1 << 12)) * (rng.bool(0.5) ? 1n : -1n);
  const x = B.mul(B.bf(n), B.ldexp(B.PI, -1));
  const d = B.ldexp(B.mul(x, B.bf(rng.bool(0.5) ? 1 : -1)), -rng.range(10, 40));
  return toX80(B.add(x, d));
}

interface Trans {
  name: string;
  op: number;
  n: number;
  /** Operands ST(0), ST(1)... for an ordinary case. */
  args: (rng: Rng) => X80[];
  /** The exact results, in the order of `regs`. */
  ref: (a: B.BF[]) => B.BF[];
  /** Stack slots of the results after the instruction. */
  regs: number[];
  /** FSIN FCOS FSINCOS FPTAN: C2=1 and nothing done for |x| >= 2^63. */
  trig?: boolean;
  /** FSINCOS FPTAN push a result. */
  pushes?: boolean;
}

const TRANS: Trans[] = [
  { name: 'fsin', trig: true, op: 0xfe, n: 130, args: (r) => [trigArg(r)], ref: ([x]) => [B.sinCos(x)[0]], regs: [0] },
  { name: 'fcos', trig: true, op: 0xff, n: 130, args: (r) => [trigArg(r)], ref: ([x]) => [B.sinCos(x)[1]], regs: [0] },
  { name: 'fsincos', trig: true, pushes: true, op: 0xfb, n: 130, args: (r) => [trigArg(r)], ref: ([x]) => B.sinCos(x).reverse(), regs: [0, 1] },
  { name: 'fptan', trig: true, pushes: true, op: 0xf2, n: 130, args: (r) => [trigArg(r)], ref: ([x]) => { const [s, c] = B.sinCos(x); return [B.div(s, c)]; }, regs: [1] },
  {
    name: 'fpatan', op: 0xf3, n: 130,
    args: (r) => { const x = normal(r, -40, 40); return [x, r.bool(0.7) ? normal(r, ((x.se & 0x7fff) - 16383) - 3, ((x.se & 0x7fff) - 16383) + 3) : normal(r, -80, 80)]; },
    ref: ([x, y]) => [B.atan2(y, x)], regs: [0],
  },
  {
    name: 'f2xm1', op: 0xf0, n: 130,
    args: (r) => [r.bool(0.06) ? { se: r.bool(0.5) ? 0xbfff : 0x3fff, sig: J } : normal(r, -70, -1)],
    ref: ([x]) => [B.exp2m1(x)], regs: [0],
  },
  {
    name: 'fyl2x', op: 0xf1, n: 130,
    args: (r) => {
      const x = r.bool(0.25) ? { se: r.pick([0x3fff, 0x3ffe]), sig: r.pick([J | BigInt(r.range(1, 1000)), ~BigInt(r.range(0, 1000)) & ((1n << 64n) - 1n)]) } // near 1
        : r.bool(0.1) ? normal(r, -16000, 16000, false) : normal(r, -70, 70, false);
      return [x, normal(r, -30, 30)];
    },
    ref: ([x, y]) => [B.div(B.mul(y, B.ln(x)), B.LN2)], regs: [0],
  },
  {
    name: 'fyl2xp1', op: 0xf9, n: 130,
    // |x| < 1 - sqrt(2)/2: exponent up to -3, or -2 with a significand below 0.29 * 4
    args: (r) => [r.bool(0.2) ? { se: (r.bool(0.5) ? 0x8000 : 0) | 0x3ffd, sig: J | (randBits(r, 63) >> 3n) } : normal(r, -70, -3), normal(r, -30, 30)],
    ref: ([x, y]) => [B.div(B.mul(y, B.ln1p(x)), B.LN2)], regs: [0],
  },
];

/** Tolerance from the host's results: its worst distance from the exact values, rounded up, plus SLACK. */
function tolerance(t: Trans, args: X80[], out: F.FpuState): number {
  const refs = t.ref(args.map(B.fromX80));
  let worst = 0;
  t.regs.forEach((slot, k) => {
    const got = hexToX80(out[F.ST_NAMES[slot]]);
    if ((got.se & 0x7fff) === 0x7fff) throw new Error(`${t.name}: the host gave a NaN or infinity for ordinary inputs`);
    // x80Near never accepts the other sign: the reference must agree with the host on it
    if (refs[k].m !== 0n && refs[k].m < 0n !== !!(got.se & 0x8000)) throw new Error(`${t.name}: the host's result has the wrong sign`);
    worst = Math.max(worst, B.ulpError(got, refs[k]));
  });
  if (!Number.isFinite(worst)) throw new Error(`${t.name}: no sensible tolerance`);
  return Math.ceil(worst) + SLACK;
}

/**
 * Special inputs mostly give exact results (zeros, infinities, NaNs, C2 for
 * out-of-range arguments), compared exactly. When one of them still yields
 * an ordinary computed value (a special beside an ordinary operand), the
 * host can be an ulp off the exact value there too: such a vector gets the
 * same tolerance as the ordinary ones, and only when the host is not
 * correctly rounded.
 */
function specialTolerance(t: Trans, args: X80[], out: F.FpuState): number {
  try {
    const tol = tolerance(t, args, out);
    return tol > SLACK ? tol : 0;
  } catch {
    return 0;
  }
}

export function gX87Trans(rng: Rng): Spec[] {
  const out: Spec[] = [];
  for (const t of TRANS) {
    const nargs = t.args(rng).length;
    // ordinary inputs, with a tolerance; precision exceptions masked (PE is not compared)
    for (let i = 0; i < t.n; i++) {
      const fb = new FB(rng);
      const args = t.args(rng);
      fb.fcw(rng.pick([0, 2, 3]), rng.int(4), rng.bool(0.85) ? ALL_MASKED : (rng.u32() & ALL_MASKED) | 0x20);
      if (rng.bool(0.5)) fb.fpu.fsw |= rng.u32() & 0x4700; // C0-C3 before
      fillStack(fb, nargs + (rng.bool(0.4) ? rng.int(8 - nargs) : 0), args);
      fb.code.push(0xd9, t.op);
      out.push(fb.spec(`${t.name} #${i}`, FULL, { allow: [EXC_MF], tolFrom: (s) => tolerance(t, args, s) }));
    }
    // special inputs: exact results
    // (the loop of many(), with a tolerance per vector)
    for (let i = 0; i < 40; i++) {
      const fb = new FB(rng);
      x87Env(fb);
      const args = t.args(rng).map((a) => (rng.bool(0.6) ? x80Special(rng) : a));
      if (t.trig && rng.bool(0.3)) args[0] = normal(rng, 63, 70); // out of range: C2=1
      const full = t.pushes && rng.bool(0.15); // stack overflow
      fillStack(fb, full ? 8 : rng.bool(0.08) ? rng.int(nargs) : nargs, args);
      fb.code.push(0xd9, t.op);
      finish(fb, out, `${t.name} (special)`, i, { tolFrom: (s) => specialTolerance(t, args, s) });
    }
  }
  return out;
}
