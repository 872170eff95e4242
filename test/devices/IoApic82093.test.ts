// 82093AA I/O APIC: register window, ID/version/arbitration, redirection
// entries (read-only bits, reset mask), edge and level delivery, polarity
// and active-low wiring, remote IRR and EOI, delivery modes on the APIC bus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IOAPIC_DEFAULT_ADDRESS,
  IoApic82093,
  RTE_ACTIVE_LOW,
  RTE_DEST_LOGICAL,
  RTE_LEVEL,
  RTE_MASKED,
  RTE_REMOTE_IRR,
} from '../../src/devices/IoApic82093.ts';
import {
  DELIVERY_EXTINT,
  DELIVERY_FIXED,
  DELIVERY_INIT,
  DELIVERY_LOWEST,
  DELIVERY_NMI,
  type ApicBus,
  type ApicMessage,
} from '../../src/vmm/ApicBus.ts';
import { IrqLine } from '../../src/vmm/IrqLine.ts';
import { MmioBus } from '../../src/vmm/MmioBus.ts';

class RecordingBus implements ApicBus {
  readonly sent: ApicMessage[] = [];
  send(msg: ApicMessage): void {
    this.sent.push({ ...msg });
  }
  take(): ApicMessage[] {
    return this.sent.splice(0);
  }
}

function setup(opts: { id?: number; activeLowInputs?: number } = {}) {
  const apicBus = new RecordingBus();
  const mmio = new MmioBus();
  const io = new IoApic82093({ bus: apicBus, ...opts });
  io.register(mmio);
  const B = IOAPIC_DEFAULT_ADDRESS;
  const read = (reg: number) => {
    mmio.write(B, 4, BigInt(reg));
    return Number(mmio.read(B + 0x10, 4));
  };
  const write = (reg: number, v: number) => {
    mmio.write(B, 4, BigInt(reg));
    mmio.write(B + 0x10, 4, BigInt(v >>> 0));
  };
  /** Program entry `pin`: low dword `low`, destination `dest`. */
  const program = (pin: number, low: number, dest = 0) => {
    write(0x11 + 2 * pin, dest << 24);
    write(0x10 + 2 * pin, low);
  };
  return { apicBus, mmio, io, read, write, program, B };
}

test('version 0x00170011 (24 entries, version 0x11); ID and arbitration ID', () => {
  const { read, write } = setup({ id: 2 });
  assert.equal(read(0x01), 0x00170011);
  assert.equal(read(0x00), 0x02000000);
  assert.equal(read(0x02), 0x02000000);
  write(0x00, 0xffffffff);
  assert.equal(read(0x00), 0x0f000000, 'only bits 27:24 are the ID');
  assert.equal(read(0x02), 0x0f000000, 'arbitration ID follows an ID write');
  write(0x01, 0);
  write(0x02, 0);
  assert.equal(read(0x01), 0x00170011, 'version is read-only');
  assert.equal(read(0x02), 0x0f000000, 'arbitration is read-only');
  assert.equal(read(0x03), 0, 'unimplemented registers read 0');
  assert.equal(read(0x40), 0, 'past the table reads 0');
});

test('reset: every entry masked; IOREGSEL reads back; narrow IOWIN reads', () => {
  const { io, mmio, read, write, B } = setup();
  for (let pin = 0; pin < 24; pin++) {
    assert.equal(read(0x10 + 2 * pin), RTE_MASKED, `entry ${pin} low`);
    assert.equal(read(0x11 + 2 * pin), 0, `entry ${pin} high`);
  }
  mmio.write(B, 1, 0x13n);
  assert.equal(Number(mmio.read(B, 4)), 0x13);
  write(0x12, 0x00010bcd);
  write(0x13, 0x12000000);
  mmio.write(B, 4, 0x12n);
  assert.equal(Number(mmio.read(B + 0x11, 1)), 0x0b);
  assert.equal(Number(mmio.read(B + 0x10, 2)), 0x0bcd);
  assert.equal(Number(mmio.read(B + 0x12, 2)), 0x0001);
  mmio.write(B, 4, 0x13n);
  assert.equal(Number(mmio.read(B + 0x13, 1)), 0x12);
  // Narrow writes to IOWIN are ignored.
  mmio.write(B, 4, 0x12n);
  mmio.write(B + 0x10, 1, 0xffn);
  assert.equal(read(0x12), 0x00010bcd);
  assert.equal(Number(mmio.read(B + 0x20, 4)), 0, 'other offsets read 0');
  io.reset();
  assert.equal(read(0x12), RTE_MASKED);
});

test('redirection entry: RO bits (delivery status, remote IRR), reserved bits, destination', () => {
  const { read, write } = setup();
  write(0x10, 0xffffffff);
  // Bits 12 and 14 read-only (0), bits 31:17 reserved.
  assert.equal(read(0x10), 0x1afff);
  write(0x11, 0xffffffff);
  assert.equal(read(0x11), 0xff000000, 'only the destination is implemented in the high dword');
  write(0x3e, 0x00000031);
  write(0x3f, 0x03000000);
  assert.equal(read(0x3e), 0x31);
  assert.equal(read(0x3f), 0x03000000);
});

