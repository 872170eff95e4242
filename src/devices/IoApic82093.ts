// The Intel 82093AA I/O APIC: 24 interrupt input pins, each with a 64-bit
// redirection table entry that turns the pin's signal into a message on the
// APIC bus. Memory-mapped at 0xFEC00000 with two registers: IOREGSEL
// (offset 0x00, selects an internal register) and IOWIN (offset 0x10, the
// selected register's 32 bits).
//
// Internal registers (82093AA datasheet, section 3.2):
//   0x00 IOAPICID   bits 27:24 the APIC ID (R/W)
//   0x01 IOAPICVER  0x00170011: maximum redirection entry 23, version 0x11 (RO)
//   0x02 IOAPICARB  bits 27:24 the arbitration ID (RO; loaded from the ID
//                   whenever the ID register is written)
//   0x10 + 2n, 0x11 + 2n: low and high dword of redirection entry n.
// Redirection entry bits: 7:0 vector, 10:8 delivery mode (fixed, lowest
// priority, SMI, NMI, INIT, ExtINT), 11 destination mode (1 = logical),
// 12 delivery status (RO), 13 polarity (1 = active low), 14 remote IRR (RO),
// 15 trigger mode (1 = level), 16 mask, 63:56 destination.
//
// Model notes:
// - The input side: setIrq(pin, asserted) takes what the source does (an
//   IrqLine raised = the source asserts its interrupt). Pins whose board
//   wiring is active low (on a PIIX board the PCI PIRQ lines, pins 16-19:
//   open-drain, pulled up) are listed in `activeLowInputs`: there an asserted
//   source drives the pin low, and an idle pin is high. The entry's polarity
//   bit then decides, as on the chip, whether a high or a low pin is active.
// - Edge-triggered: the transition of the pin into its active state sends one
//   message if the entry is unmasked. Edges on a masked pin are ignored, not
//   held pending (datasheet, bit 16).
// - Level-triggered: while the pin is active, unmasked and remote IRR is
//   clear, a message goes out and remote IRR is set. The local APIC's EOI for
//   a level-triggered vector comes back through endOfInterrupt(vector), which
//   clears remote IRR of the entries with that vector; a pin still active is
//   then delivered again. Unmasking an active level pin delivers at once.
// - NMI, INIT, SMI and ExtINT deliveries are always treated as edge-triggered
//   (the datasheet requires edge programming for them).
// - Delivery is immediate, so delivery status always reads 0 (idle).
// - Writing an entry with edge trigger mode clears its remote IRR. The chip's
//   behaviour there is undefined; QEMU does the same, and Linux relies on it
//   to clear a stuck remote IRR on I/O APICs without an EOI register (version
//   0x11): it reprograms the entry as edge and back to level.
// - The destination field (bits 63:56) is passed on whole in both modes; the
//   local APICs decide who matches (physical broadcast is 0xFF on an xAPIC).
// - Accesses: IOREGSEL takes any write size (the low byte selects); IOWIN is
//   a 32-bit register: narrower reads return the addressed bytes, narrower
//   writes are ignored (the datasheet requires dword accesses). Offsets other
//   than IOREGSEL and IOWIN read as 0 and ignore writes.
import {
  DELIVERY_EXTINT,
  DELIVERY_FIXED,
  DELIVERY_INIT,
  DELIVERY_LOWEST,
  DELIVERY_NMI,
  DELIVERY_SMI,
  type ApicBus,
  type ApicMessage,
} from '../vmm/ApicBus.ts';
import type { IrqSink } from '../vmm/IrqLine.ts';
import type { MmioBus, MmioDevice, MmioSize } from '../vmm/MmioBus.ts';
import { clonePlain, type Device } from './Device.ts';

