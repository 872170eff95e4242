// x87 control group: the stack (FXCH, FINCSTP, FDECSTP, FFREE, overflow and
// underflow), control/status words, FNCLEX/FNINIT, the environment and save
// images (FNSTENV FLDENV FNSAVE FRSTOR, 16- and 32-bit), pending exceptions
// and #MF, the legacy no-ops and the undocumented aliases.
import { FULL, Rng, Spec } from './lib.ts';
import { ALL_MASKED, FB } from './fpstate.ts';
import { X80, bigLe, x80Bytes, x80Special, x80Val } from './fp-values.ts';
import { EXC_MF, depthFor, fillStack, finish, many, memOperand, sti, x87Env } from './x87-env.ts';

/**
 * The pointer fields of an FNSTENV/FNSAVE image (FIP, FCS, FOP, FDP, FDS and
 * the reserved half next to FDS): not compared, see vector-format.ts.
 */
function envPointers(ea: number, o16: boolean): [number, number] {
  return o16 ? [ea + 6, 8] : [ea + 12, 16];
}

/** A pending unmasked exception: flags set that the FCW does not mask (ES and B follow). */
function makePending(fb: FB): void {
  const rng = fb.rng;
  const masks = fb.fcwMasks === ALL_MASKED ? ALL_MASKED & ~(1 << rng.int(6)) : fb.fcwMasks;
  fb.fpu.fcw = (fb.fpu.fcw & ~0x3f) | masks;
  const unmasked = ~masks & 0x3f;
  fb.fpu.fsw |= unmasked & rng.u32() || unmasked;
}

/** A random FLDENV/FRSTOR environment: any FCW, FSW (TOP, flags, ES/B), tag word; pointers at random. */
function envImage(rng: Rng, o16: boolean): number[] {
  const fcw = rng.bool(0.7) ? (rng.u32() & 0x0f3f) | 0x40 : rng.u32() & 0xffff;
  const fsw = rng.u32() & 0xffff;
  const ftw = rng.bool(0.2) ? 0xffff : rng.u32() & 0xffff;
  if (o16) return [...bigLe(BigInt(fcw), 2), ...bigLe(BigInt(fsw), 2), ...bigLe(BigInt(ftw), 2), ...bigLe(BigInt(rng.u32()) | (BigInt(rng.u32()) << 32n), 8)];
  const w = (v: number) => [v & 0xff, (v >> 8) & 0xff, rng.int(256), rng.int(256)];
  const ptrs: number[] = [];
  for (let k = 0; k < 16; k++) ptrs.push(rng.int(256));
  return [...w(fcw), ...w(fsw), ...w(ftw), ...ptrs];
}

