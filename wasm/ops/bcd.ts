// Decimal adjust instructions: DAA DAS AAA AAS AAM AAD, and SALC.
// Flags the SDM leaves undefined take the values Intel CPUs produce
// (measured natively, test vectors in test/fixtures/vectors/).
import { REG_EAX, FLAG_CF, FLAG_AF, FLAG_OF, EXC_DE, LF_ADD } from '../abi';
import { abortInsn, reg8, setReg8, reg16, setReg16, setFault } from '../cpu/state';
import { getCF, getAF, setLazyResult, setLazyArith } from '../cpu/flags';
import { fetch8 } from '../cpu/decode';

const AL: u32 = 0;
const AH: u32 = 4;

/** 27: DAA. */
export function daa(): void {
  const old = <u32>reg8(AL);
  const oldCF = getCF();
  let al = old;
  let cf = false;
  let af = false;
  if ((old & 0xf) > 9 || getAF()) {
    al = (al + 6) & 0xff;
    cf = oldCF || old > 0xf9;
    af = true;
  }
  if (old > 0x99 || oldCF) {
    al = (al + 0x60) & 0xff;
    cf = true;
  } else {
    cf = false;
  }
  setReg8(AL, <u8>al);
  const ovf = false; // undefined: Intel CPUs clear it (measured)
  setLazyResult<u8>(<u8>al, (cf ? FLAG_CF : 0) | (af ? FLAG_AF : 0) | (ovf ? FLAG_OF : 0));
}

/** 2F: DAS. */
export function das(): void {
  const old = <u32>reg8(AL);
  const oldCF = getCF();
  let al = old;
  let cf = false;
  let af = false;
  if ((old & 0xf) > 9 || getAF()) {
    al = (al - 6) & 0xff;
    cf = oldCF || old < 6;
    af = true;
  }
  if (old > 0x99 || oldCF) {
    al = (al - 0x60) & 0xff;
    cf = true;
  }
  setReg8(AL, <u8>al);
  const ovf = false; // undefined: Intel CPUs clear it (measured)
  setLazyResult<u8>(<u8>al, (cf ? FLAG_CF : 0) | (af ? FLAG_AF : 0) | (ovf ? FLAG_OF : 0));
}

/** 37: AAA (AX += 0x106 when adjusting, as P6 and later do). */
export function aaa(): void {
  let ax = <u32>reg16(REG_EAX);
  const adjust = (ax & 0xf) > 9 || getAF();
  if (adjust) ax += 0x106;
  ax = (ax & 0xff0f);
  setReg16(REG_EAX, <u16>ax);
  setLazyResult<u8>(<u8>ax, adjust ? FLAG_CF | FLAG_AF : 0);
}

/** 3F: AAS. */
export function aas(): void {
  let ax = <u32>reg16(REG_EAX);
  const adjust = (ax & 0xf) > 9 || getAF();
  if (adjust) ax = (ax - 6) - 0x100;
  ax = (ax & 0xff0f);
  setReg16(REG_EAX, <u16>ax);
  setLazyResult<u8>(<u8>ax, adjust ? FLAG_CF | FLAG_AF : 0);
}

/** D4 ib: AAM; a base of 0 is #DE. */
export function aam(): void {
  const base = fetch8();
  if (abortInsn) return;
  if (base == 0) { setFault(EXC_DE, 0, false); return; }
  const al = <u32>reg8(AL);
  const q = al / base;
  const r = al % base;
  setReg8(AH, <u8>q);
  setReg8(AL, <u8>r);
  setLazyResult<u8>(<u8>r, 0);
}

/** D5 ib: AAD. The flags are those of the 8-bit ADD AL, AH*base (CF AF OF undefined in the SDM; measured). */
export function aad(): void {
  const base = fetch8();
  if (abortInsn) return;
  const a = reg8(AL);
  const b = <u8>(<u32>reg8(AH) * base);
  const al: u8 = a + b;
  setReg16(REG_EAX, <u16>al);
  setLazyArith<u8>(LF_ADD, a, b, al);
}

/** D6: SALC (undocumented): AL = CF ? 0xFF : 0; no flag changes. */
export function salc(): void {
  setReg8(AL, getCF() ? 0xff : 0);
}
