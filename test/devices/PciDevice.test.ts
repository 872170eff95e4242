// PCI function base: read-only identity, command/status masks, BAR sizing,
// decode enable moving the bus registrations, BAR conflicts, INTx with
// Interrupt Disable, the capabilities list, reset and save/restore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MmioBus, type MmioDevice, type MmioSize } from '../../src/vmm/MmioBus.ts';
import { PortBus, type AccessSize, type PortDevice } from '../../src/vmm/PortBus.ts';
import { PciDevice, type PciBus } from '../../src/devices/pci/PciDevice.ts';
import {
  PCI_CAP_ID_VNDR,
  PCI_CAPABILITY_LIST,
  PCI_COMMAND,
  PCI_INTERRUPT_LINE,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
  PCI_STATUS_INTERRUPT,
  PCI_STATUS_REC_MASTER_ABORT,
  PCI_STATUS_SIG_TARGET_ABORT,
  PCI_STATUS_DEVSEL_MEDIUM,
} from '../../src/devices/pci/PciConfigSpace.ts';

/** Records accesses so a test can see which BAR and offset a bus access reached. */
class Regs implements PortDevice, MmioDevice {
  log: string[] = [];
  portRead(offset: number, size: AccessSize): number {
    this.log.push(`io r ${offset}/${size}`);
    return 0x1234_0000 | offset;
  }
  portWrite(offset: number, size: AccessSize, value: number): void {
    this.log.push(`io w ${offset}/${size}=${value.toString(16)}`);
  }
  mmioRead(offset: number, size: MmioSize): number {
    this.log.push(`mem r ${offset}/${size}`);
    return 0xabcd_0000 | offset;
  }
  mmioWrite(offset: number, size: MmioSize, value: number | bigint): void {
    this.log.push(`mem w ${offset}/${size}=${value.toString(16)}`);
  }
}

class TestDevice extends PciDevice {
  readonly regs = new Regs();
  readonly mmioRegs = new Regs();
  constructor() {
    super({
      name: 'testdev',
      vendorId: 0x1af4,
      deviceId: 0x1000,
      classCode: 0x020000,
      revision: 3,
      interruptPin: 1,
      status: PCI_STATUS_DEVSEL_MEDIUM,
    });
    this.defineBar(0, { kind: 'io', size: 32, handler: this.regs });
    this.defineBar(1, { kind: 'mem', size: 4096, handler: this.mmioRegs });
    this.defineBar(2, { kind: 'mem', size: 0x10000, prefetchable: true, handler: this.mmioRegs });
  }
  cap(id: number, body: number[]): number {
    return this.addCapability(id, body);
  }
}

function setup() {
  const ports = new PortBus();
  const mmio = new MmioBus();
  const intx: { devfn: number; pin: number; level: boolean }[] = [];
  const conflicts: { bar: number; address: number }[] = [];
  const bus: PciBus = {
    ports,
    mmio,
    setIntx: (devfn, pin, level) => intx.push({ devfn, pin, level }),
    devices: () => [dev],
    onBarConflict: (_d, bar, address) => conflicts.push({ bar, address }),
  };
  const dev = new TestDevice();
  dev.attach(bus, (3 << 3) | 0);
  const rd = (off: number, size = 4) => dev.configRead(off, size);
  const wr = (off: number, v: number, size = 4) => dev.configWrite(off, size, v);
  return { ports, mmio, bus, dev, intx, conflicts, rd, wr };
}

test('identity registers are read-only; interrupt line is read/write, pin read-only', () => {
  const { rd, wr } = setup();
  assert.equal(rd(0x00), 0x10001af4);
  wr(0x00, 0xffffffff);
  assert.equal(rd(0x00), 0x10001af4);
  assert.equal(rd(0x08), 0x02000003, 'class 02 00 00, revision 3');
  wr(0x08, 0);
  assert.equal(rd(0x08), 0x02000003);
  assert.equal(rd(0x2c), 0x11001af4, 'default subsystem: 1AF4:1100');
  wr(0x2c, 0);
  assert.equal(rd(0x2c), 0x11001af4);
  assert.equal(rd(0x0e, 1), 0x00, 'single-function type 0 header');
  wr(0x3c, 0xffffffff);
  assert.equal(rd(0x3c, 1), 0xff, 'interrupt line writable');
  assert.equal(rd(0x3d, 1), 0x01, 'interrupt pin INTA# stays');
  assert.equal(rd(0x3e, 2), 0, 'MIN_GNT/MAX_LAT read-only zero');
  wr(PCI_INTERRUPT_LINE, 0x0b, 1);
  assert.equal(rd(0x3c), 0x0000010b);
});

