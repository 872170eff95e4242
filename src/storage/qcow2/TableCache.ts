// The write-back cache of one kind of cluster-sized metadata table (L2
// tables, or refcount blocks): least recently used out first, clean tables
// before dirty ones.

import type { BlockDevice } from '../BlockDevice.ts';
import { fail, hex, writeHost } from './format.ts';

/** A cached L2 table or refcount block (one cluster). */
export interface Table {
  offset: number;
  data: Uint8Array;
  view: DataView;
  dirty: boolean;
}

export class TableCache {
  private readonly map = new Map<number, Table>();
  private readonly capacity: number;

  /**
   * `budgetBytes` buys at least 4 tables. A dirty table may only reach the
   * file in the image's dependency order, so evicting one runs
   * `writebackAll` (the whole ordered write-back) first.
   */
  constructor(
    private readonly container: BlockDevice,
    private readonly clusterSize: number,
    budgetBytes: number,
    private readonly writebackAll: () => Promise<void>,
  ) {
    this.capacity = Math.max(4, Math.floor(budgetBytes / clusterSize));
  }

  /** The table at `offset`, read from the file, or all zeros and dirty when `fresh` (a new table). */
  async load(offset: number, fresh: boolean): Promise<Table> {
    const cached = this.get(offset);
    if (cached) return cached;
    const victim = this.victim();
    if (victim) {
      if (victim.dirty) await this.writebackAll();
      this.map.delete(victim.offset);
    }
    // The write-back may have loaded other tables; look again before reading.
    const again = this.get(offset);
    if (again) return again;
    const data = new Uint8Array(this.clusterSize);
    if (!fresh) {
      const avail = Math.min(this.clusterSize, this.container.size - offset);
      if (avail <= 0) fail(`metadata cluster at ${hex(offset)} lies past the end of the file`);
      await this.container.read(offset, data.subarray(0, avail));
    }
    const t: Table = { offset, data, view: new DataView(data.buffer), dirty: fresh };
    this.map.set(offset, t);
    return t;
  }

  /** Writes every dirty table, in file order (the caller orders the flushes around it). */
  async writeDirty(): Promise<void> {
    const dirty = [...this.map.values()].filter((t) => t.dirty).sort((a, b) => a.offset - b.offset);
    for (const t of dirty) {
      await writeHost(this.container, this.clusterSize, t.offset, t.data);
      t.dirty = false;
    }
  }

  get hasDirty(): boolean {
    for (const t of this.map.values()) if (t.dirty) return true;
    return false;
  }

  clear(): void {
    this.map.clear();
  }

  private get(offset: number): Table | undefined {
    const t = this.map.get(offset);
    if (t) {
      // Move to the most recently used end.
      this.map.delete(offset);
      this.map.set(offset, t);
    }
    return t;
  }

  /** The least recently used table, preferring clean ones; undefined while not full. */
  private victim(): Table | undefined {
    if (this.map.size < this.capacity) return undefined;
    for (const t of this.map.values()) if (!t.dirty) return t;
    return this.map.values().next().value;
  }
}
