// What every device model has in common. A device's state is plain data
// (numbers, booleans, arrays of them): saveState() returns a copy that
// JSON.stringify can serialise, loadState() takes one back, so snapshots
// and migration need no per-device special cases.

export interface Device<S = unknown> {
  readonly name: string;
  /** Power-on / hard reset state. */
  reset(): void;
  saveState(): S;
  loadState(state: S): void;
}

/** A deep copy of plain data, for saveState/loadState. */
export function clonePlain<T>(v: T): T {
  return structuredClone(v);
}
