// The PC: one vCPU of the core plus the device model of a PIIX-era machine,
// wired together, and the vCPU exit loop (Firecracker's vcpu run loop, with
// QEMU's userspace irqchip protocol). Everything runs synchronously in
// slices; an async driver (cli/, worker/) calls runSlices() and waits when
// the guest is idle.
import { Vcpu } from '../core/Vcpu.ts';
import * as abi from '../../wasm/abi.ts';
import { PortBus, type AccessSize } from './PortBus.ts';
import { MmioBus, type MmioSize } from './MmioBus.ts';
import { IrqLine, IrqOr } from './IrqLine.ts';
import { InstructionClock, RealTimeClock, type GuestClock } from './Clock.ts';
import { Timers } from './Timers.ts';
import { GuestMemory } from './GuestMemory.ts';
import { DELIVERY_EXTINT, type ApicBus, type ApicMessage } from './ApicBus.ts';
import { DualPic } from '../devices/Pic8259.ts';
import { Pit8254 } from '../devices/Pit8254.ts';
import { Uart16550, COM_PORTS } from '../devices/Uart16550.ts';
import { Rtc146818 } from '../devices/Rtc146818.ts';
import { I8042 } from '../devices/I8042.ts';
import { Ps2Keyboard } from '../devices/Ps2Keyboard.ts';
import { SystemControlPorts } from '../devices/SystemControlPorts.ts';
import { IsaDebugExit } from '../devices/IsaDebugExit.ts';
import { FpuErrorPort, FPU_ERROR_IRQ } from '../devices/FpuErrorPort.ts';
import { applyBootPlan, type BootPlan } from '../boot/BootPlan.ts';
import { PciHost } from '../devices/pci/PciHost.ts';
import { I440fx } from '../devices/pci/I440fx.ts';
import { Piix3 } from '../devices/pci/Piix3.ts';
import { VirtioBlk } from '../devices/virtio/VirtioBlk.ts';
import { VirtioPci } from '../devices/virtio/VirtioPci.ts';
import type { BlockDevice } from '../storage/BlockDevice.ts';
import { TrackedDisk, IoTracker } from './IoTracker.ts';
import { IoApic82093, IOAPIC_DEFAULT_ADDRESS } from '../devices/IoApic82093.ts';
import { AcpiPm } from '../devices/AcpiPm.ts';
import { FwCfg } from '../devices/FwCfg.ts';
import { buildAcpiTables, type AcpiTablesResult } from '../firmware/AcpiTables.ts';
import { buildMpTable, type MpTableResult } from '../firmware/MpTable.ts';
import { e820Map, PCI_HOLE_START, type E820Entry } from '../boot/MemoryMap.ts';

export interface MachineOptions {
  /** Guest RAM in bytes (16 MiB to 2 GiB, a multiple of 1 MiB). */
  ramSize: number;
  /** 'deterministic': time derives from executed instructions (tests); 'realtime' (default). */
  clock?: 'realtime' | 'deterministic';
  /** Bytes the guest writes to COM1. */
  onSerialOutput?: (byte: number) => void;
  /** QEMU's isa-debug-exit. */
  debugExit?: { iobase: number; iosize: number };
  /** Called when the guest resets the machine (triple fault, 0xCF9, i8042, port 0x92). */
  onReset?: () => void;
  /** Guest RAM in shared memory (default true); false for pages that are not cross-origin isolated. */
  sharedMemory?: boolean;
}

export type StopReason =
  | { kind: 'debug-exit'; status: number }
  | { kind: 'reset' }
  | { kind: 'poweroff' };

export interface SliceResult {
  /** The guest asked to stop the machine. */
  stop?: StopReason;
  /** Real-time mode: the vCPU is halted with nothing to do until this guest time (ns). */
  idleUntilNs?: number;
  /**
   * Deterministic mode: the vCPU is halted waiting for device I/O (a disk
   * request). Await this before the next runSlices(); guest time stands
   * still meanwhile, so runs stay identical whatever the host's I/O speed.
   */
  waitIo?: Promise<void>;
}

const IOAPIC_ID = 1;
const SCI_IRQ = 9;
/** RAM reserved at the top of low memory for the ACPI tables (64 KiB). */
const ACPI_AREA_SIZE = 0x10000;

