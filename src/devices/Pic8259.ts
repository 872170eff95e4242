// The PC's pair of Intel 8259A programmable interrupt controllers, as a
// PIIX south bridge has them: master at 0x20/0x21, slave at 0xA0/0xA1, the
// slave's INT wired to the master's IR2, and the edge/level control
// registers (ELCR) at 0x4D0/0x4D1.
//
// Model notes (8259A datasheet unless said otherwise):
// - Edge-triggered inputs latch a rising edge in the IRR; the request stays
//   latched until it is acknowledged (or ICW1 resets the edge sense) even if
//   the input falls again. A real 8259A drops the request when the input
//   falls before INTA; we keep it so that IrqLine.pulse() works (the
//   IrqLine contract: "edge-triggered inputs latch the rising edge").
// - Level-triggered inputs (ELCR bit set) request while the input is high:
//   an input that falls before INTA withdraws its request, and one that is
//   still high after the EOI requests again.
// - ICW1's LTIM bit is stored but ignored: on a PIIX the ELCR decides the
//   trigger mode per input. IRQ 0, 1, 2, 8 and 13 are always edge-triggered
//   (their ELCR bits are read-only zero).
// - INTA with no request to present answers the IR7 vector of the chip that
//   had nothing (spurious IRQ7 or, after the master has committed to IR2,
//   spurious IRQ15) without setting an ISR bit; for a spurious IRQ15 the
//   master's ISR2 is set, as on real hardware (the guest EOIs the master).
// - The slave's INT is the master's IR2 input (edge-triggered). When the
//   slave still has a request to present right after an INTA (auto-EOI on
//   the slave), the master latches IR2 again.
// - Only the 8086 vector format is modelled (ICW4 uPM is ignored).
import { IrqLine, type IrqSink } from '../vmm/IrqLine.ts';
import type { PortBus } from '../vmm/PortBus.ts';
import { BytePorts } from './BytePorts.ts';
import { clonePlain, type Device } from './Device.ts';

export interface PicChipState {
  /** Interrupt request register. */
  irr: number;
  /** In-service register. */
  isr: number;
  /** Interrupt mask register (OCW1). */
  imr: number;
  /** Current levels of the eight IR inputs. */
  pins: number;
  /** Edge/level control (PIIX ELCR): bit set = level-triggered. */
  elcr: number;
  /** ICW2 & 0xf8: the vector of IR0. */
  vectorBase: number;
  icw1: number;
  icw3: number;
  icw4: number;
  /** 0: operational; 1, 2, 3: the next data-port write is ICW2, ICW3, ICW4. */
  initStep: number;
  /** The IR with the lowest priority; IR (lowest + 1) & 7 has the highest. */
  lowest: number;
  /** OCW3 RR/RIS: reads of the command port return the ISR instead of the IRR. */
  readIsr: boolean;
  /** OCW3 P: the next read is a poll (acts as INTA, returns 0x80 | level). */
  poll: boolean;
  /** OCW3 special mask mode. */
  specialMask: boolean;
  /** OCW2 rotate in automatic EOI mode. */
  rotateInAutoEoi: boolean;
}

const ICW1_IC4 = 0x01;
const ICW1_SNGL = 0x02;
const ICW4_AEOI = 0x02;
const ICW4_SFNM = 0x10;

/** One 8259A. Pure register logic: DualPic wires two of them to pins and the CPU. */
export class Pic8259 {
  state!: PicChipState;

  constructor(
    readonly name: string,
    readonly isMaster: boolean,
    /** ELCR bits that can be set (the others are edge-only). */
    readonly elcrMask: number,
    /** ICW3 after power-on: the PC wiring (master 0x04, slave ID 2). */
    private readonly resetIcw3: number,
  ) {
    this.reset();
  }

