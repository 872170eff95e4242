// Intel 8254 programmable interval timer at ports 0x40..0x43: three 16-bit
// down counters clocked at 1.193182 MHz.
//
// Nothing is simulated per clock. The CLK edges are fixed points of guest
// time (edge k happens at ceil(k * 1e9 / 1193182) ns), and every counter
// value and OUT level is computed from how many edges have passed since the
// counter was loaded. A Timer is armed only for a channel that has an OUT
// line (channel 0 → IRQ0), and only for its next OUT transition.
//
// Datasheet timing kept exactly:
// - A count written (or a trigger seen) is loaded into the counting element
//   on the next CLK edge; that edge does not decrement. Mode 0 OUT therefore
//   goes high N+1 edges after the count is written, mode 4/5 strobe low then.
// - Mode 2: OUT low for one CLK when the count reaches 1, period N.
// - Mode 3: OUT high for ceil(N/2), low for floor(N/2) CLKs; an even count
//   decrements by two, an odd count loads N-1 and decrements by two (the
//   counter shows 0 for one CLK at the end of the high half).
// - Modes 2/3: a new count written while counting takes effect at the end
//   of the period (mode 2) or half-cycle (mode 3); GATE low stops counting
//   and forces OUT high, GATE rising reloads on the next CLK.
// - Modes 0/4: GATE low suspends counting; modes 1/5: GATE rising triggers.
// - NULL COUNT is set by a control word or count write and cleared when
//   the count reaches the counting element.
import type { GuestClock } from '../vmm/Clock.ts';
import type { IrqLine } from '../vmm/IrqLine.ts';
import type { PortBus } from '../vmm/PortBus.ts';
import type { Timer, Timers } from '../vmm/Timers.ts';
import { BytePorts } from './BytePorts.ts';
import { clonePlain, type Device } from './Device.ts';

export const PIT_HZ = 1193182;

/** Number of CLK edges in (0, ns]: floor(ns * 1193182 / 1e9), exact for any ns below 2^53. */
export function pitTicksAt(ns: number): number {
  const t = Math.floor(ns);
  if (t <= 0) return 0;
  const s = Math.floor(t / 1e9);
  const r = t - s * 1e9;
  return s * PIT_HZ + Math.floor((r * PIT_HZ) / 1e9);
}

/** Guest time (whole ns) of CLK edge k: the first ns with pitTicksAt(ns) >= k. */
export function pitTickNs(k: number): number {
  const q = Math.floor(k / PIT_HZ);
  const m = k - q * PIT_HZ;
  return q * 1e9 + Math.ceil((m * 1e9) / PIT_HZ);
}

export interface PitChannelState {
  /** Control word bits 5..0 (RW1 RW0 M2 M1 M0 BCD), as the status byte reports them. */
  control: number;
  /** 0..5 (control modes 6 and 7 are 2 and 3). */
  mode: number;
  bcd: boolean;
  /** 1: LSB only, 2: MSB only, 3: LSB then MSB. */
  rw: number;
  /** Count register: the last complete count written (raw, 0 = maximum). */
  cr: number;
  /** LSB of a two-byte count whose MSB has not come yet. */
  crLow: number;
  /** A complete count has been written since the control word. */
  armed: boolean;
  writeMsbNext: boolean;
  readMsbNext: boolean;
  countLatched: boolean;
  latch: number;
  statusLatched: boolean;
  status: number;
  gate: boolean;
  /** Counting element: the count in use (1..65536 binary, 1..10000 BCD). */
  n: number;
  /** CLK edge at which the CE was loaded with n; -1: not loaded (waiting). */
  loadTick: number;
  /** Counting progress d = baseD + (edges after baseTick) while counting. */
  baseTick: number;
  baseD: number;
  /** Raw CE value shown while no count is loaded (or the counter is stopped before loading). */
  held: number;
  nullCount: boolean;
  /** Edge at which NULL COUNT clears; -1: when something loads the count. */
  nullClearTick: number;
  /** Modes 2/3: edge at which the new count takes over; -1: none. */
  pendingTick: number;
  /** Mode 3: the new count starts with the low half. */
  pendingLow: boolean;
}

