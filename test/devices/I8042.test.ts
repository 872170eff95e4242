// 8042 keyboard controller and PS/2 keyboard: status bits, controller
// commands, command byte, output port (A20, reset), IRQ1/IRQ12, the
// keyboard's command protocol as Linux and SeaBIOS drive it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { I8042 } from '../../src/devices/I8042.ts';
import { Ps2Keyboard } from '../../src/devices/Ps2Keyboard.ts';
import { PortBus } from '../../src/vmm/PortBus.ts';
import { Bench } from './harness.ts';

function setup() {
  const bus = new PortBus();
  const keyboard = new Ps2Keyboard();
  const b1 = new Bench('irq1');
  const b12 = new Bench('irq12');
  const irq1 = b1.irq;
  const irq12 = b12.irq;
  const rec1 = { changes: b1.edges };
  const rec12 = { changes: b12.edges };
  const log: string[] = [];
  const kbc = new I8042({
    keyboard,
    irq1,
    irq12,
    onA20: (on) => log.push(`a20=${on}`),
    onReset: () => log.push('reset'),
  });
  kbc.register(bus);
  const out = (port: number, v: number) => bus.write(port, 1, v);
  const inb = (port: number) => bus.read(port, 1);
  /** Read every byte waiting in the output buffer. */
  const drain = () => {
    const got: number[] = [];
    while (inb(0x64) & 1) got.push(inb(0x60));
    return got;
  };
  const cmd = (c: number, ...data: number[]) => {
    out(0x64, c);
    for (const d of data) out(0x60, d);
    return drain();
  };
  const kbd = (...bytes: number[]) => {
    const got: number[] = [];
    for (const b of bytes) {
      out(0x60, b);
      got.push(...drain());
    }
    return got;
  };
  return { bus, keyboard, irq1, irq12, rec1, rec12, log, kbc, out, inb, drain, cmd, kbd };
}

test('power-on status: buffers empty, not inhibited; command/data bit follows the last write', () => {
  const { inb, out, cmd } = setup();
  assert.equal(inb(0x64), 0x10);
  assert.deepEqual(cmd(0x20), [0x00]);
  assert.equal(inb(0x64) & 0x08, 0x08, 'last write was a command');
  out(0x64, 0x60);
  out(0x60, 0x01);
  assert.equal(inb(0x64) & 0x08, 0x00, 'last write was data');
});

test('self-test 0xAA → 0x55 and sets the system flag; interface tests → 0x00', () => {
  const { inb, out, cmd } = setup();
  out(0x64, 0xaa);
  assert.equal(inb(0x64) & 0x05, 0x05, 'OBF and system flag');
  assert.equal(inb(0x60), 0x55);
  assert.equal(inb(0x64) & 0x01, 0);
  assert.equal(inb(0x60), 0x55, 'an empty buffer reads the last byte again');
  assert.deepEqual(cmd(0xab), [0x00]);
  assert.deepEqual(cmd(0xa9), [0x00]);
  assert.deepEqual(cmd(0xa4), [0xf1]);
});

test('command byte: 0x60 writes, 0x20 reads; system flag bit mirrored in status', () => {
  const { inb, cmd, kbc } = setup();
  cmd(0x60, 0x45);
  assert.deepEqual(cmd(0x20), [0x45]);
  assert.equal(kbc.commandByte, 0x45);
  assert.equal(inb(0x64) & 0x04, 0x04);
  cmd(0x60, 0x41);
  assert.equal(inb(0x64) & 0x04, 0x00);
  cmd(0x7f, 0x99); // RAM byte 31
  assert.deepEqual(cmd(0x3f), [0x99]);
});

test('0xAD/0xAE and 0xA7/0xA8 set and clear the disable bits; keyboard data waits while disabled', () => {
  const { cmd, keyboard, inb, out, drain } = setup();
  cmd(0xad);
  assert.deepEqual(cmd(0x20), [0x10]);
  keyboard.sendBytes([0x1e, 0x9e]);
  assert.equal(inb(0x64) & 1, 0, 'held in the keyboard');
  out(0x64, 0xae);
  assert.equal(inb(0x64) & 1, 1);
  assert.deepEqual(drain(), [0x1e, 0x9e]);
  cmd(0xa7);
  assert.deepEqual(cmd(0x20), [0x20]);
  cmd(0xa8);
  assert.deepEqual(cmd(0x20), [0x00]);
});

