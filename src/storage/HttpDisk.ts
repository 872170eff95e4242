// A read-only disk image on a web server, fetched in chunks on demand with
// HTTP Range requests. The size comes from HEAD (Content-Length, when the
// server also announces `Accept-Ranges: bytes`) or from the Content-Range of
// a first ranged GET. Chunks live in an LRU cache with a byte budget;
// concurrent reads of the same chunk share one request, and runs of missing
// chunks are fetched with one request. Wrap it in an OverlayDisk for writes.

import { type BlockDevice, checkRange, StorageError } from './BlockDevice.ts';
import { checkChunkSize, errorText } from './util.ts';

export interface HttpDiskOptions {
  /** Fetch granularity in bytes (power of two, default 256 KiB). */
  chunkSize?: number;
  /** Cache budget in bytes (default 64 MiB). */
  cacheBytes?: number;
  /** Largest single request when fetching a run of chunks (default 4 MiB). */
  maxRequestBytes?: number;
  /** Extra request headers (authorisation, ...). */
  headers?: Record<string, string>;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** The server answers ranged GETs with the whole file: callers may fall back to downloading it. */
export class RangesNotSupportedError extends StorageError {
  override name = 'RangesNotSupportedError';
}

export class HttpDisk implements BlockDevice {
  readonly readOnly = true;
  readonly chunkSize: number;
  private readonly cache = new Map<number, Uint8Array>();
  private cachedBytes = 0;
  private readonly inflight = new Map<number, Promise<Uint8Array>>();
  private readonly cacheBytes: number;
  private readonly maxChunksPerRequest: number;
  private readonly fetchFn: typeof fetch;
  private readonly headers: Record<string, string>;
  private closed = false;
  /** Requests made (for tests and diagnostics). */
  requests = 0;

  private constructor(readonly url: string, readonly size: number, options: HttpDiskOptions, fetchFn: typeof fetch) {
    this.chunkSize = checkChunkSize(options.chunkSize ?? 256 << 10);
    this.cacheBytes = Math.max(options.cacheBytes ?? 64 << 20, this.chunkSize);
    this.maxChunksPerRequest = Math.max(1, Math.floor((options.maxRequestBytes ?? 4 << 20) / this.chunkSize));
    this.fetchFn = fetchFn;
    this.headers = options.headers ?? {};
  }

  static async open(url: string, options: HttpDiskOptions = {}): Promise<HttpDisk> {
    const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    const headers = options.headers ?? {};
    const chunkSize = checkChunkSize(options.chunkSize ?? 256 << 10);
    let requests = 0;

    // 1. HEAD: enough when the server says it serves ranges.
    let res: Response;
    try {
      requests++;
      res = await fetchFn(url, { method: 'HEAD', headers });
    } catch (e) {
      throw new StorageError(`cannot fetch ${url}: ${errorText(e)}`);
    }
    if (res.status === 404 || res.status === 410 || res.status === 401 || res.status === 403) {
      throw new StorageError(`cannot fetch ${url}: HTTP ${res.status} ${res.statusText}`.trim());
    }
    const length = Number(res.headers.get('content-length'));
    const ranges = (res.headers.get('accept-ranges') ?? '').toLowerCase().includes('bytes');
    if (res.ok && ranges && Number.isSafeInteger(length) && res.headers.get('content-length') !== null &&
        !res.headers.get('content-encoding')) {
      const disk = new HttpDisk(url, length, options, fetchFn);
      disk.requests = requests;
      return disk;
    }

    // 2. A first ranged GET: its Content-Range tells the size; keep the bytes.
    let first: Uint8Array;
    let size: number;
    try {
      requests++;
      res = await fetchFn(url, { headers: { ...headers, Range: `bytes=0-${chunkSize - 1}` } });
    } catch (e) {
      throw new StorageError(`cannot fetch ${url}: ${errorText(e)}`);
    }
    if (res.status === 416) {
      // An empty file: nothing satisfies any range.
      await res.body?.cancel();
      const total = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '');
      if (total && Number(total[1]) === 0) {
        const disk = new HttpDisk(url, 0, options, fetchFn);
        disk.requests = requests;
        return disk;
      }
      throw new StorageError(`cannot fetch ${url}: HTTP 416 Range Not Satisfiable`);
    }
    if (res.status === 200) {
      await res.body?.cancel();
      throw new RangesNotSupportedError(`the server of ${url} does not support range requests`);
    }
    if (res.status !== 206) {
      await res.body?.cancel();
      throw new StorageError(`cannot fetch ${url}: HTTP ${res.status} ${res.statusText}`.trim());
    }
    const range = parseContentRange(res.headers.get('content-range'));
    if (!range || range.start !== 0 || range.total === undefined) {
      await res.body?.cancel();
      throw new StorageError(`the server of ${url} sent no usable Content-Range`);
    }
    size = range.total;
    first = new Uint8Array(await res.arrayBuffer());
    const disk = new HttpDisk(url, size, options, fetchFn);
    disk.requests = requests;
    if (first.length === Math.min(disk.chunkSize, size)) disk.insert(0, first);
    return disk;
  }

