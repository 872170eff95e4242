// Generates the differential-conformance vectors: runs instruction snippets
// natively on this host's CPU (scripts/vectors/harness.c, 32-bit user mode)
// and writes what they did to test/fixtures/vectors/<group>.json.gz.
//
//   npm run gen:vectors                 all groups
//   npm run gen:vectors -- alu shift    only these groups
//   npm run gen:vectors -- --check      regenerate in memory and compare with the files
//
// Needs Linux on x86, gcc with -m32 support (Debian: gcc-multilib) and,
// for the vectors that use 16-bit addressing, vm.mmap_min_addr <= 0x1000
// (the default 4096 is fine; a larger value is lowered while the harness
// runs when we are root, and restored).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import * as F from '../../test/cpu/vector-format.ts';
import { FULL, Rng, Spec, hashString } from './lib.ts';
import * as G from './groups.ts';
import * as X from './groups-x87.ts';
import * as XC from './groups-x87-control.ts';
import * as XT from './groups-x87-trans.ts';
import * as SI from './groups-simd-int.ts';
import * as SF from './groups-sse-float.ts';
import * as SM from './groups-sse-move.ts';
import * as SS from './groups-sse-state.ts';
import { fxImage, parseFx } from './fpstate.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const here = fileURLToPath(new URL('.', import.meta.url));
const outDir = `${root}test/fixtures/vectors`;
const buildDir = `${root}build/vectors`;

type GroupFn = (rng: Rng, lowOk: boolean) => Spec[];
export const GROUPS: [string, GroupFn][] = [
  ['alu', G.gAlu],
  ['incdec', G.gIncDec],
  ['stack', G.gStack],
  ['mul', G.gMul],
  ['div', G.gDiv],
  ['group3', G.gGroup3],
  ['mov', G.gMov],
  ['addressing', G.gAddressing],
  ['shift', G.gShift],
  ['shld', G.gShld],
  ['bit', G.gBit],
  ['string', G.gString],
  ['bcd', G.gBcd],
  ['flags', G.gFlags],
  ['branch', G.gBranch],
  ['atomic', G.gAtomic],
  ['misc', G.gMisc],
  ['undocumented', G.gUndocumented],
  ['x87-load', X.gX87Load],
  ['x87-store', X.gX87Store],
  ['x87-arith', X.gX87Arith],
  ['x87-unary', X.gX87Unary],
  ['x87-compare', X.gX87Compare],
  ['x87-control', XC.gX87Control],
  ['x87-trans', XT.gX87Trans],
  ['mmx', SI.gMmx],
  ['sse-int', SI.gSseInt],
  ['sse-move', SM.gSseMove],
  ['sse-arith', SF.gSseArith],
  ['sse-cmp', SF.gSseCmp],
  ['sse-cvt', SF.gSseCvt],
  ['sse-rcp', SF.gSseRcp],
  ['sse-state', SS.gSseState],
];

const SIGNAMES: Record<number, string> = { 4: 'SIGILL', 5: 'SIGTRAP', 7: 'SIGBUS', 8: 'SIGFPE', 11: 'SIGSEGV', 14: 'SIGALRM' };

function buildHarness(): string {
  mkdirSync(buildDir, { recursive: true });
  const exe = `${buildDir}/harness`;
  try {
    execFileSync('gcc', ['-m32', '-static', '-no-pie', '-fno-pie', '-O2', '-Wall', '-o', exe, `${here}harness.c`, `${here}entry.S`], { stdio: 'inherit' });
  } catch {
    throw new Error('gen:vectors: cannot build the 32-bit harness: needs gcc with -m32 (Debian: apt-get install gcc-multilib)');
  }
  return exe;
}

/** Makes 0x1000 mappable if we can; returns a function that restores the setting. */
function lowerMmapMinAddr(): () => void {
  const path = '/proc/sys/vm/mmap_min_addr';
  let cur: number;
  try {
    cur = Number(readFileSync(path, 'utf8').trim());
  } catch {
    return () => {};
  }
  if (cur <= 0x1000) return () => {};
  try {
    writeFileSync(path, '4096');
    console.log(`gen:vectors: vm.mmap_min_addr lowered from ${cur} to 4096 while the harness runs`);
  } catch {
    console.warn(`gen:vectors: vm.mmap_min_addr is ${cur} and cannot be lowered: vectors using 16-bit addressing are skipped`);
    return () => {};
  }
  let done = false;
  const restore = () => {
    if (done) return;
    done = true;
    writeFileSync(path, String(cur));
  };
  process.on('exit', restore);
  return restore;
}

