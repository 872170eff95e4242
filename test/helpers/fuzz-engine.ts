// The CPU fuzzer's engine: one case = a seeded random byte stream executed
// for a bounded number of instructions in one processor mode, every exit
// serviced the way a VMM would. Used by test/cpu/fuzz.test.ts (in worker
// threads, see fuzz-worker.ts) and for replaying one case in-process.
//
// A case is a pure function of (lane, seed): guest RAM starts from the same
// background image (BACKGROUND_SEED) every time, and every random choice of
// the case comes from its own PRNG. So a failing case replays exactly.
//
// Properties checked, on every run() call:
//   - run() does not throw (no wasm trap, no abort, no JS exception);
//   - it returns a valid exit reason, the same one it stores in the exit record,
//     with a consistent exit record (port/size, MMIO only outside RAM, an
//     exception exit only for a vector in the mask, IRQ_WINDOW only when asked
//     for and ready, HLT only when halted);
//   - the instruction counter never goes back and advances by at most the
//     budget of the slice (exactly the budget on a BUDGET exit);
// and at the end of every case (after every exit when tracing):
//   - no byte of the wasm memory outside guest RAM changed, except the running
//     vCPU's own block; this includes a second vCPU's block, the machine-wide
//     block, the core's static data and the memory past the end of RAM;
//   - no read escaped RAM either: a marker planted in the unused memory
//     around RAM never shows up in guest RAM or in a register.
import * as abi from '../../wasm/abi.ts';
import { Vcpu } from '../../src/core/Vcpu.ts';

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/** Guest RAM: not a multiple of 64 KiB, so wasm memory has a tail past RAM. */
export const RAM_SIZE = 0x201000;
export const BACKGROUND_SEED = 0x5eedf00d;
/** The machine's MMIO hole (the VGA window), also fuzzed. */
export const HOLE_START = 0xa0000;
export const HOLE_END = 0xc0000;
const ROM_ALIAS_BASE = 0xfffe0000;
/** Planted in the unused memory outside RAM; no byte rotation of it may reach the guest. */
const MARKER = 0xe1c3a597;
const MARKER_VALUES = [0, 8, 16, 24].map((k) => ((MARKER >>> k) | (MARKER << (32 - k))) >>> 0);
const MARKER_ROTATIONS = MARKER_VALUES.map((v) => Buffer.from([v, v >>> 8, v >>> 16, v >>> 24]));

const ROM_ALIAS_SIZE = 0x20000;

// Guest physical layout of the "sensible" system tables.
const IVT = 0x0000;
const STUBS = 0x0800; // 256 handlers of 8 bytes: mov al,vec; out 0xE0,al; hlt; jmp $-1
const IDT = 0x1000;
const GDT = 0x1800;
const GDT_ENTRIES = 64;
const TSS = 0x2000;
const TSS_LIMIT = 0x68 + 32; // I/O bitmap for ports 0..255
const PD = 0x3000;
const PT0 = 0x4000;
const RING0_STACK = 0x9000;
/** Port the exception handler stubs write their vector to. */
export const HANDLER_PORT = 0xe0;

// GDT selectors (setFlat32 uses 0x08/0x10 and 0x1b/0x23).
const SEL_CODE32_0 = 0x08;
const SEL_DATA32_0 = 0x10;
const SEL_CODE16_0 = 0x28;
const SEL_DATA16_0 = 0x30;
const SEL_CODE16_3 = 0x38 | 3;
const SEL_DATA16_3 = 0x40 | 3;
const SEL_TSS = 0x48;

// The worker's shared status array (Int32Array), read by the main thread's watchdog.
export const ST_BEAT = 0; // incremented after every run()
export const ST_SEED = 1; // seed of the case being run
export const ST_EXITS = 2; // exits so far in the case
export const ST_LAST = 3; // last exit reason
export const ST_BUSY = 4; // 1 while a case runs
export const ST_SIZE = 8;

export const LANES = [
  'real', // from reset: far jmp at the reset vector to code in the F0000 region or low RAM
  'pm16-cpl0',
  'pm16-cpl3',
  'pm32-cpl0',
  'pm32-cpl3',
  'paged-cpl0', // flat 32-bit, identity page tables with some holes, read-only and MMIO pages
  'paged-cpl3',
  'v86',
  'paging-junk', // CR3 at random bytes: random page tables must not let accesses escape RAM
] as const;
export type Lane = (typeof LANES)[number];

/** How exceptions are handled in a case. */
type ExcMode =
  | 'exit-all' // exceptionExitMask = 0xffffffff: every exception exits
  | 'tables' // sane IVT/IDT/GDT/TSS with handler stubs that report to HANDLER_PORT
  | 'mixed' // sane tables and a random exit mask
  | 'junk'; // no tables written: whatever random bytes IDTR/IVT point at

export interface CaseOptions {
  /** Instructions to retire per case (the case also ends after maxExits exits). */
  insns: number;
  maxExits: number;
  /** Log every exit to this function (replay). */
  trace?: (line: string) => void;
  /** Called after every run() (the worker's watchdog heartbeat). */
  heartbeat?: (exits: number, reason: number) => void;
}

export interface Failure {
  lane: Lane;
  seed: number;
  kind: 'throw' | 'property' | 'memory' | 'hang';
  message: string;
  details: string;
}

export interface CaseStats {
  insns: number;
  exits: number;
  byReason: number[];
  shutdowns: number;
  handlerHits: number;
}

// ---------------------------------------------------------------------------
// PRNG: sfc32 seeded through splitmix32 (fast, deterministic, 32-bit)
// ---------------------------------------------------------------------------

