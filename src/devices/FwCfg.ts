// QEMU's firmware configuration device (fw_cfg) on its x86 I/O ports
// (QEMU docs/specs/fw_cfg.rst): the channel through which SeaBIOS, OVMF,
// the linuxboot option ROM and Linux's qemu_fw_cfg driver read the
// machine's configuration, -kernel images and named files.
//
// Ports:
// - 0x510 selector: a 16-bit write selects an item and rewinds its offset to
//   0. Bit 15 selects the architecture-specific table, bit 14 (the old
//   write channel) is ignored, bits 13:0 are the item.
// - 0x511 data: each 8-bit read returns the next byte of the selected item
//   and advances the offset; past the end (or with nothing selected) reads
//   return 0. As in QEMU, a byte read of 0x510 is a data read too, data
//   writes are ignored (removed in QEMU 2.4), and other access sizes on
//   0x510/0x511 are not decoded (reads give all ones, writes do nothing).
// - 0x514..0x51B DMA address, big-endian: a 32-bit write at 0x514 sets the
//   high half, a 32-bit write at 0x518 the low half and starts the
//   transfer; the register is 0 again afterwards. Reads return the
//   signature "QEMU CFG" (bytes in port order, any width).
//
// DMA (FWCfgDmaAccess {be32 control; be32 length; be64 address}): control
// bit 3 selects the item in bits 31:16 first; then bit 1 read (copy
// `length` bytes from the item's offset to `address`; past the item's end
// the destination is zero-filled), else bit 4 write (no item here is
// writable: always the error bit), else bit 2 skip (advance the offset,
// stopping at the item's end). The device then stores control = 0, or 1
// (error), into the descriptor. Every guest address is checked against RAM
// through GuestMemory before anything is touched: a descriptor or a
// destination range that is not entirely in RAM (including one whose end
// overflows) gets the error bit with nothing written, so a hostile
// descriptor can only name guest RAM, and a transfer never does more than
// one bounded copy and one bounded fill. A descriptor that is not itself in
// RAM gets no status at all (there is nowhere to write it).
//
// Items are little-endian unless said otherwise; the file directory (0x19)
// is big-endian: be32 count, then per file {be32 size; be16 select;
// u16 reserved; char name[56]}, sorted by name. Files get selectors from
// 0x20 up in the order they are added (stable for the caller; QEMU's
// non-legacy order renumbers by name, which no guest can tell since guests
// look selectors up in the directory).
//
// Items are configuration the machine supplies, not state: saveState keeps
// only the selection, the offset and the DMA address latch; the machine
// adds the same items on the restoring side.
import type { PortBus, AccessSize } from '../vmm/PortBus.ts';
import type { GuestMemory } from '../vmm/GuestMemory.ts';
import { clonePlain, type Device } from './Device.ts';

export const FW_CFG_PORT_SEL = 0x510;
export const FW_CFG_PORT_DATA = 0x511;
export const FW_CFG_PORT_DMA = 0x514;

