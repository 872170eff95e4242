// qcow2 without QEMU's tools: images made by Qcow2Image.create in memory,
// the read/write semantics, and hostile images (patched headers and tables,
// random corruption) that must fail with a StorageError naming the problem
// and never write where they should not.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError, type BlockDevice } from '../../src/storage/BlockDevice.ts';
import { MemoryDisk } from '../../src/storage/MemoryDisk.ts';
import { Qcow2Image, type Qcow2CreateOptions } from '../../src/storage/Qcow2Image.ts';
import { assertSameBytes, prng, randomBytes, readAll } from './helpers.ts';

const KiB = 1024;
const MiB = 1 << 20;
const C = 64 * KiB; // default cluster size

async function fresh(options: Partial<Qcow2CreateOptions> = {}): Promise<MemoryDisk> {
  const file = new MemoryDisk(0);
  await Qcow2Image.create(file, { size: 4 * MiB, ...options });
  return file;
}

async function open(file: BlockDevice, readOnly = false, extra = {}): Promise<Qcow2Image> {
  return Qcow2Image.open(file, { readOnly, closeContainer: false, ...extra });
}

/** A copy of `file` with `patch` applied to its bytes. */
async function patched(file: MemoryDisk, patch: (b: Buffer) => void): Promise<MemoryDisk> {
  const bytes = Buffer.from(await readAll(file));
  patch(bytes);
  return MemoryDisk.from(bytes);
}

/** An image with data at guest 0 (host cluster 4) and its L2 table (host cluster 5). */
async function withData(): Promise<MemoryDisk> {
  const file = await fresh();
  const q = await open(file);
  await q.write(0, new Uint8Array(C).fill(0x11));
  await q.close();
  return file;
}

const L2 = 5 * C; // where withData() put its only L2 table

function expectStorageError(re: RegExp) {
  return (e: Error) => {
    assert.ok(e instanceof StorageError, `expected a StorageError, got ${e.stack}`);
    assert.match(e.message, re);
    return true;
  };
}

test('qcow2: a created image reads zeros, keeps writes, survives reopening', async () => {
  for (const version of [2, 3] as const) {
    const file = await fresh({ version, size: 3 * MiB + 1000 });
    let q = await open(file);
    assert.equal(q.size, 3 * MiB + 1000);
    assert.equal(q.info.version, version);
    const model = new Uint8Array(q.size);
    assertSameBytes(await readAll(q), model);
    const rand = prng(version);
    for (let i = 0; i < 60; i++) {
      const len = 1 + Math.floor(rand() * 150000);
      const off = Math.floor(rand() * (q.size - len));
      const data = randomBytes(rand, len);
      await q.write(off, data);
      model.set(data, off);
    }
    // The very last bytes of a disk whose size is not a cluster multiple.
    await q.write(q.size - 3, new Uint8Array([1, 2, 3]));
    model.set([1, 2, 3], q.size - 3);
    await q.writeZeroes(100, 200000);
    model.fill(0, 100, 200100);
    assertSameBytes(await readAll(q), model, 'before close');
    await q.close();
    q = await open(file, true);
    assertSameBytes(await readAll(q), model, 'after reopening');
    await q.close();
  }
});

test('qcow2: discard frees clusters for reuse; rewriting does not grow the file', async () => {
  const file = await fresh({ size: 8 * MiB });
  const q = await open(file);
  await q.write(0, new Uint8Array(4 * MiB).fill(1));
  await q.flush();
  const grown = file.size;
  await q.discard(0, 4 * MiB);
  await q.flush();
  const back = new Uint8Array(4 * MiB);
  await q.read(0, back);
  assert.ok(back.every((b) => b === 0), 'no backing file: discarded clusters read zeros');
  await q.write(4 * MiB, new Uint8Array(4 * MiB).fill(2));
  await q.close();
  assert.equal(file.size, grown, 'freed clusters were reused');
});

