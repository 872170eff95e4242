// The ACPI fixed hardware the FADT describes (ACPI spec, chapter 4 "ACPI
// Hardware Specification"), on I/O ports at `base` (default 0x600, where
// QEMU's PIIX4 PM function puts it):
//
//   base + 0x00  PM1a_EVT_BLK (4 bytes): PM1 status (u16) at +0, enable (u16) at +2
//   base + 0x04  PM1a_CNT_BLK (2 bytes): PM1 control
//   base + 0x08  PM_TMR_BLK   (4 bytes): the power-management timer (read-only)
//   base + 0x20  GPE0_BLK     (4 bytes): GPE0 status (u16) at +0, enable (u16) at +2
//
// PM1 status (write 1 to clear): TMR_STS (bit 0), BM_STS (4), GBL_STS (5),
// PWRBTN_STS (8), SLPBTN_STS (9), RTC_STS (10), WAK_STS (15). The matching
// enables sit at the same bit positions in PM1 enable (no enable for BM and
// WAK). The SCI is a level: high while SCI_EN is set and some status bit has
// its enable set (PM1 or GPE0).
//
// PM1 control: SCI_EN (bit 0) reads 1 and is owned by the hardware: the
// machine is always in ACPI mode (the FADT has SMI_CMD = 0, which ACPICA
// takes as "no mode transition: already in ACPI mode"). BM_RLD (1) is
// stored, GBL_RLS (2) is write-only and does nothing (there is no SMI
// handler), SLP_TYP (12:10) is stored, SLP_EN (13) is write-only: writing it
// with SLP_TYP = the S5 value (the one the DSDT's \_S5 gives) calls
// onPowerOff; any other sleep type calls onSleep and wakes at once (WAK_STS
// set), so an OS polling for the wake never hangs.
//
// PM timer: a 24-bit counter (the FADT says TMR_VAL_EXT = 0) at 3.579545 MHz,
// computed from the guest clock (counter = floor(ns * 3579545 / 1e9) mod
// 2^24). TMR_STS is set each time counter bit 23 changes; it is brought up to
// date lazily (on accesses), and a guest timer is armed at the next bit-23
// change only while TMR_EN is set and TMR_STS is clear (the SCI needs it).
//
// Byte, word and dword accesses all work: an access is split into bytes
// within its block, except the timer, whose value is sampled once per access.
import { clonePlain, type Device } from './Device.ts';
import type { IrqLine } from '../vmm/IrqLine.ts';
import type { AccessSize, PortBus, PortDevice } from '../vmm/PortBus.ts';
import type { Timer, Timers } from '../vmm/Timers.ts';

export const ACPI_PM_DEFAULT_BASE = 0x600;
export const PM1_EVT_OFFSET = 0x00;
export const PM1_EVT_LEN = 4;
export const PM1_CNT_OFFSET = 0x04;
export const PM1_CNT_LEN = 2;
export const PM_TMR_OFFSET = 0x08;
export const PM_TMR_LEN = 4;
export const GPE0_OFFSET = 0x20;
export const GPE0_LEN = 4;
/**
 * SLP_TYP for S5 (soft off). 0 is PIIX4's soft-off encoding and what QEMU's
 * DSDT gives in \_S5; the ACPI tables builder uses the same constant.
 */
export const ACPI_S5_SLP_TYP = 0;
export const PM_TIMER_HZ = 3579545;

