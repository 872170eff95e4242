// A DiskSpec from the page → an open BlockDevice for virtio-blk:
//   url    → HttpDisk (range requests; when the server has none, the whole
//            image is downloaded instead, and the status says so)
//   blob   → BlobDisk, read lazily by slices (a dropped multi-GiB file is
//            never loaded whole)
//   stored → IndexedDbDisk (writes persist)
// qcow2 is detected by openImage. Sources that cannot be written (URL, Blob)
// get an in-memory overlay unless the disk is read-only: the note says so.
import type { DiskSpec } from './api.ts';
import { VmError, diskBaseName } from './bootConfig.ts';
import { loadImage } from './loadImage.ts';
import type { LoadProgress } from './api.ts';
import type { BlockDevice } from '../storage/BlockDevice.ts';
import { openImage } from '../storage/openImage.ts';
import { RangesNotSupportedError } from '../storage/HttpDisk.ts';
import type { DiskStore } from '../storage/IndexedDbDisk.ts';
import { errorText } from '../storage/util.ts';

export interface OpenedDisk {
  name: string;
  spec: DiskSpec;
  device: BlockDevice;
  readOnly: boolean;
  /** Something the user should know (writes are not kept, image downloaded whole). */
  note?: string;
}

export interface OpenDiskContext {
  /** The page's disk store (IndexedDB), opened on first use. */
  diskStore: () => Promise<DiskStore>;
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

/** Opens `spec` (already checked by checkDiskSpec) under `name`; errors are one-line VmErrors naming the disk. */
export async function openDisk(spec: DiskSpec, name: string, ctx: OpenDiskContext): Promise<OpenedDisk> {
  const source = spec.source;
  // CD images are raw and read-only, as QEMU's media=cdrom.
  const iso = /\.iso$/i.test(diskBaseName(source));
  const format = spec.format ?? (iso ? 'raw' : undefined);
  const readOnly = spec.readOnly ?? iso;
  const snapshot = spec.snapshot ?? false;
  const options = { format, readOnly, snapshot, http: { fetch: ctx.fetch } };
  const notes: string[] = [];
  let device: BlockDevice;
  try {
    if ('url' in source) {
      try {
        device = await openImage(source.url, options);
      } catch (e) {
        if (!(e instanceof RangesNotSupportedError)) throw e;
        const bytes = await loadImage(source, { what: name, label: `disk '${name}'`, onProgress: ctx.onProgress, signal: ctx.signal, fetch: ctx.fetch });
        device = await openImage(new Blob([bytes as Uint8Array<ArrayBuffer>]), options);
        notes.push(`the server has no range requests, so all ${formatBytes(bytes.length)} were downloaded`);
      }
    } else if ('blob' in source) {
      device = await openImage(source.blob, options);
    } else {
      const store = await ctx.diskStore();
      device = await openImage(await store.open(source.stored, { readOnly }), options);
    }
  } catch (e) {
    if (e instanceof VmError) throw e;
    throw new VmError(`disk '${name}': ${errorText(e)}`);
  }
  const persistent = 'stored' in source;
  if (!readOnly && (snapshot || !persistent)) notes.push('writes go to memory and are lost at power-off');
  return { name, spec, device, readOnly, note: notes.length ? `disk '${name}': ${notes.join('; ')}` : undefined };
}

/** A name not in `taken`: the source's own, or with " (2)", " (3)"… appended. */
export function uniqueDiskName(spec: DiskSpec, taken: Iterable<string>): string {
  const used = new Set(taken);
  const base = diskBaseName(spec.source);
  if (!used.has(base)) return base;
  for (let n = 2; ; n++) if (!used.has(`${base} (${n})`)) return `${base} (${n})`;
}

function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / 1048576).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`;
}
