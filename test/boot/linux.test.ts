// The bzImage loader against the boot protocol (Documentation/arch/x86/boot.rst).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planLinuxBoot, LINUX_ZERO_PAGE_ADDR, LINUX_CMDLINE_ADDR } from '../../src/boot/LinuxBoot.ts';
import { BootError } from '../../src/boot/BootPlan.ts';
import { e820Map, E820_RAM } from '../../src/boot/MemoryMap.ts';

/** A minimal bzImage: setup sectors with a 2.15 header, then `kernelLen` bytes of "kernel". */
function fakeBzImage(kernelLen = 64 * 1024, version = 0x020f): Uint8Array {
  const setupSects = 4;
  const img = new Uint8Array((setupSects + 1) * 512 + kernelLen);
  const dv = new DataView(img.buffer);
  img[0x1f1] = setupSects;
  dv.setUint32(0x1f4, kernelLen / 16, true); // syssize
  dv.setUint16(0x1fe, 0xaa55, true);
  img[0x200] = 0xeb;
  img[0x201] = 0x66; // header runs to 0x268
  dv.setUint32(0x202, 0x53726448, true);
  dv.setUint16(0x206, version, true);
  img[0x211] = 0x01; // LOADED_HIGH
  dv.setUint32(0x214, 0x100000, true);
  dv.setUint32(0x22c, 0x7fffffff, true); // initrd_addr_max
  dv.setUint32(0x238, 2048, true); // cmdline_size
  dv.setUint32(0x260, 0x400000, true); // init_size: 4 MiB
  for (let i = 0; i < kernelLen; i++) img[(setupSects + 1) * 512 + i] = i & 0xff;
  return img;
}

test('loads the protected-mode kernel at 1 MiB and fills the zero page', () => {
  const ramSize = 64 << 20;
  const initrd = new Uint8Array(10000).fill(7);
  const plan = planLinuxBoot(fakeBzImage(), { ramSize, cmdline: 'console=ttyS0', initrd });
  assert.equal(plan.entry, 0x100000);
  assert.equal(plan.regs.esi, LINUX_ZERO_PAGE_ADDR);
  assert.equal(plan.regs.ebx, 0);
  const kernel = plan.loads.find((l) => l.what === 'kernel')!;
  assert.equal(kernel.addr, 0x100000);
  assert.equal(kernel.bytes.length, 64 * 1024);
  assert.equal(kernel.bytes[5], 5);
  const cmd = plan.loads.find((l) => l.what === 'command line')!;
  assert.equal(cmd.addr, LINUX_CMDLINE_ADDR);
  assert.equal(new TextDecoder().decode(cmd.bytes), 'console=ttyS0\0');

  const zp = plan.loads.find((l) => l.what === 'zero page')!.bytes;
  const dv = new DataView(zp.buffer);
  assert.equal(dv.getUint32(0x202, true), 0x53726448, 'setup header copied');
  assert.equal(zp[0x210], 0xff, 'type_of_loader');
  assert.equal(dv.getUint32(0x228, true), LINUX_CMDLINE_ADDR, 'cmd_line_ptr');
  // initrd: page aligned, at the top of RAM below initrd_addr_max
  const rd = plan.loads.find((l) => l.what === 'initrd')!;
  assert.equal(rd.addr % 4096, 0);
  assert.ok(rd.addr + initrd.length <= ramSize && rd.addr + initrd.length > ramSize - 4096 - initrd.length);
  assert.equal(dv.getUint32(0x218, true), rd.addr);
  assert.equal(dv.getUint32(0x21c, true), 10000);
  // e820: as many entries as the map, RAM from 1 MiB to the top
  const map = e820Map(ramSize);
  assert.equal(zp[0x1e8], map.length);
  const entries = Array.from({ length: zp[0x1e8] }, (_, i) => ({
    addr: Number(dv.getBigUint64(0x2d0 + i * 20, true)),
    size: Number(dv.getBigUint64(0x2d0 + i * 20 + 8, true)),
    type: dv.getUint32(0x2d0 + i * 20 + 16, true),
  }));
  assert.deepEqual(entries.find((e) => e.addr === 0x100000), { addr: 0x100000, size: ramSize - 0x100000, type: E820_RAM });
  assert.equal(dv.getUint16(0x002, true), (ramSize - 0x100000) / 1024, 'ext_mem_k');
});

test('rejects what is not a usable bzImage with one-line errors', () => {
  const ram = { ramSize: 64 << 20 };
  assert.throws(() => planLinuxBoot(new Uint8Array(100), ram), (e: unknown) => e instanceof BootError && /not a Linux bzImage/.test(e.message));
  assert.throws(() => planLinuxBoot(fakeBzImage(4096, 0x0204), ram), /too old/);
  const img = fakeBzImage();
  assert.throws(() => planLinuxBoot(img.subarray(0, img.length - 100), ram), /truncated/);
  assert.throws(() => planLinuxBoot(img.subarray(0, 5 * 512), ram), /truncated/);
  assert.throws(() => planLinuxBoot(img, { ramSize: 4 << 20 }), /too little/);
  assert.throws(() => planLinuxBoot(img, { ramSize: 8 << 20, initrd: new Uint8Array(4 << 20) }), /too little for the kernel and a 4 MiB initrd/);
  assert.throws(() => planLinuxBoot(img, { ...ram, cmdline: 'x'.repeat(3000) }), /command line is 3000 bytes/);
});
