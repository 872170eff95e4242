// QEMU fw_cfg on ports 0x510/0x511/0x514: signature and items through the
// data port, the file directory, DMA reads into RAM (zero fill past the
// item, skip, select), hostile descriptors (outside RAM, overflowing,
// writes), -kernel items, reset and save/restore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PortBus } from '../../src/vmm/PortBus.ts';
import { GuestMemory } from '../../src/vmm/GuestMemory.ts';
import {
  FwCfg,
  FW_CFG_DMA_CTL_ERROR,
  FW_CFG_DMA_CTL_READ,
  FW_CFG_DMA_CTL_SELECT,
  FW_CFG_DMA_CTL_SKIP,
  FW_CFG_DMA_CTL_WRITE,
  FW_CFG_FILE_DIR,
  FW_CFG_ID,
  FW_CFG_RAM_SIZE,
  FW_CFG_NB_CPUS,
  FW_CFG_MAX_CPUS,
  FW_CFG_SIGNATURE,
  FW_CFG_KERNEL_ADDR,
  FW_CFG_KERNEL_SIZE,
  FW_CFG_KERNEL_DATA,
  FW_CFG_SETUP_ADDR,
  FW_CFG_SETUP_SIZE,
  FW_CFG_SETUP_DATA,
  FW_CFG_INITRD_ADDR,
  FW_CFG_INITRD_SIZE,
  FW_CFG_CMDLINE_ADDR,
  FW_CFG_CMDLINE_SIZE,
  FW_CFG_CMDLINE_DATA,
  FW_CFG_KERNEL_CMDLINE,
  FW_CFG_E820_TABLE,
} from '../../src/devices/FwCfg.ts';

const RAM = 1 << 20;

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

function setup(withMemory = true) {
  const ram = new Uint8Array(RAM);
  const mem = new GuestMemory(ram);
  const ports = new PortBus();
  const fw = new FwCfg({ memory: withMemory ? mem : undefined, ramSize: 512 * 1024 * 1024, nbCpus: 2, maxCpus: 4 });
  fw.register(ports);
  const select = (key: number) => ports.write(0x510, 2, key);
  const readBytes = (n: number) => Array.from({ length: n }, () => ports.read(0x511, 1));
  const dv = new DataView(ram.buffer);
  /** Writes a descriptor at `at` (big-endian fields) and starts it by writing the DMA address. */
  const dma = (at: number, control: number, length: number, address: number, high = 0) => {
    dv.setUint32(at, control >>> 0, false);
    dv.setUint32(at + 4, length >>> 0, false);
    dv.setUint32(at + 8, high >>> 0, false);
    dv.setUint32(at + 12, address >>> 0, false);
    ports.write(0x514, 4, 0); // high half of the descriptor address: 0
    ports.write(0x518, 4, bswap32(at)); // low half (big-endian register) starts the transfer
    return dv.getUint32(at, false);
  };
  return { ram, mem, ports, fw, select, readBytes, dv, dma };
}

const text = (b: number[] | Uint8Array) => String.fromCharCode(...b);
const hash = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('signature "QEMU" through the data port; reads past the end give 0', () => {
  const { select, readBytes, ports } = setup();
  // After reset the signature is selected already.
  assert.equal(text(readBytes(4)), 'QEMU');
  assert.deepEqual(readBytes(3), [0, 0, 0]);
  select(FW_CFG_SIGNATURE);
  assert.equal(text(readBytes(4)), 'QEMU', 'selecting rewinds the offset');
  // A byte read at 0x510 is a data read too (QEMU's combined region).
  select(FW_CFG_SIGNATURE);
  assert.equal(ports.read(0x510, 1), 0x51);
  assert.equal(ports.read(0x511, 1), 0x45);
  // Wider accesses are not decoded: no data consumed.
  assert.equal(ports.read(0x510, 2), 0xffff);
  assert.equal(ports.read(0x511, 4), 0xffffffff);
  assert.equal(ports.read(0x511, 1), 0x4d);
  // Byte writes (the removed data-write path) change nothing.
  ports.write(0x510, 1, 0x05);
  ports.write(0x511, 1, 0x05);
  assert.equal(ports.read(0x511, 1), 0x55);
  // An unknown key reads as zeros; bit 14 (write channel) is ignored.
  select(0x1234);
  assert.deepEqual(readBytes(2), [0, 0]);
  select(0x4000 | FW_CFG_SIGNATURE);
  assert.equal(text(readBytes(4)), 'QEMU');
});

