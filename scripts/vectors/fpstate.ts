// The x87/SSE side of a vector: a builder (FB, a VB with an FPU state), the
// FXSAVE image the harness loads, and the parsing of the image it reports.
import * as F from '../../test/cpu/vector-format.ts';
import { Rng, Spec, VB } from './lib.ts';
import { X80 } from './fp-values.ts';

/** Bytes of the FXSAVE image exchanged with the harness (through XMM7); see harness.c FX_BYTES. */
export const FX_BYTES = 288;

export function x80ToHex(x: X80): F.Hex80 {
  return F.x80Hex(x.se, x.sig);
}
export function hexToX80(h: F.Hex80): X80 {
  return F.x80Parts(h);
}

/**
 * The state FXRSTOR actually establishes from an image: the FCW reserved
 * bits read back fixed (bit 6 set, 7 and 13-15 clear), and FSW.ES and B are
 * recomputed from the exception flags and masks (the host does both). Vectors
 * start from canonical states, so that the replay can load them verbatim.
 */
export function canonical(s: F.FpuState): F.FpuState {
  const fcw = (s.fcw & 0x1f3f) | 0x40;
  const pending = s.fsw & ~fcw & 0x3f ? 0x8080 : 0;
  return { ...s, fcw, fsw: (s.fsw & ~0x8080) | pending };
}

/** The FXSAVE image (first FX_BYTES bytes) of a state: what the harness loads with FXRSTOR. */
export function fxImage(s: F.FpuState): Buffer {
  const b = Buffer.alloc(FX_BYTES);
  b.writeUInt16LE(s.fcw, 0);
  b.writeUInt16LE(s.fsw, 2);
  b.writeUInt8(s.ftw, 4);
  b.writeUInt32LE(s.mxcsr >>> 0, 24);
  F.ST_NAMES.forEach((n, j) => {
    const { se, sig } = F.x80Parts(s[n]);
    b.writeBigUInt64LE(sig, 32 + 16 * j);
    b.writeUInt16LE(se, 40 + 16 * j);
  });
  F.XMM_NAMES.forEach((n, i) => {
    const v = BigInt('0x' + s[n]);
    b.writeBigUInt64LE(BigInt.asUintN(64, v), 160 + 16 * i);
    b.writeBigUInt64LE(v >> 64n, 168 + 16 * i);
  });
  return b;
}

/** The state in an FXSAVE image reported by the harness (hex). */
export function parseFx(hex: string): F.FpuState {
  const b = Buffer.from(hex, 'hex');
  if (b.length < FX_BYTES) throw new Error('harness: short FXSAVE image');
  const s: Record<string, number | string> = { fcw: b.readUInt16LE(0), fsw: b.readUInt16LE(2), ftw: b.readUInt8(4), mxcsr: b.readUInt32LE(24) };
  F.ST_NAMES.forEach((n, j) => (s[n] = F.x80Hex(b.readUInt16LE(40 + 16 * j), b.readBigUInt64LE(32 + 16 * j))));
  F.XMM_NAMES.forEach((n, i) => (s[n] = F.x128Hex((b.readBigUInt64LE(168 + 16 * i) << 64n) | b.readBigUInt64LE(160 + 16 * i))));
  return s as F.FpuState;
}

// FCW / MXCSR fields.
export const PC_NAMES = ['pc24', 'pc1(reserved)', 'pc53', 'pc64'];
export const RC_NAMES = ['near', 'down', 'up', 'zero'];
export const ALL_MASKED = 0x3f;

/** Vector builder with an x87/SSE state (starts from F.FPU_BACKGROUND). */
export class FB extends VB {
  fpu: F.FpuState = { ...F.FPU_BACKGROUND };

  constructor(rng: Rng) {
    super(rng);
    // The memory fill matters little here (operands are planted): a small
    // seed keeps the fixtures smaller, as 4 random bytes a vector add up.
    this.seed = (this.seed & 0xff) + 1;
  }

