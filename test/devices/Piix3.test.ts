// i440FX host bridge and PIIX3 ISA bridge: identity as QEMU presents them,
// PAM/SMRAM storage, PIRQ route registers, the INTx→PIRQ wiring, shared
// level PIRQs, Interrupt Disable, I/O APIC inputs, SeaBIOS-style set-up
// (end to end through the 8259 pair) and save/restore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MmioBus } from '../../src/vmm/MmioBus.ts';
import { PortBus } from '../../src/vmm/PortBus.ts';
import { IrqLine } from '../../src/vmm/IrqLine.ts';
import { DualPic } from '../../src/devices/Pic8259.ts';
import { PciHost } from '../../src/devices/pci/PciHost.ts';
import { PciDevice } from '../../src/devices/pci/PciDevice.ts';
import { I440fx, SMRAM_D_LCK, SMRAM_D_OPEN, SMRAM_G_SMRAME } from '../../src/devices/pci/I440fx.ts';
import { Piix3, pirqOf } from '../../src/devices/pci/Piix3.ts';

function nic(name: string, pin = 1) {
  return new PciDevice({ name, vendorId: 0x10ec, deviceId: 0x8139, classCode: 0x020000, interruptPin: pin });
}

function setup() {
  const ports = new PortBus();
  const mmio = new MmioBus();
  const host = new PciHost({ ports, mmio });
  host.register();
  const isaIrqs: IrqLine[] = [];
  for (let i = 0; i < 16; i++) isaIrqs.push(new IrqLine(`isa${i}`));
  const ioapicIrqs = [0, 1, 2, 3].map((p) => new IrqLine(`gsi${16 + p}`));
  const pams: [number, number][] = [];
  const i440fx = new I440fx({ ramSize: 128 * 1024 * 1024, onPamChange: (i, v) => pams.push([i, v]) });
  const piix3 = new Piix3({ isaIrqs, ioapicIrqs });
  host.addDevice(i440fx, 0);
  host.addDevice(piix3, 1);
  host.setIntxRouter(piix3);
  const cfgRead = (slot: number, fn: number, reg: number, size: 1 | 2 | 4 = 4) => {
    ports.write(0xcf8, 4, (0x80000000 | (slot << 11) | (fn << 8) | (reg & 0xfc)) >>> 0);
    return ports.read(0xcfc + (reg & 3), size);
  };
  const cfgWrite = (slot: number, fn: number, reg: number, size: 1 | 2 | 4, v: number) => {
    ports.write(0xcf8, 4, (0x80000000 | (slot << 11) | (fn << 8) | (reg & 0xfc)) >>> 0);
    ports.write(0xcfc + (reg & 3), size, v);
  };
  const high = () => isaIrqs.filter((l) => l.isRaised).map((l) => l.name);
  return { ports, mmio, host, i440fx, piix3, isaIrqs, ioapicIrqs, pams, cfgRead, cfgWrite, high };
}

test('i440FX at 00:00.0 and PIIX3 at 00:01.0 look as they do under QEMU', () => {
  const { cfgRead } = setup();
  assert.equal(cfgRead(0, 0, 0x00), 0x12378086);
  assert.equal(cfgRead(0, 0, 0x08), 0x06000002, 'host bridge, revision 02');
  assert.equal(cfgRead(0, 0, 0x0c), 0x00000000, 'header type 0, single function');
  assert.equal(cfgRead(0, 0, 0x2c), 0x11001af4);
  assert.equal(cfgRead(0, 0, 0x3c), 0x00000000, 'no interrupt pin');
  assert.equal(cfgRead(0, 0, 0x72, 1), 0x02, 'SMRAM reset value');
  assert.equal(cfgRead(0, 0, 0x57, 1), 16, 'QEMU/coreboot RAM size in 8 MiB units');
  assert.equal(cfgRead(1, 0, 0x00), 0x70008086);
  assert.equal(cfgRead(1, 0, 0x08), 0x06010000, 'ISA bridge, revision 00');
  assert.equal(cfgRead(1, 0, 0x0e, 1), 0x80, 'multi-function header');
  assert.equal(cfgRead(1, 0, 0x04), 0x02000007, 'command 0007h, status DEVSEL medium');
  assert.equal(cfgRead(1, 0, 0x60), 0x80808080, 'PIRQ routing disabled after reset');
  assert.equal(cfgRead(1, 0, 0x4c, 1), 0x4d);
  assert.equal(cfgRead(1, 0, 0x69, 1), 0x02);
});