test('command register: only the implemented bits take a write', () => {
  const { rd, wr } = setup();
  wr(PCI_COMMAND, 0xffff, 2);
  assert.equal(rd(PCI_COMMAND, 2), 0x0547, 'I/O, memory, master, parity, SERR#, interrupt disable');
  wr(PCI_COMMAND, 0, 2);
  assert.equal(rd(PCI_COMMAND, 2), 0);
});

test('status: error bits are write-1-to-clear, the rest read-only', () => {
  const { dev, rd, wr } = setup();
  dev.config.setU16(PCI_STATUS, dev.status | PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_SIG_TARGET_ABORT);
  assert.equal(rd(PCI_STATUS, 2), 0x2a00);
  wr(PCI_STATUS, 0x0000, 2);
  assert.equal(rd(PCI_STATUS, 2), 0x2a00, 'writing 0 leaves them');
  wr(PCI_STATUS, 0x2000, 2);
  assert.equal(rd(PCI_STATUS, 2), 0x0a00, 'only the written 1 cleared');
  wr(PCI_STATUS, 0xffff, 2);
  assert.equal(rd(PCI_STATUS, 2), 0x0200, 'DEVSEL timing is read-only');
  // A dword write to 0x04 writes command and clears status bits in one go.
  dev.config.setU16(PCI_STATUS, 0x2200);
  wr(PCI_COMMAND, 0x2000_0003);
  assert.equal(rd(PCI_COMMAND), 0x0200_0003);
});

test('BAR sizing: 32-byte I/O BAR and 4 KiB memory BAR report their size masks', () => {
  const { rd, wr } = setup();
  assert.equal(rd(0x10), 0x00000001, 'I/O BAR type bit');
  assert.equal(rd(0x14), 0x00000000, '32-bit non-prefetchable memory');
  assert.equal(rd(0x18), 0x00000008, 'prefetchable');
  wr(0x10, 0xffffffff);
  assert.equal(rd(0x10), 0xffffffe1);
  wr(0x14, 0xffffffff);
  assert.equal(rd(0x14), 0xfffff000);
  wr(0x18, 0xffffffff);
  assert.equal(rd(0x18), 0xffff0008);
  // Unimplemented BARs read 0 after the all-ones write.
  for (const off of [0x1c, 0x20, 0x24]) {
    wr(off, 0xffffffff);
    assert.equal(rd(off), 0);
  }
  // Writing an address keeps only the bits above the size.
  wr(0x10, 0xc0ff);
  assert.equal(rd(0x10), 0xc0e1);
  wr(0x14, 0xfebf_1234);
  assert.equal(rd(0x14), 0xfebf_1000);
  // The expansion ROM BAR is absent: read-only zero.
  wr(0x30, 0xffffffff);
  assert.equal(rd(0x30), 0);
});

test('memory decode: enabling registers the BAR; moving it re-registers; disabling unregisters', () => {
  const { mmio, dev, rd, wr } = setup();
  wr(0x14, 0xfeb0_0000);
  assert.equal(dev.barMapping(1), -1, 'memory decode still off');
  assert.equal(mmio.read(0xfeb0_0010, 4), 0xffffffffn);
  wr(PCI_COMMAND, 0x0002, 2);
  assert.equal(dev.barMapping(1), 0xfeb0_0000);
  assert.equal(mmio.read(0xfeb0_0010, 4), 0xabcd_0010n);
  assert.deepEqual(dev.mmioRegs.log, ['mem r 16/4']);
  mmio.write(0xfeb0_0ffc, 4, 0x55n);
  assert.equal(dev.mmioRegs.log[1], 'mem w 4092/4=55');
  // Move while enabled: the old range is released, the new one answers.
  wr(0x14, 0xfec1_0000);
  assert.equal(dev.barMapping(1), 0xfec1_0000);
  assert.equal(mmio.read(0xfeb0_0010, 4), 0xffffffffn, 'old address released');
  assert.equal(mmio.read(0xfec1_0020, 4), 0xabcd_0020n);
  // The I/O BAR stays off: I/O decode is a separate bit.
  assert.equal(dev.barMapping(0), -1);
  wr(PCI_COMMAND, 0x0000, 2);
  assert.equal(dev.barMapping(1), -1);
  assert.equal(mmio.read(0xfec1_0020, 4), 0xffffffffn);
  assert.equal(rd(0x14), 0xfec1_0000, 'the BAR keeps its address');
  // Re-enabling maps it again at the same place.
  wr(PCI_COMMAND, 0x0002, 2);
  assert.equal(mmio.read(0xfec1_0000, 1), 0xabcd_0000n);
});

