// The I/O port space: devices register port ranges; an access to a port no
// device claims reads as all ones and drops writes, as on a PC's ISA bus.

export type AccessSize = 1 | 2 | 4;

export interface PortDevice {
  /** `offset` is relative to the start of the registered range. */
  portRead(offset: number, size: AccessSize): number;
  portWrite(offset: number, size: AccessSize, value: number): void;
}

interface Range {
  start: number;
  end: number; // exclusive
  device: PortDevice;
  name: string;
}

const ONES = [0, 0xff, 0xffff, 0, 0xffffffff];

export class PortBus {
  // One slot per port: lookups are O(1) on the hot path.
  private readonly slots: (Range | undefined)[] = new Array(0x10000);
  private readonly ranges: Range[] = [];
  /** Called for accesses nobody claims (for diagnostics); optional. */
  onUnclaimed?: (port: number, size: AccessSize, write: boolean, value: number) => void;

  register(start: number, count: number, device: PortDevice, name: string): void {
    if (!Number.isInteger(start) || !Number.isInteger(count) || count < 1 || start < 0 || start + count > 0x10000) {
      throw new RangeError(`${name}: port range 0x${start.toString(16)}+${count} is outside the I/O space`);
    }
    for (let p = start; p < start + count; p++) {
      const other = this.slots[p];
      if (other) throw new Error(`${name}: port 0x${p.toString(16)} already belongs to ${other.name}`);
    }
    const r: Range = { start, end: start + count, device, name };
    this.ranges.push(r);
    for (let p = start; p < start + count; p++) this.slots[p] = r;
  }

  unregister(device: PortDevice): void {
    for (const r of this.ranges.filter((x) => x.device === device)) {
      for (let p = r.start; p < r.end; p++) this.slots[p] = undefined;
      this.ranges.splice(this.ranges.indexOf(r), 1);
    }
  }

  read(port: number, size: AccessSize): number {
    const r = this.slots[port & 0xffff];
    if (!r) {
      this.onUnclaimed?.(port, size, false, 0);
      return ONES[size];
    }
    return r.device.portRead(port - r.start, size) >>> 0;
  }

  write(port: number, size: AccessSize, value: number): void {
    const r = this.slots[port & 0xffff];
    if (!r) {
      this.onUnclaimed?.(port, size, true, value);
      return;
    }
    r.device.portWrite(port - r.start, size, value >>> 0);
  }

  /** Who owns a port (diagnostics, tests). */
  ownerOf(port: number): string | undefined {
    return this.slots[port & 0xffff]?.name;
  }
}
