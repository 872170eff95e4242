// Random-instruction fuzzing of the core in every processor mode.
//
// Each case runs a seeded random byte stream for a bounded number of
// instructions (test/helpers/fuzz-engine.ts describes the modes, the exits
// serviced and the properties checked): the host never throws, every run()
// returns a valid exit reason, the instruction counter is monotonic, and no
// byte of the wasm memory outside guest RAM changes except the running vCPU's
// own block (a second vCPU's block included), and no read outside RAM reaches
// the guest (a marker planted around RAM never shows up in it). The `paging-junk` mode points
// CR3 at random bytes: random page tables must not let an access escape RAM.
//
// The cases run in worker threads (two by default). A run() that never
// returns is a failure too: a worker that makes no progress for
// FUZZ_HANG_MS (a liveness guard, far above the microseconds a run() takes;
// nothing here measures speed) is stopped and its case reported.
//
// Environment:
//   FUZZ_SEED=n        base seed (default fixed: the same cases every run)
//   FUZZ_CASES=n       cases in all (default 3000, spread over the modes; 0 skips)
//   FUZZ_INSNS=n       instructions per case (default 2000)
//   FUZZ_EXITS=n       exits per case at most (default 600; half in paging-junk)
//   FUZZ_WORKERS=n     worker threads (default 2)
//   FUZZ_HANG_MS=n     liveness guard (default 4000)
//   FUZZ_REPLAY=mode:seed   run just that case (printed as the failure report
//                      shows it), printing every exit and checking memory after each
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import * as abi from '../../wasm/abi.ts';
import {
  Harness, LANES, caseSeed, RAM_SIZE, HOLE_START, HOLE_END, EXIT_NAMES, ST_BEAT, ST_SEED, ST_EXITS, ST_LAST, ST_BUSY, ST_SIZE,
  type Lane, type Failure,
} from '../helpers/fuzz-engine.ts';

const env = process.env;
const BASE_SEED = Number(env.FUZZ_SEED ?? 0x1badb002) >>> 0;
const CASES = Number(env.FUZZ_CASES ?? 3000);
const INSNS = Number(env.FUZZ_INSNS ?? 2000);
const MAX_EXITS = Number(env.FUZZ_EXITS ?? 600);
const WORKERS = Math.max(1, Number(env.FUZZ_WORKERS ?? Math.min(2, os.availableParallelism())));
const HANG_MS = Number(env.FUZZ_HANG_MS ?? 4000);
/** Exits per case: random page tables make almost every stream end in a shutdown (a reset), so fewer there. */
const exitsFor = (lane: Lane) => (lane === 'paging-junk' ? Math.ceil(MAX_EXITS / 2) : MAX_EXITS);
/** Failures reported per mode before the mode stops. */
const MAX_FAILURES = 5;
const CHUNK = 16;

function hex(v: number, w = 8): string {
  return (v >>> 0).toString(16).padStart(w, '0');
}

function replayHint(f: { lane: Lane; seed: number }): string {
  return `FUZZ_REPLAY=${f.lane}:${f.seed} node --import tsx --test test/cpu/fuzz.test.ts`;
}

function formatFailure(f: Failure): string {
  return [
    `[${f.kind}] mode ${f.lane}, seed ${f.seed} (0x${hex(f.seed)}): ${f.message}`,
    `  replay: ${replayHint(f)}`,
    ...f.details.split('\n').map((l) => `  ${l}`),
  ].join('\n');
}

// ---------------------------------------------------------------------------
// Worker pool with a liveness watchdog
// ---------------------------------------------------------------------------

interface Totals {
  cases: number;
  insns: number;
  exits: number;
  shutdowns: number;
  handlerHits: number;
  byReason: number[];
}

interface Job {
  id: number;
  lane: Lane;
  seeds: number[];
  /** Checked when the job would start: true drops it (its mode already failed enough). */
  skip: () => boolean;
  trace: boolean;
  resolve: (r: { failures: Failure[]; totals?: Totals }) => void;
}

interface Slot {
  worker: Worker;
  status: Int32Array;
  memory?: SharedArrayBuffer;
  vcpuBase: number;
  ready: Promise<void>;
  job?: Job;
  beat: number;
  beatAt: number;
}

class Pool {
  private slots: Slot[] = [];
  private queue: Job[] = [];
  private nextId = 1;
  private timer: NodeJS.Timeout;
  /** Set when a worker cannot even start: every job then fails with this. */
  private broken?: string;

