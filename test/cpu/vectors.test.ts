// Differential conformance: replays the vectors recorded on a real x86 CPU
// (test/fixtures/vectors/*.json.gz, made by scripts/vectors/generate.ts)
// against the wasm core, one test per group file.
//
// VECTORS=alu,shift limits the run to some groups; VECTORS_SHOW=n lists up
// to n failures per group (default 20).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { Vcpu } from '../../src/core/Vcpu.ts';
import * as abi from '../../wasm/abi.ts';
import * as F from './vector-format.ts';

const dir = fileURLToPath(new URL('../fixtures/vectors/', import.meta.url));
const only = process.env.VECTORS ? process.env.VECTORS.split(',').map((s) => s.trim()) : null;
const SHOW = Number(process.env.VECTORS_SHOW ?? 20);
const BUDGET = 10000;

let vmPromise: Promise<Vcpu> | undefined;
function getVm(): Promise<Vcpu> {
  vmPromise ??= Vcpu.create({ ramSize: 16 << 20 });
  return vmPromise;
}

const EXIT_NAMES: Record<number, string> = {
  [abi.EXIT_NONE]: 'EXIT_NONE',
  [abi.EXIT_IO]: 'EXIT_IO',
  [abi.EXIT_MMIO]: 'EXIT_MMIO',
  [abi.EXIT_HLT]: 'EXIT_HLT',
  [abi.EXIT_IRQ_WINDOW]: 'EXIT_IRQ_WINDOW',
  [abi.EXIT_BUDGET]: 'EXIT_BUDGET',
  [abi.EXIT_SHUTDOWN]: 'EXIT_SHUTDOWN',
  [abi.EXIT_EXCEPTION]: 'EXIT_EXCEPTION',
};
const EXC_NAMES: Record<number, string> = { 0: '#DE', 1: '#DB', 3: '#BP', 4: '#OF', 5: '#BR', 6: '#UD', 7: '#NM', 8: '#DF', 10: '#TS', 11: '#NP', 12: '#SS', 13: '#GP', 14: '#PF', 16: '#MF', 17: '#AC' };
const FLAG_NAMES: [number, string][] = [
  [abi.FLAG_CF, 'CF'], [abi.FLAG_PF, 'PF'], [abi.FLAG_AF, 'AF'], [abi.FLAG_ZF, 'ZF'], [abi.FLAG_SF, 'SF'],
  [abi.FLAG_TF, 'TF'], [abi.FLAG_IF, 'IF'], [abi.FLAG_DF, 'DF'], [abi.FLAG_OF, 'OF'], [abi.FLAG_NT, 'NT'], [abi.FLAG_AC, 'AC'],
];

const h = F.hex32;
const excName = (e: number | null) => (e === null ? 'none (int3 terminator)' : `${e} ${EXC_NAMES[e] ?? ''}`.trim());
function flagList(bits: number): string {
  const names = FLAG_NAMES.filter(([b]) => bits & b).map(([, n]) => n);
  return names.length ? names.join(' ') : '-';
}

const codePage = new Uint8Array(F.CODE_SIZE);
const fillCache = new Map<string, Uint8Array>();
function fill(seed: number, region: F.Region): Uint8Array {
  // Consecutive vectors never share seeds in practice; keep the cache tiny.
  const key = `${region.name}:${seed}`;
  let f = fillCache.get(key);
  if (!f) {
    if (fillCache.size > 8) fillCache.clear();
    f = F.regionFill(seed, region);
    fillCache.set(key, f);
  }
  return f;
}

// --- x87/SSE state ------------------------------------------------------------
// V_FPU holds FXSAVE's layout with the ST registers in physical order (slot
// i = Ri, see wasm/abi.ts); the vectors hold them in stack order, as FXSAVE.

function fpuView(vm: Vcpu): [DataView, number] {
  return [new DataView(vm.memory.buffer), vm.base + abi.V_FPU];
}

