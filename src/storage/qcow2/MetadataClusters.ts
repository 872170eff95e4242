// Every host cluster known to hold metadata: the header, the L1 table, the
// refcount table, the snapshot table, and each L2 table and refcount block.
// Guest data must never land on one of them whatever the refcounts say (a
// hostile or damaged image may claim such a cluster is free), so both the
// allocator and the write path ask here.

/** Cluster indices [first, end). */
export type ClusterRange = [number, number];

export class MetadataClusters {
  /** L2 tables and refcount blocks; entries are never removed (tables are never freed). */
  private readonly tables = new Set<number>();

  constructor(
    private readonly l1: ClusterRange,
    private reftable: ClusterRange,
    private readonly snapshots: ClusterRange,
  ) {}

  /** Records an L2 table or refcount block. */
  addTable(cluster: number): void {
    this.tables.add(cluster);
  }

  /** The refcount table moved (it grew). */
  moveReftable(range: ClusterRange): void {
    this.reftable = range;
  }

  has(c: number): boolean {
    if (c === 0) return true; // the header
    if (within(c, this.l1) || within(c, this.reftable) || within(c, this.snapshots)) return true;
    return this.tables.has(c);
  }
}

function within(c: number, [first, end]: ClusterRange): boolean {
  return c >= first && c < end;
}
