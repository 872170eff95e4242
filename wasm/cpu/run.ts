// The vCPU loop (KVM_RUN): execute until something needs the VMM.
import {
  V_SHADOW, V_HALTED, V_ICOUNT, V_NMI_MASKED, V_CR0, V_CR2, V_CR3, V_CR4, V_DR, V_RIP, V_GPR, V_GDTR_BASE, V_GDTR_LIMIT,
  V_IDTR_BASE, V_IDTR_LIMIT, V_CPL, V_EFER, V_APIC_BASE_MSR, V_PAT, V_MTRR_DEF_TYPE, V_SEGS, SEG_SIZE,
  V_FLAGS, V_LF_MASK, V_MISC_ENABLE, VCPU_BLOCKS, VCPU_BLOCK_SIZE, V_SYSENTER_CS, V_SYSENTER_ESP, V_SYSENTER_EIP, V_TSC_OFFSET,
  EXIT_REASON, EXIT_NONE, EXIT_BUDGET, EXIT_HLT, EXIT_IRQ_WINDOW, EXIT_SHUTDOWN, RUN_BUDGET, RUN_REQUEST_IRQ_WINDOW,
  RUN_READY_FOR_IRQ, RUN_INJECT_VECTOR, RUN_INJECT_NMI, RUN_MMIO_LOG_END, V_EXIT,
  V_APIC_PENDING, RUN_TIME_NS, RUN_NS_PER_INSN, RUN_NS_PER_INSN_SHIFT, DEFAULT_NS_PER_INSN, V_TIME_LAST,
  V_TSC_LAST, V_APIC_TIMER_DEADLINE_NS, APIC_DEFAULT_BASE, APIC_BASE_ENABLE, APIC_BASE_BSP,
  SEG_CS, SEG_LDTR, SEG_TR, SEG_VALID, FLAG_IF, FLAG_TF, EXC_DB, EXC_DF, EXC_NMI, EXC_PF, CR0_ET, CR0_CD, CR0_NW,
  ATTR_P, ATTR_S, ATTR_CODE,
} from '../abi';
import {
  cpu, eip, insnStart, abortInsn, faultVector, faultError, faultHasError, pendingExit, exitAfter, accessIndex,
  clearFault, refreshMode, loadEip, storeEip, sliceRetired, loopCheckAt,
} from './state';
import { getEflags, setEflagsRaw } from './flags';
import { invalidateFetch } from './decode';
import { absorbExitData, clearLog, logPending, flushTlbAll } from './mmu';
import { execLoop } from './exec';
import { deliverEvent, EV_EXCEPTION, EV_EXTERNAL } from './interrupt';
import { updateSegCheck } from './segaccess';
import { apicAcknowledge, apicTimerService, apicResetRegisters } from './apic';
import { timeSliceStart, timeSliceEnd, insnAtNs } from './time';
import { fpuReset } from '../ops/x87/env';

/** Exception classes for the double-fault rule (SDM Vol. 3, table 6-5). */
function faultClass(v: i32): u32 {
  if (v == 0 || (v >= 10 && v <= 13)) return 1; // contributory
  if (v == EXC_PF) return 2;
  return 0; // benign
}

/**
 * Delivers the pending fault of the current instruction (EIP back at its
 * start), escalating to #DF and to shutdown as the SDM says. Returns an
 * exit reason, or 0 to go on.
 */
