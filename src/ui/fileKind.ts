// What a file the user dropped or opened is, decided by its content (only
// its first bytes are read: a multi-GiB image is never loaded in the page):
// - a Linux bzImage: "HdrS" at 0x202 (the boot protocol's header magic);
// - a multiboot v1 kernel: 0x1BADB002 with a valid checksum, 4-byte aligned
//   in the first 8 KiB (where the specification says the header must be);
// - an initramfs: a cpio archive ("070701", "070702", "070707") or gzip;
// - a disk image: qcow2 by its magic, an ISO 9660 image ("CD001" at 0x8001)
//   read-only, anything else whose size is whole 512-byte sectors as raw.

export type FileKind =
  | { kind: 'kernel'; flavour: 'bzImage' | 'multiboot' }
  | { kind: 'initrd' }
  | { kind: 'disk'; format: 'raw' | 'qcow2'; readOnly: boolean };

const HEAD_BYTES = 8192;
const MULTIBOOT_MAGIC = 0x1badb002;
const DISK_EXTENSIONS = /\.(img|raw|qcow2|iso|bin|hdd|dsk)$/i;

export async function classifyFile(file: Blob, name: string): Promise<FileKind> {
  if (file.size === 0) throw new Error(`${name} is empty`);
  const head = new Uint8Array(await file.slice(0, HEAD_BYTES).arrayBuffer());
  if (ascii(head, 0, 4) === 'QFI\xfb') return { kind: 'disk', format: 'qcow2', readOnly: false };
  if (ascii(head, 0x202, 4) === 'HdrS') return { kind: 'kernel', flavour: 'bzImage' };
  if (hasMultibootHeader(head)) return { kind: 'kernel', flavour: 'multiboot' };
  if (/^07070[127]$/.test(ascii(head, 0, 6))) return { kind: 'initrd' };
  if (head[0] === 0x1f && head[1] === 0x8b) {
    if (DISK_EXTENSIONS.test(name)) throw new Error(`${name} is gzip-compressed: decompress it first`);
    return { kind: 'initrd' };
  }
  if (file.size >= 0x8006 && ascii(new Uint8Array(await file.slice(0x8001, 0x8006).arrayBuffer()), 0, 5) === 'CD001') {
    return { kind: 'disk', format: 'raw', readOnly: true };
  }
  if (/\.iso$/i.test(name)) return { kind: 'disk', format: 'raw', readOnly: true };
  if (file.size % 512 === 0 || DISK_EXTENSIONS.test(name)) return { kind: 'disk', format: 'raw', readOnly: false };
  throw new Error(`${name} is not a disk image, kernel or initramfs`);
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  if (bytes.length < at + length) return '';
  return String.fromCharCode(...bytes.subarray(at, at + length));
}

function hasMultibootHeader(head: Uint8Array): boolean {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  for (let at = 0; at + 12 <= head.length; at += 4) {
    if (view.getUint32(at, true) !== MULTIBOOT_MAGIC) continue;
    const flags = view.getUint32(at + 4, true);
    const checksum = view.getUint32(at + 8, true);
    if (((MULTIBOOT_MAGIC + flags + checksum) >>> 0) === 0) return true;
  }
  return false;
}
