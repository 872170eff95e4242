// qcow2 images (versions 2 and 3), read and write, on top of any BlockDevice
// holding the image file (the "container"). Format facts from QEMU's
// docs/interop/qcow2.txt; the code is this project's own.
//
// Layout reminders: every number is big-endian. The header sits in cluster 0
// (72 bytes for v2, `header_length` for v3), followed by header extensions
// and the backing file name. Guest offsets map through a two-level table:
// the L1 table (contiguous, in memory here) points to L2 tables (one cluster
// each) whose 64-bit entries describe one guest cluster each. Host clusters
// are reference counted through a refcount table (contiguous, in memory)
// pointing to refcount blocks (one cluster each).
//
// Decisions (also in README.md beside this file):
// - Writable opens are refused for images marked dirty (lazy refcounts were
//   in use and not written back: refcounts cannot be trusted for allocation),
//   marked corrupt, or holding internal snapshots (clusters shared with a
//   snapshot would need the full refcount-driven COW of L2 tables). All of
//   these open read-only, and `-snapshot`/OverlayDisk gives a writable view.
// - Every refcount width from 1 to 64 bits (refcount_order 0..6) is handled.
// - Metadata caches are write-back. flush() (and eviction of a dirty table)
//   writes in dependency order with a container flush between steps:
//   data + refcount blocks -> refcount table -> L2 tables -> L1 entries ->
//   refcount decrements of clusters no longer referenced. A crash therefore
//   leaves at worst leaked clusters, never a table pointing at garbage or a
//   freed cluster still in use. Lazy refcounts are never used.
// - Guest data is never written over a cluster that holds metadata (header,
//   L1, refcount table, any L2 table or refcount block): such an image is
//   reported corrupt instead, and the allocator skips those clusters even if
//   their refcount claims they are free.
// - All operations on one image are serialised by a mutex.

import { inflateSync } from 'fflate';
import { type BlockDevice, checkRange, StorageError } from './BlockDevice.ts';
import { errorText, Mutex } from './util.ts';

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
/** Deepest backing chain followed (an image, its backing file, its backing file's...). */
export const MAX_BACKING_DEPTH = 16;
const MAX_L1_BYTES = 32 << 20; // QEMU's implementation limit
const MAX_REFTABLE_BYTES = 8 << 20; // likewise
const V2_HEADER_LENGTH = 72;
const V3_HEADER_LENGTH = 104;

const EXT_END = 0x00000000;
const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_FEATURE_TABLE = 0x6803f857;

const INCOMPAT_DIRTY = 1;
const INCOMPAT_CORRUPT = 2;
const INCOMPAT_NAMES = ['dirty', 'corrupt', 'external data file', 'compression type', 'extended L2 entries'];

// L1/L2 entry bits, split into the high and low 32-bit words.
const HI_COPIED = 0x80000000; // bit 63
const HI_COMPRESSED = 0x40000000; // bit 62
const L2_HI_RESERVED = 0x3f000000; // bits 56..61 of a standard descriptor
const L1_HI_RESERVED = 0x7f000000; // bits 56..62
const LO_ZERO = 1; // bit 0: reads as zeros (v3)

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

export interface Qcow2Info {
  version: 2 | 3;
  clusterSize: number;
  size: number;
  refcountBits: number;
  backingFile?: string;
  backingFormat?: string;
  snapshots: number;
  incompatibleFeatures: number;
  compatibleFeatures: number;
  autoclearFeatures: number;
  dirty: boolean;
  corrupt: boolean;
}

export interface Qcow2CreateOptions {
  /** Virtual size in bytes. */
  size: number;
  version?: 2 | 3;
  /** log2 of the cluster size (default 16: 64 KiB). */
  clusterBits?: number;
  /** log2 of the refcount width in bits (v3 only; default 4: 16 bits). */
  refcountOrder?: number;
  backingFile?: string;
  backingFormat?: string;
}

/** A cached L2 table or refcount block (one cluster). */
interface Table {
  offset: number;
  data: Uint8Array;
  view: DataView;
  dirty: boolean;
}

type Entry =
  | { kind: 'unallocated' }
  | { kind: 'zero'; host: number; copied: boolean } // host 0: no preallocation
  | { kind: 'normal'; host: number; copied: boolean }
  | { kind: 'compressed'; host: number; length: number };

const UNALLOCATED: Entry = { kind: 'unallocated' };

/** An LRU map of tables; the caller writes dirty victims back before they go. */
class TableCache {
  private readonly map = new Map<number, Table>();
  constructor(readonly capacity: number) {}

  get(offset: number): Table | undefined {
    const t = this.map.get(offset);
    if (t) {
      // Move to the most recently used end.
      this.map.delete(offset);
      this.map.set(offset, t);
    }
    return t;
  }

  /** The least recently used table, preferring clean ones; undefined while not full. */
  victim(): Table | undefined {
    if (this.map.size < this.capacity) return undefined;
    for (const t of this.map.values()) if (!t.dirty) return t;
    return this.map.values().next().value;
  }

  add(t: Table): void {
    this.map.set(t.offset, t);
  }

  remove(offset: number): void {
    this.map.delete(offset);
  }

  dirty(): Table[] {
    return [...this.map.values()].filter((t) => t.dirty).sort((a, b) => a.offset - b.offset);
  }

  get hasDirty(): boolean {
    for (const t of this.map.values()) if (t.dirty) return true;
    return false;
  }

  clear(): void {
    this.map.clear();
  }
}

function be64(view: DataView, at: number): number {
  return view.getUint32(at) * 2 ** 32 + view.getUint32(at + 4);
}

function setBe64(view: DataView, at: number, value: number): void {
  view.setUint32(at, Math.floor(value / 2 ** 32));
  view.setUint32(at + 4, value >>> 0);
}

function hex(n: number): string {
  return '0x' + n.toString(16);
}

function fail(message: string): never {
  throw new StorageError(`qcow2: ${message}`);
}

export class Qcow2Image implements BlockDevice {
  readonly size: number;
  readonly readOnly: boolean;
  readonly info: Qcow2Info;
  readonly clusterSize: number;

