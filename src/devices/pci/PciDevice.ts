// A conventional PCI function with a type 0 header (PCI Local Bus
// Specification 3.0, chapter 6): the base class of every PCI device model.
//
// What it does for a subclass:
// - The identity registers (vendor, device, revision, class, subsystem,
//   header type, interrupt pin) are read-only.
// - Command: I/O Space, Memory Space, Bus Master, Parity Error Response,
//   SERR# Enable and Interrupt Disable are writable; the rest read 0.
// - Status: the error bits are write-1-to-clear, the rest read-only.
//   Bit 3 (Interrupt Status) follows the function's INTx request whether or
//   not Interrupt Disable masks it; bit 4 is set once a capability exists.
// - Base address registers (§6.2.5.1): defineBar() declares an I/O or a
//   32-bit memory BAR of a power-of-two size; the address bits below the
//   size are read-only zero, so writing all ones and reading back gives the
//   size mask with the type bits. When the BAR's address or the command
//   register's decode enable changes, the BAR's handler is unregistered
//   from the PortBus/MmioBus and registered again at the new address.
//   A BAR is left unmapped (as QEMU does) while decode is off, while its
//   address is 0, while it reaches the top of its space (a BAR holding the
//   sizing pattern ends at 0xFFFFFFFF), for I/O above 0xFFFF, and when the
//   range is already claimed by another device (the guest's mistake must
//   not throw in the VMM; the bus is told through onBarConflict and the
//   mapping is retried on the next BAR or command write).
// - INTx: setIntx(level) drives the function's interrupt pin; the level
//   reaching the bus is masked by Interrupt Disable.
// - Capabilities: addCapability() (see PciConfigSpace).
// - Reset restores the configuration space as it was when the device was
//   added to the bus (its constructor's work), with BARs unmapped and INTx
//   deasserted. Device-specific registers (0x40..0xFF) are read-only unless
//   the subclass makes them writable.
//
// The configuration space is the device's whole saved state; a subclass
// with more state extends saveState/loadState.
//
// Subclass rules: set registers in the constructor with config.set*() (not
// configWrite), define BARs and capabilities there too, and override
// configRead/configWrite (calling super) for registers with side effects.
import type { MmioBus, MmioDevice, MmioSize } from '../../vmm/MmioBus.ts';
import type { AccessSize, PortBus, PortDevice } from '../../vmm/PortBus.ts';
import type { Device } from '../Device.ts';
import {
  PCI_BAR0,
  PCI_BAR_IO_MASK,
  PCI_BAR_MEM_MASK,
  PCI_BAR_MEM_PREFETCH,
  PCI_BAR_SPACE_IO,
  PCI_CACHE_LINE_SIZE,
  PCI_CLASS_PROG,
  PCI_COMMAND,
  PCI_COMMAND_INTX_DISABLE,
  PCI_COMMAND_IO,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  PCI_COMMAND_PARITY,
  PCI_COMMAND_SERR,
  PCI_CONFIG_SPACE_SIZE,
  PCI_DEVICE_ID,
  PCI_HEADER_TYPE,
  PCI_HEADER_TYPE_MULTI_FUNCTION,
  PCI_INTERRUPT_LINE,
  PCI_INTERRUPT_PIN,
  PCI_LATENCY_TIMER,
  PCI_REVISION_ID,
  PCI_STATUS,
  PCI_STATUS_INTERRUPT,
  PCI_STATUS_W1C,
  PCI_SUBSYSTEM_ID,
  PCI_SUBSYSTEM_VENDOR_ID,
  PCI_VENDOR_ID,
  PciConfigSpace,
} from './PciConfigSpace.ts';

/** What a PCI function sees of the bus it sits on (PciHost implements it). */
export interface PciBus {
  readonly ports: PortBus;
  readonly mmio: MmioBus;
  /** INTx pin `pin` (1 = INTA# .. 4 = INTD#) of function `devfn` is now at `level` (after Interrupt Disable). */
  setIntx(devfn: number, pin: number, level: boolean): void;
  /** Every function on the bus, in devfn order. */
  devices(): PciDevice[];
  /** A BAR could not be mapped because its range is taken (diagnostics). */
  onBarConflict?: (device: PciDevice, bar: number, address: number, error: unknown) => void;
}

