// Focused tests of the x87 FPU's own machinery (ops/x87/, fp/x87trans.ts):
// the state after reset, FSAVE/FRSTOR/FSTENV images in their four layouts,
// the computed tag word, the #NM/#MF/FERR# rules, stack faults and their
// masked responses, FXAM, FBLD/FBSTP, the constants, pointers and opcode,
// reserved encodings, faults that leave the state alone, and the
// transcendentals against values computed to 600 bits (mpmath). Results and
// flags of the arithmetic are checked against a real CPU by the native test
// vectors (test/cpu/vectors.test.ts); the few tests here that need
// softfloat's arithmetic are skipped while it is not there.
//
// The programs are nasm snippets with their bytes inline: asm(`source`,
// 'hex'). After editing a source run
//     node scripts/inline-asm.mjs test/cpu/x87.test.ts
// (the last test checks the bytes against nasm when it is installed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Vcpu } from '../../src/core/Vcpu.ts';
import { Machine } from '../../src/vmm/Machine.ts';
import { IrqLine } from '../../src/vmm/IrqLine.ts';
import { FpuErrorPort, FPU_ERROR_PORT } from '../../src/devices/FpuErrorPort.ts';
import * as abi from '../../wasm/abi.ts';

const ASM_HEADER = `
CODE    equ 0x10000
DATA    equ 0x20000
RES     equ 0x30000
`;
const snippets: { src: string; hex: string }[] = [];
function asm(src: string, hex: string): Uint8Array {
  snippets.push({ src, hex });
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

const CODE = 0x10000;
const DATA = 0x20000;
const OUT = 0x30000;
const STACK = 0x9000;
const NM = 7, MF = 16, UD = 6, GP = 13;
const mask = (...v: number[]): number => v.reduce((m, x) => m | (1 << x), 0);

// FSW bits
const IE = 0x01, ZE = 0x04, PE = 0x20, SF = 0x40, ES = 0x80, C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000, B = 0x8000;

// --- 80-bit values ---------------------------------------------------------------------------
interface F80 { se: number; sig: bigint }
const f80 = (se: number, sig: bigint): F80 => ({ se, sig });
const ONE = f80(0x3fff, 0x8000000000000000n);
const TWO = f80(0x4000, 0x8000000000000000n);
const ZERO = f80(0, 0n);
const NEG_ZERO = f80(0x8000, 0n);
const INF = f80(0x7fff, 0x8000000000000000n);
const QNAN = f80(0x7fff, 0xc000000000000123n);
const SNAN = f80(0xffff, 0x8000000000000456n);
const DENORMAL = f80(0x0000, 0x0000000000000789n);
const PSEUDO_DENORMAL = f80(0x8000, 0x8000000000000001n);
const UNNORMAL = f80(0x4000, 0x4000000000000000n);
const PSEUDO_INF = f80(0x7fff, 0n);
const INDEFINITE = f80(0xffff, 0xc000000000000000n);

function f80Bytes(v: F80): Buffer {
  const b = Buffer.alloc(10);
  b.writeBigUInt64LE(v.sig);
  b.writeUInt16LE(v.se, 8);
  return b;
}
function readF80(vm: Vcpu, addr: number): F80 {
  const b = Buffer.from(vm.readPhys(addr, 10));
  return f80(b.readUInt16LE(8), b.readBigUInt64LE(0));
}
const hex80 = (v: F80): string => `${v.se.toString(16).padStart(4, '0')}:${v.sig.toString(16).padStart(16, '0')}`;

function w16(vm: Vcpu, addr: number, v: number): void {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v & 0xffff);
  vm.writePhys(addr, b);
}
function w32(vm: Vcpu, addr: number, v: number): void {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  vm.writePhys(addr, b);
}
function r16(vm: Vcpu, addr: number): number {
  return Buffer.from(vm.readPhys(addr, 2)).readUInt16LE();
}
function r32(vm: Vcpu, addr: number): number {
  return Buffer.from(vm.readPhys(addr, 4)).readUInt32LE();
}

/** The FPU area of the vCPU block. */
function fpu(vm: Vcpu) {
  const dv = new DataView(vm.memory.buffer, vm.base + abi.V_FPU, 512);
  return {
    fcw: dv.getUint16(abi.FPU_FCW, true),
    fsw: dv.getUint16(abi.FPU_FSW, true),
    ftw: dv.getUint8(abi.FPU_FTW),
    fop: dv.getUint16(abi.FPU_FOP, true),
    fip: dv.getUint32(abi.FPU_FIP, true),
    fcs: dv.getUint16(abi.FPU_FCS, true),
    fdp: dv.getUint32(abi.FPU_FDP, true),
    fds: dv.getUint16(abi.FPU_FDS, true),
    mxcsr: dv.getUint32(abi.FPU_MXCSR, true),
    mxcsrMask: dv.getUint32(abi.FPU_MXCSR_MASK, true),
    ignne: dv.getUint32(abi.FPU_FERR_IGNNE, true),
    top: (dv.getUint16(abi.FPU_FSW, true) >> 11) & 7,
    reg: (p: number): F80 => f80(dv.getUint16(abi.FPU_REGS + p * 16 + 8, true), dv.getBigUint64(abi.FPU_REGS + p * 16, true)),
  };
}
function setIgnne(vm: Vcpu, v: number): void {
  new DataView(vm.memory.buffer).setUint32(vm.base + abi.V_FPU + abi.FPU_FERR_IGNNE, v, true);
}
/**
 * Runs to the end, answering FERR# as the board's IGNNE# latch would once
 * an IRQ13 handler wrote port F0 (without running one): IGNNE# asserted,
 * the vCPU unfrozen. The exceptions' responses can then be checked alone.
 */
function runIgnoringErrors(vm: Vcpu): number {
  for (;;) {
    const exit = vm.run(200);
    if (exit !== abi.EXIT_FERR) return exit;
    assertIgnne(vm);
  }
}
function assertIgnne(vm: Vcpu): void {
  setIgnne(vm, 1);
  new DataView(vm.memory.buffer).setUint32(vm.base + abi.V_HALTED, 0, true);
}

/** Flat 32-bit protected mode at CPL 0 (selectors 0x08/0x10), the program at CODE; CR0 gets `cr0Bits` too. */
async function flat32(program: Uint8Array, cr0Bits = 0): Promise<Vcpu> {
  const vm = await Vcpu.create({ ramSize: 4 << 20 });
  vm.setFlat32(0);
  vm.setReg(abi.REG_ESP, STACK);
  vm.writePhys(CODE, program);
  vm.eip = CODE;
  if (cr0Bits) vm.setCr(0, vm.getCr(0) | cr0Bits);
  return vm;
}

