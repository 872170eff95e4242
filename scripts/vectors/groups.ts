// The vector groups: which instructions, forms and inputs each fixture file holds.
// Every builder is deterministic given its Rng (seeded from the group name).
import { CODE_BASE } from '../../test/cpu/vector-format.ts';
import type { RegName } from '../../test/cpu/vector-format.ts';
import {
  AF, ARITH, CF, DF, EAX, EBP, EBX, ECX, EDI, EDX, ESI, ESP, FULL, OF, PF, SF, ZF,
  R32, Rng, RM, STACK, Spec, VB, le, regName, regRM, segName, sizeMask, val,
} from './lib.ts';

const hex = (v: number) => '0x' + (v >>> 0).toString(16);
const NOFLAGS = FULL; // instructions that change no flag: compare them all
const LOGIC = FULL & ~AF;
const MULMASK = FULL & ~(SF | ZF | AF | PF);
const DIVMASK = FULL & ~ARITH;

function rname32(r: number): RegName {
  return R32[r] as RegName;
}

// ---------------------------------------------------------------------------
// A generic r/m instruction builder
// ---------------------------------------------------------------------------
interface RmDef {
  mnem: string;
  form: string;
  opc: number[];
  /** Operand size (16 adds 0x66). */
  bits: 8 | 16 | 32;
  /** Size of the r/m operand if it differs (MOVZX...). */
  rmBits?: number;
  /** Size of the reg operand if it differs. */
  regBits?: number;
  /** Constant reg field (group opcodes). */
  ext?: number;
  /** The reg field is a register operand. */
  regOp?: boolean;
  /** Immediate size in bytes and its value generator. */
  imm?: 1 | 2 | 4;
  immGen?: (rng: Rng) => number;
  /** Probability of a memory r/m (default 0.5; 1 = memory only, 0 = register only). */
  pMem?: number;
  /** r/m is written (no CS override). */
  write?: boolean;
  /** Also produce LOCK-prefixed memory forms. */
  lock?: boolean;
  mask: number;
  /** Extra bytes accessed beyond the operand. */
  need?: number;
  /** Registers not to use in addresses (implicit operands). */
  avoid?: number[];
  /** Sets implicit registers before the address is built. */
  pre?: (v: VB) => void;
  /** Called after the operands are set: may change values and return mask/ignore/allow. */
  post?: (v: VB, c: { rm: RM; f: number; imm?: number }) => Partial<Spec> | void;
  /** Value generator for register operands. */
  opVal?: (rng: Rng, bits: number) => number;
}

function genRm(rng: Rng, d: RmDef, n: number, out: Spec[]): void {
  const rmBits = d.rmBits ?? d.bits;
  const regBits = d.regBits ?? d.bits;
  const opVal = d.opVal ?? val;
  for (let i = 0; i < n; i++) {
    const v = new VB(rng);
    d.pre?.(v);
    const rm = v.rm(rmBits, d.pMem ?? 0.5, { need: rmBits / 8 + (d.need ?? 0), avoid: d.avoid });
    let f = d.ext ?? 0;
    if (d.regOp) {
      f = rng.int(8);
      v.setOp(regBits, f, opVal(rng, regBits));
    }
    if (!rm.mem) v.setOp(rmBits, rm.reg, opVal(rng, rmBits));
    else if (rng.bool(0.4)) v.plantVal(rm.ea, opVal(rng, rmBits), rmBits / 8);
    const imm = d.imm ? (d.immGen ? d.immGen(rng) : val(rng, d.imm * 8)) >>> 0 : undefined;
    const lock = !!d.lock && rm.mem && rng.bool(0.35);
    const seg = v.seg(rm, !!d.write);
    const extra = d.post?.(v, { rm, f, imm }) ?? {};
    v.emit({ opc: d.opc, bits: d.bits === 16 ? 16 : undefined, rm, f, imm: imm !== undefined ? le(imm, d.imm!) : undefined, lock, seg });
    const ops = [(lock ? 'lock ' : '') + segName(seg) + (rm.mem ? rm.desc : regName(rmBits, rm.reg))];
    if (d.regOp) {
      // operands in Intel order: "r32,r/m32" forms name the register first
      if (d.form.startsWith('r') && !d.form.startsWith('r/m')) ops.unshift(regName(regBits, f));
      else ops.push(regName(regBits, f));
    }
    if (imm !== undefined) ops.push(hex(imm));
    out.push(v.spec(`${d.mnem} ${d.form} ${ops.join(',')} #${i}`, d.mask, extra));
  }
}

/** An accumulator-immediate form (no ModRM). */
function genAcc(rng: Rng, mnem: string, opc: number, bits: 8 | 16 | 32, mask: number, n: number, out: Spec[]): void {
  for (let i = 0; i < n; i++) {
    const v = new VB(rng);
    v.setOp(bits, 0, val(rng, bits));
    const imm = val(rng, bits);
    v.emit({ opc: [opc], bits: bits === 16 ? 16 : undefined, imm: le(imm, bits / 8) });
    out.push(v.spec(`${mnem} ${regName(bits, 0)},imm${bits} ${hex(imm)} #${i}`, mask));
  }
}

const imm8s = (rng: Rng) => (rng.bool(0.4) ? rng.pick([0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x81]) : rng.int(256));

// ---------------------------------------------------------------------------
// ALU: 00-3F and 80-83
// ---------------------------------------------------------------------------
const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];

export function gAlu(rng: Rng): Spec[] {
  const out: Spec[] = [];
  const N = 36;
  for (let op = 0; op < 8; op++) {
    const mnem = ALU[op];
    const mask = op === 1 || op === 4 || op === 6 ? LOGIC : FULL;
    const w = op !== 7;
    const base = op * 8;
    genRm(rng, { mnem, form: 'r/m8,r8', opc: [base], bits: 8, regOp: true, write: w, lock: w, mask }, N, out);
    genRm(rng, { mnem, form: 'r/m32,r32', opc: [base + 1], bits: 32, regOp: true, write: w, lock: w, mask }, N, out);
    genRm(rng, { mnem, form: 'r/m16,r16', opc: [base + 1], bits: 16, regOp: true, write: w, lock: w, mask }, N, out);
    genRm(rng, { mnem, form: 'r8,r/m8', opc: [base + 2], bits: 8, regOp: true, mask }, N, out);
    genRm(rng, { mnem, form: 'r32,r/m32', opc: [base + 3], bits: 32, regOp: true, mask }, N, out);
    genRm(rng, { mnem, form: 'r16,r/m16', opc: [base + 3], bits: 16, regOp: true, mask }, N, out);
    genAcc(rng, mnem, base + 4, 8, mask, 16, out);
    genAcc(rng, mnem, base + 5, 32, mask, 16, out);
    genAcc(rng, mnem, base + 5, 16, mask, 12, out);
    genRm(rng, { mnem, form: 'r/m8,imm8 (80)', opc: [0x80], bits: 8, ext: op, imm: 1, write: w, lock: w, mask }, N, out);
    genRm(rng, { mnem, form: 'r/m8,imm8 (82)', opc: [0x82], bits: 8, ext: op, imm: 1, write: w, lock: w, mask }, 12, out);
    genRm(rng, { mnem, form: 'r/m32,imm32', opc: [0x81], bits: 32, ext: op, imm: 4, write: w, lock: w, mask }, N, out);
    genRm(rng, { mnem, form: 'r/m16,imm16', opc: [0x81], bits: 16, ext: op, imm: 2, write: w, lock: w, mask }, N, out);
    genRm(rng, { mnem, form: 'r/m32,imm8', opc: [0x83], bits: 32, ext: op, imm: 1, immGen: imm8s, write: w, lock: w, mask }, N, out);
    genRm(rng, { mnem, form: 'r/m16,imm8', opc: [0x83], bits: 16, ext: op, imm: 1, immGen: imm8s, write: w, lock: w, mask }, N, out);
  }
  return out;
}

