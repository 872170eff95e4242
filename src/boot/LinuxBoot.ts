// Direct Linux boot (Documentation/arch/x86/boot.rst): load a bzImage's
// protected-mode kernel at 1 MiB, fill a zero page (struct boot_params) with
// the setup header, e820 map, command line and initrd, and enter the 32-bit
// entry point in flat protected mode, as QEMU's -kernel does.
import { BootError, flatGdt, type BootPlan } from './BootPlan.ts';
import { e820Map, type E820Entry, E820_RAM, HIGH_MEMORY, PCI_HOLE_START } from './MemoryMap.ts';

// struct setup_header fields (offsets in the bzImage and in boot_params).
const SETUP_SECTS = 0x1f1;
const BOOT_FLAG = 0x1fe;
const HEADER_MAGIC = 0x202; // "HdrS"
const VERSION = 0x206;
const TYPE_OF_LOADER = 0x210;
const LOADFLAGS = 0x211;
const CODE32_START = 0x214;
const RAMDISK_IMAGE = 0x218;
const RAMDISK_SIZE = 0x21c;
const HEAP_END_PTR = 0x224;
const CMD_LINE_PTR = 0x228;
const INITRD_ADDR_MAX = 0x22c;
const CMDLINE_SIZE = 0x238;
const INIT_SIZE = 0x260;
// boot_params fields outside the header.
const EXT_MEM_K = 0x002;
const ALT_MEM_K = 0x1e0;
const E820_ENTRIES = 0x1e8;
const E820_TABLE = 0x2d0;
const E820_MAX = 128;
const ACPI_RSDP_ADDR = 0x070;

const LOADED_HIGH = 0x01;
const CAN_USE_HEAP = 0x80;

/** Where the loader puts its own structures (all below the EBDA). */
export const LINUX_GDT_ADDR = 0x5000;
export const LINUX_ZERO_PAGE_ADDR = 0x7000;
export const LINUX_CMDLINE_ADDR = 0x20000;
const KERNEL_ADDR = HIGH_MEMORY;

export interface LinuxBootOptions {
  cmdline?: string;
  initrd?: Uint8Array;
  ramSize: number;
  /** e820 map; defaults to the standard PC map for ramSize. */
  e820?: E820Entry[];
  /** Physical address of the ACPI RSDP, if the machine has one (protocol 2.14+ field). */
  rsdp?: number;
}

export function isBzImage(image: Uint8Array): boolean {
  if (image.length < 0x264) return false;
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  return dv.getUint16(BOOT_FLAG, true) === 0xaa55 && dv.getUint32(HEADER_MAGIC, true) === 0x53726448;
}

