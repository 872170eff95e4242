// Near control transfers, loops and software interrupts.
import { V_SEGS, SEG_SIZE, SEG_CS, SEG_LIMIT, REG_ECX, EXC_GP, EXC_OF, EXC_BP, EXC_DB, FLAG_IOPL, EXC_UD } from '../abi';
import { cpu, eip, abortInsn, opsize32, addr32, v86Mode, setFault, reg32, setReg32, reg16, setReg16 } from '../cpu/state';
import { testCond, cond, getOF, getEflags } from '../cpu/flags';
import { fetch8, fetch16, fetch32, fetchS8 } from '../cpu/decode';
import { readE, push, getSP, setSP, spAdd, readStack } from '../cpu/operand';
import { deliverEvent, EV_SOFTWARE, EV_EXTERNAL } from '../cpu/interrupt';

/** Jumps to `target` (already wrapped to the operand size) after the CS limit check. */
@inline function jumpTo(target: u32): void {
  if (target > load<u32>(cpu, V_SEGS + SEG_CS * SEG_SIZE + SEG_LIMIT)) {
    setFault(EXC_GP, 0, true);
    return;
  }
  eip = target;
}

@inline function relTarget(disp: u32): u32 {
  const t = eip + disp;
  return opsize32 ? t : t & 0xffff;
}

// Jcc is inline: the decoder calls it with a constant cc per opcode, so the
// condition folds to the one flag test it needs (flags.ts, cond()).
@inline export function jccShort(cc: u32): void {
  const d = fetchS8();
  if (abortInsn) return;
  if (cond(cc)) jumpTo(relTarget(d));
}
@inline export function jccNear(cc: u32): void {
  const d = opsize32 ? fetch32() : <u32><i32><i16>fetch16();
  if (abortInsn) return;
  if (cond(cc)) jumpTo(relTarget(d));
}
export function jmpShort(): void {
  const d = fetchS8();
  if (abortInsn) return;
  jumpTo(relTarget(d));
}
export function jmpRel(): void {
  const d = opsize32 ? fetch32() : <u32><i32><i16>fetch16();
  if (abortInsn) return;
  jumpTo(relTarget(d));
}
@inline export function callRel(): void {
  const d = opsize32 ? fetch32() : <u32><i32><i16>fetch16();
  if (abortInsn) return;
  callTo(relTarget(d));
}
// CALL and RET are inline in the decoder's loop (no call per guest call).
@inline function callTo(target: u32): void {
  if (target > load<u32>(cpu, V_SEGS + SEG_CS * SEG_SIZE + SEG_LIMIT)) {
    setFault(EXC_GP, 0, true);
    return;
  }
  if (opsize32) push<u32>(eip); else push<u16>(<u16>eip);
  if (abortInsn) return;
  eip = target;
}
export function callNearE<T>(): void {
  const t = readE<T>();
  if (abortInsn) return;
  callTo(<u32>t);
}
export function jmpNearE<T>(): void {
  const t = readE<T>();
  if (abortInsn) return;
  jumpTo(<u32>t);
}

@inline export function retNear(withImm: bool): void {
  const imm = withImm ? fetch16() : 0;
  if (abortInsn) return;
  const sp = getSP();
  const t = opsize32 ? readStack<u32>(sp) : <u32>readStack<u16>(sp);
  if (abortInsn) return;
  jumpTo(t);
  if (abortInsn) return;
  setSP(spAdd(sp, (opsize32 ? 4 : 2) + imm));
}

/** LOOPNE (0), LOOPE (1), LOOP (2): the counter is CX or ECX by address size. */
export function loop(kind: u32): void {
  const d = fetchS8();
  if (abortInsn) return;
  let count: u32;
  if (addr32) { count = reg32(REG_ECX) - 1; } else { count = (reg16(REG_ECX) - 1) & 0xffff; }
  let take = count != 0;
  if (kind == 0) take = take && !testCond(4);
  else if (kind == 1) take = take && testCond(4);
  if (take) {
    const t = relTarget(d);
    if (t > load<u32>(cpu, V_SEGS + SEG_CS * SEG_SIZE + SEG_LIMIT)) { setFault(EXC_GP, 0, true); return; }
    eip = t;
  }
  if (addr32) setReg32(REG_ECX, count); else setReg16(REG_ECX, <u16>count);
}
export function jcxz(): void {
  const d = fetchS8();
  if (abortInsn) return;
  const c = addr32 ? reg32(REG_ECX) : <u32>reg16(REG_ECX);
  if (c == 0) jumpTo(relTarget(d));
}

/** INT n, INT3 and INTO are IOPL-sensitive in virtual-8086 mode. */
function softInt(vector: u32): void {
  if (v86Mode && (getEflags() & FLAG_IOPL) != FLAG_IOPL) {
    setFault(EXC_GP, 0, true);
    return;
  }
  deliverEvent(vector, EV_SOFTWARE, false, 0);
}
export function intImm(): void {
  const v = fetch8();
  if (abortInsn) return;
  softInt(v);
}
export function int3(): void {
  softInt(EXC_BP);
}
export function into(): void {
  if (getOF()) softInt(EXC_OF);
}
/** INT1 (ICEBP): a #DB trap delivered like an external event (no DPL check). */
export function icebp(): void {
  deliverEvent(EXC_DB, EV_EXTERNAL, false, 0);
}