export const FW_CFG_SIGNATURE = 0x00;
export const FW_CFG_ID = 0x01;
export const FW_CFG_UUID = 0x02;
export const FW_CFG_RAM_SIZE = 0x03;
export const FW_CFG_NOGRAPHIC = 0x04;
export const FW_CFG_NB_CPUS = 0x05;
export const FW_CFG_MACHINE_ID = 0x06;
export const FW_CFG_KERNEL_ADDR = 0x07;
export const FW_CFG_KERNEL_SIZE = 0x08;
export const FW_CFG_KERNEL_CMDLINE = 0x09;
export const FW_CFG_INITRD_ADDR = 0x0a;
export const FW_CFG_INITRD_SIZE = 0x0b;
export const FW_CFG_BOOT_DEVICE = 0x0c;
export const FW_CFG_NUMA = 0x0d;
export const FW_CFG_BOOT_MENU = 0x0e;
export const FW_CFG_MAX_CPUS = 0x0f;
export const FW_CFG_KERNEL_ENTRY = 0x10;
export const FW_CFG_KERNEL_DATA = 0x11;
export const FW_CFG_INITRD_DATA = 0x12;
export const FW_CFG_CMDLINE_ADDR = 0x13;
export const FW_CFG_CMDLINE_SIZE = 0x14;
export const FW_CFG_CMDLINE_DATA = 0x15;
export const FW_CFG_SETUP_ADDR = 0x16;
export const FW_CFG_SETUP_SIZE = 0x17;
export const FW_CFG_SETUP_DATA = 0x18;
export const FW_CFG_FILE_DIR = 0x19;
export const FW_CFG_FILE_FIRST = 0x20;
export const FW_CFG_WRITE_CHANNEL = 0x4000;
export const FW_CFG_ARCH_LOCAL = 0x8000;
/** x86 architecture-specific items. */
export const FW_CFG_ACPI_TABLES = FW_CFG_ARCH_LOCAL + 0;
export const FW_CFG_SMBIOS_ENTRIES = FW_CFG_ARCH_LOCAL + 1;
export const FW_CFG_IRQ0_OVERRIDE = FW_CFG_ARCH_LOCAL + 2;
export const FW_CFG_E820_TABLE = FW_CFG_ARCH_LOCAL + 3;
export const FW_CFG_HPET = FW_CFG_ARCH_LOCAL + 4;

/** FW_CFG_ID bits. */
export const FW_CFG_VERSION = 0x01;
export const FW_CFG_VERSION_DMA = 0x02;

/** FWCfgDmaAccess.control bits. */
export const FW_CFG_DMA_CTL_ERROR = 0x01;
export const FW_CFG_DMA_CTL_READ = 0x02;
export const FW_CFG_DMA_CTL_SKIP = 0x04;
export const FW_CFG_DMA_CTL_SELECT = 0x08;
export const FW_CFG_DMA_CTL_WRITE = 0x10;

/** File names are NUL-terminated in 56 bytes. */
export const FW_CFG_MAX_FILE_PATH = 56;

/** "QEMU CFG": what the DMA address register reads as. */
const DMA_SIGNATURE = [0x51, 0x45, 0x4d, 0x55, 0x20, 0x43, 0x46, 0x47];
/** Bits 13:0 name the item, bit 15 the table; bit 14 is ignored. */
const KEY_MASK = FW_CFG_ARCH_LOCAL | 0x3fff;
const NO_ITEM = new Uint8Array(0);

export interface FwCfgOptions {
  /** Guest RAM for the DMA interface; without it the ID item says "no DMA" and DMA writes do nothing. */
  memory?: GuestMemory;
  /** Offer the DMA interface (default: when `memory` is given). */
  dma?: boolean;
  /** FW_CFG_RAM_SIZE (u64), bytes. */
  ramSize?: number | bigint;
  /** FW_CFG_NB_CPUS (u16), default 1. */
  nbCpus?: number;
  /** FW_CFG_MAX_CPUS (u16), default nbCpus. */
  maxCpus?: number;
  /** FW_CFG_UUID, 16 bytes (default all zero). */
  uuid?: Uint8Array;
  /** FW_CFG_NOGRAPHIC (u16), default false. */
  nographic?: boolean;
  /** FW_CFG_BOOT_MENU (u16), default false. */
  bootMenu?: boolean;
}

/** What the machine hands a BIOS for a -kernel boot (Linux boot protocol split as QEMU does). */
export interface FwCfgKernel {
  /** Real-mode part (boot sector + setup), loaded at setupAddr. */
  setup?: Uint8Array;
  setupAddr?: number;
  /** Protected-mode part, loaded at kernelAddr. */
  kernel?: Uint8Array;
  kernelAddr?: number;
  /** Entry point (multiboot-style loaders). */
  kernelEntry?: number;
  initrd?: Uint8Array;
  initrdAddr?: number;
  /** Command line (stored NUL-terminated; CMDLINE_SIZE counts the NUL). */
  cmdline?: string;
  cmdlineAddr?: number;
}