/** Real mode: CS = 0x1000 (the program at CODE), DS = 0x2000 (DATA), ES = 0x3000 (OUT), SS:SP = 0:STACK. */
async function real16(program: Uint8Array, cr0Bits = 0): Promise<Vcpu> {
  const vm = await Vcpu.create({ ramSize: 4 << 20 });
  const seg = (sel: number) => ({ sel, base: sel << 4, limit: 0xffff, attr: 0x93 | abi.SEG_VALID });
  vm.setSeg(abi.SEG_CS, { sel: 0x1000, base: 0x10000, limit: 0xffff, attr: 0x9b | abi.SEG_VALID });
  vm.setSeg(abi.SEG_DS, seg(0x2000));
  vm.setSeg(abi.SEG_ES, seg(0x3000));
  vm.setSeg(abi.SEG_SS, seg(0));
  vm.setReg(abi.REG_ESP, STACK);
  vm.eip = 0;
  vm.writePhys(CODE, program);
  if (cr0Bits) vm.setCr(0, vm.getCr(0) | cr0Bits);
  vm.stateChanged();
  return vm;
}

function expectHlt(vm: Vcpu, exit: number, what: string): void {
  assert.equal(exit, abi.EXIT_HLT, `${what}: exit ${exit} (vector ${vm.exitVector}) at EIP 0x${vm.eip.toString(16)}`);
}
function expectException(vm: Vcpu, exit: number, vector: number, eip: number, what: string): void {
  assert.equal(exit, abi.EXIT_EXCEPTION, `${what}: exit reason ${exit}`);
  assert.equal(vm.exitVector, vector, `${what}: vector`);
  assert.equal(vm.eip, eip, `${what}: EIP`);
}

// --- reset and FNINIT -------------------------------------------------------------------------

const initProgram = asm(`
bits 32
org CODE
        fnstcw  [RES]
        fnstsw  [RES + 2]
        fninit
        fnstcw  [RES + 4]
        fnstsw  [RES + 6]
        hlt
`, 'd93d00000300dd3d02000300dbe3d93d04000300dd3d06000300f4');

test('reset: FCW 0040H, FSW 0, every register a valid +0.0, MXCSR 1F80H; FNINIT: 037FH, all empty', async () => {
  const vm = await flat32(initProgram);
  const s = fpu(vm);
  assert.deepEqual([s.fcw, s.fsw, s.ftw, s.mxcsr, s.mxcsrMask], [0x0040, 0, 0xff, abi.MXCSR_DEFAULT, abi.MXCSR_MASK_VALUE]);
  for (let p = 0; p < 8; p++) assert.deepEqual(s.reg(p), ZERO);
  expectHlt(vm, vm.run(100), 'init');
  assert.deepEqual([r16(vm, OUT), r16(vm, OUT + 2), r16(vm, OUT + 4), r16(vm, OUT + 6)], [0x0040, 0, 0x037f, 0]);
  assert.equal(fpu(vm).ftw, 0);
});

// --- FSAVE / FRSTOR images ---------------------------------------------------------------------

/** Eight values of every class, pushed in this order (ST(0) ends as the last). */
const SAVE_VALUES = [ONE, ZERO, QNAN, INF, DENORMAL, UNNORMAL, f80(0xc00a, 0xabcdef0123456789n), PSEUDO_DENORMAL];
/** Their full tags (valid 0, zero 1, special 2) by physical register: the first push lands in R7. */
const SAVE_TAGS = [0, 1, 2, 2, 2, 2, 0, 2];
function expectedTagWord(): number {
  let w = 0;
  SAVE_VALUES.forEach((_, i) => { w |= SAVE_TAGS[i] << ((7 - i) * 2); });
  return w;
}

const save32 = asm(`
bits 32
org CODE
        fninit
        fld     tword [DATA + 0]
        fld     tword [DATA + 10]
        fld     tword [DATA + 20]
        fld     tword [DATA + 30]
        fld     tword [DATA + 40]
        fld     tword [DATA + 50]
        fld     tword [DATA + 60]
last:   fld     tword [DATA + 70]
        fnsave  [RES]
        fnstcw  [RES + 0x100]
        fnstsw  [RES + 0x102]
        frstor  [RES]
        fnsave  [RES + 0x200]
        hlt
`, 'dbe3db2d00000200db2d0a000200db2d14000200db2d1e000200db2d28000200db2d32000200db2d3c000200db2d46000200dd3500000300d93d00010300dd3d02010300dd2500000300dd3500020300f4');
const save16 = asm(`
bits 32
org CODE
        fninit
        fld     tword [DATA + 0]
        fld     tword [DATA + 10]
        fld     tword [DATA + 20]
        fld     tword [DATA + 30]
        fld     tword [DATA + 40]
        fld     tword [DATA + 50]
        fld     tword [DATA + 60]
last:   fld     tword [DATA + 70]
        o16 fnsave [RES]
        fnstcw  [RES + 0x100]
        fnstsw  [RES + 0x102]
        o16 frstor [RES]
        o16 fnsave [RES + 0x200]
        hlt
`, 'dbe3db2d00000200db2d0a000200db2d14000200db2d1e000200db2d28000200db2d32000200db2d3c000200db2d4600020066dd3500000300d93d00010300dd3d0201030066dd250000030066dd3500020300f4');
const saveReal16 = asm(`
bits 16
org 0
        fninit
        fld     tword [0]
        fld     tword [10]
        fld     tword [20]
        fld     tword [30]
        fld     tword [40]
        fld     tword [50]
        fld     tword [60]
last:   fld     tword [70]
        fnsave  [es:0]
        fnstcw  [es:0x100]
        fnstsw  [es:0x102]
        frstor  [es:0]
        fnsave  [es:0x200]
        hlt
`, 'dbe3db2e0000db2e0a00db2e1400db2e1e00db2e2800db2e3200db2e3c00db2e460026dd36000026d93e000126dd3e020126dd26000026dd360002f4');
const saveReal32 = asm(`
bits 16
org 0
        fninit
        fld     tword [0]
        fld     tword [10]
        fld     tword [20]
        fld     tword [30]
        fld     tword [40]
        fld     tword [50]
        fld     tword [60]
last:   fld     tword [70]
        o32 fnsave [es:0]
        fnstcw  [es:0x100]
        fnstsw  [es:0x102]
        o32 frstor [es:0]
        o32 fnsave [es:0x200]
        hlt
`, 'dbe3db2e0000db2e0a00db2e1400db2e1e00db2e2800db2e3200db2e3c00db2e46002666dd36000026d93e000126dd3e02012666dd2600002666dd360002f4');

interface SaveCase { name: string; program: Uint8Array; real: boolean; size32: boolean; lastFld: number }
const saveCases: SaveCase[] = [
  // The last FLD's offset in each program: 7 FLDs of 6 bytes (32-bit: DB 2D disp32) or 4 (16-bit: DB 2E disp16), after FNINIT (2).
  { name: '32-bit protected mode', program: save32, real: false, size32: true, lastFld: 2 + 7 * 6 },
  { name: '16-bit protected mode', program: save16, real: false, size32: false, lastFld: 2 + 7 * 6 },
  { name: '16-bit real mode', program: saveReal16, real: true, size32: false, lastFld: 2 + 7 * 4 },
  { name: '32-bit real mode', program: saveReal32, real: true, size32: true, lastFld: 2 + 7 * 4 },
];

