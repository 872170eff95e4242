// Shared pieces of the x87 groups: a random control/status environment, the
// register stack, memory operands, and how a vector is finished (an optional
// FWAIT to deliver a pending unmasked exception as #MF).
import { FULL, RM, Rng, Spec } from './lib.ts';
import { ALL_MASKED, FB, fcwDesc } from './fpstate.ts';
import { X80, x80Val } from './fp-values.ts';

export const EXC_MF = 16;

export interface EnvOpts {
  /** Probability that some exceptions are unmasked (default 0.2). */
  unmask?: number;
  /** Precision control: forced, or random (mostly 64-bit, every setting). */
  pc?: number;
}

/**
 * A random FCW (every precision and rounding control, mostly all exceptions
 * masked, sometimes the old infinity-control bit) and FSW (random C0-C3,
 * sticky flags only among the masked exceptions, so nothing is pending).
 */
export function x87Env(fb: FB, o: EnvOpts = {}): void {
  const rng = fb.rng;
  const pc = o.pc ?? (rng.bool(0.5) ? 3 : rng.bool(0.04) ? 1 : rng.pick([0, 2]));
  const masks = rng.bool(o.unmask ?? 0.2) ? rng.u32() & ALL_MASKED : ALL_MASKED;
  fb.fcw(pc, rng.int(4), masks, rng.bool(0.04) ? 0x1000 : 0);
  let fsw = fb.fpu.fsw & 0x3800;
  if (rng.bool(0.3)) fsw |= rng.u32() & masks & 0x3f;
  fsw |= rng.u32() & 0x4700; // C0 C1 C2 C3
  fb.fpu.fsw = fsw;
}

/**
 * How many registers to fill when an instruction needs `need` of them: that
 * many (or more) usually, fewer sometimes (stack underflow).
 */
export function depthFor(rng: Rng, need: number): number {
  if (need > 0 && rng.bool(0.06)) return rng.int(need);
  return Math.min(8, need + (rng.bool(0.3) ? rng.int(3) : 0));
}

/**
 * A value for a register that is not an operand: mostly simple numbers
 * (small significands keep the fixtures compressible), sometimes anything.
 */
function filler(rng: Rng): X80 {
  if (rng.bool(0.3)) return x80Val(rng);
  const sig = rng.pick([0n, 1n << 63n, 3n << 62n, 5n << 61n, 0xc90fdaa22168c235n]);
  return { se: sig ? (rng.bool(0.3) ? 0x8000 : 0) | (0x3fff + rng.range(-3, 12)) : 0, sig };
}

/** Fills the stack with `depth` values; `given[j]` (when set) becomes ST(j). */
export function fillStack(fb: FB, depth: number, given: (X80 | undefined)[] = [], top?: number): void {
  const vals: X80[] = [];
  for (let j = 0; j < depth; j++) vals.push(given[j] ?? filler(fb.rng));
  // Sometimes TOP is anywhere (registers wrap around R7 -> R0).
  fb.stack(vals, top ?? (fb.rng.bool(0.2) ? fb.rng.int(8) : undefined));
  // Empty registers keep stale contents: the popped values of earlier code.
  for (let j = depth; j < 8; j++) if (fb.rng.bool(0.3)) fb.st(j, filler(fb.rng));
}

/** A memory operand of `size` bytes, holding `bytes` if given (planted by setup stores). */
export function memOperand(fb: FB, size: number, bytes?: number[], align = 1): RM {
  const rm = align > 1 ? fb.mem({ need: size, target: (0x00200000 + fb.rng.int(0x1f00 / align) * align) >>> 0 }) : fb.mem({ need: size });
  if (bytes) fb.plant(rm.ea, bytes);
  return rm;
}

/**
 * Finishes an x87 vector: when some exception is unmasked, often appends
 * FWAIT (or FNOP, also a waiting instruction) so that an exception left
 * pending is delivered as #MF, as Linux's CR0.NE=1 makes it.
 */
export function finish(fb: FB, out: Spec[], name: string, i: number, extra: Partial<Spec> = {}): void {
  const rng = fb.rng;
  let tail = '';
  if (fb.fcwMasks !== ALL_MASKED && rng.bool(0.5)) {
    if (rng.bool(0.8)) {
      fb.code.push(0x9b);
      tail = '; fwait';
    } else {
      fb.code.push(0xd9, 0xd0);
      tail = '; fnop';
    }
  }
  out.push(fb.spec(`${name}${tail} [${fcwDesc(fb)}] #${i}`, FULL, { allow: [EXC_MF], ...extra }));
}

/** Runs `n` builders on fresh vectors with a random x87 environment. */
export function many(rng: Rng, out: Spec[], n: number, build: (fb: FB, i: number) => string, o: EnvOpts = {}, extra: Partial<Spec> = {}): void {
  for (let i = 0; i < n; i++) {
    const fb = new FB(rng);
    x87Env(fb, o);
    const name = build(fb, i);
    finish(fb, out, name, i, extra);
  }
}

export const sti = (i: number) => `st${i}`;
