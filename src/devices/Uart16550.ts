// A 16550A UART (NS PC16550D / TI TL16C550): the PC's serial port.
//
// Eight byte-wide registers at base+0..7, a 16-byte receive FIFO and a
// 16-byte transmit FIFO, the four-source prioritised interrupt (line status >
// received data / character timeout > THR empty > modem status), loopback and
// the modem control lines.
//
// Timing. Characters take their real time on the line: the divisor latch and
// LCR give a character time of (start + data + parity + stop bits) × 16 ×
// divisor / 1.8432 MHz, 86.806 µs for 115200 8N1. A character written to THR
// moves to the transmit shift register (TSR) at once when the TSR is idle and
// leaves it one character time later, when `onTransmit` sees it; so THRE, TEMT
// and the THR-empty interrupt come at the times a real chip gives them.
// `instantTx` trades that for speed: every THR write goes out at once and
// THRE/TEMT never drop. A guest that polls LSR between characters (Linux's
// printk console does) then spends no guest time per character, at the cost
// of line-rate realism (a guest measuring its baud rate sees an infinitely
// fast line). Reception is always timed: bytes from `receive()` arrive one
// character time apart, like a remote end sending at the programmed rate.
//
// Interrupt line. On a PC the UART's INTRPT pin reaches the ISA IRQ through a
// buffer enabled by the OUT2 output: the line is asserted only while MCR.OUT2
// is set. In loopback the datasheet forces the modem-control output pins to
// their inactive state, so the line is not asserted then either (the MCR bits
// still loop back to the MSR inputs). Pass `gateIrqWithOut2: false` for a
// board that wires INTRPT directly.
//
// Not modelled: parity and framing errors (PE/FE stay 0), DMA mode signalling
// (FCR bit 3 is stored only), the transmitted break condition (LCR bit 6 is
// stored only).
import { clonePlain, type Device } from './Device.ts';
import type { AccessSize, PortBus, PortDevice } from '../vmm/PortBus.ts';
import type { IrqLine } from '../vmm/IrqLine.ts';
import type { Timer, Timers } from '../vmm/Timers.ts';

/** Standard PC serial ports (base I/O port, ISA IRQ). */
export const COM1_PORT = 0x3f8;
export const COM1_IRQ = 4;
export const COM2_PORT = 0x2f8;
export const COM2_IRQ = 3;
export const COM3_PORT = 0x3e8;
export const COM3_IRQ = 4;
export const COM4_PORT = 0x2e8;
export const COM4_IRQ = 3;
/** COM1..COM4 in order. */
export const COM_PORTS: readonly { readonly port: number; readonly irq: number }[] = [
  { port: COM1_PORT, irq: COM1_IRQ },
  { port: COM2_PORT, irq: COM2_IRQ },
  { port: COM3_PORT, irq: COM3_IRQ },
  { port: COM4_PORT, irq: COM4_IRQ },
];
/** Number of I/O ports a UART occupies. */
export const UART_PORT_COUNT = 8;

/** The PC's UART reference clock (1.8432 MHz crystal). */
export const UART_CLOCK_HZ = 1_843_200;

// Register offsets.
const RBR_THR_DLL = 0;
const IER_DLM = 1;
const IIR_FCR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;

// IER bits.
const IER_RDA = 0x01;
const IER_THRE = 0x02;
const IER_RLS = 0x04;
const IER_MS = 0x08;

// IIR codes (bits 3..0) and the FIFO-enabled bits 7..6.
const IIR_NONE = 0x01;
const IIR_RLS = 0x06;
const IIR_RDA = 0x04;
const IIR_CTI = 0x0c;
const IIR_THRE = 0x02;
const IIR_MS = 0x00;
const IIR_FIFO = 0xc0;

// FCR bits.
const FCR_ENABLE = 0x01;
const FCR_RX_RESET = 0x02;
const FCR_TX_RESET = 0x04;
const FCR_STORED = 0xc9; // enable, DMA mode, trigger level

// LCR / MCR bits.
const LCR_DLAB = 0x80;
const MCR_DTR = 0x01;
const MCR_RTS = 0x02;
const MCR_OUT1 = 0x04;
const MCR_OUT2 = 0x08;
const MCR_LOOP = 0x10;