/** The first PCI slot for disks and other added devices (0: host bridge, 1: PIIX3). */
const FIRST_FREE_SLOT = 3;
/** Where firmware-style BAR assignment starts: I/O above the ISA range, memory at the PCI hole. */
const PCI_IO_START = 0xc000;
const PCI_MMIO_START = 0xe0000000;
const PCI_MMIO_END = 0xfec00000;

export const MIN_RAM = 16 << 20;
export const MAX_RAM = 2048 * 1024 * 1024;

export class Machine {
  readonly vcpu: Vcpu;
  readonly memory: GuestMemory;
  readonly ports = new PortBus();
  readonly mmio = new MmioBus();
  readonly clock: GuestClock;
  readonly timers: Timers;
  /** ISA IRQ lines as the interrupt controllers see them: the wired-OR of every source. */
  readonly isaIrq: IrqLine[];
  private readonly isaIrqOr: IrqOr[];
  readonly pci: PciHost;
  readonly i440fx: I440fx;
  readonly piix3: Piix3;
  /** I/O APIC inputs 16-19 (PIRQA-D); connected when the I/O APIC exists. */
  readonly pirqLines: IrqLine[];
  readonly disks: { blk: VirtioBlk; pci: VirtioPci }[] = [];
  readonly ioapic: IoApic82093;
  readonly acpiPm: AcpiPm;
  readonly fwCfg: FwCfg;
  /** The firmware tables the machine presents (built once; copied into RAM at every boot). */
  readonly acpi: AcpiTablesResult;
  readonly mpTable: MpTableResult;
  /** The memory map for boot loaders: RAM, the BIOS areas and the ACPI tables. */
  readonly e820: E820Entry[];
  readonly io = new IoTracker();
  readonly pic = new DualPic();
  readonly pit: Pit8254;
  readonly serial: Uart16550[];
  readonly rtc: Rtc146818;
  readonly keyboard = new Ps2Keyboard();
  readonly i8042: I8042;
  readonly sysctl: SystemControlPorts;
  readonly debugExit?: IsaDebugExit;
  /** FERR# -> IRQ 13 and port F0h -> IGNNE# (the x87's CR0.NE=0 error reporting). */
  readonly fpuError: FpuErrorPort;

  /**
   * The APIC bus: I/O APIC (and later MSI) messages to the local APICs in the
   * core. Give it to the I/O APIC model.
   */
  readonly apicBus: ApicBus = { send: (msg) => this.deliverApicMessage(msg) };
  /**
   * Called with the vector when the guest EOIs a level-triggered interrupt
   * (EXIT_APIC_EOI): wire the I/O APIC's endOfInterrupt(vector) here.
   */
  apicEoiHandler: ((vector: number) => void) | undefined;

  /** An ExtINT message (I/O APIC pin in ExtINT mode) lets the 8259's next interrupt through whatever LINT0 says. */
  private extIntRequested = false;
  /** Real time: the estimated ns per guest instruction (measured, smoothed). */
  private realNsPerInsn = 10;
  private a20ByKbc = true;
  private a20ByPort92 = true;
  private pendingStop: StopReason | undefined;
  private bootPlan: BootPlan | undefined;

