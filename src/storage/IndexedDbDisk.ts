// Disks kept in the browser's IndexedDB, thin-provisioned: the image is cut
// into chunks (64 KiB by default) and only chunks holding non-zero bytes are
// stored. Writes are buffered in memory and become durable on flush() (one
// readwrite transaction with strict durability is committed); a large
// buffer is also committed early. `DiskStore` lists, creates, renames,
// deletes, imports and exports disks.
//
// Database layout (version 1):
//   disks   keyPath 'id', index 'name' (unique) -> DiskRecord
//   chunks  out-of-line key [id, chunkIndex]    -> Uint8Array (chunkSize bytes)
// Chunks hang off the stable id, so a rename only touches the record. Two
// tabs may open the same disk; nothing arbitrates between them.

import { type IDBPDatabase, openDB } from 'idb';
import { type BlockDevice, checkRange, StorageError } from './BlockDevice.ts';
import { checkChunkSize, errorText, isZero, Mutex } from './util.ts';

export const DEFAULT_DB_NAME = 'wkvm-disks';
const DB_VERSION = 1;
/** Buffered bytes past which writes are committed without waiting for flush(). */
const MAX_BUFFERED = 32 << 20;

interface DiskRecord {
  id: string;
  name: string;
  size: number;
  chunkSize: number;
  storedBytes: number;
  created: number;
  modified: number;
}

export interface DiskInfo {
  name: string;
  /** Virtual size in bytes. */
  size: number;
  chunkSize: number;
  /** Bytes actually stored (chunks holding data). */
  storedBytes: number;
  created: Date;
  modified: Date;
}

type Db = IDBPDatabase<unknown>;

function info(r: DiskRecord): DiskInfo {
  return { name: r.name, size: r.size, chunkSize: r.chunkSize, storedBytes: r.storedBytes, created: new Date(r.created), modified: new Date(r.modified) };
}

function chunkRange(id: string, first: number, last: number): IDBKeyRange {
  return IDBKeyRange.bound([id, first], [id, last]);
}

function allChunks(id: string): IDBKeyRange {
  return IDBKeyRange.bound([id, 0], [id, Infinity]);
}

function wrap<T>(what: string, p: Promise<T>): Promise<T> {
  return p.catch((e) => {
    throw e instanceof StorageError ? e : new StorageError(`${what}: ${errorText(e)}`);
  });
}

function newId(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

function checkName(name: string): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 255) throw new StorageError(`invalid disk name '${name}'`);
  return name;
}

/** Reads chunks [first, last] of disk `id`; absent chunks are missing from the map. */
async function loadChunks(db: Db, id: string, first: number, last: number): Promise<Map<number, Uint8Array>> {
  const tx = db.transaction('chunks', 'readonly');
  const range = chunkRange(id, first, last);
  const [keys, values] = await Promise.all([tx.store.getAllKeys(range), tx.store.getAll(range)]);
  await tx.done;
  const out = new Map<number, Uint8Array>();
  keys.forEach((k, i) => out.set((k as [string, number])[1], toBytes(values[i])));
  return out;
}

function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw new StorageError('a stored chunk is not binary data');
}

export class IndexedDbDisk implements BlockDevice {
  readonly readOnly: boolean;
  readonly chunkSize: number;
  private _size: number;
  /** Chunks written since the last commit; null = all zeros (delete). */
  private dirty = new Map<number, Uint8Array | null>();
  private sizeChanged = false;
  private readonly lock = new Mutex();
  private closed = false;

  constructor(private readonly db: Db, private readonly record: DiskRecord, readOnly: boolean, private readonly ownsDb: boolean) {
    this.readOnly = readOnly;
    this.chunkSize = record.chunkSize;
    this._size = record.size;
  }

  get name(): string {
    return this.record.name;
  }

  get size(): number {
    return this._size;
  }