for (const c of saveCases) {
  test(`FNSAVE/FRSTOR (${c.name}): the image's layout, and a round trip bit for bit`, async () => {
    const vm = c.real ? await real16(c.program) : await flat32(c.program);
    SAVE_VALUES.forEach((v, i) => vm.writePhys(DATA + i * 10, f80Bytes(v)));
    expectHlt(vm, vm.run(100), c.name);
    const envSize = c.size32 ? 28 : 14;
    const image = Buffer.from(vm.readPhys(OUT, envSize + 80));
    const again = Buffer.from(vm.readPhys(OUT + 0x200, envSize + 80));
    assert.equal(again.toString('hex'), image.toString('hex'), 'FRSTOR then FNSAVE gives the same image');
    // After FNSAVE the FPU is initialized.
    assert.deepEqual([r16(vm, OUT + 0x100), r16(vm, OUT + 0x102)], [0x037f, 0]);
    // The registers, ST(0) first.
    for (let i = 0; i < 8; i++) {
      const got = f80(image.readUInt16LE(envSize + i * 10 + 8), image.readBigUInt64LE(envSize + i * 10));
      assert.equal(hex80(got), hex80(SAVE_VALUES[7 - i]), `ST(${i})`);
    }
    // The environment: the last non-control instruction is the 8th FLD (DB /5, ModRM 2D or 2E).
    const fop = c.real ? 0x32e : 0x32d;
    const ipOff = c.real ? c.lastFld : CODE + c.lastFld;
    const dpOff = 70 + (c.real ? 0 : DATA);
    const tw = expectedTagWord();
    const word = (o: number) => image.readUInt16LE(o);
    const dword = (o: number) => image.readUInt32LE(o);
    if (c.size32) {
      assert.equal(dword(0), 0xffff037f, 'FCW');
      assert.equal(dword(4), 0xffff0000, 'FSW (TOP 0 after 8 pushes)');
      assert.equal(dword(8), (0xffff0000 | tw) >>> 0, 'tag word');
      if (c.real) {
        const linIp = CODE + ipOff;
        const linDp = DATA + dpOff;
        assert.equal(dword(12), (0xffff0000 | (linIp & 0xffff)) >>> 0, 'IP 15..0');
        assert.equal(dword(16), ((linIp >>> 16) << 12) | fop, 'IP 31..16 and opcode');
        assert.equal(dword(20), (0xffff0000 | (linDp & 0xffff)) >>> 0, 'operand 15..0');
        assert.equal(dword(24), (linDp >>> 16) << 12, 'operand 31..16');
      } else {
        assert.equal(dword(12), ipOff, 'FIP');
        assert.equal(dword(16), 0x08 | (fop << 16), 'FCS and FOP');
        assert.equal(dword(20), dpOff, 'FDP');
        assert.equal(dword(24), (0xffff0000 | 0x10) >>> 0, 'FDS');
      }
    } else {
      assert.deepEqual([word(0), word(2), word(4)], [0x037f, 0, tw], 'FCW FSW FTW');
      if (c.real) {
        const linIp = CODE + ipOff;
        const linDp = DATA + dpOff;
        assert.deepEqual([word(6), word(8), word(10), word(12)],
          [linIp & 0xffff, ((linIp >>> 16) << 12) | fop, linDp & 0xffff, (linDp >>> 16) << 12]);
      } else {
        assert.deepEqual([word(6), word(8), word(10), word(12)], [ipOff & 0xffff, 0x08, dpOff & 0xffff, 0x10]);
      }
    }
  });
}

// --- FSTENV ------------------------------------------------------------------------------------

const stenvProgram = asm(`
bits 32
org CODE
        fninit
        fldcw   [DATA + 0x100]          ; every exception unmasked
        fld     tword [DATA + 0]
        fld     tword [DATA + 10]
        fld     tword [DATA + 20]
        fld     tword [DATA + 30]
        fld     tword [DATA + 40]
        fld     tword [DATA + 50]
        ffree   st2
        fnstenv [RES]
        fnstcw  [RES + 0x40]
        hlt
`, 'dbe3d92d00010200db2d00000200db2d0a000200db2d14000200db2d1e000200db2d28000200db2d32000200ddc2d93500000300d93d40000300f4');

test('FNSTENV: the tag word comes from the contents (valid, zero, special, empty); then every exception is masked', async () => {
  const vm = await flat32(stenvProgram);
  const values = [f80(0x3ffe, 0xc000000000000000n), NEG_ZERO, SNAN, PSEUDO_INF, f80(0x8000, 0x0000000000000001n), ONE];
  values.forEach((v, i) => vm.writePhys(DATA + i * 10, f80Bytes(v)));
  w16(vm, DATA + 0x100, 0x0340);
  expectHlt(vm, vm.run(100), 'fnstenv');
  // R7 .. R2 hold the values in push order; FFREE ST(2) emptied R4; R1 and R0 are empty.
  const tags = [3, 3, 0, 2, 3, 2, 1, 0]; // R0..R7
  const tw = tags.reduce((w, t, p) => w | (t << (p * 2)), 0);
  assert.equal(r32(vm, OUT + 8) & 0xffff, tw, `tag word ${tw.toString(16)}`);
  assert.equal(r32(vm, OUT) & 0xffff, 0x0340, 'the stored FCW is the one before');
  assert.equal(r16(vm, OUT + 0x40), 0x037f, 'then every exception is masked');
  assert.equal(fpu(vm).ftw, 0b11101100, 'abridged tags unchanged');
});

const stenvPendingProgram = asm(`
bits 32
org CODE
        fninit
        fldcw   [DATA]                  ; IE unmasked
        fstp    st0                     ; empty: IE and SF, ES pending
        fnstsw  [RES]
        fnstenv [RES + 0x10]
        fnstsw  [RES + 2]
        fwait                           ; nothing pending any more
        hlt
`, 'dbe3d92d00000200ddd8dd3d00000300d93510000300dd3d020003009bf4');

test('FNSTENV: masking everything clears ES and B (the flags stay), so nothing is reported after it', async () => {
  const vm = await flat32(stenvPendingProgram, abi.CR0_NE);
  w16(vm, DATA, 0x037e);
  vm.exceptionExitMask = mask(MF);
  expectHlt(vm, vm.run(100), 'fnstenv');
  assert.equal(r16(vm, OUT), IE | SF | ES | B, 'pending before');
  assert.equal(r32(vm, OUT + 0x10 + 4) & 0xffff, IE | SF | ES | B, 'the image holds the pending status');
  assert.equal(r16(vm, OUT + 2), IE | SF, 'ES and B cleared after');
});

// --- #NM, #MF, FERR# ---------------------------------------------------------------------------

const nmProgram = asm(`
bits 32
org CODE
        fwait
        fld1
        hlt
`, '9bd9e8f4');

