// qcow2 images (versions 2 and 3), read and write, on top of any BlockDevice
// holding the image file (the "container"). Format facts from QEMU's
// docs/interop/qcow2.txt; the code is this project's own.
//
// This class is the BlockDevice: it opens (and creates) images and
// serialises every operation. The work is done by the parts in qcow2/:
//   header.ts            header parsing and validation, L1/refcount table checks
//   createImage.ts       new, empty images
//   ClusterMap.ts        the L1/L2 mapping of guest clusters to host clusters
//   GuestIo.ts           guest reads/writes/zeroing through it (COW, compression, backing file)
//   RefcountAllocator.ts refcounts, allocation and the crash-consistent write-back order
//   MetadataClusters.ts  clusters guest data must never land on
//   TableCache.ts        the write-back cache of L2 tables and refcount blocks
//   DirtyEntries.ts      the changed range of the L1 and refcount tables (kept in memory)
//   format.ts            big-endian fields, packed refcounts, growing writes, errors
//
// Decisions (also in README.md beside this file):
// - Writable opens are refused for images marked dirty (lazy refcounts were
//   in use and not written back: refcounts cannot be trusted for allocation),
//   marked corrupt, or holding internal snapshots (clusters shared with a
//   snapshot would need the full refcount-driven COW of L2 tables). All of
//   these open read-only, and `-snapshot`/OverlayDisk gives a writable view.
// - Every refcount width from 1 to 64 bits (refcount_order 0..6) is handled.
// - Metadata caches are write-back; flush() writes in dependency order (see
//   RefcountAllocator.ts), so a crash leaves at worst leaked clusters.
// - Guest data is never written over a cluster that holds metadata: such an
//   image is reported corrupt instead, and the allocator skips those clusters
//   even if their refcount claims they are free.
// - All operations on one image are serialised by a mutex.

import { type BlockDevice, checkRange, StorageError } from './BlockDevice.ts';
import { ClusterMap } from './qcow2/ClusterMap.ts';
import { createImage, type Qcow2CreateOptions } from './qcow2/createImage.ts';
import { fail, QCOW2_MAGIC } from './qcow2/format.ts';
import { GuestIo } from './qcow2/GuestIo.ts';
import { clearAutoclearFeatures, type ParsedHeader, parseHeader, type Qcow2Info, readTopTables } from './qcow2/header.ts';
import { MetadataClusters } from './qcow2/MetadataClusters.ts';
import { RefcountAllocator } from './qcow2/RefcountAllocator.ts';
import { errorText, Mutex } from './util.ts';

export { QCOW2_MAGIC, type Qcow2CreateOptions, type Qcow2Info };

/** Deepest backing chain followed (an image, its backing file, its backing file's...). */
export const MAX_BACKING_DEPTH = 16;

export interface BackingRequest {
  /** The backing file name exactly as stored in the image. */
  name: string;
  /** From the backing format header extension, when present ('raw', 'qcow2', ...). */
  format?: string;
  /** Depth the backing image will have in the chain (the top image is 0). */
  depth: number;
}

export interface Qcow2Options {
  readOnly?: boolean;
  /** Opens the backing file named by the image; its result is only read. */
  openBacking?: (request: BackingRequest) => Promise<BlockDevice>;
  /** Depth of this image in a backing chain (set by the opener of a backing file). */
  depth?: number;
  /** L2 table cache budget in bytes (default 4 MiB: 32 GiB of guest with 64 KiB clusters). */
  l2CacheBytes?: number;
  /** Refcount block cache budget in bytes (default 1 MiB). */
  refcountCacheBytes?: number;
  /** Close the container (and backing) when the image is closed (default true). */
  closeContainer?: boolean;
}

export class Qcow2Image implements BlockDevice {
  readonly size: number;
  readonly readOnly: boolean;
  readonly info: Qcow2Info;
  readonly clusterSize: number;

  private readonly map: ClusterMap;
  private readonly refcounts: RefcountAllocator;
  private readonly io: GuestIo;
  private readonly lock = new Mutex();
  private readonly closeContainer: boolean;
  private closed = false;