  reset(): void {
    const pins = this.state ? this.state.pins : 0;
    this.state = {
      irr: 0,
      isr: 0,
      // Power-on contents are undefined on a real 8259A; everything masked
      // keeps an unprogrammed controller quiet. ICW1 clears the mask.
      imr: 0xff,
      pins,
      elcr: 0,
      vectorBase: 0,
      icw1: 0,
      icw3: this.resetIcw3,
      icw4: 0,
      initStep: 0,
      lowest: 7,
      readIsr: false,
      poll: false,
      specialMask: false,
      rotateInAutoEoi: false,
    };
  }

  /** IR input `pin` (0..7) is now at `level`. */
  setInput(pin: number, level: boolean): void {
    const s = this.state;
    const bit = 1 << pin;
    if (level) {
      if (s.pins & bit) return;
      s.pins |= bit;
      s.irr |= bit; // a rising edge, or a level going high: both request
    } else {
      if (!(s.pins & bit)) return;
      s.pins &= ~bit;
      if (s.elcr & bit) s.irr &= ~bit; // a level request goes away with its input
    }
  }

  /** The highest-priority IR among the bits of `mask` (under the current rotation), or -1. */
  highest(mask: number): number {
    if (!(mask & 0xff)) return -1;
    for (let i = 1; i <= 8; i++) {
      const irq = (this.state.lowest + i) & 7;
      if (mask & (1 << irq)) return irq;
    }
    return -1;
  }

  /** 0 = highest priority, 7 = lowest. */
  private rank(irq: number): number {
    return (irq - this.state.lowest - 1) & 7;
  }

  /** The IR this chip would present on INTA now (its INT output is high), or -1. */
  pending(): number {
    const s = this.state;
    const req = s.irr & ~s.imr & 0xff;
    if (!req) return -1;
    const irq = this.highest(req);
    // In special mask mode a masked in-service level does not hold off others.
    let busy = s.specialMask ? s.isr & ~s.imr : s.isr;
    // Special fully nested mode: the master lets a slave interrupt a routine
    // that is serving the same slave (the slave does its own nesting).
    if (this.isMaster && s.icw4 & ICW4_SFNM && !(s.icw1 & ICW1_SNGL)) busy &= ~s.icw3;
    if (busy & 0xff) {
      const cur = this.highest(busy);
      if (this.rank(irq) >= this.rank(cur)) return -1;
    }
    return irq;
  }

  /** The INTA cycle's effect on this chip for level `irq`. */
  ack(irq: number): void {
    const s = this.state;
    const bit = 1 << irq;
    if (!(s.elcr & bit)) s.irr &= ~bit; // the edge latch is consumed; a level stays requested
    if (s.icw4 & ICW4_AEOI) {
      if (s.rotateInAutoEoi) s.lowest = irq;
    } else {
      s.isr |= bit;
    }
  }

  vector(irq: number): number {
    return (this.state.vectorBase | irq) & 0xff;
  }

  get autoEoi(): boolean {
    return (this.state.icw4 & ICW4_AEOI) !== 0;
  }

  /** Single mode (ICW1 SNGL): no cascade. */
  get single(): boolean {
    return (this.state.icw1 & ICW1_SNGL) !== 0;
  }