test('#NM: EM=1 or TS=1 for an x87 instruction; WAIT only with MP=1 and TS=1', async () => {
  const cases: [string, number, number][] = [
    // name, CR0 bits, EIP of the #NM (or 0: runs to HLT)
    ['EM', abi.CR0_EM, CODE + 1],
    ['TS', abi.CR0_TS, CODE + 1],
    ['MP and TS', abi.CR0_MP | abi.CR0_TS, CODE],
    ['EM and MP', abi.CR0_EM | abi.CR0_MP, CODE + 1],
    ['MP', abi.CR0_MP, 0],
    ['none', 0, 0],
  ];
  for (const [name, bits, at] of cases) {
    const vm = await flat32(nmProgram, bits);
    vm.exceptionExitMask = mask(NM);
    const exit = vm.run(100);
    if (at) expectException(vm, exit, NM, at, name);
    else expectHlt(vm, exit, name);
  }
});

const mfProgram = asm(`
bits 32
org CODE
        fninit
        fldcw   [DATA]                  ; IE unmasked
bad:    fstp    st0                     ; empty: stack underflow, the error is now pending
        fnstsw  ax                      ; non-waiting: runs
        fnstcw  [RES]
        fnop                            ; waiting: the error is reported here
        hlt
`, 'dbe3d92d00000200ddd8dfe0d93d00000300d9d0f4');

test('#MF with CR0.NE=1: reported at the next waiting instruction, not by the FN* forms; FIP/FOP name the culprit', async () => {
  const vm = await flat32(mfProgram, abi.CR0_NE);
  w16(vm, DATA, 0x037e);
  vm.exceptionExitMask = mask(MF);
  // fninit (2), fldcw (6), fstp st0 (2), fnstsw ax (2), fnstcw (6): the FNOP at +18.
  expectException(vm, vm.run(100), MF, CODE + 18, '#MF');
  assert.equal(vm.getReg(abi.REG_EAX) & 0xffff, IE | SF | ES | B, 'FSW: IE, SF, C1=0 (underflow), ES, B');
  const s = fpu(vm);
  assert.equal(s.top, 0, 'nothing popped');
  assert.equal(s.fip, CODE + 8, 'FIP: the FSTP');
  assert.equal(s.fop, 0x5d8, 'FOP: DD D8');
});

const ferrProgram = asm(`
bits 16
org 0
        fninit
        fldcw   [0]                     ; IE unmasked
        fstp    st0                     ; pending error
        sti
wait1:  fwait                           ; FERR#: frozen here until IRQ13
        fnstsw  [es:0]
        hlt
        times 0x100 - ($ - $$) db 0
irq13:  mov     al, 0
        out     0xf0, al                ; clear the latch, assert IGNNE#
        fnstsw  [es:2]                  ; what the handler saw
        fnclex
        iret
`, 'dbe3d92e0000ddd8fb9b26dd3e0000f4000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000b000e6f026dd3e0200dbe2cf');

test('FERR# with CR0.NE=0: EXIT_FERR and a frozen vCPU at the FWAIT; IRQ13\'s handler writes port F0 and clears it', async () => {
  const vm = await real16(ferrProgram);
  w16(vm, DATA, 0x037e);
  const vector = 0x75;
  w16(vm, vector * 4, 0x100);
  w16(vm, vector * 4 + 2, 0x1000);
  const wait1 = 2 + 4 + 2 + 1; // fninit, fldcw [0], fstp st0, sti
  assert.equal(vm.run(100), abi.EXIT_FERR);
  assert.equal(vm.eip, wait1, 'EIP on the FWAIT');
  assert.ok(vm.halted, 'frozen until an interrupt');
  assert.equal(vm.run(100), abi.EXIT_HLT, 'still frozen without an interrupt');
  assert.equal(vm.eip, wait1);
  // The VMM raised IRQ13; the PIC's vector comes in.
  assert.ok(vm.readyForIrq);
  vm.injectInterrupt(vector);
  assert.equal(vm.run(100), abi.EXIT_IO);
  assert.deepEqual([vm.exitPort, vm.exitIsWrite], [0xf0, true]);
  setIgnne(vm, 1); // what FpuErrorPort does for the write
  expectHlt(vm, vm.run(100), 'after the handler');
  assert.equal(r16(vm, OUT + 2) & (ES | IE), ES | IE, 'the handler saw the error');
  assert.equal(r16(vm, OUT) & (ES | IE), 0, 'FNCLEX cleared it before the FWAIT ran again');
  assert.equal(fpu(vm).ignne, 0, 'FNCLEX dropped FERR#, and with it IGNNE#');
});

const ignneProgram = asm(`
bits 32
org CODE
        fninit
        fldcw   [DATA]
        fstp    st0
        fwait
        fld1
        hlt
`, 'dbe3d92d00000200ddd89bd9e8f4');

test('FERR# with IGNNE# asserted: pending errors are ignored', async () => {
  const vm = await flat32(ignneProgram);
  w16(vm, DATA, 0x037e);
  assert.equal(vm.run(100), abi.EXIT_FERR);
  assert.equal(vm.eip, CODE + 10, 'at the FWAIT');
  assertIgnne(vm);
  expectHlt(vm, vm.run(100), 'IGNNE#');
  assert.equal(fpu(vm).ignne, 1, 'still asserted: the error was not cleared');
  assert.deepEqual(fpu(vm).reg(fpu(vm).top), ONE);
});

test('FpuErrorPort: FERR# raises IRQ 13 until port F0h is written, which asserts IGNNE#', () => {
  const line = new IrqLine('irq13');
  let ignne = 0;
  const dev = new FpuErrorPort({ irq: line, onIgnne: () => ignne++ });
  assert.equal(dev.portRead(0, 1), 0xff);
  dev.ferr();
  assert.ok(line.isRaised && dev.irqRaised, 'IRQ 13 high');
  assert.deepEqual(dev.saveState(), { latched: true });
  dev.portWrite(0, 1, 0);
  assert.ok(!line.isRaised, 'lowered by the write');
  assert.equal(ignne, 1, 'IGNNE# asserted');
  dev.loadState({ latched: true });
  assert.ok(line.isRaised, 'a saved latch comes back');
  dev.reset();
  assert.ok(!line.isRaised);
});

const machineFerrProgram = asm(`
bits 16
org 0
        fninit
        fldcw   [0]
        fstp    st0
        fwait
        hlt
`, 'dbe3d92e0000ddd89bf4');

test('Machine: EXIT_FERR raises ISA IRQ 13; an OUT to port F0h lowers it and sets the vCPU\'s IGNNE#', async () => {
  const m = await Machine.create({ ramSize: 16 << 20, clock: 'deterministic' });
  const vm = m.vcpu;
  vm.setSeg(abi.SEG_CS, { sel: 0x1000, base: 0x10000, limit: 0xffff, attr: 0x9b | abi.SEG_VALID });
  vm.setSeg(abi.SEG_DS, { sel: 0x2000, base: 0x20000, limit: 0xffff, attr: 0x93 | abi.SEG_VALID });
  vm.eip = 0;
  vm.stateChanged();
  vm.writePhys(CODE, machineFerrProgram);
  w16(vm, DATA, 0x037e);
  m.runSlices();
  assert.ok(vm.halted, 'frozen at the FWAIT');
  assert.ok(m.fpuError.irqRaised && m.isaIrq[13].isRaised, 'IRQ 13 raised');
  m.ports.write(FPU_ERROR_PORT, 1, 0);
  assert.ok(!m.isaIrq[13].isRaised, 'lowered');
  assert.equal(fpu(vm).ignne, 1, 'IGNNE# asserted');
});