  private constructor(
    private readonly container: BlockDevice,
    private readonly backing: BlockDevice | undefined,
    header: ParsedHeader,
    l1: Uint8Array,
    reftable: Uint8Array,
    options: Qcow2Options,
  ) {
    this.info = header.info;
    this.size = header.info.size;
    this.readOnly = options.readOnly ?? false;
    const cs = this.clusterSize = 1 << header.clusterBits;
    const l1Clusters = header.l1Offset / cs;
    const reftableClusters = header.reftableOffset / cs;
    const metadata = new MetadataClusters(
      [l1Clusters, l1Clusters + Math.ceil(l1.length / cs)],
      [reftableClusters, reftableClusters + reftable.length / cs],
      header.snapshotsRange,
    );
    const writebackAll = () => this.writeback();
    this.refcounts = new RefcountAllocator(container, metadata, {
      clusterSize: cs,
      refcountBits: header.info.refcountBits,
      reftable,
      reftableOffset: header.reftableOffset,
      cacheBytes: options.refcountCacheBytes ?? 1 << 20,
      writebackAll,
      clusterFreed: () => this.io.forgetDecompressed(),
    });
    this.map = new ClusterMap(container, metadata, this.refcounts, {
      clusterBits: header.clusterBits,
      l1,
      l1Offset: header.l1Offset,
      cacheBytes: options.l2CacheBytes ?? 4 << 20,
      writebackAll,
    });
    this.io = new GuestIo(container, backing, this.map, this.refcounts, metadata, {
      clusterSize: cs,
      size: this.size,
      version: header.info.version,
    });
    this.closeContainer = options.closeContainer ?? true;
  }

  /** True when `container` starts with the qcow2 magic. */
  static async probe(container: BlockDevice): Promise<boolean> {
    if (container.size < 4) return false;
    const b = new Uint8Array(4);
    await container.read(0, b);
    return new DataView(b.buffer).getUint32(0) === QCOW2_MAGIC;
  }

  static async open(container: BlockDevice, options: Qcow2Options = {}): Promise<Qcow2Image> {
    const readOnly = options.readOnly ?? false;
    if (!readOnly && container.readOnly) fail('the image file is read-only (open the image read-only)');
    if (!readOnly && !container.resize) fail('the image file cannot grow (open the image read-only)');
    const header = await parseHeader(container);
    const info = header.info;
    if (!readOnly) {
      if (info.corrupt) fail('the image is marked corrupt; it can only be opened read-only');
      if (info.dirty) {
        fail("the image was not closed cleanly (dirty bit set): repair it with 'qemu-img check -r all' or open it read-only");
      }
      if (info.snapshots > 0) fail(`the image has ${info.snapshots} internal snapshot(s); it can only be opened read-only`);
    }
    const { l1, reftable } = await readTopTables(container, header);

    let backing: BlockDevice | undefined;
    if (info.backingFile !== undefined) {
      const depth = (options.depth ?? 0) + 1;
      if (depth > MAX_BACKING_DEPTH) {
        fail(`backing chain is deeper than ${MAX_BACKING_DEPTH} images (does it loop back on itself?)`);
      }
      if (!options.openBacking) fail(`the image needs its backing file '${info.backingFile}', and no way to open it was given`);
      try {
        backing = await options.openBacking({ name: info.backingFile, format: info.backingFormat, depth });
      } catch (e) {
        if (e instanceof StorageError) throw e;
        fail(`cannot open backing file '${info.backingFile}': ${errorText(e)}`);
      }
    }

    try {
      const image = new Qcow2Image(container, backing, header, l1, reftable, options);
      if (!readOnly && info.autoclearFeatures !== 0) {
        await clearAutoclearFeatures(container);
        info.autoclearFeatures = 0;
      }
      return image;
    } catch (e) {
      await backing?.close().catch(() => undefined);
      throw e;
    }
  }

  /** Writes a new, empty qcow2 image into `container` (which must be empty or disposable). */
  static async create(container: BlockDevice, options: Qcow2CreateOptions): Promise<void> {
    await createImage(container, options);
  }

  async read(offset: number, into: Uint8Array): Promise<void> {
    this.check(offset, into.length, false);
    return this.lock.run(() => this.io.read(offset, into));
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.check(offset, data.length, true);
    return this.lock.run(() => this.io.write(offset, data));
  }

  async writeZeroes(offset: number, length: number): Promise<void> {
    this.check(offset, length, true);
    return this.lock.run(() => this.io.zero(offset, length, true));
  }

  async discard(offset: number, length: number): Promise<void> {
    this.check(offset, length, true);
    return this.lock.run(() => this.io.zero(offset, length, false));
  }

  async flush(): Promise<void> {
    this.check(0, 0, false);
    return this.lock.run(async () => {
      if (this.readOnly) return;
      await this.writeback();
      await this.container.flush();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.lock.run(async () => {
      if (this.closed) return;
      try {
        if (!this.readOnly) {
          await this.writeback();
          await this.container.flush();
        }
      } finally {
        this.closed = true;
        this.map.clear();
        this.refcounts.clear();
        this.io.forgetDecompressed();
        if (this.closeContainer) {
          await this.backing?.close();
          await this.container.close();
        }
      }
    });
  }

  private check(offset: number, length: number, write: boolean): void {
    if (this.closed) throw new StorageError('the disk is closed');
    checkRange(this, offset, length, write);
  }

  /** All dirty metadata, in the order that keeps the image consistent at every step. */
  private writeback(): Promise<void> {
    return this.refcounts.writeback(this.map);
  }
}