export interface PciDeviceOptions {
  /** Name used for bus registrations and diagnostics. */
  name: string;
  vendorId: number;
  deviceId: number;
  /** Base class << 16 | sub-class << 8 | programming interface. */
  classCode: number;
  revision?: number;
  /** Default 0x1AF4 (Red Hat), as QEMU gives every device without its own. */
  subsystemVendorId?: number;
  /** Default 0x1100 (QEMU virtual machine). */
  subsystemId?: number;
  /** 0 = no interrupt, 1..4 = INTA#..INTD#. */
  interruptPin?: number;
  /** Set bit 7 of the header type register (the host also sets it when a function > 0 is added). */
  multiFunction?: boolean;
  /** Command register after reset (default 0: no decoding). */
  command?: number;
  /** Read-only status bits after reset (e.g. DEVSEL timing). */
  status?: number;
}

export type PciBarSpec =
  | { kind: 'io'; size: number; handler: PortDevice }
  | { kind: 'mem'; size: number; prefetchable?: boolean; handler: MmioDevice };

export interface PciDeviceState {
  /** The 256 configuration bytes. */
  config: number[];
}

/** Forwards a BAR's accesses; one object per BAR so each can be unregistered alone. */
class IoBarWindow implements PortDevice {
  constructor(readonly handler: PortDevice) {}
  portRead(offset: number, size: AccessSize): number {
    return this.handler.portRead(offset, size);
  }
  portWrite(offset: number, size: AccessSize, value: number): void {
    this.handler.portWrite(offset, size, value);
  }
}

class MemBarWindow implements MmioDevice {
  constructor(readonly handler: MmioDevice) {}
  mmioRead(offset: number, size: MmioSize): number | bigint {
    return this.handler.mmioRead(offset, size);
  }
  mmioWrite(offset: number, size: MmioSize, value: number | bigint): void {
    this.handler.mmioWrite(offset, size, value);
  }
}

interface Bar {
  io: boolean;
  size: number;
  window: IoBarWindow | MemBarWindow;
  /** Where the window is registered now, or -1. Derived from the config space, not saved. */
  mappedAt: number;
}

export const PCI_NUM_BARS = 6;

export class PciDevice implements Device<PciDeviceState> {
  readonly name: string;
  readonly config = new PciConfigSpace();
  /** Slot << 3 | function once added to a bus, else -1. */
  devfn = -1;
  protected bus: PciBus | undefined;
  private readonly bars: (Bar | undefined)[] = new Array(PCI_NUM_BARS).fill(undefined);
  /** Configuration space as it was when the device was added: what reset() restores. */
  private resetImage: Uint8Array | undefined;
  /** The INTx level last given to the bus. */
  private intxSent = false;

  constructor(opts: PciDeviceOptions) {
    this.name = opts.name;
    const c = this.config;
    c.setU16(PCI_VENDOR_ID, opts.vendorId);
    c.setU16(PCI_DEVICE_ID, opts.deviceId);
    c.setU8(PCI_REVISION_ID, opts.revision ?? 0);
    c.setU8(PCI_CLASS_PROG, opts.classCode & 0xff);
    c.setU16(PCI_CLASS_PROG + 1, (opts.classCode >>> 8) & 0xffff);
    c.setU8(PCI_HEADER_TYPE, opts.multiFunction ? PCI_HEADER_TYPE_MULTI_FUNCTION : 0);
    c.setU16(PCI_SUBSYSTEM_VENDOR_ID, opts.subsystemVendorId ?? 0x1af4);
    c.setU16(PCI_SUBSYSTEM_ID, opts.subsystemId ?? 0x1100);
    const pin = opts.interruptPin ?? 0;
    if (!Number.isInteger(pin) || pin < 0 || pin > 4) throw new RangeError(`${this.name}: interrupt pin ${pin} is not 0..4`);
    c.setU8(PCI_INTERRUPT_PIN, pin);
    c.setU16(PCI_COMMAND, opts.command ?? 0);
    c.setU16(PCI_STATUS, (opts.status ?? 0) & ~PCI_STATUS_INTERRUPT);

    c.setWriteMask(
      PCI_COMMAND,
      2,
      PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE,
    );
    c.setW1cMask(PCI_STATUS, 2, PCI_STATUS_W1C);
    c.setWriteMask(PCI_CACHE_LINE_SIZE, 1, 0xff);
    c.setWriteMask(PCI_LATENCY_TIMER, 1, 0xff);
    c.setWriteMask(PCI_INTERRUPT_LINE, 1, 0xff);
  }

  // --- identity --------------------------------------------------------------