test('edge: one message per asserting edge; masked edges are dropped, not held', () => {
  const { apicBus, program, io } = setup();
  program(2, 0x30, 0x01);
  io.setIrq(2, true);
  assert.deepEqual(apicBus.take(), [
    { destination: 1, logical: false, vector: 0x30, deliveryMode: DELIVERY_FIXED, levelTriggered: false },
  ]);
  io.setIrq(2, true); // no change: no edge
  io.setIrq(2, false);
  assert.equal(apicBus.take().length, 0);
  io.setIrq(2, true);
  assert.equal(apicBus.take().length, 1);
  io.setIrq(2, false);
  // Masked: an edge is ignored and not delivered when unmasked later.
  program(2, 0x30 | RTE_MASKED, 0x01);
  io.setIrq(2, true);
  io.setIrq(2, false);
  program(2, 0x30, 0x01);
  assert.equal(apicBus.take().length, 0);
  // IrqLine.pulse() delivers one edge.
  const line = new IrqLine('isa2').connect(io, 2);
  line.pulse();
  line.pulse();
  assert.equal(apicBus.take().length, 2);
});

test('level: remote IRR set on delivery, held until EOI; EOI re-delivers while asserted', () => {
  const { apicBus, program, io, read } = setup();
  program(9, 0x41 | RTE_LEVEL, 0x00);
  io.setIrq(9, true);
  assert.deepEqual(apicBus.take(), [
    { destination: 0, logical: false, vector: 0x41, deliveryMode: DELIVERY_FIXED, levelTriggered: true },
  ]);
  assert.ok(read(0x10 + 18) & RTE_REMOTE_IRR, 'remote IRR set');
  // Still asserted: nothing more until the EOI.
  io.setIrq(9, false);
  io.setIrq(9, true);
  assert.equal(apicBus.take().length, 0);
  io.endOfInterrupt(0x42); // another vector: no effect
  assert.ok(read(0x10 + 18) & RTE_REMOTE_IRR);
  io.endOfInterrupt(0x41);
  assert.equal(apicBus.take().length, 1, 'still asserted after EOI: delivered again');
  assert.ok(read(0x10 + 18) & RTE_REMOTE_IRR);
  io.setIrq(9, false);
  io.endOfInterrupt(0x41);
  assert.equal(apicBus.take().length, 0, 'deasserted: EOI just clears remote IRR');
  assert.equal(read(0x10 + 18) & RTE_REMOTE_IRR, 0);
  io.setIrq(9, true);
  assert.equal(apicBus.take().length, 1);
});

test('level: masked asserts have no effect; unmasking an asserted pin delivers', () => {
  const { apicBus, program, io, read, write } = setup();
  program(5, 0x55 | RTE_LEVEL | RTE_MASKED);
  io.setIrq(5, true);
  assert.equal(apicBus.take().length, 0);
  assert.equal(read(0x10 + 10) & RTE_REMOTE_IRR, 0);
  program(5, 0x55 | RTE_LEVEL);
  assert.deepEqual(apicBus.take().map((m) => m.vector), [0x55]);
  // Masked after delivery: EOI clears remote IRR but nothing is re-sent until unmasked.
  program(5, 0x55 | RTE_LEVEL | RTE_MASKED);
  io.endOfInterrupt(0x55);
  assert.equal(apicBus.take().length, 0);
  program(5, 0x55 | RTE_LEVEL);
  assert.equal(apicBus.take().length, 1);
  // Changing the destination (high dword) while in service does not re-send.
  write(0x11 + 10, 0x01000000);
  assert.equal(apicBus.take().length, 0);
  io.endOfInterrupt(0x55);
  assert.deepEqual(apicBus.take().map((m) => m.destination), [1]);
});

test('switching a level entry to edge clears a stuck remote IRR (Linux EOI workaround)', () => {
  const { apicBus, program, io, read } = setup();
  program(10, 0x60 | RTE_LEVEL);
  io.setIrq(10, true);
  apicBus.take();
  assert.ok(read(0x10 + 20) & RTE_REMOTE_IRR);
  // Linux's __eoi_ioapic_pin for version 0x11: mask + edge, then restore.
  program(10, 0x60 | RTE_MASKED);
  assert.equal(read(0x10 + 20) & RTE_REMOTE_IRR, 0);
  program(10, 0x60 | RTE_LEVEL);
  assert.equal(apicBus.take().length, 1, 'still asserted: delivered again');
});