test('output port: 0xD0 reads it (with OBF bits), 0xD1 writes A20 and the reset line', () => {
  const { cmd, log, kbc, out, inb } = setup();
  assert.equal(kbc.a20Enabled, true);
  assert.deepEqual(cmd(0xd0), [0xcf], 'A20 on, reset line idle, clock/data lines high');
  // Linux / classic A20 enable sequence: D1, DF (A20 on: no change) then DD (off).
  cmd(0xd1, 0xdf);
  assert.deepEqual(log, []);
  cmd(0xd1, 0xdd);
  assert.deepEqual(log, ['a20=false']);
  assert.equal(kbc.a20Enabled, false);
  assert.deepEqual(cmd(0xd0), [0xcd]);
  // Bit 4 shows keyboard data waiting in the output buffer when the port is read.
  out(0x64, 0xd2);
  out(0x60, 0x77);
  assert.deepEqual(cmd(0xd0), [0x77, 0xdd]);
  cmd(0xd1, 0xdc); // reset line driven low
  assert.deepEqual(log, ['a20=false', 'reset']);
});

test('0xDD/0xDF switch A20; 0xFE pulses reset; 0xFF pulses nothing', () => {
  const { cmd, log } = setup();
  cmd(0xdd);
  cmd(0xdf);
  cmd(0xdf);
  assert.deepEqual(log, ['a20=false', 'a20=true']);
  cmd(0xff);
  assert.equal(log.length, 2);
  cmd(0xfe);
  assert.deepEqual(log.slice(2), ['reset']);
  cmd(0xfd); // pulses line 1 only
  assert.equal(log.length, 3);
  cmd(0xf0); // pulses all four, including reset
  assert.deepEqual(log.slice(3), ['reset']);
});

test('keyboard: reset → FA AA, identify → FA AB 83 (AB 41 translated), enable/disable ACKs', () => {
  const { kbd, cmd, keyboard } = setup();
  assert.deepEqual(kbd(0xff), [0xfa, 0xaa]);
  assert.deepEqual(kbd(0xf2), [0xfa, 0xab, 0x83]);
  cmd(0x60, 0x40); // translation on
  assert.deepEqual(kbd(0xf2), [0xfa, 0xab, 0x41]);
  assert.deepEqual(kbd(0xf5), [0xfa]);
  assert.equal(keyboard.state.scanning, false);
  keyboard.sendBytes([0x1e]);
  assert.deepEqual(kbd(0xf4), [0xfa], 'no scancodes while disabled');
  assert.equal(keyboard.state.scanning, true);
  assert.deepEqual(kbd(0xee), [0xee]);
  assert.deepEqual(kbd(0x12), [0xfe], 'unknown command: resend request');
});

test('keyboard: LEDs, typematic, scancode set take a parameter, each ACKed', () => {
  const { kbd, cmd, keyboard } = setup();
  assert.deepEqual(kbd(0xed, 0x07), [0xfa, 0xfa]);
  assert.equal(keyboard.state.leds, 7);
  assert.deepEqual(kbd(0xf3, 0x20), [0xfa, 0xfa]);
  assert.equal(keyboard.state.typematic, 0x20);
  assert.deepEqual(kbd(0xf0, 0x00), [0xfa, 0xfa, 0x02]);
  assert.deepEqual(kbd(0xf0, 0x01), [0xfa, 0xfa]);
  cmd(0x60, 0x40);
  assert.deepEqual(kbd(0xf0, 0x00), [0xfa, 0xfa, 0x43], 'set 1 as the translating controller shows it');
  // A command byte where a parameter was expected starts a new command.
  assert.deepEqual(kbd(0xed, 0xf2), [0xfa, 0xfa, 0xab, 0x41]);
  assert.deepEqual(kbd(0xfe), [0x41], 'resend repeats the last byte');
});

