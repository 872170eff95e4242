// qcow2 interoperability with QEMU's own tools: images made by qemu-img and
// qemu-io are read through Qcow2Image and compared with `qemu-img convert -O
// raw`; images written through Qcow2Image must pass `qemu-img check` and
// convert to exactly what was written. Skips (with a message) without
// qemu-utils.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileDisk } from '../../src/storage/FileDisk.ts';
import { Qcow2Image } from '../../src/storage/Qcow2Image.ts';
import { openImage } from '../../src/storage/openImage.ts';
import type { BlockDevice } from '../../src/storage/BlockDevice.ts';
import { MemoryDisk } from '../../src/storage/MemoryDisk.ts';
import {
  NO_QEMU, assertSameBytes, prng, qemuCheck, run, qemuImg, qemuIo, qemuRaw, randomBytes, readAll, tempDir,
} from './helpers.ts';

const MiB = 1 << 20;
const opts = { skip: NO_QEMU };

async function openQcow2(path: string, readOnly = true): Promise<Qcow2Image> {
  return Qcow2Image.open(await FileDisk.open(path, { readOnly }), { readOnly });
}

/** Patterns written with qemu-io at assorted places (aligned, unaligned, across clusters). */
const PATTERN_WRITES = [
  'write -P 0xab 0 64k',
  'write -P 0x11 100000 3000',
  'write -P 0x22 1M 200k',
  'write -P 0x33 3145727 2',
  'write -P 0x44 8M 64k',
  'write -P 0x55 15M 1M',
];

for (const [label, createOpts] of [
  ['v3', ['-o', 'compat=1.1']],
  ['v2 (compat=0.10)', ['-o', 'compat=0.10']],
  ['v3, 512-byte clusters', ['-o', 'cluster_size=512']],
  ['v3, 2 MiB clusters', ['-o', 'cluster_size=2M']],
  ['v3, 1-bit refcounts', ['-o', 'refcount_bits=1']],
] as const) {
  test(`qcow2 ${label}: reads what qemu-io wrote`, opts, async (t) => {
    const dir = tempDir(t);
    const img = join(dir, 'a.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', ...createOpts, img, '16M');
    qemuIo(img, PATTERN_WRITES);
    const q = await openQcow2(img);
    try {
      assert.equal(q.size, 16 * MiB);
      assert.equal(q.info.version, label.startsWith('v2') ? 2 : 3);
      assertSameBytes(await readAll(q), qemuRaw(dir, img), 'image contents');
      // Small unaligned reads across cluster boundaries.
      const b = new Uint8Array(5);
      await q.read(3145725, b);
      assert.deepEqual([...b], [0, 0, 0x33, 0x33, 0]);
    } finally {
      await q.close();
    }
  });
}

test('qcow2: zero clusters (write -z) read as zeros and hide the backing file', opts, async (t) => {
  const dir = tempDir(t);
  const base = join(dir, 'base.qcow2');
  const top = join(dir, 'top.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', base, '4M');
  qemuIo(base, ['write -P 0x77 0 4M']);
  qemuImg('create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', top);
  qemuIo(top, ['write -z 64k 128k', 'write -P 0x99 1M 64k', 'write -z 1M 64k', 'write -z 2M 1000']);
  const disk = await openImage(top, { readOnly: true });
  try {
    const all = await readAll(disk);
    assertSameBytes(all, qemuRaw(dir, top));
    assert.equal(all[64 * 1024], 0);
    assert.equal(all[1 * MiB], 0);
    assert.equal(all[0], 0x77);
  } finally {
    await disk.close();
  }
});