  get vendorId(): number {
    return this.config.u16(PCI_VENDOR_ID);
  }
  get deviceId(): number {
    return this.config.u16(PCI_DEVICE_ID);
  }
  get slot(): number {
    return this.devfn >> 3;
  }
  get function(): number {
    return this.devfn & 7;
  }
  get interruptPin(): number {
    return this.config.u8(PCI_INTERRUPT_PIN);
  }
  get interruptLine(): number {
    return this.config.u8(PCI_INTERRUPT_LINE);
  }
  get command(): number {
    return this.config.u16(PCI_COMMAND);
  }
  get status(): number {
    return this.config.u16(PCI_STATUS);
  }

  // --- set-up (constructor time) --------------------------------------------

  /** Declares BAR `index` (0..5). Sizes are powers of two: I/O 4..64 KiB, memory 16 B..2 GiB. */
  protected defineBar(index: number, spec: PciBarSpec): void {
    if (!Number.isInteger(index) || index < 0 || index >= PCI_NUM_BARS) throw new RangeError(`${this.name}: no BAR ${index}`);
    if (this.bars[index]) throw new Error(`${this.name}: BAR ${index} is already defined`);
    const io = spec.kind === 'io';
    const { size } = spec;
    const min = io ? 4 : 16;
    const max = io ? 0x10000 : 0x80000000;
    if (!Number.isInteger(size) || size < min || size > max || (size & (size - 1)) !== 0) {
      throw new RangeError(`${this.name}: BAR ${index} size ${size} is not a power of two in ${min}..${max}`);
    }
    const off = PCI_BAR0 + 4 * index;
    const typeBits = io ? PCI_BAR_SPACE_IO : spec.prefetchable ? PCI_BAR_MEM_PREFETCH : 0;
    this.config.setU32(off, typeBits);
    this.config.setWriteMask(off, 4, (io ? PCI_BAR_IO_MASK : PCI_BAR_MEM_MASK) & ~(size - 1));
    this.bars[index] = {
      io,
      size,
      window: io ? new IoBarWindow(spec.handler) : new MemBarWindow(spec.handler),
      mappedAt: -1,
    };
  }

  /** Adds a capability (id, next, then `body`); returns its offset. See PciConfigSpace.addCapability. */
  protected addCapability(id: number, body: Uint8Array | readonly number[] = []): number {
    return this.config.addCapability(id, body);
  }

  // --- bus side ---------------------------------------------------------------

  /** Called by the host when the function is placed at `devfn`. */
  attach(bus: PciBus, devfn: number): void {
    if (this.bus) throw new Error(`${this.name}: already on a bus`);
    this.ensureResetImage();
    this.bus = bus;
    this.devfn = devfn;
    this.updateBars();
    this.intxSent = false;
    this.updateIntx();
  }

  /** Removes the function from its bus: BARs unmapped, INTx released. */
  detach(): void {
    const bus = this.bus;
    if (!bus) return;
    for (const bar of this.bars) if (bar) this.unmap(bar);
    if (this.intxSent) bus.setIntx(this.devfn, this.interruptPin, false);
    this.intxSent = false;
    this.bus = undefined;
    this.devfn = -1;
  }

  /** Sets bit 7 of the header type (the host calls this when another function shares the slot). */
  markMultiFunction(): void {
    this.ensureResetImage();
    this.config.setU8(PCI_HEADER_TYPE, this.config.u8(PCI_HEADER_TYPE) | PCI_HEADER_TYPE_MULTI_FUNCTION);
    this.resetImage![PCI_HEADER_TYPE] |= PCI_HEADER_TYPE_MULTI_FUNCTION;
  }

  /** A configuration read of 1, 2 or 4 bytes at `offset` (within one dword). */
  configRead(offset: number, size: number): number {
    return this.config.read(offset, size);
  }

  /** A configuration write of 1, 2 or 4 bytes at `offset` (within one dword). */
  configWrite(offset: number, size: number, value: number): void {
    this.ensureResetImage();
    this.config.write(offset, size, value);
    const end = offset + size;
    const command = offset < PCI_COMMAND + 2 && end > PCI_COMMAND;
    if (command) this.updateIntx();
    if (command || (offset < PCI_BAR0 + 4 * PCI_NUM_BARS && end > PCI_BAR0)) this.updateBars();
  }

  // --- BARs -------------------------------------------------------------------

