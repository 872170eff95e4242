// Drives one vCPU of the wasm core: the VMM side of the run/exit ABI.
// All architectural state lives in the vCPU's block of the shared memory
// (offsets in wasm/abi.ts); this class is a typed window onto it.
import * as abi from '../../wasm/abi.ts';
import { loadCoreModule } from './loadCore.ts';

export interface CoreExports {
  run(base: number): number;
  reset(base: number): void;
  stateChanged(base: number): void;
  getEflags(base: number): number;
  setEflags(base: number, value: number): void;
  flushTlb(base: number): void;
  apicDeliver(base: number, vector: number, deliveryMode: number, levelTriggered: number): void;
  apicAcceptsPicInterrupts(base: number): number;
  apicMatchDestination(base: number, dest: number, logical: number): number;
  apicLocalInterrupt(base: number, pin: number): number;
  apicReadRegister(base: number, offset: number): number;
  apicWriteRegister(base: number, offset: number, value: number): void;
}

export interface SegmentState {
  sel: number;
  base: number;
  limit: number;
  attr: number;
}

export interface VcpuOptions {
  /** Bytes of guest RAM at physical address 0 (multiple of 4 KiB). */
  ramSize: number;
  /** An existing memory (another vCPU's): RAM is then shared, not created. */
  memory?: WebAssembly.Memory;
  /** vCPU index, 0..MAX_VCPUS-1, selects the vCPU block. */
  index?: number;
  /**
   * Shared (SharedArrayBuffer) memory, for vCPUs in several workers (default
   * true). false: an ordinary memory and the core variant built for it, for
   * pages that are not cross-origin isolated (every vCPU in one worker).
   */
  shared?: boolean;
}

