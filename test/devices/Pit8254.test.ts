// 8254: CLK edge arithmetic, the six modes' OUT timing and counter values,
// BCD, access modes, latch and read-back, gates, the IRQ0 line and its timer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pit8254, pitTickNs, pitTicksAt, PIT_HZ } from '../../src/devices/Pit8254.ts';
import { PortBus } from '../../src/vmm/PortBus.ts';
import { Bench } from './harness.ts';

/** The bench's line is IRQ0; `rec` views its recorded edges. */
function setup() {
  const bench = new Bench('irq0');
  const { timers } = bench;
  const irq0 = bench.irq;
  const clock = {
    get now() {
      return bench.clock.t;
    },
    set now(ns: number) {
      bench.clock.t = ns;
    },
  };
  const pit = new Pit8254({ clock: bench.clock, timers, out: [irq0] });
  bench.edges.length = 0;
  const rec = {
    changes: bench.edges,
    rises: () => bench.rises(),
    falls: () => bench.edges.filter((e) => !e.level).map((e) => e.ns),
  };
  const bus = new PortBus();
  pit.register(bus);
  const out = (port: number, v: number) => bus.write(port, 1, v);
  const inb = (port: number) => bus.read(port, 1);
  /** Counter latch command, then LSB, MSB. */
  const latched = (ch: number) => {
    out(0x43, ch << 6);
    return inb(0x40 + ch) | (inb(0x40 + ch) << 8);
  };
  const at = (ns: number) => bench.runUntil(ns);
  return { clock, timers, irq0, pit, rec, bus, out, inb, latched, at };
}

test('CLK edges: 1.193182 MHz, exact round trip between edge numbers and ns', () => {
  assert.equal(pitTickNs(1), 839);
  assert.equal(pitTickNs(65536), 54925402);
  assert.equal(pitTickNs(PIT_HZ), 1e9);
  assert.equal(pitTicksAt(1e9), PIT_HZ);
  assert.equal(pitTicksAt(838), 0);
  for (const k of [1, 2, 3, 106, 65535, 65536, 1193181, 1193183, 123456789, 987654321987, 2 ** 40 + 12345]) {
    const ns = pitTickNs(k);
    assert.equal(pitTicksAt(ns), k, `edge ${k} happens at ${ns}`);
    assert.equal(pitTicksAt(ns - 1), k - 1, `edge ${k} has not happened at ${ns - 1}`);
  }
});

test('mode 0: OUT low after the control word, high exactly N+1 edges after the count', () => {
  const { clock, pit, rec, out, latched, at, timers } = setup();
  clock.now = 5000; // edge 5 has passed
  out(0x43, 0x30); // ch0, LSB/MSB, mode 0, binary
  assert.equal(pit.getOut(0), false);
  assert.deepEqual(rec.changes, [{ ns: 5000, level: false }]);
  out(0x40, 100);
  out(0x40, 0);
  // Loaded on edge 6; counts 100 edges; OUT rises on edge 106.
  at(pitTickNs(6));
  assert.equal(latched(0), 100);
  at(pitTickNs(36));
  assert.equal(latched(0), 70);
  at(pitTickNs(106) - 1);
  assert.equal(pit.getOut(0), false);
  assert.equal(latched(0), 1);
  at(pitTickNs(200));
  assert.deepEqual(rec.rises(), [pitTickNs(106)]);
  assert.equal(pit.getOut(0), true);
  // The counter keeps counting through 0 (wraps to 0xFFFF); OUT stays high; no timer left.
  assert.equal(latched(0), (65536 + 100 - 194) % 65536);
  assert.equal(timers.nextDeadline(), Infinity);
});

test('mode 0: first byte of a two-byte count stops counting and drops OUT at once', () => {
  const { clock, pit, rec, out, latched, at } = setup();
  out(0x43, 0x30);
  out(0x40, 10);
  out(0x40, 0);
  at(pitTickNs(20));
  assert.equal(pit.getOut(0), true);
  clock.now = pitTickNs(20) + 100;
  out(0x40, 50); // LSB
  assert.equal(pit.getOut(0), false);
  assert.equal(rec.changes.at(-1)!.ns, pitTickNs(20) + 100);
  const frozen = latched(0);
  at(pitTickNs(40));
  assert.equal(latched(0), frozen, 'not counting between the two bytes');
  out(0x40, 0); // MSB: count 50 loads on edge 41, OUT rises on edge 91
  at(pitTickNs(100));
  assert.equal(rec.rises().at(-1), pitTickNs(91));
});