function handleFault(): u32 {
  let vec = faultVector;
  let err = faultError;
  let hasErr = faultHasError;
  eip = insnStart;
  // Benign exceptions during delivery are handled one after another, which
  // could go on forever (a synthetic #MC while delivering #MC); real CPUs
  // cannot nest that deep, so a bound that ends in shutdown loses nothing.
  for (let depth = 0; depth < 8; depth++) {
    clearFault();
    accessIndex = 0;
    deliverEvent(<u32>vec, EV_EXCEPTION, hasErr, err);
    if (!abortInsn) return 0;
    if (pendingExit != 0) {
      // The IDT, GDT or stack is in MMIO: not supported; give up as a machine would.
      clearLog();
      clearFault();
      return EXIT_SHUTDOWN;
    }
    const next = faultVector;
    if (vec == EXC_DF) { clearFault(); return EXIT_SHUTDOWN; } // triple fault
    const a = faultClass(vec);
    const b = faultClass(next);
    if ((a == 1 && b == 1) || (a == 2 && b != 0)) {
      vec = EXC_DF; err = 0; hasErr = true;
    } else {
      vec = next; err = faultError; hasErr = faultHasError;
    }
  }
  return EXIT_SHUTDOWN;
}

/** Interrupt injection at an instruction boundary; returns an exit reason or 0. */
function serviceEvents(): u32 {
  if (load<u32>(cpu + RUN_INJECT_NMI) != 0 && load<u32>(cpu + V_NMI_MASKED) == 0) {
    store<u32>(cpu + RUN_INJECT_NMI, 0);
    store<u32>(cpu + V_NMI_MASKED, 1);
    insnStart = eip;
    accessIndex = 0;
    deliverEvent(EXC_NMI, EV_EXTERNAL, false, 0);
    return abortInsn ? handleFault() : 0;
  }
  if ((getEflags() & FLAG_IF) == 0) return 0;
  // An interrupt from the PIC (the VMM's injection, or ExtINT) bypasses the APIC's priorities.
  let v = load<i32>(cpu + RUN_INJECT_VECTOR);
  if (v >= 0) {
    store<i32>(cpu + RUN_INJECT_VECTOR, -1);
  } else if (load<u32>(cpu + V_APIC_PENDING) != 0) {
    v = apicAcknowledge();
  }
  if (v >= 0) {
    insnStart = eip;
    accessIndex = 0;
    deliverEvent(<u32>v, EV_EXTERNAL, false, 0);
    return abortInsn ? handleFault() : 0;
  }
  if (load<u32>(cpu + RUN_REQUEST_IRQ_WINDOW) != 0) return EXIT_IRQ_WINDOW;
  return 0;
}

@inline function eventsRequested(): bool {
  return load<u32>(cpu + RUN_INJECT_NMI) != 0 || load<i32>(cpu + RUN_INJECT_VECTOR) >= 0 ||
    load<u32>(cpu + RUN_REQUEST_IRQ_WINDOW) != 0 || load<u32>(cpu + V_APIC_PENDING) != 0;
}

/** An event that would end HLT at once (if deliverable): no point in exiting for it. */
@inline function wakePending(): bool {
  return load<u32>(cpu + V_APIC_PENDING) != 0 || load<i32>(cpu + RUN_INJECT_VECTOR) >= 0 ||
    (load<u32>(cpu + RUN_INJECT_NMI) != 0 && load<u32>(cpu + V_NMI_MASKED) == 0);
}

/**
 * The next sliceRetired value at which run() must look at timers and events
 * again: the budget, or the instruction at which the APIC timer expires.
 */
function nextCheck(budget: u64): u64 {
  let at = budget;
  const dl = load<u64>(cpu + V_APIC_TIMER_DEADLINE_NS);
  if (dl != 0) {
    const n = insnAtNs(dl);
    if (n < at) at = n;
  }
  return at > sliceRetired ? at : sliceRetired + 1;
}