test('qcow2: compressed clusters (qemu-img convert -c) read back, and writes COW them', opts, async (t) => {
  const dir = tempDir(t);
  const rand = prng(7);
  const raw = new Uint8Array(6 * MiB);
  // Compressible text-like data, some random (incompressible) stretches, holes.
  for (let i = 0; i < 2 * MiB; i++) raw[i] = 'wkvm qcow2 '.charCodeAt(i % 11) ^ ((i >> 12) & 7);
  raw.set(randomBytes(rand, 300000), 3 * MiB);
  raw.fill(0x5a, 5 * MiB, 5 * MiB + 12345);
  writeFileSync(join(dir, 'src.raw'), raw);
  const img = join(dir, 'c.qcow2');
  qemuImg('convert', '-q', '-c', '-f', 'raw', '-O', 'qcow2', join(dir, 'src.raw'), img);
  assert.match(qemuImg('check', img), /compressed clusters/);

  let q = await openQcow2(img);
  assertSameBytes(await readAll(q), raw, 'decompressed image');
  await q.close();

  // Partial writes into compressed clusters: COW into new clusters.
  q = await openQcow2(img, false);
  const expected = raw.slice();
  const edits: [number, number, number][] = [[100, 5000, 1], [65536 * 3 - 10, 20, 2], [3 * MiB + 4096, 70000, 3], [0, 65536, 4]];
  for (const [off, len, v] of edits) {
    const data = new Uint8Array(len).fill(v);
    await q.write(off, data);
    expected.set(data, off);
  }
  await q.writeZeroes(65536 * 8, 65536 * 2);
  expected.fill(0, 65536 * 8, 65536 * 10);
  assertSameBytes(await readAll(q), expected, 'contents before close');
  await q.close();
  const check = qemuCheck(img);
  assert.ok(check.clean, check.output);
  assertSameBytes(qemuRaw(dir, img), expected, 'qemu-img convert of the written image');
});

test('qcow2: backing chains (qcow2 over qcow2 over raw, smaller backing file)', opts, async (t) => {
  const dir = tempDir(t);
  const base = join(dir, 'base.raw');
  writeFileSync(base, new Uint8Array(3 * MiB).fill(0x10));
  qemuImg('create', '-q', '-f', 'qcow2', '-b', 'base.raw', '-F', 'raw', join(dir, 'mid.qcow2'), '4M');
  qemuIo(join(dir, 'mid.qcow2'), ['write -P 0x20 1M 64k', 'write -P 0x21 2M 1500']);
  qemuImg('create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', '-b', 'mid.qcow2', '-F', 'qcow2', join(dir, 'top.qcow2'), '6M');
  qemuIo(join(dir, 'top.qcow2'), ['write -P 0x30 1M 4k', 'write -P 0x31 5M 64k']);

  const disk = await openImage(join(dir, 'top.qcow2'), { readOnly: true });
  const expected = qemuRaw(dir, join(dir, 'top.qcow2'));
  try {
    assert.equal(disk.size, 6 * MiB);
    const all = await readAll(disk);
    assertSameBytes(all, expected);
    assert.equal(all[4 * MiB], 0, 'beyond the backing files reads zeros');
  } finally {
    await disk.close();
  }

  // Writes into the top image copy partial clusters up from the chain.
  const rw = await openImage(join(dir, 'top.qcow2'));
  await rw.write(1 * MiB + 100, new Uint8Array(10).fill(0xee));
  await rw.write(2 * MiB + 1000, new Uint8Array(1000).fill(0xef));
  await rw.write(3 * MiB - 512, new Uint8Array(1024).fill(0xf0));
  expected.fill(0xee, 1 * MiB + 100, 1 * MiB + 110);
  expected.fill(0xef, 2 * MiB + 1000, 2 * MiB + 2000);
  expected.fill(0xf0, 3 * MiB - 512, 3 * MiB + 512);
  await rw.close();
  const check = qemuCheck(join(dir, 'top.qcow2'));
  assert.ok(check.clean, check.output);
  assertSameBytes(qemuRaw(dir, join(dir, 'top.qcow2')), expected, 'after writes');
  // The backing files are untouched.
  assert.equal(qemuCheck(join(dir, 'mid.qcow2')).clean, true);
  assert.ok(readFileSync(base).every((b) => b === 0x10));
});

