// Small helpers shared by the storage backends.

import { StorageError } from './BlockDevice.ts';

/** A FIFO async lock: `run(fn)` starts `fn` once every earlier `run` has settled. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    // The next waiter starts after this one whatever its outcome.
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** True when every byte of `a` is zero (word at a time where alignment allows). */
export function isZero(a: Uint8Array): boolean {
  let i = 0;
  const n = a.length;
  if ((a.byteOffset & 3) === 0 && n >= 64) {
    const words = new Uint32Array(a.buffer, a.byteOffset, n >>> 2);
    for (let w = 0; w < words.length; w++) if (words[w] !== 0) return false;
    i = words.length << 2;
  }
  for (; i < n; i++) if (a[i] !== 0) return false;
  return true;
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0 && n <= 2 ** 30;
}

/** Validates a chunk size option: a power of two from 512 bytes to 16 MiB. */
export function checkChunkSize(n: number, what = 'chunk size'): number {
  if (!isPowerOfTwo(n) || n < 512 || n > 16 << 20) {
    throw new StorageError(`${what} ${n} must be a power of two from 512 bytes to 16 MiB`);
  }
  return n;
}

/** Turns any thrown value into a one-line message. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0];
  return String(e).split('\n')[0];
}
