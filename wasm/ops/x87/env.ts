// x87 control instructions: FNINIT, FNCLEX, FLDCW, FNSTCW, FNSTSW, and the
// environment and state images of FNSTENV/FLDENV/FNSAVE/FRSTOR in their four
// layouts (SDM Vol. 1, figures 8-9 to 8-12: 32- or 16-bit operand size, by
// the operand-size attribute; protected or real-address mode, virtual-8086
// mode using the real-mode one), plus the power-up state.
import {
  V_FPU, FPU_FCW, FPU_FOP, FPU_FIP, FPU_FCS, FPU_FDP, FPU_FDS, FPU_MXCSR, FPU_MXCSR_MASK,
  MXCSR_DEFAULT, MXCSR_MASK_VALUE, FCW_DEFAULT, REG_EAX,
} from '../../abi';
import { cpu, abortInsn, opsize32, protMode, v86Mode, setReg16 } from '../../cpu/state';
import { eaSeg, eaOff } from '../../cpu/decode';
import { readMem, writeMem } from '../../cpu/operand';
import {
  fcw, fsw, setFsw, setTagByte, regAddr, FSW_ES, FSW_B, FSW_SF, FSW_FLAGS, FSW_TOP_SHIFT,
} from './regs';
import { refreshErrorSummary, clearIgnne } from './status';
import { fullTagWord, abridgedFromTagWord } from './classify';
import { probeOperand } from './memops';

/** Control word bits that are stored: the masks, PC, RC and the (inert) infinity control; bit 6 reads as 1. */
const FCW_WRITABLE: u32 = 0x1f3f;
const FCW_RESERVED_ONE: u32 = 0x0040;
/** The control word after power-up or RESET (SDM Vol. 3, table 9-1); FNINIT gives FCW_DEFAULT. */
const FCW_POWER_UP: u32 = 0x0040;

@inline function area(): usize {
  return cpu + V_FPU;
}

/** The FPU area up to and including the IGNNE# word (0x1F0). */
const FPU_AREA_SIZE: usize = 0x200;

/** Power-up / RESET state (SDM Vol. 3, table 9-1): FCW 0040H, FSW 0, tag word 5555H (every register a valid +0.0), pointers 0. */
export function fpuReset(): void {
  const a = area();
  memory.fill(a, 0, FPU_AREA_SIZE);
  store<u16>(a + FPU_FCW, <u16>FCW_POWER_UP);
  setTagByte(0xff);
  store<u32>(a + FPU_MXCSR, MXCSR_DEFAULT);
  store<u32>(a + FPU_MXCSR_MASK, MXCSR_MASK_VALUE);
}

/** FNINIT (SDM FINIT): FCW 037FH, FSW 0, all registers empty, pointers and opcode 0; registers keep their values. */
export function fninit(): void {
  const a = area();
  store<u16>(a + FPU_FCW, <u16>FCW_DEFAULT);
  setFsw(0);
  setTagByte(0);
  store<u16>(a + FPU_FOP, 0);
  store<u32>(a + FPU_FIP, 0);
  store<u16>(a + FPU_FCS, 0);
  store<u32>(a + FPU_FDP, 0);
  store<u16>(a + FPU_FDS, 0);
  clearIgnne();
}

/** FNCLEX: the exception flags, SF, ES and B cleared; C0-C3 and TOP unchanged. */
export function fnclex(): void {
  setFsw(fsw() & ~(FSW_FLAGS | FSW_SF | FSW_ES | FSW_B));
  clearIgnne();
}

@inline function setFcw(v: u32): void {
  store<u16>(area() + FPU_FCW, <u16>((v & FCW_WRITABLE) | FCW_RESERVED_ONE));
}

/** FLDCW m16: unmasking a flag that is set makes the error pending (ES) for the next waiting instruction. */
export function fldcw(): void {
  const v = readMem<u16>(eaSeg, eaOff);
  if (abortInsn) return;
  setFcw(v);
  refreshErrorSummary();
}