/** Random writes, zeroes and discards against a model; then qemu-img check and convert. */
async function writeWorkload(dir: string, img: string, disk: BlockDevice, seed: number, ops: number, model: Uint8Array, maxLen = 200000) {
  const rand = prng(seed);
  for (let i = 0; i < ops; i++) {
    const len = 1 + Math.floor(rand() * maxLen);
    const off = Math.floor(rand() * (disk.size - len));
    const r = rand();
    if (r < 0.75) {
      const data = randomBytes(rand, len);
      await disk.write(off, data);
      model.set(data, off);
    } else if (r < 0.9) {
      await disk.writeZeroes!(off, len);
      model.fill(0, off, off + len);
    } else {
      // Discard may leave the range as it was or zero it: zero-fill the model
      // from what the disk now says for the discarded range.
      await disk.discard!(off, len);
      const now = new Uint8Array(len);
      await disk.read(off, now);
      for (let k = 0; k < len; k++) if (now[k] !== model[off + k]) assert.equal(now[k], 0, 'discard leaves old data or zeros');
      model.set(now, off);
    }
    if (i % 50 === 49) await disk.flush();
  }
  assertSameBytes(await readAll(disk), model, 'contents through the driver');
  await disk.close();
  const check = qemuCheck(img);
  assert.ok(check.clean, check.output);
  assertSameBytes(qemuRaw(dir, img), model, 'qemu-img convert');
}

for (const [label, createOpts, size] of [
  ['v3', ['-o', 'compat=1.1'], 24 * MiB],
  ['v2', ['-o', 'compat=0.10'], 24 * MiB],
  ['v3, 512-byte clusters (refcount table grows)', ['-o', 'cluster_size=512'], 24 * MiB],
  ['v3, 64-bit refcounts', ['-o', 'refcount_bits=64'], 8 * MiB],
  ['v3, 1-bit refcounts, 4 KiB clusters', ['-o', 'refcount_bits=1,cluster_size=4k'], 8 * MiB],
  ['v3, 2 MiB clusters', ['-o', 'cluster_size=2M'], 16 * MiB],
] as const) {
  test(`qcow2 ${label}: random writes pass qemu-img check and convert back`, opts, async (t) => {
    const dir = tempDir(t);
    const img = join(dir, 'w.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', ...createOpts, img, String(size));
    qemuIo(img, ['write -P 0x61 0 100k', 'write -P 0x62 5M 1M']);
    const model = qemuRaw(dir, img);
    const q = await openQcow2(img, false);
    const big = label.includes('512-byte');
    await writeWorkload(dir, img, q, size + createOpts.length, big ? 140 : 120, model, big ? 400000 : 200000);
    if (big) {
      const info = qemuImg('info', '--output=json', img);
      assert.ok(JSON.parse(info)['actual-size'] > 8 * MiB, 'grew past what the first refcount table covers');
    }
  });
}

test('qcow2: writes into an image with a backing file (v3 zero flag hides the backing)', opts, async (t) => {
  const dir = tempDir(t);
  qemuImg('create', '-q', '-f', 'qcow2', join(dir, 'base.qcow2'), '8M');
  qemuIo(join(dir, 'base.qcow2'), ['write -P 0x42 0 8M']);
  const img = join(dir, 'top.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', img);
  const model = qemuRaw(dir, img);
  const disk = await openImage(img);
  await writeWorkload(dir, img, disk, 99, 80, model);
});

test('qcow2: images made by Qcow2Image.create are clean, with and without writes', opts, async (t) => {
  const dir = tempDir(t);
  for (const [version, clusterBits] of [[3, 16], [2, 12], [3, 9]] as const) {
    const img = join(dir, `new-${version}-${clusterBits}.qcow2`);
    const f = await FileDisk.open(img, { create: true });
    await Qcow2Image.create(f, { size: 10 * MiB, version, clusterBits });
    await f.close();
    let check = qemuCheck(img);
    assert.ok(check.clean, check.output);
    const info = JSON.parse(qemuImg('info', '--output=json', img));
    assert.equal(info['virtual-size'], 10 * MiB);
    assert.equal(info['cluster-size'], 1 << clusterBits);
    const q = await openQcow2(img, false);
    const model = new Uint8Array(10 * MiB);
    await writeWorkload(dir, img, q, clusterBits, 40, model);
    check = qemuCheck(img);
    assert.ok(check.clean, check.output);
  }
});

