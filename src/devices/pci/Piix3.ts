// The Intel 82371SB (PIIX3) PCI-to-ISA bridge, function 0 at 00:01.0, as
// QEMU's "pc" machine presents it, and the board's PCI interrupt routing.
//
// Identity: 8086:7000, revision 00, class 06 01 00 (ISA bridge),
// multi-function header (the IDE, USB and power-management functions of the
// chip are 01.1..01.3), subsystem 1AF4:1100, command 0007h and status 0200h
// (DEVSEL medium) after reset, the other registers at QEMU's reset values.
// 0x40..0xFF is writable storage, as in QEMU.
//
// Interrupt routing:
// - Each function's INTx pin reaches one of the four PIRQ lines by the
//   standard rotation on bus 0:
//       PIRQ = (slot + pin - 1) mod 4      (pin 1 = INTA# .. 4 = INTD#)
//   so slot 0 INTA# is PIRQA, slot 1 INTA# PIRQB, slot 3 INTB# PIRQA.
//   src/firmware/AcpiTables.ts (_PRT) and MpTable.ts describe the same
//   wiring (GSI 16 + (slot + pin - 1) mod 4); change them together.
//   QEMU's i440FX board, and SeaBIOS with it, rotate from slot 1 instead:
//   SeaBIOS src/fw/pciinit.c, piix_pci_slot_get_irq, is
//   pci_irqs[(pin - 1 + slot - 1) & 3]. Under an unmodified SeaBIOS the
//   interrupt line registers (and its $PIR/MP tables) would therefore be
//   one PIRQ off from this wiring; biosInit() below uses this wiring.
// - PIRQ lines are shared and level-triggered: a PIRQ is high while any
//   function wired to it asserts its INTx.
// - PIRQ route control registers 0x60..0x63 (PIRQRC[A:D], reset 80h): bit 7
//   set = not routed; bits 3:0 = the ISA IRQ (3..7, 9..12, 14, 15; the
//   reserved values 0..2, 8 and 13 route nowhere); bits 6:4 reserved (0).
//   Each ISA IRQ line is the OR of the PIRQs routed to it. The PIC's ELCR
//   (in the DualPic) must mark those IRQs level-triggered.
// - Each PIRQ also drives its own I/O APIC input (16 + PIRQ), whatever the
//   route register says, as on PIIX boards with an I/O APIC.
//
// The lines are IrqLines the machine passes in; Piix3 is their only driver
// (see the constructor options).
import type { IrqLine } from '../../vmm/IrqLine.ts';
import type { PciIntxRouter } from './PciHost.ts';
import { PCI_INTERRUPT_LINE, PCI_STATUS_DEVSEL_MEDIUM } from './PciConfigSpace.ts';
import { PciDevice, type PciDeviceState } from './PciDevice.ts';

export const PIIX_PIRQRC = 0x60;
export const PIIX_NUM_PIRQS = 4;
const PIRQRC_DISABLE = 0x80;
/** ISA IRQs a PIRQ can be routed to: 3..7, 9..12, 14, 15. */
export const PIIX_ROUTABLE_IRQS = 0xdef8;
/** SeaBIOS's pci_irqs[] for PIIX: PIRQA..D → ISA IRQ 10, 10, 11, 11. */
export const SEABIOS_PCI_IRQS: readonly number[] = [10, 10, 11, 11];

/** The PIRQ (0 = A .. 3 = D) that INTx pin `pin` (1..4) of a bus 0 device in `slot` drives. */
export function pirqOf(slot: number, pin: number): number {
  return (slot + pin - 1) & 3;
}

export interface Piix3Options {
  /**
   * ISA IRQ lines by IRQ number (index 0..15), each connected by the
   * machine to the 8259 pair's input and the I/O APIC's input of that
   * number. Piix3 sets their level, so give it lines no ISA device drives
   * (PCI-only IRQs such as 9, 10, 11); a missing entry is not driven.
   */
  isaIrqs?: readonly (IrqLine | undefined)[];
  /** I/O APIC inputs 16..19, one per PIRQ (index 0 = PIRQA). */
  ioapicIrqs?: readonly (IrqLine | undefined)[];
}

export interface Piix3State extends PciDeviceState {
  /** Per PIRQ, 8 words of a 256-bit set: the functions (by devfn) asserting it. */
  intxSources: number[];
}

export class Piix3 extends PciDevice implements PciIntxRouter {
  private readonly isaIrqs: readonly (IrqLine | undefined)[];
  private readonly ioapicIrqs: readonly (IrqLine | undefined)[];
  /** 4 PIRQs × 8 words: bit (devfn & 31) of word (devfn >> 5). */
  private intxSources: number[] = new Array(PIIX_NUM_PIRQS * 8).fill(0);

