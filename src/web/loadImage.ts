// Reads a whole image (kernel, initrd, or a disk whose server has no range
// requests) into memory from a URL or a Blob, reporting progress as it goes.
import type { ImageSource, LoadProgress } from './api.ts';
import { VmError } from './bootConfig.ts';
import { errorText } from '../storage/util.ts';

/** Images larger than this are refused rather than read into memory. */
export const MAX_WHOLE_IMAGE = 1 << 30;
/** At most this many progress reports per second (plus the first and the last). */
const PROGRESS_INTERVAL_MS = 100;

export interface LoadOptions {
  /** The progress events' `what` ("kernel", "initrd", a disk name). */
  what: string;
  /** For messages: "kernel 'https://…'". */
  label: string;
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

export async function loadImage(source: ImageSource, opts: LoadOptions): Promise<Uint8Array> {
  const fail = (why: string): never => {
    throw new VmError(`${opts.label}: ${why}`);
  };
  let stream: ReadableStream<Uint8Array>;
  let total: number | undefined;
  if ('blob' in source) {
    total = source.blob.size;
    if (total > MAX_WHOLE_IMAGE) fail(`${total} bytes is too large to load into memory`);
    stream = source.blob.stream();
  } else if ('url' in source) {
    const fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
    let res: Response;
    try {
      res = await fetchFn(source.url, { signal: opts.signal });
    } catch (e) {
      if (opts.signal?.aborted) throw abortError();
      // Browsers say only "Failed to fetch": name the usual causes.
      return fail(`cannot fetch ${source.url}: ${errorText(e)} (offline, or the server does not allow this page to read it: CORS)`);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      return fail(`cannot fetch ${source.url}: HTTP ${res.status} ${res.statusText}`.trim());
    }
    // A compressed transfer's Content-Length is not the size we will read.
    const length = res.headers.get('content-length');
    if (length !== null && !res.headers.get('content-encoding')) total = Number(length);
    if (total !== undefined && total > MAX_WHOLE_IMAGE) fail(`${total} bytes is too large to load into memory`);
    if (!res.body) return new Uint8Array(await res.arrayBuffer());
    stream = res.body;
  } else {
    return fail('images stored in the browser are for disks only');
  }

  const parts: Uint8Array[] = [];
  let loaded = 0;
  let lastReport = -Infinity;
  const report = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastReport < PROGRESS_INTERVAL_MS) return;
    lastReport = now;
    opts.onProgress?.({ what: opts.what, loaded, total });
  };
  report(true);
  const reader = stream.getReader();
  try {
    for (;;) {
      if (opts.signal?.aborted) throw abortError();
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (opts.signal?.aborted) throw abortError();
        return fail(`reading failed after ${loaded} bytes: ${errorText(e)}`);
      }
      if (chunk.done) break;
      parts.push(chunk.value);
      loaded += chunk.value.length;
      if (loaded > MAX_WHOLE_IMAGE) fail(`more than ${MAX_WHOLE_IMAGE} bytes is too large to load into memory`);
      report(false);
    }
  } finally {
    reader.releaseLock();
  }
  if (total !== undefined && loaded !== total) fail(`truncated: got ${loaded} of ${total} bytes`);
  report(true);
  if (parts.length === 1) return parts[0];
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return bytes;
}

export function abortError(): VmError {
  return new VmError('loading was cancelled');
}