test('i440FX: PAM registers and SMRAM are stored; D_LCK locks SMRAM until reset', () => {
  const { i440fx, pams, cfgRead, cfgWrite } = setup();
  cfgWrite(0, 0, 0x58, 4, 0x33333000); // PAM0..PAM2 (0x58 is plain storage)
  cfgWrite(0, 0, 0x5c, 2, 0x1111); // PAM3, PAM4
  assert.equal(cfgRead(0, 0, 0x58), 0x33333000);
  assert.equal(i440fx.pam(0), 0x30);
  assert.equal(i440fx.pam(4), 0x11);
  assert.deepEqual(pams, [
    [0, 0x30],
    [1, 0x33],
    [2, 0x33],
    [3, 0x11],
    [4, 0x11],
  ]);
  cfgWrite(0, 0, 0x59, 1, 0x30);
  assert.equal(pams.length, 5, 'no callback when the value stays');
  // SMRAM: C_BASE_SEG is hardwired to 010, bit 7 reserved.
  cfgWrite(0, 0, 0x72, 1, 0xff & ~SMRAM_D_LCK);
  assert.equal(cfgRead(0, 0, 0x72, 1), 0x6a);
  cfgWrite(0, 0, 0x72, 1, 0x00);
  assert.equal(cfgRead(0, 0, 0x72, 1), 0x02);
  cfgWrite(0, 0, 0x72, 1, SMRAM_D_OPEN | SMRAM_G_SMRAME);
  cfgWrite(0, 0, 0x72, 1, SMRAM_D_OPEN | SMRAM_G_SMRAME | SMRAM_D_LCK);
  assert.equal(cfgRead(0, 0, 0x72, 1), 0x1a, 'D_LCK clears D_OPEN');
  cfgWrite(0, 0, 0x72, 1, SMRAM_D_OPEN);
  assert.equal(cfgRead(0, 0, 0x72, 1), 0x1a, 'D_OPEN, D_LCK, G_SMRAME read-only once locked');
  cfgWrite(0, 0, 0x72, 1, 0x20 | SMRAM_D_LCK | SMRAM_G_SMRAME);
  assert.equal(cfgRead(0, 0, 0x72, 1), 0x3a, 'D_CLS still writable');
  i440fx.reset();
  assert.equal(cfgRead(0, 0, 0x72, 1), 0x02);
  assert.equal(cfgRead(0, 0, 0x59, 1), 0x00);
});

test('PIRQ route registers: bit 7 and bits 3:0 writable, reserved bits read 0', () => {
  const { piix3, cfgRead, cfgWrite } = setup();
  cfgWrite(1, 0, 0x60, 4, 0xff7a0b05);
  assert.equal(cfgRead(1, 0, 0x60), 0x8f0a0b05);
  assert.equal(piix3.pirqIrq(0), 5);
  assert.equal(piix3.pirqIrq(1), 11);
  assert.equal(piix3.pirqIrq(2), 10);
  assert.equal(piix3.pirqIrq(3), -1);
  // Reserved ISA IRQ numbers route nowhere.
  for (const irq of [0, 1, 2, 8, 13]) {
    cfgWrite(1, 0, 0x60, 1, irq);
    assert.equal(piix3.pirqIrq(0), -1, `IRQ ${irq}`);
  }
});

