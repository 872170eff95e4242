// CPUID, the time-stamp counter, MSRs, RDPMC, HLT, BOUND, CMPXCHG8B.
import { V_PERF,
  V_HALTED, EXIT_HLT, EXC_GP, EXC_BR, V_CR4, CR4_TSD, CR4_PCE,
  V_APIC_BASE_MSR, V_SYSENTER_CS, V_SYSENTER_ESP, V_SYSENTER_EIP, V_PAT, V_MTRR_DEF_TYPE,
  V_MTRR_FIXED, V_MTRR_VAR, V_MISC_ENABLE, VCPU_BLOCKS, VCPU_BLOCK_SIZE,
  REG_EAX, REG_ECX, REG_EDX, REG_EBX, FLAG_ZF,
} from '../abi';
import { cpu, cpl, exitAfter, setFault, abortInsn, addr32, reg32, setReg32 } from '../cpu/state';
import { eaOff, eaSeg } from '../cpu/decode';
import { readMem, readG } from '../cpu/operand';
import { segLinear } from '../cpu/segaccess';
import { readLin, writeLin, probeWrite, flushTlbAll } from '../cpu/mmu';
import { invalidateFetch } from '../cpu/decode';
import { tscRead, tscWrite } from '../cpu/time';
import { apicHwEnabled, apicBaseWrite, apicTscDeadlineRead, apicTscDeadlineWrite, apicTscChanged } from '../cpu/apic';
import { setFlagsPartial } from '../cpu/flags';

export function hlt(): void {
  if (cpl != 0) { setFault(EXC_GP, 0, true); return; }
  store<u32>(cpu + V_HALTED, 1);
  exitAfter = EXIT_HLT;
}

@inline function gp0(): void {
  setFault(EXC_GP, 0, true);
}

/** EDX:EAX = v. */
@inline function setEdxEax(v: u64): void {
  setReg32(REG_EAX, <u32>v);
  setReg32(REG_EDX, <u32>(v >> 32));
}
@inline function edxEax(): u64 {
  return (<u64>reg32(REG_EDX) << 32) | <u64>reg32(REG_EAX);
}

// --- BOUND --------------------------------------------------------------------------

@inline function sext<T>(v: T): i32 {
  return sizeof<T>() == 2 ? <i32><i16>v : <i32>v;
}

/** 62: BOUND Gv,Ma: #BR unless lower <= Gv <= upper (signed; the bounds are two words/dwords at Ma). */
export function bound<T>(): void {
  const lo = readMem<T>(eaSeg, eaOff);
  if (abortInsn) return;
  let off2 = eaOff + <u32>sizeof<T>();
  if (!addr32) off2 &= 0xffff;
  const hi = readMem<T>(eaSeg, off2);
  if (abortInsn) return;
  const i = sext<T>(readG<T>());
  if (i < sext<T>(lo) || i > sext<T>(hi)) setFault(EXC_BR, 0, false);
}

// --- CPUID ------------------------------------------------------------------------
// GenuineIntel family 6 model 13 stepping 6: a Pentium M "Dothan", a real
// CPU with x87, MMX, SSE and SSE2 (what the core implements) that reports
// neither PAE nor NX nor long mode (the early Pentium M parts hid PAE; Linux
// needs "forcepae" to use it there), so guests take the same 32-bit paths a
// Pentium III would. Linux applies no errata workaround to this model.

/**
 * CPUID.1:EDX, the one place that says what the core implements. Change it
 * with the core: VME (bit 1) with virtual-8086 mode extensions, PAE (6)
 * with PAE paging. APIC (bit 9) is added by cpuid() while IA32_APIC_BASE
 * enables the local APIC.
 */
const CPUID_1_EDX: u32 =
  (1 << 0) | // FPU: x87 on chip
  (1 << 3) | // PSE: 4 MiB pages
  (1 << 4) | // TSC: RDTSC, CR4.TSD
  (1 << 5) | // MSR: RDMSR/WRMSR
  (1 << 8) | // CX8: CMPXCHG8B
  (1 << 11) | // SEP: SYSENTER/SYSEXIT
  (1 << 12) | // MTRR
  (1 << 13) | // PGE: global pages
  (1 << 15) | // CMOV
  (1 << 16) | // PAT
  (1 << 19) | // CLFSH: CLFLUSH (line size in CPUID.1:EBX[15:8])
  (1 << 23) | // MMX
  (1 << 24) | // FXSR: FXSAVE/FXRSTOR, CR4.OSFXSR
  (1 << 25) | // SSE
  (1 << 26); // SSE2
