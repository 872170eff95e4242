// A File or Blob (an image dropped in the page, or picked with <input>) as a
// read-only disk. Reads slice the blob, so a multi-GiB file is never loaded
// whole; wrap it in an OverlayDisk to let the guest write.

import { type BlockDevice, checkRange, StorageError } from './BlockDevice.ts';
import { errorText } from './util.ts';

export class BlobDisk implements BlockDevice {
  readonly readOnly = true;
  readonly size: number;
  readonly name: string;
  private closed = false;

  constructor(private readonly blob: Blob, name?: string) {
    this.size = blob.size;
    this.name = name ?? ((blob as Partial<File>).name || 'blob');
  }

  async read(offset: number, into: Uint8Array): Promise<void> {
    this.check(offset, into.length, false);
    if (into.length === 0) return;
    let bytes: ArrayBuffer;
    try {
      bytes = await this.blob.slice(offset, offset + into.length).arrayBuffer();
    } catch (e) {
      // A File whose underlying file changed or vanished since it was dropped.
      throw new StorageError(`cannot read ${this.name}: ${errorText(e)}`);
    }
    if (bytes.byteLength !== into.length) throw new StorageError(`short read from ${this.name}`);
    into.set(new Uint8Array(bytes));
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.check(offset, data.length, true);
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(offset: number, length: number, write: boolean): void {
    if (this.closed) throw new StorageError('the disk is closed');
    checkRange(this, offset, length, write);
  }
}
