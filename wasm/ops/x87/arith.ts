// FADD, FMUL, FSUB, FSUBR, FDIV, FDIVR in all their forms (D8, DC, DE, DA
// and the memory operands of each).
//
// Every form computes ST(0) op source or source op ST(0) and writes one
// register; the ModRM reg field says which (SDM Vol. 2, the FSUB/FSUBR and
// FDIV/FDIVR tables): with x = ST(0) and y = the other operand,
//   0: x + y   1: x * y   4: x - y   5: y - x   6: x / y   7: y / x
// whether the destination is ST(0) (D8, memory forms) or ST(i) (DC, DE).
import {
  f80Add, f80Mul, f80Div, f80ResultSe, f80ResultSig, fpFlags,
} from '../../fp/softfloat';
import { phys, isEmpty, regSe, regSig, writeReg, writeIndefinite, popStack } from './regs';
import { stackUnderflow, screenFlags } from './status';
import { srcSe, srcSig } from './memops';

const OP_ADD: u32 = 0;
const OP_SUB: u32 = 1;
const OP_MUL: u32 = 2;
const OP_DIV: u32 = 3;

/** The softfloat operation a op b. */
function compute(op: u32, aSe: u32, aSig: u64, bSe: u32, bSig: u64): void {
  switch (op) {
    case OP_ADD: f80Add(aSe, aSig, bSe, bSig, false); break;
    case OP_SUB: f80Add(aSe, aSig, bSe, bSig, true); break;
    case OP_MUL: f80Mul(aSe, aSig, bSe, bSig); break;
    default: f80Div(aSe, aSig, bSe, bSig); break;
  }
}

/**
 * ST(dest) = ST(0) `reg` source, the source being srcSe/srcSig (a memory
 * operand or a register; `srcEmpty` when that register is empty). `pop`
 * for the P forms. beginOp(true) was called before the source was loaded.
 */
export function arith(reg: u32, dest: u32, srcEmpty: bool, pop: bool): void {
  const p0 = phys(0);
  const pd = phys(dest);
  if (srcEmpty || isEmpty(p0)) {
    if (stackUnderflow()) {
      writeIndefinite(pd);
      if (pop) popStack();
    }
    return;
  }
  // FSUBR/FDIVR (5, 7) swap the operands.
  const swap = reg == 5 || reg == 7;
  const op = reg == 0 ? OP_ADD : reg == 1 ? OP_MUL : reg < 6 ? OP_SUB : OP_DIV;
  const xSe = regSe(p0);
  const xSig = regSig(p0);
  const aSe = swap ? srcSe : xSe;
  const aSig = swap ? srcSig : xSig;
  const bSe = swap ? xSe : srcSe;
  const bSig = swap ? xSig : srcSig;
  compute(op, aSe, aSig, bSe, bSig);
  if (!screenFlags(fpFlags())) return;
  writeReg(pd, f80ResultSe(), f80ResultSig());
  if (pop) popStack();
}
