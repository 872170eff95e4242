// The Motorola MC146818 real-time clock and its 128 bytes of CMOS RAM, at
// ports 0x70 (index; bit 7 is the PC's NMI mask, not part of the index) and
// 0x71 (data), interrupting on IRQ8.
//
// Time is arithmetic, never ticked. The clock is `baseSec` (seconds since the
// Unix epoch, the RTC's own calendar in UTC terms) at guest time `baseNs`, a
// second boundary of the divider chain; the time registers are formatted from
// that on each read (BCD or binary, 12 or 24 hours, as register B says now).
// While the clock is stopped (SET, or the divider held in reset) the registers
// are plain bytes the guest may write; when it restarts they are read back
// into `baseSec`. The periodic, update-ended and alarm flags are worked out
// for the interval since they were last brought up to date, when register C
// is read or the configuration changes; one guest timer is armed only when an
// enabled interrupt could raise IRQ8, at the next such edge.
//
// Datasheet timing kept: UIP is set for the last 244.14 µs (8 cycles of the
// 32.768 kHz time base) before each update; the update itself is taken as
// instantaneous at the second boundary (as QEMU does: no 1984 µs window), and
// UF/AF are set there. Periodic edges are the divider taps: period
// 2^(RS-1) / 32768 s (RS 1 and 2 act as 8 and 9), aligned to the second.
// Taking the divider out of reset makes the first update come 500 ms later.
//
// Deliberate deviations: changing DM or 24/12 while the clock runs shows the
// time in the new format at once (the chip would keep the old bytes until the
// next update); the day of week is derived from the date; DSE (daylight
// saving) is stored but has no effect; SQWE has no pin to drive.
import { clonePlain, type Device } from './Device.ts';
import type { AccessSize, PortBus, PortDevice } from '../vmm/PortBus.ts';
import type { IrqLine } from '../vmm/IrqLine.ts';
import type { Timer, Timers } from '../vmm/Timers.ts';

export const RTC_PORT = 0x70;
export const RTC_PORT_COUNT = 2;
export const RTC_IRQ = 8;
/** Start time in deterministic mode when none is given: 2026-01-01T00:00:00Z. */
export const RTC_DEFAULT_START_MS = Date.UTC(2026, 0, 1, 0, 0, 0);

// Register indices.
export const RTC_SECONDS = 0x00;
export const RTC_SECONDS_ALARM = 0x01;
export const RTC_MINUTES = 0x02;
export const RTC_MINUTES_ALARM = 0x03;
export const RTC_HOURS = 0x04;
export const RTC_HOURS_ALARM = 0x05;
export const RTC_DAY_OF_WEEK = 0x06;
export const RTC_DAY_OF_MONTH = 0x07;
export const RTC_MONTH = 0x08;
export const RTC_YEAR = 0x09;
export const RTC_REG_A = 0x0a;
export const RTC_REG_B = 0x0b;
export const RTC_REG_C = 0x0c;
export const RTC_REG_D = 0x0d;
export const RTC_CENTURY = 0x32;

// Register A.
const A_UIP = 0x80;
const A_DV = 0x70;
const A_RS = 0x0f;
// Register B.
const B_SET = 0x80;
const B_PIE = 0x40;
const B_AIE = 0x20;
const B_UIE = 0x10;
const B_DM_BINARY = 0x04;
const B_24H = 0x02;
// Register C: the flags sit at the same bit positions as their enables in B.
const C_IRQF = 0x80;
const C_PF = 0x40;
const C_AF = 0x20;
const C_UF = 0x10;
const C_FLAGS = 0x70;
// Register D.
const D_VRT = 0x80;

const NS_PER_SEC = 1e9;
const TICKS_PER_SEC = 32768;
/** UIP is high for the last 8 time-base cycles (244.140625 µs) of each second. */
const UIP_TICKS = 8;
const SECS_PER_DAY = 86400;

