// The local APIC (an integrated xAPIC), kept in the core as KVM keeps it in
// the kernel, because it is touched on every interrupt.
//
// State: the 4 KiB register page at V_APIC in the vCPU block, registers at
// their architectural offsets (APIC_* in abi.ts; ISR/TMR/IRR as eight 32-bit
// words 0x10 apart), plus a few words of internal state above offset 0x3F0
// (V_APIC_PENDING, the timer's start and deadline, IA32_TSC_DEADLINE...).
// Nothing lives in module globals, so save/restore copies the block.
//
// Model (SDM Vol. 3, chapter 10; the choices QEMU and KVM make where the SDM
// leaves room):
// - Version 0x00050014: version 0x14, six LVT entries (timer, thermal,
//   performance counter, LINT0, LINT1, error): QEMU's and KVM's local APIC,
//   a Pentium 4-style xAPIC (a real P6 reports 4 LVTs, no thermal); thermal
//   and performance-counter interrupts never occur.
// - Access: the page at IA32_APIC_BASE (global enable, bit 11) never gets a
//   TLB entry; mmu.ts's slow paths send physical accesses to it here, without
//   a VMM exit. Reads of 1, 2 or 4 bytes inside the first dword of a 16-byte
//   register slot return those bytes (8-byte reads: the low dword); other
//   reads return 0. Writes other than aligned dwords are ignored (KVM). APIC
//   reads have no side effects, so an instruction restarted after a later
//   fault or IO exit reads them again harmlessly.
// - Interrupt acceptance: V_APIC_PENDING is 1 when the highest IRR vector's
//   priority class is above PPR's (and the APIC is enabled); it is recomputed
//   whenever IRR, ISR, TPR or SVR change, and run() delivers at the next
//   boundary with IF=1 and no shadow (IRR -> ISR). Because the flag follows
//   every change, the "raised TPR between INTR and INTA" race that makes a
//   real APIC deliver the spurious vector (SDM 10.9) cannot normally happen;
//   apicAcknowledge() still answers it with the SVR's vector (no ISR bit) if
//   the flag is found stale (state written into the block by the VMM).
// - Software-disabled (SVR bit 8 clear): fixed and lowest-priority
//   interrupts are not accepted and IRR/ISR are held (not delivered); every
//   LVT is masked and cannot be unmasked; NMI, INIT and SIPI are still
//   received; IPIs can still be sent. The PIC's INTR then reaches the CPU
//   directly (apicAcceptsPicInterrupts), as does LINT1's NMI.
// - Globally disabled (IA32_APIC_BASE bit 11 clear): the page is ordinary
//   memory or MMIO again, nothing is received, CPUID.1:EDX.APIC reads 0, and
//   the registers return to their power-up state (SDM 10.4.3: "prior
//   initialization ... may be lost"). Setting the bit again re-enables the
//   APIC (as Pentium 4 and KVM allow; a P6 would need a reset).
// - EOI clears the highest ISR bit; if that vector's TMR bit is set the
//   instruction ends the slice with EXIT_APIC_EOI (EXIT_VECTOR = vector) so
//   the VMM can tell the I/O APIC.
// - ICR: fixed, lowest priority (delivered like fixed to every matching
//   APIC: no arbitration yet), NMI, INIT, startup; destination shorthands
//   self, all, all-but-self; physical and logical (flat and cluster)
//   destinations. This APIC's share (fixed/lowest/NMI) is delivered here at
//   once; when the destination may include another APIC, the instruction
//   ends with EXIT_APIC_IPI (EXIT_DATA = ICR) and the VMM delivers to the
//   others (never back to the sender). INIT level de-assert is a no-op.
//   Delivery status always reads idle.
// - Timer: input clock APIC_BUS_HZ = 1 GHz (one tick per guest ns) divided
//   by the divide configuration; one-shot, periodic and TSC-deadline modes.
//   The current count is computed from the start time and "now" (time.ts).
//   V_APIC_TIMER_DEADLINE_NS is the guest time of the next interrupt (0 =
//   none; a masked one-shot or periodic timer has none, its count still
//   runs; a masked TSC-deadline timer is armed and just disarms on expiry);
//   run() checks it at the instruction it computes from the slice's time
//   base, and the VMM wakes a halted vCPU then. Periodic expiries that were
//   missed (a long VMM pause) raise one interrupt, and the period stays
//   aligned to the start time. Changing the divider keeps the count reached.
//   IA32_TSC_DEADLINE works in TSC-deadline mode (reads 0, ignores writes in
//   the others); CPUID.1:ECX bit 24 does not report it (a Pentium III has
//   no such timer), so guests that follow CPUID do not use it.
// - ESR: errors accumulate internally; a write to ESR latches them into the
//   readable register (write-then-read). Send/receive illegal vector (bits
//   5/6, vectors 0-15) are detected; the error LVT raises its vector.
// - VMM side: apicDeliver() (I/O APIC and MSI messages: fixed, lowest, NMI,
//   INIT/SIPI recorded for SMP later, ExtINT as an injected vector),
//   apicLocalInterrupt() (LINT0/LINT1 pins), apicAcceptsPicInterrupts().
import {
  V_APIC, V_APIC_BASE_MSR, V_APIC_PENDING, V_APIC_ESR_INTERNAL, V_APIC_TIMER_DEADLINE_NS,
  V_APIC_TIMER_START_NS, V_APIC_TSC_DEADLINE, V_APIC_INIT, V_APIC_SIPI, VCPU_BLOCKS, VCPU_BLOCK_SIZE,
  RUN_INJECT_NMI, RUN_INJECT_VECTOR, EXIT_VECTOR, EXIT_DATA, EXIT_APIC_EOI, EXIT_APIC_IPI,
  APIC_ID, APIC_VERSION, APIC_TPR, APIC_APR, APIC_PPR, APIC_EOI, APIC_LDR, APIC_DFR, APIC_SVR,
  APIC_ISR, APIC_TMR, APIC_IRR, APIC_ESR, APIC_ICR_LOW, APIC_ICR_HIGH, APIC_LVT_TIMER, APIC_LVT_THERMAL,
  APIC_LVT_PERF, APIC_LVT_LINT0, APIC_LVT_LINT1, APIC_LVT_ERROR, APIC_TIMER_INITIAL, APIC_TIMER_CURRENT,
  APIC_TIMER_DIVIDE, APIC_VERSION_VALUE, APIC_SVR_ENABLE, APIC_LVT_MASKED, APIC_TIMER_PERIODIC,
  APIC_TIMER_TSC_DEADLINE, APIC_BASE_ENABLE, APIC_BASE_BSP,
  APIC_DM_FIXED, APIC_DM_LOWEST, APIC_DM_NMI, APIC_DM_INIT, APIC_DM_STARTUP, APIC_DM_EXTINT,
} from '../abi';
import { cpu, exitAfter, kickLoop } from './state';
import { guestNowNs, nsAtTsc } from './time';

