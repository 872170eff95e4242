// ACPI fixed hardware: PM1 status (write 1 to clear) / enable / control,
// SCI level, the 24-bit PM timer and TMR_STS, power button, S5 and other
// sleep types, GPE0, access sizes, state save/restore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACPI_S5_SLP_TYP,
  AcpiPm,
  PM1_PWRBTN,
  PM1_SCI_EN,
  PM1_SLP_EN,
  PM1_TMR,
  PM1_WAK,
  pmTimerNsForTicks,
  pmTimerTicksAt,
  type AcpiPmOptions,
} from '../../src/devices/AcpiPm.ts';
import { PortBus } from '../../src/vmm/PortBus.ts';
import { Bench } from './harness.ts';

function setup(extra: Partial<AcpiPmOptions> = {}) {
  const bench = new Bench('sci');
  const bus = new PortBus();
  const events: string[] = [];
  const pm = new AcpiPm({
    timers: bench.timers,
    sci: bench.irq,
    onPowerOff: () => events.push('off'),
    onSleep: (t) => events.push(`sleep${t}`),
    ...extra,
  });
  pm.register(bus);
  return { bench, bus, pm, events };
}

const BIT23_NS = pmTimerNsForTicks(1 << 23); // ~2.3435 s

test('ports: PM1 event 0x600-0x603, control 0x604-0x605, timer 0x608-0x60b, GPE0 0x620-0x623', () => {
  const { bus, bench } = setup();
  for (const p of [0x600, 0x603, 0x604, 0x605, 0x608, 0x60b, 0x620, 0x623]) assert.match(bus.ownerOf(p) ?? '', /^acpi-pm\./, `0x${p.toString(16)}`);
  for (const p of [0x5ff, 0x606, 0x607, 0x60c, 0x61f, 0x624]) assert.equal(bus.ownerOf(p), undefined, `0x${p.toString(16)}`);
  const other = new AcpiPm({ timers: bench.timers, sci: bench.irq, base: 0xb000, name: 'pm2' });
  const bus2 = new PortBus();
  other.register(bus2);
  assert.ok(bus2.ownerOf(0xb008));
});

test('power-on: SCI_EN set (ACPI mode, SMI_CMD = 0), everything else clear, SCI low', () => {
  const { bus, bench } = setup();
  assert.equal(bus.read(0x604, 2), PM1_SCI_EN);
  assert.equal(bus.read(0x600, 2), 0);
  assert.equal(bus.read(0x602, 2), 0);
  assert.equal(bus.read(0x620, 4), 0);
  assert.equal(bench.irq.isRaised, false);
  // SCI_EN is owned by the hardware: a write of 0 does not leave ACPI mode.
  bus.write(0x604, 2, 0);
  assert.equal(bus.read(0x604, 2), PM1_SCI_EN);
});

test('PM timer: 3.579545 MHz from the guest clock, 24 bits, any access width', () => {
  const { bus, bench } = setup();
  assert.equal(bus.read(0x608, 4), 0);
  bench.clock.t = 1_000_000_000; // 1 s
  assert.equal(bus.read(0x608, 4), 3579545);
  bench.clock.t = 1_000; // 1 us = 3.58 ticks
  assert.equal(bus.read(0x608, 4), 3);
  bench.clock.t = 5 * 1e9 + 123_456_789;
  const t = Math.floor(5 * 3579545 + (123_456_789 * 3579545) / 1e9);
  assert.equal(bus.read(0x608, 4), t % 0x1000000);
  assert.equal(bus.read(0x608, 2), t & 0xffff);
  assert.equal(bus.read(0x60a, 1), (t >> 16) & 0xff);
  assert.equal(bus.read(0x60b, 1), 0, 'bits 31:24 are zero (TMR_VAL_EXT = 0)');
  assert.equal(bus.read(0x60a, 4), (0xffff0000 | ((t >> 16) & 0xff)) >>> 0, 'bytes past the block float');
  bus.write(0x608, 4, 0); // read-only
  assert.equal(bus.read(0x608, 4), t % 0x1000000);
  // Wraps at 2^24 ticks (~4.687 s).
  bench.clock.t = pmTimerNsForTicks(0x1000000);
  assert.equal(bus.read(0x608, 4), 0);
  bench.clock.t -= 1;
  assert.equal(bus.read(0x608, 4), 0xffffff);
});