export function run(base: u32): u32 {
  cpu = base;
  refreshMode();
  invalidateFetch();
  loadEip();
  clearFault();
  exitAfter = 0;
  absorbExitData();
  timeSliceStart();
  const budget = load<u64>(cpu + RUN_BUDGET);
  sliceRetired = 0;
  loopCheckAt = 0;
  let reason: u32 = EXIT_NONE;
  let events = false;
  // `careful` marks a boundary that needs the per-instruction checks
  // (interrupt shadow, pending events, HLT, a restarted instruction, TF).
  // Every check point sets it; it stays set only while one of those still
  // needs a look at each boundary (events pending, TF set). Whatever creates
  // one of them in the middle of a slice (MOV SS, STI, POPF with TF, an APIC
  // event) calls kickLoop(), so an ordinary instruction pays one compare of
  // sliceRetired and one test of this local.
  let careful = true;
  for (;;) {
    if (sliceRetired >= loopCheckAt) {
      if (sliceRetired >= budget) { reason = EXIT_BUDGET; break; }
      apicTimerService();
      events = eventsRequested();
      loopCheckAt = nextCheck(budget);
      careful = true;
    }
    let trap = false;
    let checked = careful;
    if (careful) {
      // An instruction restarted for the VMM's answer finishes before anything else.
      const restarting = logPending();
      if (load<u32>(cpu + V_SHADOW) != 0) {
        store<u32>(cpu + V_SHADOW, 0);
      } else if (events && !restarting) {
        reason = serviceEvents();
        events = eventsRequested();
        if (reason != 0) break;
        if (exitAfter != 0) { reason = exitAfter; break; }
      }
      if (load<u32>(cpu + V_HALTED) != 0) { reason = EXIT_HLT; break; }
      accessIndex = 0;
      trap = (load<u32>(cpu + V_FLAGS) & FLAG_TF) != 0;
      careful = events || trap;
    }
    // Outside careful boundaries accessIndex is 0 already: an instruction
    // that starts with an empty replay log either completes without a device
    // access or stops with an exit. execLoop() retires instructions until one
    // stops, asks for an exit, or the next check point comes (careful: one).
    execLoop(checked);
    if (abortInsn) {
      if (pendingExit != 0) {
        // Ask the VMM; the instruction runs again on the next run().
        reason = pendingExit;
        eip = insnStart;
        clearFault();
        break;
      }
      clearLog();
      reason = handleFault();
      accessIndex = 0;
      // A fault consumes budget like an instruction: a handler that faults
      // again and again must not keep run() from returning.
      sliceRetired++;
      if (reason != 0) break;
      if (exitAfter != 0) { reason = exitAfter; break; }
      continue;
    }
    if (checked) {
      if (accessIndex != 0) { clearLog(); accessIndex = 0; }
      if (trap) {
        // Single-step: #DB trap after the instruction, DR6.BS set.
        const dr6 = cpu + V_DR + 6 * 8;
        store<u32>(dr6, load<u32>(dr6) | 0x4000);
        insnStart = eip;
        deliverEvent(EXC_DB, EV_EXCEPTION, false, 0);
        if (abortInsn) { reason = handleFault(); accessIndex = 0; if (reason != 0) break; }
        // The #DB handler runs now: a HLT it followed is no longer halted.
        if (exitAfter == EXIT_HLT && load<u32>(cpu + V_HALTED) == 0) exitAfter = 0;
      }
    }
    if (exitAfter != 0) {
      // HLT with an interrupt already pending: the next boundary delivers it
      // (or, with IF=0, exits with EXIT_HLT after all).
      if (exitAfter == EXIT_HLT && wakePending()) {
        exitAfter = 0;
        events = true;
        careful = true;
        continue;
      }
      reason = exitAfter;
      break;
    }
  }
  storeEip();
  timeSliceEnd();
  store<u64>(cpu + V_ICOUNT, load<u64>(cpu + V_ICOUNT) + sliceRetired);
  sliceRetired = 0;
  store<u32>(cpu + EXIT_REASON, reason);
  store<u32>(cpu + RUN_READY_FOR_IRQ,
    (getEflags() & FLAG_IF) != 0 && load<u32>(cpu + V_SHADOW) == 0 && !logPending() ? 1 : 0);
  return reason;
}

