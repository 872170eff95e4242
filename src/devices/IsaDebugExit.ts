// QEMU's isa-debug-exit: a write of value v to any of its ports ends the
// machine with exit status (v << 1) | 1 (so a guest can never report 0).
// The value is the whole access (an OUT of 1, 2 or 4 bytes). Reads return 0.
// Defaults as QEMU: iobase 0x501, iosize 2.
import type { AccessSize, PortBus, PortDevice } from '../vmm/PortBus.ts';
import type { Device } from './Device.ts';

export interface IsaDebugExitOptions {
  iobase?: number;
  iosize?: number;
  /** The guest asked to exit; `status` is (value << 1) | 1 (a process exit code keeps its low 8 bits). */
  onExit: (status: number) => void;
}

const SIZE_MASK = [0, 0xff, 0xffff, 0, 0xffffffff];

export class IsaDebugExit implements Device<Record<string, never>>, PortDevice {
  readonly name = 'isa-debug-exit';
  readonly iobase: number;
  readonly iosize: number;
  private readonly onExit: (status: number) => void;

  constructor(opts: IsaDebugExitOptions) {
    const iobase = opts.iobase ?? 0x501;
    const iosize = opts.iosize ?? 2;
    if (!Number.isInteger(iobase) || iobase < 0 || iobase > 0xffff) {
      throw new RangeError(`isa-debug-exit: iobase 0x${iobase.toString(16)} is not an I/O port`);
    }
    if (!Number.isInteger(iosize) || iosize < 1 || iobase + iosize > 0x10000) {
      throw new RangeError(`isa-debug-exit: iosize ${iosize} at 0x${iobase.toString(16)} does not fit the I/O space`);
    }
    if (typeof opts.onExit !== 'function') throw new Error('isa-debug-exit: opts.onExit is required');
    this.iobase = iobase;
    this.iosize = iosize;
    this.onExit = opts.onExit;
  }

  register(bus: PortBus): void {
    bus.register(this.iobase, this.iosize, this, this.name);
  }

  portRead(_offset: number, _size: AccessSize): number {
    return 0;
  }

  portWrite(_offset: number, size: AccessSize, value: number): void {
    const v = (value & SIZE_MASK[size]) >>> 0;
    this.onExit(v * 2 + 1);
  }

  reset(): void {}

  saveState(): Record<string, never> {
    return {};
  }

  loadState(_state: Record<string, never>): void {}
}