export interface PitState {
  channels: PitChannelState[];
}

export interface Pit8254Options {
  clock: GuestClock;
  /** Needed when any channel has an OUT line. */
  timers?: Timers;
  /** OUT lines by channel; the PC wires channel 0 to IRQ0. */
  out?: (IrqLine | undefined)[];
}

function toBcd(v: number): number {
  return ((v / 1000) | 0) * 0x1000 + (((v / 100) | 0) % 10) * 0x100 + (((v / 10) | 0) % 10) * 0x10 + (v % 10);
}

function fromBcd(v: number): number {
  return ((v >> 12) & 15) * 1000 + ((v >> 8) & 15) * 100 + ((v >> 4) & 15) * 10 + (v & 15);
}

export class Pit8254 implements Device<PitState> {
  readonly name = 'pit';
  private ch: PitChannelState[] = [];
  private readonly clock: GuestClock;
  private readonly lines: (IrqLine | undefined)[];
  private readonly timers: (Timer | undefined)[];
  private readonly ports: BytePorts;

  constructor(opts: Pit8254Options) {
    this.clock = opts.clock;
    this.lines = [0, 1, 2].map((i) => opts.out?.[i]);
    if (opts.out && opts.out.length > 3) throw new RangeError('pit: the 8254 has three channels (out lines 0..2)');
    if (this.lines.some((l) => l) && !opts.timers) throw new Error('pit: an OUT line needs opts.timers to time its edges');
    this.timers = this.lines.map((l, i) => (l ? opts.timers!.create(`pit.out${i}`, (at) => this.onTimer(i, at)) : undefined));
    this.ports = new BytePorts(
      {
        readByte: (o) => (o < 3 ? this.readCounter(o) : 0xff),
        writeByte: (o, v) => (o < 3 ? this.writeCounter(o, v) : this.writeControl(v)),
      },
      4,
    );
    this.reset();
  }

  register(bus: PortBus): void {
    bus.register(0x40, 4, this.ports, 'pit');
  }

  /**
   * Power-on: the datasheet leaves it undefined. Each channel is as after a
   * control word for mode 3, LSB/MSB, binary, with no count written: OUT
   * high, not counting, no timers. Gates: channels 0 and 1 high, channel 2
   * low (port 0x61 bit 0 is 0 after reset).
   */
  reset(): void {
    this.ch = [0, 1, 2].map((i) => this.blankChannel(i !== 2));
    for (let i = 0; i < 3; i++) this.syncLine(i, this.clock.nowNs());
  }

  /** Program channel 0 as SeaBIOS's pit_setup() does: mode 2, binary, count 0 (65536: 18.2 Hz). */
  biosInit(): void {
    this.writeControl(0x34);
    this.writeCounter(0, 0x00);
    this.writeCounter(0, 0x00);
  }

  /** Gate input of a channel (the PC drives channel 2's from port 0x61 bit 0). */
  setGate(i: number, level: boolean): void {
    const c = this.channel(i);
    if (c.gate === level) return;
    const now = this.clock.nowNs();
    this.catchUp(i, now);
    const k = pitTicksAt(now);
    this.normalize(c, k);
    if (!level) {
      if (this.gateStopsCounting(c) && this.loaded(c, k)) {
        c.baseD = this.progress(c, k);
        c.baseTick = k;
      }
      c.gate = false;
      if (c.pendingTick >= 0) {
        // Modes 2/3 reload from the CR on the next rising gate edge instead.
        c.pendingTick = -1;
        if (c.nullCount) c.nullClearTick = -1;
      }
    } else {
      c.gate = true;
      if (c.mode === 0 || c.mode === 4) {
        if (c.loadTick >= 0) c.baseTick = Math.max(k, c.loadTick);
      } else if (c.armed) {
        // Modes 1, 2, 3, 5: a trigger loads the CR on the next CLK.
        c.held = this.ceRaw(c, k);
        this.load(c, k + 1, 0);
      }
    }
    this.syncLine(i, now);
  }

  get gates(): boolean[] {
    return this.ch.map((c) => c.gate);
  }