  private constructor(vcpu: Vcpu, readonly opts: MachineOptions) {
    this.vcpu = vcpu;
    this.memory = new GuestMemory(vcpu.ram);
    this.clock = opts.clock === 'deterministic' ? new InstructionClock(() => vcpu.icount) : new RealTimeClock();
    this.timers = new Timers(this.clock);

    // ISA IRQ lines go to the 8259 pair (the I/O APIC joins when it exists);
    // each is a wired-OR, as PCI interrupts share them with ISA devices.
    this.isaIrq = Array.from({ length: 16 }, (_, i) => new IrqLine(`irq${i}`));
    this.isaIrqOr = this.isaIrq.map((line) => new IrqOr(line));
    this.isaIrq.forEach((line, i) => {
      if (i !== 2) line.connect(this.pic, i);
    });
    this.pic.register(this.ports);
    const irq = (n: number, who: string): IrqLine => this.isaIrqOr[n].input(`${who}->irq${n}`);

    this.pit = new Pit8254({ clock: this.clock, timers: this.timers, out: [irq(0, 'pit')] });
    this.pit.register(this.ports);

    this.serial = COM_PORTS.map((c, i) => {
      const u = new Uart16550({
        timers: this.timers,
        irq: irq(c.irq, `com${i + 1}`),
        name: `com${i + 1}`,
        instantTx: true,
        onTransmit: i === 0 ? opts.onSerialOutput : undefined,
      });
      u.register(this.ports, c.port);
      return u;
    });
    // COM1 and COM3 share IRQ4, COM2 and COM4 IRQ3; the UARTs drive the line
    // only with OUT2 set, so one enabled port per IRQ works as on a PC.

    this.rtc = new Rtc146818({ timers: this.timers, irq: irq(8, 'rtc'), ramSize: opts.ramSize });
    this.rtc.register(this.ports);

    this.i8042 = new I8042({
      keyboard: this.keyboard,
      irq1: irq(1, 'kbd'),
      irq12: irq(12, 'aux'),
      onA20: (on) => {
        this.a20ByKbc = on;
        this.updateA20();
      },
      onReset: () => this.requestReset(),
    });
    this.i8042.register(this.ports);

    this.sysctl = new SystemControlPorts({
      clock: this.clock,
      setPitGate2: (l) => this.pit.setGate(2, l),
      pitOut2: () => this.pit.getOut(2),
      onA20: (on) => {
        this.a20ByPort92 = on;
        this.updateA20();
      },
      onReset: () => this.requestReset(),
    });
    this.sysctl.register(this.ports);

    // PCI: i440FX host bridge at 00:00.0, PIIX3 at 00:01.0 routing PIRQA-D.
    this.pci = new PciHost({ ports: this.ports, mmio: this.mmio, onReset: () => this.requestReset() });
    this.pci.register();
    this.i440fx = new I440fx({ ramSize: opts.ramSize });
    this.pirqLines = [0, 1, 2, 3].map((i) => new IrqLine(`pirq${'ABCD'[i]}`));
    this.piix3 = new Piix3({
      isaIrqs: this.isaIrq.map((_, n) => (n === 2 ? undefined : irq(n, 'piix3'))),
      ioapicIrqs: this.pirqLines,
    });
    this.pci.addDevice(this.i440fx, 0);
    this.pci.addDevice(this.piix3, 1);
    this.pci.setIntxRouter(this.piix3);

    // The I/O APIC (82093AA) sees every ISA IRQ (IRQ0 on pin 2, per the
    // MADT override) and PIRQA-D on pins 16-19, as on PIIX boards with one.
    this.ioapic = new IoApic82093({ bus: this.apicBus, id: IOAPIC_ID });
    this.ioapic.register(this.mmio, IOAPIC_DEFAULT_ADDRESS);
    this.isaIrq.forEach((line, n) => {
      if (n !== 2) line.connect(this.ioapic, n === 0 ? 2 : n);
    });
    this.pirqLines.forEach((line, i) => line.connect(this.ioapic, 16 + i));
    this.apicEoiHandler = (vector) => this.ioapic.endOfInterrupt(vector);

    // ACPI fixed hardware at 0x600, SCI on IRQ 9; S5 powers the machine off.
    this.acpiPm = new AcpiPm({ timers: this.timers, sci: irq(SCI_IRQ, 'acpi'), onPowerOff: () => (this.pendingStop ??= { kind: 'poweroff' }) });
    this.acpiPm.register(this.ports);

    // Firmware tables: ACPI just below the top of low RAM (marked ACPI in
    // e820), the RSDP and the MP table in the BIOS area.
    const below4g = Math.min(opts.ramSize, PCI_HOLE_START);
    const tableBase = below4g - ACPI_AREA_SIZE;
    this.acpi = buildAcpiTables({ cpus: 1, ioApicAddress: IOAPIC_DEFAULT_ADDRESS, ioApicId: IOAPIC_ID, pmBase: 0x600, sciIrq: SCI_IRQ, tableBase });
    this.mpTable = buildMpTable({ cpus: 1, ioApicId: IOAPIC_ID, ioApicAddress: IOAPIC_DEFAULT_ADDRESS, sciIrq: SCI_IRQ });
    this.e820 = e820Map(opts.ramSize, { addr: tableBase, size: ACPI_AREA_SIZE });

    this.fwCfg = new FwCfg({ memory: this.memory, ramSize: opts.ramSize, nbCpus: 1, nographic: true });
    this.fwCfg.register(this.ports);

    // The x87's FERR# (EXIT_FERR) raises IRQ 13; a write to port F0h lowers it
    // and asserts IGNNE# in the vCPU (its FPU_FERR_IGNNE word).
    this.fpuError = new FpuErrorPort({
      irq: irq(FPU_ERROR_IRQ, 'fpu'),
      onIgnne: () => new DataView(vcpu.memory.buffer).setUint32(vcpu.base + abi.V_FPU + abi.FPU_FERR_IGNNE, 1, true),
    });
    this.fpuError.register(this.ports);

    if (opts.debugExit) {
      this.debugExit = new IsaDebugExit({
        iobase: opts.debugExit.iobase,
        iosize: opts.debugExit.iosize,
        onExit: (status) => (this.pendingStop ??= { kind: 'debug-exit', status }),
      });
      this.debugExit.register(this.ports);
    }
  }

