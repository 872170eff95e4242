// The PC's miscellaneous system ports:
// - 0x61, system control port B (AT "NMI status and control"):
//     bit 0 PIT channel 2 gate (r/w), bit 1 speaker data enable (r/w),
//     bits 2-3 parity / I/O channel check disable (r/w, stored only),
//     bit 4 refresh detect: toggles every 15.085 us (18 PIT clocks, the
//     refresh period) -- BIOS and Linux delay loops poll it,
//     bit 5 PIT channel 2 OUT, bits 6-7 I/O channel check / SERR status (0).
// - 0x92, system control port A ("fast A20 and reset"): bit 0 a 0→1
//   transition resets the CPU, bit 1 gates A20; reads return what was written.
// - 0x80, the POST code / diagnostic port: writes are recorded, reads
//   return the last value written.
//
// The PIT and the CPU are reached only through the callbacks the machine
// passes in.
import type { GuestClock } from '../vmm/Clock.ts';
import type { PortBus } from '../vmm/PortBus.ts';
import { BytePorts } from './BytePorts.ts';
import { clonePlain, type Device } from './Device.ts';
import { pitTicksAt } from './Pit8254.ts';

export interface SystemControlPortsOptions {
  clock: GuestClock;
  /** Port 0x61 bit 0 changed: PIT channel 2's gate input. */
  setPitGate2?: (level: boolean) => void;
  /** PIT channel 2's OUT, for port 0x61 bit 5. */
  pitOut2?: () => boolean;
  /** Port 0x61 bit 1 changed: speaker data enable. */
  onSpeaker?: (enabled: boolean) => void;
  /** Port 0x92 bit 1 changed. */
  onA20?: (enabled: boolean) => void;
  /** Port 0x92 bit 0 went from 0 to 1: reset the machine. */
  onReset?: () => void;
  /** A POST code was written to port 0x80. */
  onPostCode?: (code: number) => void;
  /** Claim port 0x80 (default true). */
  postPort?: boolean;
}

export interface SystemControlPortsState {
  /** Port 0x61 bits 0..3 as written. */
  portB: number;
  /** Port 0x92 as written. */
  portA: number;
  /** Last byte written to port 0x80. */
  postCode: number;
}

/** PIT clocks per DRAM refresh request (what BIOSes program into PIT channel 1). */
const REFRESH_CLOCKS = 18;

export class SystemControlPorts implements Device<SystemControlPortsState> {
  readonly name = 'sysctl';
  state: SystemControlPortsState = { portB: 0, portA: 0, postCode: 0 };

  private readonly portBIo = new BytePorts(
    { readByte: () => this.readPortB(), writeByte: (_o, v) => this.writePortB(v) },
    1,
  );
  private readonly portAIo = new BytePorts(
    { readByte: () => this.state.portA, writeByte: (_o, v) => this.writePortA(v) },
    1,
  );
  private readonly postIo = new BytePorts(
    {
      readByte: () => this.state.postCode,
      writeByte: (_o, v) => {
        this.state.postCode = v;
        this.opts.onPostCode?.(v);
      },
    },
    1,
  );

  constructor(private readonly opts: SystemControlPortsOptions) {
    if (!opts || !opts.clock) throw new Error('sysctl: opts.clock is required (port 0x61 refresh toggle)');
  }

  register(bus: PortBus): void {
    bus.register(0x61, 1, this.portBIo, 'sysctl.portB');
    bus.register(0x92, 1, this.portAIo, 'sysctl.portA');
    if (this.opts.postPort !== false) bus.register(0x80, 1, this.postIo, 'sysctl.post');
  }

  /** Port 0x92 bit 1. */
  get a20Enabled(): boolean {
    return (this.state.portA & 0x02) !== 0;
  }

  /** Port 0x61 bit 0 (what the PIT channel 2 gate should be). */
  get pitGate2(): boolean {
    return (this.state.portB & 0x01) !== 0;
  }

  get speakerEnabled(): boolean {
    return (this.state.portB & 0x02) !== 0;
  }

  /** Power-on: all bits zero. Callbacks are not called; the machine resets the PIT gate and A20 itself. */
  reset(): void {
    this.state = { portB: 0, portA: 0, postCode: 0 };
  }

  saveState(): SystemControlPortsState {
    return clonePlain(this.state);
  }

  loadState(state: SystemControlPortsState): void {
    this.state = clonePlain(state);
  }

  private readPortB(): number {
    const refresh = Math.floor(pitTicksAt(this.opts.clock.nowNs()) / REFRESH_CLOCKS) & 1;
    const out2 = this.opts.pitOut2?.() ? 1 : 0;
    return (this.state.portB & 0x0f) | (refresh << 4) | (out2 << 5);
  }

  private writePortB(v: number): void {
    const old = this.state.portB;
    this.state.portB = v & 0x0f;
    const changed = old ^ this.state.portB;
    if (changed & 0x01) this.opts.setPitGate2?.((v & 0x01) !== 0);
    if (changed & 0x02) this.opts.onSpeaker?.((v & 0x02) !== 0);
  }

  private writePortA(v: number): void {
    const old = this.state.portA;
    this.state.portA = v;
    if ((old ^ v) & 0x02) this.opts.onA20?.((v & 0x02) !== 0);
    if (v & 0x01 && !(old & 0x01)) this.opts.onReset?.();
  }
}