const PAGE_MASK: u32 = 0xfffff000;
/** IA32_APIC_BASE: base (31:12), enable (11), BSP (8); no PAE, so no bits above 31. */
const BASE_MSR_VALID: u64 = 0xfffff000 | APIC_BASE_ENABLE | APIC_BASE_BSP;

const ESR_SEND_ILLEGAL_VECTOR: u32 = 0x20;
const ESR_RECEIVE_ILLEGAL_VECTOR: u32 = 0x40;

const TIMER_MODE_MASK: u32 = 0x60000;
// Writable bits of each LVT entry (delivery status and remote IRR are read-only).
const LVT_TIMER_BITS: u32 = 0x700ff; // vector, mask, mode
const LVT_LINT_BITS: u32 = 0x1a7ff; // vector, delivery mode, polarity, trigger, mask
const LVT_MODE_BITS: u32 = 0x107ff; // vector, delivery mode, mask (thermal, perf)
const LVT_ERROR_BITS: u32 = 0x100ff; // vector, mask

// --- register page access ---------------------------------------------------------

@inline function reg(off: u32): u32 {
  return load<u32>(cpu + V_APIC + off);
}
@inline function setReg(off: u32, v: u32): void {
  store<u32>(cpu + V_APIC + off, v);
}
@inline function bitWord(array: u32, v: u32): u32 {
  return cpu + V_APIC + array + ((v >> 5) << 4);
}
@inline function testBit(array: u32, v: u32): bool {
  return (load<u32>(bitWord(array, v)) & (<u32>1 << (v & 31))) != 0;
}
@inline function setBit(array: u32, v: u32): void {
  const a = bitWord(array, v);
  store<u32>(a, load<u32>(a) | (<u32>1 << (v & 31)));
}
@inline function clearBit(array: u32, v: u32): void {
  const a = bitWord(array, v);
  store<u32>(a, load<u32>(a) & ~(<u32>1 << (v & 31)));
}
/** The highest vector set in ISR, TMR or IRR, or -1. */
function highestBit(array: u32): i32 {
  for (let i: i32 = 7; i >= 0; i--) {
    const w = reg(array + (<u32>i << 4));
    if (w != 0) return (i << 5) + 31 - <i32>clz<u32>(w);
  }
  return -1;
}

