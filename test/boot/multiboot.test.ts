// The multiboot v1 loader against the specification's structures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planMultibootBoot, MULTIBOOT_INFO_ADDR } from '../../src/boot/Multiboot.ts';

function aoutKernel(flags = 0x00010003): Uint8Array {
  const load = 0x100000;
  const img = new Uint8Array(0x2000);
  const dv = new DataView(img.buffer);
  const hdr = 0x40;
  dv.setUint32(hdr, 0x1badb002, true);
  dv.setUint32(hdr + 4, flags, true);
  dv.setUint32(hdr + 8, (-(0x1badb002 + flags)) >>> 0, true);
  dv.setUint32(hdr + 12, load + hdr, true); // header_addr
  dv.setUint32(hdr + 16, load, true); // load_addr
  dv.setUint32(hdr + 20, load + 0x1000, true); // load_end_addr
  dv.setUint32(hdr + 24, load + 0x3000, true); // bss_end_addr
  dv.setUint32(hdr + 28, load + 0x80, true); // entry
  img[0x100] = 0xaa;
  img[0x1100] = 0xbb; // beyond load_end: must not be loaded
  return img;
}

function elfKernel(): Uint8Array {
  const img = new Uint8Array(0x3000);
  const dv = new DataView(img.buffer);
  dv.setUint32(0, 0x7f454c46, false);
  img[4] = 1; img[5] = 1; img[6] = 1;
  dv.setUint16(16, 2, true); dv.setUint16(18, 3, true);
  dv.setUint32(24, 0x200010, true); // entry
  dv.setUint32(28, 52, true); dv.setUint16(42, 32, true); dv.setUint16(44, 1, true);
  const p = 52;
  dv.setUint32(p, 1, true); dv.setUint32(p + 4, 0x1000, true); dv.setUint32(p + 8, 0x200000, true);
  dv.setUint32(p + 12, 0x200000, true); dv.setUint32(p + 16, 0x1000, true); dv.setUint32(p + 20, 0x2000, true);
  const hdr = 0x100; const flags = 3;
  dv.setUint32(hdr, 0x1badb002, true); dv.setUint32(hdr + 4, flags, true); dv.setUint32(hdr + 8, (-(0x1badb002 + flags)) >>> 0, true);
  img[0x1000] = 0xcc;
  return img;
}

test('a.out kludge: loads load_addr..load_end_addr and zeroes the bss', () => {
  const plan = planMultibootBoot(aoutKernel(), { ramSize: 32 << 20, cmdline: 'hello' });
  assert.equal(plan.entry, 0x100080);
  assert.equal(plan.regs.eax, 0x2badb002);
  assert.equal(plan.regs.ebx, MULTIBOOT_INFO_ADDR);
  const k = plan.loads.find((l) => l.what === 'kernel')!;
  assert.equal(k.addr, 0x100000);
  assert.equal(k.bytes.length, 0x3000);
  assert.equal(k.bytes[0x100], 0xaa);
  assert.equal(k.bytes[0x1100], 0, 'bss is zero, file bytes past load_end are not loaded');
  const info = plan.loads.find((l) => l.what === 'multiboot information')!;
  const dv = new DataView(info.bytes.buffer);
  const flags = dv.getUint32(0, true);
  assert.ok(flags & 1 && flags & 4 && flags & 64, 'mem, cmdline and mmap present');
  assert.equal(dv.getUint32(4, true), 640);
  assert.equal(dv.getUint32(8, true), (32 << 20) / 1024 - 1024);
  const cmd = dv.getUint32(16, true) - MULTIBOOT_INFO_ADDR;
  assert.equal(new TextDecoder().decode(info.bytes.subarray(cmd, cmd + 5)), 'hello');
  const mmapLen = dv.getUint32(44, true);
  const mmap = dv.getUint32(48, true) - MULTIBOOT_INFO_ADDR;
  assert.equal(mmapLen % 24, 0);
  assert.equal(dv.getUint32(mmap, true), 20, 'entry size field');
});

test('ELF kernel with modules', () => {
  const mod = new Uint8Array(5000).fill(9);
  const plan = planMultibootBoot(elfKernel(), { ramSize: 32 << 20, modules: [{ bytes: mod, cmdline: 'm1' }] });
  assert.equal(plan.entry, 0x200010);
  const k = plan.loads.find((l) => l.what === 'kernel')!;
  assert.equal(k.addr, 0x200000);
  assert.equal(k.bytes.length, 0x2000);
  assert.equal(k.bytes[0], 0xcc);
  const m = plan.loads.find((l) => l.what === 'module 1')!;
  assert.equal(m.addr, 0x202000);
  const info = plan.loads.find((l) => l.what === 'multiboot information')!;
  const dv = new DataView(info.bytes.buffer);
  assert.equal(dv.getUint32(20, true), 1);
  const table = dv.getUint32(24, true) - MULTIBOOT_INFO_ADDR;
  assert.equal(dv.getUint32(table, true), 0x202000);
  assert.equal(dv.getUint32(table + 4, true), 0x202000 + 5000);
});

test('bad kernels get one-line errors', () => {
  assert.throws(() => planMultibootBoot(new Uint8Array(9000), { ramSize: 32 << 20 }), /not a multiboot kernel/);
  assert.throws(() => planMultibootBoot(aoutKernel(0x00010007 | 0x8), { ramSize: 32 << 20 }), /requires features/);
  const trunc = aoutKernel().subarray(0, 0x800);
  assert.throws(() => planMultibootBoot(trunc, { ramSize: 32 << 20 }), /truncated/);
  const elf = elfKernel().subarray(0, 0x1800);
  assert.throws(() => planMultibootBoot(elf, { ramSize: 32 << 20 }), /truncated/);
});