  /** OUT of channel `i` now. */
  getOut(i: number): boolean {
    const c = this.channel(i);
    const k = pitTicksAt(this.clock.nowNs());
    this.normalize(c, k);
    return this.out(c, k);
  }

  /** Raw counting element value (what an unlatched read would assemble) now. */
  getCount(i: number): number {
    const c = this.channel(i);
    const k = pitTicksAt(this.clock.nowNs());
    this.normalize(c, k);
    return this.ceRaw(c, k);
  }

  saveState(): PitState {
    return { channels: clonePlain(this.ch) };
  }

  loadState(state: PitState): void {
    if (!state || !Array.isArray(state.channels) || state.channels.length !== 3) {
      throw new Error('pit: saved state must have three channels');
    }
    this.ch = clonePlain(state.channels);
    for (let i = 0; i < 3; i++) this.syncLine(i, this.clock.nowNs());
  }

  // ---- port interface -----------------------------------------------------

  private writeControl(v: number): void {
    const sel = v >> 6;
    const now = this.clock.nowNs();
    const k = pitTicksAt(now);
    if (sel === 3) {
      // Read-back: bit 5 = 0 latches count, bit 4 = 0 latches status, bits 3..1 select counters 2..0.
      for (let i = 0; i < 3; i++) {
        if (!(v & (2 << i))) continue;
        const c = this.ch[i];
        this.catchUp(i, now);
        this.normalize(c, k);
        if (!(v & 0x20) && !c.countLatched) this.latchCount(c, k);
        if (!(v & 0x10) && !c.statusLatched) {
          c.status = (this.out(c, k) ? 0x80 : 0) | (c.nullCount ? 0x40 : 0) | c.control;
          c.statusLatched = true;
        }
      }
      return;
    }
    const c = this.ch[sel];
    this.catchUp(sel, now);
    this.normalize(c, k);
    if ((v & 0x30) === 0) {
      // Counter latch command; ignored while a latched count is unread.
      if (!c.countLatched) this.latchCount(c, k);
      return;
    }
    // Control word: reset the channel's control logic; wait for a count.
    c.held = this.ceRaw(c, k);
    c.control = v & 0x3f;
    const m = (v >> 1) & 7;
    c.mode = m > 5 ? m - 4 : m;
    c.bcd = (v & 1) !== 0;
    c.rw = (v >> 4) & 3;
    c.armed = false;
    c.writeMsbNext = false;
    c.readMsbNext = false;
    c.countLatched = false;
    c.statusLatched = false;
    c.loadTick = -1;
    c.pendingTick = -1;
    c.nullCount = true;
    c.nullClearTick = -1;
    this.syncLine(sel, now);
  }

  private writeCounter(i: number, v: number): void {
    const c = this.ch[i];
    const now = this.clock.nowNs();
    const k = pitTicksAt(now);
    this.catchUp(i, now);
    this.normalize(c, k);
    if (c.rw === 3 && !c.writeMsbNext) {
      c.crLow = v;
      c.writeMsbNext = true;
      if (c.mode === 0) {
        // Mode 0: the first byte stops counting and sets OUT low at once.
        c.held = this.ceRaw(c, k);
        c.loadTick = -1;
        this.syncLine(i, now);
      }
      return;
    }
    if (c.rw === 3) {
      c.cr = c.crLow | (v << 8);
      c.writeMsbNext = false;
    } else if (c.rw === 1) {
      c.cr = v;
    } else {
      c.cr = v << 8;
    }
    this.countWritten(c, k);
    this.syncLine(i, now);
  }

  private readCounter(i: number): number {
    const c = this.ch[i];
    const k = pitTicksAt(this.clock.nowNs());
    this.normalize(c, k);
    if (c.statusLatched) {
      c.statusLatched = false;
      return c.status;
    }
    let value: number;
    if (c.countLatched) {
      value = c.latch;
      if (c.rw !== 3 || c.readMsbNext) c.countLatched = false;
    } else {
      value = this.ceRaw(c, k);
    }
    if (c.rw === 1) return value & 0xff;
    if (c.rw === 2) return value >> 8;
    c.readMsbNext = !c.readMsbNext;
    return c.readMsbNext ? value & 0xff : value >> 8;
  }

  // ---- counting -----------------------------------------------------------