// --- enable state, priorities -------------------------------------------------------

/** IA32_APIC_BASE bit 11. */
@inline export function apicHwEnabled(): bool {
  return (load<u32>(cpu + V_APIC_BASE_MSR) & APIC_BASE_ENABLE) != 0;
}
@inline function swEnabled(): bool {
  return (reg(APIC_SVR) & APIC_SVR_ENABLE) != 0;
}

/** Whether physical address `pa` is in the (enabled) APIC page: the slow paths of mmu.ts ask. */
@inline export function isApicPage(pa: u32): bool {
  const m = load<u32>(cpu + V_APIC_BASE_MSR);
  return (m & APIC_BASE_ENABLE) != 0 && ((pa ^ m) & PAGE_MASK) == 0;
}

/** Processor priority (SDM 10.8.3.1). */
function ppr(): u32 {
  const tpr = reg(APIC_TPR) & 0xff;
  const isrv = highestBit(APIC_ISR);
  const isrClass: u32 = isrv < 0 ? 0 : <u32>isrv & 0xf0;
  return (tpr & 0xf0) >= isrClass ? tpr : isrClass;
}

/** Arbitration priority (SDM 10.8.3.1, figure 10-15). */
function apr(): u32 {
  const tpr = reg(APIC_TPR) & 0xff;
  const irrv = highestBit(APIC_IRR);
  const isrv = highestBit(APIC_ISR);
  const irrClass: u32 = irrv < 0 ? 0 : <u32>irrv & 0xf0;
  const isrClass: u32 = isrv < 0 ? 0 : <u32>isrv & 0xf0;
  if ((tpr & 0xf0) >= irrClass && (tpr & 0xf0) > isrClass) return tpr;
  let m = tpr & 0xf0;
  if (isrClass > m) m = isrClass;
  if (irrClass > m) m = irrClass;
  return m;
}

/** Recomputes V_APIC_PENDING (after IRR, ISR, TPR or SVR changed) and has run() look again. */
export function apicUpdatePending(): void {
  let p: u32 = 0;
  if (apicHwEnabled() && swEnabled()) {
    const v = highestBit(APIC_IRR);
    if (v >= 0 && (<u32>v & 0xf0) > (ppr() & 0xf0)) p = 1;
  }
  store<u32>(cpu + V_APIC_PENDING, p);
  kickLoop();
}

/**
 * Interrupt acknowledge at an instruction boundary (IF=1, no shadow), when
 * V_APIC_PENDING is set: the highest IRR vector above PPR moves to ISR and
 * is returned. If nothing is deliverable any more the spurious vector is
 * returned, with no ISR bit (SDM 10.9: the interrupt was masked between INTR
 * and INTA); the flag is recomputed on every change, so that only happens
 * when the block was changed behind the APIC's back. -1: APIC disabled.
 */
export function apicAcknowledge(): i32 {
  const v = highestBit(APIC_IRR);
  if (v < 0 || !apicHwEnabled() || !swEnabled() || (<u32>v & 0xf0) <= (ppr() & 0xf0)) {
    store<u32>(cpu + V_APIC_PENDING, 0);
    return apicHwEnabled() ? <i32>(reg(APIC_SVR) & 0xff) : -1;
  }
  clearBit(APIC_IRR, <u32>v);
  setBit(APIC_ISR, <u32>v);
  apicUpdatePending();
  return v;
}

// --- acceptance -------------------------------------------------------------------------

