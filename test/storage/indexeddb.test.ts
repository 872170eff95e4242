// IndexedDbDisk and DiskStore on fake-indexeddb (the real-IndexedDB test runs
// in Chromium with the page).

import 'fake-indexeddb/auto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError } from '../../src/storage/BlockDevice.ts';
import { DiskStore } from '../../src/storage/IndexedDbDisk.ts';
import { MemoryDisk } from '../../src/storage/MemoryDisk.ts';
import { Qcow2Image } from '../../src/storage/Qcow2Image.ts';
import { assertSameBytes, prng, randomBytes, readAll } from './helpers.ts';

const KiB = 1024;
const MiB = 1 << 20;
let dbCount = 0;
const freshStore = () => DiskStore.open(`wkvm-test-${++dbCount}`);

test('IndexedDbDisk: sparse chunks, buffered writes durable on flush, reopen', async () => {
  const store = await freshStore();
  const info = await store.create('hd', 10 * 1024 * MiB, { chunkSize: 64 * KiB }); // 10 GiB, thin
  assert.equal(info.storedBytes, 0);
  const disk = await store.open('hd');
  assert.equal(disk.size, 10 * 1024 * MiB);
  await disk.write(5 * 1024 * MiB + 100, new Uint8Array([1, 2, 3]));
  await disk.write(65536 - 2, new Uint8Array(4).fill(9)); // straddles two chunks
  const b = new Uint8Array(3);
  await disk.read(5 * 1024 * MiB + 100, b);
  assert.deepEqual([...b], [1, 2, 3], 'buffered writes read back before flush');
  assert.equal((await store.get('hd'))!.storedBytes, 0, 'nothing stored before flush');
  await disk.flush();
  assert.equal((await store.get('hd'))!.storedBytes, 3 * 64 * KiB, 'only written chunks are stored');

  // Unflushed writes are lost when the disk is dropped without flush/close.
  await disk.write(0, new Uint8Array([0x55]));
  const other = await store.open('hd');
  const z = new Uint8Array(1);
  await other.read(0, z);
  assert.equal(z[0], 0);
  await other.read(5 * 1024 * MiB + 101, z);
  assert.equal(z[0], 2);
  await disk.close(); // close flushes
  await other.read(0, z);
  assert.equal(z[0], 0x55);

  // Writing zeros over a chunk frees it.
  await other.writeZeroes(5 * 1024 * MiB, 64 * KiB);
  await other.write(65536 - 2, new Uint8Array(4));
  await other.close();
  assert.equal((await store.get('hd'))!.storedBytes, 64 * KiB);
  store.close();
});

test('IndexedDbDisk: random workload against a model, across reopen', async () => {
  const store = await freshStore();
  await store.create('w', 3 * MiB + 5000, { chunkSize: 16 * KiB });
  let disk = await store.open('w');
  const model = new Uint8Array(disk.size);
  const rand = prng(21);
  for (let i = 0; i < 150; i++) {
    const len = 1 + Math.floor(rand() * 50000);
    const off = Math.floor(rand() * (disk.size - len));
    if (rand() < 0.8) {
      const data = randomBytes(rand, len);
      await disk.write(off, data);
      model.set(data, off);
    } else {
      await disk.writeZeroes(off, len);
      model.fill(0, off, off + len);
    }
    if (i % 40 === 0) await disk.flush();
  }
  assertSameBytes(await readAll(disk), model, 'before close');
  await disk.close();
  disk = await store.open('w', { readOnly: true });
  assertSameBytes(await readAll(disk), model, 'after reopen');
  await assert.rejects(disk.write(0, new Uint8Array(1)), /read-only/);
  await disk.close();
  store.close();
});

test('DiskStore: list, create, rename, delete, import, export', async () => {
  const store = await freshStore();
  await store.create('b', MiB);
  await store.create('a', 2 * MiB, { chunkSize: 4096 });
  await assert.rejects(store.create('a', MiB), /already exists/);
  await assert.rejects(store.create('', MiB), /invalid disk name/);
  assert.deepEqual((await store.list()).map((d) => [d.name, d.size, d.storedBytes]), [['a', 2 * MiB, 0], ['b', MiB, 0]]);

  const a = await store.open('a');
  const payload = randomBytes(prng(3), 10000);
  await a.write(MiB, payload);
  await a.close();
  await store.rename('a', 'c');
  await assert.rejects(store.rename('b', 'c'), /already exists/);
  await assert.rejects(store.open('a'), /no disk named 'a'/);
  const c = await store.open('c');
  const back = new Uint8Array(10000);
  await c.read(MiB, back);
  assertSameBytes(back, payload, 'data follows the rename');
  await c.close();

  // Export: a stream and a Blob of the raw image.
  const blob = await store.exportBlob('c');
  assert.equal(blob.size, 2 * MiB);
  const raw = new Uint8Array(await blob.arrayBuffer());
  assertSameBytes(raw.subarray(MiB, MiB + 10000), payload);
  assert.ok(raw.subarray(0, MiB).every((x) => x === 0));
  let streamed = 0;
  for await (const part of store.export('c') as unknown as AsyncIterable<Uint8Array>) streamed += part.length;
  assert.equal(streamed, 2 * MiB);

  // Import a qcow2-backed device and delete.
  const file = new MemoryDisk(0);
  await Qcow2Image.create(file, { size: MiB });
  const q = await Qcow2Image.open(file, { closeContainer: false });
  await q.write(4096, payload);
  const imported = await store.import('from-qcow2', q);
  assert.equal(imported.size, MiB);
  assert.ok(imported.storedBytes > 0 && imported.storedBytes <= 64 * KiB);
  await q.close();
  const d = await store.open('from-qcow2');
  await d.read(4096, back);
  assertSameBytes(back, payload);
  await d.close();

  await store.delete('c');
  await assert.rejects(store.delete('c'), (e: Error) => e instanceof StorageError && /no disk named/.test(e.message));
  assert.deepEqual((await store.list()).map((x) => x.name), ['b', 'from-qcow2']);
  // A disk deleted while open cannot be written back.
  const b = await store.open('b');
  await store.delete('b');
  await b.write(0, new Uint8Array([1]));
  await assert.rejects(b.flush(), /was deleted/);
  store.close();
});