const REQ_FPU = 1;

function request(s: Spec): Buffer {
  const b = Buffer.alloc(48);
  b.writeUInt32LE(0x31434556, 0);
  b.writeUInt16LE(s.code.length, 4);
  b.writeUInt16LE(s.fpu ? REQ_FPU : 0, 6);
  b.writeUInt32LE(s.seed >>> 0, 8);
  for (let i = 0; i < 8; i++) b.writeUInt32LE(s.regs[i] >>> 0, 12 + 4 * i);
  b.writeUInt32LE(s.eflags >>> 0, 44);
  return Buffer.concat(s.fpu ? [b, fxImage(s.fpu), Buffer.from(s.code)] : [b, Buffer.from(s.code)]);
}

interface Native {
  signo: number;
  trapno: number;
  err: number;
  eip: number;
  eflags: number;
  regs: number[];
  runs: [number, string][];
  /** The FXSAVE image at the end (FPU requests only). */
  fx?: F.FpuState;
}

function runHarness(exe: string, specs: Spec[], args: string[] = []): { low: boolean; results: Native[] } {
  const input = Buffer.concat(specs.map(request));
  const r = spawnSync(exe, args, { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`harness failed (${r.status ?? r.signal}): ${r.stderr?.toString()}`);
  const lines = r.stdout.toString().split('\n');
  const head = /^HARNESS low=(\d)$/.exec(lines[0]);
  if (!head) throw new Error('harness: bad output header');
  const results: Native[] = [];
  for (let i = 1; i <= specs.length; i++) {
    const t = lines[i].split(' ');
    const n = t.slice(0, 14).map((x) => parseInt(x, 16) >>> 0);
    const runs: [number, string][] = t.slice(14, 14 + n[13]).map((x) => {
      const [a, h] = x.split(':');
      return [parseInt(a, 16) >>> 0, h];
    });
    const fx = specs[i - 1].fpu ? parseFx(t[14 + n[13]]) : undefined;
    results.push({ signo: n[0], trapno: n[1] | 0, err: n[2], eip: n[3], eflags: n[4], regs: n.slice(5, 13), runs, fx });
  }
  if (results.length !== specs.length) throw new Error('harness: short output');
  return { low: head[1] === '1', results };
}

function hexCode(b: number[]): string {
  return b.map((x) => x.toString(16).padStart(2, '0')).join('');
}

function toVector(s: Spec, n: Native, errors: string[]): F.Vector | null {
  let exception: number | null;
  let eip = n.eip;
  if (n.signo === 5 && n.trapno === 3) {
    exception = null;
    eip = (eip - 1) >>> 0;
    const off = eip - F.CODE_BASE;
    const onCode = off >= 0 && off < F.CODE_SIZE && (off >= s.code.length || s.code[off] === 0xcc);
    const onLow = s.usesLow && eip >= F.LOW.base && eip < F.LOW.base + F.LOW.size;
    if (!onCode && !onLow) errors.push(`${s.name}: stopped at an unexpected int3 at ${F.hex32(eip)}`);
  } else if (n.signo === 14) {
    errors.push(`${s.name}: did not finish (timeout)`);
    return null;
  } else {
    exception = n.trapno;
  }
  if (exception !== null && !(s.allow ?? []).includes(exception)) {
    errors.push(`${s.name} [${hexCode(s.code)}]: unexpected exception ${exception} (${SIGNAMES[n.signo] ?? n.signo}, err ${F.hex32(n.err)}) at ${F.hex32(eip)}`);
    return null;
  }
  if (s.expect !== undefined && s.expect !== exception) {
    errors.push(`${s.name} [${hexCode(s.code)}]: expected ${s.expect === null ? 'no exception' : 'exception ' + s.expect}, the host gave ${exception}`);
  }
  const regs = (vals: number[]) => Object.fromEntries(F.REG_NAMES.map((r, i) => [r, vals[i] >>> 0])) as Record<F.RegName, number>;
  const vin: F.InState = { ...regs(s.regs), eflags: s.eflags >>> 0 };
  if (s.fpu) vin.fpu = F.fpuDiff(s.fpu, F.FPU_BACKGROUND);
  const vout: F.OutState = { ...regs(n.regs), eflags: n.eflags >>> 0, eip: eip >>> 0 };
  if (s.fpu) vout.fpu = F.fpuDiff(n.fx!, s.fpu);
  const v: F.Vector = {
    name: s.name,
    code: hexCode(s.code),
    seed: s.seed >>> 0,
    in: vin,
    out: vout,
    flagsMask: (exception === null ? s.mask : s.excMask ?? FULL) >>> 0,
    exception,
    mem: n.runs,
  };
  if (s.ignore?.length) v.ignore = s.ignore;
  const tol = s.tolFrom ? s.tolFrom(n.fx!) : s.tol;
  if (tol) v.tol = tol;
  if (s.memIgnore?.length) v.memIgnore = s.memIgnore;
  return v;
}

/**
 * Group-wide settings written into a fixture file. sse-rcp: RCPPS/RSQRTPS
 * are table approximations on real CPUs with a relative error of at most
 * 1.5 * 2^-12 (SDM); an implementation within that bound can differ from
 * the host by up to twice as much.
 */
const GROUP_TOLERANCE: Record<string, F.GroupTolerance> = {
  'sse-rcp': { f32Rel: 3 * 2 ** -12 },
};

function serialize(group: string, vectors: F.Vector[]): Buffer {
  const body = vectors.map((v) => JSON.stringify(v)).join(',\n');
  const tol = GROUP_TOLERANCE[group] ? `"tolerance":${JSON.stringify(GROUP_TOLERANCE[group])},` : '';
  const json = `{"group":${JSON.stringify(group)},${tol}"vectors":[\n${body}\n]}\n`;
  return gzipSync(Buffer.from(json), { level: 9 });
}

function main(): void {
  const argv = process.argv.slice(2);
  const check = argv.includes('--check');
  const noLow = argv.includes('--no-low');
  const only = argv.filter((a) => !a.startsWith('--'));
  for (const g of only) if (!GROUPS.some(([n]) => n === g)) throw new Error(`unknown group ${g}`);
  if (process.arch !== 'x64' && process.arch !== 'ia32') throw new Error('gen:vectors needs an x86 host');

  const exe = buildHarness();
  const restore = noLow ? () => {} : lowerMmapMinAddr();
  const errors: string[] = [];
  let total = 0;
  let bytes = 0;
  let mismatched = 0;
  mkdirSync(outDir, { recursive: true });
  try {
    for (const [group, fn] of GROUPS) {
      if (only.length && !only.includes(group)) continue;
      const rng = new Rng(hashString('wkvm-vectors/' + group));
      let specs = fn(rng, !noLow);
      const { low, results } = runHarness(exe, specs, noLow ? ['--no-low'] : []);
      let skipped = 0;
      const vectors: F.Vector[] = [];
      const seen = new Map<string, number>();
      for (let i = 0; i < specs.length; i++) {
        if (specs[i].usesLow && !low) {
          skipped++;
          continue;
        }
        const v = toVector(specs[i], results[i], errors);
        if (!v) continue;
        const k = seen.get(v.name) ?? 0;
        seen.set(v.name, k + 1);
        if (k) v.name += ` ~${k}`;
        vectors.push(v);
      }
      specs = [];
      const gz = serialize(group, vectors);
      const file = `${outDir}/${group}.json.gz`;
      total += vectors.length;
      bytes += gz.length;
      const excs = vectors.filter((v) => v.exception !== null).length;
      let note = '';
      if (check) {
        const same = existsSync(file) && gunzipSync(readFileSync(file)).equals(gunzipSync(gz));
        if (!same) mismatched++;
        note = same ? ' (identical)' : ' (DIFFERS)';
      } else writeFileSync(file, gz);
      console.log(
        `${group.padEnd(13)} ${String(vectors.length).padStart(6)} vectors, ${String(excs).padStart(4)} with exceptions, ${(gz.length / 1024).toFixed(0).padStart(5)} KiB` +
          (skipped ? `, ${skipped} skipped (no low memory)` : '') + note,
      );
    }
  } finally {
    restore();
  }
  console.log(`total ${total} vectors, ${(bytes / 1024 / 1024).toFixed(2)} MiB gzipped`);
  if (errors.length) {
    console.error(`\n${errors.length} generator errors:`);
    for (const e of errors.slice(0, 60)) console.error('  ' + e);
    process.exit(1);
  }
  if (check && mismatched) {
    console.error(`${mismatched} group(s) differ from the fixtures on disk`);
    process.exit(1);
  }
}

main();
