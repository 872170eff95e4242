// Shifts and rotates (group 2: ROL ROR RCL RCR SHL SHR SAL SAR) and the
// double shifts SHLD/SHRD. One generic handler per form: the operand is
// zero-extended and the arithmetic is done in 32 or 64 bits.
//
// Flags the SDM leaves undefined (OF for counts > 1, AF, CF for 8/16-bit
// counts beyond the operand size) take the values the Intel CPU that
// recorded the native vectors produces (scripts/vectors/; measured against
// every count). The destination of a 16-bit SHLD/SHRD with a count > 16 is
// undefined too: P6 and later shift dst:src:dst, and so does this.
import { FLAG_CF, FLAG_OF, REG_ECX } from '../abi';
import { abortInsn, reg8, bitsOf } from '../cpu/state';
import { fetch8, modrm, rmIsReg } from '../cpu/decode';
import { readEForWrite, writeBackE, readG } from '../cpu/operand';
import { getCF, setLazyResult, setFlagsPartial } from '../cpu/flags';

export const COUNT_ONE: u32 = 0;
export const COUNT_CL: u32 = 1;
export const COUNT_IMM: u32 = 2;

const OF_SHIFT: u32 = 11; // FLAG_OF == 1 << 11

/** The shift count (masked to 5 bits); an imm8 follows the ModRM bytes. */
@inline function shiftCount(kind: u32): u32 {
  if (kind == COUNT_ONE) return 1;
  if (kind == COUNT_CL) return <u32>reg8(REG_ECX) & 0x1f;
  return fetch8() & 0x1f;
}

@inline function widthMask<T>(): u32 {
  return sizeof<T>() == 4 ? 0xffffffff : (<u32>1 << bitsOf<T>()) - 1;
}

/** C0/C1 (imm8), D0/D1 (1), D2/D3 (CL): the operation is ModRM.reg. */
export function group2<T>(kind: u32): void {
  const count = shiftCount(kind);
  if (abortInsn) return;
  const d = readEForWrite<T>();
  if (abortInsn) return;
  // A count of 0 changes neither the operand nor any flag.
  if (count == 0) return;
  const n = bitsOf<T>();
  const msb = n - 1;
  const mask = widthMask<T>();
  const v = <u32>d;
  const op = (modrm >> 3) & 7;
  let r: u32;
  let cf: u32;
  let ovf: u32;
  // OF: modern Intel CPUs compute it for every count as the count-1 formula
  // does, i.e. from the first one-bit step (measured; the SDM defines it for
  // count 1 only): SHL/SAL, ROL, RCL: MSB ^ next bit of the operand; SHR:
  // its MSB; SAR: 0; ROR: LSB ^ MSB; RCR: CF ^ MSB.
  if (op < 4) {
    // Rotates change only CF and OF. ROL/ROR rotate the n-bit operand by
    // count mod n (a multiple of n still sets CF and OF); RCL/RCR rotate the
    // n+1 bits CF:operand by count mod n+1 (the 5-bit count is below 33),
    // and a multiple of n+1 changes nothing, flags included. Over w bits a
    // right rotation by c is a left one by w - c.
    const carry = op >= 2;
    const right = (op & 1) != 0;
    const w = carry ? n + 1 : n;
    let c: u32;
    if (carry) {
      c = n == 32 ? count : count % (n + 1);
      if (c == 0) return;
    } else {
      c = count & msb;
    }
    const oldCF: u32 = carry && getCF() ? 1 : 0;
    const x = (<u64>oldCF << n) | <u64>v;
    const l = right && c != 0 ? w - c : c;
    const y = l == 0 ? x : ((x << l) | (x >> (w - l))) & ((<u64>1 << w) - 1);
    r = <u32>y & mask;
    // CF: the last bit rotated out of the operand (through CF for RCL/RCR);
    // OF: left, MSB ^ next bit; right, the bit entering the MSB ^ the MSB.
    if (carry) cf = <u32>(y >> n) & 1;
    else cf = right ? (r >> msb) & 1 : r & 1;
    if (right) ovf = ((carry ? oldCF : v) ^ (v >> msb)) & 1;
    else ovf = ((v >> msb) ^ (v >> (msb - 1))) & 1;
    writeBackE<T>(<T>r);
    if (abortInsn) return;
    // ROL/ROR of a register by an imm8 count other than 1 leave OF alone on
    // the Intel CPUs the vectors come from (measured; OF is undefined there).
    if (op < 2 && kind == COUNT_IMM && count != 1 && rmIsReg) setFlagsPartial(FLAG_CF, cf);
    else setFlagsPartial(FLAG_CF | FLAG_OF, cf | (ovf << OF_SHIFT));
    return;
  }
  if (op == 5) { // SHR
    r = v >> count;
    cf = (v >> (count - 1)) & 1;
    ovf = (v >> msb) & 1;
  } else if (op == 7) { // SAR
    const sv = (<i32>(v << (32 - n))) >> (32 - n); // sign-extended operand
    r = <u32>(sv >> count) & mask;
    cf = <u32>(sv >> (count - 1)) & 1;
    ovf = 0;
  } else { // SHL, SAL (/4 and /6)
    r = (v << count) & mask;
    cf = count <= n ? (v >> (n - count)) & 1 : 0;
    ovf = ((v >> msb) ^ (v >> (msb - 1))) & 1;
  }
  writeBackE<T>(<T>r);
  if (abortInsn) return;
  setLazyResult<T>(<T>r, cf | (ovf << OF_SHIFT));
}

/**
 * SHLD Ev,Gv,imm8/CL: dst:src shifted left, the upper half kept. The 16-bit
 * form with a count above 16 is undefined; P6 and later shift the 48 bits
 * dst:src:dst, which this reproduces.
 */
export function shld<T>(imm: bool): void {
  shiftDouble<T>(imm, false);
}

/** SHRD Ev,Gv,imm8/CL: the mirror image (src:dst shifted right, or dst:src:dst for 16 bits). */
export function shrd<T>(imm: bool): void {
  shiftDouble<T>(imm, true);
}

@inline function shiftDouble<T>(imm: bool, right: bool): void {
  const count = shiftCount(imm ? COUNT_IMM : COUNT_CL);
  if (abortInsn) return;
  const d = readEForWrite<T>();
  if (abortInsn) return;
  if (count == 0) return;
  const s = <u64>readG<T>();
  const n = bitsOf<T>();
  const msb = n - 1;
  const dv = <u64>d;
  // x: the bits shifted through, most significant first; w of them.
  let x: u64;
  let w: u32;
  if (n == 32) {
    x = right ? (s << 32) | dv : (dv << 32) | s;
    w = 64;
  } else {
    x = (dv << 32) | (s << 16) | dv;
    w = 48;
  }
  let r: u32;
  let cf: u32;
  let ovf: u32;
  // OF as for the first one-bit step (the count-1 rule, measured for all
  // counts): the MSB ^ the bit that becomes the MSB, bit 0 of the source for SHRD.
  if (right) {
    r = <u32>(x >> count) & widthMask<T>();
    cf = <u32>(x >> (count - 1)) & 1;
    ovf = ((<u32>dv >> msb) ^ <u32>s) & 1;
  } else {
    r = <u32>((x << count) >> (w - n)) & widthMask<T>();
    cf = <u32>(x >> (w - count)) & 1;
    ovf = ((<u32>dv >> msb) ^ (<u32>dv >> (msb - 1))) & 1;
  }
  writeBackE<T>(<T>r);
  if (abortInsn) return;
  setLazyResult<T>(<T>r, cf | (ovf << OF_SHIFT));
}