export const IOAPIC_DEFAULT_ADDRESS = 0xfec00000;
/** The decoded window (as QEMU registers it); only offsets 0x00 and 0x10 do anything. */
export const IOAPIC_MMIO_SIZE = 0x1000;
export const IOAPIC_PINS = 24;
export const IOAPIC_VERSION = 0x11;
/** IOAPICVER: maximum redirection entry (23) in bits 23:16, version in bits 7:0. */
export const IOAPIC_VERSION_REGISTER = ((IOAPIC_PINS - 1) << 16) | IOAPIC_VERSION;
/** The PCI PIRQ A-D pins of a PIIX board (active-low wiring). */
export const IOAPIC_PCI_PINS_MASK = 0x000f0000;

export const IOREGSEL = 0x00;
export const IOWIN = 0x10;

export const IOAPIC_REG_ID = 0x00;
export const IOAPIC_REG_VER = 0x01;
export const IOAPIC_REG_ARB = 0x02;
export const IOAPIC_REG_REDTBL = 0x10;

// Redirection entry, low dword.
export const RTE_VECTOR = 0xff;
export const RTE_DELIVERY_SHIFT = 8;
export const RTE_DELIVERY_MASK = 0x700;
export const RTE_DEST_LOGICAL = 1 << 11;
export const RTE_DELIVERY_STATUS = 1 << 12;
export const RTE_ACTIVE_LOW = 1 << 13;
export const RTE_REMOTE_IRR = 1 << 14;
export const RTE_LEVEL = 1 << 15;
export const RTE_MASKED = 1 << 16;
/** Bits the guest can write in the low dword (bits 12 and 14 are read-only, 31:17 reserved). */
const RTE_LOW_WRITABLE = (0xffff & ~(RTE_DELIVERY_STATUS | RTE_REMOTE_IRR)) | RTE_MASKED;
/** High dword: only the destination (bits 63:56) is implemented. */
const RTE_HIGH_WRITABLE = 0xff000000;

export interface IoApic82093Options {
  /** Where the interrupt messages go. */
  bus: ApicBus;
  /** The APIC ID after reset (IOAPICID bits 27:24, 0..15). Default 0. */
  id?: number;
  /**
   * Pins whose source is wired active low (bit n = pin n): an asserted
   * source drives the pin low. Default IOAPIC_PCI_PINS_MASK (pins 16-19,
   * where a PIIX board brings PIRQ A-D).
   */
  activeLowInputs?: number;
  name?: string;
}

export interface IoApic82093State {
  /** IOREGSEL: the selected register. */
  ioregsel: number;
  /** IOAPICID (bits 27:24 meaningful). */
  id: number;
  /** IOAPICARB (bits 27:24 meaningful). */
  arbitrationId: number;
  /** Low dwords of the 24 redirection entries (remote IRR lives in bit 14). */
  redirLow: number[];
  /** High dwords (destination in bits 31:24). */
  redirHigh: number[];
  /** Bit n set while pin n's source asserts its interrupt. */
  asserted: number;
}

export class IoApic82093 implements IrqSink, MmioDevice, Device<IoApic82093State> {
  readonly name: string;
  state!: IoApic82093State;
  private readonly bus: ApicBus;
  private readonly resetId: number;
  readonly activeLowInputs: number;

  constructor(opts: IoApic82093Options) {
    if (!opts || !opts.bus) throw new Error('ioapic: opts.bus (the APIC bus to deliver on) is required');
    this.bus = opts.bus;
    this.name = opts.name ?? 'ioapic';
    this.resetId = opts.id ?? 0;
    if (!Number.isInteger(this.resetId) || this.resetId < 0 || this.resetId > 15) {
      throw new RangeError(`${this.name}: APIC ID ${opts.id} does not fit the 82093AA's 4-bit ID register`);
    }
    this.activeLowInputs = (opts.activeLowInputs ?? IOAPIC_PCI_PINS_MASK) & 0xffffff;
    this.reset();
  }

  register(mmio: MmioBus, base = IOAPIC_DEFAULT_ADDRESS): void {
    mmio.register(base, IOAPIC_MMIO_SIZE, this, this.name);
  }