function writeFpu(vm: Vcpu, s: F.FpuState): void {
  const [dv, b] = fpuView(vm);
  dv.setUint16(b + abi.FPU_FCW, s.fcw, true);
  dv.setUint16(b + abi.FPU_FSW, s.fsw, true);
  dv.setUint8(b + abi.FPU_FTW, s.ftw);
  dv.setUint8(b + abi.FPU_FTW + 1, 0);
  for (const off of [abi.FPU_FOP, abi.FPU_FCS, abi.FPU_FDS]) dv.setUint16(b + off, 0, true);
  for (const off of [abi.FPU_FIP, abi.FPU_FDP]) dv.setUint32(b + off, 0, true);
  dv.setUint32(b + abi.FPU_MXCSR, s.mxcsr, true);
  dv.setUint32(b + abi.FPU_MXCSR_MASK, abi.MXCSR_MASK_VALUE, true);
  const top = F.fswTop(s.fsw);
  F.ST_NAMES.forEach((name, j) => {
    const slot = b + abi.FPU_REGS + 16 * ((top + j) & 7);
    const { se, sig } = F.x80Parts(s[name]);
    dv.setBigUint64(slot, sig, true);
    dv.setUint16(slot + 8, se, true);
    for (let k = 10; k < 16; k++) dv.setUint8(slot + k, 0);
  });
  F.XMM_NAMES.forEach((name, i) => {
    const v = BigInt('0x' + s[name]);
    dv.setBigUint64(b + abi.FPU_XMM + 16 * i, BigInt.asUintN(64, v), true);
    dv.setBigUint64(b + abi.FPU_XMM + 16 * i + 8, v >> 64n, true);
  });
}

function readFpu(vm: Vcpu): F.FpuState {
  const [dv, b] = fpuView(vm);
  const s: Record<string, number | string> = {
    fcw: dv.getUint16(b + abi.FPU_FCW, true),
    fsw: dv.getUint16(b + abi.FPU_FSW, true),
    ftw: dv.getUint8(b + abi.FPU_FTW),
    mxcsr: dv.getUint32(b + abi.FPU_MXCSR, true),
  };
  const top = F.fswTop(s.fsw as number);
  F.ST_NAMES.forEach((name, j) => {
    const slot = b + abi.FPU_REGS + 16 * ((top + j) & 7);
    s[name] = F.x80Hex(dv.getUint16(slot + 8, true), dv.getBigUint64(slot, true));
  });
  F.XMM_NAMES.forEach((name, i) => {
    const lo = dv.getBigUint64(b + abi.FPU_XMM + 16 * i, true);
    const hi = dv.getBigUint64(b + abi.FPU_XMM + 16 * i + 8, true);
    s[name] = F.x128Hex((hi << 64n) | lo);
  });
  return s as F.FpuState;
}

const FSW_BITS: [number, string][] = [
  [0x1, 'IE'], [0x2, 'DE'], [0x4, 'ZE'], [0x8, 'OE'], [0x10, 'UE'], [0x20, 'PE'], [0x40, 'SF'], [0x80, 'ES'],
  [0x100, 'C0'], [0x200, 'C1'], [0x400, 'C2'], [0x3800, 'TOP'], [0x4000, 'C3'], [0x8000, 'B'],
];
const FCW_BITS: [number, string][] = [
  [0x1, 'IM'], [0x2, 'DM'], [0x4, 'ZM'], [0x8, 'OM'], [0x10, 'UM'], [0x20, 'PM'], [0x40, 'bit6'], [0x300, 'PC'], [0xc00, 'RC'], [0x1000, 'X'], [0xe080, 'reserved'],
];
const MXCSR_BITS: [number, string][] = [
  [0x1, 'IE'], [0x2, 'DE'], [0x4, 'ZE'], [0x8, 'OE'], [0x10, 'UE'], [0x20, 'PE'], [0x40, 'DAZ'],
  [0x80, 'IM'], [0x100, 'DM'], [0x200, 'ZM'], [0x400, 'OM'], [0x800, 'UM'], [0x1000, 'PM'], [0x6000, 'RC'], [0x8000, 'FTZ'],
];
function bitNames(bits: number, names: [number, string][]): string {
  return names.filter(([m]) => bits & m).map(([, n]) => n).join(' ') || '-';
}

/** A readable value for an 80-bit register: its class, and roughly its value. */
function describeX80(h: F.Hex80): string {
  const { se, sig } = F.x80Parts(h);
  const neg = se & 0x8000 ? '-' : '+';
  const e = se & 0x7fff;
  const j = sig >> 63n;
  const frac = sig & ((1n << 63n) - 1n);
  if (e === 0x7fff) {
    if (!j) return frac ? 'pseudo-NaN' : neg + 'pseudo-inf';
    if (!frac) return neg + 'inf';
    return sig >> 62n === 3n ? 'QNaN' : 'SNaN';
  }
  if (e === 0 && sig === 0n) return neg + '0';
  const kind = e === 0 ? (j ? 'pseudo-denormal ' : 'denormal ') : j ? '' : 'unnormal ';
  const exp = Math.max(e, 1) - 16383;
  const approx = Number(sig) / 2 ** 63;
  const v = exp > -1000 && exp < 1000 ? (approx * 2 ** exp).toPrecision(8) : `${approx.toFixed(6)}*2^${exp}`;
  return kind + neg + v;
}