// --- stack faults ------------------------------------------------------------------------------

const overflowProgram = asm(`
bits 32
org CODE
        fninit
        fldcw   [DATA]
        fld1
        fld1
        fld1
        fld1
        fld1
        fld1
        fld1
        fld1
        fldpi                           ; the ninth push
        fnstsw  [RES]
        hlt
`, 'dbe3d92d00000200d9e8d9e8d9e8d9e8d9e8d9e8d9e8d9e8d9ebdd3d00000300f4');

test('stack overflow: masked, the indefinite is pushed; unmasked, nothing changes; IE, SF and C1 set', async () => {
  for (const unmaskedIe of [false, true]) {
    const vm = await flat32(overflowProgram);
    w16(vm, DATA, unmaskedIe ? 0x037e : 0x037f);
    expectHlt(vm, vm.run(100), 'overflow');
    const s = fpu(vm);
    if (unmaskedIe) {
      assert.equal(r16(vm, OUT), IE | SF | C1 | ES | B, 'FSW (TOP 0)');
      assert.deepEqual(s.reg(0), ONE, 'ST(0) unchanged');
    } else {
      assert.equal(r16(vm, OUT), (7 << 11) | IE | SF | C1, 'FSW (TOP 7)');
      assert.deepEqual(s.reg(7), INDEFINITE, 'the indefinite pushed');
    }
    assert.equal(s.ftw, 0xff);
  }
});

const underflowProgram = asm(`
bits 32
org CODE
        fninit
        fldcw   [DATA]
        fld1
        fadd    st0, st3                ; ST(3) is empty
        fnstsw  [RES]
        fstp    st0
        fstp    qword [RES + 8]         ; empty
        fnstsw  [RES + 2]
        fnstcw  [RES + 4]
        hlt
`, 'dbe3d92d00000200d9e8d8c3dd3d00000300ddd8dd1d08000300dd3d02000300d93d04000300f4');

test('stack underflow: masked, the indefinite is the result (stored to memory too); unmasked, nothing is written or popped', async () => {
  for (const unmaskedIe of [false, true]) {
    const vm = await flat32(underflowProgram);
    w16(vm, DATA, unmaskedIe ? 0x037e : 0x037f);
    vm.writePhys(OUT + 8, Buffer.from('1122334455667788', 'hex'));
    expectHlt(vm, runIgnoringErrors(vm), 'underflow');
    const s = fpu(vm);
    if (unmaskedIe) {
      assert.equal(r16(vm, OUT), (7 << 11) | IE | SF | ES | B, 'FADD: ST(0) stays 1.0');
      assert.equal(Buffer.from(vm.readPhys(OUT + 8, 8)).toString('hex'), '1122334455667788', 'nothing stored');
      assert.equal(r16(vm, OUT + 2), IE | SF | ES | B, 'FSTP did not pop (TOP 0)');
    } else {
      assert.equal(r16(vm, OUT), (7 << 11) | IE | SF, 'FADD: C1 = 0');
      assert.equal(Buffer.from(vm.readPhys(OUT + 8, 8)).readBigUInt64LE(), 0xfff8000000000000n, 'the double indefinite');
      assert.equal(r16(vm, OUT + 2) >> 11, 1, 'popped: TOP 1');
    }
    assert.equal(s.ftw, 0);
  }
});

// --- FXAM -------------------------------------------------------------------------------------

const fxamProgram = asm(`
bits 32
org CODE
        fninit
        fxam                            ; empty
        fnstsw  [RES]
        fld     tword [DATA]
        fxam
        fnstsw  [RES + 2]
        hlt
`, 'dbe3d9e5dd3d00000300db2d00000200d9e5dd3d02000300f4');

test('FXAM: C3 C2 C0 give the class, C1 the sign, empty registers included', async () => {
  const cases: [string, F80, number][] = [
    ['+normal', ONE, C2],
    ['-normal', f80(0xbfff, 0x8000000000000000n), C2 | C1],
    ['+0', ZERO, C3],
    ['-0', NEG_ZERO, C3 | C1],
    ['+inf', INF, C2 | C0],
    ['-inf', f80(0xffff, 0x8000000000000000n), C2 | C0 | C1],
    ['QNaN', QNAN, C0],
    ['-SNaN', SNAN, C0 | C1],
    ['denormal', DENORMAL, C3 | C2],
    ['pseudo-denormal', PSEUDO_DENORMAL, C3 | C2 | C1],
    ['unnormal', UNNORMAL, 0],
    ['pseudo-infinity', PSEUDO_INF, 0],
  ];
  for (const [name, v, cc] of cases) {
    const vm = await flat32(fxamProgram);
    vm.writePhys(DATA, f80Bytes(v));
    expectHlt(vm, vm.run(100), name);
    // Empty: C3 and C0, C1 from the register's (+0.0) sign.
    assert.equal(r16(vm, OUT) & (C3 | C2 | C1 | C0), C3 | C0, 'empty');
    assert.equal(r16(vm, OUT + 2) & (C3 | C2 | C1 | C0), cc, name);
  }
});

// --- FBLD / FBSTP ----------------------------------------------------------------------------

function bcdBytes(digits: string, negative: boolean): Buffer {
  const b = Buffer.alloc(10);
  const d = digits.padStart(18, '0');
  for (let i = 0; i < 9; i++) b[i] = (Number(d[17 - 2 * i - 1]) << 4) | Number(d[17 - 2 * i]);
  b[9] = negative ? 0x80 : 0;
  return b;
}
function intToF80(n: bigint): F80 {
  if (n === 0n) return ZERO;
  const neg = n < 0n;
  let m = neg ? -n : n;
  let e = 63;
  while (m < 0x8000000000000000n) { m <<= 1n; e--; }
  return f80((neg ? 0x8000 : 0) | (16383 + e), m);
}

const fbldProgram = asm(`
bits 32
org CODE
        fninit
        fbld    tword [DATA]
        fstp    tword [RES]
        fnstsw  [RES + 0x10]
        hlt
`, 'dbe3df2500000200db3d00000300dd3d10000300f4');

