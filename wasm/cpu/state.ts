// Access to the current vCPU's block, and the per-run caches derived from it.
//
// Architectural state lives only in the vCPU block (offsets in abi.ts). The
// module globals below are either the base of the block being run, caches
// recomputed from the block by refreshMode(), or scratch for the instruction
// being executed. run() writes back everything (EIP) before it returns, so a
// vCPU can move between instances of this module between runs.
import {
  V_GPR, V_RIP, V_CR0, V_CR4, V_CPL, V_SEGS, SEG_SIZE, SEG_ATTR, SEG_BASE, SEG_CS, SEG_SS,
  CR0_PE, CR0_PG, CR0_AM, FLAG_AC, TLB_MISS_SET, FLAG_VM, V_FLAGS, V_TLB, TLB_SET_SIZE, ATTR_D,
} from '../abi';

/** Base address of the vCPU block being run. */
export let cpu: u32 = 0;
/** EIP of the vCPU, cached during run(). */
export let eip: u32 = 0;
/** EIP of the first byte of the instruction being executed (faults restart here). */
export let insnStart: u32 = 0;

// Mode caches (refreshMode()).
export let protMode = false; // CR0.PE
export let v86Mode = false; // EFLAGS.VM
export let paging = false; // CR0.PG
export let code32 = false; // CS.D: default operand and address size
export let stack32 = false; // SS.B: ESP or SP
export let cpl: u32 = 0;
export let tlbBase: u32 = 0; // TLB set for the current CPL
export let alignCheck = false; // #AC on misaligned CPL 3 accesses
export let csBase: u32 = 0;

// Prefix/decoder scratch for the current instruction.
export let opsize32 = false;
export let addr32 = false;
export let segOverride: i32 = -1;
export let repPrefix: i32 = 0; // 0, 0xF2 (REPNE) or 0xF3 (REP/REPE)
export let lockPrefix = false;

/**
 * Set when the current instruction must stop: a guest exception is pending
 * (faultVector >= 0) or the VMM must be asked something (exitReason != 0).
 * Instruction handlers return as soon as they see it, before committing
 * anything, so the instruction can be restarted from insnStart.
 */
export let abortInsn = false;
export let faultVector: i32 = -1;
export let faultError: u32 = 0;
export let faultHasError = false;
export let pendingExit: u32 = 0;
/** An exit to take once the current instruction has completed (HLT, exception exits of traps). */
export let exitAfter: u32 = 0;
/** Instructions retired in the current run() slice; V_ICOUNT + this = instructions so far. */
export let sliceRetired: u64 = 0;
/**
 * run() re-examines timers and pending events when sliceRetired reaches this
 * (at most the slice budget; the instruction at which the APIC timer fires).
 * kickLoop() makes that happen at the next instruction boundary: anything
 * that changes what may be pending (APIC registers, timers) calls it, so the
 * loop's per-instruction cost stays one compare.
 */
export let loopCheckAt: u64 = 0;
@inline export function kickLoop(): void { loopCheckAt = 0; }
/** Count of IO/MMIO accesses made by the current instruction (replay log index). */
export let accessIndex: u32 = 0;

export function setPendingExit(r: u32): void { pendingExit = r; abortInsn = true; }
export function setFault(vector: i32, error: u32, hasError: bool): void {
  faultVector = vector; faultError = error; faultHasError = hasError; abortInsn = true;
}
export function clearFault(): void { faultVector = -1; faultHasError = false; abortInsn = false; pendingExit = 0; }

/**
 * Recomputes the mode caches after CR0, EFLAGS.VM, CS, SS or CPL change.
 * Also ends run()'s inner loop at the next boundary (kickLoop): the loop
 * keeps the prefix defaults of the current CS.D between instructions.
 */
export function refreshMode(): void {
  kickLoop();
  const cr0 = load<u32>(cpu, V_CR0);
  protMode = (cr0 & CR0_PE) != 0;
  paging = protMode && (cr0 & CR0_PG) != 0;
  v86Mode = protMode && (load<u32>(cpu, V_FLAGS) & FLAG_VM) != 0;
  const csAttr = load<u32>(cpu + V_SEGS + SEG_CS * SEG_SIZE + SEG_ATTR);
  const ssAttr = load<u32>(cpu + V_SEGS + SEG_SS * SEG_SIZE + SEG_ATTR);
  // Real mode keeps whatever D bit the cache holds (32-bit "unreal" code is possible).
  code32 = !v86Mode && (csAttr & ATTR_D) != 0;
  stack32 = !v86Mode && (ssAttr & ATTR_D) != 0;
  cpl = load<u32>(cpu, V_CPL);
  csBase = <u32>load<u64>(cpu + V_SEGS + SEG_CS * SEG_SIZE + SEG_BASE);
  // Alignment checking applies to CPL 3 data accesses with CR0.AM and EFLAGS.AC.
  alignCheck = cpl == 3 && (cr0 & CR0_AM) != 0 && (load<u32>(cpu, V_FLAGS) & FLAG_AC) != 0;
  tlbBase = cpu + V_TLB + (alignCheck ? TLB_MISS_SET * TLB_SET_SIZE : cpl == 3 ? TLB_SET_SIZE : 0);
}

// --- registers -------------------------------------------------------------
// 8-bit register numbers 0-3 are AL CL DL BL, 4-7 are AH CH DH BH.

@inline export function reg8(r: u32): u8 {
  return load<u8>(cpu + ((r & 3) << 3) + (r >> 2), V_GPR);
}
@inline export function setReg8(r: u32, v: u8): void {
  store<u8>(cpu + ((r & 3) << 3) + (r >> 2), v, V_GPR);
}
@inline export function reg16(r: u32): u16 {
  return load<u16>(cpu + (r << 3), V_GPR);
}
@inline export function setReg16(r: u32, v: u16): void {
  store<u16>(cpu + (r << 3), v, V_GPR);
}
@inline export function reg32(r: u32): u32 {
  return load<u32>(cpu + (r << 3), V_GPR);
}
@inline export function setReg32(r: u32, v: u32): void {
  store<u32>(cpu + (r << 3), v, V_GPR);
}

/** Register of width T (u8, u16 or u32). */
@inline export function getReg<T>(r: u32): T {
  if (sizeof<T>() == 1) return <T>reg8(r);
  if (sizeof<T>() == 2) return <T>reg16(r);
  return <T>reg32(r);
}
@inline export function setReg<T>(r: u32, v: T): void {
  if (sizeof<T>() == 1) setReg8(r, <u8>v);
  else if (sizeof<T>() == 2) setReg16(r, <u16>v);
  else setReg32(r, <u32>v);
}

@inline export function storeEip(): void {
  store<u64>(cpu, <u64>eip, V_RIP);
}
@inline export function loadEip(): void {
  eip = <u32>load<u64>(cpu, V_RIP);
}

@inline export function segBase(seg: i32): u32 {
  return load<u32>(cpu + seg * SEG_SIZE, V_SEGS + SEG_BASE);
}

/** Width in bits of type T. */
@inline export function bitsOf<T>(): u32 {
  return <u32>sizeof<T>() << 3;
}
