// The page's URL parameters, so that a link reproduces a machine:
//   m= or memory=  guest RAM in MiB ("128", or with a unit: "128M", "1G")
//   kernel=URL     a bzImage or multiboot kernel (no initrd unless initrd= is given)
//   initrd=URL     an initramfs
//   append=TEXT    the kernel command line
//   disk=URL       a virtio disk (raw or qcow2, detected; .iso read-only); repeatable
// Relative URLs are resolved against the page.
import type { DiskSpec, VmConfig } from '../web/api.ts';

const KNOWN = ['m', 'memory', 'kernel', 'initrd', 'append', 'disk'];
export const MIN_MEMORY_MIB = 16;
export const MAX_MEMORY_MIB = 2048;

export interface UrlConfig {
  config: VmConfig;
  /** Parameters that were not understood (shown to the user, not fatal). */
  unknown: string[];
}

/** Throws a one-line Error for a value that cannot be used. */
export function parseUrlConfig(search: string, pageUrl: string): UrlConfig {
  const params = new URLSearchParams(search);
  const config: VmConfig = {};
  const memory = params.get('memory') ?? params.get('m');
  if (memory !== null) config.memory = parseMemory(memory);
  const kernel = params.get('kernel');
  if (kernel !== null) config.kernel = { url: resolve(kernel, pageUrl, 'kernel') };
  const initrd = params.get('initrd');
  if (initrd !== null) config.initrd = { url: resolve(initrd, pageUrl, 'initrd') };
  const append = params.get('append');
  if (append !== null) config.append = append;
  const disks: DiskSpec[] = params.getAll('disk').map((d) => diskSpec(resolve(d, pageUrl, 'disk')));
  if (disks.length) config.disks = disks;
  const unknown = [...new Set(params.keys())].filter((k) => !KNOWN.includes(k));
  return { config, unknown };
}

function parseMemory(text: string): number {
  const m = /^\s*(\d+)\s*([mg]i?b?)?\s*$/i.exec(text);
  if (!m) throw new Error(`memory: '${text}' is not a size in MiB (e.g. m=128)`);
  const mib = Number(m[1]) * (m[2]?.[0].toLowerCase() === 'g' ? 1024 : 1);
  if (mib < MIN_MEMORY_MIB || mib > MAX_MEMORY_MIB) {
    throw new Error(`memory: ${mib} MiB is outside ${MIN_MEMORY_MIB}..${MAX_MEMORY_MIB} MiB`);
  }
  return mib;
}

function resolve(value: string, pageUrl: string, what: string): string {
  if (value.trim() === '') throw new Error(`${what}: the URL is empty`);
  let url: URL;
  try {
    url = new URL(value, pageUrl);
  } catch {
    throw new Error(`${what}: '${value}' is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${what}: only http(s) URLs can be loaded, not '${value}'`);
  return url.href;
}

function diskSpec(url: string): DiskSpec {
  const name = decodeURIComponent(new URL(url).pathname.split('/').pop() || 'disk');
  return /\.iso$/i.test(name) ? { source: { url, name }, format: 'raw', readOnly: true } : { source: { url, name } };
}