function apicError(bits: u32): void {
  store<u32>(cpu + V_APIC_ESR_INTERNAL, load<u32>(cpu + V_APIC_ESR_INTERNAL) | bits);
  const lvt = reg(APIC_LVT_ERROR);
  const v = lvt & 0xff;
  if ((lvt & APIC_LVT_MASKED) == 0 && v >= 16) acceptFixed(v, false);
}

/** A fixed interrupt arrives: IRR (and TMR for level-triggered ones). */
function acceptFixed(vector: u32, level: bool): void {
  if (!apicHwEnabled() || !swEnabled()) return;
  if (vector < 16) {
    apicError(ESR_RECEIVE_ILLEGAL_VECTOR);
    return;
  }
  setBit(APIC_IRR, vector);
  if (level) setBit(APIC_TMR, vector);
  else clearBit(APIC_TMR, vector);
  apicUpdatePending();
}

function raiseNmi(): void {
  store<u32>(cpu + RUN_INJECT_NMI, 1);
  kickLoop();
}

/**
 * A message for this APIC (from the VMM: I/O APIC, MSI, another vCPU's IPI).
 * Fixed and lowest priority set IRR (TMR when level-triggered); NMI takes
 * the NMI path; INIT and startup are recorded for SMP; ExtINT delivers
 * `vector` as an external interrupt (the VMM got it from the PIC).
 */
export function apicDeliverMessage(vector: u32, mode: u32, level: bool): void {
  if (!apicHwEnabled()) return;
  vector &= 0xff;
  if (mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST) {
    acceptFixed(vector, level);
  } else if (mode == APIC_DM_NMI) {
    raiseNmi();
  } else if (mode == APIC_DM_INIT) {
    store<u32>(cpu + V_APIC_INIT, 1);
  } else if (mode == APIC_DM_STARTUP) {
    store<u32>(cpu + V_APIC_SIPI, 0x100 | vector);
  } else if (mode == APIC_DM_EXTINT) {
    store<i32>(cpu + RUN_INJECT_VECTOR, <i32>vector);
    kickLoop();
  }
  // SMI: no SMM.
}

/** Whether a message to `dest` (physical APIC ID or logical mask) reaches this APIC. */
export function apicMatchDestination(dest: u32, logical: bool): bool {
  dest &= 0xff;
  if (dest == 0xff) return true; // broadcast, in both modes
  if (!logical) return dest == reg(APIC_ID) >> 24;
  const ldr = reg(APIC_LDR) >> 24;
  if ((reg(APIC_DFR) >> 28) == 0xf) return (ldr & dest) != 0; // flat model
  // Cluster model: cluster in the high nibble (15 = all clusters), members in the low one.
  return ((dest >> 4) == 15 || (dest >> 4) == (ldr >> 4)) && (dest & ldr & 0xf) != 0;
}

/**
 * Local interrupt pin `pin` (0 = LINT0, 1 = LINT1) is asserted (an edge).
 * Delivered per its LVT entry: fixed sets IRR, NMI raises an NMI; masked
 * entries and ExtINT (the VMM's PIC path) do nothing. With the APIC disabled
 * (globally or by software) LINT1 is the processor's NMI pin. Returns
 * whether something was delivered.
 */
export function apicLocalInterrupt(pin: u32): bool {
  if (!apicHwEnabled() || !swEnabled()) {
    if (pin == 1) { raiseNmi(); return true; }
    return false;
  }
  const lvt = reg(pin == 0 ? APIC_LVT_LINT0 : APIC_LVT_LINT1);
  if ((lvt & APIC_LVT_MASKED) != 0) return false;
  const mode = (lvt >> 8) & 7;
  if (mode == APIC_DM_FIXED) { acceptFixed(lvt & 0xff, false); return true; }
  if (mode == APIC_DM_NMI) { raiseNmi(); return true; }
  return false;
}

/**
 * Whether the 8259's INTR reaches the CPU: the APIC is globally or software
 * disabled, or LINT0 is unmasked ExtINT (virtual wire mode, as BIOSes leave it).
 */
export function apicAcceptsPicInterrupts(): bool {
  if (!apicHwEnabled() || !swEnabled()) return true;
  const lvt = reg(APIC_LVT_LINT0);
  return (lvt & APIC_LVT_MASKED) == 0 && ((lvt >> 8) & 7) == APIC_DM_EXTINT;
}

