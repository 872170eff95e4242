// The differential-conformance vector format, shared by the generator
// (scripts/vectors/generate.ts) and the replay test (test/cpu/vectors.test.ts).
// See scripts/vectors/README.md.

/** Where the snippet is placed; the rest of this 4 KiB page is int3 (0xCC). */
export const CODE_BASE = 0x00300000;
export const CODE_SIZE = 0x1000;

export interface Region {
  name: string;
  base: number;
  size: number;
}
/** Data and stack (typical ESP 0x00201800). */
export const MAIN: Region = { name: 'main', base: 0x00200000, size: 0x2000 };
/** Data reachable by 16-bit addressing (0x67 prefix). */
export const LOW: Region = { name: 'low', base: 0x00001000, size: 0x2000 };
export const REGIONS: readonly Region[] = [MAIN, LOW];

export const REG_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;
export type RegName = (typeof REG_NAMES)[number];

export type InState = Record<RegName | 'eflags', number> & { fpu?: FpuFields };
export type OutState = InState & { eip: number };

export interface Vector {
  name: string;
  /** Hex of the snippet, executed at CODE_BASE. */
  code: string;
  /** Seed of the memory fill of both regions. */
  seed: number;
  in: InState;
  out: OutState;
  /** EFLAGS bits compared. */
  flagsMask: number;
  /** null: ended at an int3 terminator (out.eip is the int3's address); else the exception vector. */
  exception: number | null;
  /** Maximal runs of bytes of the regions that differ from the fill after execution. */
  mem: [number, string][];
  /** Registers whose final value the SDM leaves undefined: not compared. */
  ignore?: RegName[];
  /**
   * Transcendental x87 vectors only: the ST registers may differ from
   * out.fpu by this many ulps of the 64-bit significand (x80Near), and the
   * FSW bits TOL_FSW_IGNORE (C1, PE) are not compared.
   */
  tol?: number;
  /** [address, length] ranges of memory not compared (FIP/FCS/FOP/FDP/FDS in FNSTENV/FNSAVE/FXSAVE images). */
  memIgnore?: [number, number][];
}

export interface VectorFile {
  group: string;
  /** Per-group tolerance (sse-rcp): see GroupTolerance. */
  tolerance?: GroupTolerance;
  vectors: Vector[];
}

/**
 * A group whose results are approximations on real CPUs (RCPPS, RSQRTPS...):
 * each 32-bit lane of an XMM register may differ from the recorded one by at
 * most f32Rel times its magnitude, keeping its sign; lanes holding zeros,
 * infinities, NaNs or denormals must match exactly.
 */
export interface GroupTolerance {
  f32Rel: number;
}

const f32Buf = new DataView(new ArrayBuffer(4));
function f32(bits: number): number {
  f32Buf.setUint32(0, bits >>> 0);
  return f32Buf.getFloat32(0);
}

/** Whether two XMM values match lane by lane within a GroupTolerance. */
export function xmmNear(want: Hex128, got: Hex128, t: GroupTolerance): boolean {
  for (let k = 0; k < 32; k += 8) {
    const wb = parseInt(want.slice(k, k + 8), 16), gb = parseInt(got.slice(k, k + 8), 16);
    if (wb === gb) continue;
    const normal = (b: number) => ((b >>> 23) & 0xff) !== 0 && ((b >>> 23) & 0xff) !== 0xff;
    if (!normal(wb) || !normal(gb) || (wb ^ gb) >>> 31) return false;
    const w = f32(wb), g = f32(gb);
    if (Math.abs(g - w) > t.f32Rel * Math.abs(w)) return false;
  }
  return true;
}

/** Seed of the xorshift32 stream that fills `region` for a vector's seed. */
export function regionSeed(seed: number, region: Region): number {
  const s = region === LOW ? (seed ^ 0x9e3779b9) >>> 0 : seed >>> 0;
  return s || 1;
}

/** Fills `out` (length a multiple of 4) with the xorshift32 stream from `seed` (already `|| 1`). */
export function fillXorshift(out: Uint8Array, seed: number): void {
  let x = seed >>> 0;
  for (let i = 0; i < out.length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
    out[i + 1] = (x >>> 8) & 0xff;
    out[i + 2] = (x >>> 16) & 0xff;
    out[i + 3] = x >>> 24;
  }
}

/** The initial contents of `region` for a vector's seed. */
export function regionFill(seed: number, region: Region): Uint8Array {
  const out = new Uint8Array(region.size);
  fillXorshift(out, regionSeed(seed, region));
  return out;
}

/** Maximal runs of bytes where `cur` differs from `exp`, as [address, hex]. */
export function diffRuns(base: number, cur: Uint8Array, exp: Uint8Array): [number, string][] {
  const runs: [number, string][] = [];
  let i = 0;
  while (i < cur.length) {
    if (cur[i] === exp[i]) {
      i++;
      continue;
    }
    const start = i;
    let hex = '';
    while (i < cur.length && cur[i] !== exp[i]) hex += cur[i++].toString(16).padStart(2, '0');
    runs.push([base + start, hex]);
  }
  return runs;
}

export function hex32(v: number): string {
  return '0x' + (v >>> 0).toString(16).padStart(8, '0');
}

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