test('ID, RAM size, CPU counts; the DMA register reads "QEMU CFG"', () => {
  const { select, readBytes, ports } = setup();
  select(FW_CFG_ID);
  assert.deepEqual(readBytes(4), [3, 0, 0, 0], 'traditional + DMA');
  select(FW_CFG_RAM_SIZE);
  assert.deepEqual(readBytes(8), [0, 0, 0, 0x20, 0, 0, 0, 0]);
  select(FW_CFG_NB_CPUS);
  assert.deepEqual(readBytes(2), [2, 0]);
  select(FW_CFG_MAX_CPUS);
  assert.deepEqual(readBytes(2), [4, 0]);
  assert.equal(text(Array.from({ length: 8 }, (_, i) => ports.read(0x514 + i, 1))), 'QEMU CFG');
  assert.equal(ports.read(0x514, 4), 0x554d4551, 'little-endian view of "QEMU"');
  assert.equal(ports.read(0x518, 4), 0x47464320, '" CFG"');
  const noDma = setup(false);
  noDma.select(FW_CFG_ID);
  assert.deepEqual(noDma.readBytes(4), [1, 0, 0, 0], 'traditional only');
  assert.equal(noDma.ports.read(0x514, 4), 0xffffffff, 'no DMA register');
});

test('file directory: big-endian count and entries, sorted by name; selectors from 0x20', () => {
  const { fw, select, readBytes } = setup();
  const sB = fw.addFile('etc/boot-fail-wait', new Uint8Array([0xff, 0xff, 0xff, 0xff]));
  const sA = fw.addFile('bootorder', new TextEncoder().encode('/pci@i0cf8/ide@1,1\n'));
  const sC = fw.addFile('opt/org.wkvm/hello', new Uint8Array(300).fill(7));
  assert.deepEqual([sB, sA, sC], [0x20, 0x21, 0x22]);
  select(FW_CFG_FILE_DIR);
  const count = readBytes(4);
  assert.deepEqual(count, [0, 0, 0, 3]);
  const entries = [0, 1, 2].map(() => {
    const e = readBytes(64);
    const size = (e[0] << 24) | (e[1] << 16) | (e[2] << 8) | e[3];
    const sel = (e[4] << 8) | e[5];
    const nameBytes = e.slice(8);
    const name = text(nameBytes.slice(0, nameBytes.indexOf(0)));
    return { name, size, sel };
  });
  assert.deepEqual(entries, [
    { name: 'bootorder', size: 19, sel: 0x21 },
    { name: 'etc/boot-fail-wait', size: 4, sel: 0x20 },
    { name: 'opt/org.wkvm/hello', size: 300, sel: 0x22 },
  ]);
  assert.deepEqual(readBytes(1), [0], 'end of the directory');
  select(sA);
  assert.equal(text(readBytes(19)), '/pci@i0cf8/ide@1,1\n');
  // Replacing a file keeps its selector and updates the directory size.
  assert.equal(fw.addFile('bootorder', new Uint8Array(5)), sA);
  assert.equal(fw.fileSelector('bootorder'), 0x21);
  select(FW_CFG_FILE_DIR);
  const again = readBytes(4 + 64);
  assert.deepEqual(again.slice(4, 10), [0, 0, 0, 5, 0, 0x21]);
  assert.throws(() => fw.addFile('x'.repeat(56), new Uint8Array(1)), RangeError);
  assert.throws(() => fw.addItem(0x21, new Uint8Array(1)), /belongs to a file/);
  assert.throws(() => fw.addItem(FW_CFG_FILE_DIR, new Uint8Array(1)));
});

test('the directory selected while a file is added is re-read from the new contents', () => {
  const { fw, select, readBytes } = setup();
  select(FW_CFG_FILE_DIR);
  assert.deepEqual(readBytes(4), [0, 0, 0, 0]);
  fw.addFile('etc/a', new Uint8Array(1));
  select(FW_CFG_FILE_DIR);
  assert.deepEqual(readBytes(4), [0, 0, 0, 1]);
});