test('qcow2: concurrent writes and reads are serialised correctly', async () => {
  const file = await fresh({ size: 2 * MiB });
  const q = await open(file);
  const model = new Uint8Array(q.size);
  const rand = prng(5);
  const jobs: Promise<void>[] = [];
  for (let i = 0; i < 100; i++) {
    const len = 1 + Math.floor(rand() * 9000);
    const off = Math.floor(rand() * (q.size - len));
    const data = randomBytes(rand, len);
    model.set(data, off);
    jobs.push(q.write(off, data));
    if (i % 7 === 0) jobs.push(q.flush());
  }
  await Promise.all(jobs);
  assertSameBytes(await readAll(q), model);
  await q.close();
});

test('qcow2: read-only images refuse writes; out-of-range requests are refused', async () => {
  const file = await withData();
  const q = await open(file, true);
  await assert.rejects(q.write(0, new Uint8Array(1)), /read-only/);
  await assert.rejects(q.read(4 * MiB - 1, new Uint8Array(2)), /outside/);
  await q.close();
  await assert.rejects(Qcow2Image.open(MemoryDisk.from(await readAll(file), { readOnly: true })), /read-only/);
});

test('qcow2: hostile headers fail with one-line StorageErrors', async () => {
  const base = await withData();
  const cases: [string, (b: Buffer) => void, RegExp][] = [
    ['bad magic', (b) => b.writeUInt32BE(0x514649fa, 0), /bad magic/],
    ['too small', (b) => b.fill(0, 0), /bad magic/],
    ['cluster_bits 8', (b) => b.writeUInt32BE(8, 20), /cluster_bits 8/],
    ['cluster_bits 30', (b) => b.writeUInt32BE(30, 20), /cluster_bits 30/],
    ['size 2^62', (b) => b.writeBigUInt64BE(1n << 62n, 24), /absurd|too large/],
    ['size 2^52 (needs an L1 beyond the limit)', (b) => b.writeBigUInt64BE(1n << 52n, 24), /too large/],
    ['L1 larger than allowed', (b) => b.writeUInt32BE(5_000_000, 36), /larger than allowed/],
    ['L1 too small', (b) => b.writeUInt32BE(0, 36), /too small/],
    ['L1 past EOF', (b) => b.writeBigUInt64BE(BigInt(100 * C), 40), /L1 table.*past the end/],
    ['L1 unaligned', (b) => b.writeBigUInt64BE(BigInt(3 * C + 512), 40), /L1 table offset .* not aligned/],
    ['L1 over the header', (b) => b.writeBigUInt64BE(0n, 40), /L1 table overlaps the header/],
    ['L1 over the refcount table', (b) => b.writeBigUInt64BE(BigInt(C), 40), /L1 table overlaps the refcount table/],
    ['L1 entry past EOF', (b) => b.writeBigUInt64BE((1n << 63n) | BigInt(200 * C), 3 * C), /L1 entry 0 points past the end/],
    ['L1 entry unaligned', (b) => b.writeBigUInt64BE((1n << 63n) | BigInt(5 * C + 4096), 3 * C), /L1 entry 0 .* not aligned/],
    ['L1 entry reserved bits', (b) => b.writeBigUInt64BE((1n << 63n) | 1n | BigInt(5 * C), 3 * C), /reserved bits/],
    ['L1 entry at the refcount table', (b) => b.writeBigUInt64BE(BigInt(C), 3 * C), /L1 entry 0 points at other metadata/],
    ['refcount table over the header', (b) => b.writeBigUInt64BE(0n, 48), /refcount table overlaps the header/],
    ['refcount table past EOF', (b) => b.writeBigUInt64BE(BigInt(1000 * C), 48), /refcount table .*past the end/],
    ['refcount table empty', (b) => b.writeUInt32BE(0, 56), /refcount table is empty/],
    ['refcount table too large', (b) => b.writeUInt32BE(1 << 20, 56), /larger than allowed/],
    ['refblock unaligned', (b) => b.writeBigUInt64BE(BigInt(2 * C + 8), C), /refcount table entry 0 .* not aligned/],
    ['refblock past EOF', (b) => b.writeBigUInt64BE(BigInt(999 * C), C), /refcount table entry 0 points past the end/],
    ['refcount order 7', (b) => b.writeUInt32BE(7, 96), /refcount_order 7/],
    ['header length', (b) => b.writeUInt32BE(100, 100), /header_length/],
    ['header extension too long', (b) => { b.writeUInt32BE(0x12345678, 104); b.writeUInt32BE(C, 108); }, /header extension 0x12345678 runs past/],
    ['unknown incompatible bit 40', (b) => (b[74] |= 1), /unsupported incompatible features: unknown \(bit 40\)/],
    ['external data file', (b) => (b[79] |= 4), /external data file \(bit 2\)/],
    ['zstd', (b) => { b[79] |= 8; b.writeUInt32BE(112, 100); b[104] = 1; }, /compression type/],
    ['backing name too long', (b) => { b.writeBigUInt64BE(200n, 8); b.writeUInt32BE(5000, 16); }, /too long/],
    ['backing name outside cluster 0', (b) => { b.writeBigUInt64BE(BigInt(C - 4), 8); b.writeUInt32BE(100, 16); }, /outside the first cluster/],
    ['encrypted', (b) => b.writeUInt32BE(2, 32), /encrypted/],
    ['snapshot table unaligned', (b) => { b.writeUInt32BE(1, 60); b.writeBigUInt64BE(12345n, 64); }, /snapshot table offset .* not aligned/],
  ];
  for (const [name, patch, re] of cases) {
    const file = await patched(base, patch);
    await assert.rejects(open(file, true), (e: Error) => {
      assert.ok(e instanceof StorageError, `${name}: ${e.stack}`);
      assert.match(e.message, re, name);
      assert.ok(!e.message.includes('\n'), `${name}: one line`);
      return true;
    }, name);
  }
  // Feature names come from the image's feature name table when it has one.
  const named = await patched(base, (b) => {
    b[79] |= 0x40; // bit 6
    b.writeUInt32BE(0x6803f857, 104);
    b.writeUInt32BE(48, 108);
    b[112] = 0;
    b[113] = 6;
    b.write('shiny new thing', 114);
  });
  await assert.rejects(open(named, true), /shiny new thing \(bit 6\)/);
  // A file shorter than a header.
  await assert.rejects(open(MemoryDisk.from(new Uint8Array(50)), true), /too small/);
});