export function gX87Control(rng: Rng): Spec[] {
  const out: Spec[] = [];
  // FXCH ST(i), FFREE ST(i), FFREEP ST(i) (undocumented DF C0+i)
  const regOps: [string, number, number, number, boolean][] = [
    ['fxch', 0xd9, 0xc8, 140, true],
    ['ffree', 0xdd, 0xc0, 70, false],
    ['ffreep', 0xdf, 0xc0, 50, false],
  ];
  for (const [name, b0, b1, n, two] of regOps) {
    many(rng, out, n, (fb) => {
      const i = rng.int(8);
      fillStack(fb, two ? depthFor(rng, i + 1) : rng.int(9));
      fb.code.push(b0, b1 | i);
      return `${name} ${sti(i)}`;
    });
  }
  // FINCSTP, FDECSTP, FNOP, and the 8087/287 leftovers that are no-ops now
  const plain: [string, number[], number][] = [
    ['fincstp', [0xd9, 0xf7], 50], ['fdecstp', [0xd9, 0xf6], 50], ['fnop', [0xd9, 0xd0], 30],
    ['feni (nop)', [0xdb, 0xe0], 10], ['fdisi (nop)', [0xdb, 0xe1], 10], ['fsetpm (nop)', [0xdb, 0xe4], 10],
  ];
  for (const [name, code, n] of plain) {
    many(rng, out, n, (fb) => {
      fillStack(fb, rng.int(9));
      fb.code.push(...code);
      return name;
    });
  }
  // The undocumented register aliases
  const aliases: [string, number, number][] = [
    ['fxch4', 0xdd, 0xc8], ['fxch7', 0xdf, 0xc8], ['fstp1', 0xd9, 0xd8], ['fstp8', 0xdf, 0xd0],
    ['fstp9', 0xdf, 0xd8], ['fcom2', 0xdc, 0xd0], ['fcomp3', 0xdc, 0xd8], ['fcomp5', 0xde, 0xd0],
  ];
  for (const [name, b0, b1] of aliases) {
    many(rng, out, 24, (fb) => {
      const i = rng.int(8);
      fillStack(fb, depthFor(rng, i + 1));
      fb.code.push(b0, b1 | i);
      return `${name} ${sti(i)}`;
    });
  }
  // FLDCW: any word (reserved bits, masks that uncover pending flags), then maybe FWAIT
  for (let i = 0; i < 160; i++) {
    const fb = new FB(rng);
    x87Env(fb);
    fillStack(fb, rng.int(9));
    if (rng.bool(0.5)) fb.fpu.fsw |= rng.u32() & fb.fcwMasks & 0x3f;
    const w = rng.bool(0.6) ? (rng.u32() & 0x0f3f) | 0x40 : rng.u32() & 0xffff;
    const rm = memOperand(fb, 2, bigLe(BigInt(w), 2));
    fb.emit({ opc: [0xd9], rm, f: 5, seg: fb.seg(rm, false) });
    const wait = rng.bool(0.5);
    if (wait) fb.code.push(0x9b);
    out.push(fb.spec(`fldcw ${rm.desc} (0x${w.toString(16)})${wait ? '; fwait' : ''} #${i}`, FULL, { allow: [EXC_MF] }));
  }
  // FNSTCW / FSTCW m16, FNSTSW / FSTSW m16 and AX, FNCLEX / FCLEX, FNINIT / FINIT:
  // the no-wait forms ignore a pending exception, the waiting forms (9B) raise #MF first
  const words: [string, number[], number, boolean][] = [
    ['fnstcw', [0xd9], 7, true], ['fnstsw', [0xdd], 7, true],
    ['fnstsw ax', [0xdf, 0xe0], -1, false], ['fnclex', [0xdb, 0xe2], -1, false], ['fninit', [0xdb, 0xe3], -1, false],
  ];
  for (const [name, opc, f, mem] of words) {
    for (const wait of [false, true]) {
      many(rng, out, wait ? 30 : 70, (fb) => {
        fillStack(fb, rng.int(9));
        if (rng.bool(wait ? 0.7 : 0.4)) makePending(fb);
        if (wait) fb.code.push(0x9b);
        let desc = '';
        if (mem) {
          const rm = memOperand(fb, 2);
          fb.emit({ opc, rm, f, seg: fb.seg(rm, true) });
          desc = ' ' + rm.desc;
        } else fb.code.push(...opc);
        return `${wait ? 'fwait; ' : ''}${name}${desc}`;
      });
    }
  }
  // FWAIT / FNOP / an arithmetic instruction with an exception already pending: #MF before it runs
  many(rng, out, 90, (fb) => {
    fillStack(fb, rng.int(9));
    makePending(fb);
    const [code, name] = rng.pick([[[0x9b], 'fwait'], [[0xd9, 0xd0], 'fnop'], [[0xd8, 0xc1], 'fadd st0,st1'], [[0xd9, 0xe8], 'fld1']] as [number[], string][]);
    fb.code.push(...code);
    return `${name} (exception pending)`;
  });
  // Unmasked exceptions raised by an instruction, then a waiting instruction
  const raisers: [string, number[], () => X80[]][] = [
    ['fdiv st0,st1 (by zero)', [0xd8, 0xf1], () => [x80Val(rng, 0.3), { se: rng.bool(0.5) ? 0x8000 : 0, sig: 0n }]],
    ['fsqrt (negative)', [0xd9, 0xfa], () => [{ se: 0xbfff, sig: 1n << 63n }]],
    ['fadd st0,st1 (specials)', [0xd8, 0xc1], () => [x80Special(rng), x80Special(rng)]],
    ['fmul st0,st1 (overflow/underflow)', [0xd8, 0xc9], () => [{ se: rng.pick([0x7ff0, 0x0010]), sig: 0xc000000000000000n }, { se: rng.pick([0x7ff0, 0x0010, 0x3fff]), sig: 0xc000000000000001n }]],
    ['fld1 (overflow)', [0xd9, 0xe8], () => [1, 2, 3, 4, 5, 6, 7, 8].map(() => x80Val(rng))],
    ['fincstp; fadd st0,st0 (underflow)', [0xd9, 0xf7, 0xd8, 0xc0], () => []],
  ];
  for (const [name, code, vals] of raisers) {
    many(rng, out, 40, (fb) => {
      // unmask some exceptions, with no flag of theirs already set
      const unmask = (rng.u32() & 0x3f) | (1 << rng.int(6));
      fb.fpu.fcw &= ~unmask;
      fb.fpu.fsw &= ~unmask;
      const v = vals();
      fillStack(fb, v.length, v);
      fb.code.push(...code);
      const [next, nextName] = rng.pick([[[0x9b], 'fwait'], [[0xd9, 0xe8], 'fld1'], [[0xdf, 0xe0], 'fnstsw ax'], [[0xdb, 0xe2, 0x9b], 'fnclex; fwait'], [[0xd9, 0xc9], 'fxch st1']] as [number[], string][]);
      fb.code.push(...next);
      return `${name}; ${nextName}`;
    }, { unmask: 0 });
  }
  // Stack overflow and underflow in sequence: 9 pushes, pops from an empty stack
  for (let i = 0; i < 50; i++) {
    const fb = new FB(rng);
    x87Env(fb, { unmask: 0.1 });
    fillStack(fb, rng.int(9));
    const k = rng.range(1, 9);
    const push = rng.bool(0.5);
    for (let j = 0; j < k; j++) fb.code.push(...(push ? [0xd9, 0xe8 + rng.int(7)] : [0xdd, 0xd8]));
    finish(fb, out, `${k} x ${push ? 'fld const' : 'fstp st0'}`, i);
  }
  envGroups(rng, out);
  return out;
}

