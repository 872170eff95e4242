// The I/O side of an 8-bit ISA device: a few byte-wide registers at
// consecutive ports. A 16- or 32-bit IN/OUT reaches such a device as byte
// cycles on consecutive ports (the ISA bus splits it), lowest port first;
// bytes that fall past the device's range float (read 0xff, writes dropped).
import type { AccessSize, PortDevice } from '../vmm/PortBus.ts';

export interface ByteRegisters {
  readByte(offset: number): number;
  writeByte(offset: number, value: number): void;
}

export class BytePorts implements PortDevice {
  constructor(
    private readonly regs: ByteRegisters,
    /** Number of ports the range covers. */
    private readonly count: number,
  ) {}

  portRead(offset: number, size: AccessSize): number {
    if (size === 1) return this.regs.readByte(offset) & 0xff;
    let v = 0;
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      const b = o < this.count ? this.regs.readByte(o) & 0xff : 0xff;
      v = (v | (b << (8 * i))) >>> 0;
    }
    return v;
  }

  portWrite(offset: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      if (o < this.count) this.regs.writeByte(o, (value >>> (8 * i)) & 0xff);
    }
  }
}