// PM1 status / enable bits.
export const PM1_TMR = 1 << 0;
export const PM1_BM = 1 << 4;
export const PM1_GBL = 1 << 5;
export const PM1_PWRBTN = 1 << 8;
export const PM1_SLPBTN = 1 << 9;
export const PM1_RTC = 1 << 10;
export const PM1_WAK = 1 << 15;
const PM1_STS_MASK = PM1_TMR | PM1_BM | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | PM1_RTC | PM1_WAK;
const PM1_EN_MASK = PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | PM1_RTC;
// PM1 control bits.
export const PM1_SCI_EN = 1 << 0;
export const PM1_BM_RLD = 1 << 1;
export const PM1_GBL_RLS = 1 << 2;
export const PM1_SLP_TYP_SHIFT = 10;
export const PM1_SLP_TYP_MASK = 7 << PM1_SLP_TYP_SHIFT;
export const PM1_SLP_EN = 1 << 13;
/** Control bits that are stored (SCI_EN is fixed at 1, GBL_RLS and SLP_EN are write-only). */
const PM1_CNT_STORED = PM1_BM_RLD | PM1_SLP_TYP_MASK;

const TMR_BIT23_PERIOD = 1 << 23;
const NS_PER_SEC = 1e9;

export interface AcpiPmOptions {
  timers: Timers;
  /** The SCI: a level, high while an enabled event is pending (wire to ISA IRQ 9). */
  sci: IrqLine;
  /** First port of the block (default 0x600). */
  base?: number;
  /** SLP_TYP value that means S5; must match the DSDT's \_S5. Default ACPI_S5_SLP_TYP. */
  s5SleepType?: number;
  /** SLP_EN written with the S5 type: the machine powers off. */
  onPowerOff?: () => void;
  /** SLP_EN written with any other type (S1-S4): not modelled; the machine wakes at once. */
  onSleep?: (sleepType: number) => void;
  name?: string;
}

export interface AcpiPmState {
  /** PM1 status. */
  pm1Status: number;
  /** PM1 enable. */
  pm1Enable: number;
  /** PM1 control, stored bits (SCI_EN is added on reads). */
  pm1Control: number;
  /** GPE0 status bits (GPE 0..15). */
  gpe0Status: number;
  /** GPE0 enable bits. */
  gpe0Enable: number;
  /** Timer ticks (unwrapped) up to which TMR_STS has been brought up to date. */
  tmrSyncTicks: number;
  /** Guest ns of the armed bit-23 timer; -1 when not armed. */
  timerNs: number;
  /** Set once S5 was entered. */
  poweredOff: boolean;
}

/** PM timer ticks (unwrapped) at guest time `ns`: floor(ns * 3579545 / 1e9), exact. */
export function pmTimerTicksAt(ns: number): number {
  const n = Math.floor(ns);
  const sec = Math.floor(n / NS_PER_SEC);
  const rem = n - sec * NS_PER_SEC; // < 1e9, so rem * PM_TIMER_HZ < 2^53
  const x = rem * PM_TIMER_HZ;
  return sec * PM_TIMER_HZ + (x - (x % NS_PER_SEC)) / NS_PER_SEC;
}

/** The first guest ns at which the unwrapped tick count reaches `ticks`. */
export function pmTimerNsForTicks(ticks: number): number {
  const t = BigInt(Math.ceil(ticks));
  const f = BigInt(PM_TIMER_HZ);
  return Number((t * 1_000_000_000n + f - 1n) / f);
}

export class AcpiPm implements Device<AcpiPmState> {
  readonly name: string;
  readonly base: number;
  readonly s5SleepType: number;
  state!: AcpiPmState;
  private readonly timers: Timers;
  private readonly sci: IrqLine;
  private readonly timer: Timer;

  private readonly evtIo: PortDevice = this.block(PM1_EVT_OFFSET);
  private readonly cntIo: PortDevice = this.block(PM1_CNT_OFFSET);
  private readonly tmrIo: PortDevice = this.block(PM_TMR_OFFSET);
  private readonly gpeIo: PortDevice = this.block(GPE0_OFFSET);