test('FBLD: 18 packed BCD digits and the sign load exactly', async () => {
  const cases: [string, boolean][] = [
    ['0', false], ['0', true], ['1', false], ['123456789012345678', false], ['999999999999999999', true], ['5', true],
  ];
  for (const [digits, negative] of cases) {
    const vm = await flat32(fbldProgram);
    vm.writePhys(DATA, bcdBytes(digits, negative));
    expectHlt(vm, vm.run(100), digits);
    const want = digits === '0' ? (negative ? NEG_ZERO : ZERO) : intToF80(negative ? -BigInt(digits) : BigInt(digits));
    assert.equal(hex80(readF80(vm, OUT)), hex80(want), `${negative ? '-' : ''}${digits}`);
    assert.equal(r16(vm, OUT + 0x10), 0);
  }
});

const fbstpProgram = asm(`
bits 32
org CODE
        fninit
        fld     tword [DATA]
        fbstp   tword [RES]
        fnstsw  [RES + 0x10]
        hlt
`, 'dbe3db2d00000200df3500000300dd3d10000300f4');

// --- constants ----------------------------------------------------------------------------------

const constProgram = asm(`
bits 32
org CODE
        fninit
        fldcw   [DATA]
        fld1
        fldl2t
        fldl2e
        fldpi
        fldlg2
        fldln2
        fldz
        fnstsw  [RES + 0x100]
        fstp    tword [RES + 0]
        fstp    tword [RES + 10]
        fstp    tword [RES + 20]
        fstp    tword [RES + 30]
        fstp    tword [RES + 40]
        fstp    tword [RES + 50]
        fstp    tword [RES + 60]
        hlt
`, 'dbe3d92d00000200d9e8d9e9d9ead9ebd9ecd9edd9eedd3d00010300db3d00000300db3d0a000300db3d14000300db3d1e000300db3d28000300db3d32000300db3d3c000300f4');

test('FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ: rounded by RC, no precision exception', async () => {
  // Per constant, the 64-bit significand for RC = nearest, down, up, toward zero.
  const table: [string, number, bigint[]][] = [
    ['1', 0x3fff, [0x8000000000000000n, 0x8000000000000000n, 0x8000000000000000n, 0x8000000000000000n]],
    ['log2(10)', 0x4000, [0xd49a784bcd1b8afen, 0xd49a784bcd1b8afen, 0xd49a784bcd1b8affn, 0xd49a784bcd1b8afen]],
    ['log2(e)', 0x3fff, [0xb8aa3b295c17f0bcn, 0xb8aa3b295c17f0bbn, 0xb8aa3b295c17f0bcn, 0xb8aa3b295c17f0bbn]],
    ['pi', 0x4000, [0xc90fdaa22168c235n, 0xc90fdaa22168c234n, 0xc90fdaa22168c235n, 0xc90fdaa22168c234n]],
    ['log10(2)', 0x3ffd, [0x9a209a84fbcff799n, 0x9a209a84fbcff798n, 0x9a209a84fbcff799n, 0x9a209a84fbcff798n]],
    ['ln(2)', 0x3ffe, [0xb17217f7d1cf79acn, 0xb17217f7d1cf79abn, 0xb17217f7d1cf79acn, 0xb17217f7d1cf79abn]],
    ['0', 0, [0n, 0n, 0n, 0n]],
  ];
  for (let rc = 0; rc < 4; rc++) {
    const vm = await flat32(constProgram);
    w16(vm, DATA, 0x037f | (rc << 10));
    expectHlt(vm, vm.run(100), `RC ${rc}`);
    assert.equal(r16(vm, OUT + 0x100), 1 << 11, 'no exception; TOP 1');
    table.forEach(([name, se, sigs], i) => {
      // Popped in reverse order: FLDZ first.
      assert.equal(hex80(readF80(vm, OUT + (6 - i) * 10)), hex80(f80(se, sigs[rc])), `${name}, RC ${rc}`);
    });
  }
});

// --- register moves -----------------------------------------------------------------------------

const movesProgram = asm(`
bits 32
org CODE
        fninit
        fld1                            ; R7
        fldpi                           ; R6
        fldz                            ; R5
        fxch    st2                     ; ST0 = 1, ST2 = 0
        fstp    tword [RES]             ; 1
        fincstp                         ; TOP 7 -> 0 ... (R6 = pi becomes ST7)
        fdecstp
        fstp    tword [RES + 10]        ; pi
        ffree   st0                     ; R7 (0.0) empty, TOP unchanged
        fnstsw  [RES + 0x40]
        stc
        fld1
        fldz
        fcmovb  st0, st1                ; CF=1: ST0 = 1
        fstp    tword [RES + 20]
        clc
        fldz
        fcmovb  st0, st1                ; CF=0: stays 0
        fstp    tword [RES + 30]
        ffreep  st0
        fnstsw  [RES + 0x42]
        hlt
`, 'dbe3d9e8d9ebd9eed9cadb3d00000300d9f7d9f6db3d0a000300ddc0dd3d40000300f9d9e8d9eedac1db3d14000300f8d9eedac1db3d1e000300dfc0dd3d42000300f4');

test('FXCH, FINCSTP, FDECSTP, FFREE, FFREEP, FCMOVcc', async () => {
  const vm = await flat32(movesProgram);
  expectHlt(vm, vm.run(200), 'moves');
  assert.deepEqual(readF80(vm, OUT), ONE);
  assert.deepEqual(readF80(vm, OUT + 10), f80(0x4000, 0xc90fdaa22168c235n));
  assert.equal(r16(vm, OUT + 0x40) >> 11, 7);
  assert.deepEqual(readF80(vm, OUT + 20), ONE, 'FCMOVB taken');
  assert.deepEqual(readF80(vm, OUT + 30), ZERO, 'FCMOVB not taken');
  assert.equal(r16(vm, OUT + 0x42) >> 11, 7, 'FFREEP popped');
  assert.equal(r16(vm, OUT + 0x42) & 0x3f, 0, 'no exception');
});

// --- reserved encodings --------------------------------------------------------------------------

test('reserved x87 encodings are #UD, before a pending error is reported', async () => {
  const reserved = ['d9d1', 'd9e2', 'd9ef', 'd908', 'dae0', 'daea', 'dbe5', 'db20', 'db30', 'dbf8', 'dd28', 'ddf0', 'ded8', 'dedf', 'dfe1', 'dff8'];
  for (const h of reserved) {
    // fninit; fldcw [DATA]; fstp st0 (pending IE); <the encoding>
    const prog = Buffer.concat([Buffer.from('dbe3d92d' + (DATA).toString(16).padStart(8, '0').match(/../g)!.reverse().join('') + 'ddd8', 'hex'), Buffer.from(h, 'hex'), Buffer.from('f4', 'hex')]);
    const vm = await flat32(prog, abi.CR0_NE);
    w16(vm, DATA, 0x037e);
    vm.exceptionExitMask = mask(UD, MF);
    expectException(vm, vm.run(100), UD, CODE + 10, h);
  }
  // The FENI/FDISI/FSETPM leftovers are no-ops that do not wait.
  for (const h of ['dbe0', 'dbe1', 'dbe4']) {
    const prog = Buffer.concat([Buffer.from('dbe3d92d' + '00000200' + 'ddd8', 'hex'), Buffer.from(h, 'hex'), Buffer.from('f4', 'hex')]);
    const vm = await flat32(prog, abi.CR0_NE);
    w16(vm, DATA, 0x037e);
    vm.exceptionExitMask = mask(UD, MF);
    expectHlt(vm, vm.run(100), h);
  }
});