/** Power-on / INIT state (SDM Vol. 3, table 9-1), the P6 family values. */
export function reset(base: u32): void {
  cpu = base;
  // Guest time goes on through a reset (the VMM's clock does); the TSC restarts at 0.
  let now = load<u64>(cpu + RUN_TIME_NS);
  const last = load<u64>(cpu + V_TIME_LAST);
  if (last > now) now = last;
  let nsPerInsn = load<u32>(cpu + RUN_NS_PER_INSN);
  if (nsPerInsn == 0) nsPerInsn = DEFAULT_NS_PER_INSN << RUN_NS_PER_INSN_SHIFT;
  memory.fill(cpu, 0, V_EXIT);
  memory.fill(cpu + V_EXIT, 0, RUN_MMIO_LOG_END - V_EXIT);
  store<u64>(cpu + RUN_TIME_NS, now);
  store<u64>(cpu + V_TIME_LAST, now);
  store<u32>(cpu + RUN_NS_PER_INSN, nsPerInsn);
  store<u64>(cpu + V_TSC_OFFSET, 0 - now);
  store<u64>(cpu + V_TSC_LAST, 0);
  store<i32>(cpu + RUN_INJECT_VECTOR, -1);
  setEflagsRaw(2);
  store<u32>(cpu + V_LF_MASK, 0);
  store<u64>(cpu + V_RIP, 0xfff0);
  store<u64>(cpu + V_CR0, CR0_ET | CR0_CD | CR0_NW);
  // EDX = the CPUID signature (wasm/ops/misc.ts): family 6, model 13, stepping 6.
  store<u64>(cpu + V_GPR + 2 * 8, 0x6d6);
  for (let s = 0; s < 6; s++) {
    const p = cpu + V_SEGS + s * SEG_SIZE;
    store<u32>(p, 0, 0);
    store<u64>(p, 0, 0x10);
    store<u32>(p, 0xffff, 8);
    store<u32>(p, ATTR_P | ATTR_S | 0x3 | SEG_VALID, 4); // present data, read/write, accessed
  }
  const cs = cpu + V_SEGS + SEG_CS * SEG_SIZE;
  store<u32>(cs, 0xf000, 0);
  store<u64>(cs, 0xffff0000, 0x10);
  store<u32>(cs, ATTR_P | ATTR_S | ATTR_CODE | 0x3 | SEG_VALID, 4);
  const ldtr = cpu + V_SEGS + SEG_LDTR * SEG_SIZE;
  store<u32>(ldtr, 0xffff, 8);
  store<u32>(ldtr, ATTR_P | 0x2, 4);
  const tr = cpu + V_SEGS + SEG_TR * SEG_SIZE;
  store<u32>(tr, 0xffff, 8);
  store<u32>(tr, ATTR_P | 0xb, 4);
  store<u32>(cpu + V_GDTR_LIMIT, 0xffff);
  store<u32>(cpu + V_IDTR_LIMIT, 0xffff);
  store<u64>(cpu + V_DR + 6 * 8, 0xffff0ff0);
  store<u64>(cpu + V_DR + 7 * 8, 0x400);
  const index = (base - VCPU_BLOCKS) / VCPU_BLOCK_SIZE;
  // APIC enabled at the default base; the first vCPU is the bootstrap processor.
  store<u64>(cpu + V_APIC_BASE_MSR, APIC_DEFAULT_BASE | APIC_BASE_ENABLE | (index == 0 ? APIC_BASE_BSP : 0));
  apicResetRegisters();
  store<u64>(cpu + V_PAT, 0x0007040600070406);
  store<u64>(cpu + V_MISC_ENABLE, 1); // fast strings, as QEMU resets it
  fpuReset();
  refreshMode();
  for (let s = 0; s < 8; s++) updateSegCheck(s);
  flushTlbAll(false);
  invalidateFetch();
}

/** After the VMM changed state directly: recompute every cache. */
export function stateChanged(base: u32): void {
  cpu = base;
  refreshMode();
  for (let s = 0; s < 8; s++) updateSegCheck(s);
  flushTlbAll(false);
  invalidateFetch();
}