  static async create(opts: MachineOptions): Promise<Machine> {
    const { ramSize } = opts;
    if (!Number.isInteger(ramSize) || ramSize < MIN_RAM || ramSize > MAX_RAM || ramSize % (1 << 20) !== 0) {
      throw new RangeError(`memory size must be a whole number of MiB from ${MIN_RAM >> 20} MiB to ${MAX_RAM / 1048576} MiB`);
    }
    const vcpu = await Vcpu.create({ ramSize, shared: opts.sharedMemory });
    return new Machine(vcpu, opts);
  }

  /**
   * Adds a virtio-blk disk (the guest's /dev/vda, vdb… in slot order).
   * Call before boot(); BARs are assigned at boot as firmware would.
   */
  addDisk(disk: BlockDevice, opts: { readOnly?: boolean; serial?: string } = {}): void {
    const slot = FIRST_FREE_SLOT + this.disks.length;
    if (slot > 31) throw new RangeError('no free PCI slot for another disk');
    const blk = new VirtioBlk({ disk: new TrackedDisk(disk, this.io), readOnly: opts.readOnly, serial: opts.serial ?? `wkvm-disk${this.disks.length}` });
    const pci = new VirtioPci({ device: blk, mem: this.memory });
    this.pci.addDevice(pci, slot);
    this.disks.push({ blk, pci });
  }

  /**
   * PCI set-up as firmware does it: PIRQ routing (PIRQA-D to IRQ 10, 10,
   * 11, 11, level-triggered in the ELCR), every BAR given an address, I/O,
   * memory and bus mastering enabled, and the interrupt line written.
   */
  private pciBiosInit(): void {
    const elcr = this.piix3.biosInit();
    this.ports.write(0x4d0, 1, elcr & 0xff);
    this.ports.write(0x4d1, 1, elcr >> 8);
    let io = PCI_IO_START;
    let mem = PCI_MMIO_START;
    for (const dev of this.pci.devices()) {
      if (dev === this.i440fx || dev === this.piix3) continue;
      for (let bar = 0; bar < 6; bar++) {
        const cfg = 0x10 + bar * 4;
        const old = dev.configRead(cfg, 4);
        dev.configWrite(cfg, 4, 0xffffffff);
        const sizing = dev.configRead(cfg, 4);
        dev.configWrite(cfg, 4, old);
        if (sizing === 0) continue;
        const isIo = (sizing & 1) !== 0;
        const size = isIo ? ((~(sizing & ~3) & 0xffff) + 1) : ((~(sizing & ~0xf) >>> 0) + 1);
        if (isIo) {
          io = Math.ceil(io / size) * size;
          dev.configWrite(cfg, 4, io);
          io += size;
        } else {
          mem = Math.ceil(mem / size) * size;
          if (mem + size > PCI_MMIO_END) throw new RangeError(`PCI memory window full placing ${dev.name} BAR${bar}`);
          dev.configWrite(cfg, 4, mem);
          mem += size;
        }
      }
      dev.configWrite(0x04, 2, dev.configRead(0x04, 2) | 0x7); // I/O, memory, bus master
    }
  }

  private updateA20(): void {
    this.vcpu.setA20(this.a20ByKbc && this.a20ByPort92);
  }

  private requestReset(): void {
    this.pendingStop ??= { kind: 'reset' };
  }

  /**
   * Direct kernel boot: the platform is left as a PC BIOS leaves it (PICs at
   * vectors 0x08/0x70, PIT channel 0 at 18.2 Hz, A20 on, COM1 programmed,
   * the BIOS data area's basic fields), then the loader's plan is applied.
   */
  boot(plan: BootPlan): void {
    this.bootPlan = plan;
    this.writeFirmwareTables();
    if (plan.fwCfg) this.fwCfg.setKernel(plan.fwCfg);
    this.pic.biosInit();
    this.pit.biosInit();
    this.i8042.biosInit();
    this.programCom1();
    this.writeBiosDataArea();
    this.programLocalApic();
    this.pciBiosInit();
    applyBootPlan(this.vcpu, plan);
  }

