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

/** Host time (performance.now), from the moment the clock is made. */
export class RealTimeClock implements GuestClock {
  readonly deterministic = false;
  private readonly start = performance.now();

  nowNs(): number {
    return (performance.now() - this.start) * 1e6;
  }

  idleUntil(_ns: number): void {}
}