// LSR bits.
const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_BI = 0x10;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const LSR_RXFIFO_ERR = 0x80;
const LSR_ERRORS = 0x1e; // OE | PE | FE | BI

// MSR bits.
const MSR_DCTS = 0x01;
const MSR_DDSR = 0x02;
const MSR_TERI = 0x04;
const MSR_DDCD = 0x08;
const MSR_CTS = 0x10;
const MSR_DSR = 0x20;
const MSR_RI = 0x40;
const MSR_DCD = 0x80;

/** A received-FIFO entry is the byte plus this flag when it is a break. */
const RX_BREAK = 0x100;

const FIFO_SIZE = 16;
const TRIGGER_LEVELS = [1, 4, 8, 14];

export interface Uart16550Options {
  timers: Timers;
  irq: IrqLine;
  name?: string;
  /** The console: each byte as it leaves the transmitter. */
  onTransmit?: (byte: number) => void;
  /** Transmit at once, THRE/TEMT always set (see the file comment). Default false. */
  instantTx?: boolean;
  /**
   * Default true: bytes from `receive()` wait on the host side while the
   * receive FIFO is full (nothing is lost). False: they arrive at line rate
   * regardless, and a full FIFO overruns (LSR.OE), as with a real remote end
   * that ignores flow control.
   */
  hostRxBuffer?: boolean;
  /** Most bytes the host-side buffer holds; beyond it receive() drops. Default 1 MiB. */
  hostRxLimit?: number;
  /** Reference clock. Default 1.8432 MHz. */
  clockHz?: number;
  /** Assert the IRQ line only while MCR.OUT2 is set and not in loopback (PC wiring). Default true. */
  gateIrqWithOut2?: boolean;
  /** Modem status inputs (MSR bits 7..4) when not in loopback. Default DCD|DSR|CTS. */
  modemInputs?: number;
}

export interface Uart16550State {
  dll: number;
  dlm: number;
  ier: number;
  lcr: number;
  mcr: number;
  scr: number;
  /** FIFO enable (bit 0), DMA mode (bit 3), RX trigger (bits 7..6). */
  fcr: number;
  /** Latched LSR error bits (OE, BI) until LSR is read. */
  lsrErr: number;
  /** MSR delta bits 3..0, until MSR is read. */
  msrDelta: number;
  /** External modem inputs, MSR bit positions 7..4. */
  msrIn: number;
  /** Modem inputs the chip currently sees (external or looped back). */
  msrCur: number;
  /** Receive FIFO ring: byte | RX_BREAK. */
  rx: number[];
  rxHead: number;
  rxCount: number;
  /** What RBR reads when the FIFO is empty: the last byte read. */
  rbrLast: number;
  /** Transmit FIFO ring (THR when the FIFOs are off: capacity 1). */
  tx: number[];
  txHead: number;
  txCount: number;
  /** A character is in the transmit shift register. */
  tsrBusy: boolean;
  tsr: number;
  /** Guest ns when the TSR character finishes; -1 when idle. */
  txDoneNs: number;
  /** The TX FIFO held two bytes at once since THRE was last 1 (16550 THRE delay rule). */
  txTwoTogether: boolean;
  /** Guest ns of a delayed THRE interrupt; -1 when none. */
  threDelayNs: number;
  /** THR-empty interrupt pending (cleared by an IIR read that reports it, or a THR write). */
  thrIpending: boolean;
  /** Character timeout indication pending. */
  timeoutPending: boolean;
  /** Guest ns when the character timeout expires; -1 when not running. */
  timeoutNs: number;
  /** Guest ns when the next host byte finishes arriving; -1 when the line is idle. */
  rxNextNs: number;
  /** A host byte is fully received but waits for room in the FIFO. */
  rxStalled: boolean;
  /** Guest ns the last host byte finished on the line (entered the FIFO, or began waiting). */
  lastRxNs: number;
  /** Bytes from the host not yet received (entries may carry RX_BREAK). */
  hostQueue: number[];
}

export class Uart16550 implements Device<Uart16550State>, PortDevice {
  readonly name: string;
  onTransmit: (byte: number) => void;
  readonly instantTx: boolean;
  readonly hostRxBuffer: boolean;
  readonly hostRxLimit: number;
  readonly clockHz: number;
  readonly gateIrqWithOut2: boolean;

