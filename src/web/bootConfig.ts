// A VmConfig from the page (any JavaScript may build one) checked and
// completed with the defaults: the bundled guest, 64 MiB, console=ttyS0.
// Everything wrong with it is reported as one VmError line.
import type { DiskSpec, ImageSource, VmConfig } from './api.ts';
import { MIN_RAM, MAX_RAM } from '../vmm/Machine.ts';

/** A problem the user can fix (bad input, missing image): shown as one line. */
export class VmError extends Error {
  override name = 'VmError';
}

export const DEFAULT_MEMORY_MIB = 64;
export const BUNDLED_KERNEL = 'bzImage';
export const BUNDLED_INITRD = 'initramfs.cpio.gz';
export const BUNDLED_APPEND = 'console=ttyS0';

export interface BootImage {
  /** "kernel" or "initrd": the progress events' `what`. */
  what: 'kernel' | 'initrd';
  source: ImageSource;
  /** For messages: the URL or the file's name. */
  label: string;
}

export interface ResolvedConfig {
  memoryBytes: number;
  kernel: BootImage;
  initrd?: BootImage;
  cmdline: string;
  /** The bundled guest (the kernel was not given). */
  bundled: boolean;
  disks: DiskSpec[];
  deterministic: boolean;
}

/**
 * Checks `config` and fills in the defaults. Relative URLs are resolved
 * against `pageUrl` (the page that asked, not the worker); the bundled images
 * live at `bundledImages` (a directory URL ending in '/').
 */
export function resolveConfig(config: VmConfig | undefined, bundledImages: URL, pageUrl: string): ResolvedConfig {
  const c = config ?? {};
  if (typeof c !== 'object' || Array.isArray(c)) throw new VmError('the configuration must be an object');
  const memoryMiB = c.memory ?? DEFAULT_MEMORY_MIB;
  if (typeof memoryMiB !== 'number' || !Number.isInteger(memoryMiB) || memoryMiB < MIN_RAM >> 20 || memoryMiB > MAX_RAM / 1048576) {
    throw new VmError(`memory: ${String(memoryMiB)} MiB: must be a whole number of MiB from ${MIN_RAM >> 20} to ${MAX_RAM / 1048576}`);
  }
  const bundled = c.kernel === undefined;
  const kernel = bundled
    ? { what: 'kernel' as const, source: { url: new URL(BUNDLED_KERNEL, bundledImages).href }, label: 'bundled kernel' }
    : bootImage('kernel', c.kernel!, pageUrl);
  let initrd: BootImage | undefined;
  if (c.initrd !== undefined) initrd = bootImage('initrd', c.initrd, pageUrl);
  else if (bundled) initrd = { what: 'initrd', source: { url: new URL(BUNDLED_INITRD, bundledImages).href }, label: 'bundled initrd' };
  if (c.append !== undefined && typeof c.append !== 'string') throw new VmError('append: the kernel command line must be a string');
  const cmdline = c.append ?? (bundled ? BUNDLED_APPEND : '');
  if (c.disks !== undefined && !Array.isArray(c.disks)) throw new VmError('disks: must be an array of disk specs');
  const disks = (c.disks ?? []).map((d, i) => checkDiskSpec(d, pageUrl, `disks[${i}]`));
  return { memoryBytes: memoryMiB * 1048576, kernel, initrd, cmdline, bundled, disks, deterministic: c.deterministic === true };
}

function bootImage(what: 'kernel' | 'initrd', source: ImageSource, pageUrl: string): BootImage {
  const s = checkSource(source, pageUrl, what);
  if ('stored' in s) throw new VmError(`${what}: images stored in the browser are for disks only; give a url or a blob`);
  return { what, source: s, label: sourceLabel(s) };
}

/** Validates a disk spec (resolving its URL); throws a VmError naming `where`. */
export function checkDiskSpec(spec: DiskSpec, pageUrl: string, where = 'disk'): DiskSpec {
  if (!spec || typeof spec !== 'object') throw new VmError(`${where}: a disk spec must be an object with a source`);
  const source = checkSource(spec.source, pageUrl, where);
  if (spec.format !== undefined && spec.format !== 'raw' && spec.format !== 'qcow2') {
    throw new VmError(`${where}: format '${String(spec.format)}' is not supported (raw or qcow2)`);
  }
  return { ...spec, source };
}

function checkSource(source: ImageSource, pageUrl: string, where: string): ImageSource {
  if (!source || typeof source !== 'object') throw new VmError(`${where}: the source must be { url }, { blob, name } or { stored }`);
  if ('url' in source) {
    if (typeof source.url !== 'string' || source.url.trim() === '') throw new VmError(`${where}: the url must be a non-empty string`);
    let url: URL;
    try {
      url = new URL(source.url, pageUrl);
    } catch {
      throw new VmError(`${where}: '${source.url}' is not a valid URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 'blob:' && url.protocol !== 'data:') {
      throw new VmError(`${where}: '${source.url}': only http(s), blob: and data: URLs can be loaded`);
    }
    return { ...source, url: url.href };
  }
  if ('blob' in source) {
    if (typeof Blob === 'undefined' || !(source.blob instanceof Blob)) throw new VmError(`${where}: blob must be a Blob or File`);
    return source;
  }
  if ('stored' in source) {
    if (typeof source.stored !== 'string' || source.stored === '') throw new VmError(`${where}: stored must be the name of a stored disk`);
    return source;
  }
  throw new VmError(`${where}: the source must be { url }, { blob, name } or { stored }`);
}

/** How a source is named in messages: its name, the file's name, or its URL. */
export function sourceLabel(source: ImageSource): string {
  if ('stored' in source) return source.stored;
  if ('blob' in source) return source.name || (source.blob as Partial<File>).name || 'blob';
  return source.name ?? source.url;
}

/** A short disk name: the given name, the file's name or the last part of the URL's path. */
export function diskBaseName(source: ImageSource): string {
  if ('url' in source && source.name === undefined) {
    try {
      const path = new URL(source.url).pathname;
      const last = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
      if (last) return last;
    } catch {
      // fall through to the label
    }
    return 'disk';
  }
  return sourceLabel(source);
}