// --- EOI and IPIs -------------------------------------------------------------------

function eoi(): void {
  const v = highestBit(APIC_ISR);
  if (v < 0) return;
  clearBit(APIC_ISR, <u32>v);
  apicUpdatePending();
  if (testBit(APIC_TMR, <u32>v)) {
    store<u32>(cpu + EXIT_VECTOR, <u32>v);
    exitAfter = EXIT_APIC_EOI;
  }
}

function sendIpi(lo: u32, hi: u32): void {
  const vector = lo & 0xff;
  const mode = (lo >> 8) & 7;
  const logical = (lo & 0x800) != 0;
  const shorthand = (lo >> 18) & 3;
  const dest = hi >> 24;
  // INIT level de-assert only resynchronises arbitration IDs.
  if (mode == APIC_DM_INIT && (lo & 0x4000) == 0 && (lo & 0x8000) != 0) return;
  if ((mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST) && vector < 16) {
    apicError(ESR_SEND_ILLEGAL_VECTOR);
    return;
  }
  let self = false;
  let others = false;
  if (shorthand == 1) self = true;
  else if (shorthand == 2) { self = true; others = true; }
  else if (shorthand == 3) others = true;
  else {
    self = apicMatchDestination(dest, logical);
    others = logical || dest != reg(APIC_ID) >> 24;
  }
  if (self) {
    if (mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST) acceptFixed(vector, false);
    else if (mode == APIC_DM_NMI) raiseNmi();
    // INIT and startup to oneself are not allowed (SDM 10.6.1); SMI: no SMM.
  }
  if (others) {
    store<u64>(cpu + EXIT_DATA, (<u64>hi << 32) | <u64>lo);
    store<u32>(cpu + EXIT_VECTOR, vector);
    exitAfter = EXIT_APIC_IPI;
  }
}

// --- the timer -------------------------------------------------------------------------

@inline function timerMode(): u32 {
  return reg(APIC_LVT_TIMER) & TIMER_MODE_MASK;
}

/** Bus clock ticks (ns) per timer tick: divide configuration bits 0, 1, 3. */
function timerDivisor(): u64 {
  const d = reg(APIC_TIMER_DIVIDE);
  const v = ((d >> 1) & 4) | (d & 3);
  return <u64>1 << <u64>((v + 1) & 7);
}

function currentCount(now: u64): u32 {
  const init = reg(APIC_TIMER_INITIAL);
  if (init == 0 || timerMode() == APIC_TIMER_TSC_DEADLINE) return 0;
  const ticks = (now - load<u64>(cpu + V_APIC_TIMER_START_NS)) / timerDivisor();
  if (timerMode() == APIC_TIMER_PERIODIC) return init - <u32>(ticks % <u64>init);
  return ticks >= <u64>init ? 0 : init - <u32>ticks;
}

/** Recomputes V_APIC_TIMER_DEADLINE_NS from the timer registers at guest time `now`. */
function timerArm(now: u64): void {
  const lvt = reg(APIC_LVT_TIMER);
  const mode = lvt & TIMER_MODE_MASK;
  let dl: u64 = 0;
  if (mode == APIC_TIMER_TSC_DEADLINE) {
    const t = load<u64>(cpu + V_APIC_TSC_DEADLINE);
    if (t != 0) dl = nsAtTsc(t);
  } else if ((lvt & APIC_LVT_MASKED) == 0) {
    const init = reg(APIC_TIMER_INITIAL);
    if (init != 0) {
      const start = load<u64>(cpu + V_APIC_TIMER_START_NS);
      const period = <u64>init * timerDivisor();
      const elapsed = now - start;
      if (mode == APIC_TIMER_PERIODIC) dl = start + (elapsed / period + 1) * period;
      else if (elapsed < period) dl = start + period;
      if (dl == 0) dl = 1;
    }
  }
  store<u64>(cpu + V_APIC_TIMER_DEADLINE_NS, dl);
  kickLoop();
}