test('qcow2: hostile L2 entries and compressed descriptors fail on access', async () => {
  const base = await withData();
  const read1 = async (file: BlockDevice, off = 0) => {
    const q = await open(file, true);
    try {
      await q.read(off, new Uint8Array(512));
    } finally {
      await q.close();
    }
  };
  await assert.rejects(read1(await patched(base, (b) => b.writeBigUInt64BE((1n << 63n) | BigInt(900 * C), L2))),
    expectStorageError(/L2 entry for guest offset 0x0 points past the end of the file/));
  await assert.rejects(read1(await patched(base, (b) => b.writeBigUInt64BE((1n << 63n) | BigInt(4 * C + 1024), L2))),
    expectStorageError(/not aligned to a cluster/));
  await assert.rejects(read1(await patched(base, (b) => b.writeBigUInt64BE((1n << 63n) | (1n << 58n) | BigInt(4 * C), L2))),
    expectStorageError(/reserved bits/));
  // Compressed: host offset bits 0..53 for 64 KiB clusters, sector count above.
  await assert.rejects(read1(await patched(base, (b) => b.writeBigUInt64BE((1n << 62n) | BigInt(50 * C), L2 + 8)), C),
    expectStorageError(/compressed cluster descriptor .* points outside the image/));
  await assert.rejects(read1(await patched(base, (b) => b.writeBigUInt64BE((1n << 62n) | (3n << 54n) | BigInt(4 * C + 100), L2 + 8)), C),
    expectStorageError(/compressed cluster .* (corrupt|truncated)/));
  await assert.rejects(read1(await patched(base, (b) => b.writeBigUInt64BE((1n << 62n) | 10n, L2 + 8)), C),
    expectStorageError(/points outside the image/));
});