// --- faults leave the state alone ---------------------------------------------------------------

const limitProgram = asm(`
bits 16
org 0
        fninit
        fld1
        fldpi
        fstp    tword [0xfffa]          ; beyond DS's limit: #GP, nothing popped
        hlt
`, 'dbe3d9e8d9ebdb3efafff4');
const frstorLimitProgram = asm(`
bits 16
org 0
        fninit
        fld1
        frstor  [0xffd0]                ; the image crosses the limit: #GP before anything changes
        hlt
`, 'dbe3d9e8dd26d0fff4');

test('a faulting store or FRSTOR changes nothing (the instruction restarts)', async () => {
  let vm = await real16(limitProgram);
  vm.exceptionExitMask = mask(GP);
  expectException(vm, vm.run(100), GP, 2 + 2 + 2, 'FSTP m80 beyond the limit');
  let s = fpu(vm);
  assert.equal(s.top, 6);
  assert.equal(s.ftw, 0xc0);
  assert.deepEqual(s.reg(6), f80(0x4000, 0xc90fdaa22168c235n));
  vm = await real16(frstorLimitProgram);
  vm.exceptionExitMask = mask(GP);
  expectException(vm, vm.run(100), GP, 2 + 2, 'FRSTOR across the limit');
  s = fpu(vm);
  assert.deepEqual([s.top, s.ftw, s.fcw], [7, 0x80, 0x037f]);
});

// --- transcendentals ----------------------------------------------------------------------------

const trigProgram = asm(`
bits 32
org CODE
        fninit
        fld     tword [DATA]
        fsin
        fstp    tword [RES]
        fld     tword [DATA]
        fcos
        fstp    tword [RES + 10]
        fld     tword [DATA]
        fptan
        fstp    tword [RES + 20]        ; 1.0
        fstp    tword [RES + 30]
        fld     tword [DATA]
        fsincos
        fstp    tword [RES + 40]        ; cos
        fstp    tword [RES + 50]        ; sin
        fnstsw  [RES + 60]
        hlt
`, 'dbe3db2d00000200d9fedb3d00000300db2d00000200d9ffdb3d0a000300db2d00000200d9f2db3d14000300db3d1e000300db2d00000200d9fbdb3d28000300db3d32000300dd3d3c000300f4');

const dyadicProgram = asm(`
bits 32
org CODE
        fninit
        fld     tword [DATA + 10]       ; y
        fld     tword [DATA]            ; x
        fyl2x
        fstp    tword [RES]
        fld     tword [DATA + 10]
        fld     tword [DATA]
        fyl2xp1
        fstp    tword [RES + 10]
        fld     tword [DATA + 10]
        fld     tword [DATA]
        fpatan
        fstp    tword [RES + 20]
        fld     tword [DATA]
        f2xm1
        fstp    tword [RES + 30]
        fnstsw  [RES + 40]
        hlt
`, 'dbe3db2d0a000200db2d00000200d9f1db3d00000300db2d0a000200db2d00000200d9f9db3d0a000300db2d0a000200db2d00000200d9f3db3d14000300db2d00000200d9f0db3d1e000300dd3d28000300f4');

test('FSIN, FCOS, FPTAN, FSINCOS: correctly rounded, large arguments reduced with the x87\'s 66-bit pi', async () => {
  // Expected values: mpmath at 600 bits, rounded to nearest; x87sin/cos reduce by pi66/2 exactly.
  const cases: [string, F80, F80, F80][] = [
    ['1', ONE, f80(0x3ffe, 0xd76aa47848677021n), f80(0x3ffe, 0x8a51407da8345c92n)],
    ['2', TWO, f80(0x3ffe, 0xe8c7b7568da22efdn), f80(0xbffd, 0xd51132ba9b902522n)],
    ['1e10', f80(0x4020, 0x9502f90000000000n), f80(0xbffd, 0xf99a63c49c6f2b1an), f80(0x3ffe, 0xdf84c480eb7f65b5n)],
  ];
  for (const [name, x, sin, cos] of cases) {
    const vm = await flat32(trigProgram);
    vm.writePhys(DATA, f80Bytes(x));
    expectHlt(vm, vm.run(100), name);
    assert.equal(hex80(readF80(vm, OUT)), hex80(sin), `sin(${name})`);
    assert.equal(hex80(readF80(vm, OUT + 10)), hex80(cos), `cos(${name})`);
    assert.deepEqual(readF80(vm, OUT + 20), ONE, 'FPTAN pushes 1.0');
    assert.equal(hex80(readF80(vm, OUT + 40)), hex80(cos), `FSINCOS cos(${name})`);
    assert.equal(hex80(readF80(vm, OUT + 50)), hex80(sin), `FSINCOS sin(${name})`);
    assert.equal(r16(vm, OUT + 60) & (C2 | PE), PE, 'C2 = 0, inexact');
  }
  const vm = await flat32(trigProgram);
  vm.writePhys(DATA, f80Bytes(f80(0x3ffe, 0x8000000000000000n)));
  expectHlt(vm, vm.run(100), 'tan(0.5)');
  assert.equal(hex80(readF80(vm, OUT + 30)), hex80(f80(0x3ffe, 0x8bda7adf9a3a5219n)), 'tan(0.5)');
  const big = await flat32(trigProgram);
  big.writePhys(DATA, f80Bytes(f80(0x403d, 0xc000000000000000n)));
  expectHlt(big, big.run(100), 'tan(1.5 * 2^62)');
  assert.equal(hex80(readF80(big, OUT + 30)), hex80(f80(0xbffd, 0xd40b486d574b6507n)), 'tan(1.5 * 2^62)');
});

const rangeProgram = asm(`
bits 32
org CODE
        fninit
        fld     tword [DATA]
        fsin
        fcos
        fptan
        fsincos
        fnstsw  [RES + 0x10]
        fstp    tword [RES]
        hlt
`, 'dbe3db2d00000200d9fed9ffd9f2d9fbdd3d10000300db3d00000300f4');

test('FSIN, FCOS, FPTAN, FSINCOS of |x| >= 2^63: C2 set, the operand left alone, nothing pushed; of zero: exact', async () => {
  const vm = await flat32(rangeProgram);
  const x = f80(0x403e, 0x8000000000000000n);
  vm.writePhys(DATA, f80Bytes(x));
  expectHlt(vm, vm.run(100), '2^63');
  assert.deepEqual(readF80(vm, OUT), x);
  assert.equal(r16(vm, OUT + 0x10), (7 << 11) | C2, 'C2, no exception, TOP 7');
  const z = await flat32(trigProgram);
  z.writePhys(DATA, f80Bytes(NEG_ZERO));
  expectHlt(z, z.run(100), '-0');
  assert.deepEqual([readF80(z, OUT), readF80(z, OUT + 10), readF80(z, OUT + 20), readF80(z, OUT + 30)], [NEG_ZERO, ONE, ONE, NEG_ZERO]);
  assert.deepEqual([readF80(z, OUT + 40), readF80(z, OUT + 50)], [ONE, NEG_ZERO]);
  assert.equal(r16(z, OUT + 60) & (C2 | 0x3f), 0, 'exact');
});