export function planLinuxBoot(image: Uint8Array, opts: LinuxBootOptions): BootPlan {
  if (!isBzImage(image)) throw new BootError('not a Linux bzImage (no boot sector signature or "HdrS" header)');
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const version = dv.getUint16(VERSION, true);
  if (version < 0x0206) {
    throw new BootError(`Linux boot protocol ${version >> 8}.${(version & 0xff).toString().padStart(2, '0')} is too old (2.06 or later needed)`);
  }
  if (!(image[LOADFLAGS] & LOADED_HIGH)) throw new BootError('the kernel is a zImage (loads low); only bzImage is supported');
  const setupSects = image[SETUP_SECTS] || 4;
  const setupSize = (setupSects + 1) * 512;
  if (image.length <= setupSize) {
    throw new BootError(`kernel image is truncated: ${image.length} bytes, but its setup code alone is ${setupSize}`);
  }
  const kernel = image.subarray(setupSize);
  const initSize = dv.getUint32(INIT_SIZE, true);
  // The header's syssize (0x1F4, in 16-byte paragraphs) says how long the protected-mode part is.
  const syssize = dv.getUint32(0x1f4, true) * 16;
  if (syssize > 0 && kernel.length < syssize) {
    throw new BootError(`kernel image is truncated: the header says ${syssize} bytes of kernel, the file has ${kernel.length}`);
  }
  const { ramSize } = opts;
  const below4g = Math.min(ramSize, PCI_HOLE_START);
  const needed = KERNEL_ADDR + Math.max(initSize, kernel.length);
  if (needed > below4g) {
    throw new BootError(`${ramSize >> 20} MiB of RAM is too little for this kernel (it needs ${Math.ceil(needed / 1048576)} MiB to decompress)`);
  }

  const cmdline = opts.cmdline ?? '';
  const cmdlineMax = dv.getUint32(CMDLINE_SIZE, true) || 255;
  const cmdBytes = new TextEncoder().encode(cmdline);
  if (cmdBytes.length > cmdlineMax) {
    throw new BootError(`kernel command line is ${cmdBytes.length} bytes; this kernel accepts at most ${cmdlineMax}`);
  }

  // The zero page starts as zeros with the setup header copied in.
  const zp = new Uint8Array(4096);
  const zdv = new DataView(zp.buffer);
  const headerEnd = 0x202 + image[0x201];
  zp.set(image.subarray(SETUP_SECTS, Math.min(headerEnd, image.length)), SETUP_SECTS);
  zp[TYPE_OF_LOADER] = 0xff; // "undefined" loader id, as boot.rst asks of loaders without one
  zp[LOADFLAGS] = (image[LOADFLAGS] | CAN_USE_HEAP) & ~0x20; // keep QUIET off
  zdv.setUint16(HEAP_END_PTR, 0xfe00, true);
  zdv.setUint32(CMD_LINE_PTR, LINUX_CMDLINE_ADDR, true);
  zdv.setUint32(CODE32_START, KERNEL_ADDR, true);

  const e820 = opts.e820 ?? e820Map(ramSize);
  if (e820.length > E820_MAX) throw new BootError(`memory map has ${e820.length} entries (at most ${E820_MAX})`);
  zp[E820_ENTRIES] = e820.length;
  e820.forEach((e, i) => {
    const o = E820_TABLE + i * 20;
    zdv.setBigUint64(o, BigInt(e.addr), true);
    zdv.setBigUint64(o + 8, BigInt(e.size), true);
    zdv.setUint32(o + 16, e.type, true);
  });
  const extK = Math.min(Math.floor((below4g - HIGH_MEMORY) / 1024), 0xffff);
  zdv.setUint16(EXT_MEM_K, extK, true);
  zdv.setUint32(ALT_MEM_K, Math.floor((below4g - HIGH_MEMORY) / 1024), true);
  if (opts.rsdp !== undefined && version >= 0x020e) zdv.setBigUint64(ACPI_RSDP_ADDR, BigInt(opts.rsdp), true);

  const loads: BootPlan['loads'] = [
    { addr: LINUX_GDT_ADDR, bytes: flatGdt(), what: 'boot GDT' },
    { addr: KERNEL_ADDR, bytes: kernel, what: 'kernel' },
    { addr: LINUX_CMDLINE_ADDR, bytes: Uint8Array.from([...cmdBytes, 0]), what: 'command line' },
  ];

  let initrdAddr: number | undefined;
  if (opts.initrd && opts.initrd.length > 0) {
    // As high as allowed (initrd_addr_max, below the PCI hole), page aligned,
    // inside one RAM region of the map (not over the ACPI tables), above
    // everything the kernel will decompress into.
    const maxEnd = Math.min((dv.getUint32(INITRD_ADDR_MAX, true) || 0x37ffffff) + 1, below4g);
    const kernelEnd = KERNEL_ADDR + Math.max(initSize, kernel.length);
    let addr = -1;
    for (const r of [...e820].filter((e) => e.type === E820_RAM).sort((a, b) => b.addr - a.addr)) {
      const top = Math.min(r.addr + r.size, maxEnd);
      const at = Math.floor((top - opts.initrd.length) / 4096) * 4096;
      if (at >= Math.max(r.addr, kernelEnd)) {
        addr = at;
        break;
      }
    }
    if (addr < 0) {
      throw new BootError(`${ramSize >> 20} MiB of RAM is too little for the kernel and a ${Math.ceil(opts.initrd.length / 1048576)} MiB initrd`);
    }
    initrdAddr = addr;
    zdv.setUint32(RAMDISK_IMAGE, addr, true);
    zdv.setUint32(RAMDISK_SIZE, opts.initrd.length, true);
    loads.push({ addr, bytes: opts.initrd, what: 'initrd' });
  }
  loads.push({ addr: LINUX_ZERO_PAGE_ADDR, bytes: zp, what: 'zero page' });

  return {
    loads,
    entry: KERNEL_ADDR,
    // The 32-bit protocol: ESI = boot_params; EBP, EDI, EBX = 0.
    regs: { esi: LINUX_ZERO_PAGE_ADDR, ebp: 0, edi: 0, ebx: 0 },
    gdt: { base: LINUX_GDT_ADDR, limit: 31, cs: 0x10, ds: 0x18 },
    fwCfg: {
      setup: image.subarray(0, setupSize),
      setupAddr: LINUX_ZERO_PAGE_ADDR,
      kernel,
      kernelAddr: KERNEL_ADDR,
      initrd: opts.initrd,
      initrdAddr,
      cmdline,
      cmdlineAddr: LINUX_CMDLINE_ADDR,
    },
  };
}
