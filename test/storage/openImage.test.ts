// openImage: format detection, format=raw on qcow2, snapshot overlays,
// backing files relative to the image's directory, Blob sources.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileDisk } from '../../src/storage/FileDisk.ts';
import { MemoryDisk } from '../../src/storage/MemoryDisk.ts';
import { OverlayDisk } from '../../src/storage/OverlayDisk.ts';
import { Qcow2Image } from '../../src/storage/Qcow2Image.ts';
import { openImage } from '../../src/storage/openImage.ts';
import { readAll, tempDir } from './helpers.ts';

const MiB = 1 << 20;

async function makeQcow2(path: string, size: number, backing?: { file: string; format?: string }): Promise<void> {
  const f = await FileDisk.open(path, { create: true });
  await Qcow2Image.create(f, { size, backingFile: backing?.file, backingFormat: backing?.format });
  await f.close();
}

test('openImage: raw files, qcow2 detected by magic, format=raw keeps a qcow2 raw', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'disk.raw'), new Uint8Array(MiB).fill(3));
  const raw = await openImage(join(dir, 'disk.raw'));
  assert.ok(raw instanceof FileDisk);
  await raw.write(0, new Uint8Array([4]));
  await raw.close();
  assert.equal(readFileSync(join(dir, 'disk.raw'))[0], 4);

  await makeQcow2(join(dir, 'disk.qcow2'), 2 * MiB);
  const q = await openImage(join(dir, 'disk.qcow2'));
  assert.ok(q instanceof Qcow2Image);
  assert.equal(q.size, 2 * MiB);
  await q.write(MiB, new Uint8Array([5, 6]));
  await q.close();
  const again = await openImage(join(dir, 'disk.qcow2'), { readOnly: true });
  const b = new Uint8Array(2);
  await again.read(MiB, b);
  assert.deepEqual([...b], [5, 6]);
  assert.equal(again.readOnly, true);
  await again.close();

  const asRaw = await openImage(join(dir, 'disk.qcow2'), { format: 'raw', readOnly: true });
  const magic = new Uint8Array(4);
  await asRaw.read(0, magic);
  assert.deepEqual([...magic], [0x51, 0x46, 0x49, 0xfb], 'the guest sees the qcow2 bytes');
  await asRaw.close();
  await assert.rejects(openImage(join(dir, 'disk.raw'), { format: 'qcow2' }), /not a qcow2 image/);
  await assert.rejects(openImage(join(dir, 'nope.img')), /cannot open .*nope\.img: no such file/);
});

test('openImage: snapshot writes to memory and leaves the image untouched', async (t) => {
  const dir = tempDir(t);
  await makeQcow2(join(dir, 's.qcow2'), MiB);
  const before = readFileSync(join(dir, 's.qcow2'));
  const disk = await openImage(join(dir, 's.qcow2'), { snapshot: true });
  assert.ok(disk instanceof OverlayDisk);
  await disk.write(1000, new Uint8Array(5000).fill(8));
  await disk.flush();
  const b = new Uint8Array(1);
  await disk.read(1000, b);
  assert.equal(b[0], 8);
  await disk.close();
  assert.ok(readFileSync(join(dir, 's.qcow2')).equals(before));
});

test('openImage: backing files resolve relative to the image directory, chains of formats', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'base'));
  mkdirSync(join(dir, 'vm'));
  writeFileSync(join(dir, 'base', 'os.raw'), new Uint8Array(MiB).fill(0x40));
  await makeQcow2(join(dir, 'base', 'mid.qcow2'), MiB, { file: 'os.raw', format: 'raw' });
  await makeQcow2(join(dir, 'vm', 'top.qcow2'), 2 * MiB, { file: '../base/mid.qcow2' }); // no format: probed
  const mid = await openImage(join(dir, 'base', 'mid.qcow2'));
  await mid.write(4096, new Uint8Array(10).fill(0x41));
  await mid.close();

  const cwd = process.cwd();
  process.chdir('/');
  try {
    const top = await openImage(join(dir, 'vm', 'top.qcow2'));
    const all = await readAll(top);
    assert.equal(all[0], 0x40);
    assert.equal(all[4096], 0x41);
    assert.equal(all[MiB], 0, 'past the backing file');
    await top.write(0, new Uint8Array([1]));
    await top.close();
  } finally {
    process.chdir(cwd);
  }
  assert.equal(readFileSync(join(dir, 'base', 'os.raw'))[0], 0x40, 'backing files are never written');

  await makeQcow2(join(dir, 'vm', 'lost.qcow2'), MiB, { file: 'missing.qcow2' });
  await assert.rejects(openImage(join(dir, 'vm', 'lost.qcow2')), /cannot open .*missing\.qcow2: no such file/);
  await makeQcow2(join(dir, 'vm', 'nbd.qcow2'), MiB, { file: 'nbd://host/export' });
  await assert.rejects(openImage(join(dir, 'vm', 'nbd.qcow2')), /protocol that is not supported/);
  await makeQcow2(join(dir, 'vm', 'vmdk.qcow2'), MiB, { file: 'x.vmdk', format: 'vmdk' });
  await assert.rejects(openImage(join(dir, 'vm', 'vmdk.qcow2')), /unsupported format 'vmdk'/);
  await makeQcow2(join(dir, 'vm', 'self.qcow2'), MiB, { file: 'self.qcow2', format: 'qcow2' });
  await assert.rejects(openImage(join(dir, 'vm', 'self.qcow2')), /backing chain loops/);
});

test('openImage: dropped Blobs are read-only with an overlay; their backing files come from the caller', async () => {
  const file = new MemoryDisk(0);
  await Qcow2Image.create(file, { size: MiB, backingFile: 'base.img', backingFormat: 'raw' });
  const blob = new Blob([await readAll(file)]);
  await assert.rejects(openImage(blob), /needs its backing file 'base\.img'/);
  const disk = await openImage(blob, { openBacking: async () => new Blob([new Uint8Array(MiB).fill(6)]) });
  assert.ok(disk instanceof OverlayDisk);
  const b = new Uint8Array(1);
  await disk.read(77, b);
  assert.equal(b[0], 6);
  await disk.write(77, new Uint8Array([7]));
  await disk.read(77, b);
  assert.equal(b[0], 7);
  await disk.close();

  const rawBlob = await openImage(new Blob([new Uint8Array(4096).fill(1)]), { readOnly: true });
  assert.equal(rawBlob.readOnly, true);
  assert.equal(rawBlob.size, 4096);
  await rawBlob.close();
});
