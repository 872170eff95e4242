// MemoryDisk, FileDisk, BlobDisk and OverlayDisk.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StorageError, type BlockDevice } from '../../src/storage/BlockDevice.ts';
import { BlobDisk } from '../../src/storage/BlobDisk.ts';
import { FileDisk } from '../../src/storage/FileDisk.ts';
import { MemoryDisk } from '../../src/storage/MemoryDisk.ts';
import { OverlayDisk } from '../../src/storage/OverlayDisk.ts';
import { assertSameBytes, prng, randomBytes, readAll, tempDir } from './helpers.ts';

const MiB = 1 << 20;

/** Random reads/writes/zeroes against a model. */
async function exercise(disk: BlockDevice, seed: number, ops = 200, maxLen = 100000): Promise<Uint8Array> {
  const model = await readAll(disk);
  const rand = prng(seed);
  for (let i = 0; i < ops; i++) {
    const len = Math.floor(rand() * maxLen);
    const off = Math.floor(rand() * (disk.size - len));
    const r = rand();
    if (r < 0.6) {
      const data = randomBytes(rand, len);
      await disk.write(off, data);
      model.set(data, off);
    } else if (r < 0.75 && disk.writeZeroes) {
      await disk.writeZeroes(off, len);
      model.fill(0, off, off + len);
    } else {
      const got = new Uint8Array(len);
      await disk.read(off, got);
      assertSameBytes(got, model.subarray(off, off + len), `read ${off}+${len}`);
    }
  }
  assertSameBytes(await readAll(disk), model, 'whole disk');
  return model;
}

test('MemoryDisk: sparse, reads zeros, keeps writes, frees on zeroing', async () => {
  const disk = new MemoryDisk(1024 * 1024 * MiB); // 1 TiB costs nothing
  assert.equal(disk.bytesStored, 0);
  const b = new Uint8Array(10);
  await disk.read(1024 * 1024 * MiB - 10, b);
  assert.ok(b.every((x) => x === 0));
  await disk.write(5 * MiB - 3, new Uint8Array([1, 2, 3, 4, 5, 6]));
  assert.equal(disk.bytesStored, 2 * 65536);
  await disk.write(100 * MiB, new Uint8Array(4096)); // zeros over a hole stay a hole
  assert.equal(disk.bytesStored, 2 * 65536);
  await disk.writeZeroes(5 * MiB - 65536, 2 * 65536);
  assert.equal(disk.bytesStored, 0);
  await assert.rejects(disk.read(1024 * 1024 * MiB - 1, new Uint8Array(2)), StorageError);
  await assert.rejects(disk.write(-1, new Uint8Array(1)), /outside/);

  const small = new MemoryDisk(3 * MiB + 77, { chunkSize: 4096 });
  await exercise(small, 1);
  await small.resize(MiB);
  await small.resize(2 * MiB);
  const tail = new Uint8Array(MiB);
  await small.read(MiB, tail);
  assert.ok(tail.every((x) => x === 0), 'grown space reads zeros');
  const ro = MemoryDisk.from(new Uint8Array([1, 2, 3]), { readOnly: true });
  await assert.rejects(ro.write(0, new Uint8Array(1)), /read-only/);
  await small.close();
  await assert.rejects(small.read(0, new Uint8Array(1)), /closed/);
});

test('FileDisk: reads, writes, resizes, flushes; read-only; missing files', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'disk.img');
  const initial = randomBytes(prng(2), 2 * MiB + 512);
  writeFileSync(path, initial);
  const disk = await FileDisk.open(path);
  assert.equal(disk.size, initial.length);
  assertSameBytes(await readAll(disk), initial);
  const model = await exercise(disk, 3);
  await disk.flush();
  assertSameBytes(new Uint8Array(readFileSync(path)), model, 'file contents');
  await disk.resize(3 * MiB);
  assert.equal(statSync(path).size, 3 * MiB);
  await disk.close();

  const ro = await FileDisk.open(path, { readOnly: true });
  assert.equal(ro.readOnly, true);
  await assert.rejects(ro.write(0, new Uint8Array(1)), /read-only/);
  await ro.close();

  await assert.rejects(FileDisk.open(join(dir, 'missing.img')), (e: Error) => {
    assert.ok(e instanceof StorageError);
    assert.equal(e.message, `cannot open ${join(dir, 'missing.img')}: no such file`);
    return true;
  });
  await assert.rejects(FileDisk.open(dir), /is a directory/);
  if (process.getuid?.() !== 0) {
    writeFileSync(join(dir, 'locked.img'), 'x');
    chmodSync(join(dir, 'locked.img'), 0o000);
    await assert.rejects(FileDisk.open(join(dir, 'locked.img')), /permission denied/);
  }
  const created = await FileDisk.open(join(dir, 'new.img'), { create: true, size: MiB });
  assert.equal(created.size, MiB);
  await created.close();
});

