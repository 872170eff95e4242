// Copy-on-write over any BlockDevice: the base is never written. Writes go to
// a sparse overlay (a MemoryDisk unless another device is given) in chunks; a
// write covering part of a chunk not yet in the overlay first copies that
// chunk from the base (read-modify-write). Reads take each chunk from the
// overlay or the base according to a bitmap kept in memory. This is what
// `-snapshot` and dropped/downloaded images use; when the overlay is a
// persistent device, the bitmap still lives only as long as this object.

import { type BlockDevice, checkRange, StorageError } from './BlockDevice.ts';
import { MemoryDisk } from './MemoryDisk.ts';
import { checkChunkSize, Mutex } from './util.ts';

export interface OverlayDiskOptions {
  /** Where writes go (default: a new MemoryDisk of the base's size). */
  overlay?: BlockDevice;
  /** Copy-on-write granularity in bytes (power of two, default 64 KiB). */
  chunkSize?: number;
  /** Close the base when the overlay is closed (default true). */
  closeBase?: boolean;
}

export class OverlayDisk implements BlockDevice {
  readonly readOnly = false;
  readonly size: number;
  readonly chunkSize: number;
  readonly overlay: BlockDevice;
  private readonly bitmap: Uint8Array;
  private readonly lock = new Mutex();
  private readonly closeBase: boolean;
  private closed = false;

  constructor(readonly base: BlockDevice, options: OverlayDiskOptions = {}) {
    this.size = base.size;
    this.chunkSize = checkChunkSize(options.chunkSize ?? 65536);
    this.overlay = options.overlay ?? new MemoryDisk(base.size, { chunkSize: this.chunkSize });
    if (this.overlay.readOnly) throw new StorageError('the overlay of a copy-on-write disk must be writable');
    if (this.overlay.size < this.size) {
      throw new StorageError(`the overlay (${this.overlay.size} bytes) is smaller than the base (${this.size} bytes)`);
    }
    this.bitmap = new Uint8Array(Math.ceil(Math.ceil(this.size / this.chunkSize) / 8));
    this.closeBase = options.closeBase ?? true;
  }

  /** Bytes the guest has changed, rounded to chunks. */
  get bytesChanged(): number {
    let n = 0;
    for (const b of this.bitmap) for (let v = b; v; v &= v - 1) n++;
    return n * this.chunkSize;
  }

  async read(offset: number, into: Uint8Array): Promise<void> {
    this.check(offset, into.length, false);
    const cs = this.chunkSize;
    let done = 0;
    const jobs: Promise<void>[] = [];
    while (done < into.length) {
      // One run of chunks that all live in the same place.
      const first = Math.floor((offset + done) / cs);
      const inOverlay = this.has(first);
      let end = done + Math.min((first + 1) * cs - (offset + done), into.length - done);
      let next = first + 1;
      while (end < into.length && this.has(next) === inOverlay) {
        end = Math.min(end + cs, into.length);
        next++;
      }
      jobs.push((inOverlay ? this.overlay : this.base).read(offset + done, into.subarray(done, end)));
      done = end;
    }
    await Promise.all(jobs);
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.check(offset, data.length, true);
    return this.lock.run(() => this.writeLocked(offset, data));
  }

  async writeZeroes(offset: number, length: number): Promise<void> {
    this.check(offset, length, true);
    return this.lock.run(() => this.zeroLocked(offset, length));
  }

  /** Discarded chunks read back as zeros (the base is hidden, the overlay may free the memory). */
  async discard(offset: number, length: number): Promise<void> {
    this.check(offset, length, true);
    return this.lock.run(() => this.zeroLocked(offset, length));
  }

  async flush(): Promise<void> {
    this.check(0, 0, false);
    return this.lock.run(() => this.overlay.flush());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.lock.run(async () => {
      this.closed = true;
      await this.overlay.close();
      if (this.closeBase) await this.base.close();
    });
  }

  private check(offset: number, length: number, write: boolean): void {
    if (this.closed) throw new StorageError('the disk is closed');
    checkRange(this, offset, length, write);
  }

  private has(chunk: number): boolean {
    return (this.bitmap[chunk >>> 3] & (1 << (chunk & 7))) !== 0;
  }

  private mark(first: number, last: number): void {
    for (let c = first; c <= last; c++) this.bitmap[c >>> 3] |= 1 << (c & 7);
  }

  /** The byte length of chunk `c` (the last one may be short). */
  private chunkLength(c: number): number {
    return Math.min(this.chunkSize, this.size - c * this.chunkSize);
  }

  private async writeLocked(offset: number, data: Uint8Array): Promise<void> {
    const cs = this.chunkSize;
    let done = 0;
    let runStart = -1; // start (in `data`) of a pending direct write to the overlay
    const flushRun = async (upTo: number) => {
      if (runStart >= 0 && upTo > runStart) await this.overlay.write(offset + runStart, data.subarray(runStart, upTo));
      runStart = -1;
    };
    const firstChunk = Math.floor(offset / cs);
    while (done < data.length) {
      const pos = offset + done;
      const c = Math.floor(pos / cs);
      const within = pos - c * cs;
      const n = Math.min(this.chunkLength(c) - within, data.length - done);
      const whole = within === 0 && n === this.chunkLength(c);
      if (whole || this.has(c)) {
        if (runStart < 0) runStart = done;
      } else {
        await flushRun(done);
        // Copy the chunk up from the base, then lay the new bytes over it.
        const buf = new Uint8Array(this.chunkLength(c));
        await this.base.read(c * cs, buf);
        buf.set(data.subarray(done, done + n), within);
        await this.overlay.write(c * cs, buf);
      }
      done += n;
    }
    await flushRun(done);
    if (data.length > 0) this.mark(firstChunk, Math.floor((offset + data.length - 1) / cs));
  }

  private async zeroLocked(offset: number, length: number): Promise<void> {
    if (length === 0) return;
    const cs = this.chunkSize;
    const end = offset + length;
    // Whole chunks: ask the overlay to zero them (a MemoryDisk frees them).
    const firstWhole = Math.ceil(offset / cs);
    let lastWholeEnd = Math.floor(end / cs) * cs;
    if (end === this.size) lastWholeEnd = end;
    const wholeStart = firstWhole * cs;
    if (lastWholeEnd > wholeStart) {
      if (this.overlay.writeZeroes) await this.overlay.writeZeroes(wholeStart, lastWholeEnd - wholeStart);
      else await this.writeZeroBytes(wholeStart, lastWholeEnd - wholeStart);
      this.mark(firstWhole, Math.ceil(lastWholeEnd / cs) - 1);
      if (offset < wholeStart) await this.writeZeroBytes(offset, wholeStart - offset);
      if (end > lastWholeEnd) await this.writeZeroBytes(lastWholeEnd, end - lastWholeEnd);
    } else {
      await this.writeZeroBytes(offset, length);
    }
  }

  private async writeZeroBytes(offset: number, length: number): Promise<void> {
    const step = 1 << 20;
    for (let done = 0; done < length; done += step) {
      const n = Math.min(step, length - done);
      await this.writeLocked(offset + done, new Uint8Array(n));
    }
  }
}