const CPUID_1_ECX: u32 = 0;
/** CPUID.1:EAX: stepping 6, model 13, family 6, as a Pentium M 7xx (Dothan). */
const CPUID_SIGNATURE: u32 = 0x6d6;
/** CPUID.1:EBX[15:8]: the CLFLUSH line size in 8-byte units (64 bytes, as the caches below). */
const CLFLUSH_LINE_QWORDS: u32 = 8;
/** Highest basic leaf: 2, as the Pentium M reports. */
const CPUID_MAX_BASIC: u32 = 2;
const CPUID_MAX_EXT: u32 = 0x80000004;
/**
 * Leaf 2: the cache/TLB descriptors of a Pentium M (Dothan, 2 MiB L2), all
 * with 64-byte lines: 01/02 (code TLB, 4 KiB and 4 MiB pages), B0 (code TLB
 * 128 entries), B3 (data TLB 128 entries), 04 (data TLB, 4 MiB pages), 30
 * (32 KiB L1 code), 2C (32 KiB L1 data), 7D (2 MiB L2), F0 (64-byte
 * prefetching). EAX's low byte 01: one CPUID 2 call returns everything.
 */
const CPUID_2_EAX: u32 = 0x02b3b001;
const CPUID_2_EBX: u32 = 0x000000f0;
const CPUID_2_ECX: u32 = 0;
const CPUID_2_EDX: u32 = 0x2c04307d;
/** Leaves 0x80000002-4: the brand string, ASCII, NUL-padded to 48 bytes. */
const CPUID_BRAND = 'wkvm virtual CPU';

/** Four bytes of the brand string from byte `i`, little-endian. */
function brandDword(i: i32): u32 {
  let v: u32 = 0;
  for (let b = 3; b >= 0; b--) {
    const k = i + b;
    const c: u32 = k < CPUID_BRAND.length ? <u32>CPUID_BRAND.charCodeAt(k) & 0xff : 0;
    v = (v << 8) | c;
  }
  return v;
}

/** 0F A2: CPUID. */
export function cpuid(): void {
  let leaf = reg32(REG_EAX);
  // Leaves above the maximum (basic or extended) return the highest basic leaf, as Intel CPUs do.
  if (leaf >= 0x80000000 ? leaf > CPUID_MAX_EXT : leaf > CPUID_MAX_BASIC) leaf = CPUID_MAX_BASIC;
  let a: u32 = 0, b: u32 = 0, c: u32 = 0, d: u32 = 0;
  switch (leaf) {
    case 0:
      a = CPUID_MAX_BASIC;
      b = 0x756e6547; // "Genu"
      d = 0x49656e69; // "ineI"
      c = 0x6c65746e; // "ntel"
      break;
    case 1: {
      const index = (cpu - VCPU_BLOCKS) / VCPU_BLOCK_SIZE;
      a = CPUID_SIGNATURE;
      // Initial APIC ID (the vCPU index) and the CLFLUSH line size.
      b = (index << 24) | (CLFLUSH_LINE_QWORDS << 8);
      c = CPUID_1_ECX;
      // APIC (bit 9) while IA32_APIC_BASE enables it (SDM 10.4.3).
      d = CPUID_1_EDX | (apicHwEnabled() ? <u32>1 << 9 : 0);
      break;
    }
    case 2:
      a = CPUID_2_EAX; b = CPUID_2_EBX; c = CPUID_2_ECX; d = CPUID_2_EDX;
      break;
    case 0x80000000:
      a = CPUID_MAX_EXT;
      break;
    case 0x80000001:
      break; // no extended features (no NX, no long mode, no SYSCALL)
    case 0x80000002: case 0x80000003: case 0x80000004: {
      const i = <i32>(leaf - 0x80000002) * 16;
      a = brandDword(i); b = brandDword(i + 4); c = brandDword(i + 8); d = brandDword(i + 12);
      break;
    }
  }
  setReg32(REG_EAX, a);
  setReg32(REG_EBX, b);
  setReg32(REG_ECX, c);
  setReg32(REG_EDX, d);
}

// --- time-stamp counter, performance counters -------------------------------------

/** The TSC: guest time at 1 GHz plus the offset, monotonic (cpu/time.ts). */
@inline function tscNow(): u64 {
  return tscRead();
}

/** 0F 31: RDTSC; #GP(0) with CR4.TSD outside CPL 0. */
export function rdtsc(): void {
  if ((load<u32>(cpu + V_CR4) & CR4_TSD) != 0 && cpl != 0) { gp0(); return; }
  setEdxEax(tscNow());
}

/** 0F 33: RDPMC. The counters (ECX 0 and 1 on P6) always read 0. */
export function rdpmc(): void {
  if ((cpl != 0 && (load<u32>(cpu + V_CR4) & CR4_PCE) == 0) || reg32(REG_ECX) > 1) { gp0(); return; }
  setEdxEax(0);
}

// --- MSRs ---------------------------------------------------------------------------