  private state!: Uart16550State;
  /** Host queue read position (state.hostQueue is compacted on save). */
  private hostHead = 0;
  private readonly timers: Timers;
  private readonly irq: IrqLine;
  private readonly txTimer: Timer;
  private readonly threTimer: Timer;
  private readonly timeoutTimer: Timer;
  private readonly rxTimer: Timer;
  private readonly initialModemInputs: number;

  constructor(opts: Uart16550Options) {
    this.name = opts.name ?? 'uart16550';
    this.timers = opts.timers;
    this.irq = opts.irq;
    this.onTransmit = opts.onTransmit ?? (() => {});
    this.instantTx = opts.instantTx ?? false;
    this.hostRxBuffer = opts.hostRxBuffer ?? true;
    this.hostRxLimit = opts.hostRxLimit ?? 1 << 20;
    this.clockHz = opts.clockHz ?? UART_CLOCK_HZ;
    this.gateIrqWithOut2 = opts.gateIrqWithOut2 ?? true;
    this.initialModemInputs = (opts.modemInputs ?? MSR_DCD | MSR_DSR | MSR_CTS) & 0xf0;
    this.txTimer = this.timers.create(`${this.name}.tx`, (at) => this.txDone(at));
    this.threTimer = this.timers.create(`${this.name}.thre`, (at) => this.threDelayDone(at));
    this.timeoutTimer = this.timers.create(`${this.name}.timeout`, (at) => this.timeoutDone(at));
    this.rxTimer = this.timers.create(`${this.name}.rx`, (at) => this.rxArrive(at));
    this.reset();
  }

  // ---- Device ----------------------------------------------------------

  reset(): void {
    this.state = {
      dll: 0x0c, // 9600 baud, what a PC BIOS leaves
      dlm: 0,
      ier: 0,
      lcr: 0,
      mcr: 0,
      scr: 0,
      fcr: 0,
      lsrErr: 0,
      msrDelta: 0,
      msrIn: this.initialModemInputs,
      msrCur: this.initialModemInputs,
      rx: new Array<number>(FIFO_SIZE).fill(0),
      rxHead: 0,
      rxCount: 0,
      rbrLast: 0,
      tx: new Array<number>(FIFO_SIZE).fill(0),
      txHead: 0,
      txCount: 0,
      tsrBusy: false,
      tsr: 0,
      txDoneNs: -1,
      txTwoTogether: false,
      threDelayNs: -1,
      thrIpending: false,
      timeoutPending: false,
      timeoutNs: -1,
      rxNextNs: -1,
      rxStalled: false,
      lastRxNs: 0,
      hostQueue: [],
    };
    this.hostHead = 0;
    this.syncTimers();
    this.updateIrq();
  }

  saveState(): Uart16550State {
    this.compactHostQueue(true);
    return clonePlain(this.state);
  }

  loadState(state: Uart16550State): void {
    this.state = clonePlain(state);
    this.hostHead = 0;
    this.syncTimers();
    this.updateIrq();
  }

  /** Claim the eight ports at `base` (COM1_PORT..COM4_PORT) on the bus. */
  register(bus: PortBus, base: number = COM1_PORT): void {
    bus.register(base, UART_PORT_COUNT, this, this.name);
  }

  // ---- host side -------------------------------------------------------

  /**
   * Bytes from the outside world (the keyboard of the console). They arrive
   * in the receive FIFO at the line rate. Returns how many were accepted
   * (fewer only when the host-side buffer is full).
   */
  receive(bytes: ArrayLike<number> | string): number {
    const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
    const q = this.state.hostQueue;
    let n = 0;
    for (let i = 0; i < data.length; i++) {
      if (this.hostPending() >= this.hostRxLimit) break;
      q.push(data[i] & 0xff);
      n++;
    }
    if (n > 0) this.kickReceiver(this.now());
    return n;
  }

  /** A break condition on the line: one zero character with LSR.BI (Linux: magic SysRq). */
  sendBreak(): void {
    if (this.hostPending() >= this.hostRxLimit) return;
    this.state.hostQueue.push(RX_BREAK);
    this.kickReceiver(this.now());
  }

  /** True while receive() would accept more without losing anything. */
  canReceive(): boolean {
    if (this.hostRxBuffer) return this.hostPending() < this.hostRxLimit;
    return this.hostPending() + this.state.rxCount < this.fifoCapacity();
  }