  async read(offset: number, into: Uint8Array): Promise<void> {
    this.check(offset, into.length, false);
    if (into.length === 0) return;
    const cs = this.chunkSize;
    const firstChunk = Math.floor(offset / cs);
    const lastChunk = Math.floor((offset + into.length - 1) / cs);
    const parts: Promise<void>[] = [];
    const copy = (index: number, chunk: Uint8Array) => {
      const chunkStart = index * cs;
      const from = Math.max(offset, chunkStart);
      const to = Math.min(offset + into.length, chunkStart + chunk.length);
      into.set(chunk.subarray(from - chunkStart, to - chunkStart), from - offset);
    };
    let missingStart = -1;
    const fetchMissing = (end: number) => {
      // Chunks [missingStart, end) are neither cached nor being fetched.
      for (let s = missingStart; s < end; s += this.maxChunksPerRequest) {
        const e = Math.min(end, s + this.maxChunksPerRequest);
        this.startFetch(s, e);
      }
      missingStart = -1;
    };
    for (let i = firstChunk; i <= lastChunk; i++) {
      if (this.cache.has(i) || this.inflight.has(i)) {
        if (missingStart >= 0) fetchMissing(i);
      } else if (missingStart < 0) {
        missingStart = i;
      }
    }
    if (missingStart >= 0) fetchMissing(lastChunk + 1);
    for (let i = firstChunk; i <= lastChunk; i++) {
      const hit = this.touch(i);
      if (hit) copy(i, hit);
      else {
        const p = this.inflight.get(i)!;
        parts.push(p.then((chunk) => copy(i, chunk)));
      }
    }
    await Promise.all(parts);
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.check(offset, data.length, true);
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    this.cache.clear();
    this.cachedBytes = 0;
  }

  /** Bytes held by the chunk cache. */
  get cacheUsage(): number {
    return this.cachedBytes;
  }

  private check(offset: number, length: number, write: boolean): void {
    if (this.closed) throw new StorageError('the disk is closed');
    checkRange(this, offset, length, write);
  }

  /** Fetches chunks [first, end) with one request; each gets its own in-flight promise. */
  private startFetch(first: number, end: number): void {
    const cs = this.chunkSize;
    const start = first * cs;
    const stop = Math.min(end * cs, this.size);
    const whole = this.fetchRange(start, stop);
    for (let i = first; i < end; i++) {
      const p = whole.then((bytes) => {
        const chunk = bytes.subarray((i - first) * cs, Math.min((i - first + 1) * cs, bytes.length));
        if (this.inflight.get(i) === p) {
          this.inflight.delete(i);
          if (!this.closed) this.insert(i, chunk);
        }
        return chunk;
      }, (e) => {
        if (this.inflight.get(i) === p) this.inflight.delete(i);
        throw e;
      });
      this.inflight.set(i, p);
    }
  }

  private async fetchRange(start: number, stop: number): Promise<Uint8Array> {
    let res: Response;
    try {
      this.requests++;
      res = await this.fetchFn(this.url, { headers: { ...this.headers, Range: `bytes=${start}-${stop - 1}` } });
    } catch (e) {
      throw new StorageError(`cannot fetch ${this.url}: ${errorText(e)}`);
    }
    if (res.status === 200) {
      await res.body?.cancel();
      throw new RangesNotSupportedError(`the server of ${this.url} does not support range requests`);
    }
    if (res.status !== 206) {
      await res.body?.cancel();
      throw new StorageError(`cannot fetch ${this.url}: HTTP ${res.status} ${res.statusText}`.trim());
    }
    const range = parseContentRange(res.headers.get('content-range'));
    if (!range || range.start !== start || (range.total !== undefined && range.total !== this.size)) {
      await res.body?.cancel();
      throw new StorageError(`${this.url} changed on the server or sent a wrong range`);
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throw new StorageError(`cannot fetch ${this.url}: ${errorText(e)}`);
    }
    if (bytes.length !== stop - start) throw new StorageError(`short response from ${this.url}`);
    return bytes;
  }

  private touch(index: number): Uint8Array | undefined {
    const c = this.cache.get(index);
    if (c) {
      this.cache.delete(index);
      this.cache.set(index, c);
    }
    return c;
  }

  private insert(index: number, chunk: Uint8Array): void {
    const old = this.cache.get(index);
    if (old) {
      this.cache.delete(index);
      this.cachedBytes -= old.length;
    }
    // A chunk sliced out of a larger response would pin the whole response: copy it.
    const own = chunk.byteLength === chunk.buffer.byteLength ? chunk : chunk.slice();
    this.cache.set(index, own);
    this.cachedBytes += own.length;
    while (this.cachedBytes > this.cacheBytes) {
      const [k, v] = this.cache.entries().next().value as [number, Uint8Array];
      this.cache.delete(k);
      this.cachedBytes -= v.length;
    }
  }
}

function parseContentRange(h: string | null): { start: number; end: number; total?: number } | undefined {
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(h ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? undefined : Number(m[3]) };
}
