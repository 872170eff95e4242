// The 8042 keyboard controller ("KBC") at ports 0x60 (data) and 0x64
// (status on read, command on write), with a PS/2 keyboard and an optional
// PS/2 auxiliary device (mouse) behind it.
//
// Status (0x64 read): bit 0 output buffer full, bit 1 input buffer full
// (always 0: writes are processed at once), bit 2 system flag, bit 3 last
// write was a command, bit 4 keyboard not inhibited (always 1), bit 5 the
// output buffer holds aux data, bit 6 timeout (the aux device did not answer).
//
// Command byte (controller RAM byte 0): bit 0 IRQ1 on keyboard data, bit 1
// IRQ12 on aux data, bit 2 system flag, bit 4 keyboard interface disabled,
// bit 5 aux interface disabled, bit 6 translate (scancode set 2 → set 1).
//
// Commands: 0x20-0x3F read RAM, 0x60-0x7F write RAM (data byte follows),
// 0xA4 password installed? (0xF1: no), 0xA7/0xA8 aux interface off/on,
// 0xA9 aux interface test (0x00), 0xAA self-test (0x55, sets the system
// flag), 0xAB keyboard interface test (0x00), 0xAD/0xAE keyboard interface
// off/on, 0xC0 read input port, 0xD0 read output port, 0xD1 write output port,
// 0xD2 write keyboard output buffer, 0xD3 write aux output buffer, 0xD4 write
// to the aux device, 0xDD/0xDF A20 off/on, 0xE0 read test inputs,
// 0xF0-0xFF pulse output lines (bit n clear pulses line n; line 0 = reset).
//
// Output port: bit 0 reset line (0 resets the CPU), bit 1 A20 gate, bits
// 2-3 aux clock/data, bit 4 keyboard data in the output buffer, bit 5 aux
// data in the output buffer, bits 6-7 keyboard clock/data.
//
// IRQ1 is high while the output buffer holds keyboard (or controller) data
// and command byte bit 0 is set; IRQ12 likewise for aux data and bit 1.
// Reading 0x60 empties the buffer and refills it at once from what is
// waiting (controller replies first, then keyboard, then aux), so each
// byte gives the interrupt controller a fresh rising edge.
import type { IrqLine } from '../vmm/IrqLine.ts';
import type { PortBus } from '../vmm/PortBus.ts';
import { BytePorts } from './BytePorts.ts';
import { clonePlain, type Device } from './Device.ts';
import type { Ps2Port } from './Ps2Keyboard.ts';

export interface I8042Options {
  keyboard: Ps2Port;
  /** The PS/2 mouse port; without one, bytes sent to it time out. */
  aux?: Ps2Port;
  irq1?: IrqLine;
  irq12?: IrqLine;
  /** The A20 gate (output port bit 1) changed. */
  onA20?: (enabled: boolean) => void;
  /** The controller pulsed or drove the CPU reset line. */
  onReset?: () => void;
}

export interface I8042State {
  /** Stored status bits: 0x04 system flag, 0x08 command/data, 0x10 not inhibited, 0x40 timeout. */
  status: number;
  /** Controller RAM; byte 0 is the command byte. */
  ram: number[];
  outputPort: number;
  /** Command waiting for its data byte on port 0x60, or 0. */
  pendingCommand: number;
  obFull: boolean;
  obData: number;
  obAux: boolean;
  /** Controller replies waiting for the output buffer: byte | 0x100 (aux) | 0x200 (timeout). */
  replies: number[];
  replyHead: number;
  replyCount: number;
}

const ST_OBF = 0x01;
const ST_SYS = 0x04;
const ST_CMD = 0x08;
const ST_UNLOCKED = 0x10;
const ST_AUXOBF = 0x20;
const ST_TIMEOUT = 0x40;

const CB_KBDINT = 0x01;
const CB_AUXINT = 0x02;
const CB_SYS = 0x04;
const CB_KBDDIS = 0x10;
const CB_AUXDIS = 0x20;
const CB_XLATE = 0x40;

const OUT_RESET = 0x01;
const OUT_A20 = 0x02;

const R_AUX = 0x100;
const R_TIMEOUT = 0x200;
const REPLY_SLOTS = 8;

export class I8042 implements Device<I8042State> {
  readonly name = 'i8042';
  state!: I8042State;
  private readonly dataIo = new BytePorts({ readByte: () => this.readData(), writeByte: (_o, v) => this.writeData(v) }, 1);
  private readonly ctlIo = new BytePorts({ readByte: () => this.readStatus(), writeByte: (_o, v) => this.writeCommand(v) }, 1);