test('qcow2: guest data is never written over metadata, and a corrupt/dirty image is not written', async () => {
  const base = await withData();
  // The L2 entry of guest cluster 0 claims the L1 table's cluster.
  const file = await patched(base, (b) => b.writeBigUInt64BE((1n << 63n) | BigInt(3 * C), L2));
  const before = await readAll(file);
  const q = await open(file);
  await assert.rejects(q.write(0, new Uint8Array(512).fill(0xee)), expectStorageError(/points at metadata/));
  await q.close();
  assertSameBytes(await readAll(file), before, 'container unchanged');

  const corrupt = await patched(base, (b) => (b[79] |= 2));
  await assert.rejects(open(corrupt), /marked corrupt/);
  const ro = await open(corrupt, true);
  assert.equal(ro.info.corrupt, true);
  await ro.close();
  const dirty = await patched(base, (b) => (b[79] |= 1));
  await assert.rejects(open(dirty), /dirty bit/);

  // A refcount block claiming the L2 table's cluster is free: the allocator skips it.
  const liar = await patched(base, (b) => b.writeUInt16BE(0, 2 * C + 5 * 2));
  const w = await open(liar);
  await w.write(C, new Uint8Array(C).fill(0x22));
  const back = new Uint8Array(2 * C);
  await w.read(0, back);
  assert.ok(back.subarray(0, C).every((x) => x === 0x11) && back.subarray(C).every((x) => x === 0x22));
  await w.close();
});

test('qcow2: backing files need a way to open them; the chain depth is bounded', async () => {
  const file = new MemoryDisk(0);
  await Qcow2Image.create(file, { size: MiB, backingFile: 'base.img', backingFormat: 'raw' });
  await assert.rejects(open(file, true), /needs its backing file 'base\.img'/);
  const backing = MemoryDisk.from(new Uint8Array(MiB / 2).fill(9));
  let asked: unknown;
  const q = await open(file, true, { openBacking: async (req: unknown) => { asked = req; return backing; } });
  assert.deepEqual(asked, { name: 'base.img', format: 'raw', depth: 1 });
  const b = new Uint8Array(4);
  await q.read(MiB / 2 - 2, b);
  assert.deepEqual([...b], [9, 9, 0, 0], 'past a smaller backing file reads zeros');
  await q.close();
  await assert.rejects(open(file, true, { depth: 16, openBacking: async () => backing }), /deeper than 16/);
});

test('qcow2: random corruption never escapes as anything but a StorageError', async () => {
  const base = await withData();
  const q0 = await open(base);
  await q0.write(3 * MiB, new Uint8Array(200000).fill(0x33));
  await q0.close();
  const original = await readAll(base);
  const rand = prng(1234);
  let opened = 0;
  for (let round = 0; round < 300; round++) {
    const bytes = Buffer.from(original);
    const flips = 1 + Math.floor(rand() * 8);
    for (let i = 0; i < flips; i++) {
      // Aim at metadata: header, refcount table, refcount block, L1, L2 tables.
      const region = [0, C, 2 * C, 3 * C, 5 * C, 6 * C][Math.floor(rand() * 6)];
      const at = region + Math.floor(rand() * (region === 0 ? 128 : 64));
      bytes[at] ^= 1 << Math.floor(rand() * 8);
    }
    const file = MemoryDisk.from(bytes);
    try {
      const q = await open(file);
      opened++;
      await readAll(q);
      await q.write(Math.floor(rand() * 4 * MiB - 5000), new Uint8Array(5000).fill(7));
      await q.writeZeroes(0, 70000);
      await q.close();
    } catch (e) {
      assert.ok(e instanceof StorageError, `round ${round}: ${(e as Error).stack}`);
    }
  }
  assert.ok(opened > 50, `some variants still opened (${opened})`);
});

test('qcow2: a partial write into a reused (freed) cluster does not expose its old bytes', async () => {
  const file = await fresh({ size: 2 * MiB });
  const q = await open(file);
  await q.write(0, new Uint8Array(C).fill(0xaa));
  await q.write(C, new Uint8Array(C).fill(0xbb)); // keeps the file end past the freed cluster
  await q.discard(0, C);
  await q.flush(); // the freed cluster's refcount drops now
  const sizeBefore = file.size;
  await q.write(MiB + 100, new Uint8Array(10).fill(0xcc));
  assert.equal(file.size, sizeBefore, 'the freed cluster was reused');
  const back = new Uint8Array(C);
  await q.read(MiB, back);
  assert.ok(back.every((x, i) => x === (i >= 100 && i < 110 ? 0xcc : 0)), 'the rest of the cluster reads zeros');
  await q.close();
});
