// Dropped files are told apart by their first bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyFile } from '../../src/ui/fileKind.ts';

function bytesWith(size: number, at: number, content: number[] | string): Blob {
  const b = new Uint8Array(size);
  b.set(typeof content === 'string' ? [...content].map((c) => c.charCodeAt(0)) : content, at);
  return new Blob([b]);
}

function u32(...words: number[]): number[] {
  return words.flatMap((w) => [w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24]);
}

test('a bzImage has HdrS at 0x202', async () => {
  assert.deepEqual(await classifyFile(bytesWith(4096, 0x202, 'HdrS'), 'vmlinuz'), { kind: 'kernel', flavour: 'bzImage' });
});

test('a multiboot kernel: the magic with a valid checksum, 4-byte aligned in the first 8 KiB', async () => {
  const good = u32(0x1badb002, 3, (-(0x1badb002 + 3)) >>> 0);
  assert.deepEqual(await classifyFile(bytesWith(16384, 0x1000, good), 'kernel.elf'), { kind: 'kernel', flavour: 'multiboot' });
  const badSum = u32(0x1badb002, 3, 0);
  await assert.rejects(classifyFile(bytesWith(16383, 0x1000, badSum), 'kernel.elf'), /kernel\.elf is not a disk image, kernel or initramfs/);
  const tooFar = bytesWith(16384, 0x2000, good);
  assert.equal((await classifyFile(tooFar, 'x.bin')).kind, 'disk', 'past 8 KiB it is not a multiboot header');
});

test('an initramfs: cpio or gzip', async () => {
  assert.deepEqual(await classifyFile(bytesWith(1000, 0, '070701'), 'initrd'), { kind: 'initrd' });
  assert.deepEqual(await classifyFile(bytesWith(1000, 0, [0x1f, 0x8b, 8]), 'initramfs.cpio.gz'), { kind: 'initrd' });
  await assert.rejects(classifyFile(bytesWith(1000, 0, [0x1f, 0x8b, 8]), 'disk.img'), /disk\.img is gzip-compressed: decompress it first/);
});

test('disk images: qcow2 by magic, ISO 9660 read-only, whole sectors raw', async () => {
  assert.deepEqual(await classifyFile(bytesWith(1000, 0, 'QFI\xfb'), 'x'), { kind: 'disk', format: 'qcow2', readOnly: false });
  assert.deepEqual(await classifyFile(bytesWith(0x9000, 0x8001, 'CD001'), 'cd'), { kind: 'disk', format: 'raw', readOnly: true });
  assert.deepEqual(await classifyFile(bytesWith(1 << 20, 0, []), 'disk'), { kind: 'disk', format: 'raw', readOnly: false });
  assert.deepEqual(await classifyFile(bytesWith(1000, 0, []), 'odd.img'), { kind: 'disk', format: 'raw', readOnly: false });
  await assert.rejects(classifyFile(bytesWith(1000, 0, []), 'notes.txt'), /notes\.txt is not a disk image, kernel or initramfs/);
  await assert.rejects(classifyFile(new Blob([]), 'empty.img'), /empty\.img is empty/);
});