test('INTx wiring: PIRQ = (slot + pin - 1) mod 4, so slot 3 INTB# → PIRQA', () => {
  assert.equal(pirqOf(3, 2), 0, 'slot 3 INTB# → PIRQA');
  assert.equal(pirqOf(0, 1), 0, 'slot 0 INTA# → PIRQA');
  assert.equal(pirqOf(1, 1), 1, 'slot 1 INTA# → PIRQB');
  assert.equal(pirqOf(2, 1), 2, 'slot 2 INTA# → PIRQC');
  assert.equal(pirqOf(3, 1), 3, 'slot 3 INTA# → PIRQD');
  assert.equal(pirqOf(4, 1), 0);
  assert.equal(pirqOf(3, 4), 2, 'slot 3 INTD# → PIRQC');
  assert.equal(pirqOf(31, 4), 2);
  // And through the bridge: a slot 3 INTB# device drives PIRQA's lines (I/O APIC input 16).
  const { host, piix3, ioapicIrqs, cfgWrite, high } = setup();
  const d = nic('d', 2);
  host.addDevice(d, 3);
  cfgWrite(1, 0, 0x60, 1, 11); // PIRQA → IRQ 11
  d.setIntx(true);
  assert.equal(piix3.pirqLevel(0), true);
  assert.deepEqual(high(), ['isa11']);
  assert.deepEqual(
    ioapicIrqs.map((l) => l.isRaised),
    [true, false, false, false],
  );
  d.setIntx(false);
  assert.deepEqual(high(), []);
  assert.equal(ioapicIrqs[0].isRaised, false);
});

test('shared PIRQA: the line stays high until both devices deassert', () => {
  const { host, piix3, ioapicIrqs, isaIrqs, cfgWrite } = setup();
  const a = nic('a'); // slot 4 INTA# → PIRQA
  const b = nic('b', 3); // slot 2 INTC# → (2 + 3 - 1) & 3 = 0 → PIRQA
  host.addDevice(a, 4);
  host.addDevice(b, 2);
  cfgWrite(1, 0, 0x60, 1, 10);
  a.setIntx(true);
  b.setIntx(true);
  assert.equal(isaIrqs[10].isRaised, true);
  a.setIntx(false);
  assert.equal(isaIrqs[10].isRaised, true, 'b still asserts');
  assert.equal(ioapicIrqs[0].isRaised, true);
  b.setIntx(false);
  assert.equal(isaIrqs[10].isRaised, false);
  assert.equal(ioapicIrqs[0].isRaised, false);
  assert.equal(piix3.pirqLevel(0), false);
});

test('Interrupt Disable in a device\'s command register drops its share of the PIRQ', () => {
  const { host, isaIrqs, cfgWrite } = setup();
  const a = nic('a');
  host.addDevice(a, 4); // PIRQA
  cfgWrite(1, 0, 0x60, 1, 10);
  a.setIntx(true);
  assert.equal(isaIrqs[10].isRaised, true);
  cfgWrite(4, 0, 0x04, 2, 0x0400);
  assert.equal(isaIrqs[10].isRaised, false, 'masked');
  assert.equal(a.intxLevel, true, 'status bit 3 still set');
  cfgWrite(4, 0, 0x04, 2, 0x0000);
  assert.equal(isaIrqs[10].isRaised, true);
});

test('re-routing an asserted PIRQ moves the ISA line; disabling it leaves only the I/O APIC input', () => {
  const { host, isaIrqs, ioapicIrqs, cfgWrite, high } = setup();
  const a = nic('a');
  host.addDevice(a, 4); // slot 4 INTA# → PIRQA
  a.setIntx(true);
  assert.deepEqual(high(), [], 'routing disabled at reset');
  assert.equal(ioapicIrqs[0].isRaised, true, 'the I/O APIC sees PIRQA regardless');
  cfgWrite(1, 0, 0x60, 1, 10);
  assert.deepEqual(high(), ['isa10']);
  cfgWrite(1, 0, 0x60, 1, 11);
  assert.deepEqual(high(), ['isa11']);
  cfgWrite(1, 0, 0x60, 1, 0x8b);
  assert.deepEqual(high(), []);
  assert.equal(ioapicIrqs[0].isRaised, true);
  // Two PIRQs on one IRQ: OR-ed.
  const b = nic('b'); // slot 5 INTA# → PIRQB
  host.addDevice(b, 5);
  cfgWrite(1, 0, 0x60, 2, 0x0909);
  b.setIntx(true);
  a.setIntx(false);
  assert.equal(isaIrqs[9].isRaised, true);
  b.setIntx(false);
  assert.equal(isaIrqs[9].isRaised, false);
});