  private blankChannel(gate: boolean): PitChannelState {
    return {
      control: 0x36,
      mode: 3,
      bcd: false,
      rw: 3,
      cr: 0,
      crLow: 0,
      armed: false,
      writeMsbNext: false,
      readMsbNext: false,
      countLatched: false,
      latch: 0,
      statusLatched: false,
      status: 0,
      gate,
      n: 65536,
      loadTick: -1,
      baseTick: 0,
      baseD: 0,
      held: 0,
      nullCount: true,
      nullClearTick: -1,
      pendingTick: -1,
      pendingLow: false,
    };
  }

  private channel(i: number): PitChannelState {
    const c = this.ch[i];
    if (!c) throw new RangeError(`pit: no channel ${i} (the 8254 has 0..2)`);
    return c;
  }

  private modulus(c: PitChannelState): number {
    return c.bcd ? 10000 : 65536;
  }

  /** The CR as a count: 0 means the maximum (65536, or 10000 in BCD). */
  private crCount(c: PitChannelState): number {
    const v = c.bcd ? fromBcd(c.cr) : c.cr;
    return v === 0 ? this.modulus(c) : v;
  }

  private gateStopsCounting(c: PitChannelState): boolean {
    return c.mode !== 1 && c.mode !== 5;
  }

  private loaded(c: PitChannelState, k: number): boolean {
    return c.loadTick >= 0 && k >= c.loadTick;
  }

  /** CLK edges counted since the load edge (which itself does not count). */
  private progress(c: PitChannelState, k: number): number {
    if (!c.gate && this.gateStopsCounting(c)) return c.baseD;
    return k > c.baseTick ? c.baseD + (k - c.baseTick) : c.baseD;
  }

  /** Load the CR into the CE at edge `at`, starting `startD` edges into the cycle. */
  private load(c: PitChannelState, at: number, startD: number): void {
    c.n = this.crCount(c);
    c.loadTick = at;
    c.baseTick = at;
    c.baseD = startD;
    c.pendingTick = -1;
    if (c.nullCount) c.nullClearTick = at;
  }

  /** Apply what happened by edge k: a mode 2/3 count change, NULL COUNT clearing. */
  private normalize(c: PitChannelState, k: number): void {
    if (c.pendingTick >= 0 && k >= c.pendingTick) {
      const at = c.pendingTick;
      const n = this.crCount(c);
      this.load(c, at, c.pendingLow ? (n + 1) >> 1 : 0);
    }
    if (c.nullCount && c.nullClearTick >= 0 && k >= c.nullClearTick) {
      c.nullCount = false;
      c.nullClearTick = -1;
    }
  }

  private countWritten(c: PitChannelState, k: number): void {
    c.armed = true;
    c.nullCount = true;
    c.nullClearTick = -1;
    switch (c.mode) {
      case 0:
      case 4:
        c.held = this.ceRaw(c, k);
        this.load(c, k + 1, 0);
        break;
      case 2:
      case 3:
        if (!this.loaded(c, k)) {
          c.held = this.ceRaw(c, k);
          this.load(c, k + 1, 0);
        } else if (c.gate) {
          // Takes effect at the end of the current period / half-cycle.
          const d = this.progress(c, k);
          const p = d % c.n;
          const half = (c.n + 1) >> 1;
          c.pendingLow = c.mode === 3 && p < half;
          const end = c.pendingLow ? d + (half - p) : d + (c.n - p);
          c.pendingTick = c.baseTick + (end - c.baseD);
          c.nullClearTick = c.pendingTick;
        }
        // Gate low: the next rising gate edge loads the new count.
        break;
      default:
        // Modes 1 and 5: loaded by the next trigger.
        break;
    }
  }

  /** The CE as a register value (BCD-encoded in BCD mode). */
  private ceRaw(c: PitChannelState, k: number): number {
    if (!this.loaded(c, k)) return c.held;
    const d = this.progress(c, k);
    const m = this.modulus(c);
    let v: number;
    switch (c.mode) {
      case 2:
        v = c.n - (d % c.n);
        break;
      case 3: {
        const p = d % c.n;
        const half = (c.n + 1) >> 1;
        const h = p < half ? p : p - half;
        v = (c.n & 1 ? c.n - 1 : c.n) - 2 * h;
        break;
      }
      default:
        v = (c.n - (d % m) + m) % m;
    }
    v %= m;
    return c.bcd ? toBcd(v) : v;
  }

