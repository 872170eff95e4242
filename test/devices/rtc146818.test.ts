// MC146818 RTC + CMOS: register sequences in; time registers, flags, IRQ8
// levels and guest times out (Motorola MC146818 datasheet behaviour).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Rtc146818,
  RTC_DEFAULT_START_MS,
  type Rtc146818Options,
} from '../../src/devices/Rtc146818.ts';
import { Timers } from '../../src/vmm/Timers.ts';
import { PortBus } from '../../src/vmm/PortBus.ts';
import { Bench } from './harness.ts';

const SEC = 0x00, SEC_ALARM = 0x01, MIN = 0x02, MIN_ALARM = 0x03, HOUR = 0x04, HOUR_ALARM = 0x05;
const DOW = 0x06, DOM = 0x07, MONTH = 0x08, YEAR = 0x09, A = 0x0a, B = 0x0b, C = 0x0c, D = 0x0d, CENTURY = 0x32;
const S = 1e9; // ns per second
const MiB = 1 << 20;

function setup(opts: Partial<Rtc146818Options> = {}) {
  const b = new Bench('irq8');
  const rtc = new Rtc146818({ timers: b.timers, irq: b.irq, ramSize: 128 * MiB, ...opts });
  const rd = (i: number) => {
    rtc.portWrite(0, 1, i);
    return rtc.portRead(1, 1);
  };
  const wr = (i: number, v: number) => {
    rtc.portWrite(0, 1, i);
    rtc.portWrite(1, 1, v);
  };
  const time = () => [HOUR, MIN, SEC].map(rd);
  return { b, rtc, rd, wr, time };
}