function splitmix32(x: number): () => number {
  return () => {
    x = (x + 0x9e3779b9) | 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    const s = splitmix32(seed >>> 0);
    this.a = s(); this.b = s(); this.c = s(); this.d = s();
    for (let i = 0; i < 12; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** Uniform in [0, n) for n <= 2^32. */
  below(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
  chance(p: number): boolean {
    return this.u32() < p * 4294967296;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)];
  }
  fill(out: Uint8Array): Uint8Array {
    let i = 0;
    for (; i + 4 <= out.length; i += 4) {
      const v = this.u32();
      out[i] = v; out[i + 1] = v >>> 8; out[i + 2] = v >>> 16; out[i + 3] = v >>> 24;
    }
    for (; i < out.length; i++) out[i] = this.u32();
    return out;
  }
}

/** The seed of case `index` of `lane` for a base seed: distinct for every case. */
export function caseSeed(base: number, lane: Lane, index: number): number {
  const s = splitmix32((base ^ Math.imul(LANES.indexOf(lane) + 1, 0x27d4eb2f) ^ Math.imul(index, 0x165667b1)) >>> 0);
  s();
  return s();
}

// ---------------------------------------------------------------------------
// Random values
// ---------------------------------------------------------------------------

const EDGE_VALUES = [
  0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0x7fff, 0x8000, 0xfffe, 0xffff, 0x10000, 0xffff0,
  0xfffff, 0x100000, RAM_SIZE - 1, RAM_SIZE - 4, RAM_SIZE, 0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff,
];

/** A dword that is often an address of something interesting. */
function interestingDword(rng: Rng): number {
  switch (rng.below(8)) {
    case 0: case 1: return rng.u32();
    case 2: return rng.below(RAM_SIZE);
    case 3: return rng.below(0x10000);
    case 4: return rng.pick(EDGE_VALUES);
    case 5: return rng.below(16);
    case 6: return (ROM_ALIAS_BASE + rng.below(ROM_ALIAS_SIZE)) >>> 0;
    default: return (rng.pick(EDGE_VALUES) + rng.below(64) - 32) >>> 0;
  }
}

/** A dword as found in page tables: frame and flag bits, the frame often in or at the edge of RAM. */
function pageTableishDword(rng: Rng): number {
  const low = rng.u32() & 0xfff;
  switch (rng.below(10)) {
    case 0: case 1: case 2: case 3: return ((rng.below(RAM_SIZE >>> 12) << 12) | low) >>> 0;
    case 4: return (((RAM_SIZE >>> 12) - 1 - rng.below(4)) << 12 | low) >>> 0; // last pages of RAM
    case 5: return ((RAM_SIZE + rng.below(4) * 0x1000) | low) >>> 0; // just past RAM
    case 6: return ((HOLE_START + rng.below(HOLE_END - HOLE_START)) & ~0xfff | low) >>> 0;
    case 7: return ((ROM_ALIAS_BASE + rng.below(ROM_ALIAS_SIZE)) & ~0xfff | low) >>> 0;
    default: return rng.u32();
  }
}

/** The background image of guest RAM: random bytes, with many page-table/pointer-like dwords. */
export function makeBackground(): Uint8Array {
  const rng = new Rng(BACKGROUND_SEED);
  const out = new Uint8Array(RAM_SIZE);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < RAM_SIZE; i += 4) dv.setUint32(i, rng.chance(0.5) ? pageTableishDword(rng) : rng.u32(), true);
  return out;
}

// Opcodes a "structured" stream starts its instructions with: the common ones,
// so a stream does something besides decoding garbage.
const COMMON_OPS = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x08, 0x09, 0x0b, 0x21, 0x23, 0x29, 0x2b, 0x31, 0x33, 0x39, 0x3b, 0x3c, 0x3d,
  0x40, 0x41, 0x43, 0x46, 0x48, 0x4a, 0x4f, 0x50, 0x51, 0x53, 0x55, 0x58, 0x59, 0x5b, 0x5d, 0x60, 0x61, 0x68, 0x6a,
  0x70, 0x72, 0x74, 0x75, 0x7c, 0x7e, 0x80, 0x81, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d,
  0x8e, 0x8f, 0x90, 0x91, 0x98, 0x99, 0x9c, 0x9d, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xaa, 0xab, 0xac, 0xae,
  0xb0, 0xb8, 0xb9, 0xbe, 0xc0, 0xc1, 0xc2, 0xc3, 0xc6, 0xc7, 0xc8, 0xc9, 0xcc, 0xcd, 0xcf, 0xd1, 0xd3, 0xe2, 0xe3,
  0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf4, 0xf6, 0xf7, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
  0xff, 0x0f, 0x0f, 0x0f, 0x0f, 0x9a, 0xea, 0xca, 0xcb, 0x62, 0x63, 0xc4, 0xc5, 0x6c, 0x6d, 0x6e, 0x6f, 0x27, 0xd4,
  0xd7, 0xd8, 0xd9, 0xdd, 0xf1,
];
const PREFIXES = [0x66, 0x67, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0xf0];