  constructor(private readonly opts: AcpiPmOptions) {
    if (!opts || !opts.timers || !opts.sci) throw new Error('acpi-pm: opts.timers and opts.sci are required');
    this.timers = opts.timers;
    this.sci = opts.sci;
    this.name = opts.name ?? 'acpi-pm';
    this.base = opts.base ?? ACPI_PM_DEFAULT_BASE;
    this.s5SleepType = opts.s5SleepType ?? ACPI_S5_SLP_TYP;
    if (!Number.isInteger(this.s5SleepType) || this.s5SleepType < 0 || this.s5SleepType > 7) {
      throw new RangeError(`${this.name}: S5 sleep type ${this.s5SleepType} is not a 3-bit SLP_TYP value`);
    }
    this.timer = this.timers.create(this.name, () => this.timerFired());
    this.reset();
  }

  register(bus: PortBus): void {
    bus.register(this.base + PM1_EVT_OFFSET, PM1_EVT_LEN, this.evtIo, `${this.name}.pm1evt`);
    bus.register(this.base + PM1_CNT_OFFSET, PM1_CNT_LEN, this.cntIo, `${this.name}.pm1cnt`);
    bus.register(this.base + PM_TMR_OFFSET, PM_TMR_LEN, this.tmrIo, `${this.name}.pmtmr`);
    bus.register(this.base + GPE0_OFFSET, GPE0_LEN, this.gpeIo, `${this.name}.gpe0`);
  }

  reset(): void {
    this.state = {
      pm1Status: 0,
      pm1Enable: 0,
      pm1Control: 0,
      gpe0Status: 0,
      gpe0Enable: 0,
      tmrSyncTicks: this.ticksNow(),
      timerNs: -1,
      poweredOff: false,
    };
    this.timer.cancel();
    this.update();
  }

  saveState(): AcpiPmState {
    this.sync();
    return clonePlain(this.state);
  }

  loadState(state: AcpiPmState): void {
    this.state = clonePlain(state);
    if (this.state.timerNs >= 0) this.timer.setAt(this.state.timerNs);
    else this.timer.cancel();
    this.update();
  }

  // --- host side --------------------------------------------------------------

  /** The power button was pressed: PWRBTN_STS (an SCI if the OS enabled PWRBTN_EN). */
  pressPowerButton(): void {
    this.state.pm1Status |= PM1_PWRBTN;
    this.update();
  }

  /** The sleep button was pressed (the FADT says there is none; for completeness). */
  pressSleepButton(): void {
    this.state.pm1Status |= PM1_SLPBTN;
    this.update();
  }

  /** A general-purpose event `gpe` (0..15) happened: its GPE0 status bit is set. */
  raiseGpe(gpe: number): void {
    if (!Number.isInteger(gpe) || gpe < 0 || gpe >= 16) throw new RangeError(`${this.name}: no GPE ${gpe} (GPE0 has 0..15)`);
    this.state.gpe0Status |= 1 << gpe;
    this.update();
  }

  /** The 24-bit PM timer value now. */
  timerValue(): number {
    return this.ticksNow() % 0x1000000;
  }

  // --- registers --------------------------------------------------------------

  /** PM1 status as the guest reads it (brings TMR_STS up to date). */
  readPm1Status(): number {
    this.sync();
    return this.state.pm1Status;
  }

  private block(offset: number): PortDevice {
    return {
      portRead: (o: number, size: AccessSize) => this.read(offset, o, size),
      portWrite: (o: number, size: AccessSize, v: number) => this.write(offset, o, size, v),
    };
  }

  private blockLength(block: number): number {
    return block === PM1_CNT_OFFSET ? PM1_CNT_LEN : 4;
  }

  /** The whole block's value, sampled once per access. */
  private blockValue(block: number): number {
    const s = this.state;
    switch (block) {
      case PM1_EVT_OFFSET:
        this.sync();
        this.update();
        return (s.pm1Status | (s.pm1Enable << 16)) >>> 0;
      case PM1_CNT_OFFSET:
        return s.pm1Control | PM1_SCI_EN;
      case PM_TMR_OFFSET:
        return this.timerValue();
      default:
        return (s.gpe0Status | (s.gpe0Enable << 16)) >>> 0;
    }
  }