export interface Rtc146818Options {
  timers: Timers;
  irq: IrqLine;
  /** Guest RAM in bytes (for the CMOS memory-size bytes). */
  ramSize: number;
  /** RAM below 4 GiB; the rest is reported above 4 GiB. Default min(ramSize, 0xE0000000). */
  lowRamSize?: number;
  /** Number of CPUs (CMOS 0x5F holds this minus one, as QEMU sets it). Default 1. */
  cpuCount?: number;
  /**
   * Wall-clock time (Unix ms) the RTC shows at guest time 0. Default: the
   * host's Date.now() for a real-time clock, RTC_DEFAULT_START_MS for a
   * deterministic one. Guests that keep local time want local time here.
   */
  startTimeMs?: number;
  /** CMOS 0x14 equipment byte. Default 0x06: no floppy, FPU present, PS/2 mouse, VGA. */
  equipment?: number;
  name?: string;
}

export interface Rtc146818State {
  /** Selected register (0..127). */
  index: number;
  /** Port 0x70 bit 7 as last written (the PC's NMI mask). */
  nmiDisabled: boolean;
  /** The 128 bytes. Time registers are authoritative here only while the clock is stopped. */
  cmos: number[];
  /** RTC time (Unix seconds) at guest time baseNs. */
  baseSec: number;
  /** Guest ns of a divider second boundary (integer). */
  baseNs: number;
  /** Guest ns up to which PF/AF/UF have been brought up to date (integer). */
  syncNs: number;
  /** Guest ns of the armed interrupt timer; -1 when not armed. */
  timerNs: number;
}

