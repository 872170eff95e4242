// The console text of a machine, kept on the page side for waitForOutput():
// bytes decoded as UTF-8 (streaming, so characters split between two
// messages survive), the position where the current boot began, and the
// waiters for a string or pattern. Old text is dropped past a limit.

export interface OutputWaiter {
  /** Search from this absolute position. */
  from: number;
  match: string | RegExp;
  resolve: () => void;
}

/** Characters kept (about 1 MiB of text); a waiter further behind searches what is left. */
const KEEP_CHARS = 1 << 20;

export class ConsoleLog {
  private text = '';
  /** Absolute position of text[0] (characters dropped so far). */
  private dropped = 0;
  private bootAt = 0;
  private decoder = new TextDecoder('utf-8');
  private waiters: OutputWaiter[] = [];

  /** Absolute position of the end of the text. */
  get end(): number {
    return this.dropped + this.text.length;
  }

  /** The start of a new boot: fromBoot waits search from here. */
  markBoot(): void {
    this.text += this.decoder.decode();
    this.decoder = new TextDecoder('utf-8');
    this.bootAt = this.end;
  }

  /** The text since the current boot (what is still kept of it). */
  sinceBoot(): string {
    return this.text.slice(Math.max(0, this.bootAt - this.dropped));
  }

  append(bytes: Uint8Array): void {
    this.text += this.decoder.decode(bytes, { stream: true });
    this.check();
    if (this.text.length > KEEP_CHARS * 2) {
      const cut = this.text.length - KEEP_CHARS;
      this.text = this.text.slice(cut);
      this.dropped += cut;
    }
  }

  /** Resolves `resolve` once the text from `from` (or from the boot) matches. Returns a cancel function. */
  wait(match: string | RegExp, fromBoot: boolean, resolve: () => void): () => void {
    const w: OutputWaiter = { from: fromBoot ? this.bootAt : this.end, match, resolve };
    this.waiters.push(w);
    this.check();
    return () => {
      this.waiters = this.waiters.filter((x) => x !== w);
    };
  }

  private check(): void {
    if (this.waiters.length === 0) return;
    const done: OutputWaiter[] = [];
    for (const w of this.waiters) {
      const seen = this.text.slice(Math.max(0, w.from - this.dropped));
      // search() ignores lastIndex and the g/y flags: a reused RegExp behaves.
      const hit = typeof w.match === 'string' ? seen.includes(w.match) : seen.search(w.match) >= 0;
      if (hit) done.push(w);
      else if (typeof w.match === 'string') {
        // Nothing before the last length-1 characters can start a match later.
        w.from = Math.max(w.from, this.end - w.match.length + 1);
      }
    }
    if (done.length === 0) return;
    this.waiters = this.waiters.filter((w) => !done.includes(w));
    for (const w of done) w.resolve();
  }
}
