// A PS/2 (AT) keyboard as the i8042 sees it on its keyboard port: commands
// from the host answered with 0xFA (ACK) and their data, and a 16-byte
// output queue the controller drains one byte at a time.
//
// Commands: 0xFF reset (ACK, 0xAA BAT passed), 0xFE resend, 0xF6 set
// defaults, 0xF5 disable (defaults, scanning off), 0xF4 enable (queue
// cleared, scanning on), 0xF3 typematic + parameter, 0xF2 identify (ACK,
// 0xAB, 0x83; 0xAB, 0x41 when the controller translates), 0xF0 scancode set
// + parameter (0 = report it), 0xEE echo, 0xED LEDs + parameter, 0xF7..0xFD
// (set-3 key types) acknowledged. Anything else: 0xFE (resend request).
// A byte >= 0xED arriving where a parameter was expected is taken as a new
// command, as keyboards do.
//
// Key input: sendBytes() queues scancode bytes exactly as given, while
// scanning is enabled. The bytes must already be in the set the host reads
// (set 1 when the controller translates, which is what BIOSes and Linux
// leave); this model does not translate set 2 to set 1.
import { clonePlain, type Device } from './Device.ts';

/** A device on one of the i8042's two PS/2 ports. */
export interface Ps2Port {
  /** A byte from the host (through the controller) to the device. */
  write(byte: number): void;
  /** The device has a byte for the controller. */
  hasData(): boolean;
  /** Take the next byte for the controller. */
  take(): number;
  /** The controller's hook, called when the device queues bytes. */
  attach(notify: () => void): void;
  /** The controller's translation (command byte bit 6) changed. */
  setTranslation?(on: boolean): void;
}

export interface Ps2KeyboardState {
  queue: number[];
  head: number;
  count: number;
  scanning: boolean;
  leds: number;
  typematic: number;
  scancodeSet: number;
  /** Command waiting for its parameter byte (0xED, 0xF3, 0xF0), or 0. */
  expect: number;
  lastSent: number;
  translate: boolean;
}

const QUEUE_SIZE = 16;
const ACK = 0xfa;
const RESEND = 0xfe;
const DEFAULT_TYPEMATIC = 0x2b; // 10.9 cps, 500 ms

export class Ps2Keyboard implements Ps2Port, Device<Ps2KeyboardState> {
  readonly name = 'ps2kbd';
  state!: Ps2KeyboardState;
  private notify: () => void = () => {};

  constructor() {
    this.reset();
  }

  attach(notify: () => void): void {
    this.notify = notify;
  }

  /** Power-on: scanning enabled, set 2, nothing queued. */
  reset(): void {
    this.state = {
      queue: new Array(QUEUE_SIZE).fill(0),
      head: 0,
      count: 0,
      scanning: true,
      leds: 0,
      typematic: DEFAULT_TYPEMATIC,
      scancodeSet: 2,
      expect: 0,
      lastSent: 0,
      translate: this.state?.translate ?? false,
    };
  }

  saveState(): Ps2KeyboardState {
    return clonePlain(this.state);
  }

  loadState(state: Ps2KeyboardState): void {
    if (!state || !Array.isArray(state.queue) || state.queue.length !== QUEUE_SIZE) {
      throw new Error(`ps2kbd: saved state must have a ${QUEUE_SIZE}-byte queue`);
    }
    // No notification: restore the keyboard before the controller, whose
    // loadState() pulls waiting bytes into an empty output buffer.
    this.state = clonePlain(state);
  }

  setTranslation(on: boolean): void {
    this.state.translate = on;
  }

  hasData(): boolean {
    return this.state.count > 0;
  }

  take(): number {
    const s = this.state;
    if (!s.count) return 0;
    const b = s.queue[s.head];
    s.head = (s.head + 1) % QUEUE_SIZE;
    s.count--;
    s.lastSent = b;
    return b;
  }

  /** Key scancode bytes from the user (dropped while scanning is disabled). */
  sendBytes(bytes: ArrayLike<number>): void {
    if (!this.state.scanning) return;
    for (let i = 0; i < bytes.length; i++) this.push(bytes[i]);
    this.notify();
  }

  write(byte: number): void {
    const s = this.state;
    const b = byte & 0xff;
    if (s.expect && b < 0xed) {
      const cmd = s.expect;
      s.expect = 0;
      this.parameter(cmd, b);
      this.notify();
      return;
    }
    s.expect = 0;
    this.command(b);
    this.notify();
  }

  private parameter(cmd: number, b: number): void {
    const s = this.state;
    switch (cmd) {
      case 0xed:
        s.leds = b & 7;
        this.push(ACK);
        break;
      case 0xf3:
        s.typematic = b & 0x7f;
        this.push(ACK);
        break;
      case 0xf0:
        if (b === 0) {
          this.push(ACK);
          this.push(this.setId(s.scancodeSet));
        } else if (b <= 3) {
          s.scancodeSet = b;
          this.push(ACK);
        } else {
          this.push(RESEND);
        }
        break;
    }
  }

  /** The scancode-set number as the host reads it (translated to set 1 by the controller when on). */
  private setId(set: number): number {
    if (!this.state.translate) return set;
    return set === 1 ? 0x43 : set === 2 ? 0x41 : 0x3f;
  }

  private command(b: number): void {
    const s = this.state;
    switch (b) {
      case 0xff: // reset and self-test
        this.clearQueue();
        this.defaults();
        s.scanning = true;
        this.push(ACK);
        this.push(0xaa);
        break;
      case 0xfe: // resend the last byte
        this.push(s.lastSent);
        break;
      case 0xf6: // set defaults, keep scanning state
        this.defaults();
        this.push(ACK);
        break;
      case 0xf5: // default and disable
        this.clearQueue();
        this.defaults();
        s.scanning = false;
        this.push(ACK);
        break;
      case 0xf4: // enable
        this.clearQueue();
        s.scanning = true;
        this.push(ACK);
        break;
      case 0xf3:
      case 0xed:
      case 0xf0:
        s.expect = b;
        this.push(ACK);
        break;
      case 0xf2: // identify: MF2 keyboard
        this.push(ACK);
        this.push(0xab);
        this.push(s.translate ? 0x41 : 0x83);
        break;
      case 0xee: // echo
        this.push(0xee);
        break;
      case 0xf7:
      case 0xf8:
      case 0xf9:
      case 0xfa:
      case 0xfb:
      case 0xfc:
      case 0xfd:
        this.push(ACK);
        break;
      default:
        this.push(RESEND);
    }
  }

  private defaults(): void {
    const s = this.state;
    s.leds = 0;
    s.typematic = DEFAULT_TYPEMATIC;
    s.scancodeSet = 2;
  }

  private clearQueue(): void {
    this.state.head = 0;
    this.state.count = 0;
  }

  /** Queue a byte; a full queue drops it. */
  private push(b: number): void {
    const s = this.state;
    if (s.count >= QUEUE_SIZE) return;
    s.queue[(s.head + s.count) % QUEUE_SIZE] = b & 0xff;
    s.count++;
  }
}
