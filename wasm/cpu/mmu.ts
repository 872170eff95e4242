// Physical memory map, paging and the software TLB.
//
// A TLB entry caches, for one linear page, a read tag, a write tag and the
// host addend (host address - linear address). A tag is the page's linear
// address when the access is allowed without further checks, or an odd value
// (never equal to a page address) when it is not. The hit test of an access
// of n bytes at `lin` is one load and one compare:
//     tag == ((lin + n - 1) & ~0xFFF)
// which also fails for an access that crosses into the next page, sending it
// to the slow path. Pages that are not RAM (MMIO, ROM writes) never get a
// valid tag, so every such access reaches the slow path and becomes an exit;
// a host address is only ever made from a RAM page, so the guest cannot reach
// the core's own memory. The local APIC's page (while the APIC is enabled)
// never gets a tag either: the slow paths hand it to apic.ts, in the core.
import {
  GLOBAL_BLOCK, G_RAM_SIZE, G_A20_MASK, G_ROM_ALIAS_BASE, G_ROM_ALIAS_SIZE, G_ROM_ALIAS_TARGET,
  G_MMIO_HOLE_START, G_MMIO_HOLE_END, RAM_BASE,
  V_TLB, TLB_ENTRIES, TLB_ENTRY_SIZE, TLB_SET_SIZE, V_CR0, V_CR2, V_CR3, V_CR4,
  CR0_WP, CR4_PSE, CR4_PGE, EXC_PF, EXC_AC, EXIT_MMIO, EXIT_IO,
  EXIT_REASON, EXIT_PORT, EXIT_SIZE, EXIT_WRITE, EXIT_ADDR, EXIT_DATA, RUN_MMIO_LOG,
} from '../abi';
import { cpu, tlbBase, paging, cpl, alignCheck, setFault, setPendingExit, accessIndex, abortInsn } from './state';
import { isApicPage, apicMmioRead, apicMmioWrite } from './apic';

const INVALID_TAG: u32 = 1;
const TLB_GLOBAL: u32 = 1; // spare word: entry maps a global page

// --- the physical map ---------------------------------------------------------

/** Host address of physical RAM byte `pa`, or -1 if `pa` is not RAM. */
@inline function ramHost(pa: u32): i64 {
  const g = GLOBAL_BLOCK;
  if (pa < load<u32>(g + G_RAM_SIZE) && !(pa >= load<u32>(g + G_MMIO_HOLE_START) && pa < load<u32>(g + G_MMIO_HOLE_END))) {
    return <i64>(RAM_BASE + pa);
  }
  return -1;
}

/** Host address for reading physical `pa` (RAM or the ROM alias), or -1. */
function physReadHost(pa: u32): i64 {
  const h = ramHost(pa);
  if (h >= 0) return h;
  const g = GLOBAL_BLOCK;
  const rb = load<u32>(g + G_ROM_ALIAS_BASE);
  if (rb != 0 && pa - rb < load<u32>(g + G_ROM_ALIAS_SIZE)) {
    return ramHost(load<u32>(g + G_ROM_ALIAS_TARGET) + (pa - rb));
  }
  return -1;
}

/** A physical address the guest may see: A20 applied. */
@inline export function a20(pa: u32): u32 {
  return pa & load<u32>(GLOBAL_BLOCK + G_A20_MASK);
}

// Physical accesses used by the page walker and descriptor-table code. They
// read zero / drop writes outside RAM (page tables in MMIO are not supported).
export function physRead32(pa: u32): u32 {
  const h = physReadHost(a20(pa));
  if (h < 0 || (pa & 3) != 0 && (pa & 0xfff) > 0xffc) return 0;
  return load<u32>(<usize>h);
}
export function physWrite32(pa: u32, v: u32): void {
  const h = ramHost(a20(pa));
  if (h >= 0 && (pa & 0xfff) <= 0xffc) store<u32>(<usize>h, v);
}

// --- the replay log for IO and MMIO -----------------------------------------
// An instruction that needs the VMM (a port or MMIO access) stops before it
// commits anything and exits; when run() is called again the instruction is
// executed again and the k-th access of the instruction is answered from the
// log. Writes therefore reach the VMM exactly once, and reads return what the
// VMM answered. The log is cleared when an instruction completes or faults.
const LOG_COUNT: u32 = RUN_MMIO_LOG;
const LOG_ENTRIES: u32 = RUN_MMIO_LOG + 16;
const LOG_MAX: u32 = 14;

/**
 * One IO or MMIO access. Returns the data of a read; sets pendingExit (and
 * returns 0) if the VMM must be asked first.
 */
