// 16550A UART: register sequences in; register values, IRQ levels and guest
// times out (NS PC16550D / TI TL16C550 datasheet behaviour).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Uart16550, COM_PORTS, type Uart16550Options } from '../../src/devices/Uart16550.ts';
import { PortBus } from '../../src/vmm/PortBus.ts';
import { Bench } from './harness.ts';

const RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

// 115200 8N1: 10 bits × 16 × divisor 1 / 1.8432 MHz = 86805.6 ns, one bit 8680.6 ns.
const CHAR = 86806;
const BIT = 8681;

function setup(opts: Partial<Uart16550Options> = {}) {
  const b = new Bench('irq4');
  const out: { ns: number; byte: number }[] = [];
  const u = new Uart16550({
    timers: b.timers,
    irq: b.irq,
    onTransmit: (byte) => out.push({ ns: b.now, byte }),
    ...opts,
  });
  const r = (reg: number) => u.portRead(reg, 1);
  const w = (reg: number, v: number) => u.portWrite(reg, 1, v);
  return { b, u, out, r, w };
}

/** Divisor 1 (115200 baud), 8 data bits, no parity, 1 stop bit. */
function program115200(w: (reg: number, v: number) => void): void {
  w(LCR, 0x80);
  w(DLL, 0x01);
  w(DLM, 0x00);
  w(LCR, 0x03);
}

test('COM port constants', () => {
  assert.deepEqual(
    COM_PORTS.map((c) => [c.port, c.irq]),
    [
      [0x3f8, 4],
      [0x2f8, 3],
      [0x3e8, 4],
      [0x2e8, 3],
    ],
  );
});

test('reset values, divisor latch and plain registers', () => {
  const { u, r, w } = setup();
  assert.equal(r(IIR), 0x01);
  assert.equal(r(LSR), 0x60);
  assert.equal(r(MSR), 0xb0); // DCD, DSR, CTS from the default host side
  assert.equal(r(IER), 0);
  assert.equal(r(LCR), 0);
  assert.equal(r(MCR), 0);
  // Divisor latch behind DLAB, not disturbing IER/RBR.
  w(LCR, 0x83);
  w(DLL, 0x34);
  w(DLM, 0x12);
  assert.equal(r(DLL), 0x34);
  assert.equal(r(DLM), 0x12);
  assert.equal(r(LCR), 0x83);
  w(LCR, 0x03);
  assert.equal(r(IER), 0);
  w(IER, 0xff);
  assert.equal(r(IER), 0x0f); // bits 7..4 are always 0
  w(MCR, 0xff);
  assert.equal(r(MCR), 0x1f); // bits 7..5 are always 0
  w(MCR, 0);
  w(SCR, 0x5a);
  assert.equal(r(SCR), 0x5a);
  // Character time from divisor 0x1234 and 8N1.
  assert.equal(u.characterTimeNs, Math.round((10 * 0x1234 * 16 * 1e9) / 1843200));
  // A 16-bit read is two byte reads.
  assert.equal(u.portRead(LCR, 2), 0x0003);
});

test('FCR: FIFO enable shows in IIR bits 7..6', () => {
  const { r, w } = setup();
  w(FCR, 0x01);
  assert.equal(r(IIR), 0xc1);
  w(FCR, 0x00);
  assert.equal(r(IIR), 0x01);
});

