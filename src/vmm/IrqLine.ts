// Interrupt lines. A device holds IrqLine objects and raises or lowers them;
// the machine wires each line to one or more interrupt controllers' inputs
// (on a PIIX PC an ISA IRQ goes to both the 8259 pair and the I/O APIC).

export interface IrqSink {
  /** Input `pin` of this controller is now at `level`. */
  setIrq(pin: number, level: boolean): void;
}

export class IrqLine {
  private level = false;
  private readonly targets: { sink: IrqSink; pin: number }[] = [];

  constructor(readonly name: string) {}

  connect(sink: IrqSink, pin: number): this {
    this.targets.push({ sink, pin });
    if (this.level) sink.setIrq(pin, true);
    return this;
  }

  get isRaised(): boolean {
    return this.level;
  }

  set(level: boolean): void {
    if (level === this.level) return;
    this.level = level;
    for (const t of this.targets) t.sink.setIrq(t.pin, level);
  }

  raise(): void {
    this.set(true);
  }

  lower(): void {
    this.set(false);
  }

  /** An edge: raise and lower (edge-triggered inputs latch the rising edge). */
  pulse(): void {
    this.set(true);
    this.set(false);
  }
}

/**
 * A wired-OR: several sources drive one line (PCI INTx sharing an ISA IRQ
 * with another device, as level-triggered PC interrupts are wired). Each
 * input() is a line of its own; the output is high while any input is.
 */
export class IrqOr implements IrqSink {
  private readonly levels: boolean[] = [];

  constructor(readonly output: IrqLine) {}

  /** A new source line for this OR. */
  input(name: string): IrqLine {
    const pin = this.levels.length;
    this.levels.push(false);
    return new IrqLine(name).connect(this, pin);
  }

  setIrq(pin: number, level: boolean): void {
    this.levels[pin] = level;
    this.output.set(this.levels.includes(true));
  }
}