function makeStream(rng: Rng, len: number): Uint8Array {
  const out = rng.fill(new Uint8Array(len));
  if (rng.chance(0.5)) {
    // Structured: a common opcode every few bytes, sometimes with prefixes.
    let i = 0;
    while (i < len) {
      if (rng.chance(0.15)) out[i++] = rng.pick(PREFIXES);
      if (i < len) out[i] = rng.pick(COMMON_OPS);
      i += 1 + rng.below(7);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Descriptor tables
// ---------------------------------------------------------------------------

function putDesc(ram: DataView, at: number, base: number, limit: number, access: number, flags: number): void {
  ram.setUint32(at, ((limit & 0xffff) | ((base & 0xffff) << 16)) >>> 0, true);
  ram.setUint32(at + 4, (((base >>> 16) & 0xff) | (access << 8) | (limit & 0xf0000) | (flags << 20) | (base & 0xff000000)) >>> 0, true);
}

function putGate(ram: DataView, at: number, sel: number, off: number, access: number): void {
  ram.setUint32(at, ((off & 0xffff) | (sel << 16)) >>> 0, true);
  ram.setUint32(at + 4, ((off & 0xffff0000) | (access << 8)) >>> 0, true);
}

// ---------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------

// The exit reasons are abi.ts's EXIT_* constants with small values (the
// others are exit-record offsets), so reasons added to the ABI are known here.
export const EXIT_NAMES: string[] = [];
for (const [name, value] of Object.entries(abi)) {
  if (/^EXIT_[A-Z0-9_]+$/.test(name) && typeof value === 'number' && value < 0x100) EXIT_NAMES[value] = name.slice(5);
}
const VALID_EXITS = new Set(EXIT_NAMES.flatMap((n, i) => (n && i !== abi.EXIT_NONE ? [i] : [])));

class PropertyError extends Error {}

function hex(v: number | bigint, w = 8): string {
  return v.toString(16).padStart(w, '0');
}

function hexBytes(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** Memory outside guest RAM that must never change, as named ranges. */
interface Region {
  name: string;
  start: number;
  end: number;
}

export class Harness {
  readonly vm: Vcpu;
  readonly other: Vcpu;
  private readonly background: Uint8Array;
  private readonly regions: Region[];
  private readonly snapshot: Map<Region, Uint8Array>;
  private readonly block: DataView;
  private readonly ram: DataView;

  private constructor(vm: Vcpu, other: Vcpu) {
    this.vm = vm;
    this.other = other;
    this.background = makeBackground();
    this.block = new DataView(vm.memory.buffer, vm.base, abi.VCPU_BLOCK_SIZE);
    this.ram = new DataView(vm.memory.buffer, abi.RAM_BASE, RAM_SIZE);
    const total = vm.memory.buffer.byteLength;
    const own = vm.base;
    const otherBase = other.base;
    const cut = (name: string, start: number, end: number): Region[] => (end > start ? [{ name, start, end }] : []);
    this.regions = [
      ...cut('core static data', 0, abi.GLOBAL_BLOCK),
      ...cut('machine-wide block', abi.GLOBAL_BLOCK, abi.VCPU_BLOCKS),
      ...cut('vCPU blocks before the running one', abi.VCPU_BLOCKS, own),
      ...cut('second vCPU block (index 1)', otherBase, otherBase + abi.VCPU_BLOCK_SIZE),
      ...cut('other vCPU blocks and the gap before RAM', otherBase + abi.VCPU_BLOCK_SIZE, abi.RAM_BASE),
      ...cut('wasm memory past the end of guest RAM', abi.RAM_BASE + RAM_SIZE, total),
    ];
    if (own + abi.VCPU_BLOCK_SIZE !== otherBase) throw new Error('expected the second vCPU block right after the first');
    this.snapshot = new Map();
  }

  static async create(): Promise<Harness> {
    const vm = await Vcpu.create({ ramSize: RAM_SIZE });
    const other = await Vcpu.create({ ramSize: RAM_SIZE, memory: vm.memory, index: 1 });
    // An MMIO hole inside RAM (the VGA window), as the PC machine has.
    const g = new DataView(vm.memory.buffer, abi.GLOBAL_BLOCK, 0x100);
    g.setUint32(abi.G_MMIO_HOLE_START, HOLE_START, true);
    g.setUint32(abi.G_MMIO_HOLE_END, HOLE_END, true);
    // The second vCPU gets a state of its own, then is never run.
    other.setFlat32(3);
    other.setReg(abi.REG_EAX, 0x12345678);
    other.eip = 0xdeadbeef;
    const h = new Harness(vm, other);
    h.plantMarker();
    h.takeSnapshot();
    return h;
  }

  /**
   * Fills the memory outside RAM that nothing uses (the vCPU blocks after the
   * second one, the gap before RAM, the tail after it) with MARKER, so that a
   * read escaping RAM shows up: the marker must never appear in guest RAM or
   * in a register.
   */
  private plantMarker(): void {
    const total = this.vm.memory.buffer.byteLength;
    const dv = new DataView(this.vm.memory.buffer);
    const fill = (start: number, end: number) => {
      for (let a = start; a + 4 <= end; a += 4) dv.setUint32(a, MARKER, true);
    };
    fill(this.other.base + abi.VCPU_BLOCK_SIZE, abi.RAM_BASE);
    fill(abi.RAM_BASE + RAM_SIZE, total);
  }

  /** Returns a description of core memory that reached the guest, or undefined. */
  checkLeak(): string | undefined {
    const ram = Buffer.from(this.vm.memory.buffer, abi.RAM_BASE, RAM_SIZE);
    const bg = Buffer.from(this.background.buffer, this.background.byteOffset, RAM_SIZE);
    for (const pat of MARKER_ROTATIONS) {
      for (let i = ram.indexOf(pat); i >= 0; i = ram.indexOf(pat, i + 1)) {
        if (!bg.subarray(i, i + 4).equals(pat)) {
          return `the marker planted outside guest RAM appeared in guest RAM at physical 0x${hex(i)}: a read escaped RAM`;
        }
      }
    }
    for (let r = 0; r < 8; r++) {
      const v = this.vm.getReg(r);
      if (MARKER_VALUES.includes(v)) return `the marker planted outside guest RAM appeared in register ${r}: a read escaped RAM`;
    }
    return undefined;
  }

  private takeSnapshot(): void {
    const u8 = new Uint8Array(this.vm.memory.buffer);
    for (const r of this.regions) this.snapshot.set(r, u8.slice(r.start, r.end));
  }

  /** Returns a description of the first change outside guest RAM, or undefined. */
  checkMemory(): string | undefined {
    const buf = this.vm.memory.buffer;
    for (const r of this.regions) {
      const now = Buffer.from(buf, r.start, r.end - r.start);
      const was = this.snapshot.get(r)!;
      if (now.equals(was)) continue;
      let i = 0;
      while (i < was.length && was[i] === now[i]) i++;
      let n = 0;
      for (let j = i; j < was.length; j++) if (was[j] !== now[j]) n++;
      const at = r.start + i;
      return `${r.name} changed: ${n} byte(s), first at wasm address 0x${hex(at)} ` +
        `(0x${hex(was[i], 2)} -> 0x${hex(now[i], 2)}; RAM is [0x${hex(abi.RAM_BASE)}, 0x${hex(abi.RAM_BASE + RAM_SIZE)}))`;
    }
    return undefined;
  }

  /** Puts the memory back as the snapshot had it (after a reported failure). */
  restoreMemory(): void {
    const u8 = new Uint8Array(this.vm.memory.buffer);
    for (const r of this.regions) u8.set(this.snapshot.get(r)!, r.start);
  }

  runCase(lane: Lane, seed: number, opts: CaseOptions): { failure?: Failure; stats: CaseStats } {
    const c = new Case(this, lane, seed, opts);
    const stats = c.stats;
    try {
      c.run();
    } catch (e) {
      const kind = e instanceof PropertyError ? 'property' : 'throw';
      const message = e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
      let details = c.describe();
      if (!(e instanceof PropertyError) && e instanceof Error && e.stack) details += `\n${e.stack.split('\n').slice(0, 6).join('\n')}`;
      this.restoreMemory();
      return { failure: { lane, seed, kind, message, details }, stats };
    }
    const bad = this.checkMemory() ?? this.checkLeak();
    if (bad) {
      const details = c.describe();
      this.restoreMemory();
      return { failure: { lane, seed, kind: 'memory', message: bad, details }, stats };
    }
    return { stats };
  }

  // --- helpers used by Case ---------------------------------------------------
  restoreRam(): void {
    new Uint8Array(this.vm.memory.buffer, abi.RAM_BASE, RAM_SIZE).set(this.background);
  }
  ramView(): DataView {
    return this.ram;
  }
  blockView(): DataView {
    return this.block;
  }
}

interface ExitRecord {
  r: number;
  slice: number;
  before: bigint;
  after: bigint;
  cs: number;
  eip: number;
  port: number;
  addr: number;
  size: number;
  write: boolean;
  data: bigint;
  vector: number;
  error: number;
}

function formatExit(e: ExitRecord): string {
  let line = `${EXIT_NAMES[e.r] ?? e.r} after run(${e.slice}): icount ${e.before}->${e.after} CS:EIP ${hex(e.cs, 4)}:${hex(e.eip)}`;
  if (e.r === abi.EXIT_IO) line += ` port 0x${hex(e.port, 4)} size ${e.size} ${e.write ? `write 0x${hex(e.data & 0xffffffffn)}` : 'read'}`;
  if (e.r === abi.EXIT_MMIO) line += ` addr 0x${hex(e.addr)} size ${e.size} ${e.write ? `write 0x${hex(e.data, 16)}` : 'read'}`;
  if (e.r === abi.EXIT_EXCEPTION) line += ` vector ${e.vector} error 0x${hex(e.error)}`;
  return line;
}

class Case {
  readonly stats: CaseStats = { insns: 0, exits: 0, byReason: new Array(EXIT_NAMES.length).fill(0), shutdowns: 0, handlerHits: 0 };
  private readonly vm: Vcpu;
  private readonly rng: Rng;
  private readonly exc: ExcMode;
  private readonly cpl: number;
  private readonly ram: DataView;
  private readonly block: DataView;
  private mask = 0;
  private streamAt = 0;
  private stream: Uint8Array = new Uint8Array(0);
  private curAt = 0;
  private cur: Uint8Array = new Uint8Array(0);
  private streams = 0;
  private irqWindowAsked = false;
  private recent: ExitRecord[] = [];

  constructor(private readonly h: Harness, readonly lane: Lane, readonly seed: number, private readonly opts: CaseOptions) {
    this.vm = h.vm;
    this.rng = new Rng(seed);
    this.ram = h.ramView();
    this.block = h.blockView();
    this.exc = this.rng.pick<ExcMode>(['exit-all', 'tables', 'tables', 'mixed', 'junk']);
    this.cpl = lane.endsWith('cpl3') || lane === 'v86' ? 3 : lane === 'paging-junk' ? this.rng.pick([0, 3]) : 0;
  }

  private fail(msg: string): never {
    throw new PropertyError(msg);
  }

  /** Remembers an exit (formatted only if the case fails, or when tracing). */
  private log(rec: ExitRecord): void {
    this.recent.push(rec);
    if (this.recent.length > 24) this.recent.shift();
    if (this.opts.trace) this.opts.trace(formatExit(rec));
  }

  describe(): string {
    const vm = this.vm;
    const cs = vm.getSeg(abi.SEG_CS);
    const lines = [
      `mode: ${this.lane}, exceptions: ${this.exc}, exit mask 0x${hex(this.mask)}, streams run: ${this.streams}`,
      `first stream at physical 0x${hex(this.streamAt)} (${this.stream.length} bytes): ${hexBytes(this.stream.subarray(0, 48))}${this.stream.length > 48 ? ' ...' : ''}`,
    ];
    if (this.streams > 1) {
      lines.push(`current stream (#${this.streams}) at physical 0x${hex(this.curAt)} (${this.cur.length} bytes): ${hexBytes(this.cur.subarray(0, 48))}${this.cur.length > 48 ? ' ...' : ''}`);
    }
    try {
      lines.push(
        `state now: CS=${hex(cs.sel, 4)} base=${hex(cs.base)} attr=${hex(cs.attr, 5)} EIP=${hex(vm.eip)} ` +
        `EFLAGS=${hex(vm.eflags)} CR0=${hex(vm.getCr(0))} CR3=${hex(vm.getCr(3))} CR4=${hex(vm.getCr(4))} CPL=${vm.cpl} icount=${vm.icount}`,
      );
      const lin = (cs.base + vm.eip) >>> 0;
      if (lin + 16 <= RAM_SIZE) {
        const where = lin >= HOLE_START && lin < HOLE_END ? ' (RAM under the MMIO hole: the code came from MMIO answers)' : '';
        lines.push(`bytes at CS:EIP (physical if paging is off)${where}: ${hexBytes(vm.readPhys(lin, 16))}`);
      }
    } catch (e) {
      lines.push(`(state unreadable: ${String(e)})`);
    }
    if (this.recent.length) lines.push('last exits:', ...this.recent.map((l) => `  ${formatExit(l)}`));
    return lines.join('\n');
  }

  // --- setup ---------------------------------------------------------------------

  run(): void {
    const { vm, rng } = this;
    this.h.restoreRam();
    vm.reset();
    this.setupMemory();
    this.enter(true);
    vm.exceptionExitMask = this.mask;
    let last = vm.icount;
    let redirect = false; // start a fresh stream once the pending IO/MMIO instruction has finished
    let hlts = 0;
    const insns = BigInt(this.opts.insns);
    let done = 0n;
    for (let exits = 0; exits < this.opts.maxExits && done < insns; exits++) {
      // Sometimes ask for an interrupt window, or an NMI.
      if (!this.irqWindowAsked && rng.chance(0.02)) { vm.requestIrqWindow = true; this.irqWindowAsked = true; }
      if (rng.chance(0.003)) vm.injectNmi();
      const slice = redirect ? 1 : rng.pick([1, 2, 7, 50, 100, 300, 1000, Number(insns - done)]);
      const r = vm.run(slice);
      this.stats.exits++;
      this.stats.byReason[r] = (this.stats.byReason[r] ?? 0) + 1;
      this.opts.heartbeat?.(exits, r);
      const now = vm.icount;
      this.check(r, slice, last, now);
      done += now - last;
      last = now;
      const dropStream = this.service(r);
      if (r === abi.EXIT_SHUTDOWN) {
        // Reset and go on, with the lane's mode and a fresh stream.
        this.stats.shutdowns++;
        vm.reset();
        this.enter(true);
        vm.exceptionExitMask = this.mask;
        this.irqWindowAsked = false;
        last = vm.icount;
        redirect = false;
        hlts = 0;
        continue;
      }
      if (r === abi.EXIT_HLT) hlts++; else hlts = 0;
      if (dropStream || hlts >= 3) redirect = true;
      if (redirect && r !== abi.EXIT_IO && r !== abi.EXIT_MMIO) {
        redirect = false;
        hlts = 0;
        this.enter(false);
      }
      if (this.opts.trace) {
        const bad = this.h.checkMemory();
        if (bad) this.fail(bad);
      }
    }
    this.stats.insns = Number(done);
  }

  /** Checks the properties of one run() result. */
  private check(r: number, slice: number, before: bigint, after: bigint): void {
    const vm = this.vm;
    const rec: ExitRecord = {
      r, slice, before, after, cs: vm.getSeg(abi.SEG_CS).sel, eip: vm.eip,
      port: vm.exitPort, addr: vm.exitAddr, size: vm.exitSize, write: vm.exitIsWrite, data: vm.exitData64,
      vector: vm.exitVector, error: vm.exitErrorCode,
    };
    this.log(rec);
    if (!VALID_EXITS.has(r)) this.fail(`run() returned an invalid exit reason ${r}`);
    if (vm.exitReason !== r) this.fail(`run() returned ${r} but the exit record says ${vm.exitReason}`);
    if (after < before) this.fail(`instruction counter went back: ${before} -> ${after}`);
    if (after - before > BigInt(slice)) this.fail(`run(${slice}) retired ${after - before} instructions`);
    if (r === abi.EXIT_BUDGET && after - before !== BigInt(slice)) {
      this.fail(`BUDGET exit after ${after - before} instructions of a ${slice}-instruction slice`);
    }
    switch (r) {
      case abi.EXIT_IO:
        if (vm.exitPort > 0xffff) this.fail(`IO exit for port 0x${hex(vm.exitPort)}`);
        if (![1, 2, 4].includes(vm.exitSize)) this.fail(`IO exit of size ${vm.exitSize}`);
        break;
      case abi.EXIT_MMIO: {
        const a = vm.exitAddr;
        const size = vm.exitSize;
        if (![1, 2, 4, 8].includes(size)) this.fail(`MMIO exit of size ${size}`);
        if (a < 0 || a + size > 0x100000000) this.fail(`MMIO exit at 0x${a.toString(16)} size ${size}`);
        const inRam = (p: number) => p < RAM_SIZE && !(p >= HOLE_START && p < HOLE_END);
        if (inRam(a) || inRam(a + size - 1)) this.fail(`MMIO exit for RAM address 0x${hex(a)} (size ${size})`);
        if (!vm.exitIsWrite && a >= ROM_ALIAS_BASE && a + size <= 0x100000000) this.fail(`MMIO read exit for the ROM alias at 0x${hex(a)}`);
        break;
      }
      case abi.EXIT_HLT:
        if (!vm.halted) this.fail('HLT exit but the vCPU is not halted');
        break;
      case abi.EXIT_IRQ_WINDOW:
        if (!this.irqWindowAsked) this.fail('IRQ_WINDOW exit that was not asked for');
        if (!vm.readyForIrq) this.fail('IRQ_WINDOW exit but the vCPU is not ready for an interrupt');
        break;
      case abi.EXIT_EXCEPTION:
        if (vm.exitVector >= 32 || ((this.mask >>> vm.exitVector) & 1) === 0) {
          this.fail(`EXCEPTION exit for vector ${vm.exitVector}, not in the mask 0x${hex(this.mask)}`);
        }
        break;
    }
  }

  /** Answers an exit as a VMM would; returns true to continue at a fresh stream. */
  private service(r: number): boolean {
    const { vm, rng } = this;
    switch (r) {
      case abi.EXIT_IO:
        if (!vm.exitIsWrite) vm.exitData = rng.u32();
        else if (vm.exitPort === HANDLER_PORT && vm.exitSize === 1) {
          this.stats.handlerHits++;
          return true; // an exception reached a handler stub
        }
        return false;
      case abi.EXIT_MMIO:
        if (!vm.exitIsWrite) vm.exitData64 = (BigInt(rng.u32()) << 32n) | BigInt(rng.u32());
        return false;
      case abi.EXIT_HLT:
        if (vm.readyForIrq && rng.chance(0.6)) {
          vm.injectInterrupt(rng.chance(0.8) ? 0x20 + rng.below(0xe0) : rng.below(0x20));
          return false;
        }
        if (rng.chance(0.3)) { vm.injectNmi(); return false; }
        return true;
      case abi.EXIT_IRQ_WINDOW:
        vm.injectInterrupt(rng.chance(0.9) ? 0x20 + rng.below(0xe0) : rng.below(0x20));
        vm.requestIrqWindow = false;
        this.irqWindowAsked = false;
        return false;
      case abi.EXIT_EXCEPTION:
        return true;
      case abi.EXIT_BUDGET:
        if (vm.readyForIrq && rng.chance(0.05)) vm.injectInterrupt(rng.below(0x100));
        return rng.chance(0.01);
      default:
        return false;
    }
  }

  /** Writes the case's system tables into guest RAM (the "tables"/"mixed" modes). */
  private setupMemory(): void {
    const { rng, ram } = this;
    if (this.exc === 'exit-all') this.mask = 0xffffffff;
    else if (this.exc === 'mixed') this.mask = (rng.u32() & rng.u32()) >>> 0;
    else this.mask = 0;
    const tables = this.exc === 'tables' || this.exc === 'mixed';
    if (tables) {
      for (let v = 0; v < 256; v++) {
        const at = STUBS + v * 8;
        // mov al,v; out 0xE0,al; hlt; jmp $-1 (the same bytes in 16- and 32-bit code)
        [0xb0, v, 0xe6, HANDLER_PORT, 0xf4, 0xeb, 0xfd, 0x90].forEach((b, i) => ram.setUint8(at + i, b));
        ram.setUint16(IVT + v * 4, (at - 0x800) & 0xffff, true);
        ram.setUint16(IVT + v * 4 + 2, 0x0080, true);
        // IDT: mostly 32-bit interrupt/trap gates to the ring 0 stubs; a few odd ones.
        const dpl = rng.chance(0.5) ? 3 : 0;
        const kind = rng.below(20);
        if (kind === 0) putGate(ram, IDT + v * 8, SEL_CODE32_0, at, 0x00 | 0xe); // not present
        else if (kind === 1) putGate(ram, IDT + v * 8, rng.below(GDT_ENTRIES) * 8, at, 0x80 | (dpl << 5) | rng.pick([0x5, 0x6, 0x7, 0xe, 0xf]));
        else putGate(ram, IDT + v * 8, SEL_CODE32_0, at, 0x80 | (dpl << 5) | (rng.chance(0.7) ? 0xe : 0xf));
      }
      // GDT
      for (let i = 0; i < GDT_ENTRIES; i++) {
        ram.setUint32(GDT + i * 8, rng.u32(), true); // random descriptors beyond the defined ones
        ram.setUint32(GDT + i * 8 + 4, rng.u32(), true);
      }
      ram.setBigUint64(GDT, 0n, true);
      putDesc(ram, GDT + 0x08, 0, 0xfffff, 0x9b, 0xc);
      putDesc(ram, GDT + 0x10, 0, 0xfffff, 0x93, 0xc);
      putDesc(ram, GDT + 0x18, 0, 0xfffff, 0xfb, 0xc);
      putDesc(ram, GDT + 0x20, 0, 0xfffff, 0xf3, 0xc);
      putDesc(ram, GDT + 0x28, 0x10000, 0xffff, 0x9b, 0);
      putDesc(ram, GDT + 0x30, 0x10000, 0xffff, 0x93, 0);
      putDesc(ram, GDT + 0x38, 0x10000, 0xffff, 0xfb, 0);
      putDesc(ram, GDT + 0x40, 0x10000, 0xffff, 0xf3, 0);
      putDesc(ram, GDT + SEL_TSS, TSS, TSS_LIMIT, 0x8b, 0);
      // TSS: ring 0 stack, I/O bitmap for ports 0..255 (random bits), then the terminator.
      for (let i = 0; i < 0x68; i += 4) ram.setUint32(TSS + i, 0, true);
      ram.setUint32(TSS + 4, RING0_STACK, true);
      ram.setUint32(TSS + 8, SEL_DATA32_0, true);
      ram.setUint16(TSS + 0x66, 0x68, true);
      for (let i = 0; i < 32; i++) ram.setUint8(TSS + 0x68 + i, rng.u32() & rng.u32());
      ram.setUint8(TSS + 0x68 + 32, 0xff);
    }
    if (this.lane === 'paged-cpl0' || this.lane === 'paged-cpl3' || (this.lane === 'v86' && rng.chance(0.3))) {
      this.buildPageTables();
    } else if (this.lane === 'paging-junk') {
      this.buildJunkPageTables();
    }
  }

  private pagingOn = false;
  private cr3 = 0;
  private cr4 = 0;
  private wp = false;

  private buildPageTables(): void {
    const { rng, ram } = this;
    this.pagingOn = true;
    this.cr3 = PD | (rng.chance(0.2) ? 0x18 : 0);
    this.cr4 = (rng.chance(0.5) ? abi.CR4_PSE : 0) | (rng.chance(0.3) ? abi.CR4_PGE : 0);
    this.wp = rng.chance(0.5);
    for (let i = 0; i < 1024; i++) ram.setUint32(PD + i * 4, 0, true);
    ram.setUint32(PD, PT0 | 0x7, true);
    for (let i = 0; i < 1024; i++) {
      const page = i << 12;
      let pte = page < RAM_SIZE ? page | 0x7 : 0;
      if (page >= 0x10000 && pte) {
        const k = rng.below(100);
        if (k < 5) pte = 0; // not present
        else if (k < 10) pte &= ~2; // read-only
        else if (k < 14) pte &= ~4; // supervisor
        else if (k < 16) pte = ((RAM_SIZE + rng.below(0x10000000)) & ~0xfff) | 0x7; // MMIO frame
        else if (k < 18) pte = (rng.below(RAM_SIZE) & ~0xfff) | 0x7; // aliased frame
        if (rng.chance(0.3)) pte |= 0x60; // accessed + dirty already
        if (rng.chance(0.05)) pte |= 0x100; // global
      } else if (page < 0x10000 && this.cpl === 3 && page >= 0x5000) {
        pte = page | 0x7;
      } else if (page < 0x10000) {
        pte = page | 0x3; // tables, stubs, ring 0 stack: supervisor only
      }
      ram.setUint32(PT0 + i * 4, pte >>> 0, true);
    }
    // A few more directory entries: 4 MiB pages (with PSE) and tables in random RAM.
    for (let n = rng.below(6); n > 0; n--) {
      const i = 1 + rng.below(1023);
      ram.setUint32(PD + i * 4, pageTableishDword(rng) | 1, true);
    }
  }

  private buildJunkPageTables(): void {
    const { rng, ram } = this;
    this.pagingOn = true;
    const k = rng.below(10);
    if (k < 6) this.cr3 = rng.below(RAM_SIZE >>> 12) << 12; // a random RAM page
    else if (k < 7) this.cr3 = RAM_SIZE - 0x1000; // the last page of RAM
    else if (k < 8) this.cr3 = (RAM_SIZE + rng.below(16) * 0x1000) >>> 0; // past RAM: everything reads 0
    else if (k < 9) this.cr3 = HOLE_START + rng.below(32) * 0x1000; // in the MMIO hole
    else this.cr3 = rng.u32() & ~0xfff;
    this.cr3 = (this.cr3 | (rng.u32() & 0xfff & (rng.chance(0.5) ? 0x18 : 0xfff))) >>> 0;
    this.cr4 = (rng.chance(0.6) ? abi.CR4_PSE : 0) | (rng.chance(0.3) ? abi.CR4_PGE : 0);
    this.wp = rng.chance(0.5);
    // Fresh page-table-like bytes in the directory and in a few other pages.
    const dir = (this.cr3 & ~0xfff) >>> 0;
    const pages = [dir, ...Array.from({ length: 8 }, () => rng.below(RAM_SIZE >>> 12) << 12)];
    for (const p of pages) {
      if (p + 0x1000 > RAM_SIZE) continue;
      for (let i = 0; i < 0x1000; i += 4) ram.setUint32(p + i, rng.chance(0.6) ? pageTableishDword(rng) : 0, true);
    }
  }

  /** Random general registers: often small, addresses in RAM, edge values. */
  private randomGprs(): void {
    for (let r = 0; r < 8; r++) if (r !== abi.REG_ESP) this.vm.setReg(r, interestingDword(this.rng));
  }

  private randomFlags(): number {
    const { rng } = this;
    let f = 0x2 | (rng.u32() & (abi.FLAGS_ARITH | abi.FLAG_DF));
    if (rng.chance(0.5)) f |= abi.FLAG_IF;
    if (rng.chance(0.05)) f |= abi.FLAG_TF;
    if (rng.chance(0.05)) f |= abi.FLAG_NT;
    if (rng.chance(0.05)) f |= abi.FLAG_AC;
    f |= rng.below(4) << 12; // IOPL
    return f;
  }

  /** A new random stream in guest RAM; returns its physical address. */
  private placeStream(lo: number, hi: number): number {
    const { rng } = this;
    const len = Math.min(rng.pick([16, 32, 64, 128, 256, 1024]), hi - lo);
    const at = lo + rng.below(hi - lo - len + 1);
    const bytes = makeStream(rng, len);
    this.vm.writePhys(at, bytes);
    if (this.streams === 0) {
      this.streamAt = at;
      this.stream = bytes;
    }
    this.curAt = at;
    this.cur = bytes;
    this.streams++;
    return at;
  }

  // Direct writes to the vCPU block (what KVM_SET_SREGS/KVM_SET_REGS do); one
  // stateChanged() at the end of enter() then recomputes every cache once.
  private seg(s: number, sel: number, base: number, limit: number, attr: number): void {
    const o = abi.V_SEGS + s * abi.SEG_SIZE;
    const b = this.block;
    b.setUint32(o + abi.SEG_SEL, sel & 0xffff, true);
    b.setUint32(o + abi.SEG_ATTR, attr >>> 0, true);
    b.setUint32(o + abi.SEG_LIMIT, limit >>> 0, true);
    b.setBigUint64(o + abi.SEG_BASE, BigInt(base >>> 0), true);
  }
  private cr(off: number, v: number): void {
    this.block.setBigUint64(off, BigInt(v >>> 0), true);
  }

  /**
   * Puts the vCPU in the lane's mode at a fresh random stream. `first`: right
   * after reset (real mode: through the reset vector).
   */
  private enter(first: boolean): void {
    const { vm, rng, block } = this;
    // Un-halt (a VMM sets the multiprocessing state directly, like KVM_SET_MP_STATE).
    block.setUint32(abi.V_HALTED, 0, true);
    this.randomGprs();
    const V = abi.SEG_VALID;
    switch (this.lane) {
      case 'real': {
        // Code in the BIOS region (F000:xxxx) or in low RAM.
        const bios = rng.chance(0.4);
        const at = bios ? this.placeStream(0xf0000, 0xfffe0) : this.placeStream(0x500, 0x9f000);
        const cs = bios ? 0xf000 : Math.max(0, (at >>> 4) - rng.below(0x800));
        const ip = at - cs * 16;
        let flags = 0x2;
        if (first) {
          // From reset: jmp far cs:ip at the reset vector.
          vm.writePhys(0xffff0, Uint8Array.from([0xea, ip & 0xff, ip >>> 8, cs & 0xff, cs >>> 8]));
        } else {
          this.cr(abi.V_CR0, abi.CR0_ET | abi.CR0_CD | abi.CR0_NW);
          block.setUint32(abi.V_CPL, 0, true);
          this.seg(abi.SEG_CS, cs, cs << 4, 0xffff, 0x9b | V);
          vm.eip = ip;
          flags = this.randomFlags() & ~abi.FLAG_NT;
        }
        for (const s of [abi.SEG_DS, abi.SEG_ES, abi.SEG_SS, abi.SEG_FS, abi.SEG_GS]) {
          const sel = rng.chance(0.5) ? rng.below(0xa000) : rng.below(0x10000);
          this.seg(s, sel, sel << 4, 0xffff, 0x93 | V);
        }
        vm.setReg(abi.REG_ESP, rng.chance(0.8) ? rng.below(0x10000) & ~1 : rng.u32());
        vm.stateChanged();
        vm.eflags = flags;
        break;
      }
      case 'pm16-cpl0':
      case 'pm16-cpl3': {
        this.enterProtected();
        const cpl = this.cpl;
        const at = this.placeStream(0x10000, RAM_SIZE);
        const base = (at - rng.below(Math.min(at, 0xf000))) & ~0xf;
        this.seg(abi.SEG_CS, cpl ? SEL_CODE16_3 : SEL_CODE16_0, base, 0xffff, 0x9b | (cpl << 5) | V);
        for (const s of [abi.SEG_DS, abi.SEG_ES, abi.SEG_SS, abi.SEG_FS, abi.SEG_GS]) {
          const b = rng.chance(0.7) ? rng.below(RAM_SIZE) & ~0xf : rng.u32();
          this.seg(s, cpl ? SEL_DATA16_3 : SEL_DATA16_0, b, rng.chance(0.8) ? 0xffff : rng.below(0x10000), 0x93 | (cpl << 5) | V);
        }
        vm.eip = at - base;
        vm.setReg(abi.REG_ESP, rng.below(0x10000) & ~1);
        vm.stateChanged();
        break;
      }
      case 'pm32-cpl0':
      case 'pm32-cpl3':
      case 'paged-cpl0':
      case 'paged-cpl3':
      case 'paging-junk': {
        this.enterProtected();
        let eip: number;
        if (this.lane === 'paging-junk' && rng.chance(0.5)) {
          eip = rng.u32(); // anywhere: the junk tables decide where it is
          this.placeStream(0x10000, RAM_SIZE);
        } else {
          // Sometimes right at the end of RAM, so the stream runs off into MMIO.
          eip = rng.chance(0.1) ? this.placeStream(RAM_SIZE - 64, RAM_SIZE) : this.placeStream(0x10000, RAM_SIZE);
        }
        vm.eip = eip;
        vm.setReg(abi.REG_ESP, rng.chance(0.85) ? (0x10000 + rng.below(RAM_SIZE - 0x10000)) & ~3 : interestingDword(rng));
        vm.stateChanged();
        break;
      }
      case 'v86': {
        this.enterProtected();
        const at = this.placeStream(0x500, 0x10fff0 - 4096);
        const cs = Math.max(0, (at >>> 4) - rng.below(0x800));
        this.seg(abi.SEG_CS, cs, cs << 4, 0xffff, 0xfb | V);
        for (const s of [abi.SEG_DS, abi.SEG_ES, abi.SEG_SS, abi.SEG_FS, abi.SEG_GS]) {
          const sel = rng.below(0x10000);
          this.seg(s, sel, sel << 4, 0xffff, 0xf3 | V);
        }
        vm.eip = at - cs * 16;
        vm.setReg(abi.REG_ESP, rng.below(0x10000) & ~1);
        vm.eflags = this.randomFlags() | abi.FLAG_VM;
        vm.stateChanged();
        break;
      }
    }
  }

  /**
   * Protected mode at the lane's CPL as a boot loader leaves it (what
   * Vcpu.setFlat32 does, written directly so that one stateChanged() does for
   * the whole setup): flat segments, GDTR/IDTR/TR, paging if set up.
   */
  private enterProtected(): void {
    const { rng, block } = this;
    const cpl = this.cpl;
    const V = abi.SEG_VALID;
    const code = 0x9b | (cpl << 5) | abi.ATTR_G | abi.ATTR_D | V;
    const data = 0x93 | (cpl << 5) | abi.ATTR_G | abi.ATTR_D | V;
    for (let s = 0; s < 6; s++) {
      if (s === abi.SEG_CS) this.seg(s, cpl ? 0x18 | cpl : 0x08, 0, 0xffffffff, code);
      else this.seg(s, cpl ? 0x20 | cpl : 0x10, 0, 0xffffffff, data);
    }
    block.setUint32(abi.V_CPL, cpl, true);
    const tables = this.exc === 'tables' || this.exc === 'mixed';
    // GDTR/IDTR/TR: the sane tables, or random bytes somewhere.
    const gdt = tables ? GDT : rng.below(RAM_SIZE);
    const idt = tables ? IDT : rng.chance(0.8) ? rng.below(RAM_SIZE) : rng.u32();
    block.setBigUint64(abi.V_GDTR_BASE, BigInt(gdt), true);
    block.setUint32(abi.V_GDTR_LIMIT, tables ? GDT_ENTRIES * 8 - 1 : rng.below(0x10000), true);
    block.setBigUint64(abi.V_IDTR_BASE, BigInt(idt), true);
    block.setUint32(abi.V_IDTR_LIMIT, tables ? (rng.chance(0.9) ? 0x7ff : rng.below(0x800)) : rng.below(0x10000), true);
    this.seg(abi.SEG_TR, SEL_TSS, tables ? TSS : rng.below(RAM_SIZE), tables ? TSS_LIMIT : rng.below(0x2100), 0x8b | V);
    this.seg(abi.SEG_LDTR, 0, 0, 0, 0);
    let cr0 = abi.CR0_PE | abi.CR0_ET;
    if (this.pagingOn) cr0 |= abi.CR0_PG | (this.wp ? abi.CR0_WP : 0);
    this.cr(abi.V_CR3, this.pagingOn ? this.cr3 : 0);
    this.cr(abi.V_CR4, this.pagingOn ? this.cr4 : 0);
    this.cr(abi.V_CR0, cr0);
    this.vm.eflags = this.randomFlags();
  }
}
