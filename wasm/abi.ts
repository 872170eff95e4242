// The run/exit ABI shared by the AssemblyScript core and the TypeScript VMM.
//
// This file is compiled by both `asc` and `tsc`, so it holds only plain
// numeric constants (`export const NAME = literal`). Every offset the VMM
// reads or writes in a vCPU block is named here: one source of truth.

// ---------------------------------------------------------------------------
// The fixed memory map of the one WebAssembly.Memory (wasmboy-style).
//   [0, CORE_STATIC_END)           the core's own static data
//   [VCPU_BLOCKS, +VCPU_BLOCK_SIZE*MAX_VCPUS)  one block per vCPU
//   [RAM_BASE, RAM_BASE + ramSize) guest physical RAM, contiguous
// ---------------------------------------------------------------------------
export const CORE_MEMORY_BASE = 0x1000; // asc --memoryBase: where static data starts
export const GLOBAL_BLOCK = 0x80000; // machine-wide settings (RAM size, A20...)
export const VCPU_BLOCKS = 0x100000;
export const VCPU_BLOCK_SIZE = 0x40000;
export const MAX_VCPUS = 8;
export const RAM_BASE = 0x400000;
export const WASM_PAGE = 0x10000;
export const MAX_WASM_PAGES = 65536;

// Machine-wide block (at GLOBAL_BLOCK).
export const G_RAM_SIZE = 0x00; // u32: bytes of guest RAM at physical 0
export const G_A20_MASK = 0x04; // u32: 0xFFFFFFFF, or 0xFFEFFFFF with A20 off
export const G_ROM_ALIAS_BASE = 0x08; // u32: physical base of the high BIOS alias (0 = none)
export const G_ROM_ALIAS_SIZE = 0x0c; // u32: its size; maps to RAM at G_ROM_ALIAS_TARGET, read-only
export const G_ROM_ALIAS_TARGET = 0x10;
export const G_MMIO_HOLE_START = 0x14; // u32: a window inside RAM that is MMIO instead (VGA)
export const G_MMIO_HOLE_END = 0x18;

// ---------------------------------------------------------------------------
// vCPU block layout (offsets from the block's base).
// Registers are 64 bits wide so that long mode can be added without moving
// anything; 32-bit code uses the low half.
// ---------------------------------------------------------------------------
export const V_GPR = 0x000; // 16 x u64: RAX RCX RDX RBX RSP RBP RSI RDI R8..R15
export const V_RIP = 0x080; // u64
export const V_FLAGS = 0x088; // u32: EFLAGS bits that are not computed lazily
export const V_LF_OP = 0x090; // u32: lazy-flags operation (LF_* below)
export const V_LF_SIZE = 0x094; // u32: operand size in bits of that operation
export const V_LF_RES = 0x098; // u64
export const V_LF_DST = 0x0a0; // u64
export const V_LF_SRC = 0x0a8; // u64
export const V_LF_MASK = 0x0b0; // u32: which arithmetic flags are lazy (FLAG_* bits)

// Segment registers, each SEG_SIZE bytes: selector, attributes, limit, base.
export const V_SEGS = 0x100;
export const SEG_SIZE = 0x20;
export const SEG_SEL = 0x00; // u32 selector
export const SEG_ATTR = 0x04; // u32: descriptor bits 40..55 (access byte | flags<<8), plus SEG_VALID
export const SEG_LIMIT = 0x08; // u32: byte-granular (already scaled by G)
export const SEG_CHECK = 0x0c; // u32: derived access bits (SEGCHK_*), recomputed on every load
export const SEG_BASE = 0x10; // u64
export const SEG_ES = 0;
export const SEG_CS = 1;
export const SEG_SS = 2;
export const SEG_DS = 3;
export const SEG_FS = 4;
export const SEG_GS = 5;
export const SEG_LDTR = 6;
export const SEG_TR = 7;
export const SEG_VALID = 0x10000; // attribute bit: not a null selector
export const ATTR_P = 0x80; // present
export const ATTR_S = 0x10; // code/data (not system)
export const ATTR_CODE = 0x08;
export const ATTR_D = 0x4000; // D/B: 32-bit default size / big stack
export const ATTR_G = 0x8000; // granularity
export const SEGCHK_READ = 1; // readable, expand-up, usable: reads need only the limit check
export const SEGCHK_WRITE = 2; // writable, expand-up, usable

