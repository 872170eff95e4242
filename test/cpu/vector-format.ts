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

export type InState = Record<RegName | 'eflags', number>;
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
}

export interface VectorFile {
  group: string;
  vectors: Vector[];
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