/** At a check point of run() (and before any timer register changes): fire an expired timer. */
export function apicTimerService(): void {
  const dl = load<u64>(cpu + V_APIC_TIMER_DEADLINE_NS);
  if (dl == 0) return;
  const now = guestNowNs();
  if (now < dl) return;
  const lvt = reg(APIC_LVT_TIMER);
  if ((lvt & APIC_LVT_MASKED) == 0) acceptFixed(lvt & 0xff, false);
  const mode = lvt & TIMER_MODE_MASK;
  if (mode == APIC_TIMER_PERIODIC) {
    timerArm(now);
  } else {
    if (mode == APIC_TIMER_TSC_DEADLINE) store<u64>(cpu + V_APIC_TSC_DEADLINE, 0);
    store<u64>(cpu + V_APIC_TIMER_DEADLINE_NS, 0);
  }
}

/** RDMSR IA32_TSC_DEADLINE: the armed deadline in TSC-deadline mode, else 0. */
export function apicTscDeadlineRead(): u64 {
  if (timerMode() != APIC_TIMER_TSC_DEADLINE) return 0;
  apicTimerService();
  return load<u64>(cpu + V_APIC_TSC_DEADLINE);
}

/** WRMSR IA32_TSC_DEADLINE: arms (0 disarms) in TSC-deadline mode; ignored in the others. */
export function apicTscDeadlineWrite(v: u64): void {
  if (timerMode() != APIC_TIMER_TSC_DEADLINE) return;
  apicTimerService();
  store<u64>(cpu + V_APIC_TSC_DEADLINE, v);
  timerArm(guestNowNs());
}

/** After WRMSR TSC: a TSC deadline is now at another guest time. */
export function apicTscChanged(): void {
  if (timerMode() == APIC_TIMER_TSC_DEADLINE) timerArm(guestNowNs());
}

// --- register reads and writes ---------------------------------------------------------

/** The 32-bit register at `off` (16-byte aligned, below 0x400). */
export function apicRead32(off: u32): u32 {
  if (off == APIC_APR) return apr();
  if (off == APIC_PPR) return ppr();
  if (off == APIC_TIMER_CURRENT) {
    apicTimerService();
    return currentCount(guestNowNs());
  }
  if (off >= 0x400 || off == APIC_EOI) return 0;
  return reg(off);
}

/** Applies the LVT rules: writable bits, and everything masked while software-disabled. */
@inline function lvtValue(v: u32, bits: u32): u32 {
  v &= bits;
  if (!swEnabled()) v |= APIC_LVT_MASKED;
  return v;
}

/** A 32-bit write to the register at `off` (16-byte aligned). */
export function apicWrite32(off: u32, v: u32): void {
  switch (off) {
    case APIC_ID:
      setReg(APIC_ID, v & 0xff000000);
      break;
    case APIC_TPR:
      setReg(APIC_TPR, v & 0xff);
      apicUpdatePending();
      break;
    case APIC_EOI:
      eoi();
      break;
    case APIC_LDR:
      setReg(APIC_LDR, v & 0xff000000);
      break;
    case APIC_DFR:
      setReg(APIC_DFR, (v & 0xf0000000) | 0x0fffffff);
      break;
    case APIC_SVR: {
      setReg(APIC_SVR, v & 0x3ff);
      if ((v & APIC_SVR_ENABLE) == 0) {
        apicTimerService();
        for (let o: u32 = APIC_LVT_TIMER; o <= <u32>APIC_LVT_ERROR; o += 0x10) setReg(o, reg(o) | APIC_LVT_MASKED);
        timerArm(guestNowNs());
      }
      apicUpdatePending();
      break;
    }
    case APIC_ESR:
      setReg(APIC_ESR, load<u32>(cpu + V_APIC_ESR_INTERNAL));
      store<u32>(cpu + V_APIC_ESR_INTERNAL, 0);
      break;
    case APIC_ICR_LOW:
      setReg(APIC_ICR_LOW, v & 0x000ccfff); // delivery status (12) stays idle
      sendIpi(v & 0x000ccfff, reg(APIC_ICR_HIGH));
      break;
    case APIC_ICR_HIGH:
      setReg(APIC_ICR_HIGH, v & 0xff000000);
      break;
    case APIC_LVT_TIMER: {
      apicTimerService();
      const nv = lvtValue(v, LVT_TIMER_BITS);
      const wasTsc = timerMode() == APIC_TIMER_TSC_DEADLINE;
      const isTsc = (nv & TIMER_MODE_MASK) == APIC_TIMER_TSC_DEADLINE;
      if (wasTsc != isTsc) {
        // Switching to or from TSC-deadline mode disarms the timer (SDM 10.5.4.1).
        setReg(APIC_TIMER_INITIAL, 0);
        store<u64>(cpu + V_APIC_TSC_DEADLINE, 0);
      }
      setReg(APIC_LVT_TIMER, nv);
      timerArm(guestNowNs());
      break;
    }
    case APIC_LVT_THERMAL:
    case APIC_LVT_PERF:
      setReg(off, lvtValue(v, LVT_MODE_BITS));
      break;
    case APIC_LVT_LINT0:
    case APIC_LVT_LINT1:
      setReg(off, lvtValue(v, LVT_LINT_BITS) | (reg(off) & 0x4000));
      break;
    case APIC_LVT_ERROR:
      setReg(off, lvtValue(v, LVT_ERROR_BITS));
      break;
    case APIC_TIMER_INITIAL: {
      if (timerMode() == APIC_TIMER_TSC_DEADLINE) break;
      apicTimerService();
      const now = guestNowNs();
      setReg(APIC_TIMER_INITIAL, v);
      store<u64>(cpu + V_APIC_TIMER_START_NS, now);
      timerArm(now);
      break;
    }
    case APIC_TIMER_DIVIDE: {
      apicTimerService();
      const now = guestNowNs();
      const init = reg(APIC_TIMER_INITIAL);
      const done = init - currentCount(now); // ticks counted so far (in this period)
      setReg(APIC_TIMER_DIVIDE, v & 0xb);
      if (init != 0 && timerMode() != APIC_TIMER_TSC_DEADLINE) {
        store<u64>(cpu + V_APIC_TIMER_START_NS, now - <u64>done * timerDivisor());
        timerArm(now);
      }
      break;
    }
    default:
      break; // read-only or reserved
  }
}