test('IRQ1 follows the output buffer when enabled; each queued byte gives a new rising edge', () => {
  const { cmd, keyboard, rec1, irq1, inb } = setup();
  keyboard.sendBytes([0x1c]);
  assert.equal(irq1.isRaised, false, 'command byte bit 0 clear: no IRQ');
  inb(0x60);
  cmd(0x60, 0x01);
  keyboard.sendBytes([0x1e, 0x9e]);
  assert.equal(irq1.isRaised, true);
  assert.equal(inb(0x60), 0x1e);
  assert.equal(irq1.isRaised, true);
  assert.equal(inb(0x60), 0x9e);
  assert.equal(irq1.isRaised, false);
  assert.deepEqual(
    rec1.changes.map((c) => c.level),
    [true, false, true, false],
  );
});

test('Linux-style probe with interrupts off: flush, self-test, CTR, GETID, LEDs, typematic, enable', () => {
  const { cmd, kbd, drain, keyboard, rec1 } = setup();
  keyboard.sendBytes([0x1c, 0x9c]); // junk to flush
  assert.equal(drain().length, 2);
  assert.deepEqual(cmd(0xaa), [0x55]);
  const ctr = cmd(0x20)[0];
  cmd(0x60, (ctr | 0x30) & ~0x03);
  cmd(0x60, 0x44 | 0x20); // keyboard enabled, XLATE, SYS, aux off
  assert.deepEqual(kbd(0xf2), [0xfa, 0xab, 0x41]);
  assert.deepEqual(kbd(0xf5), [0xfa]);
  assert.deepEqual(kbd(0xed, 0x00), [0xfa, 0xfa]);
  assert.deepEqual(kbd(0xf3, 0x00), [0xfa, 0xfa]);
  assert.deepEqual(kbd(0xf4), [0xfa]);
  assert.equal(rec1.changes.length, 0, 'polled: no IRQ1');
});

test('aux: 0xD3 loopback as aux data (IRQ12); 0xD4 without a mouse times out', () => {
  const { cmd, inb, out, irq12, irq1 } = setup();
  cmd(0x60, 0x03);
  out(0x64, 0xd3);
  out(0x60, 0x5a);
  assert.equal(inb(0x64) & 0x21, 0x21);
  assert.equal(irq12.isRaised, true);
  assert.equal(irq1.isRaised, false);
  assert.equal(inb(0x60), 0x5a);
  assert.equal(irq12.isRaised, false);
  out(0x64, 0xd4);
  out(0x60, 0xf2);
  assert.equal(inb(0x64) & 0x61, 0x61, 'aux data with the timeout bit');
  assert.equal(inb(0x60), 0xfe);
  assert.equal(inb(0x64) & 0x40, 0);
  // 0xD2: as if from the keyboard.
  out(0x64, 0xd2);
  out(0x60, 0x33);
  assert.equal(inb(0x64) & 0x21, 0x01);
  assert.equal(irq1.isRaised, true);
  assert.equal(inb(0x60), 0x33);
});

test('biosInit leaves what SeaBIOS leaves: CTR 0x61, system flag, keyboard enabled in set 2', () => {
  const { kbc, keyboard, inb, cmd, irq1 } = setup();
  kbc.biosInit();
  assert.equal(kbc.commandByte, 0x61);
  assert.equal(inb(0x64) & ~0x08, 0x10, 'buffer empty; system flag follows CTR bit 2 (0)');
  assert.equal(keyboard.state.scanning, true);
  assert.equal(keyboard.state.scancodeSet, 2);
  assert.equal(keyboard.state.translate, true);
  assert.equal(irq1.isRaised, false);
  keyboard.sendBytes([0x1e]);
  assert.equal(irq1.isRaised, true);
  assert.deepEqual(cmd(0x20).slice(-1), [0x61]);
});

test('saveState/loadState: buffered bytes and settings survive', () => {
  const a = setup();
  a.cmd(0x60, 0x41);
  a.out(0x64, 0xaa);
  a.keyboard.sendBytes([0x10, 0x90]);
  const saved = JSON.parse(JSON.stringify({ kbc: a.kbc.saveState(), kbd: a.keyboard.saveState() }));
  const b = setup();
  b.keyboard.loadState(saved.kbd);
  b.kbc.loadState(saved.kbc);
  assert.equal(b.irq1.isRaised, true);
  assert.deepEqual(b.drain(), [0x55, 0x10, 0x90]);
  assert.throws(() => b.kbc.loadState({} as never), /wrong shape/);
  assert.throws(() => new I8042({} as never), /keyboard/);
});
