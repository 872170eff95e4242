// Configuration mechanism #1 at 0xCF8/0xCFC: address latching, byte/word/
// dword data accesses, absent functions, other buses, the enable bit, the
// PIIX3 reset control register at 0xCF9, multi-function headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MmioBus } from '../../src/vmm/MmioBus.ts';
import { PortBus } from '../../src/vmm/PortBus.ts';
import { PciHost } from '../../src/devices/pci/PciHost.ts';
import { PciDevice } from '../../src/devices/pci/PciDevice.ts';
import { PCI_COMMAND } from '../../src/devices/pci/PciConfigSpace.ts';

function dev(name: string, deviceId: number, pin = 0) {
  return new PciDevice({ name, vendorId: 0x8086, deviceId, classCode: 0x010180, revision: 1, interruptPin: pin });
}

function setup() {
  const ports = new PortBus();
  const mmio = new MmioBus();
  const resets: boolean[] = [];
  const host = new PciHost({ ports, mmio, onReset: (hard) => resets.push(hard) });
  host.register();
  const cfgAddr = (bus: number, slot: number, fn: number, reg: number) =>
    (0x80000000 | (bus << 16) | (slot << 11) | (fn << 8) | (reg & 0xfc)) >>> 0;
  const sel = (slot: number, fn: number, reg: number, bus = 0) => ports.write(0xcf8, 4, cfgAddr(bus, slot, fn, reg));
  const cfgRead = (slot: number, fn: number, reg: number, size: 1 | 2 | 4 = 4, bus = 0) => {
    sel(slot, fn, reg, bus);
    return ports.read(0xcfc + (reg & 3), size);
  };
  const cfgWrite = (slot: number, fn: number, reg: number, size: 1 | 2 | 4, v: number) => {
    sel(slot, fn, reg);
    ports.write(0xcfc + (reg & 3), size, v);
  };
  return { ports, mmio, host, resets, sel, cfgRead, cfgWrite };
}

test('absent devices, other buses and a disabled address read all ones', () => {
  const { ports, host, cfgRead, sel } = setup();
  host.addDevice(dev('ide', 0x7010), 1, 1);
  assert.equal(cfgRead(0, 0, 0), 0xffffffff, 'empty bus: nothing at 00:00.0');
  assert.equal(cfgRead(31, 7, 0xfc), 0xffffffff);
  assert.equal(cfgRead(2, 0, 0, 2), 0xffff);
  assert.equal(cfgRead(2, 0, 0, 1), 0xff);
  assert.equal(cfgRead(1, 1, 0), 0x70108086, 'present function');
  assert.equal(cfgRead(1, 1, 0, 4, 1), 0xffffffff, 'same slot on bus 1: no such bus');
  // Enable bit clear: 0xCFC is an ordinary, unclaimed port.
  ports.write(0xcf8, 4, (1 << 11) | (1 << 8));
  assert.equal(ports.read(0xcfc, 4), 0xffffffff);
  // Writes to absent functions go nowhere (and do not throw).
  sel(9, 0, 4);
  ports.write(0xcfc, 4, 0xffffffff);
  assert.equal(cfgRead(9, 0, 4), 0xffffffff);
});

test('data port: bytes and words at 0xCFC..0xCFF reach the register + offset', () => {
  const { ports, host, sel, cfgRead } = setup();
  host.addDevice(dev('d', 0xabcd, 2), 4);
  sel(4, 0, 0x00);
  assert.equal(ports.read(0xcfc, 2), 0x8086);
  assert.equal(ports.read(0xcfe, 2), 0xabcd);
  assert.equal(ports.read(0xcfd, 1), 0x80);
  assert.equal(ports.read(0xcff, 1), 0xab);
  assert.equal(ports.read(0xcfd, 2), 0xcd80, 'unaligned word inside the dword');
  sel(4, 0, 0x08);
  assert.equal(ports.read(0xcfc, 4), 0x01018001, 'class 01 01 80, revision 1');
  assert.equal(ports.read(0xcff, 1), 0x01);
  // A word at 0xCFF straddles the end of the data port: its high byte is unclaimed.
  assert.equal(ports.read(0xcff, 2), 0xff01);
  // Register selection ignores CONFIG_ADDRESS bits 1:0.
  ports.write(0xcf8, 4, 0x80002003);
  assert.equal(ports.read(0xcf8, 4), 0x80002000, 'bits 1:0 read as 0');
  assert.equal(ports.read(0xcfc, 2), 0x8086);
  assert.equal(cfgRead(4, 0, 0x3d, 1), 2, 'interrupt pin INTB#');
});

test('data port writes: byte at 0xCFD writes the command register high byte', () => {
  const { host, cfgRead, cfgWrite } = setup();
  const d = dev('d', 0x1111, 1);
  host.addDevice(d, 6);
  cfgWrite(6, 0, PCI_COMMAND + 1, 1, 0x04);
  assert.equal(d.command, 0x0400, 'Interrupt Disable set by a byte write');
  cfgWrite(6, 0, PCI_COMMAND, 2, 0x0003);
  assert.equal(cfgRead(6, 0, PCI_COMMAND, 2), 0x0003);
  cfgWrite(6, 0, 0x3c, 1, 0x0b);
  assert.equal(cfgRead(6, 0, 0x3c, 4), 0x0000010b);
  assert.equal(host.configRead(6, 0, 0x3c, 1), 0x0b, 'host-side access path');
  host.configWrite(6, 0, 0x3c, 1, 0x0a);
  assert.equal(d.interruptLine, 0x0a);
  assert.equal(host.configRead(7, 0, 0, 4), 0xffffffff);
});

