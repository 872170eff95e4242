// The one block-device interface every storage backend implements (memory,
// file, File/Blob, IndexedDB, copy-on-write overlay, qcow2, HTTP ranges) and
// virtio-blk consumes. I/O is asynchronous; offsets and lengths are bytes
// (multiples of 512 from virtio-blk, but backends accept any).

export interface BlockDevice {
  /** Virtual size in bytes. */
  readonly size: number;
  readonly readOnly: boolean;
  /** Fills `into` with the bytes at `offset` (zeros past what was ever written). */
  read(offset: number, into: Uint8Array): Promise<void>;
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Makes every completed write durable (the guest's FLUSH). */
  flush(): Promise<void>;
  /** The range may read back as anything afterwards; backends that can, free it. */
  discard?(offset: number, length: number): Promise<void>;
  /** The range reads back as zeros afterwards. */
  writeZeroes?(offset: number, length: number): Promise<void>;
  /**
   * Changes the size (bytes past a shrink are lost, a growth reads as zeros).
   * Only containers that can grow have it (memory, files, IndexedDB): the qcow2
   * driver uses it to extend its image file; the guest never resizes a disk.
   */
  resize?(size: number): Promise<void>;
  close(): Promise<void>;
}

/** A problem with an image or a backend, shown to the user as one line. */
export class StorageError extends Error {
  override name = 'StorageError';
}

/** Rejects requests outside the device (or a write to a read-only one) before a backend sees them. */
export function checkRange(dev: BlockDevice, offset: number, length: number, write: boolean): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > dev.size) {
    throw new StorageError(`access at ${offset}+${length} is outside the ${dev.size}-byte disk`);
  }
  if (write && dev.readOnly) throw new StorageError('the disk is read-only');
}