export const V_GDTR_BASE = 0x200; // u64
export const V_GDTR_LIMIT = 0x208; // u32
export const V_IDTR_BASE = 0x210; // u64
export const V_IDTR_LIMIT = 0x218; // u32
export const V_CR0 = 0x220; // u64 each
export const V_CR2 = 0x228;
export const V_CR3 = 0x230;
export const V_CR4 = 0x238;
export const V_CR8 = 0x240;
export const V_DR = 0x248; // 8 x u64: DR0..DR7
export const V_CPL = 0x288; // u32
export const V_HALTED = 0x28c; // u32: 1 after HLT until an interrupt
export const V_SHADOW = 0x290; // u32: 1 = STI / MOV SS interrupt shadow on the next instruction
export const V_ICOUNT = 0x298; // u64: guest instructions retired (brought up to date when run() returns)
export const V_TSC_OFFSET = 0x2a0; // u64: TSC = guest ns * TSC_HZ/1e9 + TSC_OFFSET (WRMSR 0x10 sets it)
export const V_NMI_MASKED = 0x2a8; // u32: inside an NMI handler until IRET
export const V_EFER = 0x2b0; // u64
export const V_SYSENTER_CS = 0x2b8; // u64
export const V_SYSENTER_ESP = 0x2c0; // u64
export const V_SYSENTER_EIP = 0x2c8; // u64
export const V_APIC_BASE_MSR = 0x2d0; // u64
export const V_PAT = 0x2d8; // u64
export const V_MTRR_DEF_TYPE = 0x2e0; // u64
export const V_MTRR_FIXED = 0x2e8; // 11 x u64 (0x250, 0x258, 0x259, 0x268..0x26F)
export const V_MTRR_VAR = 0x340; // 16 x u64 (base/mask pairs 0x200..0x20F)
export const V_MISC_ENABLE = 0x3c0; // u64
export const V_TSC_LAST = 0x3c8; // u64: the last TSC value read (RDTSC never goes backwards)
export const V_PERF = 0x3d8; // 4 x u64: P6 PERFCTR0/1 (0xC1/0xC2) then EVNTSEL0/1 (0x186/0x187)
export const V_TIME_LAST = 0x3d0; // u64: guest ns at the end of the last run() (the core's time never goes backwards)
export const V_FPU = 0x400; // 512 bytes: the x87/MMX/SSE state in FXSAVE layout (FPU_* offsets), see below
// The FPU state at V_FPU has FXSAVE's layout with one difference: the eight
// 16-byte register slots at FPU_REGS hold the *physical* registers R0..R7
// (FXSAVE stores them in stack order ST0..ST7), so that pushes and pops only
// move TOP. FXSAVE/FSAVE rotate by TOP when they write memory. The abridged
// tag byte (FPU_FTW) is per physical register, as in FXSAVE. An 80-bit value
// is a u64 significand (explicit integer bit 63) at +0 and u16 sign|exponent at +8.
export const FPU_FCW = 0x00; // u16 control word
export const FPU_FSW = 0x02; // u16 status word, TOP in bits 11-13
export const FPU_FTW = 0x04; // u8 abridged tag: bit i = 1 when physical register Ri is not empty
export const FPU_FOP = 0x06; // u16 last opcode (11 bits)
export const FPU_FIP = 0x08; // u32 last instruction offset
export const FPU_FCS = 0x0c; // u16 its selector
export const FPU_FDP = 0x10; // u32 last data operand offset
export const FPU_FDS = 0x14; // u16 its selector
export const FPU_MXCSR = 0x18; // u32
export const FPU_MXCSR_MASK = 0x1c; // u32: the MXCSR bits that may be set (0xFFFF: DAZ supported)
export const FPU_REGS = 0x20; // 8 x 16 bytes: physical R0..R7 (MMX register i = significand of Ri)
export const FPU_XMM = 0xa0; // 8 x 16 bytes: XMM0..XMM7
export const FPU_FERR_IGNNE = 0x1f0; // u32, not architectural: 1 after the VMM saw port 0xF0 written (IGNNE# asserted)
export const MXCSR_DEFAULT = 0x1f80;
export const MXCSR_MASK_VALUE = 0xffff;
export const FCW_DEFAULT = 0x037f; // after FNINIT / reset (FNINIT; reset leaves 0x0040 on real parts, Linux runs FNINIT)
// IEEE exception bits, at the same positions in the x87 status/control words and in MXCSR.
export const FP_IE = 0x01; // invalid operation
export const FP_DE = 0x02; // denormal operand
export const FP_ZE = 0x04; // divide by zero
export const FP_OE = 0x08; // overflow
export const FP_UE = 0x10; // underflow
export const FP_PE = 0x20; // precision (inexact)
export const V_APIC = 0x1000; // 4 KiB local APIC register page: registers at their architectural offsets (APIC_* below)
// The local APIC's state that has no register (in the page above offset 0x3F0, which the guest reads as 0).
export const V_APIC_PENDING = 0x1400; // u32: 1 = an IRR vector is above PPR (deliverable when IF=1)
export const V_APIC_ESR_INTERNAL = 0x1404; // u32: errors detected since the last ESR write
export const V_APIC_TIMER_DEADLINE_NS = 0x1408; // u64: guest ns at which the timer next raises its interrupt (0 = none)
export const V_APIC_TIMER_START_NS = 0x1410; // u64: guest ns at which the current count was (notionally) loaded
export const V_APIC_TSC_DEADLINE = 0x1418; // u64: IA32_TSC_DEADLINE (MSR 0x6E0)
export const V_APIC_INIT = 0x1420; // u32: 1 = INIT received (for SMP; not acted on yet)
export const V_APIC_SIPI = 0x1424; // u32: 0x100 | vector of the last startup IPI received (for SMP)