const MSR_TSC: u32 = 0x10;
const MSR_APIC_BASE: u32 = 0x1b;
const MSR_TSC_DEADLINE: u32 = 0x6e0; // the APIC timer's TSC-deadline mode (not reported by CPUID)
const MSR_UCODE_REV: u32 = 0x8b; // BIOS_SIGN_ID: Linux reads it on every family 6 CPU
const MSR_MTRRCAP: u32 = 0xfe;
const MSR_SYSENTER_CS: u32 = 0x174;
const MSR_SYSENTER_ESP: u32 = 0x175;
const MSR_SYSENTER_EIP: u32 = 0x176;
const MSR_MISC_ENABLE: u32 = 0x1a0;
// P6 performance monitoring: two counters and their event selects. They are
// kept as written but do not count (the CPUID leaf does not advertise
// architectural perfmon); Linux's P6 PMU probe reads and writes them.
const MSR_PERFCTR0: u32 = 0xc1;
const MSR_EVNTSEL0: u32 = 0x186;

/** Offset in the vCPU block of a P6 performance MSR, or -1. */
function perfSlot(msr: u32): i32 {
  if (msr - MSR_PERFCTR0 < 2) return <i32>(V_PERF + (msr - MSR_PERFCTR0) * 8);
  if (msr - MSR_EVNTSEL0 < 2) return <i32>(V_PERF + 16 + (msr - MSR_EVNTSEL0) * 8);
  return -1;
}
const MSR_MTRR_VAR: u32 = 0x200; // 0x200-0x20F: PHYSBASE0, PHYSMASK0, ...
const MSR_PAT: u32 = 0x277;
const MSR_MTRR_DEF_TYPE: u32 = 0x2ff;

/** MTRRcap: 8 variable ranges, fixed ranges supported, write-combining supported. */
const MTRRCAP_VALUE: u64 = 0x508;
/** Physical address bits (no PAE, no PSE-36): the MTRR and APIC base masks. */
const PHYS_MASK: u64 = 0xfffff000;

/** The offset of a fixed-range MTRR in V_MTRR_FIXED, or -1. */
function mtrrFixedSlot(msr: u32): i32 {
  if (msr == 0x250) return 0;
  if (msr == 0x258) return 1;
  if (msr == 0x259) return 2;
  if (msr >= 0x268 && msr <= 0x26f) return <i32>(msr - 0x268) + 3;
  return -1;
}

/** A memory type an MTRR may hold: UC WC WT WP WB. */
@inline function mtrrType(t: u32): bool {
  return t == 0 || t == 1 || t == 4 || t == 5 || t == 6;
}
/** Eight MTRR types, one per byte (fixed-range MTRRs). */
function mtrrTypes8(v: u64): bool {
  for (let i: u32 = 0; i < 8; i++) if (!mtrrType(<u32>(v >> (i * 8)) & 0xff)) return false;
  return true;
}
/** Eight PAT entries: UC WC WT WP WB UC- (2 and 3 are reserved). */
function patValid(v: u64): bool {
  for (let i: u32 = 0; i < 8; i++) {
    const t = <u32>(v >> (i * 8)) & 0xff;
    if (t > 7 || t == 2 || t == 3) return false;
  }
  return true;
}

/** 0F 32: RDMSR (CPL 0); an MSR the CPU does not have is #GP(0). */
export function rdmsr(): void {
  if (cpl != 0) { gp0(); return; }
  const msr = reg32(REG_ECX);
  let v: u64 = 0;
  if (msr == MSR_TSC) v = tscNow();
  else if (msr == MSR_APIC_BASE) v = load<u64>(cpu + V_APIC_BASE_MSR);
  else if (msr == MSR_TSC_DEADLINE) v = apicTscDeadlineRead();
  else if (msr == MSR_UCODE_REV) v = 0;
  else if (msr == MSR_MTRRCAP) v = MTRRCAP_VALUE;
  else if (msr == MSR_SYSENTER_CS) v = load<u64>(cpu + V_SYSENTER_CS);
  else if (msr == MSR_SYSENTER_ESP) v = load<u64>(cpu + V_SYSENTER_ESP);
  else if (msr == MSR_SYSENTER_EIP) v = load<u64>(cpu + V_SYSENTER_EIP);
  else if (msr == MSR_MISC_ENABLE) v = load<u64>(cpu + V_MISC_ENABLE);
  else if (perfSlot(msr) >= 0) v = load<u64>(cpu + <u32>perfSlot(msr));
  else if (msr - MSR_MTRR_VAR < 16) v = load<u64>(cpu + V_MTRR_VAR + (msr - MSR_MTRR_VAR) * 8);
  else if (msr == MSR_PAT) v = load<u64>(cpu + V_PAT);
  else if (msr == MSR_MTRR_DEF_TYPE) v = load<u64>(cpu + V_MTRR_DEF_TYPE);
  else {
    const slot = mtrrFixedSlot(msr);
    if (slot < 0) { gp0(); return; }
    v = load<u64>(cpu + V_MTRR_FIXED + <u32>slot * 8);
  }
  setEdxEax(v);
}