  constructor(private readonly opts: I8042Options) {
    if (!opts || !opts.keyboard) throw new Error('i8042: opts.keyboard is required');
    opts.keyboard.attach(() => this.pump());
    opts.aux?.attach(() => this.pump());
    this.reset();
  }

  register(bus: PortBus): void {
    bus.register(0x60, 1, this.dataIo, 'i8042.data');
    bus.register(0x64, 1, this.ctlIo, 'i8042.ctl');
  }

  /** Output port bit 1. */
  get a20Enabled(): boolean {
    return (this.state.outputPort & OUT_A20) !== 0;
  }

  get commandByte(): number {
    return this.state.ram[0];
  }

  /**
   * Power-on: command byte 0 (no interrupts, no translation), output port
   * 0xCF (reset line idle, A20 on, clock/data lines high), buffers empty.
   * Callbacks are not called: read a20Enabled after a reset.
   */
  reset(): void {
    this.state = {
      status: ST_UNLOCKED,
      ram: new Array(32).fill(0),
      outputPort: 0xcf,
      pendingCommand: 0,
      obFull: false,
      obData: 0,
      obAux: false,
      replies: new Array(REPLY_SLOTS).fill(0),
      replyHead: 0,
      replyCount: 0,
    };
    this.opts.keyboard.setTranslation?.(false);
    this.opts.aux?.setTranslation?.(false);
    this.updateIrq();
  }

  /**
   * The state SeaBIOS leaves: controller self-tested, keyboard reset, set 2,
   * enabled; command byte 0x61 (keyboard IRQ, translation, aux disabled;
   * its system-flag bit is 0, and the status register mirrors it). Done
   * through the ports, as the BIOS does.
   */
  biosInit(): void {
    this.writeCommand(0xaa);
    this.drain();
    this.writeCommand(0x60);
    this.writeData(CB_KBDDIS | CB_AUXDIS);
    for (const b of [0xff, 0xf5, 0xf0, 0x02, 0xf4]) {
      this.writeData(b);
      this.drain();
    }
    this.writeCommand(0x60);
    this.writeData(CB_AUXDIS | CB_XLATE | CB_KBDINT);
  }

  saveState(): I8042State {
    return clonePlain(this.state);
  }

  /** Restore the keyboard (and aux device) first: this pulls their waiting bytes. */
  loadState(state: I8042State): void {
    if (!state || !Array.isArray(state.ram) || state.ram.length !== 32 || state.replies?.length !== REPLY_SLOTS) {
      throw new Error('i8042: saved state has the wrong shape');
    }
    this.state = clonePlain(state);
    this.opts.keyboard.setTranslation?.((this.state.ram[0] & CB_XLATE) !== 0);
    this.pump();
  }

  // ---- ports --------------------------------------------------------------

  private readStatus(): number {
    const s = this.state;
    let v = s.status & (ST_SYS | ST_CMD | ST_UNLOCKED | ST_TIMEOUT);
    if (s.obFull) v |= s.obAux ? ST_OBF | ST_AUXOBF : ST_OBF;
    return v;
  }

  private readData(): number {
    const s = this.state;
    const v = s.obData; // an empty buffer reads the last byte again
    if (s.obFull) {
      s.obFull = false;
      s.status &= ~ST_TIMEOUT;
      this.updateIrq();
      this.pump();
    }
    return v;
  }

  private writeData(v: number): void {
    const s = this.state;
    s.status &= ~ST_CMD;
    const cmd = s.pendingCommand;
    s.pendingCommand = 0;
    if (cmd >= 0x60 && cmd <= 0x7f) {
      this.writeRam(cmd & 0x1f, v);
    } else if (cmd === 0xd1) {
      this.writeOutputPort(v);
    } else if (cmd === 0xd2) {
      this.reply(v);
    } else if (cmd === 0xd3) {
      this.reply(v | R_AUX);
    } else if (cmd === 0xd4) {
      if (this.opts.aux) {
        this.opts.aux.write(v);
      } else {
        this.reply(0xfe | R_AUX | R_TIMEOUT);
      }
    } else {
      // To the keyboard; sending it a byte re-enables its interface.
      s.ram[0] &= ~CB_KBDDIS;
      this.opts.keyboard.write(v);
    }
    this.pump();
  }