test('I/O decode: a 32-byte BAR claims exactly its ports', () => {
  const { ports, dev, wr } = setup();
  wr(0x10, 0xc000);
  wr(PCI_COMMAND, 0x0001, 2);
  assert.equal(dev.barMapping(0), 0xc000);
  assert.equal(ports.ownerOf(0xbfff), undefined);
  assert.equal(ports.ownerOf(0xc000), 'testdev.bar0');
  assert.equal(ports.ownerOf(0xc01f), 'testdev.bar0');
  assert.equal(ports.ownerOf(0xc020), undefined);
  assert.equal(ports.read(0xc004, 2), 0x1234_0004 >>> 0);
  ports.write(0xc01e, 1, 0x7f);
  assert.deepEqual(dev.regs.log, ['io r 4/2', 'io w 30/1=7f']);
  wr(0x10, 0xc100);
  assert.equal(ports.ownerOf(0xc000), undefined);
  assert.equal(ports.ownerOf(0xc100), 'testdev.bar0');
  wr(PCI_COMMAND, 0, 2);
  assert.equal(ports.ownerOf(0xc100), undefined);
});

test('a BAR holding 0, the sizing pattern or an I/O address above 64K is not mapped', () => {
  const { ports, mmio, dev, wr } = setup();
  wr(PCI_COMMAND, 0x0003, 2);
  assert.equal(dev.barMapping(0), -1, 'address 0 is unmapped');
  assert.equal(dev.barMapping(1), -1);
  // Sizing with decode on must not claim the top of the address spaces.
  wr(0x10, 0xffffffff);
  wr(0x14, 0xffffffff);
  assert.equal(dev.barMapping(0), -1);
  assert.equal(dev.barMapping(1), -1);
  assert.equal(mmio.read(0xfffff000, 4), 0xffffffffn);
  wr(0x10, 0x0001_0000);
  assert.equal(dev.barMapping(0), -1, 'I/O BAR beyond the 64K port space');
  wr(0x10, 0xffe0);
  assert.equal(dev.barMapping(0), 0xffe0, 'the last 32 ports fit');
  assert.equal(ports.ownerOf(0xffff), 'testdev.bar0');
});

test('a BAR programmed over another device stays unmapped without throwing, and maps once moved', () => {
  const { ports, dev, conflicts, wr } = setup();
  ports.register(0x3f8, 8, { portRead: () => 0x42, portWrite: () => {} }, 'uart');
  wr(0x10, 0x3e0); // 0x3e0..0x3ff overlaps the UART
  wr(PCI_COMMAND, 0x0001, 2);
  assert.equal(dev.barMapping(0), -1);
  assert.deepEqual(conflicts, [{ bar: 0, address: 0x3e0 }]);
  assert.equal(ports.ownerOf(0x3f8), 'uart');
  assert.equal(ports.read(0x3e0, 1), 0xff, 'nothing registered at the BAR');
  wr(0x10, 0xc040);
  assert.equal(dev.barMapping(0), 0xc040);
  assert.equal(ports.ownerOf(0x3f8), 'uart', 'the other device is untouched');
});

