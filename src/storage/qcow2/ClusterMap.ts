// The guest-to-host mapping: the L1 table (contiguous, kept in memory)
// points to L2 tables (one cluster each) whose 64-bit entries describe one
// guest cluster each: unallocated, zero, a normal host cluster, or a
// compressed run of host bytes. L2 entries are checked when used, not at open.

import type { BlockDevice } from '../BlockDevice.ts';
import { DirtyEntries } from './DirtyEntries.ts';
import { fail, hex, roundUp, setBe64 } from './format.ts';
import type { MetadataClusters } from './MetadataClusters.ts';
import type { ClusterReferences, RefcountAllocator } from './RefcountAllocator.ts';
import { TableCache } from './TableCache.ts';

// L1/L2 entry bits, split into the high and low 32-bit words.
const HI_COPIED = 0x80000000; // bit 63: refcount is exactly 1, writable in place
const HI_COMPRESSED = 0x40000000; // bit 62
const L2_HI_RESERVED = 0x3f000000; // bits 56..61 of a standard descriptor
const LO_ZERO = 1; // bit 0: reads as zeros (v3)

/** What one L2 entry says about a guest cluster. */
export type Entry =
  | { kind: 'unallocated' }
  | { kind: 'zero'; host: number; copied: boolean } // host 0: no preallocation
  | { kind: 'normal'; host: number; copied: boolean }
  | { kind: 'compressed'; host: number; length: number };

const UNALLOCATED: Entry = { kind: 'unallocated' };

export interface ClusterMapOptions {
  clusterBits: number;
  /** The L1 table as read (and checked) at open, and where it lies. */
  l1: Uint8Array;
  l1Offset: number;
  /** L2 table cache budget in bytes. */
  cacheBytes: number;
  /** The whole ordered write-back; runs before a dirty L2 table is evicted. */
  writebackAll: () => Promise<void>;
}

export class ClusterMap implements ClusterReferences {
  private readonly cs: number;
  private readonly clusterBits: number;
  private readonly l2Entries: number;
  private readonly l1: Uint8Array;
  private readonly l1View: DataView;
  private readonly l1Offset: number;
  private readonly l1Dirty = new DirtyEntries();
  private readonly cache: TableCache;

  constructor(
    private readonly container: BlockDevice,
    private readonly metadata: MetadataClusters,
    private readonly refcounts: RefcountAllocator,
    options: ClusterMapOptions,
  ) {
    this.clusterBits = options.clusterBits;
    this.cs = 1 << options.clusterBits;
    this.l2Entries = this.cs / 8;
    this.l1 = options.l1;
    this.l1View = new DataView(this.l1.buffer, this.l1.byteOffset, this.l1.byteLength);
    this.l1Offset = options.l1Offset;
    this.cache = new TableCache(container, this.cs, options.cacheBytes, options.writebackAll);
    for (let i = 0; i < this.l1.length / 8; i++) {
      const off = this.l2Offset(i);
      if (off) metadata.addTable(off / this.cs);
    }
  }

  /** Describes the guest cluster `gc`. */
  async lookup(gc: number): Promise<Entry> {
    const l1i = Math.floor(gc / this.l2Entries);
    if (l1i >= this.l1.length / 8) return UNALLOCATED;
    const l2off = this.l2Offset(l1i);
    if (l2off === 0) return UNALLOCATED;
    const t = await this.cache.load(l2off, false);
    return this.decode(t.view, (gc % this.l2Entries) * 8, gc);
  }

  /** True when the L2 table that would describe guest cluster `gc` exists. */
  hasL2Table(gc: number): boolean {
    return this.l2Offset(Math.floor(gc / this.l2Entries)) !== 0;
  }

  /** Points guest cluster `gc` at host cluster offset `host`, which only it references. */
  async mapTo(gc: number, host: number): Promise<void> {
    await this.setL2(gc, (Math.floor(host / 2 ** 32) >>> 0) | HI_COPIED, host >>> 0);
  }

  /** Makes guest cluster `gc` a zero cluster (v3), or unallocated when `zeroFlag` is false. */
  async unmap(gc: number, zeroFlag: boolean): Promise<void> {
    await this.setL2(gc, 0, zeroFlag ? LO_ZERO : 0);
  }

  /** Host clusters an entry references, which lose that reference when it is replaced. */
  referencedClusters(e: Entry): number[] {
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

  get hasDirty(): boolean {
    return this.cache.hasDirty || this.l1Dirty.any;
  }

  /** Writes dirty L2 tables, then (once they are durable) the dirty L1 entries pointing at them. */
  async writeDirty(): Promise<void> {
    await this.cache.writeDirty();
    if (this.l1Dirty.any) {
      await this.container.flush();
      await this.l1Dirty.write(this.container, this.cs, this.l1Offset, this.l1);
    }
  }

  /** Forgets the cached L2 tables (the image is closed). */
  clear(): void {
    this.cache.clear();
  }

  private l2Offset(l1Index: number): number {
    const hi = this.l1View.getUint32(l1Index * 8);
    const lo = this.l1View.getUint32(l1Index * 8 + 4);
    return (hi & 0x00ffffff) * 2 ** 32 + ((lo & 0xfffffe00) >>> 0);
  }

  private setL1(l1Index: number, l2Offset: number): void {
    setBe64(this.l1View, l1Index * 8, l2Offset);
    this.l1View.setUint32(l1Index * 8, this.l1View.getUint32(l1Index * 8) | HI_COPIED);
    this.l1Dirty.mark(l1Index);
  }

  private decode(view: DataView, at: number, gc: number): Entry {
    const hi = view.getUint32(at);
    const lo = view.getUint32(at + 4);
    if (hi & HI_COMPRESSED) {
      // x = 62 - (cluster_bits - 8) low bits hold the host offset, the rest
      // the number of additional 512-byte sectors.
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

  /** Points guest cluster `gc` at a new descriptor, allocating its L2 table if needed. */
  private async setL2(gc: number, hi: number, lo: number): Promise<void> {
    const l1i = Math.floor(gc / this.l2Entries);
    let l2off = this.l2Offset(l1i);
    if (l2off !== 0) {
      // An L1 entry without COPIED may point at a table shared with a snapshot.
      const l1copied = (this.l1View.getUint32(l1i * 8) & HI_COPIED) !== 0;
      if (!l1copied) {
        const rc = await this.refcounts.refcount(l2off / this.cs);
        if (rc !== 1) fail(`the L2 table at ${hex(l2off)} is shared (refcount ${rc}); writing it is not supported`);
        this.setL1(l1i, l2off);
      }
    } else {
      l2off = (await this.refcounts.allocate()) * this.cs;
      this.metadata.addTable(l2off / this.cs);
      await this.cache.load(l2off, true);
      this.setL1(l1i, l2off);
    }
    const t = await this.cache.load(l2off, false);
    const at = (gc % this.l2Entries) * 8;
    t.view.setUint32(at, hi);
    t.view.setUint32(at + 4, lo);
    t.dirty = true;
  }
}