export function fnstcw(): void {
  writeMem<u16>(eaSeg, eaOff, <u16>fcw());
}

/** FNSTSW m16, or AX (DF E0). */
export function fnstsw(toAx: bool): void {
  if (toAx) setReg16(REG_EAX, <u16>fsw());
  else writeMem<u16>(eaSeg, eaOff, <u16>fsw());
}

// --- environment images ------------------------------------------------------------------

/** Bytes of the environment image: 28 (32-bit operand size) or 14. */
@inline function envSize(): u32 {
  return opsize32 ? 28 : 14;
}
/** The real-mode layouts (real-address and virtual-8086 mode) hold linear pointers instead of selector:offset. */
@inline function realLayout(): bool {
  return !protMode || v86Mode;
}

/** The unused upper halves of 32-bit image fields read as ones on Intel parts. */
const RESERVED_HIGH: u32 = 0xffff0000;

/** Writes the environment image at the operand address. */
function storeEnv(): void {
  const a = area();
  const tw = fullTagWord();
  const op = <u32>load<u16>(a + FPU_FOP) & 0x7ff;
  const ip = load<u32>(a + FPU_FIP);
  const cs = <u32>load<u16>(a + FPU_FCS);
  const dp = load<u32>(a + FPU_FDP);
  const ds = <u32>load<u16>(a + FPU_FDS);
  const real = realLayout();
  // Real mode stores the linear addresses of the instruction and the operand.
  const linIp = (cs << 4) + ip;
  const linDp = (ds << 4) + dp;
  if (opsize32) {
    put32(0, RESERVED_HIGH | fcw());
    put32(4, RESERVED_HIGH | fsw());
    put32(8, RESERVED_HIGH | tw);
    if (real) {
      put32(12, RESERVED_HIGH | (linIp & 0xffff));
      put32(16, ((linIp >> 16) << 12) | op);
      put32(20, RESERVED_HIGH | (linDp & 0xffff));
      put32(24, (linDp >> 16) << 12);
    } else {
      put32(12, ip);
      put32(16, cs | (op << 16));
      put32(20, dp);
      put32(24, RESERVED_HIGH | ds);
    }
  } else {
    put16(0, fcw());
    put16(2, fsw());
    put16(4, tw);
    if (real) {
      put16(6, linIp);
      put16(8, ((linIp >> 16) << 12) | op);
      put16(10, linDp);
      put16(12, (linDp >> 16) << 12);
    } else {
      put16(6, ip);
      put16(8, cs);
      put16(10, dp);
      put16(12, ds);
    }
  }
}

@inline function put32(at: u32, v: u32): void {
  if (!abortInsn) writeMem<u32>(eaSeg, eaOff + at, v);
}
@inline function put16(at: u32, v: u32): void {
  if (!abortInsn) writeMem<u16>(eaSeg, eaOff + at, <u16>v);
}
@inline function get32(at: u32): u32 {
  return abortInsn ? 0 : readMem<u32>(eaSeg, eaOff + at);
}
@inline function get16(at: u32): u32 {
  return abortInsn ? 0 : <u32>readMem<u16>(eaSeg, eaOff + at);
}

// The environment read by FLDENV/FRSTOR, held until every read succeeded.
let envFcw: u32 = 0;
let envFsw: u32 = 0;
let envTw: u32 = 0;
let envOp: u32 = 0;
let envIp: u32 = 0;
let envCs: u32 = 0;
let envDp: u32 = 0;
let envDs: u32 = 0;
let envHasOp = false;

