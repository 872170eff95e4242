// Device access to guest physical RAM (DMA: fw_cfg, virtio). Every access is
// bounds-checked against RAM: an address the guest made up can name nothing
// but guest RAM, and an out-of-range one raises GuestMemoryError for the
// device to turn into an error status. Nothing outside RAM is ever touched.

export class GuestMemoryError extends Error {
  override name = 'GuestMemoryError';
}

export class GuestMemory {
  private readonly dv: DataView;

  /** `ram` is a view of guest physical RAM starting at address 0. */
  constructor(readonly ram: Uint8Array) {
    this.dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  }

  get size(): number {
    return this.ram.length;
  }

  /** Whether [addr, addr + len) lies entirely in RAM (no wrap, no overflow). */
  contains(addr: number, len: number): boolean {
    return Number.isSafeInteger(addr) && Number.isSafeInteger(len) && addr >= 0 && len >= 0 && addr + len <= this.ram.length;
  }

  private check(addr: number, len: number): void {
    if (!this.contains(addr, len)) {
      throw new GuestMemoryError(`guest address range 0x${addr.toString(16)}+0x${len.toString(16)} is outside RAM`);
    }
  }

  /** A copy of guest bytes. */
  read(addr: number, len: number): Uint8Array {
    this.check(addr, len);
    return this.ram.slice(addr, addr + len);
  }

  /** A live view of guest bytes (valid until the memory is replaced). */
  view(addr: number, len: number): Uint8Array {
    this.check(addr, len);
    return this.ram.subarray(addr, addr + len);
  }

  write(addr: number, bytes: Uint8Array): void {
    this.check(addr, bytes.length);
    this.ram.set(bytes, addr);
  }

  fill(addr: number, len: number, value: number): void {
    this.check(addr, len);
    this.ram.fill(value, addr, addr + len);
  }

  u8(addr: number): number {
    this.check(addr, 1);
    return this.ram[addr];
  }
  u16(addr: number): number {
    this.check(addr, 2);
    return this.dv.getUint16(addr, true);
  }
  u32(addr: number): number {
    this.check(addr, 4);
    return this.dv.getUint32(addr, true);
  }
  u64(addr: number): bigint {
    this.check(addr, 8);
    return this.dv.getBigUint64(addr, true);
  }
  setU8(addr: number, v: number): void {
    this.check(addr, 1);
    this.ram[addr] = v;
  }
  setU16(addr: number, v: number): void {
    this.check(addr, 2);
    this.dv.setUint16(addr, v, true);
  }
  setU32(addr: number, v: number): void {
    this.check(addr, 4);
    this.dv.setUint32(addr, v >>> 0, true);
  }
  setU64(addr: number, v: bigint): void {
    this.check(addr, 8);
    this.dv.setBigUint64(addr, BigInt.asUintN(64, v), true);
  }
}