test('mode 0 with GATE: count written while gate low loads, counts from the gate rising edge', () => {
  const { clock, pit, out, inb, latched, at } = setup();
  // Channel 2, gate low after reset.
  out(0x43, 0xb0);
  out(0x42, 20);
  out(0x42, 0);
  at(pitTickNs(50));
  assert.equal(latched(2), 20, 'loaded but not counting');
  assert.equal(pit.getOut(2), false);
  clock.now = pitTickNs(50) + 10;
  pit.setGate(2, true); // counting resumes after edge 50
  at(pitTickNs(69));
  assert.equal(pit.getOut(2), false);
  at(pitTickNs(70));
  assert.equal(pit.getOut(2), true, 'N edges after the gate went high');
  void inb;
});

test('mode 2: IRQ0 rising edge every N edges, low for exactly one CLK', () => {
  const { clock, pit, rec, out, latched, at } = setup();
  clock.now = 1000; // edge 1
  out(0x43, 0x34); // ch0 mode 2
  out(0x40, 0x10);
  out(0x40, 0x00); // N = 16, loaded on edge 2
  at(pitTickNs(2));
  assert.equal(latched(0), 16);
  at(pitTickNs(2 + 16 * 5) + 1);
  const falls = rec.falls();
  const rises = rec.rises();
  assert.deepEqual(
    falls,
    [1, 2, 3, 4, 5].map((j) => pitTickNs(2 + 16 * j - 1)),
    'OUT low when the count reaches 1',
  );
  assert.deepEqual(
    rises,
    [1, 2, 3, 4, 5].map((j) => pitTickNs(2 + 16 * j)),
    'OUT high again as the count reloads',
  );
  at(pitTickNs(2 + 16 * 5 + 3));
  assert.equal(latched(0), 13);
  assert.equal(pit.getOut(0), true);
});

test('mode 2: a new count takes effect at the end of the current period', () => {
  const { clock, rec, out, at } = setup();
  clock.now = 0;
  out(0x43, 0x34);
  out(0x40, 100);
  out(0x40, 0); // loaded on edge 1; reloads on 101, 201, ...
  at(pitTickNs(150));
  out(0x40, 10);
  out(0x40, 0);
  at(pitTickNs(240));
  // Old period ends at 201; then every 10 edges: rises at 211, 221, 231.
  assert.deepEqual(rec.rises(), [101, 201, 211, 221, 231].map(pitTickNs));
});

test('mode 3 even count: square wave, counts by two, N/2 high and N/2 low', () => {
  const { clock, pit, rec, out, latched, at } = setup();
  clock.now = 0;
  out(0x43, 0x36);
  out(0x40, 10);
  out(0x40, 0); // loaded on edge 1
  const seen: number[] = [];
  for (let e = 1; e <= 11; e++) {
    at(pitTickNs(e));
    seen.push(latched(0));
  }
  assert.deepEqual(seen, [10, 8, 6, 4, 2, 10, 8, 6, 4, 2, 10]);
  at(pitTickNs(41) + 5);
  assert.deepEqual(rec.falls(), [6, 16, 26, 36].map(pitTickNs));
  assert.deepEqual(rec.rises(), [11, 21, 31, 41].map(pitTickNs));
  void pit;
});

test('mode 3 odd count: high (N+1)/2, low (N-1)/2; loads N-1 and counts by two', () => {
  const { clock, pit, rec, out, latched, at } = setup();
  clock.now = 0;
  out(0x43, 0x36);
  out(0x40, 9);
  out(0x40, 0); // loaded on edge 1
  const seen: number[] = [];
  const outs: boolean[] = [];
  for (let e = 1; e <= 10; e++) {
    at(pitTickNs(e));
    seen.push(latched(0));
    outs.push(pit.getOut(0));
  }
  assert.deepEqual(seen, [8, 6, 4, 2, 0, 8, 6, 4, 2, 8]);
  assert.deepEqual(outs, [true, true, true, true, true, false, false, false, false, true]);
  at(pitTickNs(30));
  assert.deepEqual(rec.falls(), [6, 15, 24].map(pitTickNs));
  assert.deepEqual(rec.rises(), [10, 19, 28].map(pitTickNs));
});