// Exit record and run controls (KVM's struct kvm_run).
export const V_EXIT = 0x2000;
export const EXIT_REASON = 0x2000; // u32: EXIT_* below
export const EXIT_PORT = 0x2004; // u32: IO port
export const EXIT_SIZE = 0x2008; // u32: 1, 2, 4 (8 for MMIO)
export const EXIT_WRITE = 0x200c; // u32: 1 = OUT / MMIO write, 0 = IN / MMIO read
export const EXIT_ADDR = 0x2010; // u64: MMIO physical address
export const EXIT_DATA = 0x2018; // u64: data written, or where the VMM puts data read
export const EXIT_VECTOR = 0x2020; // u32: EXIT_EXCEPTION: vector
export const EXIT_ERROR_CODE = 0x2024; // u32: EXIT_EXCEPTION: error code (or 0xFFFFFFFF for none)
export const RUN_REQUEST_IRQ_WINDOW = 0x2030; // u32, set by VMM: exit when an interrupt can be taken
export const RUN_READY_FOR_IRQ = 0x2034; // u32, set by core on every exit: IF=1 and no shadow
export const RUN_INJECT_VECTOR = 0x2038; // i32, set by VMM: external interrupt to deliver (-1 none)
export const RUN_INJECT_NMI = 0x203c; // u32, set by VMM: deliver an NMI
export const RUN_BUDGET = 0x2040; // u64 set by run(): instructions left in this slice
export const RUN_EXCEPTION_EXIT_MASK = 0x2048; // u32: exceptions (bit = vector) that exit instead of being delivered (debugging, tests)
// Guest time, written by the VMM before each run() from its GuestClock. The
// core's "now" is RUN_TIME_NS + instructions retired in this slice *
// RUN_NS_PER_INSN; when run() returns, RUN_TIME_NS holds the time at the end
// of the slice (so a VMM that never writes it gets a pure instruction clock).
// At run() entry a value below V_TIME_LAST is raised to it.
export const RUN_TIME_NS = 0x2050; // u64: guest time in ns at the start of the slice
export const RUN_NS_PER_INSN = 0x2058; // u32: ns per instruction, fixed point with RUN_NS_PER_INSN_SHIFT fraction bits
export const RUN_NS_PER_INSN_SHIFT = 16;
export const DEFAULT_NS_PER_INSN = 10; // what reset() puts in RUN_NS_PER_INSN when it is 0
/** The TSC counts at 1 GHz: one tick per guest ns (CPUID on a Pentium III does not report a rate). */
export const TSC_HZ = 1000000000;
/** The APIC timer's input clock (before the divide configuration): 1 GHz, as QEMU's. */
export const APIC_BUS_HZ = 1000000000;
export const RUN_MMIO_LOG = 0x2100; // the core's replay log for IO/MMIO restarts (opaque to the VMM)
export const RUN_MMIO_LOG_END = 0x2200;

