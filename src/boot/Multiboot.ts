// Multiboot (version 1) kernels: the header in the first 8 KiB, loading
// either by the header's address fields (the "a.out kludge", flag 16) or as
// an ELF32 executable, and the multiboot information structure with memory
// sizes, the memory map, the command line and modules.
import { BootError, flatGdt, type BootPlan } from './BootPlan.ts';
import { e820Map, type E820Entry, E820_RAM, HIGH_MEMORY, PCI_HOLE_START } from './MemoryMap.ts';

const HEADER_MAGIC = 0x1badb002;
const BOOTLOADER_MAGIC = 0x2badb002;
const SEARCH_LIMIT = 8192;

const F_PAGE_ALIGN = 1 << 0;
const F_MEMORY_INFO = 1 << 1;
const F_VIDEO_MODE = 1 << 2;
const F_AOUT_KLUDGE = 1 << 16;
const SUPPORTED_REQUIRED = F_PAGE_ALIGN | F_MEMORY_INFO;

// multiboot_info flags we fill.
const MBI_MEMORY = 1 << 0;
const MBI_CMDLINE = 1 << 2;
const MBI_MODS = 1 << 3;
const MBI_MMAP = 1 << 6;
const MBI_LOADER_NAME = 1 << 9;

/** Where the loader puts the boot information (below the EBDA, above the IVT/BDA). */
export const MULTIBOOT_INFO_ADDR = 0x9000;
const MULTIBOOT_GDT_ADDR = 0x8000;

export interface MultibootModule {
  bytes: Uint8Array;
  cmdline?: string;
}

export interface MultibootOptions {
  cmdline?: string;
  modules?: MultibootModule[];
  ramSize: number;
  e820?: E820Entry[];
}

export function findMultibootHeader(image: Uint8Array): number {
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const end = Math.min(SEARCH_LIMIT, image.length) - 12;
  for (let off = 0; off <= end; off += 4) {
    if (dv.getUint32(off, true) !== HEADER_MAGIC) continue;
    const flags = dv.getUint32(off + 4, true);
    const checksum = dv.getUint32(off + 8, true);
    if (((HEADER_MAGIC + flags + checksum) >>> 0) === 0) return off;
  }
  return -1;
}

interface Segment {
  addr: number;
  bytes: Uint8Array;
  memSize: number;
}

export function planMultibootBoot(image: Uint8Array, opts: MultibootOptions): BootPlan {
  const hdr = findMultibootHeader(image);
  if (hdr < 0) throw new BootError('not a multiboot kernel (no valid header in the first 8 KiB)');
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const flags = dv.getUint32(hdr + 4, true);
  const required = flags & 0xffff;
  if (required & ~SUPPORTED_REQUIRED & ~F_VIDEO_MODE) {
    throw new BootError(`multiboot kernel requires features this loader lacks (flags 0x${flags.toString(16)})`);
  }
  const e820 = opts.e820 ?? e820Map(opts.ramSize);
  // Kernel and modules live in the RAM region that starts at 1 MiB (the
  // machine's ACPI tables may follow it).
  const high = e820.find((e) => e.type === E820_RAM && e.addr === HIGH_MEMORY);
  const below4g = Math.min(high ? high.addr + high.size : opts.ramSize, PCI_HOLE_START);
  const segments: Segment[] = [];
  let entry: number;

  if (flags & F_AOUT_KLUDGE) {
    if (hdr + 32 > image.length) throw new BootError('multiboot header is truncated');
    const headerAddr = dv.getUint32(hdr + 12, true);
    const loadAddr = dv.getUint32(hdr + 16, true);
    const loadEndAddr = dv.getUint32(hdr + 20, true);
    const bssEndAddr = dv.getUint32(hdr + 24, true);
    entry = dv.getUint32(hdr + 28, true);
    if (loadAddr > headerAddr) throw new BootError('multiboot header: load_addr is above header_addr');
    const fileOff = hdr - (headerAddr - loadAddr);
    if (fileOff < 0) throw new BootError('multiboot header: load_addr lies before the start of the file');
    const loadLen = loadEndAddr ? loadEndAddr - loadAddr : image.length - fileOff;
    if (loadLen < 0 || fileOff + loadLen > image.length) throw new BootError('multiboot kernel is truncated (load_end_addr beyond the file)');
    const memSize = bssEndAddr ? bssEndAddr - loadAddr : loadLen;
    if (memSize < loadLen) throw new BootError('multiboot header: bss_end_addr is below load_end_addr');
    segments.push({ addr: loadAddr, bytes: image.subarray(fileOff, fileOff + loadLen), memSize });
  } else {
    entry = loadElf32(image, segments);
  }

  for (const s of segments) {
    // Below 1 MiB lie the loader's structures and the BIOS areas.
    if (s.addr < HIGH_MEMORY || s.addr + s.memSize > below4g) {
      throw new BootError(`multiboot kernel wants memory at 0x${s.addr.toString(16)}-0x${(s.addr + s.memSize).toString(16)}, outside usable RAM above 1 MiB (${opts.ramSize >> 20} MiB)`);
    }
  }
  const kernelEnd = Math.max(...segments.map((s) => s.addr + s.memSize));

  // Modules go page aligned after the kernel; strings and the mmap in the info area.
  const loads: BootPlan['loads'] = [{ addr: MULTIBOOT_GDT_ADDR, bytes: flatGdt(), what: 'boot GDT' }];
  for (const s of segments) {
    const bytes = new Uint8Array(s.memSize);
    bytes.set(s.bytes);
    loads.push({ addr: s.addr, bytes, what: 'kernel' });
  }
  const info = new InfoArea(MULTIBOOT_INFO_ADDR);
  const mbi = info.alloc(88);
  let mbiFlags = MBI_MEMORY | MBI_MMAP | MBI_LOADER_NAME;
  info.u32(mbi + 4, 640); // mem_lower in KiB
  info.u32(mbi + 8, Math.floor((below4g - HIGH_MEMORY) / 1024)); // mem_upper
  if (opts.cmdline !== undefined) {
    info.u32(mbi + 16, info.string(opts.cmdline));
    mbiFlags |= MBI_CMDLINE;
  }
  let next = Math.ceil(kernelEnd / 4096) * 4096;
  const mods = opts.modules ?? [];
  if (mods.length > 0) {
    const table = info.alloc(16 * mods.length);
    mods.forEach((m, i) => {
      if (next + m.bytes.length > below4g) throw new BootError(`module ${i + 1} does not fit in ${opts.ramSize >> 20} MiB of RAM`);
      loads.push({ addr: next, bytes: m.bytes, what: `module ${i + 1}` });
      info.u32(table + i * 16, next);
      info.u32(table + i * 16 + 4, next + m.bytes.length);
      info.u32(table + i * 16 + 8, info.string(m.cmdline ?? ''));
      next = Math.ceil((next + m.bytes.length) / 4096) * 4096;
    });
    info.u32(mbi + 20, mods.length);
    info.u32(mbi + 24, table);
    mbiFlags |= MBI_MODS;
  }
  const mmap = info.alloc(24 * e820.length);
  e820.forEach((e, i) => {
    const o = mmap + i * 24;
    info.u32(o, 20); // size of the entry after this field
    info.u64(o + 4, e.addr);
    info.u64(o + 12, e.size);
    info.u32(o + 20, e.type);
  });
  info.u32(mbi + 44, 24 * e820.length);
  info.u32(mbi + 48, mmap);
  info.u32(mbi + 64, info.string('wkvm'));
  info.u32(mbi, mbiFlags);
  loads.push({ addr: MULTIBOOT_INFO_ADDR, bytes: info.bytes(), what: 'multiboot information' });

  return {
    loads,
    entry,
    regs: { eax: BOOTLOADER_MAGIC, ebx: MULTIBOOT_INFO_ADDR },
    gdt: { base: MULTIBOOT_GDT_ADDR, limit: 31, cs: 0x10, ds: 0x18 },
    fwCfg: { kernel: image, kernelEntry: entry, cmdline: opts.cmdline },
  };
}

