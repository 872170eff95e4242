// Host cluster reference counts and allocation, and the crash-consistent
// order in which all dirty metadata reaches the file.
//
// Refcounts live in refcount blocks (one cluster each, entries 1..64 bits
// wide) found through the refcount table (contiguous, kept in memory).
//
// Write-back order, with a container flush between steps: data and refcount
// blocks (increments) -> refcount table entries -> L2 tables -> L1 entries
// -> refcount decrements of clusters no longer referenced. The qcow2 rule
// behind it: a refcount may be too high (a leaked cluster, harmless) but
// never too low, and a table may only point at what is already durable. A
// crash at any point therefore leaves at worst leaked clusters. Lazy
// refcounts are never used.

import type { BlockDevice } from '../BlockDevice.ts';
import { DirtyEntries } from './DirtyEntries.ts';
import { be64, fail, getRefcountIn, roundUp, setBe64, setRefcountIn } from './format.ts';
import { MAX_REFTABLE_BYTES, writeReftableLocation } from './header.ts';
import type { MetadataClusters } from './MetadataClusters.ts';
import { type Table, TableCache } from './TableCache.ts';

/** The tables that reference host clusters (L2 tables and the L1 table), written between refcount steps. */
export interface ClusterReferences {
  /** True when L2 tables or L1 entries wait to be written. */
  readonly hasDirty: boolean;
  /** Writes them (the caller has made the refcounts and data they point at durable). */
  writeDirty(): Promise<void>;
}

export interface RefcountAllocatorOptions {
  clusterSize: number;
  /** Width of a refcount entry: 1, 2, 4, ... 64. */
  refcountBits: number;
  /** The refcount table as read (and checked) at open, and where it lies. */
  reftable: Uint8Array;
  reftableOffset: number;
  /** Refcount block cache budget in bytes. */
  cacheBytes: number;
  /** The whole ordered write-back; runs before a dirty refcount block is evicted or the refcount table moves. */
  writebackAll: () => Promise<void>;
  /** A cluster's refcount reached zero: it may be reused with other contents. */
  clusterFreed: () => void;
}

export class RefcountAllocator {
  private readonly cs: number;
  private readonly refcountBits: number;
  private readonly refsPerBlock: number;
  private readonly maxRefcount: number;

  private reftable: Uint8Array;
  private reftableView: DataView;
  private reftableOffset: number;
  private reftableEntries: number;
  private readonly reftableDirty = new DirtyEntries();

  private readonly cache: TableCache;
  /** Host clusters whose refcount drops once the tables no longer pointing at them are durable. */
  private pendingFrees: number[] = [];
  /** Lowest cluster that may be free. */
  private freeHint = 0;
  private readonly writebackAll: () => Promise<void>;
  private readonly clusterFreed: () => void;

  constructor(
    private readonly container: BlockDevice,
    private readonly metadata: MetadataClusters,
    options: RefcountAllocatorOptions,
  ) {
    this.cs = options.clusterSize;
    this.refcountBits = options.refcountBits;
    this.refsPerBlock = (this.cs * 8) / this.refcountBits;
    this.maxRefcount = this.refcountBits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** this.refcountBits - 1;
    this.reftable = options.reftable;
    this.reftableView = new DataView(this.reftable.buffer, this.reftable.byteOffset, this.reftable.byteLength);
    this.reftableOffset = options.reftableOffset;
    this.reftableEntries = this.reftable.length / 8;
    this.writebackAll = options.writebackAll;
    this.clusterFreed = options.clusterFreed;
    this.cache = new TableCache(container, this.cs, options.cacheBytes, this.writebackAll);
    for (let i = 0; i < this.reftableEntries; i++) {
      const off = be64(this.reftableView, i * 8);
      if (off) metadata.addTable(off / this.cs);
    }
  }

  async refcount(c: number): Promise<number> {
    const ti = Math.floor(c / this.refsPerBlock);
    const off = this.refblockOffset(ti);
    if (off === 0) return 0;
    const t = await this.cache.load(off, false);
    return getRefcountIn(t.data, t.view, this.refcountBits, c - ti * this.refsPerBlock);
  }