test('mode 3: new count at the end of the half-cycle; GATE low forces OUT high at once', () => {
  const { clock, pit, out, at } = setup();
  // Channel 2 (gate from port 0x61 in a PC; driven directly here).
  pit.setGate(2, true);
  clock.now = 0;
  out(0x43, 0xb6);
  out(0x42, 100);
  out(0x42, 0); // loaded on edge 1, falls at 51, rises at 101
  at(pitTickNs(20));
  out(0x42, 10);
  out(0x42, 0); // takes over at 51 with the low half: low 5, then high 5
  at(pitTickNs(55));
  assert.equal(pit.getOut(2), false);
  at(pitTickNs(56));
  assert.equal(pit.getOut(2), true);
  at(pitTickNs(61));
  assert.equal(pit.getOut(2), false);
  clock.now = pitTickNs(61) + 300;
  pit.setGate(2, false);
  assert.equal(pit.getOut(2), true, 'no CLK needed');
  const stopped = pit.getCount(2);
  at(pitTickNs(80));
  assert.equal(pit.getCount(2), stopped);
  pit.setGate(2, true); // reloads on the next edge (81), high half first
  at(pitTickNs(85));
  assert.equal(pit.getOut(2), true);
  at(pitTickNs(86));
  assert.equal(pit.getOut(2), false);
});

test('mode 1: gate-triggered one-shot, OUT low for N CLKs, retriggerable', () => {
  const { clock, pit, out, latched, at } = setup();
  out(0x43, 0xb2); // ch2 mode 1
  out(0x42, 5);
  out(0x42, 0);
  at(pitTickNs(10));
  assert.equal(pit.getOut(2), true, 'nothing before a trigger');
  clock.now = pitTickNs(10) + 1;
  pit.setGate(2, true); // load on edge 11
  assert.equal(pit.getOut(2), true);
  at(pitTickNs(11));
  assert.equal(pit.getOut(2), false);
  assert.equal(latched(2), 5);
  pit.setGate(2, false);
  at(pitTickNs(13) + 1);
  pit.setGate(2, true); // retrigger: reload on edge 14
  at(pitTickNs(18));
  assert.equal(pit.getOut(2), false);
  at(pitTickNs(19));
  assert.equal(pit.getOut(2), true);
});

test('mode 4: software strobe low for one CLK, N+1 edges after the count', () => {
  const { clock, rec, out, at } = setup();
  clock.now = 0;
  out(0x43, 0x38);
  out(0x40, 7);
  out(0x40, 0);
  at(pitTickNs(100));
  assert.deepEqual(rec.falls(), [pitTickNs(8)]);
  assert.deepEqual(rec.rises(), [pitTickNs(9)]);
});

test('mode 5: hardware strobe N+1 edges after the gate trigger', () => {
  const { clock, pit, out, at } = setup();
  out(0x43, 0xba); // ch2 mode 5
  out(0x42, 4);
  out(0x42, 0);
  clock.now = pitTickNs(3) + 2;
  pit.setGate(2, true); // loaded on edge 4, strobe on edge 8
  at(pitTickNs(7));
  assert.equal(pit.getOut(2), true);
  at(pitTickNs(8));
  assert.equal(pit.getOut(2), false);
  at(pitTickNs(9));
  assert.equal(pit.getOut(2), true);
});

test('BCD counting: count 0100 decimal, reads back in BCD, 0 means 10000', () => {
  const { clock, out, latched, at } = setup();
  clock.now = 0;
  out(0x43, 0x31); // mode 0 BCD
  out(0x40, 0x00);
  out(0x40, 0x01); // 100 decimal
  at(pitTickNs(6));
  assert.equal(latched(0), 0x0095);
  at(pitTickNs(101));
  assert.equal(latched(0), 0x0000);
  at(pitTickNs(102));
  assert.equal(latched(0), 0x9999);
  out(0x43, 0x35); // mode 2 BCD, count 0 = 10000
  out(0x40, 0);
  out(0x40, 0);
  at(pitTickNs(103));
  assert.equal(latched(0), 0x0000);
  at(pitTickNs(104));
  assert.equal(latched(0), 0x9999);
});

