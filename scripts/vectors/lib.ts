// Building blocks of the vector generator: a deterministic PRNG, the vector
// builder (registers, memory model, setup code, ModRM/SIB encoders) and the
// value distributions. The groups themselves are in groups.ts.
import * as F from '../../test/cpu/vector-format.ts';

export const CF = 0x001;
export const PF = 0x004;
export const AF = 0x010;
export const ZF = 0x040;
export const SF = 0x080;
export const DF = 0x400;
export const OF = 0x800;
export const ARITH = CF | PF | AF | ZF | SF | OF;
/** Every flag a vector may compare. */
export const FULL = ARITH | DF;

export const R8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
export const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
export const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
export const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;

export function regName(bits: number, r: number): string {
  return bits === 8 ? R8[r] : bits === 16 ? R16[r] : R32[r];
}

/** mulberry32: small, fast and deterministic. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
  /** Integer in [a, b]. */
  range(a: number, b: number): number {
    return a + this.int(b - a + 1);
  }
  bool(p = 0.5): boolean {
    return this.u32() / 4294967296 < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export function sizeMask(bits: number): number {
  return bits === 32 ? 0xffffffff : (1 << bits) - 1;
}

const EDGE: Record<number, number[]> = {
  8: [0, 1, 2, 0x7f, 0x80, 0xff, 0xfe, 0x81, 0x0f, 0x10, 0xf0, 0x09, 0x99],
  16: [0, 1, 2, 0x7fff, 0x8000, 0xffff, 0xfffe, 0x8001, 0x00ff, 0x0100, 0xff00, 0x7f, 0x80],
  32: [0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x80000001, 0xffff, 0x10000, 0x7f, 0x80, 0x8000, 0x7fff],
};

/** An operand value: edge values often, random otherwise. */
export function val(rng: Rng, bits: number): number {
  if (rng.bool(0.45)) return EDGE[bits][rng.int(EDGE[bits].length)] >>> 0;
  if (rng.bool(0.1)) return rng.int(16) >>> 0; // small
  return (rng.u32() & sizeMask(bits)) >>> 0;
}

/** Random input EFLAGS: any of CF PF AF ZF SF OF DF, and bit 1. */
export function randFlags(rng: Rng): number {
  return ((rng.u32() & FULL) | 2) >>> 0;
}

/** Background values of registers that are not operands (compressible, distinct). */
const BG = [0xa5a5a5a0, 0xc3c3c3c1, 0x5a5a5a52, 0x3c3c3c33, 0x00201800, 0x96969695, 0x69696966, 0x0f0f0f07];
export const STACK = 0x00201800;

export interface Region {
  base: number;
  size: number;
}

/** A memory operand (or a register standing in for one). */
export interface RM {
  mem: boolean;
  /** Register number when !mem. */
  reg: number;
  /** Effective address (linear) when mem. */
  ea: number;
  /** Uses 16-bit addressing: needs the 0x67 prefix. */
  a16: boolean;
  desc: string;
  /** ModRM (+SIB +displacement) bytes for a given reg field. */
  enc(regField: number): number[];
}

export function regRM(r: number, bits: number): RM {
  return { mem: false, reg: r, ea: 0, a16: false, desc: regName(bits, r), enc: (f) => [0xc0 | (f << 3) | r] };
}

export interface Spec {
  name: string;
  code: number[];
  regs: number[];
  eflags: number;
  seed: number;
  mask: number;
  excMask?: number;
  ignore?: F.RegName[];
  /** Exceptions this vector may raise (anything else is a generator bug). */
  allow?: number[];
  /** If set, the exact outcome the generator intends (checked). */
  expect?: number | null;
  usesLow: boolean;
  /** The x87/SSE state the snippet starts with (FPU vectors only: loaded with FXRSTOR, recorded after). */
  fpu?: F.FpuState;
  /** See F.Vector.tol. */
  tol?: number;
  /** Computes `tol` from the host's final FPU state (transcendentals). */
  tolFrom?: (out: F.FpuState) => number;
  /** See F.Vector.memIgnore. */
  memIgnore?: [number, number][];
}

function u32le(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
function u16le(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff];
}
export function le(v: number, bytes: number): number[] {
  return bytes === 1 ? [v & 0xff] : bytes === 2 ? u16le(v) : u32le(v);
}

function hexs(v: number): string {
  return v < 0 ? '-0x' + (-v).toString(16) : '0x' + v.toString(16);
}

function inv32(m: number): number {
  // Inverse of an odd m modulo 2^32 (Newton's iteration).
  let x = m;
  for (let i = 0; i < 5; i++) x = Math.imul(x, 2 - Math.imul(m, x));
  return x >>> 0;
}

export interface EaOpts {
  /** Bytes accessed from the EA (default 4): the EA lands in [base, base+size-need]. */
  need?: number;
  /** Region for the EA (default MAIN for 32-bit addressing, LOW for 16-bit). */
  region?: Region;
  /** Exact EA wanted (may lie outside the regions; e.g. BT with bit offsets). */
  target?: number;
  /** The EA may be anything (LEA, NOP): registers and displacement are random. */
  anywhere?: boolean;
  /** Registers not to use as base/index. */
  avoid?: number[];
  /** Force a form. */
  mod?: number;
  rm?: number;
  scale?: number;
  index?: number;
  base?: number;
  /** 16-bit addressing (0x67). */
  a16?: boolean;
  /** Probability of 16-bit addressing when not forced (default 0.12). */
  a16p?: number;
}

/** Builds one vector: input registers, flags, seed, setup code and the instruction. */
export class VB {
  regs: number[];
  /** Registers whose value an address or an implicit operand fixed. */
  locked = new Set<number>();
  eflags: number;
  seed: number;
  setup: number[] = [];
  code: number[] = [];
  usesLow = false;
  private memMain?: Uint8Array;
  private memLow?: Uint8Array;

  constructor(readonly rng: Rng) {
    this.regs = BG.slice();
    this.seed = rng.u32();
    this.eflags = randFlags(rng);
  }

  /** Sets a register and fixes it (addresses, implicit operands). */
  set(r: number, v: number): void {
    this.regs[r] = v >>> 0;
    this.locked.add(r);
  }

  /** Sets a register operand of `bits` (AH..BH for 8-bit r 4..7) unless an address fixed it. */
  setOp(bits: number, r: number, v: number): boolean {
    if (bits === 8) {
      const idx = r & 3;
      if (this.locked.has(idx)) return false;
      const sh = (r >> 2) * 8;
      this.regs[idx] = ((this.regs[idx] & ~(0xff << sh)) | ((v & 0xff) << sh)) >>> 0;
      return true;
    }
    if (this.locked.has(r)) return false;
    if (bits === 16) this.regs[r] = ((this.regs[r] & 0xffff0000) | (v & 0xffff)) >>> 0;
    else this.regs[r] = v >>> 0;
    return true;
  }

  getOp(bits: number, r: number): number {
    if (bits === 8) return (this.regs[r & 3] >>> ((r >> 2) * 8)) & 0xff;
    return (this.regs[r] & sizeMask(bits)) >>> 0;
  }

  /** Randomizes the upper bits of a register (keeps the low `bits`). */
  randUpper(r: number, bits: number): void {
    if (this.locked.has(r) || bits >= 32) return;
    const m = sizeMask(bits);
    this.regs[r] = ((this.rng.u32() & ~m) | (this.regs[r] & m)) >>> 0;
  }

  // --- memory model -------------------------------------------------------
  private region(addr: number): [Uint8Array, number] {
    if (addr >= F.MAIN.base && addr < F.MAIN.base + F.MAIN.size) {
      this.memMain ??= F.regionFill(this.seed, F.MAIN);
      return [this.memMain, addr - F.MAIN.base];
    }
    if (addr >= F.LOW.base && addr < F.LOW.base + F.LOW.size) {
      this.memLow ??= F.regionFill(this.seed, F.LOW);
      this.usesLow = true;
      return [this.memLow, addr - F.LOW.base];
    }
    throw new Error(`memory model: 0x${addr.toString(16)} is outside the regions`);
  }
  readByte(addr: number): number {
    const [m, o] = this.region(addr >>> 0);
    return m[o];
  }
  read(addr: number, n: number): number {
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = (v * 256 + this.readByte(addr + i)) >>> 0;
    return v >>> 0;
  }
  read64(addr: number): bigint {
    return (BigInt(this.read(addr + 4, 4)) << 32n) | BigInt(this.read(addr, 4));
  }

  /** Plants bytes in memory with setup instructions (mov [abs32], imm) run before the instruction. */
  plant(addr: number, bytes: number[]): void {
    let i = 0;
    while (i < bytes.length) {
      const a = (addr + i) >>> 0;
      const left = bytes.length - i;
      if (left >= 4) {
        this.setup.push(0xc7, 0x05, ...u32le(a), ...bytes.slice(i, i + 4));
        i += 4;
      } else if (left >= 2) {
        this.setup.push(0x66, 0xc7, 0x05, ...u32le(a), ...bytes.slice(i, i + 2));
        i += 2;
      } else {
        this.setup.push(0xc6, 0x05, ...u32le(a), bytes[i]);
        i += 1;
      }
    }
    for (let k = 0; k < bytes.length; k++) {
      const [m, o] = this.region(addr + k);
      m[o] = bytes[k];
    }
  }
  plantVal(addr: number, v: number, n: number): void {
    this.plant(addr, le(v, n));
  }

  // --- effective addresses -------------------------------------------------
  /** A memory operand: picks a form (or the forced one), solves register values, returns the encoding. */
  mem(o: EaOpts = {}): RM {
    for (let tries = 0; tries < 400; tries++) {
      const a16 = o.a16 ?? (o.mod === undefined && o.rm === undefined && o.target === undefined && this.rng.bool(o.a16p ?? 0.12));
      const r = a16 ? this.tryEa16(o) : this.tryEa32(o);
      if (r) {
        if (r.a16 && !o.anywhere) this.usesLow = true;
        return r;
      }
    }
    throw new Error('could not build an effective address for ' + JSON.stringify(o));
  }

  /** A register or a memory r/m operand (probability pMem of memory). */
  rm(bits: number, pMem: number, o: EaOpts = {}, reg?: number): RM {
    if (this.rng.bool(pMem)) return this.mem({ need: Math.max(bits / 8, o.need ?? 0), ...o });
    return regRM(reg ?? this.rng.int(8), bits);
  }

  private freeValue(region: Region): number {
    const k = this.rng.int(4);
    if (k === 0) return this.rng.int(0x400);
    if (k === 1) return this.rng.u32();
    if (k === 2) return (region.base + this.rng.int(region.size)) >>> 0;
    return this.rng.int(0x10000);
  }

  private tryEa32(o: EaOpts): RM | null {
    const rng = this.rng;
    const avoid = new Set(o.avoid ?? []);
    const mod = o.mod ?? rng.int(3);
    const rm = o.rm ?? rng.int(8);
    let scale = 0, index = 4, base = -1, sib = false, dispBytes = 0;
    if (rm === 4) {
      sib = true;
      scale = o.scale ?? rng.int(4);
      index = o.index ?? rng.int(8);
      base = o.base ?? rng.int(8);
      if (base === 5 && mod === 0) base = -1;
    } else if (rm === 5 && mod === 0) {
      base = -1;
    } else {
      base = rm;
    }
    dispBytes = mod === 1 ? 1 : mod === 2 ? 4 : base === -1 ? 4 : 0;
    if (base >= 0 && avoid.has(base)) return null;
    if (index !== 4 && avoid.has(index)) return null;
    // terms
    const terms = new Map<number, number>();
    if (base >= 0) terms.set(base, 1);
    if (index !== 4) terms.set(index, (terms.get(index) ?? 0) + (1 << scale));
    const region = o.region ?? F.MAIN;
    const need = o.need ?? 4;
    let disp = 0;
    let ea: number;
    if (o.anywhere) {
      for (const [reg] of terms) if (!this.locked.has(reg)) this.set(reg, rng.bool(0.5) ? rng.u32() : this.freeValue(region));
      disp = dispBytes === 1 ? rng.range(-128, 127) : dispBytes === 4 ? (rng.bool(0.5) ? rng.u32() | 0 : rng.range(-0x1000, 0x1000)) : 0;
      ea = disp;
      for (const [reg, m] of terms) ea = (ea + Math.imul(this.regs[reg], m)) >>> 0;
    } else {
      const T = o.target !== undefined ? o.target >>> 0 : (region.base + rng.int(region.size - need + 1)) >>> 0;
      const unknown = [...terms].filter(([reg]) => !this.locked.has(reg));
      // Which variable is solved: disp32, or one unknown register (prefer multiplier 1, then odd).
      let solveDisp = dispBytes === 4 && (unknown.length === 0 || rng.bool(0.3));
      let solved: [number, number] | undefined;
      if (!solveDisp && unknown.length > 0) {
        const byPref = unknown.slice().sort((a, b) => pref(a[1]) - pref(b[1]));
        const best = pref(byPref[0][1]);
        const cands = byPref.filter((u) => pref(u[1]) === best);
        solved = rng.pick(cands);
      }
      const vals = new Map<number, number>();
      for (const [reg] of terms) {
        if (this.locked.has(reg)) vals.set(reg, this.regs[reg]);
        else if (!solved || reg !== solved[0]) vals.set(reg, this.freeValue(region));
      }
      if (dispBytes === 1) {
        disp = rng.bool(0.3) ? rng.pick([0, 127, -128, -1, 1]) : rng.range(-128, 127);
      } else if (dispBytes === 4 && !solveDisp) {
        disp = rng.bool(0.5) ? rng.range(-0x800, 0x800) : rng.u32() | 0;
      }
      let rest = solveDisp ? 0 : disp;
      for (const [reg, m] of terms) if (!solved || reg !== solved[0]) rest = (rest + Math.imul(vals.get(reg)!, m)) >>> 0;
      if (solveDisp) {
        disp = (T - rest) | 0;
      } else if (solved) {
        const [reg, m] = solved;
        const want = (T - rest) >>> 0;
        let v: number;
        if (m === 1) v = want;
        else if (m & 1) v = Math.imul(want, inv32(m)) >>> 0;
        else {
          v = Math.floor(want / m);
          if (rng.bool(0.5)) v = (v + rng.int(m) * (0x100000000 / m)) >>> 0; // high bits that wrap away
        }
        vals.set(reg, v >>> 0);
      }
      ea = disp | 0;
      for (const [reg, m] of terms) ea = (ea + Math.imul(vals.get(reg)!, m)) >>> 0;
      ea >>>= 0;
      if (o.target !== undefined) {
        if (ea !== T) return null;
      } else if (ea < region.base || ea + need > region.base + region.size) return null;
      for (const [reg, v] of vals) if (!this.locked.has(reg)) this.set(reg, v);
    }
    // encoding
    const dispLe = dispBytes === 1 ? [disp & 0xff] : dispBytes === 4 ? u32le(disp >>> 0) : [];
    const sibByte = sib ? [(scale << 6) | (index << 3) | (base === -1 ? 5 : base)] : [];
    let desc = '';
    if (base >= 0) desc += R32[base];
    if (index !== 4) desc += (desc ? '+' : '') + R32[index] + (scale ? '*' + (1 << scale) : '');
    if (dispBytes) {
      const d = dispBytes === 1 ? (disp << 24) >> 24 : disp | 0;
      desc += desc ? (d < 0 ? '-' + hexs(-d) : '+' + hexs(d)) : hexs(disp >>> 0);
    }
    desc = `[${desc}]`;
    if (sib && index === 4) desc += '(sib)';
    return {
      mem: true,
      reg: -1,
      ea: ea >>> 0,
      a16: false,
      desc,
      enc: (f) => [(mod << 6) | (f << 3) | rm, ...sibByte, ...dispLe],
    };
  }

  private tryEa16(o: EaOpts): RM | null {
    const rng = this.rng;
    const avoid = new Set(o.avoid ?? []);
    const mod = o.mod ?? rng.int(3);
    const rm = o.rm ?? rng.int(8);
    const TERMS: number[][] = [[EBX, ESI], [EBX, EDI], [EBP, ESI], [EBP, EDI], [ESI], [EDI], [EBP], [EBX]];
    let regs = TERMS[rm];
    let dispBytes = mod === 1 ? 1 : mod === 2 ? 2 : 0;
    if (mod === 0 && rm === 6) {
      regs = [];
      dispBytes = 2;
    }
    for (const r of regs) if (avoid.has(r)) return null;
    const region = o.region ?? F.LOW;
    const need = o.need ?? 4;
    let disp = 0;
    let ea: number;
    if (o.anywhere) {
      for (const r of regs) if (!this.locked.has(r)) this.set(r, rng.u32());
      disp = dispBytes === 1 ? rng.range(-128, 127) : dispBytes === 2 ? rng.int(0x10000) : 0;
      ea = disp;
      for (const r of regs) ea += this.regs[r];
      ea &= 0xffff;
    } else {
      const T = o.target !== undefined ? o.target : region.base + rng.int(region.size - need + 1);
      if (T > 0xffff - need) return null;
      const unknown = regs.filter((r) => !this.locked.has(r));
      const solveDisp = dispBytes === 2 && (unknown.length === 0 || rng.bool(0.3));
      const solved = !solveDisp && unknown.length ? rng.pick(unknown) : -1;
      const lo = new Map<number, number>();
      for (const r of regs) {
        if (this.locked.has(r)) lo.set(r, this.regs[r] & 0xffff);
        else if (r !== solved) lo.set(r, rng.bool(0.5) ? rng.int(0x10000) : rng.int(0x800));
      }
      if (dispBytes === 1) disp = rng.bool(0.3) ? rng.pick([0, 127, -128, -1]) : rng.range(-128, 127);
      else if (dispBytes === 2 && !solveDisp) disp = rng.int(0x10000);
      let rest = solveDisp ? 0 : disp;
      for (const r of regs) if (r !== solved) rest += lo.get(r)!;
      if (solveDisp) disp = (T - rest) & 0xffff;
      else if (solved >= 0) lo.set(solved, (T - rest) & 0xffff);
      ea = disp;
      for (const r of regs) ea += lo.get(r)!;
      ea &= 0xffff;
      if (o.target !== undefined) {
        if (ea !== T) return null;
      } else if (ea < region.base || ea + need > region.base + region.size) return null;
      for (const [r, v] of lo) if (!this.locked.has(r)) this.set(r, ((rng.bool(0.5) ? rng.u32() : 0) & 0xffff0000) | v);
    }
    const dispLe = dispBytes === 1 ? [disp & 0xff] : dispBytes === 2 ? u16le(disp) : [];
    const NAMES = ['bx+si', 'bx+di', 'bp+si', 'bp+di', 'si', 'di', 'bp', 'bx'];
    let desc = mod === 0 && rm === 6 ? '' : NAMES[rm];
    if (dispBytes === 1) {
      const d = (disp << 24) >> 24;
      desc += d < 0 ? '-' + hexs(-d) : '+' + hexs(d);
    } else if (dispBytes === 2) desc += (desc ? '+' : '') + hexs(disp & 0xffff);
    return {
      mem: true,
      reg: -1,
      ea: ea >>> 0,
      a16: true,
      desc: `a16[${desc}]`,
      enc: (f) => [(mod << 6) | (f << 3) | rm, ...dispLe],
    };
  }

  /**
   * Emits the instruction: prefixes (in random order: 0x66 for 16-bit
   * operands, 0x67 for 16-bit addressing, optional segment override, LOCK),
   * opcode bytes, ModRM/SIB/displacement, immediate.
   */
  emit(o: { opc: number[]; bits?: number; rm?: RM; f?: number; imm?: number[]; lock?: boolean; seg?: number | null; pre?: number[]; a16?: boolean }): number[] {
    const p: number[] = [...(o.pre ?? [])];
    if (o.bits === 16) p.push(0x66);
    if (o.rm?.a16 || o.a16) p.push(0x67);
    if (o.seg) p.push(o.seg);
    if (o.lock) p.push(0xf0);
    if (p.length > 1 && this.rng.bool(0.5)) this.rng.shuffle(p);
    const bytes = [...p, ...o.opc, ...(o.rm ? o.rm.enc(o.f ?? 0) : []), ...(o.imm ?? [])];
    this.code.push(...bytes);
    return bytes;
  }

  /** A random segment override (flat: no effect) for a memory operand, or null. */
  seg(rm: RM | undefined, write: boolean, p = 0.1): number | null {
    if (!rm?.mem || !this.rng.bool(p)) return null;
    return this.rng.pick(write ? [0x26, 0x36, 0x3e] : [0x26, 0x2e, 0x36, 0x3e]);
  }

  spec(name: string, mask: number, extra: Partial<Spec> = {}): Spec {
    return {
      name,
      code: [...this.setup, ...this.code],
      regs: this.regs.slice(),
      eflags: this.eflags,
      seed: this.seed,
      mask,
      usesLow: this.usesLow,
      ...extra,
    };
  }
}

function pref(m: number): number {
  return m === 1 ? 0 : m & 1 ? 1 : 2;
}

export function segName(s: number | null): string {
  return s === null ? '' : ({ 0x26: 'es:', 0x2e: 'cs:', 0x36: 'ss:', 0x3e: 'ds:' } as Record<number, string>)[s] ?? '';
}
