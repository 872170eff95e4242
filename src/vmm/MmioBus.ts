// The physical address space outside RAM: devices register address ranges;
// an access nobody claims reads as all ones and drops writes.

export type MmioSize = 1 | 2 | 4 | 8;

export interface MmioDevice {
  /** `offset` is relative to the start of the registered range. 8-byte accesses use bigint. */
  mmioRead(offset: number, size: MmioSize): number | bigint;
  mmioWrite(offset: number, size: MmioSize, value: number | bigint): void;
}

interface Region {
  base: number;
  end: number; // exclusive
  device: MmioDevice;
  name: string;
}

export class MmioBus {
  private regions: Region[] = [];
  private last: Region | undefined;
  onUnclaimed?: (addr: number, size: MmioSize, write: boolean) => void;

  register(base: number, size: number, device: MmioDevice, name: string): void {
    if (!Number.isSafeInteger(base) || !Number.isSafeInteger(size) || size <= 0 || base < 0 || base + size > 2 ** 32) {
      throw new RangeError(`${name}: MMIO range 0x${base.toString(16)}+0x${size.toString(16)} is outside the 32-bit space`);
    }
    for (const r of this.regions) {
      if (base < r.end && r.base < base + size) {
        throw new Error(`${name}: MMIO range 0x${base.toString(16)}+0x${size.toString(16)} overlaps ${r.name}`);
      }
    }
    this.regions.push({ base, end: base + size, device, name });
    this.regions.sort((a, b) => a.base - b.base);
  }

  unregister(device: MmioDevice): void {
    this.regions = this.regions.filter((r) => r.device !== device);
    this.last = undefined;
  }

  private find(addr: number): Region | undefined {
    const l = this.last;
    if (l && addr >= l.base && addr < l.end) return l;
    for (const r of this.regions) {
      if (addr >= r.base && addr < r.end) return (this.last = r);
    }
    return undefined;
  }

  read(addr: number, size: MmioSize): bigint {
    const r = this.find(addr);
    if (!r) {
      this.onUnclaimed?.(addr, size, false);
      return size === 8 ? 0xffffffffffffffffn : BigInt(2 ** (size * 8) - 1);
    }
    const v = r.device.mmioRead(addr - r.base, size);
    return typeof v === 'bigint' ? v : BigInt(v >>> 0);
  }

  write(addr: number, size: MmioSize, value: bigint): void {
    const r = this.find(addr);
    if (!r) {
      this.onUnclaimed?.(addr, size, true);
      return;
    }
    r.device.mmioWrite(addr - r.base, size, size === 8 ? value : Number(value & 0xffffffffn));
  }
}