  /**
   * The local APIC as SeaBIOS's smp_setup() leaves it: software-enabled,
   * virtual wire mode (LINT0 ExtINT, level; LINT1 NMI, level), so the PIC's
   * interrupts reach the CPU through the APIC.
   */
  private programLocalApic(): void {
    const v = this.vcpu;
    v.apicWrite(abi.APIC_SVR, v.apicRead(abi.APIC_SVR) | abi.APIC_SVR_ENABLE);
    v.apicWrite(abi.APIC_LVT_LINT0, 0x8700);
    v.apicWrite(abi.APIC_LVT_LINT1, 0x8400);
  }

  /** A message on the APIC bus: to the local APIC if it is a destination. */
  private deliverApicMessage(msg: ApicMessage): void {
    const vcpu = this.vcpu;
    if (!vcpu.apicMatchDestination(msg.destination, msg.logical)) return;
    // ExtINT: the vector comes from the 8259's acknowledge, on the PIC path (updateInterrupts).
    if (msg.deliveryMode === DELIVERY_EXTINT) {
      this.extIntRequested = true;
      return;
    }
    vcpu.apicDeliver(msg.vector, msg.deliveryMode, msg.levelTriggered);
  }

  /** The guest clock for the core (Vcpu.setTime) before each run. */
  private syncTime(): void {
    const c = this.clock;
    if (c instanceof RealTimeClock) c.catchUp();
    const nsPerInsn = c instanceof InstructionClock ? c.nsPerInstruction : this.realNsPerInsn;
    this.vcpu.setTime(c.nowNs(), nsPerInsn);
  }

  /** Real time: refines the ns-per-instruction estimate from a slice that ran `ns` for `insns`. */
  private measureSpeed(ns: number, insns: number): void {
    if (insns < 10_000 || !(ns > 0)) return;
    const sample = Math.min(1000, Math.max(0.25, ns / insns));
    this.realNsPerInsn = this.realNsPerInsn * 0.75 + sample * 0.25;
  }

  /** The earliest guest time at which something (a device timer, the APIC timer) needs the vCPU. */
  private nextDeadline(): number {
    return Math.min(this.timers.nextDeadline(), this.vcpu.apicTimerDeadlineNs);
  }

  /** COM1 at 115200 8N1 with FIFOs, as firmware leaves a serial console. */
  private programCom1(): void {
    const p = COM_PORTS[0].port;
    this.ports.write(p + 3, 1, 0x80);
    this.ports.write(p + 0, 1, 0x01);
    this.ports.write(p + 1, 1, 0x00);
    this.ports.write(p + 3, 1, 0x03);
    this.ports.write(p + 2, 1, 0xc7);
    this.ports.write(p + 4, 1, 0x03);
  }

  /** What boot loaders need to know of this machine's memory: pass to planLinuxBoot/planMultibootBoot. */
  get bootInfo(): { ramSize: number; e820: E820Entry[]; rsdp: number } {
    return { ramSize: this.opts.ramSize, e820: this.e820, rsdp: this.acpi.rsdpAddr };
  }

  private writeFirmwareTables(): void {
    const m = this.memory;
    m.write(this.acpi.rsdpAddr, this.acpi.rsdp);
    for (const t of this.acpi.tables) m.write(t.addr, t.bytes);
    m.write(this.mpTable.floatingAddr, this.mpTable.bytes);
  }

  private writeBiosDataArea(): void {
    const m = this.memory;
    // 0x400: COM port bases; 0x410: equipment word; 0x413: base memory in KiB.
    COM_PORTS.forEach((c, i) => m.setU16(0x400 + i * 2, c.port));
    m.setU16(0x410, 0x0026 | ((COM_PORTS.length & 7) << 9));
    m.setU16(0x413, 639);
    // 0x40E: EBDA segment (the EBDA is at 0x9FC00).
    m.setU16(0x40e, 0x9fc0);
  }

  /** Input for the serial console. */
  serialInput(bytes: Uint8Array | string): void {
    this.serial[0].receive(bytes);
  }