test('LSB-only and MSB-only access', () => {
  const { clock, inb, out, at } = setup();
  clock.now = 0;
  out(0x43, 0x10); // ch0 LSB only, mode 0
  out(0x40, 0x80); // count 0x0080
  at(pitTickNs(1 + 0x10));
  assert.equal(inb(0x40), 0x70);
  at(pitTickNs(2 + 0x10));
  assert.equal(inb(0x40), 0x6f, 'unlatched reads follow the counter');
  out(0x43, 0x20); // MSB only
  out(0x40, 0x02); // count 0x0200
  at(pitTickNs(2 + 0x10 + 1 + 0x100));
  assert.equal(inb(0x40), 0x01);
});

test('counter latch holds its value until read; a second latch is ignored', () => {
  const { clock, out, inb, at } = setup();
  clock.now = 0;
  out(0x43, 0x34);
  out(0x40, 0x34);
  out(0x40, 0x12); // 0x1234
  at(pitTickNs(1 + 0x34));
  out(0x43, 0x00);
  at(pitTickNs(1 + 0x200));
  out(0x43, 0x00); // ignored: the first latch is unread
  assert.equal(inb(0x40), 0x00);
  at(pitTickNs(1 + 0x300));
  assert.equal(inb(0x40), 0x12, 'MSB of the first latch');
  // Released: the next reads follow the counter again.
  assert.equal(inb(0x40) | (inb(0x40) << 8), 0x1234 - 0x300);
});

test('read-back: status byte (OUT, NULL COUNT, control) before the count', () => {
  const { clock, pit, out, inb, at } = setup();
  clock.now = 0;
  pit.setGate(2, true);
  out(0x43, 0xb0); // ch2 mode 0 LSB/MSB
  out(0x43, 0xe8); // read-back status of ch2
  assert.equal(inb(0x42), 0x70, 'OUT low, NULL COUNT, rw=3 mode 0');
  out(0x42, 0x00);
  out(0x42, 0x10);
  out(0x43, 0xe8);
  assert.equal(inb(0x42), 0x70, 'count written, not yet loaded');
  at(pitTickNs(1));
  out(0x43, 0xe8);
  assert.equal(inb(0x42), 0x30, 'loaded: NULL COUNT clear');
  // Latch both: status comes first, then the count; a second status latch is ignored.
  at(pitTickNs(1 + 0x10));
  out(0x43, 0xc8);
  out(0x43, 0xe8);
  at(pitTickNs(1 + 0x20));
  assert.equal(inb(0x42), 0x30);
  assert.equal(inb(0x42), 0xf0, 'count latched at edge 0x11: 0x1000 - 0x10');
  assert.equal(inb(0x42), 0x0f);
  // Read-back of several counters at once: ch0 (mode 3 at reset) and ch1.
  out(0x43, 0x34); // ch0 mode 2
  out(0x43, 0xe6);
  assert.equal(inb(0x40), 0xc0 | 0x34);
  assert.equal(inb(0x41), 0xc0 | 0x36);
  at(pitTickNs(1 + 0x10 + 0x1000));
  out(0x43, 0xe8);
  assert.equal(inb(0x42) & 0x80, 0x80, 'mode 0 OUT high after terminal count');
});

test('mode 2 NULL COUNT stays set until the new count loads at the period end', () => {
  const { clock, out, inb, at } = setup();
  clock.now = 0;
  out(0x43, 0x34);
  out(0x40, 50);
  out(0x40, 0);
  at(pitTickNs(10));
  out(0x40, 20);
  out(0x40, 0);
  out(0x43, 0xe2);
  assert.equal(inb(0x40) & 0x40, 0x40);
  at(pitTickNs(51));
  out(0x43, 0xe2);
  assert.equal(inb(0x40) & 0x40, 0x00);
});

test('biosInit: channel 0 mode 2, count 65536: IRQ0 at 18.2 Hz', () => {
  const { pit, rec, at, out, inb } = setup();
  pit.biosInit();
  out(0x43, 0xe2);
  assert.equal(inb(0x40), 0x80 | 0x40 | 0x34);
  at(pitTickNs(1 + 65536 * 3) + 1);
  assert.deepEqual(rec.rises(), [1, 2, 3].map((j) => pitTickNs(1 + 65536 * j)));
  const period = rec.rises()[1] - rec.rises()[0];
  assert.ok(Math.abs(period - 54925401) <= 1, `period ${period} ns`);
});

