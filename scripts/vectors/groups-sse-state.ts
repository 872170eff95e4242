// SSE state and ordering instructions (sse-state): LDMXCSR/STMXCSR (reserved
// bits: #GP), FXSAVE/FXRSTOR images (alignment: #GP; MXCSR reserved bits in
// the image: #GP), the fences, CLFLUSH and the prefetch hints.
import { FULL, RM, Rng, Spec } from './lib.ts';
import { FB } from './fpstate.ts';
import { bigLe, randBits, x80Bytes, x80Val } from './fp-values.ts';
import { EXC_GP, mmxEnv, sseEnv, vecVal } from './simd-env.ts';
import { fillStack, x87Env } from './x87-env.ts';

const EXC_UD = 6;

/** FXSAVE's pointer fields, FOP through FDS's reserved half: not compared (vector-format.ts). */
function fxPointers(ea: number): [number, number] {
  return [ea + 6, 18];
}

/** A 16-byte aligned operand in MAIN (room for `size` bytes), misaligned by `off`. */
function alignedMem(fb: FB, size: number, off = 0): RM {
  const base = 0x00200000 + fb.rng.int((0x2000 - size - 16) / 16) * 16;
  return fb.mem({ need: size, target: base + off });
}

/** A random x87 + SSE state: stack, control words, flags, XMM registers. */
function randomState(fb: FB): void {
  const rng = fb.rng;
  x87Env(fb, { unmask: 0.3 });
  fillStack(fb, rng.int(9));
  sseEnv(fb);
  for (let i = 0; i < 8; i++) if (rng.bool(0.5)) fb.xmm(i, vecVal(rng, rng.pick(['f32', 'f64', 'x'] as const), 128));
}

/** An MXCSR value: valid (bits 0-15) mostly, sometimes with reserved bits. */
function mxcsrValue(rng: Rng, pBad: number): number {
  if (rng.bool(pBad)) return (rng.u32() | (1 << rng.range(16, 31))) >>> 0;
  return rng.bool(0.5) ? rng.u32() & 0xffff : (0x1f80 & ~(rng.u32() & 0x1f80)) | (rng.u32() & 0xe07f);
}

/** An FXRSTOR image (the first 288 bytes; the rest is ignored): any FCW/FSW/tags/pointers, registers, MXCSR. */
function fxImageBytes(rng: Rng, badMxcsr: boolean): number[] {
  const b: number[] = [];
  b.push(...bigLe(BigInt(rng.u32() & 0xffff), 2)); // FCW
  b.push(...bigLe(BigInt(rng.u32() & 0xffff), 2)); // FSW
  b.push(rng.int(256), rng.int(256)); // abridged FTW, reserved
  for (let k = 6; k < 24; k++) b.push(rng.int(256)); // FOP FIP FCS FDP FDS and reserved halves
  b.push(...bigLe(BigInt(mxcsrValue(rng, badMxcsr ? 1 : 0)), 4));
  b.push(...bigLe(BigInt(rng.u32()), 4)); // MXCSR_MASK: ignored by FXRSTOR
  for (let j = 0; j < 8; j++) b.push(...x80Bytes(x80Val(rng, 0.4)), ...bigLe(randBits(rng, 48), 6));
  for (let i = 0; i < 8; i++) b.push(...bigLe(vecVal(rng, rng.pick(['f32', 'f64', 'x'] as const), 128), 16));
  return b;
}

