// A PCI function's 256-byte configuration space (PCI Local Bus Specification
// 3.0, chapter 6) with per-byte write masks.
//
// Every byte has a write mask (bits a configuration write may change; the
// rest keep their value: vendor/device/class and the like are read-only
// because their mask is zero) and a write-1-to-clear mask (bits a
// configuration write clears by writing 1, such as the status register's
// error bits). Device code sets values with the set*() accessors, which
// ignore both masks; the guest's configuration cycles go through write(),
// which honours them.
//
// The capabilities list (PCI 3.0 §6.7) is built here too: addCapability()
// places a capability at the next free dword in 0x40..0xFF, links it at the
// end of the list that starts at 0x34, and sets Status bit 4.

/** Register offsets of the type 0 header. */
export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION_ID = 0x08;
/** Programming interface, sub-class, base class: 0x09..0x0B. */
export const PCI_CLASS_PROG = 0x09;
export const PCI_CACHE_LINE_SIZE = 0x0c;
export const PCI_LATENCY_TIMER = 0x0d;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BIST = 0x0f;
export const PCI_BAR0 = 0x10;
export const PCI_CARDBUS_CIS = 0x28;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_ROM_ADDRESS = 0x30;
export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;
export const PCI_MIN_GNT = 0x3e;
export const PCI_MAX_LAT = 0x3f;
/** First byte after the standard header: device-specific registers and capabilities. */
export const PCI_CONFIG_HEADER_SIZE = 0x40;
export const PCI_CONFIG_SPACE_SIZE = 0x100;

/** Command register bits. */
export const PCI_COMMAND_IO = 0x0001;
export const PCI_COMMAND_MEMORY = 0x0002;
export const PCI_COMMAND_MASTER = 0x0004;
export const PCI_COMMAND_SPECIAL = 0x0008;
export const PCI_COMMAND_INVALIDATE = 0x0010;
export const PCI_COMMAND_VGA_PALETTE = 0x0020;
export const PCI_COMMAND_PARITY = 0x0040;
export const PCI_COMMAND_SERR = 0x0100;
export const PCI_COMMAND_FAST_BACK = 0x0200;
export const PCI_COMMAND_INTX_DISABLE = 0x0400;

/** Status register bits. */
export const PCI_STATUS_INTERRUPT = 0x0008;
export const PCI_STATUS_CAP_LIST = 0x0010;
export const PCI_STATUS_66MHZ = 0x0020;
export const PCI_STATUS_FAST_BACK = 0x0080;
export const PCI_STATUS_PARITY = 0x0100;
export const PCI_STATUS_DEVSEL_MASK = 0x0600;
export const PCI_STATUS_DEVSEL_FAST = 0x0000;
export const PCI_STATUS_DEVSEL_MEDIUM = 0x0200;
export const PCI_STATUS_DEVSEL_SLOW = 0x0400;
export const PCI_STATUS_SIG_TARGET_ABORT = 0x0800;
export const PCI_STATUS_REC_TARGET_ABORT = 0x1000;
export const PCI_STATUS_REC_MASTER_ABORT = 0x2000;
export const PCI_STATUS_SIG_SYSTEM_ERROR = 0x4000;
export const PCI_STATUS_DETECTED_PARITY = 0x8000;
/** The status bits a write of 1 clears (the error-reporting bits). */
export const PCI_STATUS_W1C =
  PCI_STATUS_PARITY |
  PCI_STATUS_SIG_TARGET_ABORT |
  PCI_STATUS_REC_TARGET_ABORT |
  PCI_STATUS_REC_MASTER_ABORT |
  PCI_STATUS_SIG_SYSTEM_ERROR |
  PCI_STATUS_DETECTED_PARITY;

/** Header type register: bit 7 = multi-function device. */
export const PCI_HEADER_TYPE_NORMAL = 0x00;
export const PCI_HEADER_TYPE_MULTI_FUNCTION = 0x80;

/** Base address register low bits. */
export const PCI_BAR_SPACE_IO = 0x01;
export const PCI_BAR_MEM_TYPE_32 = 0x00;
export const PCI_BAR_MEM_PREFETCH = 0x08;
export const PCI_BAR_IO_MASK = 0xfffffffc;
export const PCI_BAR_MEM_MASK = 0xfffffff0;

/** Capability IDs (PCI Code and ID Assignment Specification). */
export const PCI_CAP_ID_PM = 0x01;
export const PCI_CAP_ID_MSI = 0x05;
export const PCI_CAP_ID_VNDR = 0x09;
export const PCI_CAP_ID_MSIX = 0x11;