  /** Allocates a free host cluster (its refcount becomes 1); returns its index. */
  async allocate(): Promise<number> {
    const per = this.refsPerBlock;
    let c = this.freeHint;
    for (;;) {
      const ti = Math.floor(c / per);
      const off = this.refblockOffset(ti);
      if (off === 0) {
        if (this.metadata.has(c)) {
          c++;
        } else {
          await this.addRefblock(c); // it may take `c` itself: look at it again
        }
        continue;
      }
      const t = await this.cache.load(off, false);
      const end = (ti + 1) * per;
      for (; c < end; c++) {
        if (getRefcountIn(t.data, t.view, this.refcountBits, c - ti * per) === 0 && !this.metadata.has(c)) {
          setRefcountIn(t.data, t.view, this.refcountBits, c - ti * per, 1);
          t.dirty = true;
          this.freeHint = c + 1;
          return c;
        }
      }
    }
  }

  /**
   * Drops one reference to each cluster, at the next write-back once the
   * tables that no longer point at them are durable (freeing earlier could
   * hand a cluster out while a durable table still points at it).
   */
  release(clusters: number[]): void {
    this.pendingFrees.push(...clusters);
  }

  /**
   * Writes dirty metadata in dependency order (see the file comment), with
   * `references` written in their turn. Leaves everything durable except the
   * last writes, which the caller's container flush covers.
   */
  async writeback(references: ClusterReferences): Promise<void> {
    const hadReferences = references.hasDirty;
    // 1. Refcount blocks (increments only, or decrements already safe).
    await this.cache.writeDirty();
    // 2. Refcount table entries for new blocks, once the blocks are durable.
    if (this.reftableDirty.any) {
      await this.container.flush();
      await this.reftableDirty.write(this.container, this.cs, this.reftableOffset, this.reftable);
    }
    // 3 and 4. L2 tables then L1 entries, once the data and refcounts they point at are durable.
    if (hadReferences) {
      await this.container.flush();
      await references.writeDirty();
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
          this.clusterFreed();
        }
      }
      await this.cache.writeDirty();
    }
  }

  /** Forgets the cached refcount blocks (the image is closed). */
  clear(): void {
    this.cache.clear();
  }

  private refblockOffset(tableIndex: number): number {
    if (tableIndex >= this.reftableEntries) return 0;
    return be64(this.reftableView, tableIndex * 8);
  }

  private async setRefcount(c: number, value: number): Promise<void> {
    const ti = Math.floor(c / this.refsPerBlock);
    const off = this.refblockOffset(ti);
    if (off === 0) fail(`internal: no refcount block for cluster ${c}`);
    if (value > this.maxRefcount) fail(`refcount of cluster ${c} would overflow ${this.refcountBits} bits`);
    const t = await this.cache.load(off, false);
    setRefcountIn(t.data, t.view, this.refcountBits, c - ti * this.refsPerBlock, value);
    t.dirty = true;
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
    const t = await this.cache.load(off, true);
    setRefcountIn(t.data, t.view, this.refcountBits, c - ti * this.refsPerBlock, 1);
    setBe64(this.reftableView, ti * 8, off);
    this.metadata.addTable(c);
    this.reftableDirty.mark(ti);
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
      for (let c = first; c < spanEnd; c++) if (this.metadata.has(c) || (await this.refcount(c)) !== 0) busy = c;
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
    await this.writebackAll();
    if (spanEnd * cs > this.container.size) await this.container.resize!(spanEnd * cs);
    for (const b of newBlocks.values()) await this.container.write(b.offset, b.data);
    await this.container.flush();
    await this.container.write(tableOff, table);
    await this.container.flush();
    await writeReftableLocation(this.container, tableOff, tableClusters);
    await this.container.flush();

    const oldOff = this.reftableOffset;
    const oldClusters = this.reftable.length / cs;
    this.reftable = table;
    this.reftableView = tv;
    this.reftableOffset = tableOff;
    this.reftableEntries = entries;
    this.reftableDirty.clear(); // the new table was written whole
    this.metadata.moveReftable([first, first + tableClusters]);
    // The new blocks are on disk; they are loaded like any other when needed.
    for (const b of newBlocks.values()) this.metadata.addTable(b.offset / cs);
    // The old table is no longer referenced by the (durable) header.
    for (let i = 0; i < oldClusters; i++) this.pendingFrees.push(oldOff / cs + i);
  }
}