export function gSseState(rng: Rng): Spec[] {
  const out: Spec[] = [];
  // LDMXCSR m32, then STMXCSR to memory sometimes
  for (let i = 0; i < 200; i++) {
    const fb = new FB(rng);
    sseEnv(fb);
    const v = mxcsrValue(rng, 0.15);
    const rm = fb.mem({ need: 4 });
    fb.plant(rm.ea, bigLe(BigInt(v), 4));
    fb.emit({ opc: [0x0f, 0xae], rm, f: 2, seg: fb.seg(rm, false) });
    const store = rng.bool(0.3);
    let desc = '';
    if (store) {
      const st = fb.mem({ need: 4 });
      fb.emit({ opc: [0x0f, 0xae], rm: st, f: 3 });
      desc = `; stmxcsr ${st.desc}`;
    }
    out.push(fb.spec(`ldmxcsr ${rm.desc} (0x${v.toString(16)})${desc} #${i}`, FULL, { allow: [EXC_GP], expect: v > 0xffff ? EXC_GP : null }));
  }
  for (let i = 0; i < 80; i++) {
    const fb = new FB(rng);
    sseEnv(fb);
    const rm = fb.mem({ need: 4 });
    fb.emit({ opc: [0x0f, 0xae], rm, f: 3, seg: fb.seg(rm, true) });
    out.push(fb.spec(`stmxcsr ${rm.desc} #${i}`, FULL));
  }
  // FXSAVE m512: misaligned -> #GP
  for (let i = 0; i < 150; i++) {
    const fb = new FB(rng);
    randomState(fb);
    if (rng.bool(0.2)) mmxEnv(fb);
    const off = rng.bool(0.08) ? rng.pick([1, 4, 8]) : 0;
    const rm = alignedMem(fb, 512, off);
    fb.emit({ opc: [0x0f, 0xae], rm, f: 0, seg: fb.seg(rm, true) });
    out.push(fb.spec(`fxsave ${rm.desc}${off ? ' (misaligned)' : ''} #${i}`, FULL, { allow: [EXC_GP], expect: off ? EXC_GP : null, memIgnore: [fxPointers(rm.ea)] }));
  }
  // FXRSTOR m512 (and FXSAVE back, sometimes): reserved MXCSR bits or misalignment -> #GP
  for (let i = 0; i < 130; i++) {
    const fb = new FB(rng);
    randomState(fb);
    const bad = rng.bool(0.08);
    const off = !bad && rng.bool(0.06) ? rng.pick([2, 8]) : 0;
    const rm = alignedMem(fb, 512, off);
    fb.plant(rm.ea, fxImageBytes(rng, bad));
    fb.emit({ opc: [0x0f, 0xae], rm, f: 1, seg: fb.seg(rm, false) });
    const ignore: [number, number][] = [];
    let desc = '';
    if (rng.bool(0.3)) {
      const back = alignedMem(fb, 512);
      fb.emit({ opc: [0x0f, 0xae], rm: back, f: 0 });
      ignore.push(fxPointers(back.ea));
      desc = `; fxsave ${back.desc}`;
    }
    out.push(fb.spec(`fxrstor ${rm.desc}${bad ? ' (reserved MXCSR bits)' : off ? ' (misaligned)' : ''}${desc} #${i}`, FULL, { allow: [EXC_GP], expect: bad || off ? EXC_GP : null, memIgnore: ignore }));
  }
  // Fences (any r/m register field), CLFLUSH, prefetches, and the #UD register forms of LDMXCSR/STMXCSR
  const simple: [string, (fb: FB) => void, number, number[]][] = [
    ['lfence', (fb) => fb.code.push(0x0f, 0xae, 0xe8 | fb.rng.int(8)), 8, []],
    ['mfence', (fb) => fb.code.push(0x0f, 0xae, 0xf0 | fb.rng.int(8)), 8, []],
    ['sfence', (fb) => fb.code.push(0x0f, 0xae, 0xf8 | fb.rng.int(8)), 8, []],
    ['clflush', (fb) => fb.emit({ opc: [0x0f, 0xae], rm: fb.mem({ need: 1 }), f: 7 }), 12, []],
    ['prefetch', (fb) => fb.emit({ opc: [0x0f, 0x18], rm: fb.mem({ need: 1 }), f: fb.rng.int(4) }), 16, []],
    ['ldmxcsr reg', (fb) => fb.code.push(0x0f, 0xae, 0xd0 | fb.rng.int(8)), 4, [EXC_UD]],
    ['stmxcsr reg', (fb) => fb.code.push(0x0f, 0xae, 0xd8 | fb.rng.int(8)), 4, [EXC_UD]],
  ];
  for (const [name, build, n, allow] of simple) {
    for (let i = 0; i < n; i++) {
      const fb = new FB(rng);
      build(fb);
      out.push(fb.spec(`${name} #${i}`, FULL, { allow, expect: allow.length ? allow[0] : null }));
    }
  }
  return out;
}