test('CONFIG_ADDRESS: only a dword write at 0xCF8 latches; reserved bits read 0', () => {
  const { ports, resets } = setup();
  ports.write(0xcf8, 4, 0xffffffff);
  assert.equal(ports.read(0xcf8, 4), 0x80fffffc);
  ports.write(0xcf8, 4, 0x80001234);
  ports.write(0xcf8, 2, 0x00ff); // 0xCF8 <- FF (unclaimed), 0xCF9 <- 00 (reset control)
  ports.write(0xcfa, 2, 0xffff);
  ports.write(0xcf8, 1, 0xff);
  assert.equal(ports.read(0xcf8, 4), 0x80001234, 'byte and word writes pass through');
  assert.deepEqual(resets, []);
  // Byte and word reads are ordinary I/O: 0xCF8, 0xCFA, 0xCFB unclaimed, 0xCF9 is reset control.
  assert.equal(ports.read(0xcf8, 1), 0xff);
  assert.equal(ports.read(0xcfa, 2), 0xffff);
  assert.equal(ports.read(0xcf9, 1), 0x00);
  assert.equal(ports.read(0xcf8, 2), 0x00ff);
});

test('reset control at 0xCF9: bit 2 resets, bit 1 picks hard or soft', () => {
  const { ports, resets } = setup();
  ports.write(0xcf9, 1, 0x02);
  assert.deepEqual(resets, [], 'selecting the reset type does nothing yet');
  assert.equal(ports.read(0xcf9, 1), 0x02);
  ports.write(0xcf9, 1, 0x06);
  assert.deepEqual(resets, [true], 'hard reset (Linux reboot=pci writes 02h then 06h)');
  ports.write(0xcf9, 1, 0x04);
  assert.deepEqual(resets, [true, false], 'soft reset (INIT)');
  assert.equal(ports.read(0xcf9, 1), 0x00, 'RCPU reads back 0');
  // A word write at 0xCF8 passes through to 0xCF9 as well.
  ports.write(0xcf8, 2, 0x0600);
  assert.deepEqual(resets, [true, false, true]);
  // A dword write at 0xCF8 is CONFIG_ADDRESS, never a reset.
  ports.write(0xcf8, 4, 0x80000600);
  assert.equal(resets.length, 3);
});

test('multi-function: adding function 1 sets bit 7 of function 0\'s header type', () => {
  const { host, cfgRead } = setup();
  const f0 = dev('f0', 0x7000);
  host.addDevice(f0, 1, 0);
  assert.equal(cfgRead(1, 0, 0x0e, 1), 0x00);
  host.addDevice(dev('f1', 0x7010), 1, 1);
  assert.equal(cfgRead(1, 0, 0x0e, 1), 0x80);
  f0.reset();
  assert.equal(cfgRead(1, 0, 0x0e, 1), 0x80, 'kept across reset');
  // Function 0 added after another function of its slot.
  host.addDevice(dev('g2', 0x2222), 2, 2);
  host.addDevice(dev('g0', 0x2220), 2, 0);
  assert.equal(cfgRead(2, 0, 0x0e, 1), 0x80);
  assert.throws(() => host.addDevice(dev('dup', 1), 1, 0), /taken/);
  assert.throws(() => host.addDevice(dev('x', 1), 32, 0), RangeError);
  assert.throws(() => host.addDevice(dev('x', 1), 3, 8), RangeError);
  assert.deepEqual(
    host.devices().map((d) => d.name),
    ['f0', 'f1', 'g0', 'g2'],
  );
});

test('INTx levels reach a router, including one connected later', () => {
  const { host } = setup();
  const a = dev('a', 1, 1);
  host.addDevice(a, 5);
  a.setIntx(true);
  const seen: string[] = [];
  host.setIntxRouter({ routeIntx: (devfn, pin, level) => seen.push(`${devfn}:${pin}:${level}`) });
  assert.deepEqual(seen, ['40:1:true']);
  a.setIntx(false);
  assert.deepEqual(seen, ['40:1:true', '40:1:false']);
  a.setIntx(true);
  host.removeDevice(a);
  assert.deepEqual(seen.slice(-2), ['40:1:true', '40:1:false'], 'unplugging releases the line');
  assert.equal(host.device(5), undefined);
});

test('host state saves and restores CONFIG_ADDRESS and reset control', () => {
  const a = setup();
  a.host.addDevice(dev('d', 0x4321), 3);
  a.sel(3, 0, 0);
  a.ports.write(0xcf9, 1, 0x02);
  const saved = JSON.parse(JSON.stringify(a.host.saveState()));
  const b = setup();
  b.host.addDevice(dev('d', 0x4321), 3);
  b.host.loadState(saved);
  assert.equal(b.ports.read(0xcfc, 4), 0x43218086);
  assert.equal(b.ports.read(0xcf9, 1), 0x02);
  b.host.reset();
  assert.equal(b.ports.read(0xcf8, 4), 0);
  assert.equal(b.ports.read(0xcfc, 4), 0xffffffff);
});
