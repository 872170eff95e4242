// Protected-mode and virtual-8086 interrupt delivery through the IDT:
// interrupt and trap gates (16/32-bit), with a stack switch from the TSS when
// the handler is more privileged, the v86 frame (GS FS DS ES pushed and
// cleared), and task gates (a task switch).
//
// Every check and every probe of the new frame happens before anything is
// committed, so a fault during delivery leaves the interrupted state intact
// (the run loop then escalates as the SDM says: contributory faults to #DF,
// #DF to shutdown). The EXT bit of error codes is added by deliverEvent().
import {
  V_IDTR_BASE, V_IDTR_LIMIT, SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS,
  REG_ESP, EXC_GP, EXC_NP, FLAG_IF, FLAG_TF, FLAG_NT, FLAG_RF, FLAG_VM,
} from '../abi';
import { cpu, eip, cpl, v86Mode, abortInsn, setFault, reg32 } from './state';
import { getEflags, writeEflags } from './flags';
import { readLinSys } from './mmu';
import { getSP, setSP } from './operand';
import { setSegmentCache } from './segload';
import {
  descLo, descHi, descLin, descLimit, descDpl, descType, isConformingCode, setAccessed, loadCS, segSel,
  gateCode, gateSel, gateOff, innerStack, frameBeginInner, setAccessedInner, enterInner,
  frameBeginCurrent, framePush, frameSp,
  D_P, T_TASK, T_INT16, T_TRAP16, T_INT32, T_TRAP32,
} from './descriptors';
import { EV_SOFTWARE } from './interrupt';
import { switchToTss, TS_INT } from './task';

export function deliverProtected(vector: u32, kind: u32, hasError: bool, error: u32): void {
  const vecErr = vector * 8 + 2;
  if (vector * 8 + 7 > load<u32>(cpu + V_IDTR_LIMIT)) { setFault(EXC_GP, vecErr, true); return; }
  const gateLin = <u32>load<u64>(cpu + V_IDTR_BASE) + vector * 8;
  const lo = readLinSys<u32>(gateLin);
  if (abortInsn) return;
  const hi = readLinSys<u32>(gateLin + 4);
  if (abortInsn) return;
  const type = descType(hi);
  if (type != T_TASK && type != T_INT16 && type != T_TRAP16 && type != T_INT32 && type != T_TRAP32) {
    setFault(EXC_GP, vecErr, true);
    return;
  }
  // INT n, INT3, INTO may use only gates of DPL >= CPL.
  if (kind == EV_SOFTWARE && descDpl(hi) < cpl) { setFault(EXC_GP, vecErr, true); return; }
  if (!(hi & D_P)) { setFault(EXC_NP, vecErr, true); return; }
  if (type == T_TASK) {
    switchToTss(lo >>> 16, TS_INT, hasError, error);
    return;
  }

  const gate32 = (type & 8) != 0;
  const trapGate = (type & 1) != 0;
  const n: u32 = gate32 ? 4 : 2;
  if (!gateCode(lo, hi, false)) return;
  const csSel = gateSel, off = gateOff;
  const clo = descLo, chi = descHi, clin = descLin;
  const dpl = descDpl(chi);
  const inner = !isConformingCode(chi) && dpl < cpl;
  // From v86 mode only a non-conforming ring-0 handler is possible.
  if (v86Mode && (!inner || dpl != 0)) { setFault(EXC_GP, csSel & 0xfffc, true); return; }
  if (off > descLimit(clo, chi)) { setFault(EXC_GP, 0, true); return; }

  const fromV86 = v86Mode;
  const oldFlags = getEflags();
  const oldCS = segSel(SEG_CS);
  const retEip = eip;
  let newFlags = oldFlags & ~(FLAG_TF | FLAG_NT | FLAG_RF | FLAG_VM);
  if (!trapGate) newFlags &= ~FLAG_IF;

  // A more privileged handler gets the stack for its level from the TSS,
  // with the interrupted SS:ESP (and, from v86 mode, GS FS DS ES) below the
  // frame (SDM Vol. 3A 6.12.1, figure 6-4). The frame is probed, then written.
  if (inner && !innerStack(dpl)) return;
  const oldSS = segSel(SEG_SS);
  const oldESP = reg32(REG_ESP);
  for (let pass = 0; pass < 2; pass++) {
    const commit = pass == 1;
    if (inner) {
      frameBeginInner(commit);
      if (fromV86) {
        framePush(segSel(SEG_GS), n);
        framePush(segSel(SEG_FS), n);
        framePush(segSel(SEG_DS), n);
        framePush(segSel(SEG_ES), n);
      }
      framePush(oldSS, n);
      framePush(oldESP, n);
    } else {
      frameBeginCurrent(getSP(), commit);
    }
    framePush(oldFlags, n);
    framePush(oldCS, n);
    framePush(retEip, n);
    if (hasError) framePush(error, n);
    if (abortInsn) return;
    if (!commit) {
      if (inner) setAccessedInner(clin, chi);
      else setAccessed(clin, chi);
      if (abortInsn) return;
    }
  }
  if (inner) {
    writeEflags(newFlags);
    if (fromV86) {
      setSegmentCache(SEG_ES, 0, 0, 0, 0);
      setSegmentCache(SEG_DS, 0, 0, 0, 0);
      setSegmentCache(SEG_FS, 0, 0, 0, 0);
      setSegmentCache(SEG_GS, 0, 0, 0, 0);
    }
    enterInner(csSel, clo, chi, dpl);
  } else {
    setSP(frameSp());
    writeEflags(newFlags);
    loadCS(csSel, clo, chi, cpl);
  }
  eip = off;
}