  constructor(size: number) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
    this.timer = setInterval(() => this.watch(), 250);
    this.timer.unref();
  }

  private spawn(): Slot {
    const status = new Int32Array(new SharedArrayBuffer(ST_SIZE * 4));
    const worker = new Worker(new URL('../helpers/fuzz-worker.mjs', import.meta.url));
    worker.unref();
    const slot: Slot = { worker, status, vcpuBase: 0, ready: Promise.resolve(), beat: 0, beatAt: Date.now() };
    slot.ready = new Promise((resolve, reject) => {
      worker.once('message', (m: { type: 'ready'; memory: SharedArrayBuffer; base: number }) => {
        slot.memory = m.memory;
        slot.vcpuBase = m.base;
        worker.on('message', (d) => this.onDone(slot, d));
        resolve();
        this.pump();
      });
      worker.once('error', reject);
    });
    slot.ready.catch((e) => {
      this.broken ??= `a fuzzing worker failed to start: ${e instanceof Error ? e.stack ?? e.message : String(e)}`;
      this.pump();
    });
    worker.on('error', (e) => {
      if (slot.memory) this.onCrash(slot, `worker error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    });
    worker.on('exit', (code) => {
      if (slot.job) this.onCrash(slot, `worker exited with code ${code}`);
    });
    worker.postMessage({ type: 'init', status: status.buffer });
    return slot;
  }

  run(lane: Lane, seeds: number[], skip: () => boolean, trace = false): Promise<{ failures: Failure[]; totals?: Totals }> {
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, lane, seeds, skip, trace, resolve });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length && this.queue[0].skip()) this.queue.shift()!.resolve({ failures: [] });
    if (this.broken) {
      for (const job of this.queue.splice(0)) {
        job.resolve({ failures: [{ lane: job.lane, seed: job.seeds[0], kind: 'throw', message: this.broken, details: '' }] });
      }
      return;
    }
    for (const slot of this.slots) {
      while (this.queue.length && this.queue[0].skip()) this.queue.shift()!.resolve({ failures: [] });
      if (slot.job || !slot.memory || this.queue.length === 0) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.beat = Atomics.load(slot.status, ST_BEAT);
      slot.beatAt = Date.now();
      slot.worker.postMessage({ type: 'chunk', id: job.id, lane: job.lane, seeds: job.seeds, insns: INSNS, maxExits: exitsFor(job.lane), trace: job.trace });
    }
  }

  private onDone(slot: Slot, m: { type: 'done'; id: number; failures: Failure[]; totals: Totals }): void {
    const job = slot.job;
    if (!job || job.id !== m.id) return;
    slot.job = undefined;
    job.resolve({ failures: m.failures, totals: m.totals });
    this.pump();
  }

  /** A worker died or hung: report its case, replace it. */
  private onCrash(slot: Slot, why: string, kind: Failure['kind'] = 'throw'): void {
    const job = slot.job;
    slot.job = undefined;
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    void slot.worker.terminate();
    this.slots[i] = this.spawn();
    if (job) {
      const seed = Atomics.load(slot.status, ST_SEED) >>> 0;
      job.resolve({ failures: [{ lane: job.lane, seed, kind, message: why, details: this.describeStuck(slot) }] });
    }
    this.pump();
  }

  /** What a stuck worker's vCPU looks like, read from its shared memory. */
  private describeStuck(slot: Slot): string {
    const st = slot.status;
    const lines = [`exits in the case so far: ${st[ST_EXITS] + 1}, last exit ${EXIT_NAMES[st[ST_LAST]] ?? st[ST_LAST]}`];
    if (!slot.memory) return lines.join('\n');
    const dv = new DataView(slot.memory, slot.vcpuBase, abi.VCPU_BLOCK_SIZE);
    const seg = (s: number) => {
      const o = abi.V_SEGS + s * abi.SEG_SIZE;
      return { sel: dv.getUint32(o + abi.SEG_SEL, true), base: Number(dv.getBigUint64(o + abi.SEG_BASE, true)), attr: dv.getUint32(o + abi.SEG_ATTR, true) };
    };
    const cs = seg(abi.SEG_CS);
    const ss = seg(abi.SEG_SS);
    const eip = Number(dv.getBigUint64(abi.V_RIP, true));
    const gpr = (r: number) => hex(dv.getUint32(abi.V_GPR + r * 8, true));
    lines.push(
      `state when the hanging run() was entered: CS=${hex(cs.sel, 4)} base=${hex(cs.base)} attr=${hex(cs.attr, 5)} EIP=${hex(eip)} ` +
      `SS=${hex(ss.sel, 4)} base=${hex(ss.base)} ESP=${gpr(abi.REG_ESP)} EBP=${gpr(abi.REG_EBP)} ` +
      `CR0=${hex(dv.getUint32(abi.V_CR0, true))} CR3=${hex(dv.getUint32(abi.V_CR3, true))} CPL=${dv.getUint32(abi.V_CPL, true)} ` +
      `exception exit mask=${hex(dv.getUint32(abi.RUN_EXCEPTION_EXIT_MASK, true))}`,
    );
    const lin = (cs.base + eip) >>> 0;
    if (lin + 16 <= RAM_SIZE) {
      const b = new Uint8Array(slot.memory, abi.RAM_BASE + lin, 16);
      const where = lin >= HOLE_START && lin < HOLE_END ? ' (RAM under the MMIO hole: the code came from MMIO answers)' : '';
      lines.push(`bytes at CS:EIP (physical if paging is off)${where}: ${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ')}`);
    }
    return lines.join('\n');
  }

  private watch(): void {
    const now = Date.now();
    for (const slot of this.slots) {
      if (!slot.job) continue;
      const beat = Atomics.load(slot.status, ST_BEAT);
      if (beat !== slot.beat) {
        slot.beat = beat;
        slot.beatAt = now;
      } else if (now - slot.beatAt > HANG_MS && Atomics.load(slot.status, ST_BUSY) === 1) {
        this.onCrash(slot, `run() did not return (no progress for ${HANG_MS} ms): the core loops without retiring instructions`, 'hang');
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

const replay = env.FUZZ_REPLAY;
if (replay) {
  const [lane, seedText] = replay.split(':') as [Lane, string];
  test(`fuzz replay ${lane}:${seedText}`, async () => {
    assert.ok(LANES.includes(lane), `unknown mode ${lane} (one of ${LANES.join(', ')})`);
    const pool = new Pool(1);
    try {
      const { failures, totals } = await pool.run(lane, [Number(seedText) >>> 0], () => false, true);
      if (totals) console.log(totals);
      assert.equal(failures.length, 0, failures.map(formatFailure).join('\n\n'));
    } finally {
      await pool.close();
    }
  });
} else {
  const perLane = CASES > 0 ? Math.max(1, Math.round(CASES / LANES.length)) : 0;
  const pool = perLane > 0 ? new Pool(WORKERS) : undefined;
  after(() => pool?.close());
  for (const lane of LANES) {
    const title = lane === 'paging-junk'
      ? `fuzz ${lane}: random bytes as page tables cannot make accesses escape RAM (${perLane} cases)`
      : `fuzz ${lane}: ${perLane} random streams of up to ${INSNS} instructions`;
    test(title, { skip: perLane === 0 && 'FUZZ_CASES=0' }, async (t) => {
      const seeds = Array.from({ length: perLane }, (_, i) => caseSeed(BASE_SEED, lane, i));
      const failures: Failure[] = [];
      const totals: Totals = { cases: 0, insns: 0, exits: 0, shutdowns: 0, handlerHits: 0, byReason: new Array(EXIT_NAMES.length).fill(0) };
      let stop = false;
      const chunks: Promise<void>[] = [];
      for (let i = 0; i < seeds.length; i += CHUNK) {
        const part = seeds.slice(i, i + CHUNK);
        chunks.push((async () => {
          // Chunks of a mode that already failed enough are dropped.
          const r = await pool!.run(lane, part, () => stop);
          if (r.totals) {
            totals.cases += r.totals.cases;
            totals.insns += r.totals.insns;
            totals.exits += r.totals.exits;
            totals.shutdowns += r.totals.shutdowns;
            totals.handlerHits += r.totals.handlerHits;
            r.totals.byReason.forEach((n, j) => (totals.byReason[j] = (totals.byReason[j] ?? 0) + n));
          }
          for (const f of r.failures) {
            failures.push(f);
            if (f.kind === 'hang' || failures.length >= MAX_FAILURES) stop = true;
          }
        })());
      }
      await Promise.all(chunks);
      t.diagnostic(
        `${totals.cases} cases, ${totals.insns} instructions, ${totals.exits} exits (` +
        totals.byReason.map((n, j) => (n ? `${EXIT_NAMES[j]} ${n}` : '')).filter(Boolean).join(', ') +
        `), ${totals.handlerHits} exceptions reached a handler, ${totals.shutdowns} shutdowns`,
      );
      if (failures.length) {
        assert.fail(`${failures.length} failing case(s) in mode ${lane} (base seed ${BASE_SEED}):\n\n${failures.map(formatFailure).join('\n\n')}`);
      }
    });
  }
}
