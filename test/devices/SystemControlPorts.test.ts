// Ports 0x61 (PIT channel 2 gate and OUT, speaker, refresh toggle),
// 0x92 (fast A20, fast reset) and 0x80 (POST code).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SystemControlPorts } from '../../src/devices/SystemControlPorts.ts';
import { Pit8254, pitTickNs } from '../../src/devices/Pit8254.ts';
import { PortBus } from '../../src/vmm/PortBus.ts';
import { ManualClock } from './harness.ts';

function setup() {
  const clock = new ManualClock();
  const bus = new PortBus();
  const pit = new Pit8254({ clock });
  pit.register(bus);
  const log: string[] = [];
  const sys = new SystemControlPorts({
    clock,
    setPitGate2: (l) => {
      log.push(`gate2=${l}`);
      pit.setGate(2, l);
    },
    pitOut2: () => pit.getOut(2),
    onSpeaker: (on) => log.push(`speaker=${on}`),
    onA20: (on) => log.push(`a20=${on}`),
    onReset: () => log.push('reset'),
    onPostCode: (c) => log.push(`post=${c.toString(16)}`),
  });
  sys.register(bus);
  const out = (port: number, v: number) => bus.write(port, 1, v);
  const inb = (port: number) => bus.read(port, 1);
  return { clock, bus, pit, sys, log, out, inb };
}

test('port 0x61: gate and speaker bits read back, callbacks on change only, bits 4-7 read-only', () => {
  const { sys, log, out, inb } = setup();
  out(0x61, 0xf3);
  assert.deepEqual(log, ['gate2=true', 'speaker=true']);
  assert.equal(inb(0x61) & 0xcf, 0x03, 'bits 6-7 read 0; written bits 4-7 are not stored');
  out(0x61, 0x03);
  assert.equal(log.length, 2);
  out(0x61, 0x01);
  assert.deepEqual(log.slice(2), ['speaker=false']);
  assert.equal(sys.pitGate2, true);
  assert.equal(sys.speakerEnabled, false);
  out(0x61, 0x0c);
  assert.equal(inb(0x61) & 0x0f, 0x0c, 'check-disable bits stored');
});

test('port 0x61 bit 4: refresh toggle flips every 18 PIT clocks (15.085 us)', () => {
  const { clock, inb } = setup();
  const bit = () => (inb(0x61) >> 4) & 1;
  clock.t = pitTickNs(18) - 1;
  assert.equal(bit(), 0);
  clock.t = pitTickNs(18);
  assert.equal(bit(), 1);
  clock.t = pitTickNs(36) - 1;
  assert.equal(bit(), 1);
  clock.t = pitTickNs(36);
  assert.equal(bit(), 0);
  assert.ok(Math.abs(pitTickNs(18) - 15085) <= 1);
});

test('port 0x61 bit 5 follows PIT channel 2 OUT: SeaBIOS TSC calibration loop', () => {
  const { clock, out, inb } = setup();
  clock.t = 2000; // edge 2
  // outb((orig & ~PPCB_SPKR) | PPCB_T2GATE, 0x61); ch2 mode 0 LSB/MSB; count 0x800
  out(0x61, (inb(0x61) & ~0x02) | 0x01);
  out(0x43, 0xb0);
  out(0x42, 0x00);
  out(0x42, 0x08);
  // Loaded on edge 3; OUT goes high on edge 3 + 0x800.
  clock.t = pitTickNs(3 + 0x800) - 1;
  assert.equal(inb(0x61) & 0x20, 0);
  clock.t = pitTickNs(3 + 0x800);
  assert.equal(inb(0x61) & 0x20, 0x20);
  // Gate off (mode 0): counting stops, OUT stays as it is.
  out(0x61, 0x00);
  assert.equal(inb(0x61) & 0x21, 0x20);
});

test('port 0x92: fast A20 on bit 1, reset on a 0→1 edge of bit 0, reads back', () => {
  const { sys, log, out, inb } = setup();
  out(0x92, 0x02);
  assert.deepEqual(log, ['a20=true']);
  assert.equal(inb(0x92), 0x02);
  assert.equal(sys.a20Enabled, true);
  out(0x92, 0x03);
  assert.deepEqual(log.slice(1), ['reset']);
  out(0x92, 0x03);
  assert.equal(log.length, 2, 'bit 0 already set: no new reset');
  out(0x92, 0x00);
  assert.deepEqual(log.slice(2), ['a20=false']);
  out(0x92, 0x01);
  assert.deepEqual(log.slice(3), ['reset']);
  sys.reset();
  assert.equal(inb(0x92), 0x00);
});

test('port 0x80: POST code recorded and read back', () => {
  const { log, out, inb, bus } = setup();
  out(0x80, 0x55);
  assert.equal(inb(0x80), 0x55);
  assert.deepEqual(log, ['post=55']);
  const noPost = new SystemControlPorts({ clock: new ManualClock(), postPort: false });
  const bus2 = new PortBus();
  noPost.register(bus2);
  assert.equal(bus2.ownerOf(0x80), undefined);
  assert.equal(bus.ownerOf(0x80), 'sysctl.post');
});

test('saveState/loadState and a clear error without a clock', () => {
  const { sys, out } = setup();
  out(0x61, 0x03);
  out(0x92, 0x02);
  out(0x80, 0x42);
  const saved = JSON.parse(JSON.stringify(sys.saveState()));
  const other = new SystemControlPorts({ clock: new ManualClock() });
  other.loadState(saved);
  assert.deepEqual(other.saveState(), { portB: 3, portA: 2, postCode: 0x42 });
  assert.throws(() => new SystemControlPorts({} as never), /clock/);
});