  /** BAR `index`'s address as programmed (type bits removed), or -1 if it is not defined. */
  barAddress(index: number): number {
    const bar = this.bars[index];
    if (!bar) return -1;
    const raw = this.config.u32(PCI_BAR0 + 4 * index);
    return (raw & (bar.io ? PCI_BAR_IO_MASK : PCI_BAR_MEM_MASK)) >>> 0;
  }

  /** Where BAR `index` is registered on its bus now, or -1 when it is not mapped. */
  barMapping(index: number): number {
    return this.bars[index]?.mappedAt ?? -1;
  }

  barSize(index: number): number {
    return this.bars[index]?.size ?? 0;
  }

  /** Re-evaluates every BAR against the command register and its address. */
  protected updateBars(): void {
    const cmd = this.command;
    for (let i = 0; i < PCI_NUM_BARS; i++) {
      const bar = this.bars[i];
      if (!bar) continue;
      let want = -1;
      if (this.bus && cmd & (bar.io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)) {
        const addr = this.barAddress(i);
        const limit = bar.io ? 0x10000 : 0xffffffff;
        if (addr !== 0 && addr + bar.size <= limit) want = addr;
      }
      if (want === bar.mappedAt) continue;
      this.unmap(bar);
      if (want >= 0) this.map(i, bar, want);
    }
  }

  private map(index: number, bar: Bar, addr: number): void {
    const bus = this.bus!;
    const label = `${this.name}.bar${index}`;
    try {
      if (bar.io) bus.ports.register(addr, bar.size, bar.window as IoBarWindow, label);
      else bus.mmio.register(addr, bar.size, bar.window as MemBarWindow, label);
      bar.mappedAt = addr;
    } catch (e) {
      bar.mappedAt = -1;
      bus.onBarConflict?.(this, index, addr, e);
    }
  }

  private unmap(bar: Bar): void {
    if (bar.mappedAt < 0) return;
    if (bar.io) this.bus!.ports.unregister(bar.window as IoBarWindow);
    else this.bus!.mmio.unregister(bar.window as MemBarWindow);
    bar.mappedAt = -1;
  }

  // --- INTx -------------------------------------------------------------------

  /** The function's interrupt request (status bit 3), before Interrupt Disable. */
  get intxLevel(): boolean {
    return (this.config.u16(PCI_STATUS) & PCI_STATUS_INTERRUPT) !== 0;
  }

  /** Asserts (true) or deasserts the function's INTx pin. */
  setIntx(level: boolean): void {
    this.ensureResetImage();
    const st = this.config.u16(PCI_STATUS);
    this.config.setU16(PCI_STATUS, level ? st | PCI_STATUS_INTERRUPT : st & ~PCI_STATUS_INTERRUPT);
    this.updateIntx();
  }

  /** The level the bus sees: the request, unless Interrupt Disable is set or there is no pin. */
  get intxOutput(): boolean {
    return this.intxLevel && !(this.command & PCI_COMMAND_INTX_DISABLE) && this.interruptPin !== 0;
  }

  private updateIntx(force = false): void {
    const level = this.intxOutput;
    if (level === this.intxSent && !force) return;
    this.intxSent = level;
    if (this.bus && this.interruptPin !== 0) this.bus.setIntx(this.devfn, this.interruptPin, level);
  }

  // --- Device -------------------------------------------------------------------

  reset(): void {
    this.ensureResetImage();
    this.config.bytes.set(this.resetImage!);
    this.updateBars();
    this.updateIntx();
  }

  saveState(): PciDeviceState {
    return { config: Array.from(this.config.bytes) };
  }

  loadState(state: PciDeviceState): void {
    this.ensureResetImage();
    if (!state || !Array.isArray(state.config) || state.config.length !== PCI_CONFIG_SPACE_SIZE) {
      throw new Error(`${this.name}: saved configuration space must be ${PCI_CONFIG_SPACE_SIZE} bytes`);
    }
    this.config.bytes.set(state.config);
    this.updateBars();
    // The router may have loaded its own state before or after us: tell it again.
    this.updateIntx(true);
  }

  private ensureResetImage(): void {
    if (this.resetImage) return;
    this.resetImage = this.config.bytes.slice();
    const st = this.config.u16(PCI_STATUS) & ~PCI_STATUS_INTERRUPT;
    this.resetImage[PCI_STATUS] = st & 0xff;
    this.resetImage[PCI_STATUS + 1] = st >> 8;
  }
}