  async read(offset: number, into: Uint8Array): Promise<void> {
    this.check(offset, into.length, false);
    if (into.length === 0) return;
    const cs = this.chunkSize;
    const first = Math.floor(offset / cs);
    const last = Math.floor((offset + into.length - 1) / cs);
    let needDb = false;
    for (let i = first; i <= last && !needDb; i++) if (!this.dirty.has(i)) needDb = true;
    const stored = needDb ? await wrap('IndexedDB read failed', loadChunks(this.db, this.record.id, first, last)) : undefined;
    for (let i = first; i <= last; i++) {
      const start = Math.max(offset, i * cs);
      const end = Math.min(offset + into.length, (i + 1) * cs);
      // Buffered writes win; they may have landed while the database was read.
      const chunk = this.dirty.has(i) ? this.dirty.get(i) : stored?.get(i);
      if (chunk) into.set(chunk.subarray(start - i * cs, end - i * cs), start - offset);
      else into.fill(0, start - offset, end - offset);
    }
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.check(offset, data.length, true);
    return this.lock.run(async () => {
      await this.writeLocked(offset, data);
      if (this.dirty.size * this.chunkSize > MAX_BUFFERED) await this.commit(false);
    });
  }

  async writeZeroes(offset: number, length: number): Promise<void> {
    this.check(offset, length, true);
    return this.lock.run(async () => {
      const cs = this.chunkSize;
      let pos = offset;
      const end = offset + length;
      while (pos < end) {
        const i = Math.floor(pos / cs);
        const n = Math.min((i + 1) * cs, end) - pos;
        if (pos === i * cs && (n === cs || pos + n === this._size)) this.dirty.set(i, null);
        else await this.writeLocked(pos, new Uint8Array(n));
        pos += n;
      }
    });
  }

  async discard(offset: number, length: number): Promise<void> {
    return this.writeZeroes(offset, length);
  }

  async flush(): Promise<void> {
    this.check(0, 0, false);
    if (this.readOnly) return Promise.resolve();
    return this.lock.run(() => this.commit(true));
  }