test('pmTimerTicksAt is exact for large times; pmTimerNsForTicks is its inverse', () => {
  const year = 365 * 86400 * 1e9;
  const ns = year + 987_654_321;
  const exact = (BigInt(ns) * 3579545n) / 1_000_000_000n;
  assert.equal(BigInt(pmTimerTicksAt(ns)), exact);
  for (const k of [1, 1 << 23, 3 << 23, 123456789, 2 ** 40 + 7]) {
    const at = pmTimerNsForTicks(k);
    assert.ok(pmTimerTicksAt(at) >= k, `ticks at ns(${k})`);
    assert.ok(pmTimerTicksAt(at - 1) < k, `ticks just before ns(${k})`);
  }
});

test('TMR_STS sets when counter bit 23 toggles, even with TMR_EN clear; no timer armed then', () => {
  const { bus, bench } = setup();
  assert.equal(bench.timers.nextDeadline(), Infinity, 'no timer while TMR_EN is clear');
  bench.clock.t = BIT23_NS - 1;
  assert.equal(bus.read(0x600, 2) & PM1_TMR, 0);
  bench.clock.t = BIT23_NS;
  assert.equal(bus.read(0x600, 2) & PM1_TMR, PM1_TMR);
  assert.equal(bench.irq.isRaised, false, 'not enabled: no SCI');
  bus.write(0x600, 2, PM1_TMR); // write 1 to clear
  assert.equal(bus.read(0x600, 2) & PM1_TMR, 0);
  bench.clock.t = 2 * BIT23_NS; // bit 23 toggles back (1 -> 0): also an event
  assert.equal(bus.read(0x600, 2) & PM1_TMR, PM1_TMR);
  bus.write(0x600, 2, 0); // writing 0 clears nothing
  assert.equal(bus.read(0x600, 2) & PM1_TMR, PM1_TMR);
});

test('TMR_EN: SCI at every bit-23 toggle, level until TMR_STS is cleared', () => {
  const { bus, bench } = setup();
  bus.write(0x602, 2, PM1_TMR);
  assert.equal(bus.read(0x602, 2), PM1_TMR);
  const first = pmTimerNsForTicks(1 << 23);
  assert.equal(bench.timers.nextDeadline(), first);
  bench.runUntil(first + 1000);
  assert.deepEqual(bench.rises(), [first]);
  assert.equal(bench.irq.isRaised, true);
  assert.equal(bench.timers.nextDeadline(), Infinity, 'no timer while TMR_STS is pending');
  bench.runUntil(first + 1e9);
  bus.write(0x600, 2, PM1_TMR);
  assert.equal(bench.irq.isRaised, false);
  const second = pmTimerNsForTicks(2 << 23);
  assert.equal(bench.timers.nextDeadline(), second);
  bench.runUntil(second);
  assert.deepEqual(bench.rises(), [first, second]);
  // Disabling TMR_EN lowers the SCI and disarms.
  bus.write(0x602, 2, 0);
  assert.equal(bench.irq.isRaised, false);
  bus.write(0x600, 2, 0xffff);
  assert.equal(bench.timers.nextDeadline(), Infinity);
});

test('clearing TMR_STS late: a toggle missed while disarmed is still reported', () => {
  const { bus, bench } = setup();
  bus.write(0x602, 2, PM1_TMR);
  bench.runUntil(BIT23_NS); // SCI up
  bench.clock.t = 2 * BIT23_NS + 5; // another toggle passes while STS is pending
  bus.write(0x600, 2, PM1_TMR); // the write first accounts for it, then clears
  assert.equal(bus.read(0x600, 2) & PM1_TMR, 0);
  assert.equal(bench.timers.nextDeadline(), pmTimerNsForTicks(3 << 23));
});

test('power button: PWRBTN_STS; SCI only with PWRBTN_EN; write-1-to-clear lowers it', () => {
  const { bus, bench, pm } = setup();
  pm.pressPowerButton();
  assert.equal(bus.read(0x600, 2), PM1_PWRBTN);
  assert.equal(bench.irq.isRaised, false);
  bus.write(0x602, 2, PM1_PWRBTN);
  assert.equal(bench.irq.isRaised, true, 'enabling with the status pending raises the SCI');
  bus.write(0x600, 1, 0xff); // low byte only: PWRBTN_STS is in the high byte
  assert.equal(bench.irq.isRaised, true);
  bus.write(0x601, 1, PM1_PWRBTN >> 8);
  assert.equal(bench.irq.isRaised, false);
  assert.equal(bus.read(0x600, 2), 0);
  // A dword write touches status and enable together (ACPICA does word accesses).
  pm.pressPowerButton();
  bus.write(0x600, 4, PM1_PWRBTN | (0 << 16));
  assert.equal(bus.read(0x600, 4), 0);
  assert.equal(bench.irq.isRaised, false);
});