test('115200 8N1, three bytes with THRE interrupts: IIR sequence, IRQ line, TEMT time', () => {
  const { b, out, r, w } = setup();
  program115200(w);
  w(FCR, 0x07); // FIFOs on, both reset
  w(MCR, 0x0b); // DTR, RTS, OUT2
  w(IER, 0x02); // THRE interrupt: THR is empty, so it is pending at once
  assert.equal(b.irq.isRaised, true);
  assert.equal(r(IIR), 0xc2);
  // That IIR read cleared the THRE interrupt.
  assert.equal(b.irq.isRaised, false);
  assert.equal(r(IIR), 0xc1);

  b.runUntil(1000);
  w(THR, 0x61);
  w(THR, 0x62);
  w(THR, 0x63);
  assert.equal(r(LSR) & 0x60, 0x00); // two bytes still in the FIFO, one in the TSR
  assert.equal(b.irq.isRaised, false);

  b.runUntil(1000 + 2 * CHAR - 1);
  assert.deepEqual(out, [{ ns: 1000 + CHAR, byte: 0x61 }]);
  assert.equal(r(IIR), 0xc1);
  assert.equal(b.irq.isRaised, false);

  // The last byte enters the shift register: FIFO empty, THRE and its interrupt.
  b.runUntil(1000 + 2 * CHAR);
  assert.equal(b.irq.isRaised, true);
  assert.equal(r(LSR), 0x20); // THRE, not yet TEMT
  assert.equal(r(IIR), 0xc2);
  assert.equal(b.irq.isRaised, false);
  assert.equal(r(IIR), 0xc1);

  b.runUntil(1000 + 3 * CHAR - 1);
  assert.equal(r(LSR), 0x20);
  b.runUntil(1000 + 3 * CHAR);
  assert.equal(r(LSR), 0x60); // TEMT at exactly three character times
  assert.deepEqual(out, [
    { ns: 1000 + CHAR, byte: 0x61 },
    { ns: 1000 + 2 * CHAR, byte: 0x62 },
    { ns: 1000 + 3 * CHAR, byte: 0x63 },
  ]);
  assert.deepEqual(b.rises(), [0, 1000 + 2 * CHAR]);
});

test('FIFO mode: a lone byte delays the THRE interrupt by one character minus a stop bit', () => {
  const { b, r, w } = setup();
  program115200(w);
  w(FCR, 0x01);
  w(MCR, 0x08);
  w(IER, 0x02);
  assert.equal(r(IIR), 0xc2);
  w(THR, 0x41);
  // The byte went straight to the TSR: LSR.THRE is set, the interrupt is not yet.
  assert.equal(r(LSR), 0x20);
  assert.equal(r(IIR), 0xc1);
  b.runUntil(CHAR - BIT - 1);
  assert.equal(b.irq.isRaised, false);
  b.runUntil(CHAR - BIT);
  assert.equal(b.irq.isRaised, true);
  assert.equal(r(IIR), 0xc2);
  b.runUntil(CHAR);
  assert.equal(r(LSR), 0x60);
});

test('16450 mode (FIFOs off): THR empties into the TSR at once, THRE interrupt follows', () => {
  const { b, out, r, w } = setup();
  program115200(w);
  w(MCR, 0x08);
  w(IER, 0x02);
  assert.equal(r(IIR), 0x02);
  w(THR, 0x31); // to the TSR at once: THR empty again, THRE interrupt
  assert.equal(b.irq.isRaised, true);
  assert.equal(r(LSR), 0x20);
  w(THR, 0x32); // THR full: THRE and its interrupt clear
  assert.equal(b.irq.isRaised, false);
  assert.equal(r(LSR), 0x00);
  assert.equal(r(IIR), 0x01);
  b.runUntil(CHAR);
  assert.equal(b.irq.isRaised, true);
  assert.equal(r(LSR), 0x20);
  b.runUntil(2 * CHAR);
  assert.equal(r(LSR), 0x60);
  assert.deepEqual(
    out.map((o) => o.ns),
    [CHAR, 2 * CHAR],
  );
});

test('THRE: an IIR read clears it only when reported; IER rising edge re-arms it', () => {
  const { b, r, w, u } = setup({ hostRxBuffer: false });
  program115200(w);
  w(FCR, 0x01);
  w(MCR, 0x08);
  w(IER, 0x03);
  u.receive([0x55]);
  b.runUntil(CHAR);
  // Received data outranks THRE: reading IIR now does not clear THRE.
  assert.equal(r(IIR), 0xc4);
  assert.equal(r(RBR), 0x55);
  assert.equal(r(IIR), 0xc2);
  assert.equal(r(IIR), 0xc1); // cleared by the read that reported it
  assert.equal(b.irq.isRaised, false);
  w(IER, 0x03); // no 0→1 edge of IER bit 1: stays clear
  assert.equal(r(IIR), 0xc1);
  w(IER, 0x01);
  w(IER, 0x03); // rising edge with THR empty: pending again
  assert.equal(b.irq.isRaised, true);
  assert.equal(r(IIR), 0xc2);
});