  private readonly cs: number;
  private readonly clusterBits: number;
  private readonly version: 2 | 3;
  private readonly l2Entries: number;
  private readonly refcountBits: number;
  private readonly refsPerBlock: number;
  private readonly maxRefcount: number;

  private readonly l1: Uint8Array;
  private readonly l1View: DataView;
  private readonly l1Offset: number;
  private l1DirtyLo = Infinity;
  private l1DirtyHi = -1;

  private reftable: Uint8Array;
  private reftableView: DataView;
  private reftableOffset: number;
  private reftableEntries: number;
  private reftableDirtyLo = Infinity;
  private reftableDirtyHi = -1;

  /** Cluster indices of every L2 table and refcount block (for overlap checks). */
  private readonly l2Clusters = new Set<number>();
  private readonly refblockClusters = new Set<number>();
  private readonly snapshotsRange: [number, number];

  private readonly l2Cache: TableCache;
  private readonly refCache: TableCache;
  private readonly inflated = new Map<number, Uint8Array>();

  /** Host clusters whose refcount drops once the L2 tables no longer pointing at them are durable. */
  private pendingFrees: number[] = [];
  /** Lowest cluster that may be free. */
  private freeHint = 0;
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
    this.version = header.info.version;
    this.readOnly = options.readOnly ?? false;
    this.clusterBits = header.clusterBits;
    this.cs = this.clusterSize = 1 << header.clusterBits;
    this.l2Entries = this.cs / 8;
    this.refcountBits = header.info.refcountBits;
    this.refsPerBlock = (this.cs * 8) / this.refcountBits;
    this.maxRefcount = this.refcountBits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** this.refcountBits - 1;
    this.l1 = l1;
    this.l1View = new DataView(l1.buffer, l1.byteOffset, l1.byteLength);
    this.l1Offset = header.l1Offset;
    this.reftable = reftable;
    this.reftableView = new DataView(reftable.buffer, reftable.byteOffset, reftable.byteLength);
    this.reftableOffset = header.reftableOffset;
    this.reftableEntries = reftable.length / 8;
    this.snapshotsRange = header.snapshotsRange;
    const l2Budget = options.l2CacheBytes ?? 4 << 20;
    const refBudget = options.refcountCacheBytes ?? 1 << 20;
    this.l2Cache = new TableCache(Math.max(4, Math.floor(l2Budget / this.cs)));
    this.refCache = new TableCache(Math.max(4, Math.floor(refBudget / this.cs)));
    for (let i = 0; i < l1.length / 8; i++) {
      const off = this.l2Offset(i);
      if (off) this.l2Clusters.add(off / this.cs);
    }
    for (let i = 0; i < this.reftableEntries; i++) {
      const off = be64(this.reftableView, i * 8);
      if (off) this.refblockClusters.add(off / this.cs);
    }
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

    // The L1 table and the refcount table live in memory.
    const l1 = new Uint8Array(header.l1Size * 8);
    if (l1.length) await container.read(header.l1Offset, l1);
    const l1View = new DataView(l1.buffer);
    const fileSize = container.size;
    const cs = 1 << header.clusterBits;
    for (let i = 0; i < header.l1Size; i++) {
      const hi = l1View.getUint32(i * 8);
      const lo = l1View.getUint32(i * 8 + 4);
      if (hi === 0 && lo === 0) continue;
      if (hi & L1_HI_RESERVED || lo & 0x1ff) fail(`L1 entry ${i} has reserved bits set`);
      const off = (hi & 0x00ffffff) * 2 ** 32 + lo;
      if (off === 0) continue;
      if (off % cs !== 0) fail(`L1 entry ${i} (${hex(off)}) is not aligned to a cluster`);
      if (off + cs > roundUp(fileSize, cs)) fail(`L1 entry ${i} points past the end of the file (${hex(off)})`);
      if (off < cs || overlaps(off, cs, header.l1Offset, l1.length) ||
          overlaps(off, cs, header.reftableOffset, header.reftableBytes)) {
        fail(`L1 entry ${i} points at other metadata (${hex(off)})`);
      }
    }
    const reftable = new Uint8Array(header.reftableBytes);
    await container.read(header.reftableOffset, reftable);
    const rtView = new DataView(reftable.buffer);
    for (let i = 0; i < reftable.length / 8; i++) {
      const off = be64(rtView, i * 8);
      if (off === 0) continue;
      if (off % cs !== 0) fail(`refcount table entry ${i} (${hex(off)}) is not aligned to a cluster`);
      if (off + cs > roundUp(fileSize, cs)) fail(`refcount table entry ${i} points past the end of the file (${hex(off)})`);
      if (off < cs || overlaps(off, cs, header.l1Offset, l1.length) ||
          overlaps(off, cs, header.reftableOffset, header.reftableBytes)) {
        fail(`refcount table entry ${i} points at other metadata (${hex(off)})`);
      }
    }

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
        // We maintain none of the auto-clear features (bitmaps, raw external data):
        // they must be cleared before the first write.
        await container.write(88, new Uint8Array(8));
        await container.flush();
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
    const version = options.version ?? 3;
    const clusterBits = options.clusterBits ?? 16;
    const refcountOrder = version === 2 ? 4 : (options.refcountOrder ?? 4);
    if (clusterBits < 9 || clusterBits > 21) fail(`cluster_bits ${clusterBits} is outside 9..21`);
    if (refcountOrder < 0 || refcountOrder > 6) fail(`refcount_order ${refcountOrder} is outside 0..6`);
    const cs = 1 << clusterBits;
    const size = options.size;
    if (!Number.isSafeInteger(size) || size < 0) fail(`invalid virtual size ${size}`);
    const l1Size = Math.ceil(size / (cs * (cs / 8)));
    if (l1Size * 8 > MAX_L1_BYTES) fail(`virtual size ${size} is too large for ${cs}-byte clusters`);
    const l1Clusters = Math.max(1, Math.ceil((l1Size * 8) / cs));
    const used = 3 + l1Clusters; // header, refcount table, refcount block, L1
    const refsPerBlock = (cs * 8) >> refcountOrder;
    if (used > refsPerBlock) fail('the L1 table is too large for one refcount block; use bigger clusters');
    if (!container.resize) fail('the container cannot be resized');
    await container.resize(used * cs);