  private read(block: number, offset: number, size: AccessSize): number {
    const len = this.blockLength(block);
    const value = this.blockValue(block);
    let v = 0;
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      const b = o < len ? (value >>> (8 * o)) & 0xff : 0xff; // past the block: floating bus
      v = (v | (b << (8 * i))) >>> 0;
    }
    return v;
  }

  private write(block: number, offset: number, size: AccessSize, value: number): void {
    const len = this.blockLength(block);
    if (block === PM1_EVT_OFFSET) this.sync();
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      if (o >= len) break;
      this.writeByte(block, o, (value >>> (8 * i)) & 0xff);
    }
    this.update();
  }

  private writeByte(block: number, o: number, b: number): void {
    const s = this.state;
    switch (block) {
      case PM1_EVT_OFFSET:
        if (o < 2) {
          s.pm1Status &= ~((b << (8 * o)) & PM1_STS_MASK); // write 1 to clear
        } else {
          const shift = 8 * (o - 2);
          s.pm1Enable = (s.pm1Enable & ~(0xff << shift)) | ((b << shift) & PM1_EN_MASK);
        }
        break;
      case PM1_CNT_OFFSET: {
        const shift = 8 * o;
        const v = b << shift;
        s.pm1Control = (s.pm1Control & ~((0xff << shift) & PM1_CNT_STORED)) | (v & PM1_CNT_STORED);
        if (v & PM1_SLP_EN) this.enterSleep((s.pm1Control & PM1_SLP_TYP_MASK) >> PM1_SLP_TYP_SHIFT);
        break;
      }
      case PM_TMR_OFFSET:
        break; // read-only
      default:
        if (o < 2) s.gpe0Status &= ~(b << (8 * o));
        else {
          const shift = 8 * (o - 2);
          s.gpe0Enable = (s.gpe0Enable & ~(0xff << shift)) | (b << shift);
        }
    }
  }

  private enterSleep(type: number): void {
    if (type === this.s5SleepType) {
      this.state.poweredOff = true;
      this.opts.onPowerOff?.();
      return;
    }
    this.opts.onSleep?.(type);
    this.state.pm1Status |= PM1_WAK; // back at once
  }

  // --- the timer and the SCI --------------------------------------------------

  private ticksNow(): number {
    return pmTimerTicksAt(this.timers.clock.nowNs());
  }

  /** Set TMR_STS if counter bit 23 changed since the last sync. */
  private sync(): void {
    const s = this.state;
    const now = this.ticksNow();
    if (Math.floor(now / TMR_BIT23_PERIOD) > Math.floor(s.tmrSyncTicks / TMR_BIT23_PERIOD)) s.pm1Status |= PM1_TMR;
    if (now > s.tmrSyncTicks) s.tmrSyncTicks = now;
  }

  private timerFired(): void {
    this.state.timerNs = -1;
    this.sync();
    this.update();
  }

  /** Recompute the SCI level and (re)arm or cancel the bit-23 timer. */
  private update(): void {
    const s = this.state;
    const pending = (s.pm1Status & s.pm1Enable & PM1_EN_MASK) !== 0 || (s.gpe0Status & s.gpe0Enable) !== 0;
    this.sci.set(pending); // SCI_EN is always set
    if (s.pm1Enable & PM1_TMR && !(s.pm1Status & PM1_TMR)) {
      const next = (Math.floor(s.tmrSyncTicks / TMR_BIT23_PERIOD) + 1) * TMR_BIT23_PERIOD;
      const ns = pmTimerNsForTicks(next);
      if (s.timerNs !== ns) {
        s.timerNs = ns;
        this.timer.setAt(ns);
      }
    } else if (s.timerNs >= 0) {
      s.timerNs = -1;
      this.timer.cancel();
    }
  }
}