export function vmmAccess(reason: u32, addr: u32, size: u32, write: bool, data: u64): u64 {
  const idx = accessIndex;
  const e = cpu + LOG_ENTRIES + idx * 16;
  if (idx < load<u32>(cpu + LOG_COUNT)) {
    accessIndex++;
    return write ? 0 : load<u64>(e, 8);
  }
  if (idx >= LOG_MAX) {
    // More device accesses in one instruction than the log holds: cannot happen
    // with x86 instructions (at most a few); treat as a machine check.
    setFault(18, 0, false);
    return 0;
  }
  store<u32>(e, reason | (size << 8) | (write ? 0x10000 : 0));
  store<u32>(e, addr, 4);
  store<u64>(e, write ? data : 0, 8);
  store<u32>(cpu + LOG_COUNT, idx + 1);
  store<u32>(cpu + EXIT_REASON, reason);
  store<u32>(cpu + EXIT_PORT, reason == EXIT_IO ? addr : 0);
  store<u64>(cpu + EXIT_ADDR, reason == EXIT_MMIO ? <u64>addr : 0);
  store<u32>(cpu + EXIT_SIZE, size);
  store<u32>(cpu + EXIT_WRITE, write ? 1 : 0);
  store<u64>(cpu + EXIT_DATA, write ? data : 0);
  setPendingExit(reason);
  return 0;
}

/** At run() entry: the answer to the last exit's read goes into the log. */
export function absorbExitData(): void {
  const n = load<u32>(cpu + LOG_COUNT);
  if (n == 0) return;
  const e = cpu + LOG_ENTRIES + (n - 1) * 16;
  if ((load<u32>(e) & 0x10000) == 0) {
    const size = (load<u32>(e) >> 8) & 0xff;
    let d = load<u64>(cpu + EXIT_DATA);
    if (size < 8) d &= (<u64>1 << (size * 8)) - 1;
    store<u64>(e, d, 8);
  }
}

export function clearLog(): void {
  store<u32>(cpu + LOG_COUNT, 0);
}

@inline export function logPending(): bool {
  return load<u32>(cpu + LOG_COUNT) != 0;
}

// --- TLB ---------------------------------------------------------------------

export function flushTlbAll(keepGlobal: bool): void {
  const start = cpu + V_TLB;
  // All three sets: the never-hit set is kept invalid by the same sweep.
  const end = start + 3 * TLB_SET_SIZE;
  for (let e = start; e < end; e += TLB_ENTRY_SIZE) {
    if (keepGlobal && load<u32>(e, 12) == TLB_GLOBAL) continue;
    store<u32>(e, INVALID_TAG);
    store<u32>(e, INVALID_TAG, 4);
    store<u32>(e, 0, 12);
  }
}

export function flushTlbPage(lin: u32): void {
  const off = ((lin >>> 12) & (TLB_ENTRIES - 1)) * TLB_ENTRY_SIZE;
  for (let set: u32 = 0; set < 2; set++) {
    const e = cpu + V_TLB + set * TLB_SET_SIZE + off;
    store<u32>(e, INVALID_TAG);
    store<u32>(e, INVALID_TAG, 4);
    store<u32>(e, 0, 12);
  }
}

// --- translation ----------------------------------------------------------------

// Result of translate(): physical address, or a fault already raised.
export let xlatPhys: u32 = 0;

const PTE_P: u32 = 1;
const PTE_RW: u32 = 2;
const PTE_US: u32 = 4;
const PTE_A: u32 = 0x20;
const PTE_D: u32 = 0x40;
const PDE_PS: u32 = 0x80;
const PTE_G: u32 = 0x100;

/**
 * Translates linear `lin` for an access by `user` (CPL 3 data access rules)
 * and fills the TLB. Returns false and raises #PF if not allowed.
 */