    const head = new Uint8Array(cs);
    const v = new DataView(head.buffer);
    v.setUint32(0, QCOW2_MAGIC);
    v.setUint32(4, version);
    v.setUint32(20, clusterBits);
    setBe64(v, 24, size);
    v.setUint32(36, l1Size);
    setBe64(v, 40, 3 * cs);
    setBe64(v, 48, cs);
    v.setUint32(56, 1);
    let pos = V2_HEADER_LENGTH;
    if (version === 3) {
      v.setUint32(96, refcountOrder);
      v.setUint32(100, V3_HEADER_LENGTH);
      pos = V3_HEADER_LENGTH;
    }
    const enc = new TextEncoder();
    if (options.backingFile !== undefined) {
      if (options.backingFormat !== undefined) {
        const f = enc.encode(options.backingFormat);
        v.setUint32(pos, EXT_BACKING_FORMAT);
        v.setUint32(pos + 4, f.length);
        head.set(f, pos + 8);
        pos += 8 + roundUp(f.length, 8);
      }
    }
    pos += 8; // end of extensions (type 0, length 0)
    if (options.backingFile !== undefined) {
      const name = enc.encode(options.backingFile);
      if (name.length === 0 || name.length > 1023 || pos + name.length > cs) fail('backing file name is too long');
      head.set(name, pos);
      setBe64(v, 8, pos);
      v.setUint32(16, name.length);
    }
    const rt = new Uint8Array(cs);
    setBe64(new DataView(rt.buffer), 0, 2 * cs);
    const rb = new Uint8Array(cs);
    for (let i = 0; i < used; i++) setRefcountIn(rb, new DataView(rb.buffer), 1 << refcountOrder, i, 1);
    await container.write(0, head);
    await container.write(cs, rt);
    await container.write(2 * cs, rb);
    await container.write(3 * cs, new Uint8Array(l1Clusters * cs));
    await container.flush();
  }

  // ---------------------------------------------------------------------------
  // BlockDevice

  async read(offset: number, into: Uint8Array): Promise<void> {
    this.check(offset, into.length, false);
    return this.lock.run(() => this.readLocked(offset, into));
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.check(offset, data.length, true);
    return this.lock.run(() => this.writeLocked(offset, data));
  }

  async writeZeroes(offset: number, length: number): Promise<void> {
    this.check(offset, length, true);
    return this.lock.run(() => this.zeroLocked(offset, length, true));
  }

  async discard(offset: number, length: number): Promise<void> {
    this.check(offset, length, true);
    return this.lock.run(() => this.zeroLocked(offset, length, false));
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
        this.l2Cache.clear();
        this.refCache.clear();
        this.inflated.clear();
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

  // ---------------------------------------------------------------------------
  // Mapping

  private l2Offset(l1Index: number): number {
    const hi = this.l1View.getUint32(l1Index * 8);
    const lo = this.l1View.getUint32(l1Index * 8 + 4);
    return (hi & 0x00ffffff) * 2 ** 32 + ((lo & 0xfffffe00) >>> 0);
  }

  private setL1(l1Index: number, l2Offset: number): void {
    setBe64(this.l1View, l1Index * 8, l2Offset);
    this.l1View.setUint32(l1Index * 8, this.l1View.getUint32(l1Index * 8) | HI_COPIED);
    this.l1DirtyLo = Math.min(this.l1DirtyLo, l1Index);
    this.l1DirtyHi = Math.max(this.l1DirtyHi, l1Index);
  }

  /** Loads a table (L2 or refcount block) through its cache. */
  private async loadTable(cache: TableCache, offset: number, fresh: boolean): Promise<Table> {
    const cached = cache.get(offset);
    if (cached) return cached;
    const victim = cache.victim();
    if (victim) {
      if (victim.dirty) await this.writeback();
      cache.remove(victim.offset);
    }
    // writeback() may have loaded other tables; look again before reading.
    const again = cache.get(offset);
    if (again) return again;
    const data = new Uint8Array(this.cs);
    if (!fresh) {
      const avail = Math.min(this.cs, this.container.size - offset);
      if (avail <= 0) fail(`metadata cluster at ${hex(offset)} lies past the end of the file`);
      await this.container.read(offset, data.subarray(0, avail));
    }
    const t: Table = { offset, data, view: new DataView(data.buffer), dirty: fresh };
    cache.add(t);
    return t;
  }

  /** Describes the guest cluster `gc`. */
  private async lookup(gc: number): Promise<Entry> {
    const l1i = Math.floor(gc / this.l2Entries);
    if (l1i >= this.l1.length / 8) return UNALLOCATED;
    const l2off = this.l2Offset(l1i);
    if (l2off === 0) return UNALLOCATED;
    const t = await this.loadTable(this.l2Cache, l2off, false);
    return this.decode(t.view, (gc % this.l2Entries) * 8, gc);
  }

  private decode(view: DataView, at: number, gc: number): Entry {
    const hi = view.getUint32(at);
    const lo = view.getUint32(at + 4);
    if (hi & HI_COMPRESSED) {
      const x = 62 - (this.clusterBits - 8);
      const v = (BigInt(hi & 0x3fffffff) << 32n) | BigInt(lo);
      const host = Number(v & ((1n << BigInt(x)) - 1n));
      const sectors = Number(v >> BigInt(x)) + 1;
      const length = sectors * 512 - (host & 511);
      if (host < this.cs || host >= this.container.size) {
        fail(`compressed cluster descriptor for guest offset ${hex(gc * this.cs)} points outside the image (${hex(host)})`);
      }
      return { kind: 'compressed', host, length };
    }
    if (hi & L2_HI_RESERVED || lo & 0x1fe) fail(`L2 entry for guest offset ${hex(gc * this.cs)} has reserved bits set`);
    const host = (hi & 0x00ffffff) * 2 ** 32 + ((lo & 0xfffffe00) >>> 0);
    const copied = (hi & HI_COPIED) !== 0;
    if (host % this.cs !== 0) fail(`L2 entry for guest offset ${hex(gc * this.cs)} is not aligned to a cluster (${hex(host)})`);
    if (lo & LO_ZERO) return { kind: 'zero', host, copied };
    if (host === 0) return UNALLOCATED;
    if (host >= roundUp(this.container.size, this.cs)) {
      fail(`L2 entry for guest offset ${hex(gc * this.cs)} points past the end of the file (${hex(host)})`);
    }
    return { kind: 'normal', host, copied };
  }

  /** True when host cluster `c` holds metadata we know of. */
  private isMetadata(c: number): boolean {
    if (c === 0) return true;
    const cs = this.cs;
    const l1c = this.l1Offset / cs;
    if (c >= l1c && c < l1c + Math.ceil(this.l1.length / cs)) return true;
    const rtc = this.reftableOffset / cs;
    if (c >= rtc && c < rtc + this.reftable.length / cs) return true;
    if (c >= this.snapshotsRange[0] && c < this.snapshotsRange[1]) return true;
    return this.l2Clusters.has(c) || this.refblockClusters.has(c);
  }

  // ---------------------------------------------------------------------------
  // Reading

  private async readLocked(offset: number, into: Uint8Array): Promise<void> {
    const cs = this.cs;
    const jobs: Promise<void>[] = [];
    // A pending run of contiguous host bytes or backing bytes.
    let runKind: 'host' | 'backing' | '' = '';
    let runStart = 0; // index in `into`
    let runEnd = 0;
    let runSource = 0; // host offset, or guest offset for the backing file
    const endRun = () => {
      if (runKind === 'host') jobs.push(this.readHost(runSource, into.subarray(runStart, runEnd)));
      else if (runKind === 'backing') jobs.push(this.readBacking(runSource, into.subarray(runStart, runEnd)));
      runKind = '';
    };
    let done = 0;
    while (done < into.length) {
      const pos = offset + done;
      const gc = Math.floor(pos / cs);
      const within = pos - gc * cs;
      const n = Math.min(cs - within, into.length - done);
      const e = await this.lookup(gc);
      if (e.kind === 'normal' || (e.kind === 'unallocated' && this.backing)) {
        const kind = e.kind === 'normal' ? 'host' : 'backing';
        const source = e.kind === 'normal' ? e.host + within : pos;
        if (runKind !== kind || runSource + (runEnd - runStart) !== source) {
          endRun();
          runKind = kind;
          runStart = done;
          runSource = source;
        }
        runEnd = done + n;
      } else {
        endRun();
        if (e.kind === 'compressed') {
          const plain = await this.inflate(e.host, e.length, gc);
          into.set(plain.subarray(within, within + n), done);
        } else {
          into.fill(0, done, done + n);
        }
      }
      done += n;
    }
    endRun();
    await Promise.all(jobs);
  }

  /** Reads host bytes; what lies past the end of the file reads as zeros. */
  private async readHost(host: number, into: Uint8Array): Promise<void> {
    const avail = Math.max(0, Math.min(into.length, this.container.size - host));
    if (avail > 0) await this.container.read(host, into.subarray(0, avail));
    if (avail < into.length) into.fill(0, avail);
  }

  /** Reads the backing file at guest offset `pos`; past its end reads as zeros. */
  private async readBacking(pos: number, into: Uint8Array): Promise<void> {
    const b = this.backing;
    const avail = b ? Math.max(0, Math.min(into.length, b.size - pos)) : 0;
    if (avail > 0) await b!.read(pos, into.subarray(0, avail));
    if (avail < into.length) into.fill(0, avail);
  }

  private async inflate(host: number, length: number, gc: number): Promise<Uint8Array> {
    const cached = this.inflated.get(host);
    if (cached) return cached;
    const avail = Math.min(length, this.container.size - host);
    const packed = new Uint8Array(avail);
    await this.container.read(host, packed);
    let plain: Uint8Array;
    try {
      plain = inflateSync(packed, { out: new Uint8Array(this.cs) });
    } catch (e) {
      fail(`compressed cluster for guest offset ${hex(gc * this.cs)} is corrupt (${errorText(e)})`);
    }
    if (plain.length !== this.cs) fail(`compressed cluster for guest offset ${hex(gc * this.cs)} is truncated`);
    if (this.inflated.size >= 8) this.inflated.delete(this.inflated.keys().next().value!);
    this.inflated.set(host, plain);
    return plain;
  }

  /** The current contents of guest cluster `gc` (whole cluster). */
  private async readCluster(gc: number, e: Entry): Promise<Uint8Array> {
    const buf = new Uint8Array(this.cs);
    const pos = gc * this.cs;
    const len = Math.min(this.cs, this.size - pos);
    switch (e.kind) {
      case 'normal': await this.readHost(e.host, buf.subarray(0, len)); break;
      case 'compressed': buf.set(await this.inflate(e.host, e.length, gc)); break;
      case 'unallocated': if (this.backing) await this.readBacking(pos, buf.subarray(0, len)); break;
      case 'zero': break;
    }
    return buf;
  }

  // ---------------------------------------------------------------------------
  // Writing

  /** Host clusters referenced by an entry that would be dropped when it is replaced. */
  private referencedClusters(e: Entry): number[] {
    if (e.kind === 'normal' || (e.kind === 'zero' && e.host !== 0)) return [e.host / this.cs];
    if (e.kind === 'compressed') {
      const first = Math.floor(e.host / this.cs);
      const last = Math.floor((e.host + e.length - 1) / this.cs);
      const out: number[] = [];
      for (let c = first; c <= last; c++) out.push(c);
      return out;
    }
    return [];
  }

  private async writeLocked(offset: number, data: Uint8Array): Promise<void> {
    const cs = this.cs;
    const updates: { gc: number; hi: number; lo: number }[] = [];
    const frees: number[] = [];
    // A pending run of in-order writes of `data` to contiguous host bytes.
    let runHost = -1;
    let runStart = 0;
    let runEnd = 0;
    const endRun = async () => {
      if (runHost >= 0) await this.writeHost(runHost, data.subarray(runStart, runEnd));
      runHost = -1;
    };
    let done = 0;
    while (done < data.length) {
      const pos = offset + done;
      const gc = Math.floor(pos / cs);
      const within = pos - gc * cs;
      const n = Math.min(cs - within, data.length - done);
      const clusterLen = Math.min(cs, this.size - gc * cs);
      const e = await this.lookup(gc);

      let target = -1; // host cluster offset the new bytes go to
      let wholeBuffer: Uint8Array | undefined; // full-cluster contents to write instead of `data`
      if (e.kind === 'normal' && (e.copied || (await this.refcount(e.host / cs)) === 1)) {
        if (this.isMetadata(e.host / cs)) {
          fail(`L2 entry for guest offset ${hex(gc * cs)} points at metadata (${hex(e.host)}); the image is corrupt`);
        }
        target = e.host;
        if (!e.copied) updates.push({ gc, hi: hiOf(target) | HI_COPIED, lo: loOf(target) });
      } else {
        if (e.kind === 'zero' && e.host !== 0 && e.copied && !this.isMetadata(e.host / cs) &&
            e.host < roundUp(this.container.size, cs)) {
          target = e.host; // a preallocated zero cluster: reuse its space
        } else {
          target = (await this.allocate()) * cs;
          frees.push(...this.referencedClusters(e));
        }
        updates.push({ gc, hi: hiOf(target) | HI_COPIED, lo: loOf(target) });
        // A partial write needs the rest of the cluster (copy-on-write) unless the
        // old contents are zeros and the new cluster lies past the end of the
        // file, where growing the file supplies the zeros.
        const oldZero = e.kind === 'zero' || (e.kind === 'unallocated' && (!this.backing || gc * cs >= this.backing.size));
        const partial = !(within === 0 && n >= clusterLen);
        if (partial && !(oldZero && target >= this.container.size)) {
          wholeBuffer = await this.readCluster(gc, e);
          wholeBuffer.set(data.subarray(done, done + n), within);
        }
      }

      if (wholeBuffer) {
        await endRun();
        await this.writeHost(target, wholeBuffer.subarray(0, clusterLen));
      } else {
        const host = target + within;
        if (runHost >= 0 && runHost + (runEnd - runStart) === host) {
          runEnd = done + n;
        } else {
          await endRun();
          runHost = host;
          runStart = done;
          runEnd = done + n;
        }
      }
      done += n;
    }
    await endRun();
    // The data is written: now the mapping may point at it.
    for (const u of updates) await this.setL2(u.gc, u.hi, u.lo);
    this.pendingFrees.push(...frees);
  }

  /** Full clusters become zero/unallocated; partial ones are written (zeroes) or left (discard). */
  private async zeroLocked(offset: number, length: number, mustZero: boolean): Promise<void> {
    const cs = this.cs;
    const end = offset + length;
    let pos = offset;
    while (pos < end) {
      const gc = Math.floor(pos / cs);
      const within = pos - gc * cs;
      const clusterLen = Math.min(cs, this.size - gc * cs);
      const n = Math.min(clusterLen - within, end - pos);
      if (within !== 0 || n < clusterLen) {
        if (mustZero) await this.writeLocked(pos, new Uint8Array(n));
        pos += n;
        continue;
      }
      const e = await this.lookup(gc);
      // With a backing file only the zero flag (v3) hides it; otherwise unallocated reads zeros.
      let lo = 0;
      if (this.backing) {
        if (this.version === 3) lo = LO_ZERO;
        else if (mustZero) {
          await this.writeLocked(pos, new Uint8Array(n));
          pos += n;
          continue;
        }
      }
      const same = lo === LO_ZERO ? e.kind === 'zero' && e.host === 0 : e.kind === 'unallocated';
      if (!same) {
        const l1i = Math.floor(gc / this.l2Entries);
        if (lo !== 0 || this.l2Offset(l1i) !== 0) await this.setL2(gc, 0, lo);
        this.pendingFrees.push(...this.referencedClusters(e));
      }
      pos += n;
    }
  }

  /** Writes host bytes, growing the file first when needed. */
  private async writeHost(host: number, data: Uint8Array): Promise<void> {
    const end = host + data.length;
    if (end > this.container.size) await this.container.resize!(roundUp(end, this.cs));
    await this.container.write(host, data);
  }

  /** Points guest cluster `gc` at a new descriptor, allocating its L2 table if needed. */
  private async setL2(gc: number, hi: number, lo: number): Promise<void> {
    const l1i = Math.floor(gc / this.l2Entries);
    let l2off = this.l2Offset(l1i);
    if (l2off !== 0) {
      const l1copied = (this.l1View.getUint32(l1i * 8) & HI_COPIED) !== 0;
      if (!l1copied) {
        const rc = await this.refcount(l2off / this.cs);
        if (rc !== 1) fail(`the L2 table at ${hex(l2off)} is shared (refcount ${rc}); writing it is not supported`);
        this.setL1(l1i, l2off);
      }
    } else {
      l2off = (await this.allocate()) * this.cs;
      this.l2Clusters.add(l2off / this.cs);
      await this.loadTable(this.l2Cache, l2off, true);
      this.setL1(l1i, l2off);
    }
    const t = await this.loadTable(this.l2Cache, l2off, false);
    const at = (gc % this.l2Entries) * 8;
    t.view.setUint32(at, hi);
    t.view.setUint32(at + 4, lo);
    t.dirty = true;
  }

  // ---------------------------------------------------------------------------
  // Refcounts and allocation

  private refblockOffset(tableIndex: number): number {
    if (tableIndex >= this.reftableEntries) return 0;
    return be64(this.reftableView, tableIndex * 8);
  }

  private async refcount(c: number): Promise<number> {
    const ti = Math.floor(c / this.refsPerBlock);
    const off = this.refblockOffset(ti);
    if (off === 0) return 0;
    const t = await this.loadTable(this.refCache, off, false);
    return getRefcountIn(t.data, t.view, this.refcountBits, c - ti * this.refsPerBlock);
  }

  private async setRefcount(c: number, value: number): Promise<void> {
    const ti = Math.floor(c / this.refsPerBlock);
    const off = this.refblockOffset(ti);
    if (off === 0) fail(`internal: no refcount block for cluster ${c}`);
    if (value > this.maxRefcount) fail(`refcount of cluster ${c} would overflow ${this.refcountBits} bits`);
    const t = await this.loadTable(this.refCache, off, false);
    setRefcountIn(t.data, t.view, this.refcountBits, c - ti * this.refsPerBlock, value);
    t.dirty = true;
  }

  /** Allocates a free host cluster (its refcount becomes 1); returns its index. */
  private async allocate(): Promise<number> {
    const per = this.refsPerBlock;
    let c = this.freeHint;
    for (;;) {
      const ti = Math.floor(c / per);
      const off = this.refblockOffset(ti);
      if (off === 0) {
        if (this.isMetadata(c)) {
          c++;
        } else {
          await this.addRefblock(c); // it may take `c` itself: look at it again
        }
        continue;
      }
      const t = await this.loadTable(this.refCache, off, false);
      const end = (ti + 1) * per;
      for (; c < end; c++) {
        if (getRefcountIn(t.data, t.view, this.refcountBits, c - ti * per) === 0 && !this.isMetadata(c)) {
          setRefcountIn(t.data, t.view, this.refcountBits, c - ti * per, 1);
          t.dirty = true;
          this.freeHint = c + 1;
          return c;
        }
      }
    }
  }

  /** Gives free cluster `c` a refcount block, growing the refcount table if needed. */
  private async addRefblock(c: number): Promise<void> {
    const ti = Math.floor(c / this.refsPerBlock);
    if (ti >= this.reftableEntries) {
      await this.growReftable(ti);
      return;
    }
    // Every cluster this block will describe is free (no block yet), `c` among
    // them: the block can live in `c` and describe itself.
    const off = c * this.cs;
    const t = await this.loadTable(this.refCache, off, true);
    setRefcountIn(t.data, t.view, this.refcountBits, c - ti * this.refsPerBlock, 1);
    setBe64(this.reftableView, ti * 8, off);
    this.refblockClusters.add(c);
    this.reftableDirtyLo = Math.min(this.reftableDirtyLo, ti);
    this.reftableDirtyHi = Math.max(this.reftableDirtyHi, ti);
  }

  /**
   * Moves the refcount table to the end of the file with room for entry
   * `needed`, together with the new refcount blocks that the table itself and
   * those blocks require. Written and made durable before the header switches.
   */
  private async growReftable(needed: number): Promise<void> {
    const cs = this.cs;
    const per = this.refsPerBlock;
    // Everything before this is (or may be) in use.
    let first = Math.max(Math.ceil(this.container.size / cs), this.freeHint);
    let entries = roundUp(Math.max(needed + 1, this.reftableEntries * 2), cs / 8);
    let blocks: number[] = [];
    for (let round = 0; ; round++) {
      if (round > 64) fail('internal: refcount table growth does not converge');
      const tableClusters = (entries * 8) / cs;
      const spanEnd = first + tableClusters + blocks.length;
      const want = new Set<number>([needed]);
      for (let c = first; c < spanEnd; c++) {
        const i = Math.floor(c / per);
        if (this.refblockOffset(i) === 0) want.add(i);
      }
      // Clusters in that span must be free (a hostile refcount block could claim otherwise).
      let busy = -1;
      for (let c = first; c < spanEnd; c++) if (this.isMetadata(c) || (await this.refcount(c)) !== 0) busy = c;
      if (busy >= 0) {
        first = busy + 1;
        continue;
      }
      const top = Math.max(...want);
      if (top >= entries) {
        entries = roundUp(top + 1, cs / 8);
        continue;
      }
      const sorted = [...want].sort((a, b) => a - b);
      if (sorted.length <= blocks.length) {
        blocks = sorted;
        break;
      }
      blocks = sorted;
    }
    if (entries * 8 > MAX_REFTABLE_BYTES) fail('the image file is too large for its refcount table');

    const tableClusters = (entries * 8) / cs;
    const tableOff = first * cs;
    const newBlocks = new Map<number, Table>();
    blocks.forEach((ti, j) => {
      const data = new Uint8Array(cs);
      newBlocks.set(ti, { offset: (first + tableClusters + j) * cs, data, view: new DataView(data.buffer), dirty: true });
    });
    // Refcounts of the new table and blocks: in the new blocks or existing ones.
    const spanEnd = first + tableClusters + blocks.length;
    const table = new Uint8Array(entries * 8);
    table.set(this.reftable);
    const tv = new DataView(table.buffer);
    for (const [ti, b] of newBlocks) setBe64(tv, ti * 8, b.offset);
    for (let c = first; c < spanEnd; c++) {
      const ti = Math.floor(c / per);
      const nb = newBlocks.get(ti);
      if (nb) setRefcountIn(nb.data, nb.view, this.refcountBits, c - ti * per, 1);
      else await this.setRefcount(c, 1);
    }
    // Durable order: old dirty blocks and the new blocks, then the new table, then the header.
    await this.writeback();
    if (spanEnd * cs > this.container.size) await this.container.resize!(spanEnd * cs);
    for (const b of newBlocks.values()) await this.container.write(b.offset, b.data);
    await this.container.flush();
    await this.container.write(tableOff, table);
    await this.container.flush();
    const hdr = new Uint8Array(12);
    const hv = new DataView(hdr.buffer);
    setBe64(hv, 0, tableOff);
    hv.setUint32(8, tableClusters);
    await this.container.write(48, hdr);
    await this.container.flush();

    const oldOff = this.reftableOffset;
    const oldClusters = this.reftable.length / cs;
    this.reftable = table;
    this.reftableView = tv;
    this.reftableOffset = tableOff;
    this.reftableEntries = entries;
    this.reftableDirtyLo = Infinity;
    this.reftableDirtyHi = -1;
    // The new blocks are on disk; they are loaded like any other when needed.
    for (const b of newBlocks.values()) this.refblockClusters.add(b.offset / cs);
    // The old table is no longer referenced by the (durable) header.
    for (let i = 0; i < oldClusters; i++) this.pendingFrees.push(oldOff / cs + i);
  }

  /**
   * Writes dirty metadata in dependency order (see the file comment). Leaves
   * everything durable except the last writes, which the caller's container
   * flush covers.
   */
  private async writeback(): Promise<void> {
    const hadL2 = this.l2Cache.hasDirty || this.l1DirtyHi >= 0;
    // 1. Refcount blocks (increments only, or decrements already safe).
    for (const t of this.refCache.dirty()) await this.writeTable(t);
    // 2. Refcount table entries for new blocks, once the blocks are durable.
    if (this.reftableDirtyHi >= 0) {
      await this.container.flush();
      const lo = this.reftableDirtyLo * 8;
      const hi = (this.reftableDirtyHi + 1) * 8;
      await this.writeHost(this.reftableOffset + lo, this.reftable.subarray(lo, hi));
      this.reftableDirtyLo = Infinity;
      this.reftableDirtyHi = -1;
    }
    if (hadL2) {
      // 3. L2 tables, once the data and refcounts they point at are durable.
      await this.container.flush();
      for (const t of this.l2Cache.dirty()) await this.writeTable(t);
      // 4. L1 entries, once new L2 tables are durable.
      if (this.l1DirtyHi >= 0) {
        await this.container.flush();
        const lo = this.l1DirtyLo * 8;
        const hi = (this.l1DirtyHi + 1) * 8;
        await this.writeHost(this.l1Offset + lo, this.l1.subarray(lo, hi));
        this.l1DirtyLo = Infinity;
        this.l1DirtyHi = -1;
      }
    }
    // 5. Clusters no longer referenced by durable tables may be freed.
    if (this.pendingFrees.length) {
      await this.container.flush();
      const frees = this.pendingFrees;
      this.pendingFrees = [];
      for (const c of frees) {
        const rc = await this.refcount(c);
        if (rc === 0) continue; // already free: an inconsistent image; never underflow
        await this.setRefcount(c, rc - 1);
        if (rc === 1) {
          this.freeHint = Math.min(this.freeHint, c);
          this.inflated.clear();
        }
      }
      for (const t of this.refCache.dirty()) await this.writeTable(t);
    }
  }

  private async writeTable(t: Table): Promise<void> {
    await this.writeHost(t.offset, t.data);
    t.dirty = false;
  }
}