export class PciConfigSpace {
  /** The register contents. */
  readonly bytes = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  /** Per byte: bits a configuration write may set or clear. */
  readonly wmask = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  /** Per byte: bits a configuration write of 1 clears. */
  readonly w1cmask = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  /** Offset of the last capability in the list (0: none yet). */
  private lastCap = 0;
  /** Next free byte for a capability. */
  private capFree = PCI_CONFIG_HEADER_SIZE;

  /** A configuration read of `size` bytes at `offset` (little-endian; bytes past 0xFF read as ones). */
  read(offset: number, size: number): number {
    const b = this.bytes;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) {
      const o = offset + i;
      v = (v << 8) | (o < PCI_CONFIG_SPACE_SIZE ? b[o] : 0xff);
    }
    return v >>> 0;
  }

  /** A configuration write: per byte, only mask bits change and w1c bits written as 1 clear. */
  write(offset: number, size: number, value: number): void {
    const b = this.bytes;
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      if (o >= PCI_CONFIG_SPACE_SIZE) break;
      const v = (value >>> (8 * i)) & 0xff;
      const wm = this.wmask[o];
      const cm = this.w1cmask[o];
      b[o] = ((b[o] & ~wm) | (v & wm)) & ~(v & cm);
    }
  }

  u8(offset: number): number {
    return this.bytes[offset];
  }
  u16(offset: number): number {
    return this.bytes[offset] | (this.bytes[offset + 1] << 8);
  }
  u32(offset: number): number {
    return this.read(offset, 4);
  }

  /** Device-side stores: masks do not apply. */
  setU8(offset: number, v: number): void {
    this.bytes[offset] = v;
  }
  setU16(offset: number, v: number): void {
    this.bytes[offset] = v;
    this.bytes[offset + 1] = v >>> 8;
  }
  setU32(offset: number, v: number): void {
    for (let i = 0; i < 4; i++) this.bytes[offset + i] = v >>> (8 * i);
  }

  /** Sets the write mask of a 1-, 2- or 4-byte register at `offset` (mask given like the register's value). */
  setWriteMask(offset: number, size: 1 | 2 | 4, mask: number): void {
    for (let i = 0; i < size; i++) this.wmask[offset + i] = (mask >>> (8 * i)) & 0xff;
  }

  /** Makes `len` bytes from `offset` fully writable (0xFF) or read-only (0). */
  setWritable(offset: number, len: number, writable = true): void {
    this.wmask.fill(writable ? 0xff : 0, offset, offset + len);
  }

  /** Sets the write-1-to-clear mask of a 1-, 2- or 4-byte register at `offset`. */
  setW1cMask(offset: number, size: 1 | 2 | 4, mask: number): void {
    for (let i = 0; i < size; i++) this.w1cmask[offset + i] = (mask >>> (8 * i)) & 0xff;
  }

  /**
   * Adds a capability: the two header bytes (`id`, next pointer) followed by
   * `body` (the bytes from offset 2 on: for a vendor capability, cap_len
   * first). It goes at the next free dword-aligned offset in 0x40..0xFF and
   * is linked at the end of the list. Its bytes are read-only until the
   * device makes some writable. Returns its offset.
   */
  addCapability(id: number, body: Uint8Array | readonly number[] = []): number {
    const len = 2 + body.length;
    const offset = (this.capFree + 3) & ~3;
    if (offset + len > PCI_CONFIG_SPACE_SIZE) {
      throw new RangeError(`pci: no room for a ${len}-byte capability at 0x${offset.toString(16)}`);
    }
    this.bytes[offset] = id;
    this.bytes[offset + 1] = 0;
    for (let i = 0; i < body.length; i++) this.bytes[offset + 2 + i] = body[i];
    this.wmask.fill(0, offset, offset + len);
    this.w1cmask.fill(0, offset, offset + len);
    if (this.lastCap === 0) this.bytes[PCI_CAPABILITY_LIST] = offset;
    else this.bytes[this.lastCap + 1] = offset;
    this.lastCap = offset;
    this.capFree = offset + len;
    this.setU16(PCI_STATUS, this.u16(PCI_STATUS) | PCI_STATUS_CAP_LIST);
    return offset;
  }

  /** Offsets of the capabilities in list order (walks at most 48 entries, like an OS would). */
  capabilities(): number[] {
    const out: number[] = [];
    if (!(this.u16(PCI_STATUS) & PCI_STATUS_CAP_LIST)) return out;
    let p = this.bytes[PCI_CAPABILITY_LIST] & 0xfc;
    while (p >= PCI_CONFIG_HEADER_SIZE && out.length < 48) {
      out.push(p);
      p = this.bytes[p + 1] & 0xfc;
    }
    return out;
  }
}