  /** Write to the A0=0 port: ICW1, OCW2 or OCW3. */
  writeCommand(v: number): void {
    const s = this.state;
    if (v & 0x10) {
      // ICW1: edge sense reset (edge inputs need a fresh rising edge), IMR
      // cleared, IR7 lowest priority, special mask off, status read = IRR;
      // ICW4 functions are zero until an ICW4 arrives (IC4) or for good.
      s.icw1 = v;
      s.initStep = 1;
      s.imr = 0;
      s.isr = 0;
      s.irr = s.pins & s.elcr;
      s.lowest = 7;
      s.readIsr = false;
      s.poll = false;
      s.specialMask = false;
      s.rotateInAutoEoi = false;
      s.icw4 = 0;
      return;
    }
    if (v & 0x08) {
      // OCW3
      if (v & 0x04) s.poll = true;
      if (v & 0x02) s.readIsr = (v & 0x01) !== 0;
      if (v & 0x40) s.specialMask = (v & 0x20) !== 0;
      return;
    }
    // OCW2: R SL EOI in bits 7..5, level in bits 2..0.
    const level = v & 7;
    switch (v >> 5) {
      case 0: // rotate in automatic EOI mode (clear)
        s.rotateInAutoEoi = false;
        break;
      case 4: // rotate in automatic EOI mode (set)
        s.rotateInAutoEoi = true;
        break;
      case 1: // non-specific EOI
      case 5: {
        // rotate on non-specific EOI
        // In special mask mode a masked ISR bit is not cleared by a non-specific EOI.
        const irq = this.highest(s.specialMask ? s.isr & ~s.imr : s.isr);
        if (irq >= 0) {
          s.isr &= ~(1 << irq);
          if (v >> 5 === 5) s.lowest = irq;
        }
        break;
      }
      case 3: // specific EOI
        s.isr &= ~(1 << level);
        break;
      case 7: // rotate on specific EOI
        s.isr &= ~(1 << level);
        s.lowest = level;
        break;
      case 6: // set priority: `level` becomes the lowest
        s.lowest = level;
        break;
      default: // 2: no operation
        break;
    }
  }

  /** Write to the A0=1 port: ICW2..ICW4 during initialisation, else OCW1. */
  writeData(v: number): void {
    const s = this.state;
    switch (s.initStep) {
      case 1:
        s.vectorBase = v & 0xf8;
        s.initStep = !(s.icw1 & ICW1_SNGL) ? 2 : s.icw1 & ICW1_IC4 ? 3 : 0;
        break;
      case 2:
        s.icw3 = v;
        s.initStep = s.icw1 & ICW1_IC4 ? 3 : 0;
        break;
      case 3:
        s.icw4 = v;
        s.initStep = 0;
        break;
      default:
        s.imr = v;
    }
  }

  /** Read of the A0=0 (`a0` false) or A0=1 port. */
  read(a0: boolean): number {
    const s = this.state;
    if (s.poll) {
      // Poll command: this read is the interrupt acknowledge.
      s.poll = false;
      const irq = this.pending();
      if (irq < 0) return 0;
      this.ack(irq);
      return 0x80 | irq;
    }
    if (a0) return s.imr;
    return s.readIsr ? s.isr : s.irr;
  }

  writeElcr(v: number): void {
    const s = this.state;
    s.elcr = v & this.elcrMask;
    s.irr = (s.irr & ~s.elcr) | (s.pins & s.elcr);
  }
}

export interface DualPicState {
  master: PicChipState;
  slave: PicChipState;
}

/** The master/slave pair: an IrqSink for ISA IRQ 0..15 and the CPU's INTR/INTA. */
export class DualPic implements IrqSink, Device<DualPicState> {
  readonly name = 'pic';
  readonly master = new Pic8259('pic.master', true, 0xf8, 0x04);
  readonly slave = new Pic8259('pic.slave', false, 0xde, 0x02);
  /**
   * The master's INT output: the CPU's INTR. High while an interrupt is
   * waiting to be acknowledged; connect a sink that opens the vCPU's
   * interrupt window, and call acknowledge() when the vCPU can take it.
   */
  readonly intr = new IrqLine('pic.intr');

  private readonly masterPorts = new BytePorts(
    {
      readByte: (o) => this.afterRead(this.master.read(o === 1)),
      writeByte: (o, v) => {
        if (o === 0) this.master.writeCommand(v);
        else this.master.writeData(v);
        this.update();
      },
    },
    2,
  );
  private readonly slavePorts = new BytePorts(
    {
      readByte: (o) => this.afterRead(this.slave.read(o === 1)),
      writeByte: (o, v) => {
        if (o === 0) this.slave.writeCommand(v);
        else this.slave.writeData(v);
        this.update();
      },
    },
    2,
  );
  private readonly elcrPorts = new BytePorts(
    {
      readByte: (o) => (o === 0 ? this.master.state.elcr : this.slave.state.elcr),
      writeByte: (o, v) => {
        (o === 0 ? this.master : this.slave).writeElcr(v);
        this.update();
      },
    },
    2,
  );