test('qcow2: Qcow2Image.create with a backing file, read by qemu-io', opts, async (t) => {
  const dir = tempDir(t);
  qemuImg('create', '-q', '-f', 'qcow2', join(dir, 'base.qcow2'), '2M');
  qemuIo(join(dir, 'base.qcow2'), ['write -P 0x13 0 2M']);
  const img = join(dir, 'over.qcow2');
  const f = await FileDisk.open(img, { create: true });
  await Qcow2Image.create(f, { size: 2 * MiB, backingFile: 'base.qcow2', backingFormat: 'qcow2' });
  await f.close();
  const disk = await openImage(img);
  await disk.write(4096, new Uint8Array(512).fill(0x14));
  await disk.close();
  assert.ok(qemuCheck(img).clean);
  qemuIo(img, ['read -P 0x13 0 4096', 'read -P 0x14 4096 512', 'read -P 0x13 4608 1M']);
});

test('qcow2: internal snapshots open read-only and show the active state', opts, async (t) => {
  const dir = tempDir(t);
  const img = join(dir, 's.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', img, '1M');
  qemuIo(img, ['write -P 1 0 64k']);
  qemuImg('snapshot', '-c', 'snap1', img);
  qemuIo(img, ['write -P 2 0 4k']);
  await assert.rejects(openQcow2(img, false), /internal snapshot/);
  const q = await openQcow2(img);
  assert.equal(q.info.snapshots, 1);
  const b = new Uint8Array(8192);
  await q.read(0, b);
  assert.equal(b[0], 2);
  assert.equal(b[4096], 1);
  await q.close();
});

test('qcow2: dirty images (lazy refcounts, not closed) open read-only only', opts, async (t) => {
  const dir = tempDir(t);
  const img = join(dir, 'd.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', '-o', 'lazy_refcounts=on', img, '1M');
  qemuIo(img, ['write -P 3 0 4k']);
  // Set the dirty bit (incompatible feature bit 0) as a crash with lazy refcounts leaves it.
  const bytes = readFileSync(img);
  bytes[79] |= 1;
  writeFileSync(img, bytes);
  await assert.rejects(openQcow2(img, false), /not closed cleanly.*qemu-img check -r all/);
  const q = await openQcow2(img);
  assert.equal(q.info.dirty, true);
  const b = new Uint8Array(4);
  await q.read(0, b);
  assert.deepEqual([...b], [3, 3, 3, 3]);
  await q.close();
});

test('qcow2: a backing chain that loops is refused', opts, async (t) => {
  const dir = tempDir(t);
  qemuImg('create', '-q', '-f', 'qcow2', join(dir, 'a.qcow2'), '1M');
  qemuImg('create', '-q', '-f', 'qcow2', '-b', 'a.qcow2', '-F', 'qcow2', join(dir, 'b.qcow2'));
  qemuImg('rebase', '-u', '-b', 'b.qcow2', '-F', 'qcow2', join(dir, 'a.qcow2'));
  await assert.rejects(openImage(join(dir, 'b.qcow2'), { readOnly: true }), /backing chain loops: .*b\.qcow2 -> .*a\.qcow2 -> .*b\.qcow2/);
  // A callback that does not notice loops still stops at the depth limit.
  const f = await FileDisk.open(join(dir, 'b.qcow2'), { readOnly: true });
  const naive = async (req: { name: string; depth: number }): Promise<BlockDevice> => {
    const file = await FileDisk.open(join(dir, req.name), { readOnly: true });
    return Qcow2Image.open(file, { readOnly: true, depth: req.depth, openBacking: naive }).catch(async (e) => {
      await file.close();
      throw e;
    });
  };
  await assert.rejects(Qcow2Image.open(f, { readOnly: true, openBacking: naive }), /deeper than 16/);
  await f.close();
});