// -----------------------------------------------------------------------------
// Header parsing

interface ParsedHeader {
  info: Qcow2Info;
  clusterBits: number;
  l1Size: number;
  l1Offset: number;
  reftableOffset: number;
  reftableBytes: number;
  snapshotsRange: [number, number]; // cluster indices [first, end)
}

async function parseHeader(container: BlockDevice): Promise<ParsedHeader> {
  const fileSize = container.size;
  if (fileSize < V2_HEADER_LENGTH) fail('not a qcow2 image (the file is too small)');
  const first = new Uint8Array(Math.min(fileSize, 512));
  await container.read(0, first);
  let v = new DataView(first.buffer);
  if (v.getUint32(0) !== QCOW2_MAGIC) fail('not a qcow2 image (bad magic)');
  const version = v.getUint32(4);
  if (version !== 2 && version !== 3) fail(`unsupported version ${version} (2 and 3 are supported)`);
  const clusterBits = v.getUint32(20);
  if (clusterBits < 9 || clusterBits > 21) fail(`cluster_bits ${clusterBits} is outside 9..21`);
  const cs = 2 ** clusterBits;

  // The whole first cluster: header, extensions, backing file name.
  const head = new Uint8Array(cs);
  await container.read(0, head.subarray(0, Math.min(cs, fileSize)));
  v = new DataView(head.buffer);

  const sizeHi = v.getUint32(24);
  const size = sizeHi * 2 ** 32 + v.getUint32(28);
  if (sizeHi >= 2 ** 21) fail(`virtual size ${BigInt(sizeHi) * 2n ** 32n + BigInt(v.getUint32(28))} is absurd`);
  const cryptMethod = v.getUint32(32);
  if (cryptMethod !== 0) fail(`encrypted images are not supported (crypt_method ${cryptMethod})`);
  const l1Size = v.getUint32(36);
  const l1Offset = be64(v, 40);
  const reftableOffset = be64(v, 48);
  const reftableClusters = v.getUint32(56);
  const snapshots = v.getUint32(60);
  const snapshotsOffset = be64(v, 64);

  let incompatible = 0;
  let incompatibleHi = 0;
  let compatible = 0;
  let autoclear = 0;
  let refcountOrder = 4;
  let headerLength = V2_HEADER_LENGTH;
  if (version === 3) {
    incompatibleHi = v.getUint32(72);
    incompatible = v.getUint32(76);
    compatible = be64(v, 80);
    autoclear = be64(v, 88);
    refcountOrder = v.getUint32(96);
    headerLength = v.getUint32(100);
    if (headerLength < V3_HEADER_LENGTH || headerLength % 8 !== 0 || headerLength > cs) {
      fail(`invalid header_length ${headerLength}`);
    }
    if (refcountOrder > 6) fail(`refcount_order ${refcountOrder} is invalid (at most 6: 64-bit refcounts)`);
  }

  // Header extensions.
  let backingFormat: string | undefined;
  const featureNames = new Map<string, string>();
  const dec = new TextDecoder();
  let pos = headerLength;
  for (;;) {
    if (pos + 8 > cs) break;
    const type = v.getUint32(pos);
    const len = v.getUint32(pos + 4);
    if (type === EXT_END) break;
    if (pos + 8 + len > cs) fail(`header extension ${hex(type)} runs past the first cluster`);
    const body = head.subarray(pos + 8, pos + 8 + len);
    if (type === EXT_BACKING_FORMAT) backingFormat = dec.decode(body);
    else if (type === EXT_FEATURE_TABLE) {
      for (let i = 0; i + 48 <= len; i += 48) {
        const raw = body.subarray(i + 2, i + 48);
        const nul = raw.indexOf(0);
        featureNames.set(`${body[i]}:${body[i + 1]}`, dec.decode(nul >= 0 ? raw.subarray(0, nul) : raw));
      }
    }
    pos += 8 + roundUp(len, 8);
  }

  // Incompatible features: dirty and corrupt are understood; the rest refuse.
  const unsupported: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    const set = bit < 32 ? (incompatible >>> bit) & 1 : (incompatibleHi >>> (bit - 32)) & 1;
    if (!set || bit === 0 || bit === 1) continue;
    if (bit === 3 && headerLength > 104 && head[104] === 0) continue; // compression type zlib
    const name = featureNames.get(`0:${bit}`) ?? INCOMPAT_NAMES[bit] ?? 'unknown';
    unsupported.push(`${name} (bit ${bit})`);
  }
  if (unsupported.length) fail(`unsupported incompatible features: ${unsupported.join(', ')}`);
  if (version === 3 && headerLength > 104 && head[104] !== 0) {
    fail(`compression type ${head[104]} is not supported (only zlib)`);
  }

  // Sizes and tables.
  if (!Number.isSafeInteger(size)) fail(`virtual size ${size} is too large`);
  const l2Entries = cs / 8;
  const needL1 = Math.ceil(size / (cs * l2Entries));
  if (needL1 * 8 > MAX_L1_BYTES) fail(`virtual size ${size} is too large for ${cs}-byte clusters`);
  if (l1Size * 8 > MAX_L1_BYTES) fail(`L1 table of ${l1Size} entries is larger than allowed`);
  if (l1Size < needL1) fail(`L1 table of ${l1Size} entries is too small for the virtual size ${size}`);
  if (l1Size > 0) {
    if (l1Offset % cs !== 0) fail(`L1 table offset ${hex(l1Offset)} is not aligned to a cluster`);
    if (l1Offset < cs) fail('the L1 table overlaps the header');
    if (l1Offset + l1Size * 8 > fileSize) fail(`the L1 table (at ${hex(l1Offset)}) lies past the end of the file`);
  }
  if (reftableOffset % cs !== 0) fail(`refcount table offset ${hex(reftableOffset)} is not aligned to a cluster`);
  if (reftableClusters === 0) fail('the refcount table is empty');
  const reftableBytes = reftableClusters * cs;
  if (reftableBytes > MAX_REFTABLE_BYTES) fail(`the refcount table (${reftableClusters} clusters) is larger than allowed`);
  if (reftableOffset < cs) fail('the refcount table overlaps the header');
  if (reftableOffset + reftableBytes > roundUp(fileSize, cs)) {
    fail(`the refcount table (at ${hex(reftableOffset)}) lies past the end of the file`);
  }
  if (l1Size > 0 && overlaps(l1Offset, l1Size * 8, reftableOffset, reftableBytes)) {
    fail('the L1 table overlaps the refcount table');
  }
  let snapshotsRange: [number, number] = [0, 0];
  if (snapshots > 0) {
    if (snapshotsOffset % cs !== 0) fail(`snapshot table offset ${hex(snapshotsOffset)} is not aligned to a cluster`);
    if (snapshotsOffset < cs || snapshotsOffset >= fileSize) fail('the snapshot table lies outside the file');
    if (snapshots > 65536) fail(`${snapshots} snapshots is more than allowed`);
    // Each entry is at least 40 bytes; the exact end needs the entries, a lower bound will do.
    snapshotsRange = [snapshotsOffset / cs, Math.ceil((snapshotsOffset + snapshots * 40) / cs)];
  }

  // Backing file name.
  let backingFile: string | undefined;
  const backingOffset = be64(v, 8);
  if (backingOffset !== 0) {
    const len = v.getUint32(16);
    if (len > 1023) fail(`backing file name of ${len} bytes is too long`);
    if (backingOffset + len > cs) fail('the backing file name lies outside the first cluster');
    if (len > 0) backingFile = dec.decode(head.subarray(backingOffset, backingOffset + len));
  }

  return {
    info: {
      version,
      clusterSize: cs,
      size,
      refcountBits: 1 << refcountOrder,
      backingFile,
      backingFormat,
      snapshots,
      incompatibleFeatures: incompatible,
      compatibleFeatures: compatible,
      autoclearFeatures: autoclear,
      dirty: (incompatible & INCOMPAT_DIRTY) !== 0,
      corrupt: (incompatible & INCOMPAT_CORRUPT) !== 0,
    },
    clusterBits,
    l1Size,
    l1Offset,
    reftableOffset,
    reftableBytes,
    snapshotsRange,
  };
}