export function translate(lin: u32, write: bool, user: bool): bool {
  let pa: u32;
  let canWrite = true;
  let global = false;
  if (!paging) {
    pa = a20(lin);
  } else {
    const cr3 = load<u32>(cpu + V_CR3);
    const cr4 = load<u32>(cpu + V_CR4);
    const wp = (load<u32>(cpu + V_CR0) & CR0_WP) != 0;
    const pdeAddr = (cr3 & 0xfffff000) | ((lin >>> 20) & 0xffc);
    const pde = physRead32(pdeAddr);
    if (!(pde & PTE_P)) return pageFault(lin, 0, write, user);
    let pteAddr: u32 = 0;
    let eff: u32; // effective RW/US of the whole walk
    let leaf: u32;
    const big = (pde & PDE_PS) != 0 && (cr4 & CR4_PSE) != 0;
    if (big) {
      leaf = pde;
      eff = pde;
      pa = (pde & 0xffc00000) | (lin & 0x3fffff);
    } else {
      pteAddr = (pde & 0xfffff000) | ((lin >>> 10) & 0xffc);
      const pte = physRead32(pteAddr);
      if (!(pte & PTE_P)) return pageFault(lin, 0, write, user);
      leaf = pte;
      eff = pde & pte;
      pa = (pte & 0xfffff000) | (lin & 0xfff);
    }
    if (user && !(eff & PTE_US)) return pageFault(lin, 1, write, user);
    const rwOk = (eff & PTE_RW) != 0;
    if (write && !rwOk && (user || wp)) return pageFault(lin, 1, write, user);
    canWrite = rwOk || (!user && !wp);
    // Accessed and dirty bits are written back as the walk sets them.
    if (!(pde & PTE_A)) physWrite32(pdeAddr, pde | PTE_A);
    if (big) {
      let nl = leaf | PTE_A;
      if (write) nl |= PTE_D;
      if (nl != leaf) physWrite32(pdeAddr, nl);
      leaf = nl;
    } else {
      let nl = leaf | PTE_A;
      if (write) nl |= PTE_D;
      if (nl != leaf) physWrite32(pteAddr, nl);
      leaf = nl;
    }
    // A page stays writable in the TLB only once it is dirty, so the first
    // write to a clean page comes back here to set D.
    if (!(leaf & PTE_D)) canWrite = false;
    global = (leaf & PTE_G) != 0 && (cr4 & CR4_PGE) != 0;
    pa = a20(pa);
  }
  xlatPhys = pa;
  fillTlb(lin, pa, canWrite, user, global);
  return true;
}

function fillTlb(lin: u32, pa: u32, canWrite: bool, user: bool, global: bool): void {
  const off = ((lin >>> 12) & (TLB_ENTRIES - 1)) * TLB_ENTRY_SIZE;
  const e = cpu + V_TLB + (user ? TLB_SET_SIZE : 0) + off;
  const page = lin & 0xfffff000;
  const ppage = pa & 0xfffff000;
  const wh = ramHost(ppage);
  const rh = wh >= 0 ? wh : physReadHost(ppage);
  if (rh < 0 || isApicPage(ppage)) {
    // MMIO: never cached.
    store<u32>(e, INVALID_TAG);
    store<u32>(e, INVALID_TAG, 4);
    return;
  }
  // A page holding the MMIO hole's edge is not cached either.
  const hs = load<u32>(GLOBAL_BLOCK + G_MMIO_HOLE_START);
  const he = load<u32>(GLOBAL_BLOCK + G_MMIO_HOLE_END);
  if (he > hs && ppage + 0xfff >= hs && ppage < he) {
    store<u32>(e, INVALID_TAG);
    store<u32>(e, INVALID_TAG, 4);
    return;
  }
  store<u32>(e, page);
  store<u32>(e, canWrite && wh >= 0 ? page : INVALID_TAG, 4);
  store<u32>(e, <u32>rh - page, 8);
  store<u32>(e, global ? TLB_GLOBAL : 0, 12);
}

function pageFault(lin: u32, prot: u32, write: bool, user: bool): bool {
  store<u64>(cpu + V_CR2, <u64>lin);
  setFault(EXC_PF, prot | (write ? 2 : 0) | (user ? 4 : 0), true);
  return false;
}

// --- linear-address access ----------------------------------------------------

/** Whether data accesses at the current CPL use the user TLB / user checks. */
@inline export function userAccess(): bool {
  return cpl == 3;
}

@inline function tlbEntry(base: u32, lin: u32): u32 {
  return base + ((lin >>> 12) & (TLB_ENTRIES - 1)) * TLB_ENTRY_SIZE;
}

/** Reads a T at linear `lin` with the current privilege. */
@inline export function readLin<T>(lin: u32): T {
  const e = tlbEntry(tlbBase, lin);
  if (load<u32>(e) == ((lin + <u32>sizeof<T>() - 1) & 0xfffff000)) {
    return load<T>(<usize>(lin + load<u32>(e, 8)));
  }
  return readLinSlow<T>(lin, cpl == 3);
}

/** Writes a T at linear `lin` with the current privilege. */
@inline export function writeLin<T>(lin: u32, v: T): void {
  const e = tlbEntry(tlbBase, lin);
  if (load<u32>(e, 4) == ((lin + <u32>sizeof<T>() - 1) & 0xfffff000)) {
    store<T>(<usize>(lin + load<u32>(e, 8)), v);
    return;
  }
  writeLinSlow<T>(lin, v, cpl == 3);
}

