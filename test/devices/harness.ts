// Test harness for device models: a manual guest clock, the timer list on
// it, and IRQ lines whose level changes are recorded with their guest time.
import type { GuestClock } from '../../src/vmm/Clock.ts';
import { IrqLine, type IrqSink } from '../../src/vmm/IrqLine.ts';
import { Timers } from '../../src/vmm/Timers.ts';

export class ManualClock implements GuestClock {
  readonly deterministic = true;
  t = 0;
  nowNs(): number {
    return this.t;
  }
  idleUntil(ns: number): void {
    if (ns > this.t) this.t = ns;
  }
}

export interface IrqEdge {
  ns: number;
  level: boolean;
}

export class Bench {
  readonly clock = new ManualClock();
  readonly timers = new Timers(this.clock);
  readonly edges: IrqEdge[] = [];
  readonly irq: IrqLine;

  constructor(name = 'irq') {
    this.irq = new IrqLine(name);
    const sink: IrqSink = { setIrq: (_pin, level) => this.edges.push({ ns: this.clock.t, level }) };
    this.irq.connect(sink, 0);
  }

  get now(): number {
    return this.clock.t;
  }

  /** Advance guest time to `ns`, running each timer at its own deadline. */
  runUntil(ns: number): void {
    for (;;) {
      const d = this.timers.nextDeadline();
      if (d > ns) break;
      if (d > this.clock.t) this.clock.t = d;
      this.timers.runExpired();
    }
    if (ns > this.clock.t) this.clock.t = ns;
  }

  advance(deltaNs: number): void {
    this.runUntil(this.clock.t + deltaNs);
  }

  /** Times at which the line went high. */
  rises(): number[] {
    return this.edges.filter((e) => e.level).map((e) => e.ns);
  }
}
