// Interpreter throughput: guest instructions per second of the wasm core on
// a few workloads, next to the same machine code run natively on the host in
// the same run. The ratio is the figure that matters (the host's speed and
// load change both sides alike).
//
// bench/native/workloads.asm is assembled twice with nasm: as a flat binary
// the core runs (flat 32-bit protected mode, CPL 0, paging off), and as an
// ELF object linked with bench/native/harness.c (gcc -O1 -m32), so both sides
// execute the very same instructions. The native instruction count is the
// core's count for the same call (the core counts instructions exactly, like
// the CPU's "instructions retired"), checked by comparing the results both
// sides return. REP MOVSD is reported in MB/s: the core counts a REP
// instruction once per restart, not like the CPU.
//
// Each figure is the best of 3 trials of BENCH_SECONDS (default 1.5) each.
// Nothing here asserts on time.
//
//   npm run bench                 (builds the core first)
//   BENCH_SECONDS=3 BENCH_ONLY=alu-loop,fib-calls npx tsx bench/cpu.ts
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Vcpu } from '../src/core/Vcpu.ts';
import * as abi from '../wasm/abi.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${root}build/bench`;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1.5);
const TRIALS = 3;
const ONLY = process.env.BENCH_ONLY?.split(',');

// Guest memory layout.
const RAM = 8 << 20;
const CODE = 0x100000;
const HLT_AT = 0x0ff000; // the return address: hlt
const STACK_TOP = 0x200000;
const SRC = 0x300000;
const DST = 0x310000;
const BUF_BYTES = 0x10000;

interface Workload {
  name: string;
  /** Index in the entry table and symbol in the native harness. */
  index: number;
  symbol: string;
  /** Arguments (EAX, EDX, ECX) for `reps` repetitions; 'SRC'/'DST' are the buffers. */
  args(reps: number): [number | 'SRC' | 'DST', number | 'SRC' | 'DST', number | 'SRC' | 'DST'];
  /** Bytes moved per repetition: reported in MB/s instead of MIPS. */
  bytesPerRep?: number;
}

const FIB_N = 20;
const WORKLOADS: Workload[] = [
  { name: 'alu-loop', index: 0, symbol: 'alu_loop', args: (r) => [r, 0, 0] },
  { name: 'copy-dword', index: 1, symbol: 'copy_dword', args: (r) => ['SRC', 'DST', r] },
  { name: 'copy-byte', index: 2, symbol: 'copy_byte', args: (r) => ['SRC', 'DST', r] },
  { name: 'fib-calls', index: 3, symbol: 'fib_bench', args: (r) => [FIB_N, r, 0] },
  { name: 'rep-movsd', index: 4, symbol: 'rep_movsd', args: (r) => ['SRC', 'DST', r], bytesPerRep: 0x10000 },
  { name: 'x87-loop', index: 5, symbol: 'x87_loop', args: (r) => [r, 0, 0] },
  { name: 'sse2-loop', index: 6, symbol: 'sse2_loop', args: (r) => [r, 0, 0] },
  { name: 'simd-int-loop', index: 7, symbol: 'simd_int_loop', args: (r) => [r, 0, 0] },
];