/** Guest ns from the default start (2026-01-01T00:00:00Z) to a UTC date. */
function at(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number {
  return (Date.UTC(y, mo - 1, d, h, mi, s) - RTC_DEFAULT_START_MS) * 1e6;
}

test('deterministic start 2026-01-01T00:00:00Z in BCD, 24-hour; registers A-D at power-on', () => {
  const { rd } = setup();
  assert.equal(new Date(RTC_DEFAULT_START_MS).toISOString(), '2026-01-01T00:00:00.000Z');
  assert.deepEqual(
    [SEC, MIN, HOUR, DOW, DOM, MONTH, YEAR, CENTURY].map(rd),
    [0x00, 0x00, 0x00, 0x05, 0x01, 0x01, 0x26, 0x20], // a Thursday: day 5 with Sunday = 1
  );
  assert.equal(rd(A), 0x26);
  assert.equal(rd(B), 0x02);
  assert.equal(rd(C), 0x00);
  assert.equal(rd(D), 0x80); // VRT: the battery is good
});

test('time advances with the guest clock; BCD and binary formats', () => {
  const { b, rd, wr, time } = setup();
  b.runUntil(3725.5 * S);
  assert.deepEqual(time(), [0x01, 0x02, 0x05]);
  b.runUntil(at(2026, 3, 15, 13, 45, 39));
  assert.deepEqual(
    [SEC, MIN, HOUR, DOW, DOM, MONTH, YEAR].map(rd),
    [0x39, 0x45, 0x13, 0x01, 0x15, 0x03, 0x26], // a Sunday
  );
  wr(B, 0x06); // binary, 24-hour
  assert.deepEqual(
    [SEC, MIN, HOUR, DOW, DOM, MONTH, YEAR, CENTURY].map(rd),
    [39, 45, 13, 1, 15, 3, 26, 20],
  );
});

test('12-hour mode: PM in hour bit 7, midnight and noon are 12', () => {
  const { b, rd, wr } = setup();
  wr(B, 0x00); // BCD, 12-hour
  assert.equal(rd(HOUR), 0x12); // 00:00 is 12 AM
  b.runUntil(at(2026, 1, 1, 12, 30));
  assert.equal(rd(HOUR), 0x92); // 12 PM
  b.runUntil(at(2026, 1, 1, 13, 5));
  assert.equal(rd(HOUR), 0x81); // 1 PM
  b.runUntil(at(2026, 1, 1, 23, 59));
  assert.equal(rd(HOUR), 0x91); // 11 PM
  wr(B, 0x04); // binary, 12-hour
  assert.equal(rd(HOUR), 0x80 | 11);
  b.runUntil(at(2026, 1, 2, 9, 0));
  assert.equal(rd(HOUR), 9);
});

test('UIP is set for the 244.14 µs before each update', () => {
  const { b, rd } = setup();
  b.runUntil(S - 244141);
  assert.equal(rd(A), 0x26);
  b.runUntil(S - 244140); // 8 cycles of 32.768 kHz = 244140.625 ns before the second
  assert.equal(rd(A), 0xa6);
  b.runUntil(S - 1);
  assert.equal(rd(A), 0xa6);
  assert.equal(rd(SEC), 0x00); // still the old second during UIP
  b.runUntil(S);
  assert.equal(rd(A), 0x26);
  assert.equal(rd(SEC), 0x01);
  b.runUntil(7 * S - 100_000);
  assert.equal(rd(A), 0xa6);
});

test('periodic interrupt at 1024 Hz: IRQ8 every 976.5625 µs, register C read lowers it', () => {
  const { b, rd, wr } = setup();
  wr(B, 0x42); // PIE, 24-hour
  assert.equal(b.irq.isRaised, false);
  for (let k = 1; k <= 8; k++) {
    const edge = Math.ceil(k * 976562.5);
    b.runUntil(edge - 1);
    assert.equal(b.irq.isRaised, false, `before edge ${k}`);
    b.runUntil(edge);
    assert.equal(b.irq.isRaised, true, `edge ${k}`);
    assert.equal(rd(C), 0xc0); // IRQF | PF
    assert.equal(b.irq.isRaised, false);
    assert.equal(rd(C), 0x00); // read cleared it
  }
  assert.deepEqual(
    b.rises(),
    Array.from({ length: 8 }, (_, i) => Math.ceil((i + 1) * 976562.5)),
  );
  // Far along, the edges are still on the exact 1024 Hz grid.
  b.runUntil(1000 * S - 10);
  rd(C);
  b.runUntil(1000 * S);
  assert.equal(b.irq.isRaised, true);
  assert.equal(b.rises().at(-1), 1000 * S);
});

test('periodic interrupt: the line stays up until C is read, no timer meanwhile', () => {
  const { b, rd, wr } = setup();
  wr(B, 0x42);
  b.runUntil(10 * 976562.5);
  assert.equal(b.rises().length, 1);
  assert.equal(b.timers.nextDeadline(), Infinity);
  assert.equal(rd(C), 0xc0);
  b.runUntil(11 * 976562.5 + 0.5);
  assert.deepEqual(b.rises(), [976563, 10742188]);
});

test('rate select: RS 3 = 8192 Hz, RS 15 = 2 Hz, RS 1 = 256 Hz, RS 0 = none', () => {
  for (const [rs, periodNs] of [
    [3, 122070.3125],
    [15, 500e6],
    [1, 3906250],
    [2, 7812500],
    [7, 1953125],
  ]) {
    const { b, rd, wr } = setup();
    wr(A, 0x20 | rs);
    wr(B, 0x42);
    for (let k = 1; k <= 3; k++) {
      b.runUntil(Math.ceil(k * periodNs));
      assert.equal(rd(C) & 0xc0, 0xc0, `RS ${rs} edge ${k}`); // UF joins PF at whole seconds
    }
    assert.deepEqual(
      b.rises(),
      [1, 2, 3].map((k) => Math.ceil(k * periodNs)),
      `RS ${rs}`,
    );
  }
  const { b, rd, wr } = setup();
  wr(A, 0x20);
  wr(B, 0x42);
  b.runUntil(S / 2);
  assert.equal(rd(C) & 0x40, 0);
  assert.equal(b.rises().length, 0);
});

test('flags are set without their enables (polled), with IRQF clear', () => {
  const { b, rd } = setup();
  b.runUntil(976562); // just before the first periodic edge
  assert.equal(rd(C), 0x00);
  b.runUntil(976563);
  assert.equal(rd(C), 0x40); // PF only
  assert.equal(rd(C), 0x00);
  b.runUntil(S);
  assert.equal(rd(C), 0x50); // PF | UF
  assert.equal(b.rises().length, 0);
  assert.equal(b.timers.nextDeadline(), Infinity); // nothing armed without enables
});

test('enabling an interrupt whose flag is already set raises IRQ8 at once; disabling lowers it', () => {
  const { b, rd, wr } = setup();
  b.runUntil(S + 1);
  wr(B, 0x12); // UIE: UF has been set since the update at 1 s
  assert.equal(b.irq.isRaised, true);
  wr(B, 0x02);
  assert.equal(b.irq.isRaised, false);
  assert.equal(rd(C), 0x50);
});

test('update-ended interrupt once per second', () => {
  const { b, rd, wr } = setup();
  wr(B, 0x12); // UIE
  for (let k = 1; k <= 3; k++) {
    b.runUntil(k * S - 1);
    assert.equal(b.irq.isRaised, false);
    b.runUntil(k * S);
    assert.equal(b.irq.isRaised, true);
    assert.equal(rd(C) & 0xf0 & ~0x40, 0x90); // IRQF | UF (PF is set too, not enabled)
    assert.equal(rd(SEC), k);
  }
  b.runUntil(3.5 * S);
  assert.deepEqual(b.rises(), [S, 2 * S, 3 * S]);
});

test('alarm with a specific time and with "don\'t care" bytes', () => {
  const { b, rd, wr } = setup();
  wr(SEC_ALARM, 0x05);
  wr(MIN_ALARM, 0x01);
  wr(HOUR_ALARM, 0x00);
  wr(B, 0x22); // AIE
  b.runUntil(65 * S - 1);
  assert.equal(b.irq.isRaised, false);
  b.runUntil(65 * S);
  assert.equal(b.irq.isRaised, true);
  assert.equal(rd(C), 0xf0); // IRQF | AF, and PF/UF from the same moment
  // Next match is a day later.
  assert.equal(b.timers.nextDeadline(), 65 * S + 86400 * S);

  // Seconds = 30, minutes and hours "don't care" (0xC0..0xFF): every minute at :30.
  wr(SEC_ALARM, 0x30);
  wr(MIN_ALARM, 0xc0);
  wr(HOUR_ALARM, 0xff);
  b.runUntil(90 * S);
  assert.equal(b.irq.isRaised, true);
  assert.equal(rd(C) & 0xa0, 0xa0);
  b.runUntil(150 * S);
  assert.equal(rd(C) & 0xa0, 0xa0);
  // All three don't care: every second.
  wr(SEC_ALARM, 0xc0);
  b.runUntil(151 * S);
  assert.equal(rd(C) & 0xa0, 0xa0);
  assert.deepEqual(b.rises(), [65 * S, 90 * S, 150 * S, 151 * S]);
});

test('alarm in 12-hour mode matches the PM bit; AF is set while AIE is off', () => {
  const { b, rd, wr } = setup();
  wr(B, 0x00); // BCD, 12-hour
  wr(SEC_ALARM, 0x00);
  wr(MIN_ALARM, 0x00);
  wr(HOUR_ALARM, 0x81); // 1 PM
  b.runUntil(at(2026, 1, 1, 1, 0, 0)); // 1 AM: no match
  assert.equal(rd(C) & 0x20, 0);
  b.runUntil(at(2026, 1, 1, 13, 0, 0));
  assert.equal(rd(C) & 0x20, 0x20);
  assert.equal(b.rises().length, 0);
  wr(HOUR_ALARM, 0x13); // not a value the 12-hour register can show: never matches
  wr(B, 0x20);
  assert.equal(b.timers.nextDeadline(), Infinity);
});

test('SET halts updates, clears UIE; written time starts on the next divider second', () => {
  const { b, rd, wr } = setup();
  b.runUntil(0.3 * S);
  wr(B, 0x92); // SET | UIE | 24h: UIE is cleared by SET
  assert.equal(rd(B), 0x82);
  b.runUntil(5.2 * S);
  assert.equal(rd(SEC), 0x00); // frozen
  assert.equal(rd(A), 0x26); // no UIP while SET
  assert.equal(rd(C) & 0x10, 0); // no update cycles, no UF
  wr(HOUR, 0x12);
  wr(MIN, 0x34);
  wr(SEC, 0x56);
  wr(DOM, 0x29);
  wr(MONTH, 0x02);
  wr(YEAR, 0x28);
  assert.equal(rd(SEC), 0x56);
  b.runUntil(5.5 * S);
  wr(B, 0x02);
  assert.deepEqual([HOUR, MIN, SEC, DOM, MONTH, YEAR, DOW].map(rd), [0x12, 0x34, 0x56, 0x29, 0x02, 0x28, new Date(Date.UTC(2028, 1, 29)).getUTCDay() + 1]);
  b.runUntil(6 * S - 1); // the divider phase is unchanged: updates stay on whole guest seconds
  assert.equal(rd(SEC), 0x56);
  b.runUntil(6 * S);
  assert.equal(rd(SEC), 0x57);
  assert.equal(new Date(_rtcTime(rd)).toISOString(), '2028-02-29T12:34:57.000Z');
});

function _rtcTime(rd: (i: number) => number): number {
  const bcd = (v: number) => (v >> 4) * 10 + (v & 15);
  return Date.UTC(
    bcd(rd(CENTURY)) * 100 + bcd(rd(YEAR)),
    bcd(rd(MONTH)) - 1,
    bcd(rd(DOM)),
    bcd(rd(HOUR)),
    bcd(rd(MIN)),
    bcd(rd(SEC)),
  );
}

test('writing a time register while running sets the clock, keeping the divider phase', () => {
  const { b, rd, wr } = setup();
  b.runUntil(2.5 * S);
  wr(MIN, 0x30);
  assert.deepEqual([MIN, SEC].map(rd), [0x30, 0x02]);
  b.runUntil(3 * S);
  assert.deepEqual([MIN, SEC].map(rd), [0x30, 0x03]);
});

test('divider reset stops the clock; release makes the first update 500 ms later', () => {
  const { b, rd, wr } = setup();
  wr(B, 0x42); // PIE
  b.runUntil(0.3 * S);
  rd(C);
  wr(A, 0x76); // divider reset (11x)
  b.runUntil(2.7 * S);
  assert.equal(rd(SEC), 0x00);
  assert.equal(rd(C), 0x00); // no periodic edges while in reset
  assert.equal(b.irq.isRaised, false);
  wr(A, 0x26);
  // Periodic edges restart on the new divider phase: the first one a full period later.
  b.runUntil(2.7 * S + 976562);
  assert.equal(b.irq.isRaised, false);
  b.runUntil(2.7 * S + 976563);
  assert.equal(b.irq.isRaised, true);
  assert.equal(rd(C), 0xc0);
  wr(B, 0x02);
  b.runUntil(3.2 * S - 1);
  assert.equal(rd(SEC), 0x00);
  b.runUntil(3.2 * S);
  assert.equal(rd(SEC), 0x01);
});

test('century handling: 2099-12-31 23:59:59 rolls over to 2100', () => {
  const { b, rd, wr } = setup({ startTimeMs: Date.UTC(2099, 11, 31, 23, 59, 59) });
  assert.deepEqual([YEAR, CENTURY, MONTH, DOM].map(rd), [0x99, 0x20, 0x12, 0x31]);
  b.runUntil(S);
  assert.deepEqual([SEC, MIN, HOUR, DOW, DOM, MONTH, YEAR, CENTURY].map(rd), [0, 0, 0, 0x06, 0x01, 0x01, 0x00, 0x21]);
  // Setting 1999-12-31 23:59:59 through the registers, century included.
  wr(B, 0x82);
  wr(CENTURY, 0x19);
  wr(YEAR, 0x99);
  wr(MONTH, 0x12);
  wr(DOM, 0x31);
  wr(HOUR, 0x23);
  wr(MIN, 0x59);
  wr(SEC, 0x59);
  wr(B, 0x02);
  b.runUntil(2 * S);
  assert.deepEqual([YEAR, CENTURY, MONTH, DOM, HOUR].map(rd), [0x00, 0x20, 0x01, 0x01, 0x00]);
});

test('CMOS memory bytes for 128 MiB and 2 CPUs', () => {
  const { rd } = setup({ cpuCount: 2 });
  assert.equal(rd(0x10), 0x00); // no floppies
  assert.equal(rd(0x12), 0x00); // no CMOS hard disks
  assert.equal(rd(0x14), 0x06);
  assert.deepEqual([0x15, 0x16].map(rd), [0x80, 0x02]); // 640 KiB
  assert.deepEqual([0x17, 0x18].map(rd), [0xff, 0xff]); // 127 MiB in KiB, capped
  assert.deepEqual([0x30, 0x31].map(rd), [0xff, 0xff]);
  assert.deepEqual([0x34, 0x35].map(rd), [0x00, 0x07]); // 112 MiB / 64 KiB = 0x700
  assert.deepEqual([0x5b, 0x5c, 0x5d].map(rd), [0, 0, 0]);
  assert.equal(rd(0x5f), 1);
  assert.equal(rd(CENTURY), 0x20);
  let sum = 0;
  for (let i = 0x10; i <= 0x2d; i++) sum += rd(i);
  assert.equal((rd(0x2e) << 8) | rd(0x2f), sum);
});

test('CMOS memory bytes: 32 MiB, and RAM above 4 GiB', () => {
  const small = setup({ ramSize: 32 * MiB });
  assert.deepEqual([0x17, 0x18, 0x34, 0x35].map(small.rd), [0x00, 0x7c, 0x00, 0x01]);
  assert.equal(small.rd(0x5f), 0);
  const big = setup({ ramSize: 5 * 1024 * MiB, lowRamSize: 3 * 1024 * MiB });
  assert.deepEqual([0x34, 0x35].map(big.rd), [0x00, 0xbf]); // (3 GiB - 16 MiB) / 64 KiB
  assert.deepEqual([0x5b, 0x5c, 0x5d].map(big.rd), [0x00, 0x80, 0x00]); // 2 GiB / 64 KiB
});

test('index port: bit 7 is the NMI mask, not part of the index; 0x70 reads as 0xFF; RAM bytes', () => {
  const { rtc, rd, wr } = setup();
  rtc.portWrite(0, 1, 0x80 | D);
  assert.equal(rtc.nmiDisabled, true);
  assert.equal(rtc.portRead(1, 1), 0x80);
  rtc.portWrite(0, 1, D);
  assert.equal(rtc.nmiDisabled, false);
  assert.equal(rtc.portRead(0, 1), 0xff);
  wr(0x40, 0xa5);
  wr(0x7f, 0x3c);
  assert.equal(rd(0x40), 0xa5);
  assert.equal(rd(0x7f), 0x3c);
  wr(C, 0xff);
  wr(D, 0x00);
  assert.equal(rd(C), 0x00);
  assert.equal(rd(D), 0x80);
  wr(A, 0xa6); // UIP is read-only
  assert.equal(rd(A) & 0x7f, 0x26);
  // A 16-bit write to 0x70 selects the index and writes the data.
  rtc.portWrite(0, 2, 0x41 | (0x99 << 8));
  assert.equal(rd(0x41), 0x99);
});

test('saveState/loadState through JSON keeps time, flags and the armed timer', () => {
  const a = setup();
  a.wr(B, 0x52); // PIE | UIE
  a.b.runUntil(0.5 * S + 3);
  a.rd(C);
  const saved = JSON.parse(JSON.stringify(a.rtc.saveState()));
  const c = setup({ startTimeMs: Date.UTC(2000, 0, 1) });
  c.b.clock.t = a.b.now;
  c.rtc.loadState(saved);
  for (const x of [a, c]) {
    x.b.runUntil(S);
    assert.equal(x.b.irq.isRaised, true);
    assert.equal(x.b.rises().at(-1), Math.ceil(Math.ceil((0.5 * S + 3) / 976562.5) * 976562.5));
    assert.equal(x.rd(C), 0xd0);
    assert.equal(x.rd(SEC), 0x01);
  }
  assert.deepEqual(c.rtc.saveState(), a.rtc.saveState());
});

test('real-time clock: start time defaults to the host time', () => {
  const b = new Bench();
  const timers = new Timers({ deterministic: false, nowNs: () => 0, idleUntil: () => {} });
  const before = Date.now();
  const rtc = new Rtc146818({ timers, irq: b.irq, ramSize: 16 * MiB });
  const after = Date.now();
  const t = rtc.getTime();
  assert.ok(t >= before - 1000 && t <= after + 1000);
});

test("Linux's set_time sequence (SET, divider reset, write, restore B then A)", () => {
  const { b, rd, wr } = setup();
  b.runUntil(10.25 * S);
  const saveB = rd(B);
  wr(B, saveB | 0x80);
  const saveA = rd(A);
  wr(A, saveA | 0x70);
  wr(YEAR, 0x27);
  wr(MONTH, 0x06);
  wr(DOM, 0x15);
  wr(HOUR, 0x08);
  wr(MIN, 0x30);
  wr(SEC, 0x00);
  wr(CENTURY, 0x20);
  b.runUntil(10.4 * S);
  wr(B, saveB); // divider still in reset: the clock stays stopped
  b.runUntil(10.6 * S);
  assert.equal(rd(SEC), 0x00);
  wr(A, saveA); // released: first update half a second later
  b.runUntil(11.1 * S - 1);
  assert.deepEqual([HOUR, MIN, SEC].map(rd), [0x08, 0x30, 0x00]);
  b.runUntil(11.1 * S);
  assert.deepEqual([HOUR, MIN, SEC, DOM, MONTH, YEAR].map(rd), [0x08, 0x30, 0x01, 0x15, 0x06, 0x27]);
  assert.equal(new Date(_rtcTime(rd)).toISOString(), '2027-06-15T08:30:01.000Z');
});

test('register() claims 0x70/0x71 on the port bus', () => {
  const { rtc } = setup();
  const bus = new PortBus();
  rtc.register(bus);
  assert.equal(bus.ownerOf(0x70), 'rtc146818');
  assert.equal(bus.ownerOf(0x71), 'rtc146818');
  bus.write(0x70, 1, 0x89); // NMI off, index 9
  assert.equal(bus.read(0x71, 1), 0x26);
  assert.equal(rtc.nmiDisabled, true);
});