/** A guest read of `size` bytes at offset `off` of the APIC page. */
export function apicMmioRead(off: u32, size: u32): u64 {
  if (size == 8) return apicMmioRead(off, 4) | (apicMmioRead(off + 4, 4) << 32);
  const align = off & 0xf;
  if (align + size > 4) return 0;
  const v = apicRead32(off & 0xff0) >> (align << 3);
  return size == 4 ? <u64>v : <u64>(v & ((<u32>1 << (size << 3)) - 1));
}

/** A guest write at offset `off` of the APIC page: aligned dwords only. */
export function apicMmioWrite(off: u32, size: u32, v: u64): void {
  if (size != 4 || (off & 0xf) != 0) return;
  apicWrite32(off, <u32>v);
}

// --- IA32_APIC_BASE, reset ---------------------------------------------------------------

/** Power-up state of the registers (SDM 10.4.7.1). */
export function apicResetRegisters(): void {
  memory.fill(cpu + V_APIC, 0, 0x1000);
  const index = (cpu - VCPU_BLOCKS) / VCPU_BLOCK_SIZE;
  setReg(APIC_ID, index << 24);
  setReg(APIC_VERSION, APIC_VERSION_VALUE);
  setReg(APIC_DFR, 0xffffffff);
  setReg(APIC_SVR, 0xff);
  for (let o: u32 = APIC_LVT_TIMER; o <= <u32>APIC_LVT_ERROR; o += 0x10) setReg(o, APIC_LVT_MASKED);
  kickLoop();
}

/**
 * WRMSR IA32_APIC_BASE. Returns -1 for #GP (reserved bits), 1 if the page
 * moved or the APIC was enabled or disabled (the caller flushes the TLB), 0
 * otherwise. BSP is read-only.
 */
export function apicBaseWrite(v: u64): i32 {
  if ((v & ~BASE_MSR_VALID) != 0) return -1;
  const old = load<u64>(cpu + V_APIC_BASE_MSR);
  const nv = (v & ~(<u64>APIC_BASE_BSP)) | (old & APIC_BASE_BSP);
  store<u64>(cpu + V_APIC_BASE_MSR, nv);
  if ((old & APIC_BASE_ENABLE) != 0 && (nv & APIC_BASE_ENABLE) == 0) {
    apicResetRegisters();
    store<u64>(cpu + V_APIC_TIMER_DEADLINE_NS, 0);
  }
  apicUpdatePending();
  return nv != old ? 1 : 0;
}