test('timers are armed only when the OUT line needs them', () => {
  const { clock, timers, out } = setup();
  assert.equal(timers.nextDeadline(), Infinity, 'after reset');
  out(0x43, 0x34);
  assert.equal(timers.nextDeadline(), Infinity, 'control word without count');
  clock.now = 0;
  out(0x40, 5);
  out(0x40, 0);
  assert.ok(timers.nextDeadline() < Infinity);
  // Channel 2 has no line: programming it arms nothing beyond channel 0's timer.
  const before = timers.nextDeadline();
  out(0x43, 0xb6);
  out(0x42, 2);
  out(0x42, 0);
  assert.equal(timers.nextDeadline(), before);
});

test('a late timer still delivers one rising edge to the interrupt controller', () => {
  const { clock, timers, rec, out } = setup();
  clock.now = 0;
  out(0x43, 0x34);
  out(0x40, 100);
  out(0x40, 0);
  timers.runExpired(); // clock at 0: nothing due
  rec.changes.length = 0;
  // Skip far past several periods without running timers, then run once:
  // the line ends high (as OUT is) after one fresh rising edge.
  clock.now = pitTickNs(1 + 100 * 7 + 50);
  timers.runExpired();
  assert.equal(rec.rises().length, 1);
  assert.equal(rec.changes.at(-1)!.level, true);
  assert.equal(timers.nextDeadline(), pitTickNs(1 + 100 * 8 - 1));
});

test('saveState/loadState: a restored PIT keeps the same timing', () => {
  const a = setup();
  a.clock.now = 0;
  a.out(0x43, 0x34);
  a.out(0x40, 100);
  a.out(0x40, 0);
  a.at(pitTickNs(150));
  const saved = JSON.parse(JSON.stringify(a.pit.saveState()));
  const b = setup();
  b.clock.now = pitTickNs(150);
  b.pit.loadState(saved);
  b.rec.changes.length = 0;
  b.at(pitTickNs(420));
  assert.deepEqual(b.rec.rises(), [201, 301, 401].map(pitTickNs));
  assert.equal(b.latched(0), 100 - 19);
});

/** A clock-by-clock model of the datasheet's counting rules (gate high, count written just before edge 1). */
function reference(mode: number, n: number, edges: number): { ce: number[]; out: boolean[] } {
  const ce: number[] = [];
  const outs: boolean[] = [];
  let v = 0;
  let out = mode !== 0;
  let strobed = false;
  for (let e = 1; e <= edges; e++) {
    if (e === 1) {
      v = mode === 3 && n & 1 ? n - 1 : n;
    } else if (mode === 0) {
      v = (v + 65535) % 65536;
      if (v === 0) out = true;
    } else if (mode === 4) {
      v = (v + 65535) % 65536;
      out = !(v === 0 && !strobed);
      if (v === 0) strobed = true;
    } else if (mode === 2) {
      if (v === 1) v = n;
      else v--;
      out = v !== 1;
    } else if (n & 1) {
      // mode 3, odd
      if (out) {
        if (v === 0) {
          out = false;
          v = n - 1;
        } else v -= 2;
      } else {
        v -= 2;
        if (v === 0) {
          out = true;
          v = n - 1;
        }
      }
    } else {
      v -= 2;
      if (v === 0) {
        out = !out;
        v = n;
      }
    }
    ce.push(v % 65536);
    outs.push(out);
  }
  return { ce, out: outs };
}

test('modes 0, 2, 3, 4 match a clock-by-clock reference for counts 2..40', () => {
  for (const mode of [0, 2, 3, 4]) {
    for (let n = 2; n <= 40; n++) {
      const { clock, out, inb, at, latched } = setup();
      clock.now = 0;
      out(0x43, 0x30 | (mode << 1));
      out(0x40, n);
      out(0x40, 0);
      const edges = 3 * n + 2;
      const ref = reference(mode, n, edges);
      for (let e = 1; e <= edges; e++) {
        at(pitTickNs(e));
        assert.equal(latched(0), ref.ce[e - 1], `mode ${mode} N=${n} edge ${e}: count`);
        out(0x43, 0xe2);
        assert.equal((inb(0x40) & 0x80) !== 0, ref.out[e - 1], `mode ${mode} N=${n} edge ${e}: OUT`);
      }
    }
  }
});