  /** Bytes waiting on the host side, not yet in the receive FIFO. */
  hostPending(): number {
    return this.state.hostQueue.length - this.hostHead;
  }

  /** Set the external modem status inputs (MSR bits 7..4: DCD, RI, DSR, CTS). */
  setModemInputs(msrBits: number): void {
    this.state.msrIn = msrBits & 0xf0;
    this.refreshModemStatus();
    this.updateIrq();
  }

  /** MCR as the guest last wrote it (DTR, RTS, OUT1, OUT2, LOOP). */
  get modemControl(): number {
    return this.state.mcr;
  }

  /** Guest ns one character takes at the current divisor and LCR. */
  get characterTimeNs(): number {
    return this.charNs();
  }

  /** The level of the interrupt output after PC gating. */
  get irqAsserted(): boolean {
    return this.irq.isRaised;
  }

  // ---- port access -----------------------------------------------------

  /** One register read (also fits BytePorts' ByteRegisters). */
  readByte(offset: number): number {
    return offset < UART_PORT_COUNT ? this.readReg(offset) : 0xff;
  }

  /** One register write (also fits BytePorts' ByteRegisters). */
  writeByte(offset: number, value: number): void {
    if (offset < UART_PORT_COUNT) this.writeReg(offset, value & 0xff);
  }

  portRead(offset: number, size: AccessSize): number {
    if (size === 1) return this.readReg(offset);
    // A wide access to an 8-bit ISA device is split into byte accesses.
    let v = 0;
    for (let i = 0; i < size; i++) {
      const b = offset + i < UART_PORT_COUNT ? this.readReg(offset + i) : 0xff;
      v |= b << (8 * i);
    }
    return v >>> 0;
  }

