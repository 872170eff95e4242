// Device timers on one guest clock. A machine has a handful of timers (PIT
// channels, RTC, UART timeouts, APIC), so a linear scan beats a heap.
import type { GuestClock } from './Clock.ts';

export class Timer {
  /** Guest time (ns) at which the callback runs; Infinity when not armed. */
  deadline = Infinity;

  constructor(
    readonly name: string,
    private readonly timers: Timers,
    readonly callback: (nowNs: number) => void,
  ) {}

  get armed(): boolean {
    return this.deadline !== Infinity;
  }

  setAt(ns: number): void {
    this.deadline = ns;
  }

  setIn(deltaNs: number): void {
    this.deadline = this.timers.clock.nowNs() + deltaNs;
  }

  cancel(): void {
    this.deadline = Infinity;
  }
}

export class Timers {
  private readonly all: Timer[] = [];

  constructor(readonly clock: GuestClock) {}

  create(name: string, callback: (nowNs: number) => void): Timer {
    const t = new Timer(name, this, callback);
    this.all.push(t);
    return t;
  }

  nextDeadline(): number {
    let d = Infinity;
    for (const t of this.all) if (t.deadline < d) d = t.deadline;
    return d;
  }

  /** Runs every timer whose deadline has passed, earliest first. */
  runExpired(): void {
    const now = this.clock.nowNs();
    for (;;) {
      let due: Timer | undefined;
      for (const t of this.all) if (t.deadline <= now && (!due || t.deadline < due.deadline)) due = t;
      if (!due) return;
      const at = due.deadline;
      due.deadline = Infinity;
      due.callback(at);
    }
  }
}
