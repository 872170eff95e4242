// Handlers of the integer SIMD instructions "dst op= src" (MMX and SSE2
// forms) and of the shifts by an immediate (0F 71-73). The lane work is
// intLanes(); these fetch the operands, gate and commit.
import { abortInsn } from '../../cpu/state';
import { modrm, rmIsReg } from '../../cpu/decode';
import { xmm, mm, writeMm, scratchRes, scratchSrc } from './regs';
import { xmmSource, readMemOperand } from './operand';
import { sseAllowed, mmxAllowed, ud } from './gate';
import { intLanes, isMmxUnpackLow } from './intlanes';
import { shiftBytes } from './shiftlanes';

/**
 * 0F `op` Pq,Qq (mmx) or 66 0F `op` Vx,Wx. Also serves ANDPS/ANDNPS/ORPS/XORPS
 * and UNPCK{L,H}P{S,D}, which are the same bit operations (the dispatcher
 * passes the integer opcode).
 */
export function intBinary(op: u32, mmx: bool): void {
  const dst = (modrm >> 3) & 7;
  if (mmx) {
    if (!mmxAllowed()) return;
    const src = rmIsReg ? mm(modrm & 7) : readMemOperand(isMmxUnpackLow(op) ? 4 : 8, false);
    if (abortInsn) return;
    const res = scratchRes();
    intLanes(op, res, mm(dst), src, true);
    writeMm(dst, load<u64>(res));
  } else {
    if (!sseAllowed()) return;
    const src = xmmSource(16, true);
    if (abortInsn) return;
    intLanes(op, xmm(dst), xmm(dst), src, false);
  }
}

/**
 * 0F 71/72/73 (register forms only): PSRLW/PSRAW/PSLLW (71 /2 /4 /6), the
 * dword (72) and qword (73 /2 /6) forms, and PSRLDQ/PSLLDQ (66 0F 73 /3 /7).
 * A shift by imm8 is the shift by register with the count imm8: the same
 * lane operation (0F D1-D3, E1-E2, F1-F3).
 */
export function shiftImmediate(op: u32, imm: u32, mmx: bool): void {
  const kind = (modrm >> 3) & 7;
  const byteShift = op == 0x73 && (kind == 3 || kind == 7);
  const valid = byteShift ? !mmx : kind == 2 || kind == 6 || (kind == 4 && op != 0x73);
  if (!valid) { ud(); return; }
  if (!(mmx ? mmxAllowed() : sseAllowed())) return;
  const r = modrm & 7;
  if (byteShift) {
    v128.store(xmm(r), shiftBytes(v128.load(xmm(r)), imm, kind == 7));
    return;
  }
  const byRegister = (kind == 2 ? 0xd0 : kind == 4 ? 0xe0 : 0xf0) + (op - 0x70);
  const count = scratchSrc();
  store<u64>(count, <u64>imm);
  if (mmx) {
    const res = scratchRes();
    intLanes(byRegister, res, mm(r), count, true);
    writeMm(r, load<u64>(res));
  } else {
    intLanes(byRegister, xmm(r), xmm(r), count, false);
  }
}