test('INTx: status bit 3 follows the request; Interrupt Disable masks what reaches the bus', () => {
  const { dev, intx, rd, wr } = setup();
  dev.setIntx(true);
  assert.deepEqual(intx, [{ devfn: 0x18, pin: 1, level: true }]);
  assert.ok(rd(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
  dev.setIntx(true);
  assert.equal(intx.length, 1, 'no duplicate edge');
  wr(PCI_COMMAND, 0x0400, 2); // Interrupt Disable
  assert.deepEqual(intx[1], { devfn: 0x18, pin: 1, level: false });
  assert.ok(rd(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 'still requesting');
  assert.equal(dev.intxOutput, false);
  dev.setIntx(false);
  assert.equal(intx.length, 2, 'masked: nothing to tell the bus');
  assert.equal(rd(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
  dev.setIntx(true);
  assert.equal(intx.length, 2);
  wr(PCI_COMMAND, 0x0000, 2); // unmask: the pending request reaches the bus
  assert.deepEqual(intx[2], { devfn: 0x18, pin: 1, level: true });
  // The guest cannot write the Interrupt Status bit.
  wr(PCI_STATUS, 0xffff, 2);
  assert.ok(rd(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
});

test('capabilities list: pointer at 0x34, status bit 4, linked in order, read-only', () => {
  const { dev, rd, wr } = setup();
  assert.equal(rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
  const a = dev.cap(PCI_CAP_ID_VNDR, [16, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const b = dev.cap(PCI_CAP_ID_VNDR, [4, 2]);
  const c = dev.cap(0x05, [0, 0]);
  assert.equal(a, 0x40);
  assert.equal(b, 0x50, 'after 16 bytes');
  assert.equal(c, 0x54, 'dword aligned');
  assert.ok(rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
  assert.equal(rd(PCI_CAPABILITY_LIST, 1), 0x40);
  assert.equal(rd(0x40, 4), 0x01105009, 'id 09, next 0x50, cap_len 16, cfg_type 1');
  assert.equal(rd(0x51, 1), 0x54);
  assert.equal(rd(0x55, 1), 0x00, 'end of list');
  assert.deepEqual(dev.config.capabilities(), [0x40, 0x50, 0x54]);
  wr(0x40, 0xffffffff);
  wr(0x34, 0, 1);
  assert.equal(rd(0x40, 4), 0x01105009);
  assert.equal(rd(PCI_CAPABILITY_LIST, 1), 0x40);
  assert.throws(() => dev.cap(0x09, new Array(200).fill(0)), RangeError);
});

test('reset restores the configuration space, unmaps BARs and drops INTx', () => {
  const { dev, mmio, intx, rd, wr } = setup();
  wr(0x14, 0xfeb0_0000);
  wr(PCI_COMMAND, 0x0006, 2);
  wr(PCI_INTERRUPT_LINE, 11, 1);
  dev.setIntx(true);
  dev.reset();
  assert.equal(rd(PCI_COMMAND, 2), 0);
  assert.equal(rd(PCI_STATUS, 2), 0x0200);
  assert.equal(rd(0x14), 0);
  assert.equal(rd(PCI_INTERRUPT_LINE, 1), 0);
  assert.equal(rd(0x00), 0x10001af4);
  assert.equal(dev.barMapping(1), -1);
  assert.equal(mmio.read(0xfeb0_0000, 4), 0xffffffffn);
  assert.deepEqual(intx.at(-1), { devfn: 0x18, pin: 1, level: false });
});

test('save/restore: the configuration space is the state; BARs and INTx come back on the new buses', () => {
  const a = setup();
  a.wr(0x10, 0xc000);
  a.wr(0x14, 0xfeb0_0000);
  a.wr(PCI_COMMAND, 0x0003, 2);
  a.wr(PCI_INTERRUPT_LINE, 10, 1);
  a.dev.setIntx(true);
  const saved = JSON.parse(JSON.stringify(a.dev.saveState()));
  const b = setup();
  b.dev.loadState(saved);
  assert.equal(b.rd(0x10), 0xc001);
  assert.equal(b.dev.barMapping(0), 0xc000);
  assert.equal(b.dev.barMapping(1), 0xfeb0_0000);
  assert.equal(b.ports.ownerOf(0xc000), 'testdev.bar0');
  assert.equal(b.mmio.read(0xfeb0_0004, 4), 0xabcd_0004n);
  assert.deepEqual(b.intx.at(-1), { devfn: 0x18, pin: 1, level: true });
  assert.equal(b.rd(PCI_INTERRUPT_LINE, 1), 10);
  assert.throws(() => b.dev.loadState({ config: [1, 2, 3] }));
});

test('defineBar rejects sizes that are not powers of two or out of range', () => {
  class Bad extends PciDevice {
    constructor(kind: 'io' | 'mem', size: number) {
      super({ name: 'bad', vendorId: 1, deviceId: 2, classCode: 0 });
      const h = new Regs();
      if (kind === 'io') this.defineBar(0, { kind, size, handler: h });
      else this.defineBar(0, { kind, size, handler: h });
    }
  }
  assert.throws(() => new Bad('io', 24), RangeError);
  assert.throws(() => new Bad('io', 2), RangeError);
  assert.throws(() => new Bad('mem', 8), RangeError);
  assert.throws(() => new Bad('mem', 2 ** 32), RangeError);
  assert.doesNotThrow(() => new Bad('mem', 16));
});