// -----------------------------------------------------------------------------
// Helpers

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

function overlaps(a: number, alen: number, b: number, blen: number): boolean {
  return a < b + blen && b < a + alen;
}

function hiOf(offset: number): number {
  return Math.floor(offset / 2 ** 32) >>> 0;
}

function loOf(offset: number): number {
  return offset >>> 0;
}

function getRefcountIn(data: Uint8Array, view: DataView, bits: number, i: number): number {
  switch (bits) {
    case 16: return view.getUint16(i * 2);
    case 8: return data[i];
    case 32: return view.getUint32(i * 4);
    case 64: {
      const hi = view.getUint32(i * 8);
      return hi >= 2 ** 21 ? Number.MAX_SAFE_INTEGER : hi * 2 ** 32 + view.getUint32(i * 8 + 4);
    }
    default: {
      // 1, 2 or 4 bits: entry 0 is in the least significant bits of byte 0.
      const bit = i * bits;
      return (data[bit >>> 3] >>> (bit & 7)) & ((1 << bits) - 1);
    }
  }
}

function setRefcountIn(data: Uint8Array, view: DataView, bits: number, i: number, value: number): void {
  switch (bits) {
    case 16: view.setUint16(i * 2, value); return;
    case 8: data[i] = value; return;
    case 32: view.setUint32(i * 4, value); return;
    case 64: setBe64(view, i * 8, value); return;
    default: {
      const bit = i * bits;
      const mask = ((1 << bits) - 1) << (bit & 7);
      data[bit >>> 3] = (data[bit >>> 3] & ~mask) | ((value << (bit & 7)) & mask);
    }
  }
}
