// Bit test and scan: BT BTS BTR BTC (register bit offset and group 8
// immediate forms), BSF, BSR.
import { FLAG_CF, FLAG_ZF, FLAG_PF, FLAGS_ARITH } from '../abi';
import { abortInsn, addr32, bitsOf, getReg, setReg } from '../cpu/state';
import { fetch8, modrm, rmIsReg, eaOff, eaSeg, setEa } from '../cpu/decode';
import { readE, readEForWrite, writeBackE, readG, writeG } from '../cpu/operand';
import { setFlagsPartial } from '../cpu/flags';
import { raiseUD } from '../cpu/exec';

export const BT: u32 = 0;
export const BTS: u32 = 1;
export const BTR: u32 = 2;
export const BTC: u32 = 3;

/**
 * Tests bit `bit` of the E operand (already addressed), applies `kind` and
 * sets CF. Only CF changes: the other arithmetic flags keep their values
 * (the SDM leaves OF SF AF PF undefined; Intel CPUs leave them alone).
 */
@inline function bitOp<T>(kind: u32, bit: u32): void {
  const m = <T>1 << <T>bit;
  let v: T;
  if (kind == BT) {
    v = readE<T>();
    if (abortInsn) return;
  } else {
    v = readEForWrite<T>();
    if (abortInsn) return;
    let nv: T;
    if (kind == BTS) nv = v | m;
    else if (kind == BTR) nv = v & ~m;
    else nv = v ^ m;
    writeBackE<T>(nv);
    if (abortInsn) return;
  }
  setFlagsPartial(FLAG_CF, (v & m) != 0 ? FLAG_CF : 0);
}

/**
 * 0F A3/AB/B3/BB: BT* Ev,Gv. With a memory operand the bit offset in the
 * register is signed and may select a word/dword outside the addressed one:
 * the address moves by (offset >> 4) * 2 or (offset >> 5) * 4 (SDM "bit
 * base, bit offset"), wrapped to the address size.
 */
export function btEG<T>(kind: u32): void {
  const n = bitsOf<T>();
  const g = <u32>readG<T>();
  if (!rmIsReg) {
    const off: i32 = sizeof<T>() == 2 ? <i32><i16>g : <i32>g;
    let ea = eaOff + <u32>((off >> (sizeof<T>() == 2 ? 4 : 5)) * <i32>sizeof<T>());
    if (!addr32) ea &= 0xffff;
    setEa(eaSeg, ea);
  }
  bitOp<T>(kind, g & (n - 1));
}

/** 0F BA /4-7 ib: BT* Ev,imm8; the offset is taken modulo the operand size, the address never moves. */
export function group8<T>(): void {
  const r = (modrm >> 3) & 7;
  if (r < 4) {
    raiseUD();
    return;
  }
  const imm = fetch8();
  if (abortInsn) return;
  bitOp<T>(r - 4, imm & (bitsOf<T>() - 1));
}

/**
 * Flags of BSF/BSR (only ZF is defined): ZF = source is zero; Intel CPUs
 * (measured) clear CF OF SF AF and set PF from the result (0 for a zero
 * source).
 */
@inline function scanFlags(zero: bool, index: u32): void {
  let f: u32 = zero ? FLAG_ZF : 0;
  if ((popcnt<u32>(index & 0xff) & 1) == 0) f |= FLAG_PF;
  setFlagsPartial(FLAGS_ARITH, f);
}

/**
 * 0F BC: BSF. A zero source leaves the destination unchanged (what Intel
 * CPUs do; the SDM says undefined).
 */
export function bsf<T>(): void {
  const s = readE<T>();
  if (abortInsn) return;
  if (s == 0) {
    scanFlags(true, 0);
    return;
  }
  const i = ctz<u32>(<u32>s);
  writeG<T>(<T>i);
  scanFlags(false, i);
}

/** 0F BD: BSR (zero source as BSF). */
export function bsr<T>(): void {
  const s = readE<T>();
  if (abortInsn) return;
  if (s == 0) {
    scanFlags(true, 0);
    return;
  }
  const i = 31 - clz<u32>(<u32>s);
  writeG<T>(<T>i);
  scanFlags(false, i);
}