export interface FwCfgState {
  /** The selector as last written (FW_CFG_SIGNATURE after reset). */
  selector: number;
  /** Offset into the selected item. */
  offset: number;
  /** High half of the DMA address, latched by a write to 0x514. */
  dmaAddressHigh: number;
}

interface FileEntry {
  name: string;
  select: number;
}

function u16le(v: number): Uint8Array {
  return new Uint8Array([v & 0xff, (v >>> 8) & 0xff]);
}
function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}
function u64le(v: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true);
  return b;
}
function bswap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

export class FwCfg implements Device<FwCfgState> {
  readonly name = 'fw_cfg';
  state: FwCfgState = { selector: FW_CFG_SIGNATURE, offset: 0, dmaAddressHigh: 0 };
  private readonly items = new Map<number, Uint8Array>();
  private readonly files: FileEntry[] = [];
  private readonly memory: GuestMemory | undefined;
  private readonly dma: boolean;
  /** The selected item's bytes (empty when nothing is there): the data port's hot path. */
  private cur: Uint8Array = NO_ITEM;

  private readonly selData = {
    portRead: (offset: number, size: AccessSize): number => (size === 1 ? this.readData() : 2 ** (8 * size) - 1),
    portWrite: (offset: number, size: AccessSize, value: number): void => {
      if (offset === 0 && size === 2) this.select(value & 0xffff);
    },
  };
  private readonly dmaPort = {
    portRead: (offset: number, size: AccessSize): number => {
      let v = 0;
      for (let i = 0; i < size; i++) {
        const o = offset + i;
        v |= (o < 8 ? DMA_SIGNATURE[o] : 0xff) << (8 * i);
      }
      return v >>> 0;
    },
    portWrite: (offset: number, size: AccessSize, value: number): void => {
      if (size !== 4) return;
      if (offset === 0) this.state.dmaAddressHigh = bswap32(value) >>> 0;
      else if (offset === 4) {
        const addr = this.state.dmaAddressHigh * 2 ** 32 + (bswap32(value) >>> 0);
        this.state.dmaAddressHigh = 0;
        this.dmaTransfer(addr);
      }
    },
  };

  constructor(opts: FwCfgOptions = {}) {
    this.memory = opts.memory;
    this.dma = (opts.dma ?? opts.memory !== undefined) && opts.memory !== undefined;
    const nbCpus = opts.nbCpus ?? 1;
    this.addItem(FW_CFG_SIGNATURE, new TextEncoder().encode('QEMU'));
    this.addItem(FW_CFG_ID, u32le(FW_CFG_VERSION | (this.dma ? FW_CFG_VERSION_DMA : 0)));
    const uuid = opts.uuid ?? new Uint8Array(16);
    if (uuid.length !== 16) throw new RangeError('fw_cfg: a UUID is 16 bytes');
    this.addItem(FW_CFG_UUID, uuid);
    this.addItem(FW_CFG_RAM_SIZE, u64le(opts.ramSize ?? 0));
    this.addItem(FW_CFG_NOGRAPHIC, u16le(opts.nographic ? 1 : 0));
    this.addItem(FW_CFG_NB_CPUS, u16le(nbCpus));
    this.addItem(FW_CFG_MAX_CPUS, u16le(opts.maxCpus ?? nbCpus));
    this.addItem(FW_CFG_BOOT_MENU, u16le(opts.bootMenu ? 1 : 0));
    this.rebuildDirectory();
  }

  /** Claims 0x510..0x511 and, with DMA, 0x514..0x51B. */
  register(bus: PortBus): void {
    bus.register(FW_CFG_PORT_SEL, 2, this.selData, 'fw_cfg');
    if (this.dma) bus.register(FW_CFG_PORT_DMA, 8, this.dmaPort, 'fw_cfg.dma');
  }

  // --- items ------------------------------------------------------------------------