/** FNSTENV, FLDENV, FNSAVE, FRSTOR with 32- and 16-bit operand size, and round trips. */
function envGroups(rng: Rng, out: Spec[]): void {
  for (const o16 of [false, true]) {
    const envSize = o16 ? 14 : 28;
    const pre = o16 ? [0x66] : [];
    const sz = o16 ? 'o16 ' : '';
    // FNSTENV (masks all exceptions afterwards), FNSAVE (then FNINIT)
    for (const [name, opc, f, size, n] of [['fnstenv', 0xd9, 6, envSize, 90], ['fnsave', 0xdd, 6, envSize + 80, 70]] as const) {
      for (let i = 0; i < n; i++) {
        const fb = new FB(rng);
        x87Env(fb, { unmask: 0.4 });
        fillStack(fb, rng.int(9));
        for (let j = 0; j < 8; j++) if (rng.bool(0.2)) fb.st(j, x80Special(rng)); // tags: zero, special, empty
        if (rng.bool(0.3)) makePending(fb);
        const rm = memOperand(fb, size);
        fb.emit({ opc: [opc], rm, f, pre, seg: fb.seg(rm, true) });
        out.push(fb.spec(`${sz}${name} ${rm.desc} #${i}`, FULL, { allow: [EXC_MF], memIgnore: [envPointers(rm.ea, o16)] }));
      }
    }
    // FLDENV, FRSTOR from random images; sometimes stored back (the tag word is recomputed)
    for (const [name, opc, size, n] of [['fldenv', 0xd9, envSize, 110], ['frstor', 0xdd, envSize + 80, 90]] as const) {
      for (let i = 0; i < n; i++) {
        const fb = new FB(rng);
        x87Env(fb);
        fillStack(fb, rng.int(9));
        const img = envImage(rng, o16);
        if (size > envSize) for (let j = 0; j < 8; j++) img.push(...x80Bytes(x80Val(rng, 0.4)));
        const rm = memOperand(fb, size, img);
        fb.emit({ opc: [opc], rm, f: 4, pre, seg: fb.seg(rm, false) });
        const ignore: [number, number][] = [];
        let tail = '';
        if (rng.bool(0.35)) {
          const back = memOperand(fb, size);
          fb.emit({ opc: [opc], rm: back, f: 6, pre, seg: null });
          ignore.push(envPointers(back.ea, o16));
          tail = `; ${name === 'fldenv' ? 'fnstenv' : 'fnsave'} ${back.desc}`;
        } else if (rng.bool(0.3)) {
          fb.code.push(0x9b);
          tail = '; fwait';
        }
        out.push(fb.spec(`${sz}${name} ${rm.desc}${tail} #${i}`, FULL, { allow: [EXC_MF], memIgnore: ignore }));
      }
    }
  }
}