/** 0F 30: WRMSR (CPL 0); unknown MSRs, read-only MSRs and reserved bits are #GP(0). */
export function wrmsr(): void {
  if (cpl != 0) { gp0(); return; }
  const msr = reg32(REG_ECX);
  const v = edxEax();
  if (msr == MSR_TSC) {
    // RDTSC then reads the value written, and counts on from it.
    tscWrite(v);
    apicTscChanged();
  } else if (msr == MSR_APIC_BASE) {
    // Base (bits 12-31), global enable (11); BSP (8) is read-only; the rest reserved.
    const r = apicBaseWrite(v);
    if (r < 0) { gp0(); return; }
    if (r > 0) {
      // The APIC page moved, appeared or disappeared: no TLB entry may cover it.
      flushTlbAll(false);
      invalidateFetch();
    }
  } else if (msr == MSR_TSC_DEADLINE) {
    apicTscDeadlineWrite(v);
  } else if (msr == MSR_UCODE_REV) {
    // Writes (Linux writes 0 before reading the revision) are ignored.
  } else if (msr == MSR_SYSENTER_CS) {
    store<u64>(cpu + V_SYSENTER_CS, v & 0xffff);
  } else if (msr == MSR_SYSENTER_ESP) {
    store<u64>(cpu + V_SYSENTER_ESP, v & 0xffffffff); // a 32-bit CPU keeps the low half
  } else if (msr == MSR_SYSENTER_EIP) {
    store<u64>(cpu + V_SYSENTER_EIP, v & 0xffffffff);
  } else if (msr == MSR_MISC_ENABLE) {
    store<u64>(cpu + V_MISC_ENABLE, v);
  } else if (perfSlot(msr) >= 0) {
    // The counters are 40 bits wide on P6; event selects keep their 32 bits.
    store<u64>(cpu + <u32>perfSlot(msr), msr < MSR_EVNTSEL0 ? v & 0xffffffffff : v & 0xffffffff);
  } else if (msr - MSR_MTRR_VAR < 16) {
    // PHYSBASE: type in 7:0, base in 31:12. PHYSMASK: valid (11), mask in 31:12.
    if (msr & 1) {
      if ((v & ~(PHYS_MASK | 0x800)) != 0) { gp0(); return; }
    } else if ((v & ~(PHYS_MASK | 0xff)) != 0 || !mtrrType(<u32>v & 0xff)) {
      gp0(); return;
    }
    store<u64>(cpu + V_MTRR_VAR + (msr - MSR_MTRR_VAR) * 8, v);
  } else if (msr == MSR_PAT) {
    if (!patValid(v)) { gp0(); return; }
    store<u64>(cpu + V_PAT, v);
  } else if (msr == MSR_MTRR_DEF_TYPE) {
    // Type (7:0), fixed-range enable (10), MTRR enable (11).
    if ((v & ~(<u64>0xcff)) != 0 || !mtrrType(<u32>v & 0xff)) { gp0(); return; }
    store<u64>(cpu + V_MTRR_DEF_TYPE, v);
  } else {
    // MTRRcap is read-only; EFER and everything else do not exist on a Pentium III.
    const slot = mtrrFixedSlot(msr);
    if (slot < 0 || !mtrrTypes8(v)) { gp0(); return; }
    store<u64>(cpu + V_MTRR_FIXED + <u32>slot * 8, v);
  }
}

// --- CMPXCHG8B ----------------------------------------------------------------------

/**
 * 0F C7 /1: CMPXCHG8B m64. Equal to EDX:EAX: stores ECX:EBX, ZF = 1; else
 * loads EDX:EAX, ZF = 0, and (as real CPUs do) still writes the old value
 * back. Only ZF changes.
 */
export function cmpxchg8b(): void {
  const lin = segLinear(eaSeg, eaOff, 8, true);
  if (abortInsn) return;
  // A locked read-modify-write: faults as a write before anything is read.
  if (!probeWrite(lin, 8, cpl == 3)) return;
  const old = readLin<u64>(lin);
  if (abortInsn) return;
  const cmp = edxEax();
  const eq = old == cmp;
  writeLin<u64>(lin, eq ? (<u64>reg32(REG_ECX) << 32) | <u64>reg32(REG_EBX) : old);
  if (abortInsn) return;
  if (!eq) setEdxEax(old);
  setFlagsPartial(FLAG_ZF, eq ? FLAG_ZF : 0);
}