  register(bus: PortBus): void {
    bus.register(0x20, 2, this.masterPorts, 'pic.master');
    bus.register(0xa0, 2, this.slavePorts, 'pic.slave');
    bus.register(0x4d0, 2, this.elcrPorts, 'pic.elcr');
  }

  /** ISA IRQ `pin` (0..15, not 2: that is the cascade input) is now at `level`. */
  setIrq(pin: number, level: boolean): void {
    if (pin >= 0 && pin < 8 && pin !== 2) this.master.setInput(pin, level);
    else if (pin >= 8 && pin < 16) this.slave.setInput(pin - 8, level);
    else if (pin === 2) throw new RangeError('pic: IRQ2 is the cascade input; wire ISA IRQ 2 devices to IRQ9');
    else throw new RangeError(`pic: no IRQ ${pin} (the 8259 pair has 0..15)`);
    this.update();
  }

  /** True while INTR is asserted. */
  get interruptPending(): boolean {
    return this.intr.isRaised;
  }

  /**
   * The INTA cycle: returns the vector and updates IRR/ISR as the two chips
   * do. With nothing to present it returns the spurious IRQ7 vector.
   */
  acknowledge(): number {
    const m = this.master;
    const irq = m.pending();
    if (irq < 0) return m.vector(7); // spurious IRQ7: no ISR bit set
    m.ack(irq);
    let vector: number;
    if (irq === 2 && !m.single && m.state.icw3 & 0x04) {
      const s = this.slave;
      const sirq = s.pending();
      if (sirq < 0) {
        vector = s.vector(7); // spurious IRQ15: master ISR2 set, slave untouched
      } else {
        s.ack(sirq);
        vector = s.vector(sirq);
      }
      // The slave keeps INT asserted when it has another request ready (auto-EOI).
      if (s.pending() >= 0) m.state.irr |= 0x04;
    } else {
      vector = m.vector(irq);
    }
    this.update();
    return vector;
  }

  /** Program both chips as SeaBIOS's pic_setup() does. */
  biosInit(): void {
    // ICW1: edge, cascade, ICW4 needed.
    this.masterPorts.portWrite(0, 1, 0x11);
    this.slavePorts.portWrite(0, 1, 0x11);
    // ICW2: vector bases 0x08 and 0x70.
    this.masterPorts.portWrite(1, 1, 0x08);
    this.slavePorts.portWrite(1, 1, 0x70);
    // ICW3: slave on IR2; slave ID 2.
    this.masterPorts.portWrite(1, 1, 0x04);
    this.slavePorts.portWrite(1, 1, 0x02);
    // ICW4: 8086 mode, normal EOI.
    this.masterPorts.portWrite(1, 1, 0x01);
    this.slavePorts.portWrite(1, 1, 0x01);
    // OCW1: everything masked except the cascade (PIC_IRQMASK_DEFAULT = ~(1 << 2)).
    this.masterPorts.portWrite(1, 1, 0xfb);
    this.slavePorts.portWrite(1, 1, 0xff);
  }

  reset(): void {
    this.master.reset();
    this.slave.reset();
    this.update();
  }

  saveState(): DualPicState {
    return { master: clonePlain(this.master.state), slave: clonePlain(this.slave.state) };
  }

  loadState(state: DualPicState): void {
    this.master.state = clonePlain(state.master);
    this.slave.state = clonePlain(state.slave);
    this.update();
  }

  private afterRead(v: number): number {
    this.update(); // a poll read acknowledges
    return v;
  }

  /** Propagate the slave's INT to master IR2 and the master's INT to INTR. */
  private update(): void {
    this.master.setInput(2, this.slave.pending() >= 0);
    this.intr.set(this.master.pending() >= 0);
  }
}
