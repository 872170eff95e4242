// Which 64-bit entries of a table held whole in memory (the L1 table, the
// refcount table) changed since it was last written. One contiguous range is
// kept, so a write-back is a single request even when it covers a few clean
// entries in between (they hold what the file already has).

import type { BlockDevice } from '../BlockDevice.ts';
import { writeHost } from './format.ts';

export class DirtyEntries {
  private lo = Infinity;
  private hi = -1;

  mark(index: number): void {
    this.lo = Math.min(this.lo, index);
    this.hi = Math.max(this.hi, index);
  }

  get any(): boolean {
    return this.hi >= 0;
  }

  /** Writes the dirty range of `table`, which lies at host offset `tableOffset`, and forgets it. */
  async write(container: BlockDevice, clusterSize: number, tableOffset: number, table: Uint8Array): Promise<void> {
    const lo = this.lo * 8;
    const hi = (this.hi + 1) * 8;
    await writeHost(container, clusterSize, tableOffset + lo, table.subarray(lo, hi));
    this.clear();
  }

  clear(): void {
    this.lo = Infinity;
    this.hi = -1;
  }
}