function loadElf32(image: Uint8Array, out: Segment[]): number {
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (image.length < 52 || dv.getUint32(0, false) !== 0x7f454c46) {
    throw new BootError('multiboot kernel is neither ELF nor uses the address fields of its header');
  }
  if (image[4] !== 1 || image[5] !== 1) throw new BootError('multiboot ELF kernel is not 32-bit little-endian');
  if (dv.getUint16(18, true) !== 3) throw new BootError('multiboot ELF kernel is not for i386');
  const phoff = dv.getUint32(28, true);
  const phentsize = dv.getUint16(42, true);
  const phnum = dv.getUint16(44, true);
  if (phentsize < 32 || phoff + phnum * phentsize > image.length) throw new BootError('ELF program headers are truncated');
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (dv.getUint32(p, true) !== 1) continue; // PT_LOAD
    const offset = dv.getUint32(p + 4, true);
    const paddr = dv.getUint32(p + 12, true);
    const filesz = dv.getUint32(p + 16, true);
    const memsz = dv.getUint32(p + 20, true);
    if (offset + filesz > image.length) throw new BootError(`ELF segment ${i} is truncated (needs ${offset + filesz} bytes, file has ${image.length})`);
    if (memsz < filesz) throw new BootError(`ELF segment ${i} has memsz below filesz`);
    if (memsz === 0) continue;
    out.push({ addr: paddr, bytes: image.subarray(offset, offset + filesz), memSize: memsz });
  }
  if (out.length === 0) throw new BootError('ELF kernel has no loadable segments');
  return dv.getUint32(24, true);
}

/** A small bump allocator for the information structure and its strings. */
class InfoArea {
  private readonly buf = new Uint8Array(0x4000);
  private readonly dv = new DataView(this.buf.buffer);
  private used = 0;
  constructor(readonly base: number) {}
  alloc(n: number): number {
    const at = (this.used + 7) & ~7;
    if (at + n > this.buf.length) throw new BootError('multiboot information does not fit its 16 KiB area (too many modules or too long command lines)');
    this.used = at + n;
    return this.base + at;
  }
  string(s: string): number {
    const b = new TextEncoder().encode(s);
    const at = this.alloc(b.length + 1);
    this.buf.set(b, at - this.base);
    return at;
  }
  u32(addr: number, v: number): void {
    this.dv.setUint32(addr - this.base, v >>> 0, true);
  }
  u64(addr: number, v: number): void {
    this.dv.setBigUint64(addr - this.base, BigInt(v), true);
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.used);
  }
}