  constructor(opts: Piix3Options = {}) {
    super({
      name: 'piix3',
      vendorId: 0x8086,
      deviceId: 0x7000,
      classCode: 0x060100,
      multiFunction: true,
      command: 0x0007,
      status: PCI_STATUS_DEVSEL_MEDIUM,
    });
    this.isaIrqs = opts.isaIrqs ?? [];
    this.ioapicIrqs = opts.ioapicIrqs ?? [];
    const c = this.config;
    c.setWritable(0x40, 0xc0);
    // QEMU's piix_reset() values (82371SB datasheet defaults).
    c.setU8(0x4c, 0x4d); // IORT: ISA I/O recovery timer
    c.setU8(0x4e, 0x03); // XBCS: X-bus chip select
    for (let i = 0; i < PIIX_NUM_PIRQS; i++) {
      c.setU8(PIIX_PIRQRC + i, PIRQRC_DISABLE);
      c.setWriteMask(PIIX_PIRQRC + i, 1, 0x8f);
    }
    c.setU8(0x69, 0x02); // TOM: top of memory
    c.setU8(0x70, 0x80); // MBIRQ0: motherboard IRQ route, disabled
    c.setU8(0x76, 0x0c); // MBDMA0
    c.setU8(0x77, 0x0c); // MBDMA1
    c.setU8(0x78, 0x02); // PCSC: programmable chip select
    c.setU8(0xa0, 0x08); // SMICNTL
    c.setU8(0xa8, 0x0f); // SMIREQ
  }

  /** Route register of PIRQ `pirq` (0..3). */
  pirqRoute(pirq: number): number {
    return this.config.u8(PIIX_PIRQRC + pirq);
  }

  /** The ISA IRQ PIRQ `pirq` is routed to, or -1. */
  pirqIrq(pirq: number): number {
    const r = this.pirqRoute(pirq);
    if (r & PIRQRC_DISABLE) return -1;
    const irq = r & 0x0f;
    return PIIX_ROUTABLE_IRQS & (1 << irq) ? irq : -1;
  }

  /** Whether PIRQ `pirq` is asserted by any function. */
  pirqLevel(pirq: number): boolean {
    const s = this.intxSources;
    const base = pirq * 8;
    for (let w = 0; w < 8; w++) if (s[base + w] !== 0) return true;
    return false;
  }

  // --- PciIntxRouter -------------------------------------------------------------

  routeIntx(devfn: number, pin: number, level: boolean): void {
    const i = pirqOf(devfn >> 3, pin) * 8 + ((devfn >> 5) & 7);
    const bit = 1 << (devfn & 31);
    const old = this.intxSources[i];
    const now = level ? old | bit : old & ~bit;
    if (now === old) return;
    this.intxSources[i] = now;
    this.updateLines();
  }

  /** Drives the I/O APIC inputs and the routed ISA IRQ lines from the PIRQ levels. */
  private updateLines(): void {
    let isa = 0;
    for (let p = 0; p < PIIX_NUM_PIRQS; p++) {
      const level = this.pirqLevel(p);
      this.ioapicIrqs[p]?.set(level);
      if (level) {
        const irq = this.pirqIrq(p);
        if (irq >= 0) isa |= 1 << irq;
      }
    }
    const lines = this.isaIrqs;
    for (let irq = 0; irq < 16 && irq < lines.length; irq++) lines[irq]?.set((isa & (1 << irq)) !== 0);
  }

  override configWrite(offset: number, size: number, value: number): void {
    super.configWrite(offset, size, value);
    if (offset < PIIX_PIRQRC + PIIX_NUM_PIRQS && offset + size > PIIX_PIRQRC) this.updateLines();
  }

  /**
   * What SeaBIOS does for a PIIX board (pciinit.c: piix_isa_bridge_setup and
   * pci_bios_init_device): route PIRQA..D to ISA IRQ 10, 10, 11, 11 and set
   * every function's interrupt line register to the IRQ its pin reaches
   * (through this board's wiring, pirqOf). Returns the ISA IRQs (bit mask,
   * 0x0C00) SeaBIOS also marks level-triggered in the ELCR: the machine
   * writes them to the DualPic (ports 0x4D0/0x4D1).
   */
  biosInit(): number {
    let elcr = 0;
    for (let p = 0; p < PIIX_NUM_PIRQS; p++) {
      const irq = SEABIOS_PCI_IRQS[p];
      this.configWrite(PIIX_PIRQRC + p, 1, irq);
      elcr |= 1 << irq;
    }
    if (this.bus) {
      for (const dev of this.bus.devices()) {
        const pin = dev.interruptPin;
        if (pin) dev.configWrite(PCI_INTERRUPT_LINE, 1, SEABIOS_PCI_IRQS[pirqOf(dev.slot, pin)]);
      }
    }
    return elcr;
  }

  // --- Device -------------------------------------------------------------------

  /**
   * Registers back to their reset values (routing disabled). The INTx
   * sources are the functions' own pins, which their resets release.
   */
  override reset(): void {
    super.reset();
    this.updateLines();
  }

  override saveState(): Piix3State {
    return { ...super.saveState(), intxSources: this.intxSources.slice() };
  }

  override loadState(state: Piix3State): void {
    super.loadState(state);
    if (!Array.isArray(state.intxSources) || state.intxSources.length !== PIIX_NUM_PIRQS * 8) {
      throw new Error('piix3: saved intxSources must hold 32 words');
    }
    this.intxSources = state.intxSources.map((w) => w | 0);
    this.updateLines();
  }
}