function readEnv(): void {
  const real = realLayout();
  envHasOp = true;
  if (opsize32) {
    envFcw = get32(0) & 0xffff;
    envFsw = get32(4) & 0xffff;
    envTw = get32(8) & 0xffff;
    const w12 = get32(12);
    const w16 = get32(16);
    const w20 = get32(20);
    const w24 = get32(24);
    if (real) {
      envIp = (w12 & 0xffff) | (((w16 >> 12) & 0xffff) << 16);
      envOp = w16 & 0x7ff;
      envDp = (w20 & 0xffff) | (((w24 >> 12) & 0xffff) << 16);
      envCs = 0;
      envDs = 0;
    } else {
      envIp = w12;
      envCs = w16 & 0xffff;
      envOp = (w16 >> 16) & 0x7ff;
      envDp = w20;
      envDs = w24 & 0xffff;
    }
  } else {
    envFcw = get16(0);
    envFsw = get16(2);
    envTw = get16(4);
    const w6 = get16(6);
    const w8 = get16(8);
    const w10 = get16(10);
    const w12 = get16(12);
    if (real) {
      envIp = w6 | ((w8 >> 12) << 16);
      envOp = w8 & 0x7ff;
      envDp = w10 | ((w12 >> 12) << 16);
      envCs = 0;
      envDs = 0;
    } else {
      // The 16-bit protected-mode image has no opcode: FOP keeps its value.
      envIp = w6;
      envCs = w8;
      envDp = w10;
      envDs = w12;
      envHasOp = false;
    }
  }
}

function commitEnv(): void {
  const a = area();
  setFcw(envFcw);
  setFsw(envFsw);
  setTagByte(abridgedFromTagWord(envTw));
  if (envHasOp) store<u16>(a + FPU_FOP, <u16>envOp);
  store<u32>(a + FPU_FIP, envIp);
  store<u16>(a + FPU_FCS, <u16>envCs);
  store<u32>(a + FPU_FDP, envDp);
  store<u16>(a + FPU_FDS, <u16>envDs);
  refreshErrorSummary();
}

/**
 * FNSTENV: stores the environment, then masks every exception (SDM
 * FSTENV). With everything masked no error is pending any more: ES and B
 * clear as after FLDCW (the CPU does so; the flags stay).
 */
export function fnstenv(): void {
  if (!probeOperand(envSize(), true)) return;
  storeEnv();
  if (abortInsn) return;
  setFcw(fcw() | 0x3f);
  refreshErrorSummary();
}

export function fldenv(): void {
  if (!probeOperand(envSize(), false)) return;
  readEnv();
  if (abortInsn) return;
  commitEnv();
}

/** FNSAVE: the environment and ST(0)..ST(7) (10 bytes each, stack order), then FNINIT. */
export function fnsave(): void {
  const size = envSize();
  if (!probeOperand(size + 80, true)) return;
  storeEnv();
  const t = (fsw() >> FSW_TOP_SHIFT) & 7;
  for (let i: u32 = 0; i < 8 && !abortInsn; i++) {
    const r = regAddr((t + i) & 7);
    // Five 16-bit pieces: the image is only 2-byte aligned, and this part is never alignment-checked.
    for (let k: u32 = 0; k < 5; k++) put16(size + i * 10 + k * 2, load<u16>(r + k * 2));
  }
  if (abortInsn) return;
  fninit();
}

/**
 * FRSTOR: the whole image is checked first, so no fault can stop it half
 * way; the registers go straight to their slots (by the TOP of the image's
 * status word), then the environment is committed. An MMIO exit in between
 * restarts it, and the replay reads the same bytes again.
 */
export function frstor(): void {
  const size = envSize();
  if (!probeOperand(size + 80, false)) return;
  readEnv();
  if (abortInsn) return;
  const t = (envFsw >> FSW_TOP_SHIFT) & 7;
  for (let i: u32 = 0; i < 8; i++) {
    const r = regAddr((t + i) & 7);
    for (let k: u32 = 0; k < 5; k++) {
      const v = get16(size + i * 10 + k * 2);
      if (abortInsn) return;
      store<u16>(r + k * 2, <u16>v);
    }
  }
  commitEnv();
}
