// The host side of PCI bus 0: configuration mechanism #1 (PCI Local Bus
// Specification 3.0, §3.2.2.3.2) at I/O ports 0xCF8..0xCFF, and the PIIX3's
// reset control register at 0xCF9 (82371SB datasheet, "RC—Reset Control
// Register"), which sits inside the CONFIG_ADDRESS dword on every PIIX board.
//
// - CONFIG_ADDRESS (0xCF8) is latched only by a dword access at 0xCF8:
//   bit 31 enable, bits 23:16 bus, 15:11 device, 10:8 function, 7:2
//   register; bits 30:24 and 1:0 read as zero. A byte or word access in
//   0xCF8..0xCFB passes through as an ordinary I/O cycle: port 0xCF9 is the
//   reset control register, the other bytes are unclaimed (read 0xFF).
// - CONFIG_DATA (0xCFC..0xCFF): with the enable bit set, a byte, word or
//   dword at 0xCFC + k reaches register (CONFIG_ADDRESS[7:2] << 2) + k of
//   the addressed function. Only bus 0 exists; a function nobody
//   registered answers all ones (master abort) and drops writes. With the
//   enable bit clear the ports are ordinary, unclaimed I/O.
//   Accesses that straddle port boundaries are split into bytes, each
//   handled as above (bytes past 0xCFF are unclaimed).
// - Reset control (0xCF9): bit 1 SRST (1 = hard reset, 0 = soft reset /
//   INIT), bit 2 RCPU: writing it set starts the reset through the onReset
//   callback, with `hard` taken from bit 1 of the same write. Only SRST is
//   kept; RCPU always reads 0 (as QEMU's PIIX does), so every write with bit
//   2 set is a 0→1 transition.
//
// The host also carries the INTx of every function to the interrupt router
// (the PIIX3), and owns nothing else: each PCI device is a Device of its
// own, which the machine resets and saves.
import type { MmioBus } from '../../vmm/MmioBus.ts';
import type { AccessSize, PortBus, PortDevice } from '../../vmm/PortBus.ts';
import { clonePlain, type Device } from '../Device.ts';
import type { PciBus, PciDevice } from './PciDevice.ts';

/** Receives every function's INTx level (the PIIX3 implements it). */
export interface PciIntxRouter {
  /** INTx pin `pin` (1..4) of function `devfn` on bus 0 is now at `level`. */
  routeIntx(devfn: number, pin: number, level: boolean): void;
}

export interface PciHostOptions {
  ports: PortBus;
  mmio: MmioBus;
  /** Port 0xCF9 was written with bit 2 set: reset the machine (`hard`: bit 1 was set too). */
  onReset?: (hard: boolean) => void;
  /** A BAR could not be mapped because its range is taken (diagnostics). */
  onBarConflict?: (device: PciDevice, bar: number, address: number, error: unknown) => void;
}

export interface PciHostState {
  /** CONFIG_ADDRESS as latched. */
  configAddress: number;
  /** Reset control register (only bit 1, SRST, is kept). */
  resetControl: number;
}

export const PCI_CONFIG_ADDRESS_PORT = 0xcf8;
export const PCI_RESET_CONTROL_PORT = 0xcf9;
export const PCI_CONFIG_DATA_PORT = 0xcfc;

const CONFIG_ENABLE = 0x80000000;
/** Bits of CONFIG_ADDRESS that exist (30:24 and 1:0 are reserved, read 0). */
const CONFIG_ADDRESS_MASK = 0x80fffffc;
const RC_SRST = 0x02;
const RC_RCPU = 0x04;

const ONES = [0, 0xff, 0xffff, 0xffffff, 0xffffffff];

export function devfnOf(slot: number, fn: number): number {
  return (slot << 3) | fn;
}

export class PciHost implements PortDevice, PciBus, Device<PciHostState> {
  readonly name = 'pci-host';
  readonly ports: PortBus;
  readonly mmio: MmioBus;
  readonly onBarConflict: PciHostOptions['onBarConflict'];
  state: PciHostState = { configAddress: 0, resetControl: 0 };
  /** Bus 0's functions by devfn (slot << 3 | function). */
  private readonly functions: (PciDevice | undefined)[] = new Array(256).fill(undefined);
  private router: PciIntxRouter | undefined;
  /** Last INTx level per devfn and pin, so a router connected late hears the current levels. */
  private readonly intx = new Uint8Array(256);

  constructor(private readonly opts: PciHostOptions) {
    if (!opts || !opts.ports || !opts.mmio) throw new Error('pci-host: opts.ports and opts.mmio are required');
    this.ports = opts.ports;
    this.mmio = opts.mmio;
    this.onBarConflict = opts.onBarConflict;
  }

  /** Claims ports 0xCF8..0xCFF on the bus given at construction. */
  register(): void {
    this.ports.register(PCI_CONFIG_ADDRESS_PORT, 8, this, 'pci-host');
  }

  /** Connects the INTx router (the PIIX3); it is told the levels already asserted. */
  setIntxRouter(router: PciIntxRouter | undefined): void {
    this.router = router;
    if (!router) return;
    for (let devfn = 0; devfn < 256; devfn++) {
      const pins = this.intx[devfn];
      for (let pin = 1; pin <= 4; pin++) if (pins & (1 << pin)) router.routeIntx(devfn, pin, true);
    }
  }