function isSharedMemory(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

export class Vcpu {
  readonly memory: WebAssembly.Memory;
  readonly core: CoreExports;
  readonly base: number;
  readonly ramSize: number;
  private u8!: Uint8Array;
  private dv!: DataView;

  private constructor(memory: WebAssembly.Memory, core: CoreExports, base: number, ramSize: number) {
    this.memory = memory;
    this.core = core;
    this.base = base;
    this.ramSize = ramSize;
    this.refreshViews();
  }

  static async create(opts: VcpuOptions): Promise<Vcpu> {
    const { ramSize } = opts;
    const index = opts.index ?? 0;
    if (!Number.isInteger(ramSize) || ramSize < 0x100000 || ramSize % 4096 !== 0) {
      throw new RangeError(`guest RAM size must be a multiple of 4 KiB and at least 1 MiB (got ${ramSize})`);
    }
    if (index < 0 || index >= abi.MAX_VCPUS) throw new RangeError(`vCPU index ${index} out of range`);
    const pages = Math.ceil((abi.RAM_BASE + ramSize) / abi.WASM_PAGE);
    if (pages > abi.MAX_WASM_PAGES) throw new RangeError(`guest RAM of ${ramSize} bytes does not fit in wasm memory`);
    let memory = opts.memory;
    const fresh = !memory;
    // The core variant must match the memory: a given memory decides by what it
    // is; otherwise shared unless asked not to (pages without cross-origin
    // isolation have no SharedArrayBuffer).
    const shared = memory ? isSharedMemory(memory) : (opts.shared ?? true);
    if (opts.shared !== undefined && opts.shared !== shared) {
      throw new RangeError(`the given memory is ${shared ? '' : 'not '}shared, but shared: ${opts.shared} was asked for`);
    }
    if (!memory) {
      if (shared && typeof SharedArrayBuffer === 'undefined') {
        throw new RangeError('shared memory needs SharedArrayBuffer (a cross-origin isolated page); use shared: false');
      }
      memory = new WebAssembly.Memory({ initial: pages, maximum: abi.MAX_WASM_PAGES, shared } as WebAssembly.MemoryDescriptor);
    }
    const module = await loadCoreModule(shared);
    const instance = await WebAssembly.instantiate(module, {
      env: {
        memory,
        abort: (_msg: number, _file: number, line: number, col: number) => {
          throw new Error(`wasm core abort at ${line}:${col}`);
        },
      },
    });
    const vcpu = new Vcpu(memory, instance.exports as unknown as CoreExports, abi.VCPU_BLOCKS + index * abi.VCPU_BLOCK_SIZE, ramSize);
    if (fresh) {
      const g = abi.GLOBAL_BLOCK;
      vcpu.dv.setUint32(g + abi.G_RAM_SIZE, ramSize, true);
      vcpu.dv.setUint32(g + abi.G_A20_MASK, 0xffffffff, true);
      // The BIOS ROM (the top 128 KiB below 1 MiB) also appears below 4 GiB,
      // where the reset vector fetches from.
      vcpu.dv.setUint32(g + abi.G_ROM_ALIAS_BASE, 0xfffe0000, true);
      vcpu.dv.setUint32(g + abi.G_ROM_ALIAS_SIZE, 0x20000, true);
      vcpu.dv.setUint32(g + abi.G_ROM_ALIAS_TARGET, 0xe0000, true);
    }
    vcpu.reset();
    return vcpu;
  }

  private refreshViews(): void {
    this.u8 = new Uint8Array(this.memory.buffer);
    this.dv = new DataView(this.memory.buffer);
  }

  /** Whether the memory is a SharedArrayBuffer (the core variant follows it). */
  get sharedMemory(): boolean {
    return isSharedMemory(this.memory);
  }

  /** Guest physical RAM. */
  get ram(): Uint8Array {
    return new Uint8Array(this.memory.buffer, abi.RAM_BASE, this.ramSize);
  }

  private u32(off: number): number {
    return this.dv.getUint32(this.base + off, true);
  }
  private setU32(off: number, v: number): void {
    this.dv.setUint32(this.base + off, v >>> 0, true);
  }
  private u64(off: number): bigint {
    return this.dv.getBigUint64(this.base + off, true);
  }
  private setU64(off: number, v: bigint): void {
    this.dv.setBigUint64(this.base + off, BigInt.asUintN(64, v), true);
  }

  /** Power-on/INIT state: real mode, CS:IP = F000:FFF0. */
  reset(): void {
    this.core.reset(this.base);
    this.setU32(abi.RUN_INJECT_VECTOR, 0xffffffff);
  }

  /**
   * Runs until an exit; returns the exit reason (abi.EXIT_*).
   * `budget` bounds the number of instructions in this slice.
   */
  run(budget = 1_000_000): number {
    this.setU64(abi.RUN_BUDGET, BigInt(budget));
    return this.core.run(this.base);
  }

  /** Must be called after changing segment, control or mode state directly. */
  stateChanged(): void {
    this.core.stateChanged(this.base);
  }

  getReg(r: number): number {
    return this.u32(abi.V_GPR + r * 8);
  }
  setReg(r: number, v: number): void {
    this.setU64(abi.V_GPR + r * 8, BigInt(v >>> 0));
  }
  get eip(): number {
    return this.u32(abi.V_RIP);
  }
  set eip(v: number) {
    this.setU64(abi.V_RIP, BigInt(v >>> 0));
  }
  get eflags(): number {
    return this.core.getEflags(this.base) >>> 0;
  }
  set eflags(v: number) {
    this.core.setEflags(this.base, v | 0);
  }
  get cpl(): number {
    return this.u32(abi.V_CPL);
  }
  get icount(): bigint {
    return this.u64(abi.V_ICOUNT);
  }
  get halted(): boolean {
    return this.u32(abi.V_HALTED) !== 0;
  }

  // --- guest time (wasm/cpu/time.ts) ------------------------------------------
  /**
   * The guest time at the start of the next run() (ns, from the VMM's
   * GuestClock) and the clock's ns per instruction (InstructionClock's
   * nsPerInstruction, or an estimate in real time). Within the slice the core
   * advances time by nsPerInsn per instruction; the TSC (1 GHz) and the APIC
   * timer read it. Call before every run(); a run() without it goes on from
   * the end of the previous slice.
   */
  setTime(ns: number, nsPerInsn: number): void {
    this.setU64(abi.RUN_TIME_NS, BigInt(Math.max(0, Math.floor(ns))));
    this.setU32(abi.RUN_NS_PER_INSN, Math.max(0, Math.min(0xffffffff, Math.round(nsPerInsn * 2 ** abi.RUN_NS_PER_INSN_SHIFT))));
  }
  /** The core's guest time (ns): after run(), the end of the slice. */
  get timeNs(): number {
    return Number(this.u64(abi.RUN_TIME_NS));
  }
  /** The time-stamp counter as RDTSC would read it now (without updating its monotonic floor). */
  get tsc(): bigint {
    const t = BigInt.asUintN(64, this.u64(abi.RUN_TIME_NS) + this.u64(abi.V_TSC_OFFSET));
    const last = this.u64(abi.V_TSC_LAST);
    return t < last ? last : t;
  }

  // --- the local APIC (wasm/cpu/apic.ts) ----------------------------------------
  /**
   * An interrupt message for this vCPU's local APIC: I/O APIC and MSI
   * messages, IPIs of other vCPUs. `deliveryMode` is abi.APIC_DM_*; fixed
   * and lowest-priority vectors go to IRR (TMR when level-triggered), NMI to
   * the NMI path, INIT/startup are recorded, ExtINT injects `vector`.
   */
  apicDeliver(vector: number, deliveryMode: number, levelTriggered: boolean): void {
    this.core.apicDeliver(this.base, vector & 0xff, deliveryMode & 7, levelTriggered ? 1 : 0);
  }
  /** Whether the 8259's INTR reaches this vCPU: APIC disabled, or LINT0 unmasked ExtINT (virtual wire). */
  apicAcceptsPicInterrupts(): boolean {
    return this.core.apicAcceptsPicInterrupts(this.base) !== 0;
  }
  /** Whether a message to `dest` (physical APIC ID, or logical mask) reaches this vCPU's APIC. */
  apicMatchDestination(dest: number, logical: boolean): boolean {
    return this.core.apicMatchDestination(this.base, dest & 0xff, logical ? 1 : 0) !== 0;
  }
  /** An edge on LINT0 (0) or LINT1 (1), delivered as the LVT entry says; returns whether anything was. */
  apicLocalInterrupt(pin: 0 | 1): boolean {
    return this.core.apicLocalInterrupt(this.base, pin) !== 0;
  }
  /** An APIC register (abi.APIC_*), as the guest reads it. */
  apicRead(offset: number): number {
    return this.core.apicReadRegister(this.base, offset) >>> 0;
  }
  /** Writes an APIC register as the guest would (firmware set-up); EOI/IPI exits are not reported. */
  apicWrite(offset: number, value: number): void {
    this.core.apicWriteRegister(this.base, offset, value | 0);
  }
  /** Guest time (ns) at which the APIC timer next raises its interrupt; Infinity when it will not. */
  get apicTimerDeadlineNs(): number {
    const d = this.u64(abi.V_APIC_TIMER_DEADLINE_NS);
    return d === 0n ? Infinity : Number(d);
  }
  /** IA32_APIC_BASE. */
  get apicBase(): bigint {
    return this.u64(abi.V_APIC_BASE_MSR);
  }

  getCr(n: 0 | 2 | 3 | 4): number {
    const off = n === 0 ? abi.V_CR0 : n === 2 ? abi.V_CR2 : n === 3 ? abi.V_CR3 : abi.V_CR4;
    return this.u32(off);
  }
  setCr(n: 0 | 2 | 3 | 4, v: number): void {
    const off = n === 0 ? abi.V_CR0 : n === 2 ? abi.V_CR2 : n === 3 ? abi.V_CR3 : abi.V_CR4;
    this.setU64(off, BigInt(v >>> 0));
    this.stateChanged();
  }

  getSeg(s: number): SegmentState {
    const o = abi.V_SEGS + s * abi.SEG_SIZE;
    return { sel: this.u32(o + abi.SEG_SEL), attr: this.u32(o + abi.SEG_ATTR), limit: this.u32(o + abi.SEG_LIMIT), base: this.u32(o + abi.SEG_BASE) };
  }
  setSeg(s: number, seg: SegmentState): void {
    const o = abi.V_SEGS + s * abi.SEG_SIZE;
    this.setU32(o + abi.SEG_SEL, seg.sel);
    this.setU32(o + abi.SEG_ATTR, seg.attr);
    this.setU32(o + abi.SEG_LIMIT, seg.limit);
    this.setU64(o + abi.SEG_BASE, BigInt(seg.base >>> 0));
    this.stateChanged();
  }

  /** Loads GDTR or IDTR as LGDT/LIDT would. */
  setDescriptorTable(which: 'gdt' | 'idt', base: number, limit: number): void {
    const b = which === 'gdt' ? abi.V_GDTR_BASE : abi.V_IDTR_BASE;
    const l = which === 'gdt' ? abi.V_GDTR_LIMIT : abi.V_IDTR_LIMIT;
    this.setU64(b, BigInt(base >>> 0));
    this.setU32(l, limit & 0xffff);
  }

  /**
   * Flat 32-bit protected mode as a boot loader leaves it (the state QEMU's
   * -kernel enters Linux in): 4 GiB code/data segments with base 0, paging
   * off, interrupts off, the given CPL (selectors 0x08/0x10, or 0x1b/0x23).
   */
  setFlat32(cpl = 0): void {
    const code = 0x9b | (cpl << 5) | abi.ATTR_G | abi.ATTR_D; // present, code, readable, accessed
    const data = 0x93 | (cpl << 5) | abi.ATTR_G | abi.ATTR_D;
    const cs = cpl === 0 ? 0x08 : 0x18 | cpl;
    const ds = cpl === 0 ? 0x10 : 0x20 | cpl;
    this.setU64(abi.V_CR0, BigInt(abi.CR0_PE | abi.CR0_ET));
    for (let s = 0; s < 6; s++) {
      const o = abi.V_SEGS + s * abi.SEG_SIZE;
      const isCode = s === abi.SEG_CS;
      this.setU32(o + abi.SEG_SEL, isCode ? cs : ds);
      this.setU32(o + abi.SEG_ATTR, (isCode ? code : data) | abi.SEG_VALID);
      this.setU32(o + abi.SEG_LIMIT, 0xffffffff);
      this.setU64(o + abi.SEG_BASE, 0n);
    }
    this.setU32(abi.V_CPL, cpl);
    this.eflags = 0x2;
    this.stateChanged();
  }

  // --- exit record -------------------------------------------------------
  get exitReason(): number {
    return this.u32(abi.EXIT_REASON);
  }
  get exitPort(): number {
    return this.u32(abi.EXIT_PORT);
  }
  get exitSize(): number {
    return this.u32(abi.EXIT_SIZE);
  }
  get exitIsWrite(): boolean {
    return this.u32(abi.EXIT_WRITE) !== 0;
  }
  get exitAddr(): number {
    return Number(this.u64(abi.EXIT_ADDR));
  }
  /** Data of an OUT/MMIO write; set it to answer an IN/MMIO read before the next run(). */
  get exitData(): number {
    return Number(this.u64(abi.EXIT_DATA) & 0xffffffffn);
  }
  set exitData(v: number) {
    this.setU64(abi.EXIT_DATA, BigInt(v >>> 0));
  }
  get exitData64(): bigint {
    return this.u64(abi.EXIT_DATA);
  }
  set exitData64(v: bigint) {
    this.setU64(abi.EXIT_DATA, v);
  }
  get exitVector(): number {
    return this.u32(abi.EXIT_VECTOR);
  }
  get exitErrorCode(): number {
    return this.u32(abi.EXIT_ERROR_CODE);
  }

  // --- interrupts (KVM's userspace irqchip protocol) -----------------------
  set requestIrqWindow(on: boolean) {
    this.setU32(abi.RUN_REQUEST_IRQ_WINDOW, on ? 1 : 0);
  }
  get readyForIrq(): boolean {
    return this.u32(abi.RUN_READY_FOR_IRQ) !== 0;
  }
  /** Deliver external interrupt `vector` at the next instruction boundary (only valid when readyForIrq). */
  injectInterrupt(vector: number): void {
    this.setU32(abi.RUN_INJECT_VECTOR, vector & 0xff);
  }
  injectNmi(): void {
    this.setU32(abi.RUN_INJECT_NMI, 1);
  }
  /** Bit v set: exception v exits with EXIT_EXCEPTION instead of being delivered. */
  get exceptionExitMask(): number {
    return this.u32(abi.RUN_EXCEPTION_EXIT_MASK);
  }
  set exceptionExitMask(m: number) {
    this.setU32(abi.RUN_EXCEPTION_EXIT_MASK, m);
  }

  /**
   * The A20 gate (machine-wide): with A20 off, physical address bit 20 is
   * forced to 0. Every vCPU's TLB must be flushed; this one is.
   */
  setA20(enabled: boolean): void {
    this.dv.setUint32(abi.GLOBAL_BLOCK + abi.G_A20_MASK, enabled ? 0xffffffff : 0xffefffff, true);
    this.core.flushTlb(this.base);
  }

  /** Copies bytes into guest physical memory. */
  writePhys(addr: number, bytes: Uint8Array): void {
    if (addr < 0 || addr + bytes.length > this.ramSize) throw new RangeError(`physical range 0x${addr.toString(16)}+${bytes.length} is outside RAM`);
    this.u8.set(bytes, abi.RAM_BASE + addr);
  }
  readPhys(addr: number, len: number): Uint8Array {
    if (addr < 0 || addr + len > this.ramSize) throw new RangeError(`physical range 0x${addr.toString(16)}+${len} is outside RAM`);
    return this.u8.slice(abi.RAM_BASE + addr, abi.RAM_BASE + addr + len);
  }
}
