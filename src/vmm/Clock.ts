// Guest time. Every device timer reads one clock object, which is either
// real time (interactive use) or derived from the number of instructions the
// guest has executed (deterministic: a test boots the same way every run).

export interface GuestClock {
  /** Guest time in nanoseconds since the machine started. */
  nowNs(): number;
  /** True when time is derived from executed instructions. */
  readonly deterministic: boolean;
  /**
   * The guest is idle (HLT) until `ns`. A deterministic clock jumps there;
   * real time does nothing (the caller waits).
   */
  idleUntil(ns: number): void;
}

/** Time = instructions × nsPerInstruction + time spent idle. */
export class InstructionClock implements GuestClock {
  readonly deterministic = true;
  private idleNs = 0;

  constructor(
    private readonly instructions: () => bigint,
    /** Default 10 ns: a 100 MIPS machine, near what the interpreter does. */
    readonly nsPerInstruction = 10,
  ) {}

  nowNs(): number {
    return Number(this.instructions()) * this.nsPerInstruction + this.idleNs;
  }

  idleUntil(ns: number): void {
    const now = this.nowNs();
    if (ns > now && Number.isFinite(ns)) this.idleNs += ns - now;
  }

  /** Instructions that fit before guest time `ns` (at least 1). */
  instructionsUntil(ns: number): number {
    const d = (ns - this.nowNs()) / this.nsPerInstruction;
    return d >= 1 ? Math.floor(d) : 1;
  }
}

/**
 * Real time, as one timeline shared with the core. Within a run slice the
 * core extrapolates guest time from the instructions it executes (its TSC
 * and APIC timer read that); between slices the machine moves guest time to
 * where the core left it (advance) and then up to the host's clock
 * (catchUp). Devices reading nowNs() during an exit therefore see the same
 * time as the guest's TSC did an instruction earlier — a PIT read and an
 * RDTSC never disagree, so calibration against the PIT and the clocksource
 * watchdog work — and guest time never runs backwards.
 */
export class RealTimeClock implements GuestClock {
  readonly deterministic = false;
  private readonly start = performance.now();
  private guestNs = 0;

  /** Host time since the clock was made, in ns. */
  wallNs(): number {
    return (performance.now() - this.start) * 1e6;
  }

  nowNs(): number {
    return this.guestNs;
  }

  /** Guest time is at least `ns` (never moves back). */
  advance(ns: number): void {
    if (ns > this.guestNs) this.guestNs = ns;
  }

  /** Guest time moves up to the host's clock (when it is ahead). */
  catchUp(): void {
    this.advance(this.wallNs());
  }

  idleUntil(_ns: number): void {}
}