test('RX trigger level 8: interrupt on the 8th byte, cleared below the level', () => {
  const { b, u, r, w } = setup();
  program115200(w);
  w(FCR, 0x81); // FIFOs on, trigger 8
  w(MCR, 0x08);
  w(IER, 0x01);
  assert.equal(u.receive([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 10);
  b.runUntil(8 * CHAR - 1);
  assert.equal(b.irq.isRaised, false);
  assert.equal(r(LSR) & 0x01, 0x01);
  assert.equal(r(IIR), 0xc1);
  b.runUntil(8 * CHAR);
  assert.equal(b.irq.isRaised, true);
  assert.equal(r(IIR), 0xc4);
  b.runUntil(10 * CHAR);
  assert.equal(r(RBR), 1);
  assert.equal(r(RBR), 2);
  assert.equal(b.irq.isRaised, true); // 8 left
  assert.equal(r(RBR), 3);
  assert.equal(b.irq.isRaised, false); // 7 < 8
  assert.equal(r(IIR), 0xc1);
  // Then the character timeout, 4 character times after that last read.
  b.runUntil(14 * CHAR - 1);
  assert.equal(b.irq.isRaised, false);
  b.runUntil(14 * CHAR);
  assert.equal(r(IIR), 0xcc);
  assert.deepEqual(b.rises(), [8 * CHAR, 14 * CHAR]);
});

test('trigger levels 1, 4, 14', () => {
  for (const [fcr, level] of [
    [0x01, 1],
    [0x41, 4],
    [0xc1, 14],
  ]) {
    const { b, u, w } = setup();
    program115200(w);
    w(FCR, fcr);
    w(MCR, 0x08);
    w(IER, 0x01);
    u.receive(new Uint8Array(16));
    b.runUntil(level * CHAR - 1);
    assert.equal(b.irq.isRaised, false, `trigger ${level}`);
    b.runUntil(level * CHAR);
    assert.equal(b.irq.isRaised, true, `trigger ${level}`);
  }
});

test('character timeout: 4 character times after the last byte, cleared by reading RBR', () => {
  const { b, u, r, w } = setup();
  program115200(w);
  w(FCR, 0x81);
  w(MCR, 0x08);
  w(IER, 0x01);
  u.receive('abc');
  // Arrivals at 1, 2, 3 character times; each restarts the 4-character timer.
  b.runUntil(7 * CHAR - 1);
  assert.equal(b.irq.isRaised, false);
  b.runUntil(7 * CHAR);
  assert.equal(b.irq.isRaised, true);
  assert.equal(r(IIR), 0xcc);
  assert.equal(r(IIR), 0xcc); // an IIR read does not clear it
  assert.equal(r(RBR), 0x61);
  assert.equal(b.irq.isRaised, false);
  // Two left: the timer restarted at the read.
  b.runUntil(11 * CHAR);
  assert.equal(r(IIR), 0xcc);
  assert.equal(r(RBR), 0x62);
  assert.equal(r(RBR), 0x63);
  b.runUntil(20 * CHAR);
  assert.equal(b.irq.isRaised, false);
  assert.equal(r(LSR) & 1, 0);
  assert.deepEqual(b.rises(), [7 * CHAR, 11 * CHAR]);
});

test('loopback: TX goes to RX at the line rate, MCR outputs drive MSR, IRQ pin held off', () => {
  const { b, out, r, w } = setup();
  program115200(w);
  w(FCR, 0x01);
  w(IER, 0x01);
  // Linux's probe: LOOP | OUT2 | RTS must read back as DCD | CTS.
  w(MCR, 0x1a);
  assert.equal(r(MSR) & 0xf0, 0x90);
  w(MCR, 0x00);
  r(MSR);
  w(MCR, 0x14); // LOOP | OUT1: RI on, CTS/DSR/DCD off
  assert.equal(r(MSR), 0x40 | 0x0b); // DCTS, DDSR, DDCD; RI rising is not a TERI
  assert.equal(r(MSR), 0x40);
  w(MCR, 0x10); // RI falls: trailing edge
  assert.equal(r(MSR), 0x04);

  w(MCR, 0x18); // LOOP | OUT2
  w(THR, 0xa5);
  b.runUntil(CHAR - 1);
  assert.equal(r(LSR) & 1, 0);
  b.runUntil(CHAR);
  assert.equal(r(LSR) & 1, 1);
  assert.equal(r(IIR), 0xc4);
  assert.equal(b.irq.isRaised, false); // OUT2 pin is forced inactive in loopback
  assert.deepEqual(out, []); // nothing on the serial output
  w(MCR, 0x08); // leave loopback, OUT2 on: the pending interrupt reaches the line
  assert.equal(b.irq.isRaised, true);
  assert.equal(r(RBR), 0xa5);
  assert.equal(b.irq.isRaised, false);
});

test('loopback holds host input until it ends', () => {
  const { b, u, r, w } = setup();
  program115200(w);
  w(MCR, 0x10);
  u.receive('x');
  b.runUntil(5 * CHAR);
  assert.equal(r(LSR) & 1, 0);
  w(MCR, 0x00);
  b.runUntil(6 * CHAR);
  assert.equal(r(LSR) & 1, 1);
  assert.equal(r(RBR), 0x78);
});

test('OUT2 gates the IRQ line', () => {
  const { b, u, r, w } = setup();
  program115200(w);
  w(IER, 0x01);
  u.receive([0x42]);
  b.runUntil(CHAR);
  assert.equal(r(IIR), 0x04);
  assert.equal(b.irq.isRaised, false);
  w(MCR, 0x03); // DTR, RTS only
  assert.equal(b.irq.isRaised, false);
  w(MCR, 0x0b);
  assert.equal(b.irq.isRaised, true);
  w(MCR, 0x03);
  assert.equal(b.irq.isRaised, false);
  w(MCR, 0x0b);
  r(RBR);
  assert.equal(b.irq.isRaised, false);
  // A board without the gate.
  const g = setup({ gateIrqWithOut2: false });
  program115200(g.w);
  g.w(IER, 0x01);
  g.u.receive([0x42]);
  g.b.runUntil(CHAR);
  assert.equal(g.b.irq.isRaised, true);
});

test('overrun without the host buffer: FIFO keeps the first 16, OE and the line status interrupt', () => {
  const { b, u, r, w } = setup({ hostRxBuffer: false });
  program115200(w);
  w(FCR, 0xc1);
  w(MCR, 0x08);
  w(IER, 0x05);
  const data = Array.from({ length: 20 }, (_, i) => 0x30 + i);
  u.receive(data);
  b.runUntil(16 * CHAR);
  assert.equal(r(IIR), 0xc4); // 16 ≥ 14
  b.runUntil(17 * CHAR - 1);
  assert.equal(r(IIR), 0xc4);
  b.runUntil(17 * CHAR);
  assert.equal(r(IIR), 0xc6); // line status outranks received data
  b.runUntil(30 * CHAR);
  assert.equal(r(LSR), 0x63); // DR | OE | THRE | TEMT
  assert.equal(r(LSR), 0x61); // OE cleared by the read
  assert.equal(r(IIR), 0xc4);
  const got: number[] = [];
  while (r(LSR) & 1) got.push(r(RBR));
  assert.deepEqual(got, data.slice(0, 16));
});

test('overrun in 16450 mode: the new character replaces the old', () => {
  const { b, u, r, w } = setup({ hostRxBuffer: false });
  program115200(w);
  u.receive([1, 2, 3]);
  b.runUntil(3 * CHAR);
  assert.equal(r(LSR), 0x63);
  assert.equal(r(RBR), 3);
  assert.equal(r(LSR), 0x60);
});

test('host buffer: pasted text waits beyond the FIFO and enters at the line rate', () => {
  const { b, u, r, w } = setup();
  program115200(w);
  w(FCR, 0x01);
  const text = Array.from({ length: 40 }, (_, i) => i + 1);
  u.receive(text);
  b.runUntil(100 * CHAR);
  assert.equal(u.hostPending(), 24);
  assert.equal(r(LSR), 0x61); // full, no overrun
  // Reading one makes room: the waiting byte enters at once, the next one a
  // character time later.
  const t0 = b.now;
  assert.equal(r(RBR), 1);
  b.runUntil(t0);
  assert.equal(u.hostPending(), 23);
  assert.equal(r(RBR), 2);
  b.runUntil(t0 + CHAR - 1);
  assert.equal(u.hostPending(), 23);
  b.runUntil(t0 + CHAR);
  assert.equal(u.hostPending(), 22);
  const got = [1, 2];
  while (got.length < 40) {
    b.advance(CHAR);
    while (r(LSR) & 1) got.push(r(RBR));
  }
  assert.deepEqual(got, text);
  assert.equal(r(LSR) & 0x02, 0);
});

test('canReceive reflects room with and without the host buffer', () => {
  const a = setup({ hostRxLimit: 4 });
  assert.equal(a.u.canReceive(), true);
  assert.equal(a.u.receive([1, 2, 3, 4, 5]), 4);
  assert.equal(a.u.canReceive(), false);
  const c = setup({ hostRxBuffer: false });
  c.w(FCR, 0x01);
  c.u.receive(new Uint8Array(15));
  assert.equal(c.u.canReceive(), true);
  c.u.receive([0]);
  assert.equal(c.u.canReceive(), false);
});

test('modem status interrupt and delta bits', () => {
  const { b, u, r, w } = setup();
  w(MCR, 0x08);
  w(IER, 0x08);
  assert.equal(b.irq.isRaised, false);
  u.setModemInputs(0x30); // carrier lost
  assert.equal(b.irq.isRaised, true);
  assert.equal(r(IIR), 0x00);
  assert.equal(r(MSR), 0x38); // DSR | CTS | DDCD
  assert.equal(b.irq.isRaised, false);
  u.setModemInputs(0x70); // ring rises: no TERI
  assert.equal(r(IIR), 0x01);
  u.setModemInputs(0x30); // ring falls: TERI
  assert.equal(r(MSR), 0x34);
});

test('interrupt priorities: line status > received data > THRE > modem status', () => {
  const { b, u, r, w } = setup({ hostRxBuffer: false });
  program115200(w);
  w(MCR, 0x08);
  w(IER, 0x0f); // THRE pending at once
  u.setModemInputs(0x10);
  u.receive([7, 8]); // FIFOs off: the second overruns
  b.runUntil(2 * CHAR);
  assert.equal(r(IIR), 0x06);
  r(LSR);
  assert.equal(r(IIR), 0x04);
  assert.equal(r(RBR), 8);
  assert.equal(r(IIR), 0x02);
  assert.equal(r(IIR), 0x00);
  r(MSR);
  assert.equal(r(IIR), 0x01);
  assert.equal(b.irq.isRaised, false);
});

test('break from the host: a zero character with BI, and LSR bit 7 in FIFO mode', () => {
  const { b, u, r, w } = setup();
  program115200(w);
  w(FCR, 0x01);
  w(MCR, 0x08);
  w(IER, 0x04);
  u.sendBreak();
  u.receive('g');
  b.runUntil(CHAR);
  assert.equal(r(IIR), 0xc6);
  assert.equal(r(LSR), 0xf1); // error in FIFO | TEMT | THRE | BI | DR
  assert.equal(r(IIR), 0xc1);
  b.runUntil(2 * CHAR);
  assert.equal(r(RBR), 0);
  assert.equal(r(LSR), 0x61);
  assert.equal(r(RBR), 0x67);
});

test('FCR resets: RX FIFO reset empties it, TX FIFO reset re-arms THRE', () => {
  const { b, u, r, w } = setup();
  program115200(w);
  w(FCR, 0x01);
  w(MCR, 0x08);
  u.receive('hello');
  b.runUntil(5 * CHAR);
  assert.equal(r(LSR) & 1, 1);
  w(FCR, 0x03);
  assert.equal(r(LSR) & 1, 0);
  w(IER, 0x02);
  assert.equal(r(IIR), 0xc2);
  w(THR, 1);
  w(THR, 2);
  w(THR, 3);
  assert.equal(r(LSR) & 0x20, 0);
  w(FCR, 0x05); // TX FIFO reset: the TSR keeps its character
  assert.equal(r(LSR), 0x20);
  assert.equal(r(IIR), 0xc2);
  b.runUntil(6 * CHAR);
  assert.equal(r(LSR), 0x60);
});

test('word length: 7-bit characters drop bit 7 on both sides, and change the character time', () => {
  const { b, u, out, r, w } = setup();
  w(LCR, 0x80);
  w(DLL, 1);
  w(LCR, 0x02); // 7N1: 9 bits
  const c7 = Math.round((9 * 16 * 1e9) / 1843200);
  assert.equal(u.characterTimeNs, c7);
  w(THR, 0xff);
  b.runUntil(c7);
  assert.deepEqual(out, [{ ns: c7, byte: 0x7f }]);
  u.receive([0xc1]);
  b.runUntil(2 * c7);
  assert.equal(r(RBR), 0x41);
  w(LCR, 0x0f); // 8 data, parity, 2 stop: 12 bits
  assert.equal(u.characterTimeNs, Math.round((12 * 16 * 1e9) / 1843200));
});

test('instantTx: bytes leave at once, THRE/TEMT never drop, THRE interrupt after each write', () => {
  const { b, out, r, w } = setup({ instantTx: true });
  program115200(w);
  w(FCR, 0x01);
  w(MCR, 0x08);
  b.runUntil(500);
  for (const c of 'hi!') w(THR, c.charCodeAt(0));
  assert.deepEqual(out, [
    { ns: 500, byte: 0x68 },
    { ns: 500, byte: 0x69 },
    { ns: 500, byte: 0x21 },
  ]);
  assert.equal(r(LSR), 0x60);
  w(IER, 0x02);
  assert.equal(r(IIR), 0xc2);
  assert.equal(b.irq.isRaised, false);
  w(THR, 0x0a);
  assert.equal(b.irq.isRaised, true);
});

test('saveState/loadState mid-transmission and mid-reception, through JSON', () => {
  const a = setup();
  program115200(a.w);
  a.w(FCR, 0x81);
  a.w(MCR, 0x08);
  a.w(IER, 0x03);
  a.r(IIR);
  a.w(THR, 0x41);
  a.w(THR, 0x42);
  a.u.receive('0123456789');
  a.b.runUntil(CHAR + 100);
  const saved = JSON.parse(JSON.stringify(a.u.saveState()));

  const c = setup();
  c.b.clock.t = a.b.now;
  c.u.loadState(saved);
  for (const x of [a, c]) x.b.runUntil(20 * CHAR);
  assert.deepEqual(
    c.out,
    a.out.filter((o) => o.ns > CHAR + 100),
  );
  assert.deepEqual(c.out, [{ ns: 2 * CHAR, byte: 0x42 }]);
  for (const x of [a, c]) {
    assert.equal(x.r(IIR), 0xc4);
    let s = '';
    while (x.r(LSR) & 1) s += String.fromCharCode(x.r(RBR));
    assert.equal(s, '0123456789');
  }
  assert.deepEqual(c.u.saveState(), a.u.saveState());
});

test('reset returns to power-on state and cancels timers', () => {
  const { b, u, r, w } = setup();
  program115200(w);
  w(MCR, 0x08);
  w(IER, 0x0f);
  w(THR, 1);
  u.receive('abc');
  u.reset();
  assert.equal(b.irq.isRaised, false);
  assert.equal(b.timers.nextDeadline(), Infinity);
  assert.equal(r(LSR), 0x60);
  assert.equal(r(IIR), 0x01);
  assert.equal(u.hostPending(), 0);
});

test('host buffer: a byte held back by a full FIFO enters the moment there is room', () => {
  const { b, u, r, w } = setup();
  program115200(w);
  w(FCR, 0x01);
  u.receive(new Uint8Array(20).map((_, i) => i));
  b.runUntil(17 * CHAR + 1000); // the 17th byte finished at 17 CHAR and waits
  assert.equal(u.hostPending(), 4);
  assert.equal(r(RBR), 0);
  b.runUntil(b.now);
  assert.equal(u.hostPending(), 3); // entered at once
  b.runUntil(18 * CHAR + 1000 - 1);
  assert.equal(u.hostPending(), 3);
  b.runUntil(18 * CHAR + 1000); // then one per character time
  assert.equal(u.hostPending(), 3); // FIFO full again: waits
  r(RBR);
  b.runUntil(b.now);
  assert.equal(u.hostPending(), 2);
  assert.equal(r(LSR) & 0x02, 0);
});

test('register() claims eight ports at the COM base on the port bus', () => {
  const { u } = setup();
  const bus = new PortBus();
  u.register(bus, COM_PORTS[1].port);
  assert.equal(bus.ownerOf(0x2f8), 'uart16550');
  assert.equal(bus.ownerOf(0x2ff), 'uart16550');
  assert.equal(bus.ownerOf(0x300), undefined);
  bus.write(0x2ff, 1, 0x77);
  assert.equal(bus.read(0x2ff, 1), 0x77);
  assert.equal(bus.read(0x2fd, 1), 0x60);
});
