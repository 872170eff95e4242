// Counts device I/O in flight (disk requests), so the vCPU loop can tell
// "halted waiting for a disk" from "halted until a timer", and wait for the
// I/O in deterministic mode instead of letting guest time race ahead.
import type { BlockDevice } from '../storage/BlockDevice.ts';

/**
 * Runs `f` in a later task, after every pending microtask: setImmediate in
 * Node; in browsers (which have none) a MessageChannel message, which unlike
 * setTimeout(0) is never clamped to 4 ms.
 */
const laterTask: (f: () => void) => void =
  typeof setImmediate === 'function'
    ? (f) => void setImmediate(f)
    : (() => {
        const queue: (() => void)[] = [];
        const channel = new MessageChannel();
        channel.port1.onmessage = () => queue.shift()?.();
        return (f: () => void) => {
          queue.push(f);
          channel.port2.postMessage(null);
        };
      })();

export class IoTracker {
  pending = 0;
  private waiters: (() => void)[] = [];
  /** Called whenever an operation completes (the async driver wakes a halted vCPU). */
  onComplete?: () => void;

  track<T>(p: Promise<T>): Promise<T> {
    this.pending++;
    // The device's own continuation (which pushes the used ring and raises
    // the interrupt) runs in a microtask after this promise settles; the
    // vCPU loop must be told only after it, or it would find a halted vCPU
    // with nothing pending and sleep until the next timer tick.
    const done = (): void => {
      laterTask(() => {
        this.pending--;
        this.onComplete?.();
        if (this.pending === 0) {
          const w = this.waiters;
          this.waiters = [];
          for (const f of w) f();
        }
      });
    };
    return p.then(
      (v) => {
        done();
        return v;
      },
      (e: unknown) => {
        done();
        throw e;
      },
    );
  }

  /** Resolves when nothing is in flight. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** A BlockDevice whose operations are counted by an IoTracker. */
export class TrackedDisk implements BlockDevice {
  constructor(
    private readonly disk: BlockDevice,
    private readonly io: IoTracker,
  ) {}
  get size(): number {
    return this.disk.size;
  }
  get readOnly(): boolean {
    return this.disk.readOnly;
  }
  read(offset: number, into: Uint8Array): Promise<void> {
    return this.io.track(this.disk.read(offset, into));
  }
  write(offset: number, data: Uint8Array): Promise<void> {
    return this.io.track(this.disk.write(offset, data));
  }
  flush(): Promise<void> {
    return this.io.track(this.disk.flush());
  }
  get discard(): BlockDevice['discard'] {
    const d = this.disk.discard;
    return d ? (offset, length) => this.io.track(d.call(this.disk, offset, length)) : undefined;
  }
  get writeZeroes(): BlockDevice['writeZeroes'] {
    const w = this.disk.writeZeroes;
    return w ? (offset, length) => this.io.track(w.call(this.disk, offset, length)) : undefined;
  }
  close(): Promise<void> {
    return this.disk.close();
  }
}