  get top(): number {
    return F.fswTop(this.fpu.fsw);
  }
  /** Physical register of ST(j). */
  phys(j: number): number {
    return (this.top + j) & 7;
  }

  /**
   * ST(0..n-1) = vals (tagged valid), the other registers empty. TOP is
   * (8 - n) & 7, as after n pushes onto an empty stack at TOP 0, unless given.
   */
  stack(vals: X80[], top = (8 - vals.length) & 7): void {
    this.fpu.fsw = (this.fpu.fsw & ~0x3800) | (top << 11);
    this.fpu.ftw = 0;
    vals.forEach((x, j) => {
      this.fpu[F.ST_NAMES[j]] = x80ToHex(x);
      this.fpu.ftw |= 1 << this.phys(j);
    });
  }

  /** Sets ST(j)'s contents (not its tag). */
  st(j: number, x: X80): void {
    this.fpu[F.ST_NAMES[j]] = x80ToHex(x);
  }
  getSt(j: number): X80 {
    return hexToX80(this.fpu[F.ST_NAMES[j]]);
  }
  tag(j: number, valid: boolean): void {
    const bit = 1 << this.phys(j);
    this.fpu.ftw = valid ? this.fpu.ftw | bit : this.fpu.ftw & ~bit;
  }
  isValid(j: number): boolean {
    return !!(this.fpu.ftw & (1 << this.phys(j)));
  }

  /** FCW from its fields; masks: bit set = exception masked. */
  fcw(pc: number, rc: number, masks = ALL_MASKED, extra = 0): void {
    this.fpu.fcw = (masks & 0x3f) | 0x40 | (pc << 8) | (rc << 10) | extra;
  }
  get pc(): number {
    return (this.fpu.fcw >> 8) & 3;
  }
  get rc(): number {
    return (this.fpu.fcw >> 10) & 3;
  }
  get fcwMasks(): number {
    return this.fpu.fcw & 0x3f;
  }

  /** MXCSR from its fields; masks: bit set = exception masked. */
  mxcsr(rc: number, masks = ALL_MASKED, daz = false, ftz = false, flags = 0): void {
    this.fpu.mxcsr = (flags & 0x3f) | (daz ? 0x40 : 0) | ((masks & 0x3f) << 7) | (rc << 13) | (ftz ? 0x8000 : 0);
  }

  xmm(i: number, v: bigint): void {
    this.fpu[F.XMM_NAMES[i]] = F.x128Hex(v);
  }
  getXmm(i: number): bigint {
    return BigInt('0x' + this.fpu[F.XMM_NAMES[i]]);
  }
  /** MMX register i (the significand of physical Ri), with an exponent field (0xFFFF after MMX writes). */
  mm(i: number, v: bigint, se = 0xffff): void {
    this.fpu[F.ST_NAMES[(i - this.top) & 7]] = F.x80Hex(se, v);
  }

  override spec(name: string, mask: number, extra: Partial<Spec> = {}): Spec {
    return super.spec(name, mask, { fpu: canonical(this.fpu), ...extra });
  }
}

/** A description of FCW's precision/rounding for vector names. */
export function fcwDesc(fb: FB): string {
  const m = fb.fcwMasks;
  return `${PC_NAMES[fb.pc]} ${RC_NAMES[fb.rc]}${m === ALL_MASKED ? '' : ` unmask=${(~m & 0x3f).toString(16)}`}`;
}

/** A description of MXCSR for vector names. */
export function mxcsrDesc(mx: number): string {
  const masks = (mx >> 7) & 0x3f;
  return `${RC_NAMES[(mx >> 13) & 3]}${mx & 0x40 ? ' daz' : ''}${mx & 0x8000 ? ' ftz' : ''}${masks === ALL_MASKED ? '' : ` unmask=${(~masks & 0x3f).toString(16)}`}`;
}