  reset(): void {
    // The input pins keep whatever their sources drive.
    const asserted = this.state ? this.state.asserted : 0;
    this.state = {
      ioregsel: 0,
      id: this.resetId << 24,
      arbitrationId: this.resetId << 24,
      redirLow: new Array<number>(IOAPIC_PINS).fill(RTE_MASKED),
      redirHigh: new Array<number>(IOAPIC_PINS).fill(0),
      asserted,
    };
  }

  saveState(): IoApic82093State {
    return clonePlain(this.state);
  }

  loadState(state: IoApic82093State): void {
    this.state = clonePlain(state);
  }

  // --- the input pins ---------------------------------------------------------

  /** The source on `pin` (0..23) now asserts (true) or withdraws (false) its interrupt. */
  setIrq(pin: number, asserted: boolean): void {
    if (!Number.isInteger(pin) || pin < 0 || pin >= IOAPIC_PINS) {
      throw new RangeError(`${this.name}: no input pin ${pin} (the 82093AA has 0..${IOAPIC_PINS - 1})`);
    }
    const s = this.state;
    const bit = 1 << pin;
    const wasActive = this.pinActive(pin);
    if (asserted) s.asserted |= bit;
    else s.asserted &= ~bit;
    const active = this.pinActive(pin);
    if (active === wasActive) return;
    const low = s.redirLow[pin];
    if (low & RTE_MASKED) return; // masked: edges are ignored, levels have no side effects
    if (this.levelMode(low)) {
      if (active) this.serviceLevel(pin);
    } else if (active) {
      this.deliver(pin);
    }
  }

  /** The electrical level of pin `pin`: the source's state through the board wiring. */
  pinHigh(pin: number): boolean {
    const bit = 1 << pin;
    return ((this.state.asserted ^ this.activeLowInputs) & bit) !== 0;
  }

  /** Whether pin `pin` is in its active state under the entry's polarity. */
  pinActive(pin: number): boolean {
    const low = this.pinHigh(pin);
    return (this.state.redirLow[pin] & RTE_ACTIVE_LOW) !== 0 ? !low : low;
  }