  async resize(size: number): Promise<void> {
    if (this.closed) throw new StorageError('the disk is closed');
    if (this.readOnly) throw new StorageError('the disk is read-only');
    if (!Number.isSafeInteger(size) || size < 0) throw new StorageError(`invalid disk size ${size}`);
    return this.lock.run(async () => {
      const cs = this.chunkSize;
      if (size < this._size) {
        // Drop whole chunks past the end; zero the tail of the last one.
        const keep = Math.ceil(size / cs);
        for (const i of [...this.dirty.keys()]) if (i >= keep) this.dirty.delete(i);
        const tx = this.db.transaction('chunks', 'readwrite');
        await tx.store.delete(chunkRange(this.record.id, keep, Infinity));
        await tx.done;
        if (size % cs) await this.writeLocked(size, new Uint8Array(Math.min(cs - (size % cs), this._size - size)));
      }
      this._size = size;
      this.sizeChanged = true;
      await this.commit(true);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.lock.run(async () => {
      if (!this.readOnly) await this.commit(true);
      this.closed = true;
      if (this.ownsDb) this.db.close();
    });
  }

  private check(offset: number, length: number, write: boolean): void {
    if (this.closed) throw new StorageError('the disk is closed');
    checkRange(this, offset, length, write);
  }

  private async writeLocked(offset: number, data: Uint8Array): Promise<void> {
    const cs = this.chunkSize;
    const first = Math.floor(offset / cs);
    const last = Math.floor((offset + data.length - 1) / cs);
    if (data.length === 0) return;
    // Partial chunks not buffered yet need their stored contents first.
    const partial: number[] = [];
    for (const i of new Set([first, last])) {
      const start = Math.max(offset, i * cs);
      const end = Math.min(offset + data.length, (i + 1) * cs);
      const whole = start === i * cs && (end === (i + 1) * cs || end === this._size);
      if (!whole && !this.dirty.has(i)) partial.push(i);
    }
    const stored = partial.length
      ? await wrap('IndexedDB read failed', loadChunks(this.db, this.record.id, Math.min(...partial), Math.max(...partial)))
      : undefined;
    for (let i = first; i <= last; i++) {
      const start = Math.max(offset, i * cs);
      const end = Math.min(offset + data.length, (i + 1) * cs);
      let chunk = this.dirty.get(i) ?? (this.dirty.has(i) ? null : stored?.get(i)) ?? null;
      if (chunk === null || !this.dirty.has(i)) {
        // Never modify an array that came from the database or is shared: copy.
        const fresh = new Uint8Array(cs);
        if (chunk) fresh.set(chunk.subarray(0, cs));
        chunk = fresh;
      }
      chunk.set(data.subarray(start - offset, end - offset), start - i * cs);
      this.dirty.set(i, chunk);
    }
  }

  /** Writes buffered chunks and the record in one transaction. */
  private async commit(durable: boolean): Promise<void> {
    if (this.dirty.size === 0 && !this.sizeChanged) return;
    const dirty = this.dirty;
    const id = this.record.id;
    await wrap('IndexedDB write failed', (async () => {
      const tx = this.db.transaction(['chunks', 'disks'], 'readwrite', { durability: durable ? 'strict' : 'default' });
      const chunks = tx.objectStore('chunks');
      const disks = tx.objectStore('disks');
      const rec = (await disks.get(id)) as DiskRecord | undefined;
      if (!rec) {
        tx.abort();
        await tx.done.catch(() => undefined);
        throw new StorageError(`disk '${this.record.name}' was deleted`);
      }
      const jobs: Promise<unknown>[] = [];
      for (const [i, chunk] of dirty) {
        if (chunk === null || isZero(chunk)) jobs.push(chunks.delete([id, i]));
        else jobs.push(chunks.put(chunk, [id, i]));
      }
      await Promise.all(jobs);
      const count = await chunks.count(allChunks(id));
      rec.size = this._size;
      rec.storedBytes = count * rec.chunkSize;
      rec.modified = Date.now();
      await disks.put(rec);
      await tx.done;
      Object.assign(this.record, rec);
    })());
    // Only what was committed leaves the buffer (writes cannot run meanwhile: the lock is held).
    this.dirty = new Map();
    this.sizeChanged = false;
  }
}

/** The set of disks in one IndexedDB database. */
export class DiskStore {
  private constructor(private readonly db: Db) {}

  static async open(dbName = DEFAULT_DB_NAME): Promise<DiskStore> {
    if (typeof indexedDB === 'undefined') throw new StorageError('IndexedDB is not available here');
    const db = await wrap('cannot open IndexedDB', openDB(dbName, DB_VERSION, {
      upgrade(db) {
        if (!db.objectStoreNames.contains('disks')) {
          const disks = db.createObjectStore('disks', { keyPath: 'id' });
          disks.createIndex('name', 'name', { unique: true });
        }
        if (!db.objectStoreNames.contains('chunks')) db.createObjectStore('chunks');
      },
    }));
    return new DiskStore(db);
  }

  async list(): Promise<DiskInfo[]> {
    const all = (await this.db.getAll('disks')) as DiskRecord[];
    return all.map(info).sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string): Promise<DiskInfo | undefined> {
    const r = await this.record(name);
    return r && info(r);
  }

  async create(name: string, size: number, options: { chunkSize?: number } = {}): Promise<DiskInfo> {
    checkName(name);
    if (!Number.isSafeInteger(size) || size < 0) throw new StorageError(`invalid disk size ${size}`);
    const chunkSize = checkChunkSize(options.chunkSize ?? 65536);
    const now = Date.now();
    const rec: DiskRecord = { id: newId(), name, size, chunkSize, storedBytes: 0, created: now, modified: now };
    try {
      await this.db.add('disks', rec);
    } catch (e) {
      if ((e as Error)?.name === 'ConstraintError') throw new StorageError(`a disk named '${name}' already exists`);
      throw new StorageError(`cannot create disk '${name}': ${errorText(e)}`);
    }
    return info(rec);
  }

  async open(name: string, options: { readOnly?: boolean } = {}): Promise<IndexedDbDisk> {
    const rec = await this.record(name);
    if (!rec) throw new StorageError(`no disk named '${name}'`);
    return new IndexedDbDisk(this.db, rec, options.readOnly ?? false, false);
  }

  async rename(from: string, to: string): Promise<void> {
    checkName(to);
    const tx = this.db.transaction('disks', 'readwrite');
    const rec = (await tx.store.index('name').get(from)) as DiskRecord | undefined;
    if (!rec) {
      await tx.done;
      throw new StorageError(`no disk named '${from}'`);
    }
    if (from === to) return tx.done;
    if (await tx.store.index('name').getKey(to)) {
      await tx.done;
      throw new StorageError(`a disk named '${to}' already exists`);
    }
    rec.name = to;
    rec.modified = Date.now();
    await tx.store.put(rec);
    await wrap(`cannot rename '${from}'`, tx.done);
  }

  async delete(name: string): Promise<void> {
    const tx = this.db.transaction(['disks', 'chunks'], 'readwrite');
    const disks = tx.objectStore('disks');
    const rec = (await disks.index('name').get(name)) as DiskRecord | undefined;
    if (!rec) {
      await tx.done;
      throw new StorageError(`no disk named '${name}'`);
    }
    await Promise.all([disks.delete(rec.id), tx.objectStore('chunks').delete(allChunks(rec.id))]);
    await wrap(`cannot delete '${name}'`, tx.done);
  }

  /** Copies a device into a new disk (zero chunks are not stored). */
  async import(name: string, source: BlockDevice, options: { chunkSize?: number } = {}): Promise<DiskInfo> {
    await this.create(name, source.size, options);
    const disk = await this.open(name);
    try {
      const step = Math.max(disk.chunkSize, 1 << 20);
      const buf = new Uint8Array(step);
      for (let pos = 0; pos < source.size; pos += step) {
        const part = buf.subarray(0, Math.min(step, source.size - pos));
        await source.read(pos, part);
        if (!isZero(part)) await disk.write(pos, part);
      }
      await disk.close();
    } catch (e) {
      await disk.close().catch(() => undefined);
      await this.delete(name).catch(() => undefined);
      throw e;
    }
    return (await this.get(name))!;
  }

  /** The raw image as a stream (what was flushed; holes read as zeros). */
  export(name: string): ReadableStream<Uint8Array> {
    const batch = 16;
    let rec: DiskRecord | undefined;
    let next = 0;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        rec ??= await this.record(name);
        if (!rec) throw new StorageError(`no disk named '${name}'`);
        const cs = rec.chunkSize;
        const count = Math.ceil(rec.size / cs);
        if (next >= count) {
          controller.close();
          return;
        }
        const last = Math.min(count - 1, next + batch - 1);
        const stored = await loadChunks(this.db, rec.id, next, last);
        const out = new Uint8Array(Math.min((last + 1) * cs, rec.size) - next * cs);
        for (let i = next; i <= last; i++) {
          const c = stored.get(i);
          const at = (i - next) * cs;
          if (c) out.set(c.subarray(0, Math.min(cs, out.length - at)), at);
        }
        controller.enqueue(out);
        next = last + 1;
      },
    });
  }

  /** The raw image as a Blob (built from the stream). */
  async exportBlob(name: string): Promise<Blob> {
    const parts: Uint8Array[] = [];
    const reader = this.export(name).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
    return new Blob(parts as BlobPart[], { type: 'application/octet-stream' });
  }

  close(): void {
    this.db.close();
  }

  private async record(name: string): Promise<DiskRecord | undefined> {
    return (await this.db.getFromIndex('disks', 'name', name)) as DiskRecord | undefined;
  }
}