/** Supervisor-privilege accesses (descriptor tables, TSS, IDT), whatever the CPL. */
export function readLinSys<T>(lin: u32): T {
  const e = tlbEntry(cpu + V_TLB, lin);
  if (load<u32>(e) == ((lin + <u32>sizeof<T>() - 1) & 0xfffff000)) {
    return load<T>(<usize>(lin + load<u32>(e, 8)));
  }
  return readLinSlow<T>(lin, false);
}
export function writeLinSys<T>(lin: u32, v: T): void {
  const e = tlbEntry(cpu + V_TLB, lin);
  if (load<u32>(e, 4) == ((lin + <u32>sizeof<T>() - 1) & 0xfffff000)) {
    store<T>(<usize>(lin + load<u32>(e, 8)), v);
    return;
  }
  writeLinSlow<T>(lin, v, false);
}

/**
 * Checks that a write of `size` bytes at `lin` would succeed (translation,
 * protection, dirty bit) without writing: instructions that write several
 * places (far calls, interrupt frames) probe first so they never half-commit.
 */
export function probeWrite(lin: u32, size: u32, user: bool): bool {
  const last = lin + size - 1;
  if (!probePage(lin, user)) return false;
  if ((last ^ lin) & 0xfffff000) return probePage(last & 0xfffff000, user);
  return true;
}
function probePage(lin: u32, user: bool): bool {
  const e = tlbEntry(cpu + V_TLB + (user ? TLB_SET_SIZE : 0), lin);
  if (load<u32>(e, 4) == (lin & 0xfffff000)) return true;
  return translate(lin, true, user);
}

function readLinSlow<T>(lin: u32, user: bool): T {
  const n = <u32>sizeof<T>();
  if (user && alignCheck && (lin & (n - 1)) != 0) { setFault(EXC_AC, 0, true); return <T>0; }
  if (((lin ^ (lin + n - 1)) & 0xfffff000) != 0) {
    // Crosses a page: byte by byte, both pages translated first.
    let v: u64 = 0;
    for (let i: u32 = 0; i < n; i++) {
      const b = readByteSlow(lin + i, user);
      if (abortInsn) return <T>0;
      v |= <u64>b << (i * 8);
    }
    return <T>v;
  }
  if (!translate(lin, false, user)) return <T>0;
  const pa = xlatPhys;
  if (isApicPage(pa)) return <T>apicMmioRead(pa & 0xfff, n);
  const h = physReadHost(pa);
  if (h >= 0) return load<T>(<usize>h);
  return <T>vmmAccess(EXIT_MMIO, pa, n, false, 0);
}

function readByteSlow(lin: u32, user: bool): u32 {
  if (!translate(lin, false, user)) return 0;
  if (isApicPage(xlatPhys)) return <u32>apicMmioRead(xlatPhys & 0xfff, 1);
  const h = physReadHost(xlatPhys);
  if (h >= 0) return load<u8>(<usize>h);
  return <u32>vmmAccess(EXIT_MMIO, xlatPhys, 1, false, 0);
}

function writeLinSlow<T>(lin: u32, v: T, user: bool): void {
  const n = <u32>sizeof<T>();
  if (user && alignCheck && (lin & (n - 1)) != 0) { setFault(EXC_AC, 0, true); return; }
  if (((lin ^ (lin + n - 1)) & 0xfffff000) != 0) {
    // Crosses a page: check both pages before writing anything.
    if (!translate(lin, true, user)) return;
    // A fault on the second page reports that page's first byte in CR2.
    if (!translate((lin + n - 1) & 0xfffff000, true, user)) return;
    const x = <u64>v;
    for (let i: u32 = 0; i < n; i++) {
      writeByteSlow(lin + i, <u8>(x >> (i * 8)), user);
      if (abortInsn) return;
    }
    return;
  }
  if (!translate(lin, true, user)) return;
  const pa = xlatPhys;
  if (isApicPage(pa)) {
    apicMmioWrite(pa & 0xfff, n, <u64>v);
    return;
  }
  const h = ramHost(pa);
  if (h >= 0) {
    store<T>(<usize>h, v);
    return;
  }
  if (physReadHost(pa) >= 0) return; // ROM: writes are ignored
  vmmAccess(EXIT_MMIO, pa, n, true, <u64>v);
}

function writeByteSlow(lin: u32, b: u8, user: bool): void {
  if (!translate(lin, true, user)) return;
  if (isApicPage(xlatPhys)) return; // byte writes to APIC registers are ignored
  const h = ramHost(xlatPhys);
  if (h >= 0) {
    store<u8>(<usize>h, b);
    return;
  }
  if (physReadHost(xlatPhys) >= 0) return;
  vmmAccess(EXIT_MMIO, xlatPhys, 1, true, <u64>b);
}

export function setCr2(v: u32): void {
  store<u64>(cpu + V_CR2, <u64>v);
}