// Software TLB: two sets (supervisor, user) of TLB_ENTRIES entries.
export const V_TLB = 0x10000;
export const TLB_ENTRIES = 4096;
export const TLB_ENTRY_SIZE = 16; // u32 read tag, u32 write tag, u32 host addend, u32 spare
export const TLB_SET_SIZE = 0x10000; // TLB_ENTRIES * TLB_ENTRY_SIZE
/**
 * A third set that never hits, at V_TLB + 2 * TLB_SET_SIZE: CPL 3 uses it
 * while alignment checking (CR0.AM and EFLAGS.AC) is on, so every access
 * reaches the slow path, where alignment is checked.
 */
export const TLB_MISS_SET = 2;

// Exit reasons.
export const EXIT_NONE = 0;
export const EXIT_IO = 1;
export const EXIT_MMIO = 2;
export const EXIT_HLT = 3;
export const EXIT_IRQ_WINDOW = 4;
export const EXIT_BUDGET = 5;
export const EXIT_SHUTDOWN = 6;
export const EXIT_EXCEPTION = 7; // only for vectors in RUN_EXCEPTION_EXIT_MASK
export const EXIT_APIC_EOI = 8; // EOI of a level-triggered vector (EXIT_VECTOR): tell the I/O APIC; after the instruction
export const EXIT_APIC_IPI = 9; // an IPI that may reach other local APICs: EXIT_DATA = ICR (high << 32 | low); after the instruction
export const EXIT_FERR = 10; // an unmasked x87 exception is pending with CR0.NE=0: the VMM raises IRQ13 (FERR#); the instruction restarts after it

// Local APIC registers: offsets in the APIC page (and in V_APIC).
export const APIC_DEFAULT_BASE = 0xfee00000;
export const APIC_BASE_BSP = 0x100; // IA32_APIC_BASE bits
export const APIC_BASE_ENABLE = 0x800;
export const APIC_ID = 0x020;
export const APIC_VERSION = 0x030;
export const APIC_TPR = 0x080;
export const APIC_APR = 0x090;
export const APIC_PPR = 0x0a0;
export const APIC_EOI = 0x0b0;
export const APIC_RRD = 0x0c0;
export const APIC_LDR = 0x0d0;
export const APIC_DFR = 0x0e0;
export const APIC_SVR = 0x0f0;
export const APIC_ISR = 0x100; // 8 x u32 at 0x10 steps: vectors 32*i .. 32*i+31
export const APIC_TMR = 0x180;
export const APIC_IRR = 0x200;
export const APIC_ESR = 0x280;
export const APIC_ICR_LOW = 0x300;
export const APIC_ICR_HIGH = 0x310;
export const APIC_LVT_TIMER = 0x320;
export const APIC_LVT_THERMAL = 0x330;
export const APIC_LVT_PERF = 0x340;
export const APIC_LVT_LINT0 = 0x350;
export const APIC_LVT_LINT1 = 0x360;
export const APIC_LVT_ERROR = 0x370;
export const APIC_TIMER_INITIAL = 0x380;
export const APIC_TIMER_CURRENT = 0x390;
export const APIC_TIMER_DIVIDE = 0x3e0;
/** Version 0x14 (integrated xAPIC), 6 LVT entries (max LVT 5): QEMU's and KVM's value. */
export const APIC_VERSION_VALUE = 0x00050014;
export const APIC_SVR_ENABLE = 0x100;
export const APIC_LVT_MASKED = 0x10000;
export const APIC_TIMER_ONESHOT = 0x00000;
export const APIC_TIMER_PERIODIC = 0x20000;
export const APIC_TIMER_TSC_DEADLINE = 0x40000;
// Delivery modes (ICR, LVT, I/O APIC and MSI messages).
export const APIC_DM_FIXED = 0;
export const APIC_DM_LOWEST = 1;
export const APIC_DM_SMI = 2;
export const APIC_DM_NMI = 4;
export const APIC_DM_INIT = 5;
export const APIC_DM_STARTUP = 6;
export const APIC_DM_EXTINT = 7;