  /** Sets item `key` (bit 15: architecture-specific) to a copy of `bytes`, replacing any earlier one. */
  addItem(key: number, bytes: Uint8Array): void {
    if (!Number.isInteger(key) || key < 0 || key > 0xffff) throw new RangeError(`fw_cfg: key ${key} is not 16-bit`);
    const k = key & KEY_MASK;
    if (k === FW_CFG_FILE_DIR) throw new Error('fw_cfg: the file directory is built from addFile()');
    if (this.files.some((f) => f.select === k)) throw new Error(`fw_cfg: key 0x${k.toString(16)} belongs to a file`);
    this.items.set(k, bytes.slice());
    this.refreshSelection();
  }

  addU16(key: number, v: number): void {
    this.addItem(key, u16le(v));
  }
  addU32(key: number, v: number): void {
    this.addItem(key, u32le(v));
  }
  addU64(key: number, v: number | bigint): void {
    this.addItem(key, u64le(v));
  }
  /** A NUL-terminated string. */
  addString(key: number, s: string): void {
    const t = new TextEncoder().encode(s);
    const b = new Uint8Array(t.length + 1);
    b.set(t);
    this.addItem(key, b);
  }

  /**
   * Adds a named file (listed in the directory) and returns its selector.
   * Adding a name that exists replaces its contents and keeps its selector.
   */
  addFile(name: string, bytes: Uint8Array): number {
    const encoded = new TextEncoder().encode(name);
    if (encoded.length === 0 || encoded.length >= FW_CFG_MAX_FILE_PATH || encoded.includes(0)) {
      throw new RangeError(`fw_cfg: file name "${name}" must be 1..${FW_CFG_MAX_FILE_PATH - 1} bytes without NUL`);
    }
    let entry = this.files.find((f) => f.name === name);
    if (!entry) {
      let select = FW_CFG_FILE_FIRST;
      while (this.items.has(select)) select++;
      if (select > 0x3fff) throw new RangeError('fw_cfg: no selectors left for files');
      entry = { name, select };
      this.files.push(entry);
    }
    this.items.set(entry.select, bytes.slice());
    this.rebuildDirectory();
    return entry.select;
  }

  /** The selector of file `name`, or undefined. */
  fileSelector(name: string): number | undefined {
    return this.files.find((f) => f.name === name)?.select;
  }

  /** The items QEMU gives a BIOS for -kernel/-initrd/-append (keys 0x07..0x18). */
  setKernel(k: FwCfgKernel): void {
    if (k.kernel) {
      this.addU32(FW_CFG_KERNEL_ADDR, k.kernelAddr ?? 0);
      this.addU32(FW_CFG_KERNEL_SIZE, k.kernel.length);
      this.addItem(FW_CFG_KERNEL_DATA, k.kernel);
    }
    if (k.kernelEntry !== undefined) this.addU32(FW_CFG_KERNEL_ENTRY, k.kernelEntry);
    if (k.setup) {
      this.addU32(FW_CFG_SETUP_ADDR, k.setupAddr ?? 0);
      this.addU32(FW_CFG_SETUP_SIZE, k.setup.length);
      this.addItem(FW_CFG_SETUP_DATA, k.setup);
    }
    if (k.initrd) {
      this.addU32(FW_CFG_INITRD_ADDR, k.initrdAddr ?? 0);
      this.addU32(FW_CFG_INITRD_SIZE, k.initrd.length);
      this.addItem(FW_CFG_INITRD_DATA, k.initrd);
    }
    if (k.cmdline !== undefined) {
      const addr = k.cmdlineAddr ?? 0;
      this.addU32(FW_CFG_KERNEL_CMDLINE, addr); // the legacy name for the command line's address
      this.addU32(FW_CFG_CMDLINE_ADDR, addr);
      this.addString(FW_CFG_CMDLINE_DATA, k.cmdline);
      this.addU32(FW_CFG_CMDLINE_SIZE, this.items.get(FW_CFG_CMDLINE_DATA)!.length);
    }
  }