// Scratch for civil-date conversion (no allocation on the access path).
let cy = 0;
let cm = 0;
let cd = 0;

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
function daysFromCivil(y: number, m: number, d: number): number {
  if (m <= 2) y -= 1;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (m + 9) % 12; // March = 0
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The date of a day number, into cy/cm/cd. */
function civilFromDays(z: number): void {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  cd = doy - Math.floor((153 * mp + 2) / 5) + 1;
  cm = mp < 10 ? mp + 3 : mp - 9;
  cy = yoe + era * 400 + (cm <= 2 ? 1 : 0);
}

export class Rtc146818 implements Device<Rtc146818State>, PortDevice {
  readonly name: string;
  private state!: Rtc146818State;
  private readonly timers: Timers;
  private readonly irq: IrqLine;
  private readonly timer: Timer;
  private readonly startTimeMs: number;
  private readonly ramSize: number;
  private readonly lowRamSize: number;
  private readonly cpuCount: number;
  private readonly equipment: number;

  constructor(opts: Rtc146818Options) {
    this.name = opts.name ?? 'rtc146818';
    this.timers = opts.timers;
    this.irq = opts.irq;
    this.ramSize = opts.ramSize;
    this.lowRamSize = opts.lowRamSize ?? Math.min(opts.ramSize, 0xe0000000);
    this.cpuCount = opts.cpuCount ?? 1;
    this.equipment = opts.equipment ?? 0x06;
    const clock = this.timers.clock;
    this.startTimeMs =
      opts.startTimeMs ?? (clock.deterministic ? RTC_DEFAULT_START_MS : Date.now() - clock.nowNs() / 1e6);
    this.timer = this.timers.create(this.name, (at) => this.timerFired(at));
    this.reset();
  }

  // ---- Device ----------------------------------------------------------

  /** Power-on: CMOS contents as a PC BIOS leaves them, clock at startTime + guest time. */
  reset(): void {
    const now = Math.floor(this.timers.clock.nowNs());
    const wallMs = this.startTimeMs + now / 1e6;
    const sec = Math.floor(wallMs / 1000);
    this.state = {
      index: 0,
      nmiDisabled: false,
      cmos: new Array<number>(128).fill(0),
      baseSec: sec,
      baseNs: now - Math.round((wallMs - sec * 1000) * 1e6),
      syncNs: now,
      timerNs: -1,
    };
    const c = this.state.cmos;
    c[RTC_REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
    c[RTC_REG_B] = B_24H; // BCD, 24-hour
    c[RTC_REG_C] = 0;
    c[RTC_REG_D] = D_VRT;
    this.initMemoryBytes();
    this.materialize(now);
    this.timer.cancel();
    this.irq.lower();
  }

  saveState(): Rtc146818State {
    return clonePlain(this.state);
  }

  loadState(state: Rtc146818State): void {
    this.state = clonePlain(state);
    if (this.state.timerNs >= 0) this.timer.setAt(this.state.timerNs);
    else this.timer.cancel();
    this.irq.set((this.state.cmos[RTC_REG_C] & C_IRQF) !== 0);
  }

  /** Claim ports 0x70/0x71 on the bus. */
  register(bus: PortBus): void {
    bus.register(RTC_PORT, RTC_PORT_COUNT, this, this.name);
  }

  // ---- host side -------------------------------------------------------

  /** Port 0x70 bit 7: the machine masks NMIs while this is set. */
  get nmiDisabled(): boolean {
    return this.state.nmiDisabled;
  }

  /** Set the clock to a wall time (Unix ms) now, e.g. after restoring a snapshot. */
  setTime(unixMs: number): void {
    const now = this.now();
    this.sync(now);
    const sec = Math.floor(unixMs / 1000);
    this.state.baseSec = sec;
    this.state.baseNs = now - Math.round((unixMs - sec * 1000) * 1e6);
    if (!this.running()) {
      // Stopped: the registers hold the time; show the new one there.
      this.formatTime(sec);
    }
    this.state.syncNs = now;
    this.rearm();
  }

  /** The RTC's time now, in Unix ms (from the registers while stopped). */
  getTime(): number {
    const now = this.now();
    if (this.running()) {
      const d = now - this.state.baseNs;
      return (this.state.baseSec + Math.floor(d / NS_PER_SEC)) * 1000 + Math.floor((d % NS_PER_SEC) / 1e6);
    }
    return this.decodeTime() * 1000;
  }

  /** Direct CMOS access for the machine/BIOS setup (no side effects on the clock registers). */
  getCmosByte(index: number): number {
    return this.state.cmos[index & 0x7f];
  }

  setCmosByte(index: number, value: number): void {
    this.state.cmos[index & 0x7f] = value & 0xff;
  }

  // ---- port access -----------------------------------------------------

  /** Port 0x70 (offset 0) reads as 0xFF: the index register is write-only. */
  readByte(offset: number): number {
    return offset === 1 ? this.readReg(this.state.index) : 0xff;
  }

  writeByte(offset: number, value: number): void {
    const b = value & 0xff;
    if (offset === 0) {
      this.state.index = b & 0x7f;
      this.state.nmiDisabled = (b & 0x80) !== 0;
    } else if (offset === 1) {
      this.writeReg(this.state.index, b);
    }
  }

  portRead(offset: number, size: AccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte(offset + i) << (8 * i);
    return v >>> 0;
  }

  portWrite(offset: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) this.writeByte(offset + i, value >>> (8 * i));
  }

  private readReg(i: number): number {
    const s = this.state;
    switch (i) {
      case RTC_SECONDS:
      case RTC_MINUTES:
      case RTC_HOURS:
      case RTC_DAY_OF_WEEK:
      case RTC_DAY_OF_MONTH:
      case RTC_MONTH:
      case RTC_YEAR:
      case RTC_CENTURY:
        this.materialize(this.now());
        return s.cmos[i];
      case RTC_REG_A:
        return s.cmos[RTC_REG_A] | (this.updateInProgress(this.now()) ? A_UIP : 0);
      case RTC_REG_C: {
        const now = this.now();
        this.sync(now);
        const v = s.cmos[RTC_REG_C];
        s.cmos[RTC_REG_C] = 0;
        this.irq.lower();
        this.rearm();
        return v;
      }
      case RTC_REG_D:
        return D_VRT;
      default:
        return s.cmos[i];
    }
  }

  private writeReg(i: number, v: number): void {
    const s = this.state;
    const now = this.now();
    switch (i) {
      case RTC_SECONDS:
      case RTC_MINUTES:
      case RTC_HOURS:
      case RTC_DAY_OF_WEEK:
      case RTC_DAY_OF_MONTH:
      case RTC_MONTH:
      case RTC_YEAR:
      case RTC_CENTURY:
        if (this.running()) {
          // Setting the time while it runs: keep the divider phase.
          this.sync(now);
          this.materialize(now);
          s.cmos[i] = v;
          s.baseSec = this.decodeTime() - this.secIndex(now);
          this.rearm();
        } else {
          s.cmos[i] = v;
        }
        return;
      case RTC_SECONDS_ALARM:
      case RTC_MINUTES_ALARM:
      case RTC_HOURS_ALARM:
        this.sync(now);
        s.cmos[i] = v;
        this.rearm();
        return;
      case RTC_REG_A:
        this.writeRegA(v, now);
        return;
      case RTC_REG_B:
        this.writeRegB(v, now);
        return;
      case RTC_REG_C:
      case RTC_REG_D:
        return; // read-only
      default:
        s.cmos[i] = v;
    }
  }

  private writeRegA(v: number, now: number): void {
    const s = this.state;
    this.sync(now);
    const wasOn = this.dividerOn();
    if (wasOn && this.running()) this.materialize(now);
    s.cmos[RTC_REG_A] = v & ~A_UIP;
    const isOn = this.dividerOn();
    if (!wasOn && isOn) {
      // Out of reset: the divider restarts, the first update is 500 ms later.
      s.baseNs = Math.floor(now) - NS_PER_SEC / 2;
      if (!(s.cmos[RTC_REG_B] & B_SET)) s.baseSec = this.decodeTime();
    }
    this.rearm();
  }

  private writeRegB(v: number, now: number): void {
    const s = this.state;
    this.sync(now);
    const old = s.cmos[RTC_REG_B];
    // SET going high inhibits updates and clears UIE.
    if (v & B_SET) v &= ~B_UIE;
    if (v & B_SET && !(old & B_SET) && this.running()) this.materialize(now); // freeze in the old format
    s.cmos[RTC_REG_B] = v;
    if (!(v & B_SET) && old & B_SET && this.dividerOn()) {
      // Updates resume at the divider's next second boundary.
      const ft = Math.floor(now);
      s.baseNs += Math.floor((ft - s.baseNs) / NS_PER_SEC) * NS_PER_SEC;
      s.baseSec = this.decodeTime();
    }
    this.updateIrqf();
    this.rearm();
  }

  // ---- clock -----------------------------------------------------------

  private now(): number {
    return Math.floor(this.timers.clock.nowNs());
  }

  private dividerOn(): boolean {
    // 000/001/010 run (the PC has a 32.768 kHz crystal; QEMU treats all
    // three alike); 011..111 are test modes and divider reset: stopped.
    return (this.state.cmos[RTC_REG_A] & A_DV) <= 0x20;
  }

  /** The time registers count: divider running and SET clear. */
  private running(): boolean {
    return this.dividerOn() && !(this.state.cmos[RTC_REG_B] & B_SET);
  }

  /** Whole seconds from baseNs to t (t integer ns). */
  private secIndex(t: number): number {
    return Math.floor((t - this.state.baseNs) / NS_PER_SEC);
  }

  /** Time-base ticks (32.768 kHz) from baseNs to t, exact for integer t. */
  private ticksAt(t: number): number {
    const d = t - this.state.baseNs;
    const s = Math.floor(d / NS_PER_SEC);
    const rem = d - s * NS_PER_SEC;
    return s * TICKS_PER_SEC + Math.floor((rem * TICKS_PER_SEC) / NS_PER_SEC);
  }

  /** The first integer ns at or after tick k. */
  private nsOfTick(k: number): number {
    const s = Math.floor(k / TICKS_PER_SEC);
    const r = k - s * TICKS_PER_SEC;
    return this.state.baseNs + s * NS_PER_SEC + Math.ceil((r * NS_PER_SEC) / TICKS_PER_SEC);
  }

  /** Periodic interrupt period in time-base ticks; 0 when RS = 0. */
  private periodTicks(): number {
    let rs = this.state.cmos[RTC_REG_A] & A_RS;
    if (rs === 0) return 0;
    if (rs <= 2) rs += 7;
    return 1 << (rs - 1);
  }

  private updateInProgress(t: number): boolean {
    if (!this.running()) return false;
    const inSecond = this.ticksAt(t) - this.secIndex(t) * TICKS_PER_SEC;
    return inSecond >= TICKS_PER_SEC - UIP_TICKS;
  }

  /** While running, write the current time into the time registers. */
  private materialize(t: number): void {
    if (!this.running()) return;
    this.formatTime(this.state.baseSec + this.secIndex(t));
  }

  private enc(v: number): number {
    return this.state.cmos[RTC_REG_B] & B_DM_BINARY ? v : (((v / 10) | 0) << 4) | v % 10;
  }

  private dec(v: number): number {
    return this.state.cmos[RTC_REG_B] & B_DM_BINARY ? v : (v >> 4) * 10 + (v & 0x0f);
  }

  private encHour(h: number): number {
    if (this.state.cmos[RTC_REG_B] & B_24H) return this.enc(h);
    return this.enc(h % 12 || 12) | (h >= 12 ? 0x80 : 0);
  }

  private decHour(v: number): number {
    if (this.state.cmos[RTC_REG_B] & B_24H) return this.dec(v);
    return (this.dec(v & 0x7f) % 12) + (v & 0x80 ? 12 : 0);
  }

  private formatTime(sec: number): void {
    const c = this.state.cmos;
    const days = Math.floor(sec / SECS_PER_DAY);
    const tod = sec - days * SECS_PER_DAY;
    civilFromDays(days);
    c[RTC_SECONDS] = this.enc(tod % 60);
    c[RTC_MINUTES] = this.enc(Math.floor(tod / 60) % 60);
    c[RTC_HOURS] = this.encHour(Math.floor(tod / 3600));
    c[RTC_DAY_OF_WEEK] = this.enc((((days + 4) % 7) + 7) % 7 + 1); // 1970-01-01 was a Thursday; Sunday = 1
    c[RTC_DAY_OF_MONTH] = this.enc(cd);
    c[RTC_MONTH] = this.enc(cm);
    c[RTC_YEAR] = this.enc(((cy % 100) + 100) % 100);
    c[RTC_CENTURY] = this.enc(Math.floor(cy / 100));
  }

  /** The time the registers hold, in Unix seconds (the day of week is ignored). */
  private decodeTime(): number {
    const c = this.state.cmos;
    const year = this.dec(c[RTC_CENTURY]) * 100 + this.dec(c[RTC_YEAR]);
    const days = daysFromCivil(year, this.dec(c[RTC_MONTH]), this.dec(c[RTC_DAY_OF_MONTH]));
    return (
      days * SECS_PER_DAY + this.decHour(c[RTC_HOURS]) * 3600 + this.dec(c[RTC_MINUTES]) * 60 + this.dec(c[RTC_SECONDS])
    );
  }

  // ---- interrupts ------------------------------------------------------

  /** Bring PF/UF/AF up to date for the edges in (syncNs, t]. */
  private sync(t: number): void {
    const s = this.state;
    if (t <= s.syncNs) return;
    let c = s.cmos[RTC_REG_C];
    if (this.dividerOn()) {
      const p = this.periodTicks();
      if (p && Math.floor(this.ticksAt(t) / p) > Math.floor(this.ticksAt(s.syncNs) / p)) c |= C_PF;
      if (!(s.cmos[RTC_REG_B] & B_SET)) {
        const s0 = this.secIndex(s.syncNs);
        const s1 = this.secIndex(t);
        if (s1 > s0) {
          c |= C_UF;
          if (!(c & C_AF) && this.nextAlarm(s.baseSec + s0) <= s.baseSec + s1) c |= C_AF;
        }
      }
    }
    s.cmos[RTC_REG_C] = c;
    s.syncNs = t;
    this.updateIrqf();
  }

  /** IRQF = PF·PIE + AF·AIE + UF·UIE; the IRQ line follows it. */
  private updateIrqf(): void {
    const c = this.state.cmos;
    const irqf = (c[RTC_REG_C] & c[RTC_REG_B] & C_FLAGS) !== 0;
    c[RTC_REG_C] = (c[RTC_REG_C] & C_FLAGS) | (irqf ? C_IRQF : 0);
    this.irq.set(irqf);
  }

  /** Arm the timer at the next edge that would raise IRQ8, if any. */
  private rearm(): void {
    const s = this.state;
    const c = s.cmos[RTC_REG_C];
    const b = s.cmos[RTC_REG_B];
    let d = Infinity;
    // While IRQF is set nothing new can happen on the line until C is read.
    if (!(c & C_IRQF) && this.dividerOn()) {
      const p = this.periodTicks();
      if (b & B_PIE && p) d = Math.min(d, this.nsOfTick((Math.floor(this.ticksAt(s.syncNs) / p) + 1) * p));
      if (!(b & B_SET)) {
        const sec = this.secIndex(s.syncNs);
        if (b & B_UIE) d = Math.min(d, s.baseNs + (sec + 1) * NS_PER_SEC);
        if (b & B_AIE) {
          const next = this.nextAlarm(s.baseSec + sec);
          if (next !== Infinity) d = Math.min(d, s.baseNs + (next - s.baseSec) * NS_PER_SEC);
        }
      }
    }
    if (d === Infinity) {
      s.timerNs = -1;
      this.timer.cancel();
    } else {
      s.timerNs = d;
      this.timer.setAt(d);
    }
  }

  private timerFired(at: number): void {
    this.state.timerNs = -1;
    this.sync(Math.floor(at));
    this.rearm();
  }

  /** An alarm byte as a value to match: -1 "don't care", -2 never matches. */
  private alarmField(v: number, max: number, hour: boolean): number {
    if ((v & 0xc0) === 0xc0) return -1;
    const x = hour ? this.decHour(v) : this.dec(v);
    if (x < 0 || x > max) return -2;
    // Only a byte the time register can actually show ever compares equal.
    if ((hour ? this.encHour(x) : this.enc(x)) !== v) return -2;
    return x;
  }

  /** The first second after `after` (Unix seconds) whose time matches the alarm; Infinity if none. */
  private nextAlarm(after: number): number {
    const c = this.state.cmos;
    const as = this.alarmField(c[RTC_SECONDS_ALARM], 59, false);
    const am = this.alarmField(c[RTC_MINUTES_ALARM], 59, false);
    const ah = this.alarmField(c[RTC_HOURS_ALARM], 23, true);
    if (as === -2 || am === -2 || ah === -2) return Infinity;
    const from = after + 1;
    const day = Math.floor(from / SECS_PER_DAY);
    const tod = from - day * SECS_PER_DAY;
    let m = this.firstMatch(tod, ah, am, as);
    if (m >= 0) return day * SECS_PER_DAY + m;
    m = this.firstMatch(0, ah, am, as);
    return m >= 0 ? (day + 1) * SECS_PER_DAY + m : Infinity;
  }

  /** The first time of day >= tod matching (h, m, s) with -1 as a wildcard; -1 if none today. */
  private firstMatch(tod: number, ah: number, am: number, as: number): number {
    const h0 = Math.floor(tod / 3600);
    const m0 = Math.floor((tod % 3600) / 60);
    const s0 = tod % 60;
    for (let h = h0; h < 24; h++) {
      if (ah >= 0 && h !== ah) continue;
      for (let m = h === h0 ? m0 : 0; m < 60; m++) {
        if (am >= 0 && m !== am) continue;
        const sMin = h === h0 && m === m0 ? s0 : 0;
        if (as < 0) return h * 3600 + m * 60 + sMin;
        if (as >= sMin) return h * 3600 + m * 60 + as;
      }
    }
    return -1;
  }

  // ---- CMOS memory -----------------------------------------------------

  /** The bytes a PC BIOS (and QEMU for SeaBIOS) put in CMOS RAM. */
  private initMemoryBytes(): void {
    const c = this.state.cmos;
    const KiB = 1024;
    const MiB = 1024 * KiB;
    const low = this.lowRamSize;
    const high = Math.max(0, this.ramSize - low);
    const put16 = (i: number, v: number) => {
      c[i] = v & 0xff;
      c[i + 1] = (v >>> 8) & 0xff;
    };
    c[0x10] = 0x00; // no floppy drives
    c[0x12] = 0x00; // no (CMOS-typed) hard disks
    c[0x14] = this.equipment & 0xff;
    put16(0x15, Math.min(Math.floor(low / KiB), 640)); // base memory, KiB
    const ext = Math.min(low > MiB ? Math.floor((low - MiB) / KiB) : 0, 0xffff); // 1 MiB..(64 MiB), KiB
    put16(0x17, ext);
    put16(0x30, ext);
    const above16 = Math.min(low > 16 * MiB ? Math.floor((low - 16 * MiB) / (64 * KiB)) : 0, 0xffff);
    put16(0x34, above16); // 16 MiB..4 GiB, 64 KiB units
    const above4g = Math.floor(high / (64 * KiB)); // above 4 GiB, 64 KiB units, 3 bytes
    c[0x5b] = above4g & 0xff;
    c[0x5c] = (above4g >>> 8) & 0xff;
    c[0x5d] = (above4g >>> 16) & 0xff;
    c[0x5f] = (this.cpuCount - 1) & 0xff;
    // The AT checksum over 0x10..0x2D, big-endian at 0x2E/0x2F.
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += c[i];
    c[0x2e] = (sum >>> 8) & 0xff;
    c[0x2f] = sum & 0xff;
  }
}