test('PM1 enable keeps only defined bits; status bits without enables (WAK) never raise the SCI', () => {
  const { bus, bench } = setup();
  bus.write(0x602, 2, 0xffff);
  assert.equal(bus.read(0x602, 2), 0x0721);
  bus.write(0x602, 2, 0);
  bus.write(0x604, 2, (1 << 10) | PM1_SLP_EN); // S1: wakes at once
  assert.equal(bus.read(0x600, 2) & PM1_WAK, PM1_WAK);
  bus.write(0x602, 2, 0x0721);
  // TMR_STS may not be set yet (clock at 0); WAK has no enable.
  assert.equal(bench.irq.isRaised, false);
});

test('S5: SLP_EN with the \\_S5 SLP_TYP powers off; SLP_EN reads 0; SLP_TYP is stored', () => {
  const { bus, events, pm } = setup();
  assert.equal(ACPI_S5_SLP_TYP, 0);
  // ACPICA: write SLP_TYP first, then SLP_TYP | SLP_EN, preserving SCI_EN.
  bus.write(0x604, 2, PM1_SCI_EN | (ACPI_S5_SLP_TYP << 10));
  assert.deepEqual(events, []);
  bus.write(0x604, 2, PM1_SCI_EN | (ACPI_S5_SLP_TYP << 10) | PM1_SLP_EN);
  assert.deepEqual(events, ['off']);
  assert.equal(pm.state.poweredOff, true);
  assert.equal(bus.read(0x604, 2) & PM1_SLP_EN, 0, 'SLP_EN is write-only');
});

test('other sleep types call onSleep and wake (WAK_STS); a custom S5 value', () => {
  const { bus, events } = setup({ s5SleepType: 5 });
  bus.write(0x604, 2, PM1_SCI_EN | (1 << 10));
  assert.equal(bus.read(0x604, 2), PM1_SCI_EN | (1 << 10), 'SLP_TYP reads back');
  bus.write(0x605, 1, (1 << 2) | (PM1_SLP_EN >> 8)); // byte write of the high half
  assert.deepEqual(events, ['sleep1']);
  assert.equal(bus.read(0x600, 2) & PM1_WAK, PM1_WAK);
  bus.write(0x600, 2, PM1_WAK);
  assert.equal(bus.read(0x600, 2) & PM1_WAK, 0);
  bus.write(0x604, 2, PM1_SCI_EN | (5 << 10) | PM1_SLP_EN);
  assert.deepEqual(events, ['sleep1', 'off']);
  assert.throws(() => setup({ s5SleepType: 8 }), /S5 sleep type 8/);
});

test('GPE0: status write-1-to-clear, enable byte-wise, SCI while status & enable', () => {
  const { bus, bench, pm } = setup();
  pm.raiseGpe(1);
  pm.raiseGpe(9);
  assert.equal(bus.read(0x620, 2), 0x0202);
  assert.equal(bench.irq.isRaised, false);
  bus.write(0x623, 1, 0x02); // enable GPE 9
  assert.equal(bus.read(0x622, 2), 0x0200);
  assert.equal(bench.irq.isRaised, true);
  bus.write(0x621, 1, 0x02); // clear GPE 9
  assert.equal(bench.irq.isRaised, false);
  assert.equal(bus.read(0x620, 4), 0x02000002);
  bus.write(0x620, 1, 0xff); // ACPICA clears all status bytes with 0xFF
  assert.equal(bus.read(0x620, 2), 0);
  assert.throws(() => pm.raiseGpe(16), /GPE 16/);
});

test('reset and saveState/loadState (JSON) keep the armed timer', () => {
  const { bus, bench, pm } = setup();
  bus.write(0x602, 2, PM1_TMR | PM1_PWRBTN);
  bench.clock.t = 1e9;
  const saved = JSON.parse(JSON.stringify(pm.saveState()));
  assert.equal(saved.timerNs, pmTimerNsForTicks(1 << 23));
  const b = setup();
  b.bench.clock.t = 1e9;
  b.pm.loadState(saved);
  assert.equal(b.bench.timers.nextDeadline(), saved.timerNs);
  b.bench.runUntil(saved.timerNs);
  assert.equal(b.bench.irq.isRaised, true);
  b.pm.reset();
  assert.equal(b.bench.irq.isRaised, false);
  assert.equal(b.bench.timers.nextDeadline(), Infinity);
  assert.equal(b.bus.read(0x602, 2), 0);
  assert.equal(b.bus.read(0x604, 2), PM1_SCI_EN);
});