  private writeCommand(v: number): void {
    const s = this.state;
    s.status |= ST_CMD;
    s.pendingCommand = 0;
    if (v >= 0x20 && v <= 0x3f) {
      this.reply(s.ram[v & 0x1f]);
    } else if (v >= 0x60 && v <= 0x7f) {
      s.pendingCommand = v;
    } else if (v >= 0xf0) {
      if (!(v & 0x01)) this.opts.onReset?.();
    } else {
      switch (v) {
        case 0xa4: // password installed?
          this.reply(0xf1);
          break;
        case 0xa7:
          s.ram[0] |= CB_AUXDIS;
          break;
        case 0xa8:
          s.ram[0] &= ~CB_AUXDIS;
          break;
        case 0xa9: // aux interface test: no error
        case 0xab: // keyboard interface test: no error
          this.reply(0x00);
          break;
        case 0xaa: // self-test passed
          s.status |= ST_SYS;
          this.reply(0x55);
          break;
        case 0xad:
          s.ram[0] |= CB_KBDDIS;
          break;
        case 0xae:
          s.ram[0] &= ~CB_KBDDIS;
          break;
        case 0xc0: // input port: keyboard not inhibited
          this.reply(0x80);
          break;
        case 0xd0: {
          let p = s.outputPort & ~0x30;
          if (s.obFull) p |= s.obAux ? 0x20 : 0x10;
          this.reply(p);
          break;
        }
        case 0xd1:
        case 0xd2:
        case 0xd3:
        case 0xd4:
          s.pendingCommand = v;
          break;
        case 0xdd:
          this.writeOutputPort(s.outputPort & ~OUT_A20);
          break;
        case 0xdf:
          this.writeOutputPort(s.outputPort | OUT_A20);
          break;
        case 0xe0: // test inputs T0/T1
          this.reply(0x00);
          break;
        default:
          break; // unknown commands are ignored
      }
    }
    this.pump();
  }

  // ---- internals ----------------------------------------------------------

  private writeRam(i: number, v: number): void {
    const s = this.state;
    s.ram[i] = v;
    if (i === 0) {
      s.status = (s.status & ~ST_SYS) | (v & CB_SYS);
      this.opts.keyboard.setTranslation?.((v & CB_XLATE) !== 0);
    }
  }

  private writeOutputPort(v: number): void {
    const s = this.state;
    const old = s.outputPort;
    s.outputPort = v;
    if ((old ^ v) & OUT_A20) this.opts.onA20?.((v & OUT_A20) !== 0);
    if (!(v & OUT_RESET)) this.opts.onReset?.();
  }

  private reply(entry: number): void {
    const s = this.state;
    if (s.replyCount >= REPLY_SLOTS) return;
    s.replies[(s.replyHead + s.replyCount) % REPLY_SLOTS] = entry;
    s.replyCount++;
  }

  /** Fill an empty output buffer from whatever is waiting, and update the IRQ lines. */
  private pump(): void {
    const s = this.state;
    if (!s.obFull) {
      if (s.replyCount) {
        const e = s.replies[s.replyHead];
        s.replyHead = (s.replyHead + 1) % REPLY_SLOTS;
        s.replyCount--;
        this.fill(e & 0xff, (e & R_AUX) !== 0, (e & R_TIMEOUT) !== 0);
      } else if (!(s.ram[0] & CB_KBDDIS) && this.opts.keyboard.hasData()) {
        this.fill(this.opts.keyboard.take(), false, false);
      } else if (this.opts.aux && !(s.ram[0] & CB_AUXDIS) && this.opts.aux.hasData()) {
        this.fill(this.opts.aux.take(), true, false);
      }
    }
    this.updateIrq();
  }

  private fill(b: number, aux: boolean, timeout: boolean): void {
    const s = this.state;
    s.obFull = true;
    s.obData = b;
    s.obAux = aux;
    s.status = (s.status & ~ST_TIMEOUT) | (timeout ? ST_TIMEOUT : 0);
  }

  private updateIrq(): void {
    const s = this.state;
    this.opts.irq1?.set(s.obFull && !s.obAux && (s.ram[0] & CB_KBDINT) !== 0);
    this.opts.irq12?.set(s.obFull && s.obAux && (s.ram[0] & CB_AUXINT) !== 0);
  }

  /** Read and drop everything the controller has to say (biosInit). */
  private drain(): void {
    for (let i = 0; i < 64 && this.state.obFull; i++) this.readData();
  }
}