// ---------------------------------------------------------------------------
// INC/DEC: 40-4F, FE/FF /0 /1
// ---------------------------------------------------------------------------
export function gIncDec(rng: Rng): Spec[] {
  const out: Spec[] = [];
  for (const [op, name] of [[0, 'inc'], [1, 'dec']] as const) {
    for (const bits of [32, 16] as const) {
      for (let r = 0; r < 8; r++) {
        for (let i = 0; i < 5; i++) {
          const v = new VB(rng);
          v.setOp(bits, r, val(rng, bits));
          v.emit({ opc: [0x40 + op * 8 + r], bits: bits === 16 ? 16 : undefined });
          out.push(v.spec(`${name} ${regName(bits, r)} (${hex(0x40 + op * 8 + r)}) #${i}`, FULL));
        }
      }
    }
    genRm(rng, { mnem: name, form: 'r/m8', opc: [0xfe], bits: 8, ext: op, write: true, lock: true, mask: FULL }, 50, out);
    genRm(rng, { mnem: name, form: 'r/m32', opc: [0xff], bits: 32, ext: op, write: true, lock: true, mask: FULL }, 50, out);
    genRm(rng, { mnem: name, form: 'r/m16', opc: [0xff], bits: 16, ext: op, write: true, lock: true, mask: FULL }, 50, out);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Stack: PUSH/POP reg/imm/mem, PUSHA/POPA, PUSHF/POPF, ENTER/LEAVE
// ---------------------------------------------------------------------------
function stackEsp(rng: Rng): number {
  const k = rng.int(10);
  if (k < 5) return STACK;
  if (k < 9) return (0x00200400 + rng.int(0x1800)) & ~3;
  return 0x00200400 + rng.int(0x1800);
}

function stackVB(rng: Rng): VB {
  const v = new VB(rng);
  v.set(ESP, stackEsp(rng));
  return v;
}

/** A POPF image: the arithmetic flags and DF at random, IF=1, IOPL 0, no TF/NT/AC/ID; maybe reserved bits 1/3/5/15 flipped. */
function popfImage(rng: Rng): number {
  let img = (rng.u32() & FULL) | 0x202;
  if (rng.bool(0.3)) img ^= rng.pick([0x2, 0x8, 0x20, 0x8000, 0x802a]);
  return img >>> 0;
}

export function gStack(rng: Rng): Spec[] {
  const out: Spec[] = [];
  for (const bits of [32, 16] as const) {
    const b16 = bits === 16 ? 16 : undefined;
    for (let r = 0; r < 8; r++) {
      for (let i = 0; i < 6; i++) {
        const v = stackVB(rng);
        if (r !== ESP) v.setOp(bits, r, val(rng, bits));
        v.emit({ opc: [0x50 + r], bits: b16 });
        out.push(v.spec(`push ${regName(bits, r)} #${i}`, NOFLAGS));
        const w = stackVB(rng);
        if (rng.bool(0.5)) w.plantVal(w.regs[ESP], val(rng, bits), bits / 8);
        w.emit({ opc: [0x58 + r], bits: b16 });
        out.push(w.spec(`pop ${regName(bits, r)} #${i}`, NOFLAGS));
      }
    }
    // PUSH imm
    for (let i = 0; i < 20; i++) {
      const v = stackVB(rng);
      const imm = val(rng, bits);
      v.emit({ opc: [0x68], bits: b16, imm: le(imm, bits / 8) });
      out.push(v.spec(`push imm${bits} ${hex(imm)} #${i}`, NOFLAGS));
      const w = stackVB(rng);
      const i8 = imm8s(rng);
      w.emit({ opc: [0x6a], bits: b16, imm: [i8] });
      out.push(w.spec(`push imm8 (o${bits}) ${hex(i8)} #${i}`, NOFLAGS));
    }
    // PUSH r/m, POP r/m
    genRm(rng, { mnem: 'push', form: `r/m${bits}`, opc: [0xff], bits, ext: 6, pMem: 0.8, need: 4, mask: NOFLAGS, pre: (v) => v.set(ESP, stackEsp(rng)) }, 40, out);
    genRm(rng, {
      mnem: 'pop', form: `r/m${bits}`, opc: [0x8f], bits, ext: 0, pMem: 0.8, need: 4, write: true, mask: NOFLAGS,
      pre: (v) => v.set(ESP, stackEsp(rng)),
      post: (v, c) => {
        if (c.rm.mem || rng.bool(0.5)) v.plantVal(v.regs[ESP], val(rng, bits), bits / 8);
      },
    }, 40, out);
    // PUSHA / POPA
    for (let i = 0; i < 16; i++) {
      const v = stackVB(rng);
      for (const r of [0, 1, 2, 3, 5, 6, 7]) v.setOp(bits, r, val(rng, bits));
      v.emit({ opc: [0x60], bits: b16 });
      out.push(v.spec(`pusha${bits === 32 ? "d" : "w"} #${i}`, NOFLAGS));
      const w = stackVB(rng);
      if (rng.bool(0.5)) for (let k = 0; k < 8; k++) w.plantVal(w.regs[ESP] + (k * bits) / 8, val(rng, bits), bits / 8);
      w.emit({ opc: [0x61], bits: b16 });
      out.push(w.spec(`popa${bits === 32 ? "d" : "w"} #${i}`, NOFLAGS));
    }
    // PUSHF / POPF
    for (let i = 0; i < 16; i++) {
      const v = stackVB(rng);
      v.emit({ opc: [0x9c], bits: b16 });
      out.push(v.spec(`pushf${bits === 32 ? "d" : "w"} #${i}`, NOFLAGS));
    }
    for (let i = 0; i < 24; i++) {
      const v = stackVB(rng);
      const img = popfImage(rng);
      v.plantVal(v.regs[ESP], bits === 32 ? img : img & 0xffff, bits / 8);
      v.emit({ opc: [0x9d], bits: b16 });
      let name = `popf${bits === 32 ? "d" : "w"} ${hex(img)}`;
      if (rng.bool(0.5)) {
        v.emit({ opc: [0x9c], bits: b16 });
        name += '; pushf';
      }
      out.push(v.spec(`${name} #${i}`, FULL));
    }
    // ENTER / LEAVE
    for (let i = 0; i < (bits === 32 ? 60 : 30); i++) {
      const v = new VB(rng);
      v.set(ESP, (0x00200800 + rng.int(0x1400)) & (rng.bool(0.8) ? ~3 : ~0));
      v.set(EBP, 0x00200200 + rng.int(0x1c00));
      const level = rng.pick([0, 1, 2, 3, 4, 5, 7, 8, 31, 32, 33, 0x41, 0xff, rng.int(6)]);
      // The host CPU touches the final ESP (an implementation detail: ENTER faults when
      // ESP - size is unmapped, with or without nesting), so the frame stays inside MAIN.
      const size = rng.pick([0, 0, 4, 8, 0x10, 0x20, 0x100, 0x3fc, rng.int(0x400), 0x7fc]);
      v.emit({ opc: [0xc8], bits: b16, imm: [...le(size, 2), level] });
      let name = `enter ${hex(size)},${level}${bits === 16 ? ' (o16)' : ''}`;
      if (rng.bool(0.3)) {
        v.emit({ opc: [0xc9], bits: b16 });
        name += '; leave';
      }
      out.push(v.spec(`${name} #${i}`, NOFLAGS));
    }
    for (let i = 0; i < 20; i++) {
      const v = new VB(rng);
      v.set(EBP, 0x00200200 + rng.int(0x1c00));
      v.set(ESP, rng.bool(0.5) ? STACK : rng.u32());
      if (rng.bool(0.5)) v.plantVal(v.regs[EBP], val(rng, bits), bits / 8);
      v.emit({ opc: [0xc9], bits: b16 });
      out.push(v.spec(`leave${bits === 16 ? ' (o16)' : ''} #${i}`, NOFLAGS));
    }
  }
  // ESP-relative corner cases: push [esp], pop [esp+d], pop esp, push esp.
  const corner: [string, number[]][] = [
    ['push dword [esp]', [0xff, 0x34, 0x24]],
    ['push dword [esp+4]', [0xff, 0x74, 0x24, 0x04]],
    ['pop dword [esp]', [0x8f, 0x04, 0x24]],
    ['pop dword [esp+4]', [0x8f, 0x44, 0x24, 0x04]],
    ['pop dword [esp-4]', [0x8f, 0x44, 0x24, 0xfc]],
    ['pop word [esp]', [0x66, 0x8f, 0x04, 0x24]],
    ['push esp; pop eax', [0x54, 0x58]],
    ['pop esp', [0x5c]],
    ['push esp; pop esp', [0x54, 0x5c]],
    ['pop dword [esp+ecx*4]', [0x8f, 0x04, 0x8c]],
  ];
  for (const [name, code] of corner) {
    for (let i = 0; i < 4; i++) {
      const v = stackVB(rng);
      v.set(ECX, rng.int(4));
      v.code.push(...code);
      out.push(v.spec(`${name} #${i}`, NOFLAGS));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// MUL / IMUL
// ---------------------------------------------------------------------------
export function gMul(rng: Rng): Spec[] {
  const out: Spec[] = [];
  for (const bits of [8, 16, 32] as const) {
    const opc = bits === 8 ? 0xf6 : 0xf7;
    genRm(rng, { mnem: 'mul', form: `r/m${bits}`, opc: [opc], bits, ext: 4, mask: MULMASK, avoid: [EAX, EDX], pre: (v) => v.setOp(bits, 0, val(rng, bits)) }, 80, out);
    genRm(rng, { mnem: 'imul', form: `r/m${bits}`, opc: [opc], bits, ext: 5, mask: MULMASK, avoid: [EAX, EDX], pre: (v) => v.setOp(bits, 0, val(rng, bits)) }, 80, out);
  }
  for (const bits of [16, 32] as const) {
    genRm(rng, { mnem: 'imul', form: `r${bits},r/m${bits}`, opc: [0x0f, 0xaf], bits, regOp: true, mask: MULMASK }, 70, out);
    genRm(rng, { mnem: 'imul', form: `r${bits},r/m${bits},imm${bits}`, opc: [0x69], bits, regOp: true, imm: (bits / 8) as 2 | 4, mask: MULMASK }, 60, out);
    genRm(rng, { mnem: 'imul', form: `r${bits},r/m${bits},imm8`, opc: [0x6b], bits, regOp: true, imm: 1, immGen: imm8s, mask: MULMASK }, 60, out);
  }
  return out;
}

// ---------------------------------------------------------------------------
// DIV / IDIV (incl. #DE on zero divisor and quotient overflow)
// ---------------------------------------------------------------------------
function sx(v: bigint, bits: number): bigint {
  return BigInt.asIntN(bits, v);
}

export function gDiv(rng: Rng): Spec[] {
  const out: Spec[] = [];
  for (const bits of [8, 16, 32] as const) {
    const B = BigInt(bits);
    for (const signed of [false, true]) {
      const name = signed ? 'idiv' : 'div';
      for (let i = 0; i < 120; i++) {
        const v = new VB(rng);
        const rm = v.rm(bits, 0.4, { need: bits / 8, avoid: [EAX, EDX] });
        // the divisor
        let d: number;
        if (rm.mem) {
          if (rng.bool(0.5)) v.plantVal(rm.ea, val(rng, bits), bits / 8);
          d = v.read(rm.ea, bits / 8);
        } else {
          v.setOp(bits, rm.reg, val(rng, bits));
          d = v.getOp(bits, rm.reg);
        }
        const kind = rng.pick(['normal', 'normal', 'normal', 'normal', 'normal', 'normal', 'over', 'over', 'zero', 'edge', 'random']);
        if (kind === 'zero') {
          if (rm.mem) v.plantVal(rm.ea, 0, bits / 8);
          else v.setOp(bits, rm.reg, 0);
          d = 0;
        }
        let dividend: bigint; // as a 2*bits unsigned pattern
        const D = signed ? sx(BigInt(d), bits) : BigInt(d);
        const qmax = signed ? (1n << (B - 1n)) - 1n : (1n << B) - 1n;
        const qmin = signed ? -(1n << (B - 1n)) : 0n;
        const rand = (n: bigint) => {
          let x = 0n;
          for (let k = 0n; k < n; k += 32n) x = (x << 32n) | BigInt(rng.u32());
          return x & ((1n << n) - 1n);
        };
        const absD = D < 0n ? -D : D;
        if (kind === 'normal' && D !== 0n) {
          let q = rng.bool(0.3) ? rng.pick([qmax, qmin, 0n, 1n, -1n, qmax - 1n]) : rand(B);
          if (signed) q = sx(q, bits);
          if (q > qmax) q = qmax;
          if (q < qmin) q = qmin;
          let r = absD > 1n ? rand(B) % absD : 0n;
          if (signed && q * D < 0n) r = -r;
          else if (signed && q * D === 0n && rng.bool(0.5)) r = -r;
          dividend = q * D + r;
        } else if (kind === 'over' && D !== 0n) {
          // quotient just past the range, or far past it
          const q = rng.bool(0.5) ? (rng.bool(0.5) ? qmax + 1n : qmin - 1n) : (rng.bool(0.5) ? 1n : -1n) * (qmax + 1n + rand(B));
          dividend = (signed ? q : q < 0n ? -q : q) * D;
        } else if (kind === 'edge') {
          const min2 = -(1n << (2n * B - 1n));
          const c = rng.int(6);
          if (c === 0) dividend = min2;
          else if (c === 1) dividend = qmin;
          else if (c === 2) dividend = qmin * 2n;
          else if (c === 3) dividend = (1n << (2n * B - 1n)) - 1n;
          else if (c === 4) dividend = -1n;
          else dividend = qmax * 2n + 1n;
          if (c <= 2 && signed && rng.bool(0.6)) {
            // divisor -1 or 2 / -2
            const nd = rng.pick([-1n, 2n, -2n]);
            if (rm.mem) v.plantVal(rm.ea, Number(BigInt.asUintN(bits, nd)), bits / 8);
            else v.setOp(bits, rm.reg, Number(BigInt.asUintN(bits, nd)));
          }
        } else {
          dividend = rand(2n * B);
        }
        const u = BigInt.asUintN(2 * bits, dividend);
        if (bits === 8) v.setOp(16, EAX, Number(u));
        else if (bits === 16) {
          v.setOp(16, EAX, Number(u & 0xffffn));
          v.setOp(16, EDX, Number(u >> 16n));
        } else {
          v.setOp(32, EAX, Number(u & 0xffffffffn));
          v.setOp(32, EDX, Number(u >> 32n));
        }
        // What we expect, when the divisor register is not part of the dividend.
        let expect: number | null | undefined;
        const overlap = !rm.mem && (bits === 8 ? rm.reg === 0 || rm.reg === 4 : rm.reg === EAX || rm.reg === EDX);
        if (!overlap) {
          const dv = rm.mem ? v.read(rm.ea, bits / 8) : v.getOp(bits, rm.reg);
          const Dv = signed ? sx(BigInt(dv), bits) : BigInt(dv);
          const N = signed ? sx(u, 2 * bits) : u;
          if (Dv === 0n) expect = 0;
          else {
            const q = N / Dv; // truncates toward zero
            expect = q > qmax || q < qmin ? 0 : null;
          }
        }
        const seg = v.seg(rm, false);
        v.emit({ opc: [bits === 8 ? 0xf6 : 0xf7], bits: bits === 16 ? 16 : undefined, rm, f: signed ? 7 : 6, seg });
        out.push(
          v.spec(`${name} r/m${bits} ${segName(seg)}${rm.mem ? rm.desc : regName(bits, rm.reg)} (${kind}) #${i}`, DIVMASK, {
            allow: [0],
            expect,
          }),
        );
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Group 3 TEST/NOT/NEG, TEST 84/85/A8/A9
// ---------------------------------------------------------------------------
export function gGroup3(rng: Rng): Spec[] {
  const out: Spec[] = [];
  for (const bits of [8, 16, 32] as const) {
    const opc = bits === 8 ? 0xf6 : 0xf7;
    const ib = (bits === 32 ? 4 : bits / 8) as 1 | 2 | 4;
    genRm(rng, { mnem: 'test', form: `r/m${bits},imm${bits}`, opc: [opc], bits, ext: 0, imm: ib, mask: LOGIC }, 40, out);
    genRm(rng, { mnem: 'not', form: `r/m${bits}`, opc: [opc], bits, ext: 2, write: true, lock: true, mask: NOFLAGS }, 40, out);
    genRm(rng, { mnem: 'neg', form: `r/m${bits}`, opc: [opc], bits, ext: 3, write: true, lock: true, mask: FULL }, 50, out);
    genRm(rng, { mnem: 'test', form: `r/m${bits},r${bits}`, opc: [bits === 8 ? 0x84 : 0x85], bits, regOp: true, mask: LOGIC }, 40, out);
    genAcc(rng, 'test', bits === 8 ? 0xa8 : 0xa9, bits, LOGIC, 20, out);
  }
  return out;
}

// ---------------------------------------------------------------------------
// MOV, MOVZX/MOVSX, XCHG, LEA, CBW/CWDE/CWD/CDQ, XLAT, NOP
// ---------------------------------------------------------------------------
export function gMov(rng: Rng): Spec[] {
  const out: Spec[] = [];
  const N = 40;
  genRm(rng, { mnem: 'mov', form: 'r/m8,r8', opc: [0x88], bits: 8, regOp: true, write: true, mask: NOFLAGS }, N, out);
  genRm(rng, { mnem: 'mov', form: 'r/m32,r32', opc: [0x89], bits: 32, regOp: true, write: true, mask: NOFLAGS }, N, out);
  genRm(rng, { mnem: 'mov', form: 'r/m16,r16', opc: [0x89], bits: 16, regOp: true, write: true, mask: NOFLAGS }, N, out);
  genRm(rng, { mnem: 'mov', form: 'r8,r/m8', opc: [0x8a], bits: 8, regOp: true, mask: NOFLAGS }, N, out);
  genRm(rng, { mnem: 'mov', form: 'r32,r/m32', opc: [0x8b], bits: 32, regOp: true, mask: NOFLAGS }, N, out);
  genRm(rng, { mnem: 'mov', form: 'r16,r/m16', opc: [0x8b], bits: 16, regOp: true, mask: NOFLAGS }, N, out);
  genRm(rng, { mnem: 'mov', form: 'r/m8,imm8', opc: [0xc6], bits: 8, ext: 0, imm: 1, write: true, mask: NOFLAGS }, N, out);
  genRm(rng, { mnem: 'mov', form: 'r/m32,imm32', opc: [0xc7], bits: 32, ext: 0, imm: 4, write: true, mask: NOFLAGS }, N, out);
  genRm(rng, { mnem: 'mov', form: 'r/m16,imm16', opc: [0xc7], bits: 16, ext: 0, imm: 2, write: true, mask: NOFLAGS }, N, out);
  for (let r = 0; r < 8; r++) {
    for (let i = 0; i < 4; i++) {
      let v = new VB(rng);
      let imm = val(rng, 8);
      v.emit({ opc: [0xb0 + r], imm: [imm] });
      out.push(v.spec(`mov ${regName(8, r)},imm8 ${hex(imm)} #${i}`, NOFLAGS));
      v = new VB(rng);
      imm = val(rng, 32);
      v.emit({ opc: [0xb8 + r], imm: le(imm, 4) });
      out.push(v.spec(`mov ${regName(32, r)},imm32 ${hex(imm)} #${i}`, NOFLAGS));
      v = new VB(rng);
      imm = val(rng, 16);
      v.emit({ opc: [0xb8 + r], bits: 16, imm: le(imm, 2) });
      out.push(v.spec(`mov ${regName(16, r)},imm16 ${hex(imm)} #${i}`, NOFLAGS));
    }
  }
  // moffs forms A0-A3, 32- and 16-bit addresses
  const moffs: [number, number, string][] = [
    [0xa0, 8, 'mov al,moffs8'],
    [0xa1, 32, 'mov eax,moffs32'],
    [0xa1, 16, 'mov ax,moffs16'],
    [0xa2, 8, 'mov moffs8,al'],
    [0xa3, 32, 'mov moffs32,eax'],
    [0xa3, 16, 'mov moffs16,ax'],
  ];
  for (const [opc, bits, name] of moffs) {
    for (let i = 0; i < 24; i++) {
      const v = new VB(rng);
      const a16 = rng.bool(0.35);
      const n = bits / 8;
      const addr = a16 ? 0x1000 + rng.int(0x2000 - n + 1) : 0x00200000 + rng.int(0x2000 - n + 1);
      v.setOp(bits, EAX, val(rng, bits));
      if (opc <= 0xa1 && rng.bool(0.4)) v.plantVal(addr, val(rng, bits), n);
      if (a16) v.usesLow = true;
      const write = opc >= 0xa2;
      const seg = rng.bool(0.15) ? rng.pick(write ? [0x26, 0x36, 0x3e] : [0x26, 0x2e, 0x36, 0x3e]) : null;
      v.emit({ opc: [opc], bits: bits === 16 ? 16 : undefined, a16, seg, imm: le(addr, a16 ? 2 : 4) });
      out.push(v.spec(`${name} ${a16 ? 'a16 ' : ''}${segName(seg)}[${hex(addr)}] #${i}`, NOFLAGS));
    }
  }
  // MOVZX / MOVSX
  for (const [opc, name] of [[0xb6, 'movzx'], [0xbe, 'movsx']] as const) {
    genRm(rng, { mnem: name, form: 'r32,r/m8', opc: [0x0f, opc], bits: 32, rmBits: 8, regOp: true, mask: NOFLAGS }, N, out);
    genRm(rng, { mnem: name, form: 'r16,r/m8', opc: [0x0f, opc], bits: 16, rmBits: 8, regOp: true, mask: NOFLAGS }, N, out);
    genRm(rng, { mnem: name, form: 'r32,r/m16', opc: [0x0f, opc + 1], bits: 32, rmBits: 16, regOp: true, mask: NOFLAGS }, N, out);
    genRm(rng, { mnem: name, form: 'r16,r/m16', opc: [0x0f, opc + 1], bits: 16, regOp: true, mask: NOFLAGS }, 12, out);
  }
  // XCHG
  genRm(rng, { mnem: 'xchg', form: 'r/m8,r8', opc: [0x86], bits: 8, regOp: true, write: true, lock: true, mask: NOFLAGS }, N, out);
  genRm(rng, { mnem: 'xchg', form: 'r/m32,r32', opc: [0x87], bits: 32, regOp: true, write: true, lock: true, mask: NOFLAGS }, N, out);
  genRm(rng, { mnem: 'xchg', form: 'r/m16,r16', opc: [0x87], bits: 16, regOp: true, write: true, lock: true, mask: NOFLAGS }, N, out);
  for (const bits of [32, 16] as const) {
    for (let r = 0; r < 8; r++) {
      for (let i = 0; i < 4; i++) {
        const v = new VB(rng);
        v.setOp(bits, EAX, val(rng, bits));
        v.setOp(bits, r, val(rng, bits));
        v.emit({ opc: [0x90 + r], bits: bits === 16 ? 16 : undefined });
        out.push(v.spec(`xchg ${regName(bits, 0)},${regName(bits, r)} (${hex(0x90 + r)}) #${i}`, NOFLAGS));
      }
    }
  }
  // LEA: any address, 32/16-bit operand and address sizes
  for (const [osize, a16, n] of [[32, false, 100], [16, false, 30], [32, true, 40], [16, true, 20]] as const) {
    for (let i = 0; i < n; i++) {
      const v = new VB(rng);
      const rm = v.mem({ anywhere: true, a16 });
      const f = rng.int(8);
      v.emit({ opc: [0x8d], bits: osize === 16 ? 16 : undefined, rm, f, seg: rng.bool(0.1) ? rng.pick([0x26, 0x2e, 0x36, 0x3e]) : null });
      out.push(v.spec(`lea ${regName(osize, f)},${rm.desc} #${i}`, NOFLAGS));
    }
  }
  // CBW CWDE CWD CDQ
  for (const [opc, bits, name] of [[0x98, 16, 'cbw'], [0x98, 32, 'cwde'], [0x99, 16, 'cwd'], [0x99, 32, 'cdq']] as const) {
    for (let i = 0; i < 24; i++) {
      const v = new VB(rng);
      v.setOp(32, EAX, val(rng, rng.pick([8, 16, 32])) ^ (rng.bool(0.5) ? rng.u32() & 0xffff0000 : 0));
      v.setOp(32, EDX, rng.u32());
      v.emit({ opc: [opc], bits: bits === 16 ? 16 : undefined });
      out.push(v.spec(`${name} #${i}`, NOFLAGS));
    }
  }
  // XLAT
  for (let i = 0; i < 40; i++) {
    const v = new VB(rng);
    const a16 = rng.bool(0.3);
    const tbl = a16 ? 0x1000 + rng.int(0x2000 - 0x100) : 0x00200000 + rng.int(0x2000 - 0x100);
    if (a16) {
      v.set(EBX, (rng.u32() & 0xffff0000) | tbl);
      v.usesLow = true;
    } else v.set(EBX, tbl);
    v.setOp(32, EAX, rng.u32());
    const seg = rng.bool(0.25) ? rng.pick([0x26, 0x2e, 0x36, 0x3e]) : null;
    v.emit({ opc: [0xd7], a16, seg });
    out.push(v.spec(`xlat ${a16 ? 'a16 ' : ''}${segName(seg)}#${i}`, NOFLAGS));
  }
  // NOPs
  const nops: [string, number[]][] = [
    ['nop', [0x90]],
    ['nop (o16)', [0x66, 0x90]],
    ['pause', [0xf3, 0x90]],
  ];
  for (const [name, code] of nops) {
    for (let i = 0; i < 6; i++) {
      const v = new VB(rng);
      v.code.push(...code);
      out.push(v.spec(`${name} #${i}`, NOFLAGS));
    }
  }
  for (let i = 0; i < 24; i++) {
    const v = new VB(rng);
    const rm = rng.bool(0.7) ? v.mem({ anywhere: true }) : regRM(rng.int(8), 32);
    const b16 = rng.bool(0.3);
    v.emit({ opc: [0x0f, 0x1f], bits: b16 ? 16 : undefined, rm, f: 0 });
    out.push(v.spec(`nop r/m${b16 ? 16 : 32} (0f 1f) ${rm.desc} #${i}`, NOFLAGS));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Addressing: every ModRM/SIB form, 16-bit addressing, segment overrides
// ---------------------------------------------------------------------------
type AddrInsn = { name: string; opc: number[]; bits: 8 | 16 | 32; kind: 'load' | 'store' | 'lea' | 'rmw' };
const ADDR_INSNS: AddrInsn[] = [
  { name: 'mov r32,r/m32', opc: [0x8b], bits: 32, kind: 'load' },
  { name: 'mov r/m32,r32', opc: [0x89], bits: 32, kind: 'store' },
  { name: 'lea r32,m', opc: [0x8d], bits: 32, kind: 'lea' },
  { name: 'add r/m8,r8', opc: [0x00], bits: 8, kind: 'rmw' },
  { name: 'sub r16,r/m16', opc: [0x2b], bits: 16, kind: 'load' },
  { name: 'xor r/m32,r32', opc: [0x31], bits: 32, kind: 'rmw' },
];

function addrVector(rng: Rng, ins: AddrInsn, o: Parameters<VB['mem']>[0], i: number, out: Spec[], segP = 0.1): void {
  const v = new VB(rng);
  const rm = ins.kind === 'lea' ? v.mem({ ...o, anywhere: rng.bool(0.5) }) : v.mem({ need: ins.bits / 8, ...o });
  const f = rng.int(8);
  v.setOp(ins.bits, f, val(rng, ins.bits));
  const seg = v.seg(rm, ins.kind === 'store' || ins.kind === 'rmw', segP);
  v.emit({ opc: ins.opc, bits: ins.bits === 16 ? 16 : undefined, rm, f, seg });
  const mask = ins.opc[0] === 0x31 ? LOGIC : FULL;
  out.push(v.spec(`${ins.name} ${segName(seg)}${rm.desc} (${regName(ins.bits, f)}) #${i}`, mask));
}

export function gAddressing(rng: Rng): Spec[] {
  const out: Spec[] = [];
  let k = 0;
  // 32-bit ModRM without SIB: every mod (0-2) x rm (not 4)
  for (let mod = 0; mod < 3; mod++) {
    for (let rm = 0; rm < 8; rm++) {
      if (rm === 4) continue;
      for (let i = 0; i < 12; i++) addrVector(rng, ADDR_INSNS[(k++) % ADDR_INSNS.length], { mod, rm, a16: false }, i, out);
    }
  }
  // SIB: every mod x scale x index x base
  for (let mod = 0; mod < 3; mod++) {
    for (let scale = 0; scale < 4; scale++) {
      for (let index = 0; index < 8; index++) {
        for (let base = 0; base < 8; base++) {
          for (let i = 0; i < 3; i++) addrVector(rng, ADDR_INSNS[(k++) % ADDR_INSNS.length], { mod, rm: 4, scale, index, base, a16: false }, i, out);
        }
      }
    }
  }
  // 16-bit addressing (0x67): every mod x rm, then random forms
  for (let mod = 0; mod < 3; mod++) {
    for (let rm = 0; rm < 8; rm++) {
      for (let i = 0; i < 10; i++) addrVector(rng, ADDR_INSNS[(k++) % ADDR_INSNS.length], { mod, rm, a16: true }, i, out);
    }
  }
  // Segment overrides on random forms
  for (let i = 0; i < 120; i++) addrVector(rng, ADDR_INSNS[(k++) % ADDR_INSNS.length], {}, i, out, 1);
  return out;
}

// ---------------------------------------------------------------------------
// Shifts and rotates: C0 C1 D0-D3, all 8 subops
// ---------------------------------------------------------------------------
const SHIFTS = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal(/6)', 'sar'];
const COUNTS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 18, 24, 31, 32, 33, 34, 63, 64, 65, 0x80, 0xff];

function shiftMask(sub: number, bits: number, count: number): number {
  const c = count & 31;
  if (c === 0) return FULL;
  if (sub < 4) return c === 1 ? FULL : FULL & ~OF;
  let m = FULL & ~AF;
  if (c > 1) m &= ~OF;
  if (sub !== 7 && c >= bits) m &= ~CF;
  return m;
}

export function gShift(rng: Rng): Spec[] {
  const out: Spec[] = [];
  const cnt = (r: Rng) => (r.bool(0.75) ? r.pick(COUNTS) : r.int(256));
  for (let sub = 0; sub < 8; sub++) {
    const mnem = SHIFTS[sub];
    for (const bits of [8, 16, 32] as const) {
      const b8 = bits === 8;
      // by 1
      genRm(rng, { mnem, form: `r/m${bits},1`, opc: [b8 ? 0xd0 : 0xd1], bits, ext: sub, write: true, mask: shiftMask(sub, bits, 1) }, 20, out);
      // by CL
      genRm(rng, {
        mnem, form: `r/m${bits},cl`, opc: [b8 ? 0xd2 : 0xd3], bits, ext: sub, write: true, mask: 0, avoid: [ECX],
        pre: (v) => v.set(ECX, (rng.u32() & 0xffffff00) | cnt(rng)),
        post: (v) => ({ mask: shiftMask(sub, bits, v.regs[ECX] & 0xff) }),
      }, 60, out);
      // by imm8
      genRm(rng, {
        mnem, form: `r/m${bits},imm8`, opc: [b8 ? 0xc0 : 0xc1], bits, ext: sub, imm: 1, immGen: cnt, write: true, mask: 0,
        post: (_v, c) => ({ mask: shiftMask(sub, bits, c.imm!) }),
      }, 60, out);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// SHLD / SHRD
// ---------------------------------------------------------------------------
export function gShld(rng: Rng): Spec[] {
  const out: Spec[] = [];
  const cnt = (r: Rng) => (r.bool(0.7) ? r.int(34) : r.pick([63, 64, 0xff, 0x80, 0x41]));
  for (const [base, mnem] of [[0xa4, 'shld'], [0xac, 'shrd']] as const) {
    for (const bits of [16, 32] as const) {
      for (const byCl of [false, true]) {
        const N = 110;
        for (let i = 0; i < N; i++) {
          const v = new VB(rng);
          let count: number;
          if (byCl) {
            count = cnt(rng);
            v.set(ECX, (rng.u32() & 0xffffff00) | count);
          } else count = cnt(rng);
          const c = count & 31;
          const undef = bits === 16 && c > 16;
          // For 16-bit counts > 16 the result is undefined: register destination only (ignored).
          const rm = undef ? regRM(rng.int(8), 16) : v.rm(bits, 0.4, { need: bits / 8, avoid: byCl ? [ECX] : [] });
          const f = rng.int(8);
          v.setOp(bits, f, val(rng, bits));
          if (!rm.mem) v.setOp(bits, rm.reg, val(rng, bits));
          if (byCl) v.set(ECX, (v.regs[ECX] & 0xffffff00) | count); // the operands may have overwritten CL
          count = byCl ? v.regs[ECX] & 0xff : count;
          const cc = count & 31;
          let mask: number;
          const extra: Partial<Spec> = {};
          if (cc === 0) mask = FULL;
          else if (bits === 16 && cc > 16) {
            mask = DF;
            if (!rm.mem) extra.ignore = [rname32(rm.reg)];
          } else mask = cc === 1 ? FULL & ~AF : FULL & ~(AF | OF);
          const seg = v.seg(rm, true);
          v.emit({ opc: [0x0f, base + (byCl ? 1 : 0)], bits: bits === 16 ? 16 : undefined, rm, f, seg, imm: byCl ? undefined : [count] });
          const name = `${mnem} r/m${bits},r${bits},${byCl ? 'cl' : 'imm8'} ${segName(seg)}${rm.mem ? rm.desc : regName(bits, rm.reg)},${regName(bits, f)},${count}`;
          out.push(v.spec(`${name} #${i}`, mask, extra));
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Bit instructions: BT/BTS/BTR/BTC, BSF/BSR, BSWAP
// ---------------------------------------------------------------------------
const BT_MASK = FULL & ~(OF | SF | AF | PF);

export function gBit(rng: Rng): Spec[] {
  const out: Spec[] = [];
  const BT = [[0xa3, 'bt', 4], [0xab, 'bts', 5], [0xb3, 'btr', 6], [0xbb, 'btc', 7]] as const;
  for (const [opc, mnem, ext] of BT) {
    const w = mnem !== 'bt';
    for (const bits of [16, 32] as const) {
      const b16 = bits === 16 ? 16 : undefined;
      // register bit base, register offset (offset mod size)
      genRm(rng, { mnem, form: `r${bits},r${bits}`, opc: [0x0f, opc], bits, regOp: true, pMem: 0, mask: BT_MASK }, 25, out);
      // memory bit base, register offset: signed offsets beyond the operand
      for (let i = 0; i < 60; i++) {
        const v = new VB(rng);
        const range = bits === 16 ? 0x7fff : 0x3fff;
        let off = rng.pick([0, 1, bits - 1, bits, -1, -bits, -bits - 1, rng.range(-64, 64), rng.range(-range, range), rng.range(-range, range)]);
        if (bits === 16 && rng.bool(0.2)) off = rng.pick([0x7fff, -0x8000]);
        const unit = bits / 8;
        const offUnits = Math.floor(off / bits); // arithmetic shift
        const lo = 0x00200000, hi = 0x00202000 - unit;
        // The accessed unit: EA + unit*offUnits, inside MAIN.
        let acc = lo + rng.int(hi - lo + 1);
        const ea = (acc - unit * offUnits) >>> 0;
        const f = rng.int(8);
        let rm: RM;
        try {
          rm = v.mem({ target: ea, avoid: [f] });
        } catch {
          continue;
        }
        const regVal = bits === 16 ? (rng.u32() & 0xffff0000) | (off & 0xffff) : off >>> 0;
        v.set(f, regVal);
        acc = (ea + unit * offUnits) >>> 0;
        if (rng.bool(0.3)) v.plantVal(acc, val(rng, bits), unit);
        const lock = w && rng.bool(0.35);
        const seg = v.seg(rm, w);
        v.emit({ opc: [0x0f, opc], bits: b16, rm, f, lock, seg });
        out.push(v.spec(`${mnem} m${bits},r${bits} ${lock ? 'lock ' : ''}${segName(seg)}${rm.desc},${regName(bits, f)}=${off} #${i}`, BT_MASK));
      }
      // immediate offset (masked to the operand size)
      genRm(rng, {
        mnem, form: `r/m${bits},imm8`, opc: [0x0f, 0xba], bits, ext, imm: 1, write: w, lock: w, mask: BT_MASK,
        immGen: (r) => (r.bool(0.5) ? r.int(bits) : r.pick([bits, bits + 1, 31, 32, 63, 0x80, 0xff, r.int(256)])),
      }, 40, out);
    }
  }
  // BSF / BSR
  const scan = (rng: Rng, bits: number) => {
    const k = rng.int(6);
    if (k === 0) return 0;
    if (k === 1) return (1 << rng.int(bits)) >>> 0;
    if (k === 2) return ((rng.u32() & rng.u32() & rng.u32()) & sizeMask(bits)) >>> 0;
    return val(rng, bits);
  };
  for (const [opc, mnem] of [[0xbc, 'bsf'], [0xbd, 'bsr']] as const) {
    for (const bits of [16, 32] as const) {
      genRm(rng, {
        mnem, form: `r${bits},r/m${bits}`, opc: [0x0f, opc], bits, regOp: true, mask: ZF | DF, opVal: scan,
        post: (v, c) => {
          const src = c.rm.mem ? v.read(c.rm.ea, bits / 8) : v.getOp(bits, c.rm.reg);
          // Zero source: the destination is undefined (Intel leaves it unchanged).
          return src === 0 ? { ignore: [rname32(c.f)] } : {};
        },
      }, 70, out);
    }
  }
  // BSWAP
  for (let r = 0; r < 8; r++) {
    for (let i = 0; i < 5; i++) {
      const v = new VB(rng);
      v.setOp(32, r, val(rng, 32) ^ (rng.bool(0.5) ? rng.u32() : 0));
      v.emit({ opc: [0x0f, 0xc8 + r] });
      out.push(v.spec(`bswap ${regName(32, r)} #${i}`, NOFLAGS));
    }
    // BSWAP r16: the SDM leaves the result undefined
    const v = new VB(rng);
    v.setOp(32, r, rng.u32());
    v.emit({ opc: [0x0f, 0xc8 + r], bits: 16 });
    out.push(v.spec(`bswap ${regName(16, r)} (undefined result) #0`, NOFLAGS, { ignore: [rname32(r)] }));
  }
  return out;
}

// ---------------------------------------------------------------------------
// String instructions
// ---------------------------------------------------------------------------
export function gString(rng: Rng): Spec[] {
  const out: Spec[] = [];
  const OPS = [[0xa4, 'movs'], [0xa6, 'cmps'], [0xaa, 'stos'], [0xac, 'lods'], [0xae, 'scas']] as const;
  for (const [opc, mnem] of OPS) {
    const cmp = mnem === 'cmps' || mnem === 'scas';
    const usesSrc = mnem === 'movs' || mnem === 'cmps' || mnem === 'lods';
    for (const bits of [8, 16, 32] as const) {
      const n = bits / 8;
      for (const rep of cmp ? [0, 0xf3, 0xf2] : [0, 0xf3]) {
        for (const a16 of [false, true]) {
          for (const df of [0, 1]) {
            const N = rep ? 14 : 7;
            for (let i = 0; i < N; i++) {
              const v = new VB(rng);
              v.eflags = (v.eflags & ~DF) | (df ? DF : 0);
              const region = a16 ? { base: 0x1000, size: 0x2000 } : { base: 0x00200000, size: 0x2000 };
              const count = rep ? rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 11]) : 0;
              const span = (count + 2) * n + 24;
              const pos = () => region.base + span + rng.int(region.size - 2 * span);
              const si = pos();
              let di = pos();
              if (mnem === 'movs' && rng.bool(0.3)) di = si + rng.range(-3, 3) * (rng.bool(0.5) ? 1 : n);
              if (cmp && mnem === 'cmps' && rng.bool(0.1)) di = si;
              const hi = () => (a16 && rng.bool(0.6) ? rng.u32() & 0xffff0000 : 0);
              v.set(ESI, (hi() | si) >>> 0);
              v.set(EDI, (hi() | di) >>> 0);
              if (a16) v.usesLow = true;
              if (rep) v.set(ECX, a16 ? ((rng.u32() & 0xffff0000) | count) >>> 0 : count);
              else v.setOp(32, ECX, rng.u32());
              v.setOp(32, EAX, val(rng, 32));
              const step = df ? -n : n;
              // Make compare-loops stop at an interesting place.
              if (rep && count > 0 && cmp) {
                const stop = rng.int(count + 1); // element index where the run ends (count = never)
                const srcAt = (k: number) => v.read(si + k * step, n);
                if (mnem === 'scas') {
                  if (rep === 0xf3) {
                    // REPE: stop elements equal to the accumulator, then (likely) a mismatch
                    const acc = v.getOp(bits, EAX);
                    for (let k = 0; k < stop; k++) v.plantVal(di + k * step, acc, n);
                  } else if (stop < count) {
                    v.setOp(bits, EAX, v.read(di + stop * step, n));
                  }
                } else {
                  if (rep === 0xf3) {
                    for (let k = 0; k < stop; k++) v.plantVal(di + k * step, srcAt(k), n);
                  } else if (stop < count) v.plantVal(di + stop * step, srcAt(stop), n);
                }
              } else if (!rep && cmp && rng.bool(0.3)) {
                if (mnem === 'scas') v.setOp(bits, EAX, v.read(di, n));
                else v.plantVal(di, v.read(si, n), n);
              }
              const seg = usesSrc && rng.bool(0.2) ? rng.pick([0x26, 0x2e, 0x36, 0x3e]) : !usesSrc && rng.bool(0.05) ? 0x2e : null;
              v.emit({ opc: [bits === 8 ? opc : opc + 1], bits: bits === 16 ? 16 : undefined, a16, seg, pre: rep ? [rep] : [] });
              const pfx = rep === 0xf3 ? (cmp ? 'repe ' : 'rep ') : rep === 0xf2 ? 'repne ' : '';
              const sfx = bits === 8 ? 'b' : bits === 16 ? 'w' : 'd';
              out.push(v.spec(`${pfx}${mnem}${sfx} ${a16 ? 'a16 ' : ''}${segName(seg)}df=${df} cx=${rep ? count : '-'} #${i}`, FULL));
            }
          }
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// BCD: DAA DAS AAA AAS AAM AAD
// ---------------------------------------------------------------------------
export function gBcd(rng: Rng): Spec[] {
  const out: Spec[] = [];
  for (const [opc, name] of [[0x27, 'daa'], [0x2f, 'das']] as const) {
    for (let al = 0; al < 256; al++) {
      for (let cfaf = 0; cfaf < 4; cfaf++) {
        const v = new VB(rng);
        v.setOp(32, EAX, (rng.u32() & 0xffffff00) | al);
        v.eflags = (v.eflags & ~(CF | AF)) | (cfaf & 1 ? CF : 0) | (cfaf & 2 ? AF : 0);
        v.code.push(opc);
        out.push(v.spec(`${name} al=${hex(al)} cf=${cfaf & 1} af=${cfaf >> 1}`, FULL & ~OF));
      }
    }
  }
  for (const [opc, name] of [[0x37, 'aaa'], [0x3f, 'aas']] as const) {
    for (let al = 0; al < 256; al++) {
      for (let af = 0; af < 2; af++) {
        const v = new VB(rng);
        const ah = rng.pick([0, 0xff, 0x7f, 0x80, 0x09, rng.int(256)]);
        v.setOp(32, EAX, (rng.u32() & 0xffff0000) | (ah << 8) | al);
        v.eflags = (v.eflags & ~AF) | (af ? AF : 0);
        v.code.push(opc);
        out.push(v.spec(`${name} ax=${hex((ah << 8) | al)} af=${af}`, CF | AF | DF));
      }
    }
  }
  for (const [opc, name] of [[0xd4, 'aam'], [0xd5, 'aad']] as const) {
    for (let al = 0; al < 256; al++) {
      const v = new VB(rng);
      v.setOp(32, EAX, (rng.u32() & 0xffff0000) | (rng.int(256) << 8) | al);
      v.code.push(opc, 10);
      out.push(v.spec(`${name} 10 al=${hex(al)}`, SF | ZF | PF | DF));
    }
    for (let i = 0; i < 120; i++) {
      const v = new VB(rng);
      const imm = rng.pick([0, 1, 2, 7, 8, 16, 0x7f, 0x80, 0xff, rng.int(256)]);
      v.setOp(32, EAX, rng.u32());
      v.code.push(opc, imm);
      out.push(v.spec(`${name} ${hex(imm)} ax=${hex(v.regs[EAX] & 0xffff)} #${i}`, SF | ZF | PF | DF, opc === 0xd4 ? { allow: [0], expect: imm === 0 ? 0 : null } : {}));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Flag instructions: CMC CLC STC CLD STD SAHF LAHF
// ---------------------------------------------------------------------------
export function gFlags(rng: Rng): Spec[] {
  const out: Spec[] = [];
  for (const [opc, name] of [[0xf5, 'cmc'], [0xf8, 'clc'], [0xf9, 'stc'], [0xfc, 'cld'], [0xfd, 'std']] as const) {
    for (let i = 0; i < 24; i++) {
      const v = new VB(rng);
      v.code.push(opc);
      out.push(v.spec(`${name} #${i}`, FULL));
    }
  }
  for (let i = 0; i < 80; i++) {
    const v = new VB(rng);
    v.setOp(8, 4, rng.int(256));
    v.code.push(0x9e);
    out.push(v.spec(`sahf ah=${hex(v.getOp(8, 4))} #${i}`, FULL));
  }
  for (let i = 0; i < 48; i++) {
    const v = new VB(rng);
    v.code.push(0x9f);
    out.push(v.spec(`lahf #${i}`, FULL));
  }
  // sequences
  for (let i = 0; i < 32; i++) {
    const v = new VB(rng);
    v.setOp(8, 4, rng.int(256));
    v.code.push(0x9e, 0xf5, 0x9f); // sahf; cmc; lahf
    out.push(v.spec(`sahf; cmc; lahf #${i}`, FULL));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Control transfer: Jcc, SETcc, CMOVcc, LOOPcc, JECXZ, JMP, CALL, RET
// ---------------------------------------------------------------------------
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

/** The five condition flags from a 5-bit combination (CF PF ZF SF OF), AF/DF random. */
function ccFlags(rng: Rng, combo: number): number {
  return ((combo & 1 ? CF : 0) | (combo & 2 ? PF : 0) | (combo & 4 ? ZF : 0) | (combo & 8 ? SF : 0) | (combo & 16 ? OF : 0) | (rng.u32() & (AF | DF)) | 2) >>> 0;
}

/** Code page offset of a forward landing place in the int3 fill. */
function fwdTarget(rng: Rng): number {
  return 0x400 + rng.int(0xc00);
}

export function gBranch(rng: Rng, lowOk: boolean): Spec[] {
  const out: Spec[] = [];
  for (let cc = 0; cc < 16; cc++) {
    // Jcc rel8 forward, all 32 flag combinations
    for (let combo = 0; combo < 32; combo++) {
      const v = new VB(rng);
      v.eflags = ccFlags(rng, combo);
      const rel = rng.range(1, 0x7f);
      v.code.push(0x70 + cc, rel);
      out.push(v.spec(`j${CC[cc]} rel8 +${rel} flags=${hex(v.eflags)}`, FULL));
    }
    for (let i = 0; i < 16; i++) {
      // Jcc rel8 backward onto an int3 pad: jmp over the pad first
      let v = new VB(rng);
      v.eflags = ccFlags(rng, rng.int(32));
      let pad = rng.range(1, 100);
      let t = 2 + rng.int(pad);
      v.code.push(0xeb, pad, ...new Array(pad).fill(0xcc), 0x70 + cc, (t - (pad + 4)) & 0xff);
      out.push(v.spec(`j${CC[cc]} rel8 back ${t - (pad + 4)} #${i}`, FULL));
      // Jcc rel32 forward
      v = new VB(rng);
      v.eflags = ccFlags(rng, rng.int(32));
      const tgt = fwdTarget(rng);
      v.code.push(0x0f, 0x80 + cc, ...le(tgt - 6, 4));
      out.push(v.spec(`j${CC[cc]} rel32 +${tgt - 6} #${i}`, FULL));
      // Jcc rel32 backward
      v = new VB(rng);
      v.eflags = ccFlags(rng, rng.int(32));
      pad = rng.range(1, 0x200);
      t = 5 + rng.int(pad);
      v.code.push(0xe9, ...le(pad, 4), ...new Array(pad).fill(0xcc), 0x0f, 0x80 + cc, ...le(t - (pad + 11), 4));
      out.push(v.spec(`j${CC[cc]} rel32 back ${t - (pad + 11)} #${i}`, FULL));
    }
    // SETcc
    for (let combo = 0; combo < 32; combo++) {
      const v = new VB(rng);
      v.eflags = ccFlags(rng, combo);
      const rm = v.rm(8, 0.25, { need: 1 });
      const seg = v.seg(rm, true);
      v.emit({ opc: [0x0f, 0x90 + cc], rm, f: 0, seg });
      out.push(v.spec(`set${CC[cc]} ${segName(seg)}${rm.desc} flags=${hex(v.eflags)}`, FULL));
    }
    // CMOVcc
    for (let i = 0; i < 40; i++) {
      const bits = rng.bool(0.75) ? 32 : 16;
      const v = new VB(rng);
      v.eflags = ccFlags(rng, rng.int(32));
      const rm = v.rm(bits, 0.35, { need: bits / 8 });
      const f = rng.int(8);
      v.setOp(bits, f, rng.u32());
      if (!rm.mem) v.setOp(bits, rm.reg, rng.u32());
      const seg = v.seg(rm, false);
      v.emit({ opc: [0x0f, 0x40 + cc], bits: bits === 16 ? 16 : undefined, rm, f, seg });
      out.push(v.spec(`cmov${CC[cc]} ${regName(bits, f)},${segName(seg)}${rm.desc} flags=${hex(v.eflags)} #${i}`, FULL));
    }
  }
  // LOOP / LOOPE / LOOPNE / JECXZ forward (one step)
  for (const [opc, name] of [[0xe2, 'loop'], [0xe1, 'loope'], [0xe0, 'loopne'], [0xe3, 'jecxz']] as const) {
    for (let i = 0; i < 40; i++) {
      const v = new VB(rng);
      const a16 = rng.bool(0.35);
      const c = rng.pick([0, 0, 1, 1, 2, 0x10000, 0xffffffff, rng.u32()]);
      v.set(ECX, a16 && rng.bool(0.5) ? ((rng.u32() & 0xffff0000) | (c & 0xffff)) >>> 0 : c >>> 0);
      const rel = rng.range(1, 0x7f);
      v.emit({ opc: [opc], imm: [rel], a16 });
      out.push(v.spec(`${a16 ? (opc === 0xe3 ? 'jcxz' : name + ' (a16 cx)') : name} +${rel} ecx=${hex(v.regs[ECX])} #${i}`, FULL));
    }
  }
  // LOOPcc backward: scasb; loopcc -3  (and inc eax; loop -3)
  for (let i = 0; i < 40; i++) {
    const v = new VB(rng);
    const kind = rng.pick([0xe2, 0xe1, 0xe0]);
    const a16 = rng.bool(0.3);
    const count = rng.range(1, 12);
    v.set(ECX, a16 ? ((rng.u32() & 0xffff0000) | count) >>> 0 : count);
    v.set(EDI, 0x00200100 + rng.int(0x1e00));
    v.eflags &= ~DF;
    const al = rng.int(256);
    v.setOp(8, 0, al);
    // plant a run of equal/unequal bytes
    const stop = rng.int(count + 1);
    for (let k = 0; k < stop; k++) v.plantVal(v.regs[EDI] + k, kind === 0xe0 ? (al + 1 + rng.int(255)) & 0xff : al, 1);
    if (stop < count) v.plantVal(v.regs[EDI] + stop, kind === 0xe0 ? al : (al + 1) & 0xff, 1);
    if (kind === 0xe2 && rng.bool(0.5)) {
      v.code.push(0x40, ...(a16 ? [0x67] : []), 0xe2, a16 ? 0xfc : 0xfd);
      out.push(v.spec(`inc eax; loop${a16 ? ' a16' : ''} back count=${count} #${i}`, FULL));
    } else {
      // The loop jumps back to the scasb: rel is relative to the end of the loop instruction.
      const body = [0xae, ...(a16 ? [0x67] : []), kind];
      v.code.push(...body, (-(body.length + 1)) & 0xff);
      const nm = kind === 0xe2 ? 'loop' : kind === 0xe1 ? 'loope' : 'loopne';
      out.push(v.spec(`scasb; ${nm}${a16 ? ' a16' : ''} back count=${count} stop=${stop} #${i}`, FULL));
    }
  }
  // (The backward loops are relative: any setup code before the body runs once.)

  // JMP rel8 / rel32, forward and backward
  for (let i = 0; i < 24; i++) {
    let v = new VB(rng);
    const rel = rng.range(0, 0x7f);
    v.code.push(0xeb, rel);
    out.push(v.spec(`jmp rel8 +${rel} #${i}`, FULL));
    v = new VB(rng);
    const pad8 = rng.range(1, 100);
    const t8 = 2 + rng.int(pad8);
    v.code.push(0xeb, pad8, ...new Array(pad8).fill(0xcc), 0xeb, (t8 - (pad8 + 4)) & 0xff);
    out.push(v.spec(`jmp rel8 back ${t8 - (pad8 + 4)} #${i}`, FULL));
    v = new VB(rng);
    const tgt = fwdTarget(rng);
    v.code.push(0xe9, ...le(tgt - 5, 4));
    out.push(v.spec(`jmp rel32 +${tgt - 5} #${i}`, FULL));
    v = new VB(rng);
    const pad = rng.range(1, 0x100);
    const t = 5 + rng.int(pad);
    v.code.push(0xe9, ...le(pad, 4), ...new Array(pad).fill(0xcc), 0xe9, ...le(t - (pad + 10), 4));
    out.push(v.spec(`jmp rel32 back ${t - (pad + 10)} #${i}`, FULL));
  }
  // JMP/CALL r/m32
  for (const [ext, name] of [[4, 'jmp'], [2, 'call']] as const) {
    for (let i = 0; i < 40; i++) {
      const v = new VB(rng);
      v.set(ESP, stackEsp(rng));
      const tgt = CODE_BASE + fwdTarget(rng);
      let rm: RM;
      if (rng.bool(0.4)) {
        const r = rng.pick([0, 1, 2, 3, 5, 6, 7]);
        v.set(r, tgt);
        rm = regRM(r, 32);
      } else {
        rm = v.mem({ need: 4, a16p: 0.15 });
        v.plantVal(rm.ea, tgt, 4);
      }
      const seg = v.seg(rm, false);
      v.emit({ opc: [0xff], rm, f: ext, seg });
      out.push(v.spec(`${name} r/m32 ${segName(seg)}${rm.desc} -> ${hex(tgt)} #${i}`, FULL));
    }
  }
  // CALL rel32 forward/backward
  for (let i = 0; i < 30; i++) {
    let v = new VB(rng);
    v.set(ESP, stackEsp(rng));
    const tgt = fwdTarget(rng);
    v.code.push(0xe8, ...le(tgt - 5, 4));
    out.push(v.spec(`call rel32 +${tgt - 5} #${i}`, FULL));
    v = new VB(rng);
    v.set(ESP, stackEsp(rng));
    const pad = rng.range(1, 0x100);
    const t = 5 + rng.int(pad);
    v.code.push(0xe9, ...le(pad, 4), ...new Array(pad).fill(0xcc), 0xe8, ...le(t - (pad + 10), 4));
    out.push(v.spec(`call rel32 back ${t - (pad + 10)} #${i}`, FULL));
  }
  // RET / RET imm16
  for (let i = 0; i < 40; i++) {
    const v = new VB(rng);
    v.set(ESP, stackEsp(rng));
    const tgt = CODE_BASE + fwdTarget(rng);
    const viaPush = rng.bool(0.5);
    if (!viaPush) v.plantVal(v.regs[ESP], tgt, 4);
    else v.code.push(0x68, ...le(tgt, 4));
    const imm = i % 2 ? rng.pick([0, 2, 4, 8, 0x10, 0x100, 0x7fff, 0xfffc, 0xffff, rng.int(0x10000)]) : -1;
    if (imm < 0) v.code.push(0xc3);
    else v.code.push(0xc2, ...le(imm, 2));
    out.push(v.spec(`${viaPush ? 'push imm32; ' : ''}ret${imm >= 0 ? ' ' + hex(imm) : ''} -> ${hex(tgt)} #${i}`, FULL));
  }
  // 16-bit operand-size branches: EIP is truncated to 16 bits, so they land in LOW on a planted int3.
  if (lowOk) {
    const lowTarget = () => 0x1000 + rng.int(0x2000);
    for (let i = 0; i < 60; i++) {
      const v = new VB(rng);
      v.set(ESP, stackEsp(rng));
      v.usesLow = true;
      const tgt = lowTarget();
      v.plant(tgt, [0xcc]);
      const kind = i % 6;
      const codeLen = v.setup.length; // the branch starts right after the setup
      let name: string;
      if (kind === 0) {
        v.code.push(0x66, 0xe9, ...le((tgt - (CODE_BASE + codeLen + 4)) & 0xffff, 2));
        name = `jmp rel16 (o16) -> ${hex(tgt)}`;
      } else if (kind === 1) {
        v.code.push(0x66, 0xe8, ...le((tgt - (CODE_BASE + codeLen + 4)) & 0xffff, 2));
        name = `call rel16 (o16) -> ${hex(tgt)}`;
      } else if (kind === 2) {
        const cc = rng.int(16);
        v.eflags = ccFlags(rng, rng.int(32));
        v.code.push(0x66, 0x0f, 0x80 + cc, ...le((tgt - (CODE_BASE + codeLen + 5)) & 0xffff, 2));
        name = `j${CC[cc]} rel16 (o16) -> ${hex(tgt)} flags=${hex(v.eflags)}`;
      } else if (kind === 3) {
        const imm = rng.bool(0.5) ? -1 : rng.pick([0, 2, 4, 6, 0x10, rng.int(0x10000)]);
        v.plantVal(v.regs[ESP], tgt, 2);
        if (imm < 0) v.code.push(0x66, 0xc3);
        else v.code.push(0x66, 0xc2, ...le(imm, 2));
        name = `ret${imm >= 0 ? ' ' + hex(imm) : ''} (o16) -> ${hex(tgt)}`;
      } else {
        const r = rng.pick([0, 1, 2, 3, 5, 6, 7]);
        v.set(r, ((rng.u32() & 0xffff0000) | tgt) >>> 0);
        const ext = kind === 4 ? 4 : 2;
        v.emit({ opc: [0xff], bits: 16, rm: regRM(r, 16), f: ext });
        name = `${ext === 4 ? 'jmp' : 'call'} r/m16 ${regName(16, r)} (o16) -> ${hex(tgt)}`;
      }
      out.push(v.spec(`${name} #${i}`, FULL));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// XADD, CMPXCHG, CMPXCHG8B, locked XCHG
// ---------------------------------------------------------------------------
export function gAtomic(rng: Rng): Spec[] {
  const out: Spec[] = [];
  for (const bits of [8, 16, 32] as const) {
    genRm(rng, { mnem: 'xadd', form: `r/m${bits},r${bits}`, opc: [0x0f, bits === 8 ? 0xc0 : 0xc1], bits, regOp: true, write: true, lock: true, mask: FULL }, 60, out);
    genRm(rng, {
      mnem: 'cmpxchg', form: `r/m${bits},r${bits}`, opc: [0x0f, bits === 8 ? 0xb0 : 0xb1], bits, regOp: true, write: true, lock: true, mask: FULL, avoid: [EAX],
      post: (v, c) => {
        // half of them compare equal
        if (rng.bool(0.5)) {
          const cur = c.rm.mem ? v.read(c.rm.ea, bits / 8) : v.getOp(bits, c.rm.reg);
          v.setOp(bits, EAX, cur);
        } else v.setOp(bits, EAX, val(rng, bits));
      },
    }, 90, out);
  }
  for (let i = 0; i < 100; i++) {
    const v = new VB(rng);
    const rm = v.mem({ need: 8, avoid: [EAX, EDX] });
    if (rng.bool(0.5)) {
      v.setOp(32, EAX, v.read(rm.ea, 4));
      v.setOp(32, EDX, v.read(rm.ea + 4, 4));
      if (rng.bool(0.2)) v.setOp(32, EDX, v.regs[EDX] ^ 1);
    } else {
      v.setOp(32, EAX, rng.u32());
      v.setOp(32, EDX, rng.u32());
    }
    v.setOp(32, EBX, rng.u32());
    v.setOp(32, ECX, rng.u32());
    const lock = rng.bool(0.4);
    const seg = v.seg(rm, true);
    v.emit({ opc: [0x0f, 0xc7], rm, f: 1, lock, seg });
    out.push(v.spec(`cmpxchg8b ${lock ? 'lock ' : ''}${segName(seg)}${rm.desc} #${i}`, FULL));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Misc: BOUND, INTO, UD2, invalid encodings, LOCK rules, prefixes, length limit
// ---------------------------------------------------------------------------
export function gMisc(rng: Rng): Spec[] {
  const out: Spec[] = [];
  // BOUND
  for (const bits of [32, 16] as const) {
    const n = bits / 8;
    for (let i = 0; i < 60; i++) {
      const v = new VB(rng);
      const f = rng.int(8);
      const rm = v.mem({ need: 2 * n, avoid: [f] });
      if (rng.bool(0.7)) {
        const lo = val(rng, bits);
        const hi = rng.bool(0.8) ? (lo + rng.int(1000)) & sizeMask(bits) : val(rng, bits);
        v.plantVal(rm.ea, lo, n);
        v.plantVal(rm.ea + n, hi, n);
      }
      const sgn = (x: number) => (bits === 32 ? x | 0 : (x << 16) >> 16);
      const lo = sgn(v.read(rm.ea, n));
      const hi = sgn(v.read(rm.ea + n, n));
      const idx = rng.pick([lo, lo - 1, hi, hi + 1, Math.floor((lo + hi) / 2), val(rng, bits)]);
      v.setOp(bits, f, idx >>> 0);
      const x = sgn(v.getOp(bits, f));
      const seg = v.seg(rm, false);
      v.emit({ opc: [0x62], bits: bits === 16 ? 16 : undefined, rm, f, seg });
      out.push(v.spec(`bound ${regName(bits, f)},${segName(seg)}${rm.desc} [${lo},${hi}] idx=${x} #${i}`, FULL, { allow: [5], expect: x < lo || x > hi ? 5 : null }));
    }
  }
  // INTO
  for (let i = 0; i < 40; i++) {
    const v = new VB(rng);
    if (i % 2) {
      v.code.push(0xce);
      out.push(v.spec(`into of=${v.eflags & OF ? 1 : 0} #${i}`, FULL, { allow: [4], expect: v.eflags & OF ? 4 : null }));
    } else {
      v.setOp(8, 0, val(rng, 8));
      const imm = val(rng, 8);
      v.code.push(0x04, imm, 0xce);
      const r = ((v.regs[0] << 24) >> 24) + ((imm << 24) >> 24);
      out.push(v.spec(`add al,${hex(imm)}; into #${i}`, FULL, { allow: [4], expect: r > 127 || r < -128 ? 4 : null }));
    }
  }
  // #UD: UD2 and invalid encodings
  const ud: [string, number[]][] = [
    ['ud2', [0x0f, 0x0b]],
    ['ud2 after nop', [0x90, 0x0f, 0x0b]],
    ['ud1 eax,[eax] (0f b9 /r)', [0x0f, 0xb9, 0x00]],
    ['ud0 (0f ff)', [0x0f, 0xff]],
    ['lea eax,ecx (mod=3)', [0x8d, 0xc1]],
    ['lea (o16) ax,dx (mod=3)', [0x66, 0x8d, 0xc2]],
    ['cmpxchg8b eax (mod=3)', [0x0f, 0xc7, 0xc8]],
    ['fe /2 (mod=3)', [0xfe, 0xd0]],
    ['fe /3 mem', [0xfe, 0x1d, 0x00, 0x10, 0x20, 0x00]],
    ['fe /7 (mod=3)', [0xfe, 0xff]],
    ['ff /7 (mod=3)', [0xff, 0xf8]],
    ['ff /7 mem', [0xff, 0x3d, 0x00, 0x10, 0x20, 0x00]],
    ['call far reg (ff /3 mod=3)', [0xff, 0xd8]],
    ['jmp far reg (ff /5 mod=3)', [0xff, 0xe8]],
    ['lock add eax,ebx (reg dest)', [0xf0, 0x01, 0xd8]],
    ['lock add ebx,[eax] (02/03 form)', [0xf0, 0x03, 0x18]],
    ['lock cmp [eax],ebx', [0xf0, 0x39, 0x18]],
    ['lock mov [eax],ebx', [0xf0, 0x89, 0x18]],
    ['lock mov ebx,[eax]', [0xf0, 0x8b, 0x18]],
    ['lock bt [eax],ebx', [0xf0, 0x0f, 0xa3, 0x18]],
    ['lock bt [eax],3', [0xf0, 0x0f, 0xba, 0x20, 0x03]],
    ['lock nop', [0xf0, 0x90]],
    ['lock inc eax', [0xf0, 0x40]],
    ['lock not eax', [0xf0, 0xf7, 0xd0]],
    ['lock test [eax],ebx', [0xf0, 0x85, 0x18]],
    ['lock lea', [0xf0, 0x8d, 0x18]],
    ['lock xchg eax,ebx', [0xf0, 0x87, 0xd8]],
    ['lock movs', [0xf0, 0xa5]],
    ['lock cmpxchg ebx,ecx (reg)', [0xf0, 0x0f, 0xb1, 0xcb]],
  ];
  for (const [name, code] of ud) {
    for (let i = 0; i < 3; i++) {
      const v = new VB(rng);
      v.set(EAX, 0x00200000 + rng.int(0x1f00));
      v.set(ESI, 0x00200100 + rng.int(0x1e00));
      v.set(EDI, 0x00200100 + rng.int(0x1e00));
      v.code.push(...code);
      out.push(v.spec(`${name} #${i}`, FULL, { allow: [6], expect: 6 }));
    }
  }
  // Valid LOCK forms on the 0x80-0x83 / r/m-dest / group 3 and group 4/5 encodings
  const lockOk: [string, number[]][] = [
    ['lock add [eax],ebx', [0xf0, 0x01, 0x18]],
    ['lock or byte [eax],0x5a', [0xf0, 0x80, 0x08, 0x5a]],
    ['lock adc word [eax],0x1234', [0x66, 0xf0, 0x81, 0x10, 0x34, 0x12]],
    ['lock sbb dword [eax],-1', [0xf0, 0x83, 0x18, 0xff]],
    ['lock and [eax],bl', [0xf0, 0x20, 0x18]],
    ['lock sub [eax],bx', [0xf0, 0x66, 0x29, 0x18]],
    ['lock xor [eax],ebx', [0xf0, 0x31, 0x18]],
    ['lock not dword [eax]', [0xf0, 0xf7, 0x10]],
    ['lock neg byte [eax]', [0xf0, 0xf6, 0x18]],
    ['lock inc dword [eax]', [0xf0, 0xff, 0x00]],
    ['lock dec word [eax]', [0xf0, 0x66, 0xff, 0x08]],
    ['lock bts [eax],ebx', [0xf0, 0x0f, 0xab, 0x18]],
    ['lock btc dword [eax],7', [0xf0, 0x0f, 0xba, 0x38, 0x07]],
    ['lock xchg [eax],ebx', [0xf0, 0x87, 0x18]],
    ['lock xadd [eax],ebx', [0xf0, 0x0f, 0xc1, 0x18]],
    ['lock cmpxchg [eax],ebx', [0xf0, 0x0f, 0xb1, 0x18]],
    ['lock cmpxchg8b [eax]', [0xf0, 0x0f, 0xc7, 0x08]],
  ];
  for (const [name, code] of lockOk) {
    for (let i = 0; i < 3; i++) {
      const v = new VB(rng);
      v.set(EAX, 0x00200000 + rng.int(0x1f00));
      v.setOp(32, EBX, val(rng, 32) & 0x7ff);
      v.code.push(...code);
      out.push(v.spec(`${name} #${i}`, FULL));
    }
  }
  // Prefix combinations
  const pfx: [string, number[], number][] = [
    ['o16 o16 add ax,bx', [0x66, 0x66, 0x01, 0xd8], FULL],
    ['es: add eax,ebx (ignored)', [0x26, 0x01, 0xd8], FULL],
    ['cs: ss: ds: inc ecx', [0x2e, 0x36, 0x3e, 0x41], FULL],
    ['a16 add eax,ebx (no memory)', [0x67, 0x01, 0xd8], FULL],
    ['a16 a16 nop', [0x67, 0x67, 0x90], FULL],
    ['ds: es: mov eax,[ebx] (last wins)', [0x3e, 0x26, 0x8b, 0x03], FULL],
    ['o16 a16 o16 mov ax,[bx+si]', [0x66, 0x67, 0x66, 0x8b, 0x00], FULL],
    ['rep nop (pause)', [0xf3, 0x90], FULL],
    ['wait (no pending x87 exception: a nop)', [0x9b], FULL],
    ['14 x o16 + nop (15 bytes)', [...new Array(14).fill(0x66), 0x90], FULL],
    ['9 x es: + add eax,imm32 (15 bytes)', [...new Array(9).fill(0x26), 0x81, 0xc0, 0x78, 0x56, 0x34, 0x12], FULL],
  ];
  for (const [name, code, mask] of pfx) {
    for (let i = 0; i < 4; i++) {
      const v = new VB(rng);
      v.set(EBX, 0x00200000 + rng.int(0x1f00));
      v.set(ESI, rng.int(0x20));
      if (name.includes('[bx+si]')) {
        v.set(EBX, (rng.u32() & 0xffff0000) | (0x1000 + rng.int(0x1f00)));
        v.usesLow = true;
      }
      v.code.push(...code);
      out.push(v.spec(`${name} #${i}`, mask));
    }
  }
  // Too long (> 15 bytes): #GP
  const long: [string, number[]][] = [
    ['15 x o16 + nop (16 bytes)', [...new Array(15).fill(0x66), 0x90]],
    ['10 x es: + add eax,imm32 (16 bytes)', [...new Array(10).fill(0x26), 0x81, 0xc0, 0x78, 0x56, 0x34, 0x12]],
    ['6 x ss: lock add dword [ebx+ecx*4+disp32],imm32 (18 bytes)', [...new Array(6).fill(0x36), 0xf0, 0x81, 0x84, 0x8b, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00]],
  ];
  for (const [name, code] of long) {
    for (let i = 0; i < 3; i++) {
      const v = new VB(rng);
      v.set(EBX, 0x00200000 + rng.int(0x1f00));
      v.set(ECX, rng.int(8));
      v.code.push(...code);
      out.push(v.spec(`${name} #${i}`, FULL, { allow: [13], expect: 13 }));
    }
  }
  // Writes through a CS override: code segments are not writable -> #GP
  for (let i = 0; i < 12; i++) {
    const v = new VB(rng);
    const rm = v.mem({ need: 4, a16p: 0 });
    const kind = i % 3;
    if (kind === 0) v.emit({ opc: [0x89], rm, f: rng.int(8), seg: 0x2e });
    else if (kind === 1) v.emit({ opc: [0xc6], rm, f: 0, seg: 0x2e, imm: [rng.int(256)] });
    else v.emit({ opc: [0x01], rm, f: rng.int(8), seg: 0x2e });
    out.push(v.spec(`cs: write ${rm.desc} #${i}`, FULL, { allow: [13], expect: 13 }));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Undocumented but architecturally stable on Intel: SALC, TEST F6/F7 /1,
// REPNE on MOVS/STOS/LODS (acts as REP)
// ---------------------------------------------------------------------------
export function gUndocumented(rng: Rng): Spec[] {
  const out: Spec[] = [];
  for (let i = 0; i < 24; i++) {
    const v = new VB(rng);
    v.code.push(0xd6);
    out.push(v.spec(`salc cf=${v.eflags & CF} #${i}`, FULL));
  }
  for (const bits of [8, 16, 32] as const) {
    const ib = (bits === 32 ? 4 : bits / 8) as 1 | 2 | 4;
    genRm(rng, { mnem: 'test', form: `r/m${bits},imm${bits} (/1 alias)`, opc: [bits === 8 ? 0xf6 : 0xf7], bits, ext: 1, imm: ib, mask: LOGIC }, 20, out);
  }
  for (const [opc, name] of [[0xa4, 'movs'], [0xaa, 'stos'], [0xac, 'lods']] as const) {
    for (const bits of [8, 32] as const) {
      for (let i = 0; i < 10; i++) {
        const v = new VB(rng);
        v.set(ESI, 0x00200100 + rng.int(0x1e00));
        v.set(EDI, 0x00200100 + rng.int(0x1e00));
        v.set(ECX, rng.int(8));
        v.eflags = rng.bool(0.5) ? v.eflags | DF : v.eflags & ~DF;
        v.code.push(0xf2, bits === 8 ? opc : opc + 1);
        out.push(v.spec(`repne ${name}${bits === 8 ? 'b' : 'd'} (acts as rep) ecx=${v.regs[ECX]} #${i}`, FULL));
      }
    }
  }
  // SETcc with a non-zero reg field (the SDM: ignored)
  for (let i = 0; i < 16; i++) {
    const v = new VB(rng);
    const cc = rng.int(16);
    v.emit({ opc: [0x0f, 0x90 + cc], rm: regRM(rng.int(8), 8), f: 1 + rng.int(7) });
    out.push(v.spec(`set${CC[cc]} r/m8 reg field != 0 #${i}`, FULL));
  }
  return out;
}