  /** A copy of item `key` (tests, diagnostics). */
  item(key: number): Uint8Array | undefined {
    return this.items.get(key & KEY_MASK)?.slice();
  }

  private rebuildDirectory(): void {
    const sorted = [...this.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const dir = new Uint8Array(4 + 64 * sorted.length);
    const dv = new DataView(dir.buffer);
    dv.setUint32(0, sorted.length, false);
    const enc = new TextEncoder();
    sorted.forEach((f, i) => {
      const o = 4 + 64 * i;
      dv.setUint32(o, this.items.get(f.select)!.length, false);
      dv.setUint16(o + 4, f.select, false);
      dir.set(enc.encode(f.name), o + 8);
    });
    this.items.set(FW_CFG_FILE_DIR, dir);
    this.refreshSelection();
  }

  // --- selector and data port ------------------------------------------------------

  private select(key: number): void {
    this.state.selector = key;
    this.state.offset = 0;
    this.cur = this.items.get(key & KEY_MASK) ?? NO_ITEM;
  }

  /** Points `cur` at the selected item again after the item table changed. */
  private refreshSelection(): void {
    this.cur = this.items.get(this.state.selector & KEY_MASK) ?? NO_ITEM;
  }

  private readData(): number {
    const s = this.state;
    const item = this.cur;
    if (s.offset >= item.length) return 0;
    return item[s.offset++];
  }

  // --- DMA ------------------------------------------------------------------------

  private dmaTransfer(desc: number): void {
    const mem = this.memory;
    if (!mem) return;
    if (!mem.contains(desc, 16)) {
      if (mem.contains(desc, 4)) mem.setU32(desc, bswap32(FW_CFG_DMA_CTL_ERROR));
      return;
    }
    const control = bswap32(mem.u32(desc)) >>> 0;
    const length = bswap32(mem.u32(desc + 4)) >>> 0;
    const address = (bswap32(mem.u32(desc + 8)) >>> 0) * 2 ** 32 + (bswap32(mem.u32(desc + 12)) >>> 0);

    if (control & FW_CFG_DMA_CTL_SELECT) this.select(control >>> 16);
    const s = this.state;
    const item = this.cur;
    let result = 0;
    if (control & FW_CFG_DMA_CTL_READ) {
      if (length > 0) {
        if (!mem.contains(address, length)) {
          result = FW_CFG_DMA_CTL_ERROR;
        } else {
          const n = Math.min(length, Math.max(0, item.length - s.offset));
          if (n > 0) mem.write(address, item.subarray(s.offset, s.offset + n));
          if (length > n) mem.fill(address + n, length - n, 0);
          s.offset += n;
        }
      }
    } else if (control & FW_CFG_DMA_CTL_WRITE) {
      // No item is writable: the spec's "writes to read-only items are rejected".
      if (length > 0) result = FW_CFG_DMA_CTL_ERROR;
    } else if (control & FW_CFG_DMA_CTL_SKIP) {
      if (s.offset < item.length) s.offset = Math.min(item.length, s.offset + length);
    }
    // Neither read, write nor skip: nothing to transfer (select only, or nothing).
    mem.setU32(desc, bswap32(result));
  }

  // --- Device -------------------------------------------------------------------

  /** Selects the signature, offset 0, DMA latch cleared (QEMU's fw_cfg_reset). */
  reset(): void {
    this.state = { selector: FW_CFG_SIGNATURE, offset: 0, dmaAddressHigh: 0 };
    this.refreshSelection();
  }

  saveState(): FwCfgState {
    return clonePlain(this.state);
  }

  loadState(state: FwCfgState): void {
    const s = clonePlain(state);
    if (![s.selector, s.offset, s.dmaAddressHigh].every((v) => Number.isSafeInteger(v) && v >= 0)) {
      throw new Error('fw_cfg: saved selector, offset and dmaAddressHigh must be non-negative integers');
    }
    this.state = s;
    this.refreshSelection();
  }
}
