// Collects the bytes the guest writes to the console during one run slice, so
// the page gets one message per slice instead of one per byte.
export class OutputBuffer {
  private bytes = new Uint8Array(4096);
  private length = 0;

  push(byte: number): void {
    if (this.length === this.bytes.length) {
      const bigger = new Uint8Array(this.bytes.length * 2);
      bigger.set(this.bytes);
      this.bytes = bigger;
    }
    this.bytes[this.length++] = byte;
  }

  /** What was collected since the last take (a fresh array the caller may transfer), or undefined. */
  take(): Uint8Array | undefined {
    if (this.length === 0) return undefined;
    const out = this.bytes.slice(0, this.length);
    this.length = 0;
    // Do not keep a huge buffer alive after a burst (cat of a large file).
    if (this.bytes.length > 1 << 20) this.bytes = new Uint8Array(4096);
    return out;
  }
}
