// Opens a disk image from a path (Node), a File/Blob (page) or an http(s) URL,
// as raw or qcow2, with its backing chain, optionally behind a copy-on-write
// overlay (`snapshot`).
//
// Format: given, or detected by the qcow2 magic. As in QEMU, an explicit
// format=raw on a qcow2 file stays raw (the guest sees the qcow2 bytes).
// Backing files named by a qcow2 image are opened read-only, relative to the
// image's directory (paths) or URL (http); a Blob's backing files need the
// `openBacking` option. Loops and chains deeper than MAX_BACKING_DEPTH fail.
// Sources that cannot be written (Blob, URL) get an overlay unless the
// caller asked for a read-only disk.

import { type BlockDevice, StorageError } from './BlockDevice.ts';
import { BlobDisk } from './BlobDisk.ts';
import { HttpDisk, type HttpDiskOptions } from './HttpDisk.ts';
import { OverlayDisk } from './OverlayDisk.ts';
import { type BackingRequest, MAX_BACKING_DEPTH, Qcow2Image } from './Qcow2Image.ts';

export type ImageFormat = 'raw' | 'qcow2';
export type ImageSource = string | Blob | BlockDevice;

export interface OpenImageOptions {
  /** Skip detection (a qcow2 file opened as raw stays raw). */
  format?: ImageFormat;
  /** The guest may not write (writes fail). */
  readOnly?: boolean;
  /** The image itself is never written: writes go to an in-memory overlay. */
  snapshot?: boolean;
  /** Opens backing files of images that have no location (Blob, BlockDevice); returns the container. */
  openBacking?: (request: BackingRequest) => Promise<BlockDevice | Blob>;
  /** Options for HTTP sources. */
  http?: HttpDiskOptions;
}

type Location = { kind: 'file'; path: string } | { kind: 'url'; url: string } | { kind: 'none'; name: string };

export function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

export async function openImage(source: ImageSource, options: OpenImageOptions = {}): Promise<BlockDevice> {
  const snapshot = options.snapshot ?? false;
  const readOnly = options.readOnly ?? false;
  const location = await locate(source);
  // The image file itself is written only when neither read-only nor snapshot.
  const writeImage = !readOnly && !snapshot;
  const container = await openContainer(source, location, !writeImage, options);
  let disk: BlockDevice;
  try {
    disk = await openLayer(container, location, options.format, !writeImage || container.readOnly, 0, [key(location)], options);
  } catch (e) {
    await container.close().catch(() => undefined);
    throw e;
  }
  if (snapshot || (!readOnly && disk.readOnly)) return new OverlayDisk(disk);
  return disk;
}

async function locate(source: ImageSource): Promise<Location> {
  if (typeof source === 'string') {
    if (isUrl(source)) return { kind: 'url', url: source };
    const path = await import('node:path');
    return { kind: 'file', path: path.resolve(source) };
  }
  if (isBlob(source)) return { kind: 'none', name: (source as Partial<File>).name || 'blob' };
  return { kind: 'none', name: 'device' };
}

function isBlob(x: unknown): x is Blob {
  return typeof Blob !== 'undefined' && x instanceof Blob;
}

function key(l: Location): string {
  return l.kind === 'file' ? l.path : l.kind === 'url' ? l.url : l.name;
}

async function openContainer(source: ImageSource | undefined, l: Location, readOnly: boolean, options: OpenImageOptions): Promise<BlockDevice> {
  if (l.kind === 'url') return HttpDisk.open(l.url, options.http);
  if (l.kind === 'file') {
    const { FileDisk } = await import('./FileDisk.ts');
    return FileDisk.open(l.path, { readOnly });
  }
  if (isBlob(source)) return new BlobDisk(source, l.name);
  if (source && typeof source === 'object') return source as BlockDevice;
  throw new StorageError(`cannot open ${l.name}`);
}

/** Opens `container` as the given or detected format; owns it from here on. */
async function openLayer(
  container: BlockDevice,
  location: Location,
  format: string | undefined,
  readOnly: boolean,
  depth: number,
  chain: string[],
  options: OpenImageOptions,
): Promise<BlockDevice> {
  if (format === undefined) format = (await Qcow2Image.probe(container)) ? 'qcow2' : 'raw';
  if (format === 'raw') return readOnly && !container.readOnly ? readOnlyView(container) : container;
  if (format !== 'qcow2') throw new StorageError(`unsupported image format '${format}'`);
  return Qcow2Image.open(container, {
    readOnly,
    depth,
    openBacking: (req) => openBacking(location, req, chain, options),
  });
}

async function openBacking(parent: Location, req: BackingRequest, chain: string[], options: OpenImageOptions): Promise<BlockDevice> {
  if (req.depth > MAX_BACKING_DEPTH) {
    throw new StorageError(`backing chain is deeper than ${MAX_BACKING_DEPTH} images`);
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(req.name) && !isUrl(req.name) && !/^[a-z]:[\\/]/i.test(req.name)) {
    throw new StorageError(`backing file '${req.name}' uses a protocol that is not supported`);
  }
  let location: Location;
  let source: ImageSource | undefined;
  if (isUrl(req.name)) location = { kind: 'url', url: req.name };
  else if (parent.kind === 'url') location = { kind: 'url', url: new URL(req.name, parent.url).href };
  else if (parent.kind === 'file') {
    const path = await import('node:path');
    location = { kind: 'file', path: path.resolve(path.dirname(parent.path), req.name) };
  } else {
    if (!options.openBacking) {
      throw new StorageError(`the image needs its backing file '${req.name}', which cannot be found from ${parent.name}`);
    }
    source = await options.openBacking(req);
    location = { kind: 'none', name: req.name };
  }
  const k = key(location);
  if (chain.includes(k)) {
    await closeSource(source);
    throw new StorageError(`backing chain loops: ${[...chain, k].join(' -> ')}`);
  }
  const format = req.format === undefined ? undefined : req.format;
  if (format !== undefined && format !== 'raw' && format !== 'qcow2') {
    await closeSource(source);
    throw new StorageError(`backing file '${req.name}' has unsupported format '${format}'`);
  }
  const container = await openContainer(source, location, true, options);
  try {
    return await openLayer(container, location, format, true, req.depth, [...chain, k], options);
  } catch (e) {
    await container.close().catch(() => undefined);
    throw e;
  }
}

async function closeSource(source: ImageSource | undefined): Promise<void> {
  if (source && typeof source === 'object' && !isBlob(source)) await (source as BlockDevice).close().catch(() => undefined);
}

/** A read-only face of a writable device (for raw images opened read-only through a caller's device). */
function readOnlyView(dev: BlockDevice): BlockDevice {
  return {
    get size() { return dev.size; },
    readOnly: true,
    read: (o, into) => dev.read(o, into),
    write: async () => { throw new StorageError('the disk is read-only'); },
    flush: async () => {},
    close: () => dev.close(),
  };
}