test('polarity: active-low entries invert; PCI pins 16-19 are wired active low by default', () => {
  const { apicBus, program, io } = setup();
  // ISA pin (active-high wiring) programmed active low: idle pin low = active.
  program(3, 0x33 | RTE_LEVEL | RTE_ACTIVE_LOW);
  assert.equal(apicBus.take().length, 1, 'a low pin is active for an active-low entry');
  io.setIrq(3, true); // pin goes high: inactive
  io.endOfInterrupt(0x33);
  assert.equal(apicBus.take().length, 0);
  io.setIrq(3, false);
  assert.equal(apicBus.take().length, 1);
  // PCI pin 17, programmed as Linux does for PCI (level, active low).
  program(17, 0x71 | RTE_LEVEL | RTE_ACTIVE_LOW);
  assert.equal(apicBus.take().length, 0, 'idle PIRQ line is high: inactive');
  assert.equal(io.pinHigh(17), true);
  io.setIrq(17, true);
  assert.equal(io.pinHigh(17), false);
  assert.deepEqual(apicBus.take().map((m) => [m.vector, m.levelTriggered]), [[0x71, true]]);
  io.setIrq(17, false);
  io.endOfInterrupt(0x71);
  assert.equal(apicBus.take().length, 0);
  // Edge on an active-low pin: the falling edge of the wire is the asserting edge.
  program(18, 0x72 | RTE_ACTIVE_LOW);
  io.setIrq(18, true);
  assert.equal(apicBus.take().length, 1);
  io.setIrq(18, false);
  assert.equal(apicBus.take().length, 0);
});

test('activeLowInputs option: none', () => {
  const { apicBus, program, io } = setup({ activeLowInputs: 0 });
  program(16, 0x80 | RTE_LEVEL);
  assert.equal(apicBus.take().length, 0);
  io.setIrq(16, true);
  assert.equal(apicBus.take().length, 1);
});

test('delivery modes and logical destinations reach the bus; NMI/INIT/ExtINT act edge-triggered', () => {
  const { apicBus, program, io } = setup();
  program(0, 0x00 | (7 << 8), 0xff); // ExtINT, as Linux's virtual-wire-through-I/O-APIC setup
  program(1, 0x31 | (1 << 8) | RTE_DEST_LOGICAL, 0x03); // lowest priority, logical 0b11
  program(4, 0x00 | (4 << 8) | RTE_LEVEL, 0x01); // NMI programmed level: still edge
  program(6, 0x00 | (5 << 8), 0x02); // INIT
  program(7, 0x00 | (3 << 8)); // reserved mode: nothing
  for (const pin of [0, 1, 4, 6, 7]) io.setIrq(pin, true);
  assert.deepEqual(apicBus.take(), [
    { destination: 0xff, logical: false, vector: 0, deliveryMode: DELIVERY_EXTINT, levelTriggered: false },
    { destination: 3, logical: true, vector: 0x31, deliveryMode: DELIVERY_LOWEST, levelTriggered: false },
    { destination: 1, logical: false, vector: 0, deliveryMode: DELIVERY_NMI, levelTriggered: false },
    { destination: 2, logical: false, vector: 0, deliveryMode: DELIVERY_INIT, levelTriggered: false },
  ]);
  // The NMI pin does not use remote IRR.
  io.setIrq(4, false);
  io.setIrq(4, true);
  assert.equal(apicBus.take().length, 1);
});

test('lowest-priority level deliveries use remote IRR too; EOI clears all entries sharing the vector', () => {
  const { apicBus, program, io, read } = setup();
  program(11, 0x90 | (1 << 8) | RTE_LEVEL | RTE_DEST_LOGICAL, 0x01);
  program(12, 0x90 | RTE_LEVEL, 0x00);
  io.setIrq(11, true);
  io.setIrq(12, true);
  assert.deepEqual(apicBus.take().map((m) => m.deliveryMode), [DELIVERY_LOWEST, DELIVERY_FIXED]);
  io.setIrq(11, false);
  io.endOfInterrupt(0x90);
  assert.equal(read(0x10 + 22) & RTE_REMOTE_IRR, 0);
  assert.deepEqual(apicBus.take().map((m) => m.destination), [0], 'pin 12 still asserted: re-sent');
});

test('input pins out of range and IDs that do not fit 4 bits throw', () => {
  const { io } = setup();
  assert.throws(() => io.setIrq(24, true), /pin 24/);
  assert.throws(() => io.setIrq(-1, true), /pin -1/);
  assert.throws(() => new IoApic82093({ bus: new RecordingBus(), id: 16 }), /4-bit/);
});

test('saveState/loadState round-trips through JSON; reset keeps input levels', () => {
  const a = setup();
  a.program(9, 0x41 | RTE_LEVEL, 0x01);
  a.io.setIrq(9, true);
  a.apicBus.take();
  const saved = JSON.parse(JSON.stringify(a.io.saveState()));
  const b = setup();
  b.io.loadState(saved);
  assert.equal(b.read(0x10 + 18), 0x41 | RTE_LEVEL | RTE_REMOTE_IRR);
  b.io.endOfInterrupt(0x41);
  assert.deepEqual(b.apicBus.take().map((m) => [m.vector, m.destination]), [[0x41, 1]]);
  assert.deepEqual(a.io.saveState(), saved, 'saving copied the state');
  b.io.reset();
  assert.equal(b.read(0x10 + 18), RTE_MASKED);
  b.program(9, 0x41 | RTE_LEVEL);
  assert.equal(b.apicBus.take().length, 1, 'the input was still asserted across reset');
});
