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

/** Runs one vector; returns the mismatches as "field: expected X, got Y". */
function replay(vm: Vcpu, v: F.Vector): string[] {
  vm.reset();
  vm.setFlat32(0);
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
  for (const r of F.REGIONS) {
    const want = fill(v.seed, r).slice();
    for (const [addr, hex] of v.mem) {
      if (addr >= r.base && addr < r.base + r.size) want.set(F.hexToBytes(hex), addr - r.base);
    }
    const got = vm.readPhys(r.base, r.size);
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
      const diffs = replay(vm, v);
      if (diffs.length === 0) continue;
      failed++;
      if (failures.length < SHOW) failures.push(`  ${v.name}  [code ${v.code}]\n      ${diffs.join('\n      ')}`);
    }
    const total = data.vectors.length;
    t.diagnostic(`${group}: ${total - failed}/${total} passed`);
    if (failed) {
      assert.fail(`${failed} of ${total} vectors failed in group ${group}; the first ${failures.length}:\n${failures.join('\n')}`);
    }
  });
}