  /**
   * Runs the guest until `maxNs` of host time passed (real time) or the guest
   * needs the host: it stopped, or (real time) it idles until a timer.
   */
  runSlices(maxHostMs = 20): SliceResult {
    const vcpu = this.vcpu;
    const start = performance.now();
    const deterministic = this.clock instanceof InstructionClock;
    for (;;) {
      this.timers.runExpired();
      this.updateInterrupts();
      if (this.pendingStop) {
        const stop = this.pendingStop;
        this.pendingStop = undefined;
        return { stop };
      }
      const deadline = this.timers.nextDeadline();
      let budget = 200_000;
      if (deterministic) budget = Math.min(budget, (this.clock as InstructionClock).instructionsUntil(deadline));
      this.syncTime();
      const i0 = deterministic ? 0n : vcpu.icount;
      const w0 = deterministic ? 0 : (this.clock as RealTimeClock).wallNs();
      const reason = vcpu.run(budget);
      if (!deterministic) {
        // Guest time continues from where the core's extrapolation left it.
        (this.clock as RealTimeClock).advance(vcpu.timeNs);
        this.measureSpeed((this.clock as RealTimeClock).wallNs() - w0, Number(vcpu.icount - i0));
      }
      switch (reason) {
        case abi.EXIT_IO: {
          const size = vcpu.exitSize as AccessSize;
          if (vcpu.exitIsWrite) this.ports.write(vcpu.exitPort, size, vcpu.exitData);
          else vcpu.exitData = this.ports.read(vcpu.exitPort, size);
          break;
        }
        case abi.EXIT_MMIO: {
          const size = vcpu.exitSize as MmioSize;
          if (vcpu.exitIsWrite) this.mmio.write(vcpu.exitAddr, size, vcpu.exitData64);
          else vcpu.exitData64 = this.mmio.read(vcpu.exitAddr, size);
          break;
        }
        case abi.EXIT_HLT: {
          this.updateInterrupts();
          if (vcpu.halted) {
            const next = this.nextDeadline();
            if (deterministic) {
              // Disk I/O in flight: wait for it with the clock stopped.
              if (this.io.pending > 0) return { waitIo: this.io.idle() };
              if (next === Infinity) return { stop: { kind: 'poweroff' } }; // halted forever: nothing can wake it
              this.clock.idleUntil(next);
            } else {
              return { idleUntilNs: next };
            }
          }
          break;
        }
        case abi.EXIT_SHUTDOWN:
          this.requestReset();
          break;
        case abi.EXIT_APIC_EOI:
          this.apicEoiHandler?.(vcpu.exitVector);
          break;
        case abi.EXIT_FERR:
          // The vCPU froze on an x87 error (it stays halted until an interrupt).
          this.fpuError.ferr();
          break;
        case abi.EXIT_APIC_IPI:
          // An IPI for other local APICs: there are none yet (one vCPU); the
          // core already delivered this vCPU's share.
          break;
        case abi.EXIT_IRQ_WINDOW:
        case abi.EXIT_BUDGET:
          break;
        default:
          throw new Error(`vCPU exit ${reason} is not handled`);
      }
      if (performance.now() - start >= maxHostMs) return {};
    }
  }

  /**
   * KVM's userspace irqchip protocol for the 8259: inject when the vCPU can
   * take it, else ask for a window; only while the local APIC lets INTR
   * through (disabled, or LINT0 in virtual wire mode). The APIC's own
   * interrupts (timer, IPIs, I/O APIC messages) are delivered by the core.
   */
  private updateInterrupts(): void {
    const vcpu = this.vcpu;
    if (this.pic.interruptPending && (this.extIntRequested || vcpu.apicAcceptsPicInterrupts())) {
      if (vcpu.readyForIrq) {
        vcpu.injectInterrupt(this.pic.acknowledge());
        vcpu.requestIrqWindow = false;
        this.extIntRequested = false;
      } else {
        vcpu.requestIrqWindow = true;
      }
    } else {
      vcpu.requestIrqWindow = false;
    }
  }

  /** Hard reset: devices and CPU to power-on state, then the same direct boot again. */
  reset(): void {
    for (const d of [this.pic, this.pit, ...this.serial, this.rtc, this.keyboard, this.i8042, this.sysctl, this.fpuError]) d.reset();
    this.pci.reset();
    for (const dev of this.pci.devices()) dev.reset();
    this.ioapic.reset();
    this.acpiPm.reset();
    this.fwCfg.reset();
    this.a20ByKbc = this.a20ByPort92 = true;
    this.extIntRequested = false;
    this.updateA20();
    this.vcpu.reset();
    if (this.bootPlan) this.boot(this.bootPlan);
  }
}