  /**
   * EOI broadcast from a local APIC for a level-triggered `vector`: clear
   * remote IRR of every entry with that vector; deliver again those whose
   * pin is still active and unmasked.
   */
  endOfInterrupt(vector: number): void {
    const s = this.state;
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const low = s.redirLow[pin];
      if ((low & RTE_VECTOR) !== (vector & 0xff) || !(low & RTE_REMOTE_IRR)) continue;
      s.redirLow[pin] = low & ~RTE_REMOTE_IRR;
      this.serviceLevel(pin);
    }
  }

  /** Redirection entry `pin` as a 64-bit value (diagnostics, tests). */
  entry(pin: number): bigint {
    return (BigInt(this.state.redirHigh[pin] >>> 0) << 32n) | BigInt(this.state.redirLow[pin] >>> 0);
  }

  // --- register access --------------------------------------------------------

  mmioRead(offset: number, size: MmioSize): number | bigint {
    if (size === 8) {
      const lo = this.readBytes(offset, 4);
      const hi = this.readBytes(offset + 4, 4);
      return (BigInt(hi) << 32n) | BigInt(lo);
    }
    return this.readBytes(offset, size);
  }

  mmioWrite(offset: number, size: MmioSize, value: number | bigint): void {
    const v = typeof value === 'bigint' ? Number(value & 0xffffffffn) : value >>> 0;
    if (offset === IOREGSEL) {
      this.state.ioregsel = v & 0xff;
    } else if (offset === IOWIN && (size === 4 || size === 8)) {
      this.writeRegister(this.state.ioregsel, v);
    }
    // Anything else (narrow IOWIN writes, other offsets) is ignored.
  }

  /** Internal register `index` as IOWIN reads it. */
  readRegister(index: number): number {
    const s = this.state;
    switch (index) {
      case IOAPIC_REG_ID:
        return s.id >>> 0;
      case IOAPIC_REG_VER:
        return IOAPIC_VERSION_REGISTER;
      case IOAPIC_REG_ARB:
        return s.arbitrationId >>> 0;
    }
    if (index >= IOAPIC_REG_REDTBL && index < IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS) {
      const pin = (index - IOAPIC_REG_REDTBL) >> 1;
      return (index & 1 ? s.redirHigh[pin] : s.redirLow[pin]) >>> 0;
    }
    return 0;
  }

  /** Internal register `index` written through IOWIN. */
  writeRegister(index: number, value: number): void {
    const s = this.state;
    if (index === IOAPIC_REG_ID) {
      s.id = value & 0x0f000000;
      s.arbitrationId = s.id;
      return;
    }
    if (index < IOAPIC_REG_REDTBL || index >= IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS) return; // read-only or absent
    const pin = (index - IOAPIC_REG_REDTBL) >> 1;
    if (index & 1) {
      s.redirHigh[pin] = (value & RTE_HIGH_WRITABLE) >>> 0;
      return;
    }
    const old = s.redirLow[pin];
    let low = (old & (RTE_DELIVERY_STATUS | RTE_REMOTE_IRR)) | (value & RTE_LOW_WRITABLE);
    if (!(low & RTE_LEVEL)) low &= ~RTE_REMOTE_IRR;
    s.redirLow[pin] = low;
    // A level pin that is active and now unmasked (or newly level) requests.
    if (!(low & RTE_MASKED) && this.levelMode(low)) this.serviceLevel(pin);
  }

  private readBytes(offset: number, size: number): number {
    let v = 0;
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      let b = 0;
      if (o < IOREGSEL + 4) b = o === IOREGSEL ? this.state.ioregsel : 0;
      else if (o >= IOWIN && o < IOWIN + 4) b = (this.readRegister(this.state.ioregsel) >>> ((o - IOWIN) * 8)) & 0xff;
      v = (v | (b << (8 * i))) >>> 0;
    }
    return v;
  }

  // --- delivery ---------------------------------------------------------------

  /** Level semantics apply: level trigger mode with a fixed or lowest-priority delivery. */
  private levelMode(low: number): boolean {
    if (!(low & RTE_LEVEL)) return false;
    const mode = (low & RTE_DELIVERY_MASK) >> RTE_DELIVERY_SHIFT;
    return mode === DELIVERY_FIXED || mode === DELIVERY_LOWEST;
  }

  /** Deliver a level-triggered pin if it is active, unmasked and remote IRR is clear. */
  private serviceLevel(pin: number): void {
    const low = this.state.redirLow[pin];
    if (low & (RTE_MASKED | RTE_REMOTE_IRR)) return;
    if (!this.levelMode(low) || !this.pinActive(pin)) return;
    this.state.redirLow[pin] = low | RTE_REMOTE_IRR;
    this.deliver(pin);
  }

  private deliver(pin: number): void {
    const low = this.state.redirLow[pin];
    const mode = (low & RTE_DELIVERY_MASK) >> RTE_DELIVERY_SHIFT;
    switch (mode) {
      case DELIVERY_FIXED:
      case DELIVERY_LOWEST:
      case DELIVERY_SMI:
      case DELIVERY_NMI:
      case DELIVERY_INIT:
      case DELIVERY_EXTINT:
        break;
      default:
        return; // reserved delivery modes (3, 6) send nothing
    }
    const msg: ApicMessage = {
      destination: this.state.redirHigh[pin] >>> 24,
      logical: (low & RTE_DEST_LOGICAL) !== 0,
      vector: low & RTE_VECTOR,
      deliveryMode: mode,
      levelTriggered: this.levelMode(low),
    };
    this.bus.send(msg);
  }
}
