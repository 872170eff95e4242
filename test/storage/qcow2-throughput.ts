// Measures Qcow2Image sequential write and read throughput on a temp file,
// next to a raw FileDisk doing the same I/O (not a test: run it by hand with
// `npx tsx test/storage/qcow2-throughput.ts [MiB]`). Figures depend on the
// machine's load and page cache; the raw line is the reference.

import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlockDevice } from '../../src/storage/BlockDevice.ts';
import { FileDisk } from '../../src/storage/FileDisk.ts';
import { Qcow2Image } from '../../src/storage/Qcow2Image.ts';

const MiB = 1 << 20;
const total = Number(process.argv[2] ?? 256) * MiB;

async function measure(label: string, dev: BlockDevice, request: number): Promise<void> {
  const buf = new Uint8Array(request);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 131) & 0xff;
  let t = performance.now();
  for (let pos = 0; pos < total; pos += request) await dev.write(pos, buf);
  await dev.flush();
  const w = total / MiB / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let pos = 0; pos < total; pos += request) await dev.read(pos, buf);
  const r = total / MiB / ((performance.now() - t) / 1000);
  console.log(`${label.padEnd(34)} request ${String(request / 1024).padStart(5)} KiB: write ${w.toFixed(0).padStart(5)} MB/s, read ${r.toFixed(0).padStart(5)} MB/s`);
}

const dir = mkdtempSync(join(tmpdir(), 'wkvm-bench-'));
try {
  console.log(`${total / MiB} MiB sequential, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const request of [64 * 1024, MiB]) {
    const rawPath = join(dir, `raw-${request}.img`);
    const raw = await FileDisk.open(rawPath, { create: true, size: total });
    await measure('raw FileDisk', raw, request);
    await raw.close();
    rmSync(rawPath);
    for (const clusterBits of [16, 21]) {
      const path = join(dir, `q-${request}-${clusterBits}.qcow2`);
      const f = await FileDisk.open(path, { create: true });
      await Qcow2Image.create(f, { size: total, clusterBits });
      const q = await Qcow2Image.open(f);
      await measure(`Qcow2Image (${(1 << clusterBits) / 1024} KiB clusters, fresh)`, q, request);
      await measure(`Qcow2Image (${(1 << clusterBits) / 1024} KiB clusters, rewrite)`, q, request);
      await q.close();
      rmSync(path);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
