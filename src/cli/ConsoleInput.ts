// The terminal as the serial console: raw mode, bytes to the guest, and
// QEMU's Ctrl-A escapes (Ctrl-A X quits, Ctrl-A H helps, Ctrl-A Ctrl-A sends
// a Ctrl-A to the guest).

const CTRL_A = 0x01;
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

const ESCAPE_HELP = `\r\nC-a h    print this help\r\nC-a x    exit emulator\r\nC-a C-a  sends C-a\r\n`;

export interface ConsoleInputHandlers {
  onData(bytes: Uint8Array): void;
  onQuit(): void;
  onHelp(text: string): void;
}

export class ConsoleInput {
  private escape = false;
  private wake_: (() => void) | undefined;
  private readonly listener = (chunk: Buffer) => this.feed(chunk);
  private wasRaw = false;

  constructor(
    private readonly stream: NodeJS.ReadStream,
    private readonly handlers: ConsoleInputHandlers,
  ) {}

  start(): void {
    if (this.stream.isTTY) {
      this.wasRaw = this.stream.isRaw;
      this.stream.setRawMode(true);
    }
    this.stream.on('data', this.listener);
    this.stream.resume();
  }

  stop(): void {
    this.stream.off('data', this.listener);
    if (this.stream.isTTY) this.stream.setRawMode(this.wasRaw);
    this.stream.pause();
  }

  /**
   * Resolves after `ms` or as soon as input arrives. Node's timers cannot
   * sleep less than about a millisecond, which would make a guest's 1 kHz
   * timer lose ticks, so short waits block precisely with Atomics.wait (the
   * console input is read at most a couple of milliseconds late).
   */
  waitFor(ms: number): Promise<void> {
    if (ms < 2) {
      if (ms > 0) Atomics.wait(SLEEPER, 0, 0, ms);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(t);
        if (self.wake_ === done) self.wake_ = undefined;
        resolve();
      }
      this.wake_ = done;
    });
  }

  /** Ends a waitFor() early (device I/O completed). */
  wake(): void {
    this.wake_?.();
  }

  /** Splits escapes out of the byte stream. */
  feed(chunk: Uint8Array): void {
    const pass: number[] = [];
    for (const b of chunk) {
      if (this.escape) {
        this.escape = false;
        const c = String.fromCharCode(b).toLowerCase();
        if (c === 'x') {
          this.flush(pass);
          this.handlers.onQuit();
          return;
        }
        if (c === 'h' || c === '?') this.handlers.onHelp(ESCAPE_HELP);
        else if (b === CTRL_A) pass.push(CTRL_A);
        continue;
      }
      if (b === CTRL_A) this.escape = true;
      else pass.push(b);
    }
    this.flush(pass);
    this.wake_?.();
  }

  private flush(bytes: number[]): void {
    if (bytes.length > 0) this.handlers.onData(Uint8Array.from(bytes));
  }
}