  portWrite(offset: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) {
      if (offset + i < UART_PORT_COUNT) this.writeReg(offset + i, (value >>> (8 * i)) & 0xff);
    }
  }

  private readReg(reg: number): number {
    const s = this.state;
    switch (reg) {
      case RBR_THR_DLL:
        return s.lcr & LCR_DLAB ? s.dll : this.readRbr();
      case IER_DLM:
        return s.lcr & LCR_DLAB ? s.dlm : s.ier;
      case IIR_FCR: {
        const id = this.interruptId();
        if (id === IIR_THRE) {
          // Reading IIR when it reports THR empty clears that interrupt.
          s.thrIpending = false;
          this.updateIrq();
        }
        return id | (s.fcr & FCR_ENABLE ? IIR_FIFO : 0);
      }
      case LCR:
        return s.lcr;
      case MCR:
        return s.mcr;
      case LSR: {
        const v = this.lsrValue();
        s.lsrErr = 0;
        this.updateIrq();
        return v;
      }
      case MSR: {
        const v = s.msrCur | s.msrDelta;
        s.msrDelta = 0;
        this.updateIrq();
        return v;
      }
      default: // SCR
        return s.scr;
    }
  }

  private writeReg(reg: number, v: number): void {
    const s = this.state;
    switch (reg) {
      case RBR_THR_DLL:
        if (s.lcr & LCR_DLAB) s.dll = v;
        else this.writeThr(v);
        return;
      case IER_DLM:
        if (s.lcr & LCR_DLAB) s.dlm = v;
        else this.writeIer(v);
        return;
      case IIR_FCR:
        this.writeFcr(v);
        return;
      case LCR:
        s.lcr = v;
        return;
      case MCR: {
        const wasLoop = s.mcr & MCR_LOOP;
        s.mcr = v & 0x1f;
        this.refreshModemStatus();
        if (wasLoop && !(s.mcr & MCR_LOOP)) this.kickReceiver(this.now());
        this.updateIrq();
        return;
      }
      case LSR:
      case MSR:
        return; // factory test registers on the real part; ignored
      default: // SCR
        s.scr = v;
    }
  }

  // ---- receiver --------------------------------------------------------

  private readRbr(): number {
    const s = this.state;
    const now = this.now();
    if (s.rxCount > 0) {
      s.rbrLast = s.rx[s.rxHead] & 0xff;
      s.rxHead = (s.rxHead + 1) % FIFO_SIZE;
      s.rxCount--;
      // A break character reports BI when it reaches the top of the FIFO.
      if (s.rxCount > 0 && s.rx[s.rxHead] & RX_BREAK) s.lsrErr |= LSR_BI;
    }
    // A read clears a timeout indication and restarts the timeout timer.
    s.timeoutPending = false;
    this.restartTimeout(now);
    if (s.rxStalled) this.kickReceiver(now);
    this.updateIrq();
    return s.rbrLast;
  }

  private fifoCapacity(): number {
    return this.state.fcr & FCR_ENABLE ? FIFO_SIZE : 1;
  }

  private triggerLevel(): number {
    return TRIGGER_LEVELS[this.state.fcr >>> 6];
  }

  /** A character (byte | RX_BREAK) has been completely received at `at`. */
  private rxPut(ch: number, at: number): void {
    const s = this.state;
    const c = ch & RX_BREAK ? RX_BREAK : ch & this.wordMask();
    if (s.rxCount >= this.fifoCapacity()) {
      s.lsrErr |= LSR_OE;
      if (!(s.fcr & FCR_ENABLE)) {
        // 16450 mode: the new character replaces the one in RBR.
        s.rx[s.rxHead] = c;
        if (c & RX_BREAK) s.lsrErr |= LSR_BI;
      }
      // FIFO mode: the character in the shift register is lost.
    } else {
      s.rx[(s.rxHead + s.rxCount) % FIFO_SIZE] = c;
      s.rxCount++;
      if (s.rxCount === 1 && c & RX_BREAK) s.lsrErr |= LSR_BI;
    }
    if (!s.timeoutPending) this.restartTimeout(at);
    this.updateIrq();
  }

  /** Start (or resume) moving host bytes onto the line, if it is idle. */
  private kickReceiver(now: number): void {
    const s = this.state;
    if (s.rxNextNs >= 0 || this.hostPending() === 0 || s.mcr & MCR_LOOP) return;
    if (s.rxStalled) {
      // The waiting byte has been through the shift register since
      // lastRxNs: it enters as soon as there is room.
      if (this.hostRxBuffer && s.rxCount >= this.fifoCapacity()) return;
      s.rxStalled = false;
      this.arm(this.rxTimer, 'rxNextNs', Math.max(now, s.lastRxNs));
    } else {
      this.arm(this.rxTimer, 'rxNextNs', Math.max(now, s.lastRxNs) + this.charNs());
    }
  }

  private rxArrive(at: number): void {
    const s = this.state;
    s.rxNextNs = -1;
    // In loopback the serial input is disconnected: host bytes wait.
    if (s.mcr & MCR_LOOP || this.hostPending() === 0) return;
    if (this.hostRxBuffer && s.rxCount >= this.fifoCapacity()) {
      s.rxStalled = true;
      s.lastRxNs = at;
      return;
    }
    const ch = s.hostQueue[this.hostHead++];
    if (this.hostHead === s.hostQueue.length) {
      s.hostQueue.length = 0;
      this.hostHead = 0;
    } else {
      this.compactHostQueue(false);
    }
    s.lastRxNs = at;
    this.rxPut(ch, at);
    if (this.hostPending() > 0) this.arm(this.rxTimer, 'rxNextNs', at + this.charNs());
  }

  private restartTimeout(at: number): void {
    const s = this.state;
    if (s.fcr & FCR_ENABLE && s.rxCount > 0) this.arm(this.timeoutTimer, 'timeoutNs', at + 4 * this.charNs());
    else this.disarm(this.timeoutTimer, 'timeoutNs');
  }

  private timeoutDone(_at: number): void {
    const s = this.state;
    s.timeoutNs = -1;
    if (s.fcr & FCR_ENABLE && s.rxCount > 0) {
      s.timeoutPending = true;
      this.updateIrq();
    }
  }

  // ---- transmitter -----------------------------------------------------

  private writeThr(v: number): void {
    const s = this.state;
    const byte = v & this.wordMask();
    if (this.instantTx) {
      this.emit(byte, this.now());
      // THR is empty again at once: a THR-empty interrupt is pending.
      s.thrIpending = true;
      this.updateIrq();
      return;
    }
    if (s.txCount < this.fifoCapacity()) {
      s.tx[(s.txHead + s.txCount) % FIFO_SIZE] = byte;
      s.txCount++;
    } else if (!(s.fcr & FCR_ENABLE)) {
      s.tx[s.txHead] = byte; // 16450 mode: a write to a full THR replaces it
    } // FIFO mode: a byte written into a full FIFO is lost
    if (s.txCount >= 2) s.txTwoTogether = true;
    s.thrIpending = false;
    this.disarm(this.threTimer, 'threDelayNs');
    if (!s.tsrBusy) this.loadTsr(this.now());
    this.updateIrq();
  }

  /** Move the next character from the FIFO/THR into the shift register. */
  private loadTsr(at: number): void {
    const s = this.state;
    if (s.txCount === 0) {
      s.tsrBusy = false;
      this.disarm(this.txTimer, 'txDoneNs');
      return;
    }
    s.tsr = s.tx[s.txHead];
    s.txHead = (s.txHead + 1) % FIFO_SIZE;
    s.txCount--;
    s.tsrBusy = true;
    const c = this.charNs();
    this.arm(this.txTimer, 'txDoneNs', at + c);
    if (s.txCount === 0) {
      // THR/FIFO just became empty. In FIFO mode, unless two bytes were in
      // the FIFO together since THRE was last set, the THRE interrupt is
      // delayed by one character time minus the last stop bit.
      if (s.fcr & FCR_ENABLE && !s.txTwoTogether) {
        this.arm(this.threTimer, 'threDelayNs', at + c - this.bitNs());
      } else {
        s.thrIpending = true;
      }
      s.txTwoTogether = false;
    }
  }

  private txDone(at: number): void {
    const s = this.state;
    s.txDoneNs = -1;
    const byte = s.tsr;
    s.tsrBusy = false;
    this.emit(byte, at);
    this.loadTsr(at);
    this.updateIrq();
  }

  private threDelayDone(_at: number): void {
    const s = this.state;
    s.threDelayNs = -1;
    if (s.txCount === 0) {
      s.thrIpending = true;
      this.updateIrq();
    }
  }

  private emit(byte: number, at: number): void {
    if (this.state.mcr & MCR_LOOP) this.rxPut(byte, at);
    else this.onTransmit(byte);
  }

  // ---- control registers -----------------------------------------------

  private writeIer(v: number): void {
    const s = this.state;
    const old = s.ier;
    s.ier = v & 0x0f;
    // Enabling the THRE interrupt while THR is empty raises it at once
    // (the rising edge re-samples THRE, even after an IIR read cleared it).
    if (s.ier & IER_THRE && !(old & IER_THRE)) {
      s.thrIpending = s.txCount === 0;
      if (s.thrIpending) this.disarm(this.threTimer, 'threDelayNs'); // already reported
    }
    this.updateIrq();
  }

  private writeFcr(v: number): void {
    const s = this.state;
    const now = this.now();
    const enable = v & FCR_ENABLE;
    if (enable !== (s.fcr & FCR_ENABLE)) {
      // Switching the FIFOs on or off empties both.
      this.clearRxFifo(now);
      this.clearTxFifo();
    }
    if (!enable) {
      s.fcr = 0;
    } else {
      s.fcr = v & FCR_STORED;
      if (v & FCR_RX_RESET) this.clearRxFifo(now);
      if (v & FCR_TX_RESET) this.clearTxFifo();
    }
    if (s.rxStalled) this.kickReceiver(now);
    this.updateIrq();
  }

  private clearRxFifo(now: number): void {
    const s = this.state;
    s.rxHead = 0;
    s.rxCount = 0;
    s.timeoutPending = false;
    this.restartTimeout(now);
  }

  private clearTxFifo(): void {
    const s = this.state;
    s.txHead = 0;
    s.txCount = 0;
    s.txTwoTogether = false;
    this.disarm(this.threTimer, 'threDelayNs');
    // THR is empty: the first transmitter interrupt after this is immediate.
    s.thrIpending = true;
  }

  private refreshModemStatus(): void {
    const s = this.state;
    let now: number;
    if (s.mcr & MCR_LOOP) {
      now = 0;
      if (s.mcr & MCR_RTS) now |= MSR_CTS;
      if (s.mcr & MCR_DTR) now |= MSR_DSR;
      if (s.mcr & MCR_OUT1) now |= MSR_RI;
      if (s.mcr & MCR_OUT2) now |= MSR_DCD;
    } else {
      now = s.msrIn;
    }
    const changed = now ^ s.msrCur;
    if (changed & MSR_CTS) s.msrDelta |= MSR_DCTS;
    if (changed & MSR_DSR) s.msrDelta |= MSR_DDSR;
    if (changed & MSR_RI && !(now & MSR_RI)) s.msrDelta |= MSR_TERI; // trailing edge only
    if (changed & MSR_DCD) s.msrDelta |= MSR_DDCD;
    s.msrCur = now;
  }

  private lsrValue(): number {
    const s = this.state;
    let v = s.lsrErr;
    if (s.rxCount > 0) v |= LSR_DR;
    if (s.txCount === 0) {
      v |= LSR_THRE;
      if (!s.tsrBusy) v |= LSR_TEMT;
    }
    if (s.fcr & FCR_ENABLE) {
      for (let i = 0; i < s.rxCount; i++) {
        if (s.rx[(s.rxHead + i) % FIFO_SIZE] & RX_BREAK) {
          v |= LSR_RXFIFO_ERR;
          break;
        }
      }
    }
    return v;
  }

  // ---- interrupts ------------------------------------------------------

  /** IIR bits 3..0: the highest-priority pending, enabled source. */
  private interruptId(): number {
    const s = this.state;
    if (s.ier & IER_RLS && s.lsrErr & LSR_ERRORS) return IIR_RLS;
    if (s.ier & IER_RDA) {
      if (s.fcr & FCR_ENABLE ? s.rxCount >= this.triggerLevel() : s.rxCount > 0) return IIR_RDA;
      if (s.timeoutPending) return IIR_CTI;
    }
    if (s.ier & IER_THRE && s.thrIpending) return IIR_THRE;
    if (s.ier & IER_MS && s.msrDelta) return IIR_MS;
    return IIR_NONE;
  }

  private updateIrq(): void {
    const mcr = this.state.mcr;
    const gate = !this.gateIrqWithOut2 || (mcr & (MCR_OUT2 | MCR_LOOP)) === MCR_OUT2;
    this.irq.set(gate && this.interruptId() !== IIR_NONE);
  }

  // ---- helpers ---------------------------------------------------------

  private now(): number {
    return this.timers.clock.nowNs();
  }

  /** The divisor latch; 0 acts as 65536 (the counter wraps). */
  private divisor(): number {
    return (this.state.dlm << 8) | this.state.dll || 0x10000;
  }

  /** One bit time in ns. */
  private bitNs(): number {
    return Math.round((this.divisor() * 16 * 1e9) / this.clockHz);
  }

  /** One character time in ns: start + data + parity + stop bits. */
  private charNs(): number {
    const lcr = this.state.lcr;
    const dataBits = 5 + (lcr & 3);
    const parity = lcr & 0x08 ? 1 : 0;
    const stop = lcr & 0x04 ? (dataBits === 5 ? 1.5 : 2) : 1;
    return Math.round(((1 + dataBits + parity + stop) * this.divisor() * 16 * 1e9) / this.clockHz);
  }

  private wordMask(): number {
    return (1 << (5 + (this.state.lcr & 3))) - 1;
  }

  private arm(t: Timer, field: 'txDoneNs' | 'threDelayNs' | 'timeoutNs' | 'rxNextNs', ns: number): void {
    this.state[field] = ns;
    t.setAt(ns);
  }

  private disarm(t: Timer, field: 'txDoneNs' | 'threDelayNs' | 'timeoutNs' | 'rxNextNs'): void {
    this.state[field] = -1;
    t.cancel();
  }

  /** Timers follow the deadlines held in the state (after reset/load). */
  private syncTimers(): void {
    const s = this.state;
    const set = (t: Timer, ns: number) => (ns >= 0 ? t.setAt(ns) : t.cancel());
    set(this.txTimer, s.txDoneNs);
    set(this.threTimer, s.threDelayNs);
    set(this.timeoutTimer, s.timeoutNs);
    set(this.rxTimer, s.rxNextNs);
  }

  /** Drop consumed host-queue entries (always on save; otherwise when worthwhile). */
  private compactHostQueue(force: boolean): void {
    if (this.hostHead === 0) return;
    const q = this.state.hostQueue;
    if (!force && (this.hostHead < 4096 || this.hostHead * 2 < q.length)) return;
    q.copyWithin(0, this.hostHead);
    q.length -= this.hostHead;
    this.hostHead = 0;
  }
}