// ---------------------------------------------------------------------------
// x87/MMX/SSE state (the vectors of the x87-* , mmx and sse* groups)
//
// A vector that involves the FPU has `in.fpu` and `out.fpu`: the fields of the
// FXSAVE image that matter, in FXSAVE's order. ST registers are in *stack*
// order (st0 = ST(0), as FXSAVE stores them) and `ftw` is FXSAVE's abridged
// tag byte, which is per *physical* register (bit i = Ri is not empty); an MMX
// register i is the significand of the physical Ri = ST((i - TOP) & 7).
// `in.fpu` lists the fields that differ from FPU_BACKGROUND, `out.fpu` those
// that differ from the vector's (resolved) input. Not recorded or compared:
// FOP, FIP, FCS, FDP, FDS (this host deprecates FCS/FDS, storing 0, and
// updates FDP only on some instructions: nothing an emulator should be held
// to), and MXCSR_MASK (a constant, 0xFFFF).
// ---------------------------------------------------------------------------

/** An 80-bit register as 20 hex digits: sign|exponent (4), then the 64-bit significand (16). */
export type Hex80 = string;
/** An XMM register as 32 hex digits, most significant first. */
export type Hex128 = string;

export const ST_NAMES = ['st0', 'st1', 'st2', 'st3', 'st4', 'st5', 'st6', 'st7'] as const;
export const XMM_NAMES = ['xmm0', 'xmm1', 'xmm2', 'xmm3', 'xmm4', 'xmm5', 'xmm6', 'xmm7'] as const;
export type StName = (typeof ST_NAMES)[number];
export type XmmName = (typeof XMM_NAMES)[number];

export type FpuState = { fcw: number; fsw: number; ftw: number; mxcsr: number } & Record<StName, Hex80> & Record<XmmName, Hex128>;
export type FpuFields = Partial<FpuState>;

/** Field order of in.fpu / out.fpu (FXSAVE's). */
export const FPU_FIELDS: readonly (keyof FpuState)[] = ['fcw', 'fsw', 'ftw', ...ST_NAMES, 'mxcsr', ...XMM_NAMES];

/**
 * What an FPU vector starts from unless its `in.fpu` says otherwise: FNINIT's
 * control/status/tags and the default MXCSR, with distinct non-zero register
 * contents (stN: 2^(N+1) x 1.N..., xmmN: the byte 0xcN repeated) so that a
 * write to the wrong register, or to too much of one, shows.
 */
export const FPU_BACKGROUND: FpuState = (() => {
  const s: Record<string, number | string> = { fcw: 0x037f, fsw: 0, ftw: 0, mxcsr: 0x1f80 };
  ST_NAMES.forEach((n, j) => (s[n] = (0x4000 + j).toString(16) + '8' + String(j).repeat(15)));
  XMM_NAMES.forEach((n, i) => (s[n] = (0xc0 + i).toString(16).repeat(16)));
  return s as FpuState;
})();

/** The full state: `base` overridden by the fields given. */
export function fpuResolve(fields: FpuFields | undefined, base: FpuState): FpuState {
  return { ...base, ...(fields ?? {}) };
}

/** The fields of `s` that differ from `base`, in FPU_FIELDS order. */
export function fpuDiff(s: FpuState, base: FpuState): FpuFields {
  const out: Record<string, number | string> = {};
  for (const k of FPU_FIELDS) if (s[k] !== base[k]) out[k] = s[k];
  return out as FpuFields;
}

/** TOP (FSW bits 11-13). */
export function fswTop(fsw: number): number {
  return (fsw >> 11) & 7;
}

/** Splits an 80-bit hex value into sign|exponent and significand. */
export function x80Parts(h: Hex80): { se: number; sig: bigint } {
  return { se: parseInt(h.slice(0, 4), 16), sig: BigInt('0x' + h.slice(4)) };
}

export function x80Hex(se: number, sig: bigint): Hex80 {
  return (se & 0xffff).toString(16).padStart(4, '0') + BigInt.asUintN(64, sig).toString(16).padStart(16, '0');
}

export function x128Hex(v: bigint): Hex128 {
  return BigInt.asUintN(128, v).toString(16).padStart(32, '0');
}

/** The FSW bits a transcendental vector (one with `tol`) does not compare: C1 (rounded up) and PE. */
export const TOL_FSW_IGNORE = 0x0200 | 0x0020;

/**
 * Whether two 80-bit values are within `tol` units in the last place of the
 * 64-bit significand (the ulp of the expected value's binade). Equal
 * encodings always match; otherwise both must be finite, non-zero-exponent
 * numbers of the same sign.
 */
export function x80Near(want: Hex80, got: Hex80, tol: number): boolean {
  if (want === got) return true;
  const a = x80Parts(want), b = x80Parts(got);
  if ((a.se ^ b.se) & 0x8000) return false;
  const ea = a.se & 0x7fff, eb = b.se & 0x7fff;
  if (ea === 0x7fff || eb === 0x7fff) return false;
  // value = sig * 2^(e - 16383 - 63), denormals have e = 1 in effect
  const ua = BigInt(Math.max(ea, 1)), ub = BigInt(Math.max(eb, 1));
  const lo = ua < ub ? ua : ub;
  const diff = (a.sig << (ua - lo)) - (b.sig << (ub - lo));
  const mag = diff < 0n ? -diff : diff;
  return mag <= BigInt(tol) << (ua - lo);
}