function tool(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: !r.error && r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

// --- build the workloads ---------------------------------------------------------
mkdirSync(outDir, { recursive: true });
const asm = `${root}bench/native/workloads.asm`;
if (!tool('nasm', ['-v']).ok) {
  console.error('bench: nasm is needed to assemble bench/native/workloads.asm (Debian: apt-get install nasm)');
  process.exit(1);
}
const flat = tool('nasm', ['-f', 'bin', '-DFLAT', '-o', `${outDir}/workloads.bin`, asm]);
if (!flat.ok) {
  console.error(`bench: nasm failed:\n${flat.out}`);
  process.exit(1);
}
let nativeExe: string | undefined;
let nativeWhy = '';
if (!tool('gcc', ['--version']).ok) {
  nativeWhy = 'gcc not found (Debian: apt-get install gcc gcc-multilib)';
} else {
  const obj = tool('nasm', ['-f', 'elf32', '-o', `${outDir}/workloads.o`, asm]);
  const cc = obj.ok
    ? tool('gcc', ['-O1', '-m32', '-o', `${outDir}/native`, `${root}bench/native/harness.c`, `${outDir}/workloads.o`])
    : obj;
  if (cc.ok) nativeExe = `${outDir}/native`;
  else nativeWhy = `gcc -m32 failed (32-bit support: Debian package gcc-multilib):\n${cc.out.trim()}`;
}
const image = readFileSync(`${outDir}/workloads.bin`);
const entry = (i: number) => CODE + image.readUInt32LE(i * 4);

// --- the core ----------------------------------------------------------------------
const vm = await Vcpu.create({ ramSize: RAM });
vm.writePhys(CODE, image);
vm.writePhys(HLT_AT, Uint8Array.of(0xf4));
const pattern = new Uint8Array(BUF_BYTES);
const pv = new DataView(pattern.buffer);
for (let i = 0; i < BUF_BYTES / 4; i++) pv.setUint32(i * 4, Math.imul(i, 2654435761) >>> 0, true);

interface CoreRun {
  insns: bigint;
  seconds: number;
  result: number;
  error?: string;
}

function resolveArg(a: number | 'SRC' | 'DST'): number {
  return a === 'SRC' ? SRC : a === 'DST' ? DST : a;
}

/** One call of the workload on the core, until its RET reaches the HLT. */
function runCore(w: Workload, reps: number): CoreRun {
  vm.reset();
  vm.setFlat32(0);
  // As Linux leaves them: FPU errors as #MF, FXSAVE/SSE enabled, SSE errors as #XM.
  vm.setCr(0, vm.getCr(0) | abi.CR0_NE | abi.CR0_MP);
  vm.setCr(4, abi.CR4_OSFXSR | abi.CR4_OSXMMEXCPT);
  vm.exceptionExitMask = 0xffffffff; // any exception: stop and say which
  vm.writePhys(SRC, pattern);
  const [a, b, c] = w.args(reps).map(resolveArg);
  vm.setReg(abi.REG_EAX, a);
  vm.setReg(abi.REG_EDX, b);
  vm.setReg(abi.REG_ECX, c);
  vm.setReg(abi.REG_ESP, STACK_TOP - 4);
  vm.writePhys(STACK_TOP - 4, Uint8Array.of(HLT_AT & 0xff, (HLT_AT >> 8) & 0xff, (HLT_AT >> 16) & 0xff, HLT_AT >>> 24));
  vm.eip = entry(w.index);
  const ic0 = vm.icount;
  const t0 = performance.now();
  let r: number;
  do r = vm.run(10_000_000); while (r === abi.EXIT_BUDGET);
  const seconds = (performance.now() - t0) / 1000;
  const insns = vm.icount - ic0 - 1n; // not the final HLT
  if (r === abi.EXIT_EXCEPTION) {
    const v = vm.exitVector;
    const name = v === abi.EXC_UD ? '#UD' : v === abi.EXC_GP ? '#GP' : v === abi.EXC_PF ? '#PF' : `exception ${v}`;
    return { insns, seconds, result: 0, error: `${name} at EIP 0x${vm.eip.toString(16)}` };
  }
  if (r !== abi.EXIT_HLT || vm.eip !== HLT_AT + 1) {
    return { insns, seconds, result: 0, error: `unexpected exit ${r} at EIP 0x${vm.eip.toString(16)}` };
  }
  return { insns, seconds, result: vm.getReg(abi.REG_EAX) };
}

function runNative(w: Workload, reps: number): { calls: number; seconds: number; result: number } | string {
  if (!nativeExe) return nativeWhy;
  const args = w.args(reps).map(String);
  const r = spawnSync(nativeExe, [w.symbol, ...args, String(SECONDS), String(TRIALS)], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `native harness failed: ${r.error?.message ?? r.stderr}`;
  return JSON.parse(r.stdout);
}

const fmt = (x: number) => x.toFixed(1).padStart(7);

console.log(
  `wkvm interpreter vs native: ${os.cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}, ` +
  `load average ${os.loadavg()[0].toFixed(1)} on ${os.availableParallelism()} CPUs` +
  (os.loadavg()[0] > os.availableParallelism() * 0.75 ? ' (busy host: absolute figures are low, the ratio holds better)' : ''),
);
console.log(`best of ${TRIALS} trials of ~${SECONDS} s per side and workload\n`);

for (const w of WORKLOADS) {
  if (ONLY && !ONLY.includes(w.name)) continue;
  const label = w.name.padEnd(14);
  // Warm up (the first calls also compile and tier up the core), then
  // calibrate: enough repetitions for ~SECONDS per trial.
  let reps = 1;
  let probe = runCore(w, reps);
  for (let warm = 0; warm < 2 && !probe.error; warm++) {
    reps = 1;
    do {
      probe = runCore(w, reps);
      reps *= 2;
    } while (!probe.error && probe.seconds < 0.1);
    reps /= 2;
  }
  if (probe.error) {
    console.log(`${label} skipped: ${probe.error}`);
    continue;
  }
  reps = Math.max(1, Math.round((reps * SECONDS) / probe.seconds));
  let best: CoreRun | undefined;
  for (let t = 0; t < TRIALS; t++) {
    const run = runCore(w, reps);
    if (run.error) { best = run; break; }
    if (!best || run.seconds < best.seconds) best = run;
  }
  if (!best || best.error) {
    console.log(`${label} skipped: ${best?.error}`);
    continue;
  }
  const native = runNative(w, reps);
  let line: string;
  const coreRate = w.bytesPerRep ? (w.bytesPerRep * reps) / best.seconds / 1e6 : Number(best.insns) / best.seconds / 1e6;
  const unit = w.bytesPerRep ? 'MB/s' : 'MIPS';
  line = `${label} wkvm ${fmt(coreRate)} ${unit}`;
  if (typeof native === 'string') {
    line += `   native: skipped (${native.split('\n')[0]})`;
  } else {
    const perCall = w.bytesPerRep ? w.bytesPerRep * reps : Number(best.insns);
    const nativeRate = (perCall * native.calls) / native.seconds / 1e6;
    line += `   native ${fmt(nativeRate)} ${unit}   ratio 1:${(nativeRate / coreRate).toFixed(1)}`;
    if (native.result !== best.result) line += `   WARNING: results differ (wkvm 0x${best.result.toString(16)}, native 0x${native.result.toString(16)})`;
  }
  if (!w.bytesPerRep) line += `   (${(Number(best.insns) / 1e6).toFixed(1)}M instructions per trial)`;
  console.log(line);
}
if (!nativeExe) console.log(`\nnative reference skipped: ${nativeWhy}`);
