// A disk held in memory, sparse: the virtual size is fixed up front but a
// chunk is only allocated when something non-zero is first written into it,
// so an empty 1 TiB disk costs nothing. Used for tests, scratch disks and as
// the default copy-on-write layer of OverlayDisk.

import { type BlockDevice, checkRange, StorageError } from './BlockDevice.ts';
import { checkChunkSize, isZero } from './util.ts';

export interface MemoryDiskOptions {
  /** Allocation unit in bytes (power of two, default 64 KiB). */
  chunkSize?: number;
  readOnly?: boolean;
}

export class MemoryDisk implements BlockDevice {
  private _size: number;
  readonly readOnly: boolean;
  readonly chunkSize: number;
  private readonly shift: number;
  private readonly chunks = new Map<number, Uint8Array>();
  private closed = false;

  constructor(size: number, options: MemoryDiskOptions = {}) {
    if (!Number.isSafeInteger(size) || size < 0) throw new StorageError(`invalid disk size ${size}`);
    this._size = size;
    this.readOnly = options.readOnly ?? false;
    this.chunkSize = checkChunkSize(options.chunkSize ?? 65536);
    this.shift = Math.log2(this.chunkSize);
  }

  /** A disk whose contents start as a copy of `bytes` (its size is `bytes.length` unless given). */
  static from(bytes: Uint8Array, options: MemoryDiskOptions & { size?: number } = {}): MemoryDisk {
    const disk = new MemoryDisk(options.size ?? bytes.length, { chunkSize: options.chunkSize });
    disk.store(0, bytes.subarray(0, disk.size));
    if (options.readOnly) (disk as { readOnly: boolean }).readOnly = true;
    return disk;
  }

  get size(): number {
    return this._size;
  }

  /** Bytes of chunk memory in use. */
  get bytesStored(): number {
    return this.chunks.size * this.chunkSize;
  }

  async read(offset: number, into: Uint8Array): Promise<void> {
    this.check(offset, into.length, false);
    let done = 0;
    while (done < into.length) {
      const pos = offset + done;
      const index = pos >>> 0 === pos ? pos >>> this.shift : Math.floor(pos / this.chunkSize);
      const within = pos - index * this.chunkSize;
      const n = Math.min(this.chunkSize - within, into.length - done);
      const chunk = this.chunks.get(index);
      if (chunk) into.set(chunk.subarray(within, within + n), done);
      else into.fill(0, done, done + n);
      done += n;
    }
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.check(offset, data.length, true);
    this.store(offset, data);
  }

  async flush(): Promise<void> {
    this.check(0, 0, false);
  }

  async discard(offset: number, length: number): Promise<void> {
    this.check(offset, length, true);
    this.zero(offset, length);
  }

  async writeZeroes(offset: number, length: number): Promise<void> {
    this.check(offset, length, true);
    this.zero(offset, length);
  }

  async resize(size: number): Promise<void> {
    if (this.closed) throw new StorageError('the disk is closed');
    if (this.readOnly) throw new StorageError('the disk is read-only');
    if (!Number.isSafeInteger(size) || size < 0) throw new StorageError(`invalid disk size ${size}`);
    if (size < this._size) this.zero(size, this._size - size);
    this._size = size;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.chunks.clear();
  }

  private check(offset: number, length: number, write: boolean): void {
    if (this.closed) throw new StorageError('the disk is closed');
    checkRange(this, offset, length, write);
  }

  private store(offset: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const pos = offset + done;
      const index = Math.floor(pos / this.chunkSize);
      const within = pos - index * this.chunkSize;
      const n = Math.min(this.chunkSize - within, data.length - done);
      const part = data.subarray(done, done + n);
      let chunk = this.chunks.get(index);
      if (!chunk) {
        // Writing zeros over a hole keeps it a hole.
        if (!isZero(part)) {
          chunk = new Uint8Array(this.chunkSize);
          this.chunks.set(index, chunk);
        }
      }
      chunk?.set(part, within);
      done += n;
    }
  }

  private zero(offset: number, length: number): void {
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const index = Math.floor(pos / this.chunkSize);
      const within = pos - index * this.chunkSize;
      const n = Math.min(this.chunkSize - within, length - done);
      if (n === this.chunkSize) this.chunks.delete(index);
      else this.chunks.get(index)?.fill(0, within, within + n);
      done += n;
    }
  }
}