test('qcow2: corrupted headers from qemu-img images give named errors', opts, async (t) => {
  const dir = tempDir(t);
  const good = join(dir, 'good.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', good, '16M');
  qemuIo(good, ['write -P 0x66 0 1M']);
  const original = readFileSync(good);
  const cases: [string, (b: Buffer) => void, RegExp][] = [
    ['flipped magic', (b) => { b[3] ^= 0xff; }, /bad magic/],
    ['L1 offset past EOF', (b) => { b.writeBigUInt64BE(BigInt(b.length) * 4n & ~0xffffn, 40); }, /L1 table.*past the end/],
    ['refcount table overlapping the header', (b) => { b.writeBigUInt64BE(0n, 48); }, /refcount table overlaps the header/],
    ['cluster_bits 30', (b) => { b.writeUInt32BE(30, 20); }, /cluster_bits 30/],
    ['size 2^62', (b) => { b.writeBigUInt64BE(1n << 62n, 24); }, /virtual size .* (absurd|too large)/],
    ['unknown incompatible feature', (b) => { b[79] |= 0x20; }, /unsupported incompatible features: unknown \(bit 5\)/],
    ['extended L2 entries', (b) => { b[79] |= 0x10; }, /extended L2 entries \(bit 4\)/],
    ['L1 unaligned', (b) => { b.writeBigUInt64BE(b.readBigUInt64BE(40) + 8n, 40); }, /not aligned/],
    ['version 4', (b) => { b.writeUInt32BE(4, 4); }, /unsupported version 4/],
    ['encryption', (b) => { b.writeUInt32BE(1, 32); }, /encrypted/],
  ];
  for (const [name, patch, expected] of cases) {
    const bad = join(dir, `bad-${name.replace(/\W+/g, '-')}.qcow2`);
    const bytes = Buffer.from(original);
    patch(bytes);
    writeFileSync(bad, bytes);
    await assert.rejects(openQcow2(bad), (e: Error) => {
      assert.equal(e.name, 'StorageError', `${name}: ${e.stack}`);
      assert.match(e.message, expected, name);
      assert.ok(!e.message.includes('\n'), 'one line');
      return true;
    }, name);
  }
});

/** Records every write, resize and flush reaching the image file. */
class RecordingDisk {
  log: ({ op: 'write'; offset: number; data: Uint8Array } | { op: 'flush' } | { op: 'resize'; size: number })[] = [];
  constructor(readonly inner: MemoryDisk) {}
  get size() { return this.inner.size; }
  get readOnly() { return false; }
  read(o: number, into: Uint8Array) { return this.inner.read(o, into); }
  async write(o: number, d: Uint8Array) { this.log.push({ op: 'write', offset: o, data: d.slice() }); await this.inner.write(o, d); }
  async flush() { this.log.push({ op: 'flush' }); }
  async resize(size: number) { this.log.push({ op: 'resize', size }); await this.inner.resize(size); }
  async close() {}
}

test('qcow2: a crash at any point leaves no corruption (at worst leaked clusters)', opts, async (t) => {
  const dir = tempDir(t);
  const img = join(dir, 'crash.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=4k', img, '8M');
  qemuIo(img, ['write -P 0x61 0 1M', 'write -P 0x62 4M 100k']);
  const start = new Uint8Array(readFileSync(img));
  const rec = new RecordingDisk(MemoryDisk.from(start));
  const q = await Qcow2Image.open(rec, {});
  const rand = prng(31);
  for (let i = 0; i < 40; i++) {
    const len = 1 + Math.floor(rand() * 30000);
    const off = Math.floor(rand() * (q.size - len));
    if (rand() < 0.8) await q.write(off, randomBytes(rand, len));
    else await q.discard(off, len);
    if (i % 5 === 4) await q.flush();
  }
  await q.close();

  // Replay: everything before flush k, then a random subset of what followed.
  const flushes = rec.log.flatMap((e, i) => (e.op === 'flush' ? [i] : []));
  assert.ok(flushes.length >= 8);
  let checked = 0;
  for (let k = 0; k < flushes.length; k++) {
    for (let variant = 0; variant < 3; variant++) {
      const state = MemoryDisk.from(start);
      const next = flushes[k + 1] ?? rec.log.length;
      for (let i = 0; i < next; i++) {
        const e = rec.log[i];
        const lost = i > flushes[k] && variant > 0 && rand() < 0.5; // an unflushed write that never made it
        if (e.op === 'resize') await state.resize(e.size);
        else if (e.op === 'write' && !lost) {
          if (e.offset + e.data.length > state.size) await state.resize(e.offset + e.data.length);
          await state.write(e.offset, e.data);
        }
      }
      const file = join(dir, `crash-${k}-${variant}.qcow2`);
      writeFileSync(file, await readAll(state));
      const r = run('qemu-img', ['check', file], { allowFail: true });
      assert.ok(r.status === 0 || r.status === 3, `crash after flush ${k} (variant ${variant}): ${r.stdout}`);
      checked++;
    }
  }
  assert.ok(checked > 20);
});