// Lazy flags operations.
export const LF_NONE = 0; // all flags are in V_FLAGS
export const LF_ADD = 1;
export const LF_ADC = 2;
export const LF_SUB = 3;
export const LF_SBB = 4;
export const LF_RES = 5; // ZF, SF, PF from the result only (logic ops, shifts)

// EFLAGS bits.
export const FLAG_CF = 0x0001;
export const FLAG_PF = 0x0004;
export const FLAG_AF = 0x0010;
export const FLAG_ZF = 0x0040;
export const FLAG_SF = 0x0080;
export const FLAG_TF = 0x0100;
export const FLAG_IF = 0x0200;
export const FLAG_DF = 0x0400;
export const FLAG_OF = 0x0800;
export const FLAG_IOPL = 0x3000;
export const FLAG_NT = 0x4000;
export const FLAG_RF = 0x10000;
export const FLAG_VM = 0x20000;
export const FLAG_AC = 0x40000;
export const FLAG_VIF = 0x80000;
export const FLAG_VIP = 0x100000;
export const FLAG_ID = 0x200000;
export const FLAGS_ARITH = 0x08d5; // CF PF AF ZF SF OF

// Control register bits.
export const CR0_PE = 0x1;
export const CR0_MP = 0x2;
export const CR0_EM = 0x4;
export const CR0_TS = 0x8;
export const CR0_ET = 0x10;
export const CR0_NE = 0x20;
export const CR0_WP = 0x10000;
export const CR0_AM = 0x40000;
export const CR0_NW = 0x20000000;
export const CR0_CD = 0x40000000;
export const CR0_PG = 0x80000000;
export const CR4_VME = 0x1;
export const CR4_PVI = 0x2;
export const CR4_TSD = 0x4;
export const CR4_DE = 0x8;
export const CR4_PSE = 0x10;
export const CR4_PAE = 0x20;
export const CR4_MCE = 0x40;
export const CR4_PGE = 0x80;
export const CR4_PCE = 0x100;
export const CR4_OSFXSR = 0x200;
export const CR4_OSXMMEXCPT = 0x400;

// Exception vectors.
export const EXC_DE = 0;
export const EXC_DB = 1;
export const EXC_NMI = 2;
export const EXC_BP = 3;
export const EXC_OF = 4;
export const EXC_BR = 5;
export const EXC_UD = 6;
export const EXC_NM = 7;
export const EXC_DF = 8;
export const EXC_TS = 10;
export const EXC_NP = 11;
export const EXC_SS = 12;
export const EXC_GP = 13;
export const EXC_PF = 14;
export const EXC_MF = 16;
export const EXC_AC = 17;
export const EXC_MC = 18;
export const EXC_XM = 19;
export const NO_ERROR_CODE = 0xffffffff;

// Register numbers (ModRM order).
export const REG_EAX = 0;
export const REG_ECX = 1;
export const REG_EDX = 2;
export const REG_EBX = 3;
export const REG_ESP = 4;
export const REG_EBP = 5;
export const REG_ESI = 6;
export const REG_EDI = 7;
