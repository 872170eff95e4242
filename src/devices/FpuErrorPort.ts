// The PC/AT's coprocessor-error logic for CR0.NE=0 ("MS-DOS compatibility
// mode", SDM Vol. 1, appendix D.2): the CPU's FERR# output sets a latch that
// drives ISA IRQ 13; the IRQ 13 handler writes port F0h, which clears the
// latch and asserts IGNNE# so that it can run x87 instructions before it
// clears the error. IGNNE# itself lives in the vCPU (its FPU_FERR_IGNNE
// word): the core drops it again when the error goes away, as the board's
// flip-flop does when FERR# goes inactive (SDM D.2.1.2, figure D-1).
//
// FERR# reaches this device as the core's EXIT_FERR: the vCPU froze before
// a waiting x87 instruction with an unmasked error pending (wasm/ops/x87).
// Reads of port F0h return all ones (nothing is readable there).
import type { AccessSize, PortBus, PortDevice } from '../vmm/PortBus.ts';
import type { IrqLine } from '../vmm/IrqLine.ts';
import type { Device } from './Device.ts';

export const FPU_ERROR_PORT = 0xf0;
/** The ISA IRQ the latch drives (the slave 8259's input 5: vector 75h under the BIOS). */
export const FPU_ERROR_IRQ = 13;

export interface FpuErrorPortOptions {
  /** ISA IRQ 13. */
  irq: IrqLine;
  /** Asserts IGNNE# in the vCPU (sets its FPU_FERR_IGNNE word). */
  onIgnne: () => void;
}

export interface FpuErrorPortState {
  /** The interrupt-request latch is set (IRQ 13 high). */
  latched: boolean;
}

export class FpuErrorPort implements Device<FpuErrorPortState>, PortDevice {
  readonly name = 'fpu-error';
  private readonly irq: IrqLine;
  private readonly onIgnne: () => void;
  private latched = false;

  constructor(opts: FpuErrorPortOptions) {
    if (typeof opts.onIgnne !== 'function') throw new Error('fpu-error: opts.onIgnne is required');
    this.irq = opts.irq;
    this.onIgnne = opts.onIgnne;
  }

  register(bus: PortBus): void {
    bus.register(FPU_ERROR_PORT, 1, this, this.name);
  }

  /** The vCPU asserted FERR# (EXIT_FERR): the latch raises IRQ 13 until port F0h is written. */
  ferr(): void {
    this.latched = true;
    this.irq.raise();
  }

  get irqRaised(): boolean {
    return this.latched;
  }

  portRead(_offset: number, size: AccessSize): number {
    return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  }

  /** Any write (any value, any size): the latch clears and IGNNE# is asserted. */
  portWrite(_offset: number, _size: AccessSize, _value: number): void {
    this.latched = false;
    this.irq.lower();
    this.onIgnne();
  }

  reset(): void {
    this.latched = false;
    this.irq.lower();
  }

  saveState(): FpuErrorPortState {
    return { latched: this.latched };
  }

  loadState(state: FpuErrorPortState): void {
    this.latched = state.latched;
    this.irq.set(state.latched);
  }
}