test('FYL2X, FYL2XP1, FPATAN, F2XM1: correctly rounded', async () => {
  // x = 10, y = 3: 3 log2(10), 3 log2(11), atan2(3, 10), 2^10 - 1 (outside F2XM1's domain but exact).
  // x = 0.125, y = 2: 2 log2(0.125) = -6 exactly, 2 log2(1.125), atan2(2, 0.125), 2^0.125 - 1.
  const cases: [F80, F80, F80[]][] = [
    [f80(0x4002, 0xa000000000000000n), f80(0x4000, 0xc000000000000000n), [f80(0x4002, 0x9f73da38d9d4a83fn)]],
    [f80(0x3ffc, 0x8000000000000000n), TWO, [f80(0xc001, 0xc000000000000000n), f80(0x3ffd, 0xae00d1cfdeb43cfdn)]],
  ];
  for (const [x, y, want] of cases) {
    const vm = await flat32(dyadicProgram);
    vm.writePhys(DATA, f80Bytes(x));
    vm.writePhys(DATA + 10, f80Bytes(y));
    expectHlt(vm, vm.run(100), hex80(x));
    want.forEach((w, i) => assert.equal(hex80(readF80(vm, OUT + i * 10)), hex80(w), `result ${i} for x=${hex80(x)}`));
  }
  // atan2(1, -2) and atan2(10, 3); 2^0.5 - 1 and 2^-0.75 - 1.
  const atan = async (y: F80, x: F80): Promise<F80> => {
    const vm = await flat32(dyadicProgram);
    vm.writePhys(DATA, f80Bytes(x));
    vm.writePhys(DATA + 10, f80Bytes(y));
    expectHlt(vm, vm.run(100), 'atan');
    return readF80(vm, OUT + 20);
  };
  assert.equal(hex80(await atan(ONE, f80(0xc000, 0x8000000000000000n))), hex80(f80(0x4000, 0xab63739cbfad72ccn)));
  assert.equal(hex80(await atan(f80(0x4002, 0xa000000000000000n), f80(0x4000, 0xc000000000000000n))), hex80(f80(0x3fff, 0xa3c165d5e40ab66fn)));
  const exp = async (x: F80): Promise<F80> => {
    const vm = await flat32(dyadicProgram);
    vm.writePhys(DATA, f80Bytes(x));
    vm.writePhys(DATA + 10, f80Bytes(ONE));
    expectHlt(vm, vm.run(100), 'f2xm1');
    return readF80(vm, OUT + 30);
  };
  assert.equal(hex80(await exp(f80(0x3ffe, 0x8000000000000000n))), hex80(f80(0x3ffd, 0xd413cccfe7799211n)));
  assert.equal(hex80(await exp(f80(0xbffe, 0xc000000000000000n))), hex80(f80(0xbffd, 0xcf901f5ce48ead21n)));
  assert.deepEqual(await exp(ONE), ONE, '2^1 - 1 is exact');
  assert.deepEqual(await exp(f80(0xbfff, 0x8000000000000000n)), f80(0xbffe, 0x8000000000000000n), '2^-1 - 1 is exact');
});

test('FYL2X special operands: log of 0 divides by zero, of a negative number is invalid', async () => {
  const run = async (x: F80, y: F80): Promise<[F80, number]> => {
    const vm = await flat32(dyadicProgram);
    vm.writePhys(DATA, f80Bytes(x));
    vm.writePhys(DATA + 10, f80Bytes(y));
    expectHlt(vm, vm.run(100), 'fyl2x');
    return [readF80(vm, OUT), r16(vm, OUT + 40)];
  };
  let [r, sw] = await run(ZERO, TWO);
  assert.deepEqual(r, f80(0xffff, 0x8000000000000000n), 'log2(0) * 2 = -inf');
  assert.equal(sw & ZE, ZE);
  [r, sw] = await run(f80(0xbfff, 0x8000000000000000n), TWO);
  assert.deepEqual(r, INDEFINITE, 'log2(-1): invalid');
  assert.equal(sw & IE, IE);
  [r] = await run(ONE, f80(0xc000, 0x8000000000000000n));
  assert.deepEqual(r, NEG_ZERO, '-2 * log2(1) = -0');
});

// --- the arithmetic that needs softfloat ----------------------------------------------------------

const probeProgram = asm(`
bits 32
org CODE
        fninit
        fld1
        fadd    st0, st0
        fstp    tword [RES]
        hlt
`, 'dbe3d9e8dcc0db3d00000300f4');

/** Whether fp/softfloat.ts computes yet (it is written in parallel): 1 + 1 = 2. */
async function softfloatReady(): Promise<boolean> {
  const vm = await flat32(probeProgram);
  vm.run(100);
  return hex80(readF80(vm, OUT)) === hex80(TWO);
}

test('FBSTP: rounds by RC to 18 BCD digits; out of range, the BCD indefinite and IE', async (t) => {
  if (!(await softfloatReady())) { t.skip('softfloat arithmetic is not there yet'); return; }
  const cases: [F80, string, number][] = [
    [intToF80(123456789012345678n), '78563412907856341200', 0],
    [intToF80(-5n), '05000000000000000080', 0],
    [f80(0x3ffe, 0xc000000000000000n), '01000000000000000000', PE], // 0.75 rounds to 1
    [NEG_ZERO, '00000000000000000080', 0],
    [intToF80(1000000000000000000n), '00000000000000c0ffff', IE],
  ];
  for (const [x, bytes, flags] of cases) {
    const vm = await flat32(fbstpProgram);
    vm.writePhys(DATA, f80Bytes(x));
    expectHlt(vm, vm.run(100), hex80(x));
    assert.equal(Buffer.from(vm.readPhys(OUT, 10)).toString('hex'), bytes, hex80(x));
    assert.equal(r16(vm, OUT + 0x10) & 0x3f, flags);
  }
});

// --- the inline bytes match their sources ------------------------------------------------------------

test('x87: inline program bytes match their nasm sources', (t) => {
  try {
    execFileSync('nasm', ['-v'], { stdio: 'ignore' });
  } catch {
    t.skip('nasm is not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'wkvm-x87-'));
  try {
    for (const [i, s] of snippets.entries()) {
      writeFileSync(join(dir, 'a.asm'), `${ASM_HEADER}\n${s.src}\n`);
      execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), join(dir, 'a.asm')]);
      assert.equal(readFileSync(join(dir, 'a.bin')).toString('hex'), s.hex,
        `snippet ${i + 1} is stale: run node scripts/inline-asm.mjs test/cpu/x87.test.ts`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
