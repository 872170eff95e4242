// A disk image file on the host (Node.js only): positional reads and writes
// on an fs/promises FileHandle, flush = fdatasync.

import { open, type FileHandle } from 'node:fs/promises';
import { type BlockDevice, checkRange, StorageError } from './BlockDevice.ts';
import { errorText } from './util.ts';

export interface FileDiskOptions {
  readOnly?: boolean;
  /** Create the file (empty, or of `size` bytes) when it does not exist. */
  create?: boolean;
  /** With `create`: the size of a newly created file. */
  size?: number;
}

const ZERO_BLOCK = new Uint8Array(1 << 20);

export class FileDisk implements BlockDevice {
  private closed = false;

  private constructor(
    private readonly fh: FileHandle,
    private _size: number,
    readonly readOnly: boolean,
    readonly path: string,
  ) {}

  static async open(path: string, options: FileDiskOptions = {}): Promise<FileDisk> {
    const readOnly = options.readOnly ?? false;
    let fh: FileHandle;
    try {
      fh = await open(path, readOnly ? 'r' : 'r+');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && options.create && !readOnly) {
        try {
          fh = await open(path, 'w+');
          if (options.size) await fh.truncate(options.size);
        } catch (e2) {
          throw new StorageError(`cannot create ${path}: ${describe(e2)}`);
        }
      } else {
        throw new StorageError(`cannot open ${path}: ${describe(e)}`);
      }
    }
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw new StorageError(`cannot open ${path}: it is a directory`);
      return new FileDisk(fh, st.size, readOnly, path);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e instanceof StorageError ? e : new StorageError(`cannot open ${path}: ${describe(e)}`);
    }
  }

  get size(): number {
    return this._size;
  }

  async read(offset: number, into: Uint8Array): Promise<void> {
    this.check(offset, into.length, false);
    let done = 0;
    try {
      while (done < into.length) {
        const { bytesRead } = await this.fh.read(into, done, into.length - done, offset + done);
        if (bytesRead === 0) {
          // The file shrank under us: what is missing reads as zeros.
          into.fill(0, done);
          break;
        }
        done += bytesRead;
      }
    } catch (e) {
      throw new StorageError(`read error on ${this.path}: ${describe(e)}`);
    }
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.check(offset, data.length, true);
    await this.writeAll(offset, data);
  }

  async writeZeroes(offset: number, length: number): Promise<void> {
    this.check(offset, length, true);
    let done = 0;
    while (done < length) {
      const n = Math.min(ZERO_BLOCK.length, length - done);
      await this.writeAll(offset + done, ZERO_BLOCK.subarray(0, n));
      done += n;
    }
  }

  async flush(): Promise<void> {
    this.check(0, 0, false);
    if (this.readOnly) return;
    try {
      await this.fh.datasync();
    } catch (e) {
      throw new StorageError(`flush failed on ${this.path}: ${describe(e)}`);
    }
  }

  async resize(size: number): Promise<void> {
    if (this.closed) throw new StorageError('the disk is closed');
    if (this.readOnly) throw new StorageError('the disk is read-only');
    if (!Number.isSafeInteger(size) || size < 0) throw new StorageError(`invalid size ${size}`);
    try {
      await this.fh.truncate(size);
    } catch (e) {
      throw new StorageError(`cannot resize ${this.path}: ${describe(e)}`);
    }
    this._size = size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  private check(offset: number, length: number, write: boolean): void {
    if (this.closed) throw new StorageError('the disk is closed');
    checkRange(this, offset, length, write);
  }

  private async writeAll(offset: number, data: Uint8Array): Promise<void> {
    let done = 0;
    try {
      while (done < data.length) {
        const { bytesWritten } = await this.fh.write(data, done, data.length - done, offset + done);
        done += bytesWritten;
      }
    } catch (e) {
      throw new StorageError(`write error on ${this.path}: ${describe(e)}`);
    }
  }
}

function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'it is a directory';
    case 'ENOSPC': return 'no space left on the device';
    case 'EROFS': return 'the file system is read-only';
    default: return errorText(e);
  }
}