function hex128Lanes(h: F.Hex128): string {
  return h.match(/.{8}/g)!.join('_');
}

/** Compares the FPU state the core left with the vector's; one line per differing field. */
function compareFpu(v: F.Vector, got: F.FpuState, groupTol?: F.GroupTolerance): string[] {
  const want = F.fpuResolve(v.out.fpu, F.fpuResolve(v.in.fpu, F.FPU_BACKGROUND));
  const diffs: string[] = [];
  const tol = v.tol ?? 0;
  const field = (name: string, w: number, g: number, names: [number, string][], ignore = 0) => {
    const bad = (w ^ g) & ~ignore & 0xffffffff;
    const h16 = (x: number) => '0x' + x.toString(16).padStart(4, '0');
    if (bad) diffs.push(`${name}: expected ${h16(w)}, got ${h16(g)} (wrong: ${bitNames(bad, names)}${ignore ? '; ' + bitNames(ignore, names) + ' not compared' : ''})`);
  };
  field('fcw', want.fcw, got.fcw, FCW_BITS);
  field('fsw', want.fsw, got.fsw, FSW_BITS, tol ? F.TOL_FSW_IGNORE : 0);
  if (want.ftw !== got.ftw) diffs.push(`ftw (abridged, bit i = Ri valid): expected ${want.ftw.toString(2).padStart(8, '0')}, got ${got.ftw.toString(2).padStart(8, '0')}`);
  const top = F.fswTop(want.fsw);
  F.ST_NAMES.forEach((name, j) => {
    if (F.x80Near(want[name], got[name], tol)) return;
    diffs.push(`${name} (R${(top + j) & 7}): expected ${want[name]} (${describeX80(want[name])}), got ${got[name]} (${describeX80(got[name])})${tol ? ` beyond ${tol} ulps` : ''}`);
  });
  field('mxcsr', want.mxcsr, got.mxcsr, MXCSR_BITS);
  for (const name of F.XMM_NAMES) {
    if (want[name] === got[name] || (groupTol && F.xmmNear(want[name], got[name], groupTol))) continue;
    diffs.push(`${name}: expected ${hex128Lanes(want[name])}, got ${hex128Lanes(got[name])}${groupTol ? ` beyond the group's relative tolerance ${groupTol.f32Rel}` : ''}`);
  }
  return diffs;
}

/**
 * The snippet's bytes split into the generator's setup stores (mov [abs32],
 * imm, which plant memory operands) and the instructions under test.
 */
function describeCode(hex: string): string {
  const b = F.hexToBytes(hex);
  let i = 0, setup = 0;
  for (;;) {
    if (b[i] === 0xc7 && b[i + 1] === 0x05) i += 10;
    else if (b[i] === 0x66 && b[i + 1] === 0xc7 && b[i + 2] === 0x05) i += 9;
    else if (b[i] === 0xc6 && b[i + 1] === 0x05) i += 7;
    else break;
    setup++;
  }
  const rest = Array.from(b.subarray(i), (x) => x.toString(16).padStart(2, '0')).join(' ');
  return setup ? `code ${hex}: ${setup} setup store(s), then ${rest}` : `code ${rest}`;
}

/** Runs one vector; returns the mismatches as "field: expected X, got Y". */
function replay(vm: Vcpu, v: F.Vector, groupTol?: F.GroupTolerance): string[] {
  vm.reset();
  vm.setFlat32(0);
  // Linux's settings: native x87 errors (NE=1: #MF, not FERR#), WAIT honours
  // TS (MP=1), FXSAVE/SSE enabled with #XM for unmasked SIMD exceptions.
  vm.setCr(0, abi.CR0_PE | abi.CR0_ET | abi.CR0_NE | abi.CR0_MP);
  vm.setCr(4, abi.CR4_OSFXSR | abi.CR4_OSXMMEXCPT);
  if (v.in.fpu) {
    writeFpu(vm, F.fpuResolve(v.in.fpu, F.FPU_BACKGROUND));
    vm.stateChanged();
  }
  for (const r of F.REGIONS) vm.writePhys(r.base, fill(v.seed, r));
  codePage.fill(0xcc);
  codePage.set(F.hexToBytes(v.code));
  vm.writePhys(F.CODE_BASE, codePage);
  F.REG_NAMES.forEach((name, i) => vm.setReg(i, v.in[name]));
  vm.eip = F.CODE_BASE;
  vm.eflags = (v.in.eflags | 0x202) >>> 0;
  vm.exceptionExitMask = 0xffffffff;

  let reason: number;
  try {
    reason = vm.run(BUDGET);
  } catch (e) {
    return [`core threw: ${(e as Error).message}`];
  }
  const diffs: string[] = [];
  if (reason !== abi.EXIT_EXCEPTION) {
    diffs.push(`exit: expected EXIT_EXCEPTION (${excName(v.exception)}), got ${EXIT_NAMES[reason] ?? reason} at eip ${h(vm.eip)}`);
  } else {
    const vec = vm.exitVector;
    const got = vec === abi.EXC_BP ? null : vec;
    if (got !== v.exception) diffs.push(`exception: expected ${excName(v.exception)}, got ${excName(got)}`);
    const eip = vec === abi.EXC_BP ? (vm.eip - 1) >>> 0 : vm.eip;
    if (eip !== v.out.eip) diffs.push(`eip: expected ${h(v.out.eip)}, got ${h(eip)}`);
  }
  F.REG_NAMES.forEach((name, i) => {
    if (v.ignore?.includes(name)) return;
    const got = vm.getReg(i) >>> 0;
    if (got !== v.out[name]) diffs.push(`${name}: expected ${h(v.out[name])}, got ${h(got)}`);
  });
  const fl = vm.eflags >>> 0;
  const bad = (fl ^ v.out.eflags) & v.flagsMask;
  if (bad) diffs.push(`eflags: expected ${h(v.out.eflags & v.flagsMask)}, got ${h(fl & v.flagsMask)} (mask ${h(v.flagsMask)}; wrong: ${flagList(bad)})`);
  if (v.in.fpu) diffs.push(...compareFpu(v, readFpu(vm), groupTol));
  for (const r of F.REGIONS) {
    const want = fill(v.seed, r).slice();
    for (const [addr, hex] of v.mem) {
      if (addr >= r.base && addr < r.base + r.size) want.set(F.hexToBytes(hex), addr - r.base);
    }
    const got = vm.readPhys(r.base, r.size);
    // Fields the vector does not compare: make the core's bytes the expected ones.
    for (const [addr, len] of v.memIgnore ?? []) {
      for (let a = addr; a < addr + len; a++) if (a >= r.base && a < r.base + r.size) want[a - r.base] = got[a - r.base];
    }
    for (let i = 0; i < r.size; i++) {
      if (got[i] === want[i]) continue;
      let end = i;
      while (end < r.size && end - i < 16 && got[end] !== want[end]) end++;
      const hx = (a: Uint8Array) => Array.from(a.subarray(i, Math.max(end, i + 1)), (b) => b.toString(16).padStart(2, '0')).join('');
      const extra = countDiffRuns(got, want, end);
      diffs.push(`mem ${h(r.base + i)}: expected ${hx(want)}, got ${hx(got)}${extra ? ` (+${extra} more differing runs in ${r.name})` : ''}`);
      break;
    }
  }
  return diffs;
}

function countDiffRuns(a: Uint8Array, b: Uint8Array, from: number): number {
  let n = 0;
  for (let i = from; i < a.length; i++) if (a[i] !== b[i] && (i === from || a[i - 1] === b[i - 1])) n++;
  return n;
}

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json.gz'))
  .sort();

test('vector fixtures are present', () => {
  assert.ok(files.length > 0, `no fixtures in ${dir} (npm run gen:vectors)`);
});

for (const file of files) {
  const group = file.replace(/\.json\.gz$/, '');
  if (only && !only.includes(group)) continue;
  test(`vectors: ${group}`, async (t) => {
    const data = JSON.parse(gunzipSync(readFileSync(dir + file)).toString('utf8')) as F.VectorFile;
    assert.equal(data.group, group);
    const vm = await getVm();
    const failures: string[] = [];
    let failed = 0;
    for (const v of data.vectors) {
      const diffs = replay(vm, v, data.tolerance);
      if (diffs.length === 0) continue;
      failed++;
      if (failures.length < SHOW) failures.push(`  ${v.name}  [${describeCode(v.code)}]\n      ${diffs.join('\n      ')}`);
    }
    const total = data.vectors.length;
    t.diagnostic(`${group}: ${total - failed}/${total} passed`);
    if (failed) {
      assert.fail(`${failed} of ${total} vectors failed in group ${group}; the first ${failures.length}:\n${failures.join('\n')}`);
    }
  });
}
