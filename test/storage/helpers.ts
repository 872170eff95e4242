// Shared helpers of the storage tests: QEMU's tools (qemu-img, qemu-io from
// Debian's qemu-utils) in a temp dir, patterns, a seeded PRNG.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlockDevice } from '../../src/storage/BlockDevice.ts';

function has(tool: string): boolean {
  const r = spawnSync(tool, ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

export const QEMU_AVAILABLE = has('qemu-img') && has('qemu-io');
/** For `test(name, { skip: NO_QEMU }, ...)`: false when the tools are installed. */
export const NO_QEMU: string | false = QEMU_AVAILABLE
  ? false
  : 'qemu-img/qemu-io not found: install Debian\'s qemu-utils (apt-get install qemu-utils) to run the qcow2 interoperability tests';

/** Runs a tool, returns stdout; throws with its stderr when it fails. */
export function run(tool: string, args: string[], options: { allowFail?: boolean } = {}): { stdout: string; status: number } {
  const r = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0 && !options.allowFail) {
    throw new Error(`${tool} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  }
  return { stdout: r.stdout + r.stderr, status: r.status ?? -1 };
}

export function qemuImg(...args: string[]): string {
  return run('qemu-img', args).stdout;
}

/** Runs qemu-io commands on an image; fails when a pattern check fails. */
export function qemuIo(image: string, commands: string[], format = 'qcow2'): string {
  const args = ['-f', format];
  for (const c of commands) args.push('-c', c);
  args.push(image);
  const out = run('qemu-io', args).stdout;
  if (/Pattern verification failed|error|failed/i.test(out)) throw new Error(`qemu-io: ${out}`);
  return out;
}

/** `qemu-img check` result: clean means no corruptions and no leaks. */
export function qemuCheck(image: string): { clean: boolean; output: string } {
  const r = run('qemu-img', ['check', image], { allowFail: true });
  return { clean: r.status === 0 && /No errors were found/.test(r.stdout), output: r.stdout };
}

/** The guest-visible contents of an image, via `qemu-img convert -O raw`. */
export function qemuRaw(dir: string, image: string): Uint8Array {
  const out = join(dir, `raw-${Math.random().toString(36).slice(2)}.img`);
  execFileSync('qemu-img', ['convert', '-O', 'raw', image, out]);
  const bytes = new Uint8Array(readFileSync(out));
  rmSync(out);
  return bytes;
}

export function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'wkvm-storage-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(rand: () => number, n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (rand() * 256) | 0;
  return b;
}

/** Reads a whole device. */
export async function readAll(dev: BlockDevice): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Uint8Array(dev.size);
  const step = 1 << 20;
  for (let pos = 0; pos < dev.size; pos += step) await dev.read(pos, out.subarray(pos, Math.min(dev.size, pos + step)));
  return out;
}

/** First differing offset of two arrays, or -1 (cheap message for big buffers). */
export function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

export function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what = 'bytes'): void {
  const d = firstDiff(actual, expected);
  if (d >= 0) {
    throw new Error(
      `${what} differ at offset ${d} (0x${d.toString(16)}): got ${actual[d]}, expected ${expected[d]} (lengths ${actual.length}/${expected.length})`,
    );
  }
}