test('biosInit routes like SeaBIOS and fills interrupt line registers; end to end through the 8259', () => {
  const ports = new PortBus();
  const mmio = new MmioBus();
  const pic = new DualPic();
  pic.register(ports);
  pic.biosInit();
  const isaIrqs: (IrqLine | undefined)[] = [];
  for (const irq of [5, 9, 10, 11]) isaIrqs[irq] = new IrqLine(`isa${irq}`).connect(pic, irq);
  const host = new PciHost({ ports, mmio });
  host.register();
  const piix3 = new Piix3({ isaIrqs });
  host.addDevice(new I440fx(), 0);
  host.addDevice(piix3, 1);
  host.setIntxRouter(piix3);
  const d3a = nic('d3a'); // slot 3 INTA# → PIRQD → 11
  const d2a = nic('d2a'); // slot 5 INTA# → PIRQB → 10
  const d3b = nic('d3b', 2); // slot 3 fn 1 INTB# → PIRQA → 10
  host.addDevice(d3a, 3);
  host.addDevice(d2a, 5);
  host.addDevice(d3b, 3, 1);
  const elcr = piix3.biosInit();
  assert.equal(elcr, 0x0c00);
  assert.deepEqual([0, 1, 2, 3].map((p) => piix3.pirqRoute(p)), [10, 10, 11, 11]);
  assert.equal(d3a.interruptLine, 11);
  assert.equal(d2a.interruptLine, 10);
  assert.equal(d3b.interruptLine, 10);
  assert.equal(host.device(0)!.interruptLine, 0, 'no pin: untouched');
  // The machine writes the ELCR as SeaBIOS does, unmasks IRQ 10 and 11, and the interrupt arrives.
  ports.write(0x4d0, 1, elcr & 0xff);
  ports.write(0x4d1, 1, elcr >> 8);
  ports.write(0xa1, 1, 0xf3);
  d2a.setIntx(true);
  assert.equal(pic.intr.isRaised, true);
  assert.equal(pic.acknowledge(), 0x72, 'IRQ 10 = slave IR2 = vector 0x72');
  ports.write(0xa0, 1, 0x20);
  ports.write(0x20, 1, 0x20);
  assert.equal(pic.intr.isRaised, true, 'level-triggered: still requesting after EOI');
  d2a.setIntx(false);
  assert.equal(pic.slave.state.irr & 0x04, 0, 'the level request is withdrawn');
});

test('reset disables routing and lowers the ISA lines; devices keep their own INTx', () => {
  const { host, piix3, ioapicIrqs, cfgWrite, high } = setup();
  const a = nic('a');
  host.addDevice(a, 4); // PIRQA
  cfgWrite(1, 0, 0x60, 1, 10);
  a.setIntx(true);
  assert.deepEqual(high(), ['isa10']);
  piix3.reset();
  assert.deepEqual(high(), []);
  assert.equal(piix3.pirqRoute(0), 0x80);
  assert.equal(ioapicIrqs[0].isRaised, true);
  a.reset();
  assert.equal(ioapicIrqs[0].isRaised, false);
});

test('save/restore: routes, shared PIRQ sources and line levels come back', () => {
  const a = setup();
  const da = nic('a'); // slot 5 INTA# → PIRQB
  const db = nic('b', 4); // slot 2 INTD# → PIRQB
  a.host.addDevice(da, 5);
  a.host.addDevice(db, 2);
  a.piix3.biosInit();
  da.setIntx(true);
  db.setIntx(true);
  const saved = JSON.parse(
    JSON.stringify({ piix3: a.piix3.saveState(), i440fx: a.i440fx.saveState(), da: da.saveState(), db: db.saveState() }),
  );
  const b = setup();
  const da2 = nic('a');
  const db2 = nic('b', 4);
  b.host.addDevice(da2, 5);
  b.host.addDevice(db2, 2);
  // Devices first, then the bridge (any order works).
  da2.loadState(saved.da);
  db2.loadState(saved.db);
  b.piix3.loadState(saved.piix3);
  b.i440fx.loadState(saved.i440fx);
  assert.deepEqual(b.high(), ['isa10']);
  assert.equal(b.ioapicIrqs[1].isRaised, true);
  assert.equal(da2.interruptLine, 10);
  da2.setIntx(false);
  assert.deepEqual(b.high(), ['isa10'], 'the other sharer is still asserted after restore');
  db2.setIntx(false);
  assert.deepEqual(b.high(), []);
});