test('DMA read: select + read copies the item into RAM and clears control', () => {
  const { fw, ram, dma, select, readBytes, ports } = setup();
  const payload = new Uint8Array(1000).map((_, i) => (i * 7) & 0xff);
  const sel = fw.addFile('etc/payload', payload);
  const status = dma(0x1000, (sel << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 600, 0x8000);
  assert.equal(status, 0, 'success');
  assert.deepEqual(ram.subarray(0x8000, 0x8000 + 600), payload.subarray(0, 600));
  assert.equal(ram[0x8000 + 600], 0, 'nothing past the length');
  // The offset advanced: the data port continues where DMA stopped.
  assert.deepEqual(readBytes(2), [payload[600], payload[601]]);
  // Without the select bit, DMA continues from the current offset (602).
  assert.equal(dma(0x1000, FW_CFG_DMA_CTL_READ, 10, 0x9000), 0);
  assert.deepEqual(ram.subarray(0x9000, 0x900a), payload.subarray(602, 612));
  // Skip advances without touching RAM.
  assert.equal(dma(0x1000, FW_CFG_DMA_CTL_SKIP, 88, 0xdead0000), 0);
  assert.equal(dma(0x1000, FW_CFG_DMA_CTL_READ, 4, 0x9100), 0);
  assert.deepEqual(ram.subarray(0x9100, 0x9104), payload.subarray(700, 704));
  // Skip past the end stops at the end.
  assert.equal(dma(0x1000, FW_CFG_DMA_CTL_SKIP, 0xffffffff, 0), 0);
  assert.deepEqual(readBytes(1), [0]);
  // The address register is 0 again after an operation; a high half written alone starts nothing.
  ports.write(0x514, 4, bswap32(0x1234));
  select(FW_CFG_SIGNATURE);
  assert.equal(text(readBytes(4)), 'QEMU');
});

test('DMA read longer than the item: the rest of the destination is zero-filled', () => {
  const { ram, dma } = setup();
  ram.fill(0xaa, 0x4000, 0x4100);
  const status = dma(0x1000, (FW_CFG_SIGNATURE << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 0x40, 0x4000);
  assert.equal(status, 0);
  assert.equal(text(ram.subarray(0x4000, 0x4004)), 'QEMU');
  assert.ok(ram.subarray(0x4004, 0x4040).every((b) => b === 0), 'zero-filled to the requested length');
  assert.equal(ram[0x4040], 0xaa, 'not beyond it');
  // Reading again (offset at the end) gives only zeros.
  ram.fill(0xaa, 0x4000, 0x4010);
  assert.equal(dma(0x1000, FW_CFG_DMA_CTL_READ, 0x10, 0x4000), 0);
  assert.ok(ram.subarray(0x4000, 0x4010).every((b) => b === 0));
});

test('DMA with a destination outside RAM: error bit, nothing written, offset unchanged', () => {
  const { ram, dma, dv, readBytes } = setup();
  ram.fill(0x5a, 0x2000, RAM);
  const before = hash(ram.subarray(0x2000));
  const ctl = (FW_CFG_SIGNATURE << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ;
  // Entirely outside.
  assert.equal(dma(0x1000, ctl, 4, 0x0200_0000), FW_CFG_DMA_CTL_ERROR);
  // Straddling the end of RAM.
  assert.equal(dma(0x1000, ctl, 0x20, RAM - 0x10), FW_CFG_DMA_CTL_ERROR);
  // A 64-bit address (high half set) whose low half is inside RAM.
  assert.equal(dma(0x1000, ctl, 4, 0x3000, 1), FW_CFG_DMA_CTL_ERROR);
  // An address near 2^64 whose end would overflow.
  assert.equal(dma(0x1000, ctl, 0x100, 0xffffff00, 0xffffffff), FW_CFG_DMA_CTL_ERROR);
  // An absurd length from a valid address: rejected at once, no partial copy, no hang.
  const t0 = performance.now();
  assert.equal(dma(0x1000, ctl, 0xffffffff, 0x2000), FW_CFG_DMA_CTL_ERROR);
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(hash(ram.subarray(0x2000)), before, 'RAM outside the descriptor untouched');
  // The selection took effect but nothing was consumed.
  assert.equal(text(readBytes(4)), 'QEMU');
  assert.equal(dv.getUint32(0x1000, false), FW_CFG_DMA_CTL_ERROR);
});

test('a descriptor outside RAM touches nothing; one straddling the end gets the error status only', () => {
  const { ram, ports, dv } = setup();
  ram.fill(0x33);
  const before = hash(ram);
  ports.write(0x514, 4, 0);
  ports.write(0x518, 4, bswap32(0x0400_0000));
  assert.equal(hash(ram), before);
  ports.write(0x514, 4, bswap32(0xffffffff));
  ports.write(0x518, 4, bswap32(0xfffffff8));
  assert.equal(hash(ram), before, 'a descriptor address near 2^64');
  // Descriptor whose first 8 bytes are in RAM but not all 16.
  ports.write(0x514, 4, 0);
  ports.write(0x518, 4, bswap32(RAM - 8));
  assert.equal(dv.getUint32(RAM - 8, false), FW_CFG_DMA_CTL_ERROR);
  assert.equal(dv.getUint32(RAM - 4, false), 0x33333333);
  ram.fill(0x33, RAM - 8, RAM - 4);
  assert.equal(hash(ram), before, 'only the control word was written');
  // Too close to the end for even the control word.
  ports.write(0x518, 4, bswap32(RAM - 2));
  assert.equal(hash(ram), before);
});

test('DMA write is rejected with the error bit; no control bits means nothing happens', () => {
  const { ram, dma, dv, readBytes, fw } = setup();
  const sel = fw.addFile('etc/ro', new Uint8Array([1, 2, 3, 4]));
  ram.set([9, 9, 9, 9], 0x5000);
  assert.equal(dma(0x1000, (sel << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 4, 0x5000), FW_CFG_DMA_CTL_ERROR);
  assert.deepEqual(fw.item(sel), new Uint8Array([1, 2, 3, 4]), 'item unchanged');
  assert.deepEqual(readBytes(4), [1, 2, 3, 4]);
  // Select only: succeeds, selects, copies nothing.
  assert.equal(dma(0x1000, (FW_CFG_ID << 16) | FW_CFG_DMA_CTL_SELECT, 100, 0x5000), 0);
  assert.deepEqual(Array.from(ram.subarray(0x5000, 0x5004)), [9, 9, 9, 9]);
  assert.deepEqual(readBytes(1), [3]);
  // A zero-length read succeeds without checking the address.
  assert.equal(dma(0x1000, FW_CFG_DMA_CTL_READ, 0, 0xffffffff), 0);
  assert.equal(dv.getUint32(0x1000, false), 0);
});

test('DMA through a descriptor in the high half of a 64-bit address is rejected (RAM is below 4 GiB here)', () => {
  const { ports, ram } = setup();
  ram.fill(0x11);
  const before = hash(ram);
  ports.write(0x514, 4, bswap32(1));
  ports.write(0x518, 4, bswap32(0x1000));
  assert.equal(hash(ram), before);
});

test('-kernel items 0x07..0x18 as QEMU gives them to a BIOS', () => {
  const { fw, select, readBytes } = setup();
  const setup_ = new Uint8Array(0x1000).fill(1);
  const kernel = new Uint8Array(0x3000).fill(2);
  const initrd = new Uint8Array(0x800).fill(3);
  fw.setKernel({
    setup: setup_,
    setupAddr: 0x10000,
    kernel,
    kernelAddr: 0x100000,
    initrd,
    initrdAddr: 0x7f00000,
    cmdline: 'console=ttyS0',
    cmdlineAddr: 0x20000,
  });
  const u32 = (key: number) => {
    select(key);
    const b = readBytes(4);
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  };
  assert.equal(u32(FW_CFG_SETUP_ADDR), 0x10000);
  assert.equal(u32(FW_CFG_SETUP_SIZE), 0x1000);
  assert.equal(u32(FW_CFG_KERNEL_ADDR), 0x100000);
  assert.equal(u32(FW_CFG_KERNEL_SIZE), 0x3000);
  assert.equal(u32(FW_CFG_INITRD_ADDR), 0x7f00000);
  assert.equal(u32(FW_CFG_INITRD_SIZE), 0x800);
  assert.equal(u32(FW_CFG_CMDLINE_ADDR), 0x20000);
  assert.equal(u32(FW_CFG_KERNEL_CMDLINE), 0x20000);
  assert.equal(u32(FW_CFG_CMDLINE_SIZE), 14, 'length including the NUL');
  select(FW_CFG_CMDLINE_DATA);
  assert.equal(text(readBytes(14)), 'console=ttyS0\0');
  assert.deepEqual(fw.item(FW_CFG_KERNEL_DATA), kernel);
  assert.deepEqual(fw.item(FW_CFG_SETUP_DATA), setup_);
  // Architecture-specific keys are their own table.
  fw.addItem(FW_CFG_E820_TABLE, new Uint8Array([0xe8]));
  select(FW_CFG_E820_TABLE);
  assert.deepEqual(readBytes(1), [0xe8]);
  select(FW_CFG_E820_TABLE & 0x3fff);
  assert.deepEqual(readBytes(4), [0, 0, 0, 0x20], 'key 3 without bit 15 is RAM_SIZE');
});

test('reset and save/restore: selection and offset come back', () => {
  const a = setup();
  const sel = a.fw.addFile('etc/x', new Uint8Array([10, 20, 30, 40, 50]));
  a.select(sel);
  a.readBytes(2);
  a.ports.write(0x514, 4, bswap32(0x12));
  const saved = JSON.parse(JSON.stringify(a.fw.saveState()));
  assert.deepEqual(saved, { selector: sel, offset: 2, dmaAddressHigh: 0x12 });
  const b = setup();
  b.fw.addFile('etc/x', new Uint8Array([10, 20, 30, 40, 50]));
  b.fw.loadState(saved);
  assert.deepEqual(b.readBytes(3), [30, 40, 50]);
  b.fw.reset();
  assert.equal(text(b.readBytes(4)), 'QEMU');
  assert.throws(() => b.fw.loadState({ selector: 0, offset: -1, dmaAddressHigh: 0 }));
});