  private out(c: PitChannelState, k: number): boolean {
    if (!this.loaded(c, k)) return c.mode !== 0;
    const d = this.progress(c, k);
    switch (c.mode) {
      case 0:
      case 1:
        return d >= c.n;
      case 2:
        return !c.gate || d % c.n !== c.n - 1;
      case 3:
        return !c.gate || d % c.n < (c.n + 1) >> 1;
      default:
        return d !== c.n;
    }
  }

  /** The first edge after k at which OUT may change (or a count change lands), or -1. */
  private nextEdge(c: PitChannelState, k: number): number {
    if (c.loadTick < 0) return -1;
    if (k < c.loadTick) return c.loadTick;
    if (!c.gate && this.gateStopsCounting(c)) return -1;
    const d = this.progress(c, k);
    let target = -1;
    switch (c.mode) {
      case 0:
      case 1:
        if (d < c.n) target = c.n;
        break;
      case 2: {
        if (c.n < 2) break;
        const p = d % c.n;
        target = p < c.n - 1 ? d + (c.n - 1 - p) : d + 1;
        break;
      }
      case 3: {
        if (c.n < 2) break;
        const p = d % c.n;
        const half = (c.n + 1) >> 1;
        target = p < half ? d + (half - p) : d + (c.n - p);
        break;
      }
      default:
        if (d < c.n) target = c.n;
        else if (d === c.n) target = c.n + 1;
    }
    let edge = target < 0 ? -1 : c.baseTick + (target - c.baseD);
    if (c.pendingTick > k && (edge < 0 || c.pendingTick < edge)) edge = c.pendingTick;
    return edge;
  }

  private latchCount(c: PitChannelState, k: number): void {
    c.latch = this.ceRaw(c, k);
    c.countLatched = true;
  }

  // ---- OUT line and its timer --------------------------------------------

  /** Drive channel i's line to OUT at `ns` and arm its timer for the next transition. */
  private syncLine(i: number, ns: number): void {
    const line = this.lines[i];
    if (!line) return;
    const c = this.ch[i];
    const k = pitTicksAt(ns);
    this.normalize(c, k);
    line.set(this.out(c, k));
    this.arm(i, k);
  }

  private arm(i: number, k: number): void {
    const timer = this.timers[i]!;
    const next = this.nextEdge(this.ch[i], k);
    if (next < 0) timer.cancel();
    else timer.setAt(pitTickNs(next));
  }

  /** A due transition that the timer has not delivered yet is delivered before a register change. */
  private catchUp(i: number, now: number): void {
    const timer = this.timers[i];
    if (timer && timer.deadline <= now) {
      const at = timer.deadline;
      timer.cancel();
      this.onTimer(i, at);
    }
  }

  private onTimer(i: number, at: number): void {
    const line = this.lines[i]!;
    const c = this.ch[i];
    const kAt = pitTicksAt(at);
    this.normalize(c, kAt);
    line.set(this.out(c, kAt));
    const now = this.clock.nowNs();
    const kNow = pitTicksAt(now);
    if (kNow > kAt) {
      // Late (real-time clock): jump to now, but if OUT rose in between,
      // give the interrupt controller one rising edge for it. OUT alternates,
      // so a rise is among the next two transitions (a third step covers a
      // load or count-change event that changes nothing).
      let rose = false;
      let k = kAt;
      let level = line.isRaised;
      for (let step = 0; step < 3 && !rose; step++) {
        const next = this.nextEdge(c, k);
        if (next < 0 || next > kNow) break;
        this.normalize(c, next);
        const l = this.out(c, next);
        rose = l && !level;
        level = l;
        k = next;
      }
      this.normalize(c, kNow);
      if (rose) {
        line.lower();
        line.raise();
      }
      line.set(this.out(c, kNow));
      this.arm(i, kNow);
    } else {
      this.arm(i, kAt);
    }
  }
}