test('BlobDisk: lazy slices of a Blob/File, read-only', async () => {
  const bytes = randomBytes(prng(4), MiB + 123);
  let sliced = 0;
  class CountingBlob extends Blob {
    override slice(start?: number, end?: number, type?: string): Blob {
      sliced += (end ?? this.size) - (start ?? 0);
      return super.slice(start, end, type);
    }
  }
  const disk = new BlobDisk(new CountingBlob([bytes]), 'dropped.img');
  assert.equal(disk.size, bytes.length);
  assert.equal(disk.readOnly, true);
  const part = new Uint8Array(1000);
  await disk.read(MiB - 1500, part);
  assertSameBytes(part, bytes.subarray(MiB - 1500, MiB - 500));
  assert.equal(sliced, 1000, 'only the requested bytes are read');
  await assert.rejects(disk.write(0, new Uint8Array(1)), /read-only/);
  await assert.rejects(disk.read(MiB + 100, new Uint8Array(100)), /outside/);
  const file = new File([bytes], 'named.img');
  assert.equal(new BlobDisk(file).name, 'named.img');
});

test('OverlayDisk: copy-on-write over a read-only base, partial chunks, zeroes', async () => {
  for (const chunkSize of [4096, 65536]) {
    const baseBytes = randomBytes(prng(chunkSize), 3 * MiB + 1000);
    const base = MemoryDisk.from(baseBytes, { readOnly: true });
    const disk = new OverlayDisk(base, { chunkSize });
    assert.equal(disk.readOnly, false);
    assert.equal(disk.size, base.size);
    assertSameBytes(await readAll(disk), baseBytes);
    await disk.write(10, new Uint8Array([9, 9]));
    assert.equal(disk.bytesChanged, chunkSize);
    const head = new Uint8Array(16);
    await disk.read(0, head);
    assert.deepEqual([...head.subarray(8, 14)], [baseBytes[8], baseBytes[9], 9, 9, baseBytes[12], baseBytes[13]]);
    await exercise(disk, chunkSize + 1, 300);
    await disk.discard(0, 2 * chunkSize + 5);
    const z = new Uint8Array(2 * chunkSize);
    await disk.read(0, z);
    assert.ok(z.every((x) => x === 0));
    assertSameBytes(await readAll(base), baseBytes, 'base untouched');
    await disk.close();
  }
});

test('OverlayDisk: concurrent partial writes into one chunk are not lost; a given overlay device is used', async () => {
  const base = MemoryDisk.from(new Uint8Array(MiB).fill(1), { readOnly: true });
  const overlay = new MemoryDisk(MiB, { chunkSize: 4096 });
  const disk = new OverlayDisk(base, { overlay, chunkSize: 65536, closeBase: false });
  await Promise.all(Array.from({ length: 64 }, (_, i) => disk.write(i * 512, new Uint8Array(512).fill(i + 2))));
  const back = new Uint8Array(65536);
  await disk.read(0, back);
  for (let i = 0; i < 64; i++) assert.equal(back[i * 512], i + 2);
  assert.equal(back[64 * 512], 1);
  assert.ok(overlay.bytesStored > 0);
  await disk.flush();
  await disk.close();
  assert.throws(() => new OverlayDisk(base, { overlay: new MemoryDisk(10) }), /smaller than the base/);
});
