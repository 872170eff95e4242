// Multiplication and division: MUL, IMUL (one, two and three operands), DIV
// and IDIV. The accumulator pair is AX (8-bit: AH:AL), DX:AX or EDX:EAX;
// the arithmetic is done in 64 bits, which holds every product and dividend.
// DIV and IDIV leave the flags (all undefined) unchanged, as Intel CPUs do.
import { REG_EAX, REG_EDX, EXC_DE } from '../abi';
import { abortInsn, getReg, setReg, setReg8, setFault, bitsOf } from '../cpu/state';
import { fetchImm, fetchS8 } from '../cpu/decode';
import { readE, readG, writeG } from '../cpu/operand';
import { setLazyResult, setFlagsPartial } from '../cpu/flags';
import { FLAG_CF, FLAG_OF, FLAG_ZF } from '../abi';

/**
 * Flags of a multiplication: CF = OF = `overflow` (the product does not fit
 * the destination). SF, ZF, AF and PF are undefined in the SDM; Intel CPUs
 * (measured) set SF and PF from the low half and clear ZF and AF.
 */
@inline function mulFlags<T>(lo: T, overflow: bool): void {
  setLazyResult<T>(lo, overflow ? FLAG_CF | FLAG_OF : 0);
  setFlagsPartial(FLAG_ZF, 0);
}

/** Sign-extends the n-bit value v to 64 bits. */
@inline function sext<T>(v: T): i64 {
  if (sizeof<T>() == 1) return <i64><i8>v;
  if (sizeof<T>() == 2) return <i64><i16>v;
  return <i64><i32>v;
}

/** Stores a double-width result: AX for 8-bit operands, else DX:AX / EDX:EAX. */
@inline function setAccPair<T>(v: u64): void {
  if (sizeof<T>() == 1) {
    setReg<u16>(REG_EAX, <u16>v);
  } else {
    setReg<T>(REG_EAX, <T>v);
    setReg<T>(REG_EDX, <T>(v >> bitsOf<T>()));
  }
}

/** The double-width dividend: AX, DX:AX or EDX:EAX. */
@inline function accPair<T>(): u64 {
  if (sizeof<T>() == 1) return <u64>getReg<u16>(REG_EAX);
  return (<u64>getReg<T>(REG_EDX) << bitsOf<T>()) | <u64>getReg<T>(REG_EAX);
}

/** F6/F7 /4: unsigned multiply of the accumulator. */
export function mul<T>(): void {
  const s = readE<T>();
  if (abortInsn) return;
  const p = <u64>getReg<T>(REG_EAX) * <u64>s;
  setAccPair<T>(p);
  mulFlags<T>(<T>p, (p >> bitsOf<T>()) != 0);
}

/** F6/F7 /5: signed multiply of the accumulator. */
export function imul1<T>(): void {
  const s = readE<T>();
  if (abortInsn) return;
  const p = sext<T>(getReg<T>(REG_EAX)) * sext<T>(s);
  setAccPair<T>(<u64>p);
  mulFlags<T>(<T>p, sext<T>(<T>p) != p);
}

@inline function imulTo<T>(a: T, b: T): void {
  const p = sext<T>(a) * sext<T>(b);
  writeG<T>(<T>p);
  mulFlags<T>(<T>p, sext<T>(<T>p) != p);
}

/** 0F AF: IMUL Gv,Ev. */
export function imulGE<T>(): void {
  const s = readE<T>();
  if (abortInsn) return;
  imulTo<T>(readG<T>(), s);
}

/** 69 / 6B: IMUL Gv,Ev,imm (imm8 sign-extended for 6B). The immediate follows the ModRM bytes. */
export function imulGEI<T>(imm8: bool): void {
  const imm = imm8 ? <T>fetchS8() : <T>fetchImm<T>();
  if (abortInsn) return;
  const s = readE<T>();
  if (abortInsn) return;
  imulTo<T>(s, imm);
}

/** F6/F7 /6: unsigned divide; #DE on a zero divisor or a quotient that does not fit. */
export function div<T>(): void {
  const s = <u64>readE<T>();
  if (abortInsn) return;
  if (s == 0) { setFault(EXC_DE, 0, false); return; }
  const n = accPair<T>();
  const q = n / s;
  if ((q >> bitsOf<T>()) != 0) { setFault(EXC_DE, 0, false); return; }
  const r = n % s;
  storeQuotient<T>(q, r);
}

/** F6/F7 /7: signed divide; the quotient truncates toward zero, the remainder has the dividend's sign. */
export function idiv<T>(): void {
  const s = sext<T>(readE<T>());
  if (abortInsn) return;
  if (s == 0) { setFault(EXC_DE, 0, false); return; }
  let n: i64;
  if (sizeof<T>() == 1) n = <i64><i16>getReg<u16>(REG_EAX);
  else if (sizeof<T>() == 2) n = <i64><i32><u32>accPair<T>();
  else n = <i64>accPair<T>();
  let q: i64;
  let r: i64;
  if (s == -1) {
    // n / -1 without the i64 overflow trap of -2^63 / -1 (which is #DE anyway).
    q = -n;
    r = 0;
  } else {
    q = n / s;
    r = n % s;
  }
  if (sext<T>(<T>q) != q || (s == -1 && n == i64.MIN_VALUE)) { setFault(EXC_DE, 0, false); return; }
  storeQuotient<T>(<u64>q, <u64>r);
}

/** AL = quotient, AH = remainder (8-bit); else AX/EAX = quotient, DX/EDX = remainder. */
@inline function storeQuotient<T>(q: u64, r: u64): void {
  if (sizeof<T>() == 1) {
    setReg8(0, <u8>q);
    setReg8(4, <u8>r);
  } else {
    setReg<T>(REG_EAX, <T>q);
    setReg<T>(REG_EDX, <T>r);
  }
}
