// One fuzzing worker: owns a wasm memory with two vCPUs and runs the cases
// it is sent. Progress goes to a shared status array after every run(), so
// the main thread can tell a run() that never returns (the guest is stuck
// inside the core) from a slow one, and read the vCPU's state from the
// shared wasm memory when it happens.
import { writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { Harness, EXIT_NAMES, ST_BEAT, ST_SEED, ST_EXITS, ST_LAST, ST_BUSY, type Lane, type Failure } from './fuzz-engine.ts';

interface ChunkMsg {
  type: 'chunk';
  id: number;
  lane: Lane;
  seeds: number[];
  insns: number;
  maxExits: number;
  trace: boolean;
}

const port = parentPort!;
let status: Int32Array | undefined;
const h = await Harness.create();
port.on('message', (m: { type: 'init'; status: SharedArrayBuffer } | ChunkMsg) => {
  if (m.type === 'init') {
    status = new Int32Array(m.status);
    port.postMessage({ type: 'ready', memory: h.vm.memory.buffer, base: h.vm.base });
    return;
  }
  const st = status!;
  const failures: Failure[] = [];
  const totals = { cases: 0, insns: 0, exits: 0, shutdowns: 0, handlerHits: 0, byReason: new Array(EXIT_NAMES.length).fill(0) as number[] };
  const heartbeat = (exits: number, reason: number) => {
    Atomics.add(st, ST_BEAT, 1);
    st[ST_EXITS] = exits;
    st[ST_LAST] = reason;
  };
  for (const seed of m.seeds) {
    Atomics.store(st, ST_SEED, seed | 0);
    Atomics.store(st, ST_BUSY, 1);
    const { failure, stats } = h.runCase(m.lane, seed, {
      insns: m.insns, maxExits: m.maxExits, heartbeat, // Written synchronously: a case that hangs the core must not take its last lines with it.
      trace: m.trace ? (l: string) => writeSync(1, `${l}\n`) : undefined,
    });
    Atomics.store(st, ST_BUSY, 0);
    totals.cases++;
    totals.insns += stats.insns;
    totals.exits += stats.exits;
    totals.shutdowns += stats.shutdowns;
    totals.handlerHits += stats.handlerHits;
    stats.byReason.forEach((n, i) => (totals.byReason[i] = (totals.byReason[i] ?? 0) + n));
    if (failure) {
      failures.push(failure);
      break;
    }
  }
  port.postMessage({ type: 'done', id: m.id, failures, totals });
});