  /**
   * Places `dev` at slot `slot` (0..31), function `fn` (0..7). A function
   * other than 0 makes the slot multi-function: function 0's header type
   * gets bit 7 (now, or when function 0 is added later).
   */
  addDevice(dev: PciDevice, slot: number, fn = 0): void {
    if (!Number.isInteger(slot) || slot < 0 || slot > 31) throw new RangeError(`pci-host: slot ${slot} is not 0..31`);
    if (!Number.isInteger(fn) || fn < 0 || fn > 7) throw new RangeError(`pci-host: function ${fn} is not 0..7`);
    const devfn = devfnOf(slot, fn);
    const other = this.functions[devfn];
    if (other) throw new Error(`pci-host: ${slot.toString(16).padStart(2, '0')}.${fn} is taken by ${other.name}`);
    this.functions[devfn] = dev;
    dev.attach(this, devfn);
    const f0 = this.functions[devfnOf(slot, 0)];
    if (f0) {
      let multi = false;
      for (let f = 1; f < 8; f++) if (this.functions[devfnOf(slot, f)]) multi = true;
      if (multi) f0.markMultiFunction();
    }
  }

  /** Removes a function (hot-unplug); its BARs are unmapped and its INTx released. */
  removeDevice(dev: PciDevice): void {
    const devfn = dev.devfn;
    if (devfn < 0 || this.functions[devfn] !== dev) return;
    dev.detach();
    this.functions[devfn] = undefined;
  }

  device(slot: number, fn = 0): PciDevice | undefined {
    return this.functions[devfnOf(slot, fn) & 0xff];
  }

  /** Every function on the bus, in devfn order. */
  devices(): PciDevice[] {
    return this.functions.filter((d): d is PciDevice => d !== undefined);
  }

  // --- PciBus ---------------------------------------------------------------------

  setIntx(devfn: number, pin: number, level: boolean): void {
    const bit = 1 << pin;
    const pins = this.intx[devfn];
    this.intx[devfn] = level ? pins | bit : pins & ~bit;
    this.router?.routeIntx(devfn, pin, level);
  }

  // --- configuration cycles from the host (firmware set-up, tests) ----------------

  /** A type 0 configuration read on bus 0 (`offset`..`offset + size` within one dword). */
  configRead(slot: number, fn: number, offset: number, size: 1 | 2 | 4): number {
    const dev = this.functions[devfnOf(slot & 31, fn & 7)];
    return dev ? dev.configRead(offset & 0xff, size) >>> 0 : ONES[size];
  }

  configWrite(slot: number, fn: number, offset: number, size: 1 | 2 | 4, value: number): void {
    this.functions[devfnOf(slot & 31, fn & 7)]?.configWrite(offset & 0xff, size, value >>> 0);
  }

  // --- ports 0xCF8..0xCFF -----------------------------------------------------------

  portRead(offset: number, size: AccessSize): number {
    if (offset === 0 && size === 4) return this.state.configAddress;
    if (offset >= 4 && offset + size <= 8) return this.dataRead(offset - 4, size);
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte(offset + i) << (8 * i);
    return v >>> 0;
  }

  portWrite(offset: number, size: AccessSize, value: number): void {
    if (offset === 0 && size === 4) {
      this.state.configAddress = (value & CONFIG_ADDRESS_MASK) >>> 0;
      return;
    }
    if (offset >= 4 && offset + size <= 8) {
      this.dataWrite(offset - 4, size, value);
      return;
    }
    for (let i = 0; i < size; i++) this.writeByte(offset + i, (value >>> (8 * i)) & 0xff);
  }

  /** One byte of an access that is not a plain CONFIG_ADDRESS or CONFIG_DATA cycle. */
  private readByte(p: number): number {
    if (p === 1) return this.state.resetControl;
    if (p >= 4 && p < 8) return this.dataRead(p - 4, 1);
    return 0xff;
  }

  private writeByte(p: number, v: number): void {
    if (p === 1) this.writeResetControl(v);
    else if (p >= 4 && p < 8) this.dataWrite(p - 4, 1, v);
  }

  /** The function CONFIG_ADDRESS selects, or undefined (disabled, other bus, nobody there). */
  private selected(): PciDevice | undefined {
    const a = this.state.configAddress;
    if (!(a & CONFIG_ENABLE) || (a >>> 16) & 0xff) return undefined;
    return this.functions[(a >>> 8) & 0xff];
  }

  private dataRead(k: number, size: number): number {
    const dev = this.selected();
    if (!dev) return ONES[size];
    return dev.configRead((this.state.configAddress & 0xfc) | k, size) >>> 0;
  }

  private dataWrite(k: number, size: number, value: number): void {
    const dev = this.selected();
    if (!dev) return;
    const mask = ONES[size];
    dev.configWrite((this.state.configAddress & 0xfc) | k, size, (value & mask) >>> 0);
  }

  private writeResetControl(v: number): void {
    this.state.resetControl = v & RC_SRST;
    if (v & RC_RCPU) this.opts.onReset?.((v & RC_SRST) !== 0);
  }

  // --- Device -------------------------------------------------------------------

  /** CONFIG_ADDRESS and reset control to 0. The functions are Devices of their own: the machine resets them. */
  reset(): void {
    this.state = { configAddress: 0, resetControl: 0 };
  }

  saveState(): PciHostState {
    return clonePlain(this.state);
  }

  loadState(state: PciHostState): void {
    this.state = clonePlain(state);
  }
}
