// Focused tests of MMX/SSE/SSE2 (wasm/ops/simd): what the native-CPU vectors
// cannot show — CR0/CR4 gating, #XM versus #UD, #GP for misaligned operands
// and reserved MXCSR bits, FXSAVE/FXRSTOR (registers rotated by TOP, the
// abridged tag), the MMX/x87 aliasing — plus a sample of integer and
// floating-point results, the decoder's prefix rules, RCP/RSQRT values
// measured on an Intel CPU, and CPUID.
//
// The programs are nasm snippets with their bytes inline: asm(`source`,
// 'hex'). After editing a source run
//     node scripts/inline-asm.mjs test/cpu/simd.test.ts
// (the last test checks the bytes against nasm when it is installed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Vcpu } from '../../src/core/Vcpu.ts';
import * as abi from '../../wasm/abi.ts';

const ASM_HEADER = `
CODE    equ 0x1000
DATA    equ 0x10000
`;
const CODE = 0x1000;
const DATA = 0x10000; // 16-byte aligned scratch for operands and results
const snippets: { src: string; hex: string }[] = [];
function asm(src: string, hex: string): Uint8Array {
  snippets.push({ src, hex });
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

const { EXC_UD: UD, EXC_NM: NM, EXC_GP: GP, EXC_MF: MF, EXC_XM: XM, EXC_BP: BP } = abi;
const MXCSR_DEFAULT = 0x1f80;

// --- the machine ------------------------------------------------------------------

interface Setup {
  cr0Set?: number;
  cr0Clear?: number;
  cr4?: number;
  mxcsr?: number;
}

/** Flat 32-bit protected mode at CPL 0, every exception exits, CR4.OSFXSR|OSXMMEXCPT, CR0.NE, MXCSR default. */
async function machine(program: Uint8Array, s: Setup = {}): Promise<Vcpu> {
  const vm = await Vcpu.create({ ramSize: 4 << 20 });
  vm.setFlat32(0);
  vm.exceptionExitMask = 0xffffffff;
  vm.setCr(4, s.cr4 ?? (abi.CR4_OSFXSR | abi.CR4_OSXMMEXCPT));
  vm.setCr(0, ((vm.getCr(0) | abi.CR0_NE | abi.CR0_MP | (s.cr0Set ?? 0)) & ~(s.cr0Clear ?? 0)) >>> 0);
  fpu(vm).setUint16(abi.FPU_FCW, abi.FCW_DEFAULT, true);
  fpu(vm).setUint32(abi.FPU_MXCSR, s.mxcsr ?? MXCSR_DEFAULT, true);
  vm.writePhys(CODE, program);
  vm.eip = CODE;
  return vm;
}

/** The FPU/SSE area of the vCPU block (FXSAVE layout, physical register order). */
function fpu(vm: Vcpu): DataView {
  return new DataView(vm.memory.buffer, vm.base + abi.V_FPU, 512);
}
const mxcsr = (vm: Vcpu): number => fpu(vm).getUint32(abi.FPU_MXCSR, true);

function setXmm(vm: Vcpu, i: number, lanes: number[]): void {
  for (let k = 0; k < 4; k++) fpu(vm).setUint32(abi.FPU_XMM + 16 * i + 4 * k, lanes[k] >>> 0, true);
}
function xmm(vm: Vcpu, i: number): number[] {
  return [0, 1, 2, 3].map((k) => fpu(vm).getUint32(abi.FPU_XMM + 16 * i + 4 * k, true));
}
function setXmm64(vm: Vcpu, i: number, lanes: bigint[]): void {
  for (let k = 0; k < 2; k++) fpu(vm).setBigUint64(abi.FPU_XMM + 16 * i + 8 * k, lanes[k], true);
}
function xmm64(vm: Vcpu, i: number): bigint[] {
  return [0, 1].map((k) => fpu(vm).getBigUint64(abi.FPU_XMM + 16 * i + 8 * k, true));
}
function setMm(vm: Vcpu, i: number, v: bigint): void {
  fpu(vm).setBigUint64(abi.FPU_REGS + 16 * i, v, true);
}
function mm(vm: Vcpu, i: number): bigint {
  return fpu(vm).getBigUint64(abi.FPU_REGS + 16 * i, true);
}
const mmExponent = (vm: Vcpu, i: number): number => fpu(vm).getUint16(abi.FPU_REGS + 16 * i + 8, true);

function wr32(vm: Vcpu, a: number, v: number): void {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  vm.writePhys(a, b);
}
function rd32(vm: Vcpu, a: number): number {
  return Buffer.from(vm.readPhys(a, 4)).readUInt32LE();
}
function wr64(vm: Vcpu, a: number, v: bigint): void {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  vm.writePhys(a, b);
}
function rd64(vm: Vcpu, a: number): bigint {
  return Buffer.from(vm.readPhys(a, 8)).readBigUInt64LE();
}
function f32(x: number): number {
  const b = Buffer.alloc(4);
  b.writeFloatLE(x);
  return b.readUInt32LE();
}
function f64(x: number): bigint {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return b.readBigUInt64LE();
}

/** Runs to the program's INT3 (at `at`: EIP is then at + 1). */
function runToInt3(vm: Vcpu, at: number, what = 'program'): void {
  const exit = vm.run(1000);
  assert.equal(exit, abi.EXIT_EXCEPTION, `${what}: exit ${exit}`);
  assert.equal(vm.exitVector, BP, `${what}: vector ${vm.exitVector} at EIP 0x${vm.eip.toString(16)}`);
  assert.equal(vm.eip, at + 1, `${what}: EIP after the INT3`);
}
function expectFault(vm: Vcpu, vector: number, error: number | null, eip: number, what: string): void {
  const exit = vm.run(1000);
  assert.equal(exit, abi.EXIT_EXCEPTION, `${what}: exit ${exit}`);
  assert.equal(vm.exitVector, vector, `${what}: vector ${vm.exitVector}, expected ${vector}`);
  assert.equal(vm.exitErrorCode >>> 0, error === null ? abi.NO_ERROR_CODE : error, `${what}: error code`);
  assert.equal(vm.eip, eip, `${what}: EIP at the faulting instruction`);
}

// --- gating -----------------------------------------------------------------------

const addps = asm(`
bits 32
org CODE
        addps   xmm0, xmm1
        int3
`, '0f58c1cc');
const paddb = asm(`
bits 32
org CODE
        paddb   mm0, mm1
        int3
`, '0ffcc1cc');
const fxsaveData = asm(`
bits 32
org CODE
        fxsave  [DATA]
        int3
`, '0fae0500000100cc');
const ldmxcsrData = asm(`
bits 32
org CODE
        ldmxcsr [DATA]
        int3
`, '0fae1500000100cc');
const fencesAndFriends = asm(`
bits 32
org CODE
        sfence
        lfence
        mfence
        clflush [DATA]
        prefetchnta [DATA]
        movnti  [DATA], eax
        pause
        int3
`, '0faef80faee80faef00fae3d000001000f180500000100'
  + '0fc30500000100f390cc');

const { CR0_EM: EM, CR0_TS: TS } = abi;
const SSE_ON = abi.CR4_OSFXSR | abi.CR4_OSXMMEXCPT;

const gateCases: { name: string; program: Uint8Array; cr0?: number; cr4?: number; vector: number | null; end: number }[] = [
  { name: 'SSE runs', program: addps, vector: null, end: 3 },
  { name: 'SSE with CR4.OSFXSR=0 is #UD', program: addps, cr4: 0, vector: UD, end: 3 },
  { name: 'SSE with CR0.EM=1 is #UD', program: addps, cr0: EM, vector: UD, end: 3 },
  { name: 'SSE with CR0.EM=1 and TS=1 is #UD (before #NM)', program: addps, cr0: EM | TS, vector: UD, end: 3 },
  { name: 'SSE with CR0.TS=1 is #NM', program: addps, cr0: TS, vector: NM, end: 3 },
  { name: 'SSE with OSFXSR=0 and TS=1 is #UD', program: addps, cr0: TS, cr4: 0, vector: UD, end: 3 },
  { name: 'MMX runs without CR4.OSFXSR', program: paddb, cr4: 0, vector: null, end: 3 },
  { name: 'MMX with CR0.EM=1 is #UD', program: paddb, cr0: EM, vector: UD, end: 3 },
  { name: 'MMX with CR0.TS=1 is #NM', program: paddb, cr0: TS, vector: NM, end: 3 },
  { name: 'FXSAVE runs without CR4.OSFXSR', program: fxsaveData, cr4: 0, vector: null, end: 7 },
  { name: 'FXSAVE with CR0.EM=1 is #NM', program: fxsaveData, cr0: EM, vector: NM, end: 7 },
  { name: 'FXSAVE with CR0.TS=1 is #NM', program: fxsaveData, cr0: TS, vector: NM, end: 7 },
  { name: 'LDMXCSR with CR4.OSFXSR=0 is #UD', program: ldmxcsrData, cr4: 0, vector: UD, end: 7 },
  { name: 'LDMXCSR with CR0.TS=1 is #NM', program: ldmxcsrData, cr0: TS, vector: NM, end: 7 },
  { name: 'fences, CLFLUSH, PREFETCH, MOVNTI, PAUSE need no CR0/CR4 state', program: fencesAndFriends, cr0: EM | TS, cr4: 0, vector: null, end: 32 },
];

for (const c of gateCases) {
  test(`gating: ${c.name}`, async () => {
    const vm = await machine(c.program, { cr0Set: c.cr0, cr4: c.cr4 ?? SSE_ON });
    wr32(vm, DATA, MXCSR_DEFAULT); // a valid MXCSR for LDMXCSR
    if (c.vector === null) runToInt3(vm, CODE + c.end, c.name);
    else expectFault(vm, c.vector, null, CODE, c.name);
  });
}

test('gating: a pending x87 exception is #MF for MMX (CR0.NE=1), not for SSE; CVTPI2PS checks it only for an MMX register', async () => {
  const pending = 0x0081; // FSW: IE and ES
  const mmxVm = await machine(paddb);
  fpu(mmxVm).setUint16(abi.FPU_FSW, pending, true);
  expectFault(mmxVm, MF, null, CODE, 'PADDB with ES set');
  const sseVm = await machine(addps);
  fpu(sseVm).setUint16(abi.FPU_FSW, pending, true);
  runToInt3(sseVm, CODE + 3, 'ADDPS ignores the x87');

  const fromReg = asm(`
bits 32
org CODE
        cvtpi2ps xmm0, mm1
        int3
`, '0f2ac1cc');
  const fromMem = asm(`
bits 32
org CODE
        cvtpi2ps xmm0, [DATA]
        int3
`, '0f2a0500000100cc');
  const r = await machine(fromReg);
  fpu(r).setUint16(abi.FPU_FSW, pending, true);
  expectFault(r, MF, null, CODE, 'CVTPI2PS xmm, mm');
  const m = await machine(fromMem);
  fpu(m).setUint16(abi.FPU_FSW, pending | (5 << 11), true);
  runToInt3(m, CODE + 7, 'CVTPI2PS xmm, m64');
  assert.equal(fpu(m).getUint16(abi.FPU_FSW, true), pending | (5 << 11), 'no MMX transition from memory');
});

test('gating: with CR0.NE=0 a pending x87 exception stops an MMX instruction with the FERR# exit', async () => {
  const vm = await machine(paddb, { cr0Clear: abi.CR0_NE });
  fpu(vm).setUint16(abi.FPU_FSW, 0x0081, true);
  assert.equal(vm.run(100), abi.EXIT_FERR);
  assert.equal(vm.eip, CODE, 'the instruction waits');
});

// --- SIMD floating-point exceptions -------------------------------------------------

const divss = asm(`
bits 32
org CODE
        divss   xmm0, xmm1
        int3
`, 'f30f5ec1cc');

test('SIMD FP: an unmasked exception is #XM with CR4.OSXMMEXCPT=1, #UD without; the flag is set, the destination kept', async () => {
  for (const [cr4, vector] of [[SSE_ON, XM], [abi.CR4_OSFXSR, UD]] as const) {
    const vm = await machine(divss, { cr4, mxcsr: MXCSR_DEFAULT & ~0x200 }); // ZM clear
    setXmm(vm, 0, [f32(1), 0x11111111, 0x22222222, 0x33333333]);
    setXmm(vm, 1, [0, 0, 0, 0]);
    expectFault(vm, vector, null, CODE, `divide by zero, CR4 0x${cr4.toString(16)}`);
    assert.equal(mxcsr(vm), (MXCSR_DEFAULT & ~0x200) | abi.FP_ZE, 'ZE set');
    assert.deepEqual(xmm(vm, 0), [f32(1), 0x11111111, 0x22222222, 0x33333333], 'destination unchanged');
  }
  const masked = await machine(divss);
  setXmm(masked, 0, [f32(-1), 5, 6, 7]);
  setXmm(masked, 1, [0, 0, 0, 0]);
  runToInt3(masked, CODE + 4, 'masked divide by zero');
  assert.deepEqual(xmm(masked, 0), [0xff800000, 5, 6, 7], '-inf, upper lanes kept');
  assert.equal(mxcsr(masked), MXCSR_DEFAULT | abi.FP_ZE);
});

test('SIMD FP: an unmasked pre-computation exception (IE) suppresses the post-computation flags of other lanes', async () => {
  const program = asm(`
bits 32
org CODE
        addps   xmm0, xmm1
        int3
`, '0f58c1cc');
  const lanes0 = [0x7f800001 /* SNaN */, 0x7f7fffff, f32(1), f32(2)];
  const lanes1 = [f32(1), 0x7f7fffff /* overflows */, f32(1), f32(2)];
  // IE unmasked: only IE.
  let vm = await machine(program, { mxcsr: MXCSR_DEFAULT & ~0x80 });
  setXmm(vm, 0, lanes0);
  setXmm(vm, 1, lanes1);
  expectFault(vm, XM, null, CODE, 'IE unmasked');
  assert.equal(mxcsr(vm) & 0x3f, abi.FP_IE);
  assert.deepEqual(xmm(vm, 0), lanes0);
  // IE masked, OE unmasked: IE (masked, lane 0) and OE (lane 1) are both recorded; no PE,
  // as the unbounded sum is exact (an Intel CPU gives MXCSR 0x1B89 here).
  vm = await machine(program, { mxcsr: MXCSR_DEFAULT & ~0x400 });
  setXmm(vm, 0, lanes0);
  setXmm(vm, 1, lanes1);
  expectFault(vm, XM, null, CODE, 'OE unmasked');
  assert.equal(mxcsr(vm) & 0x3f, abi.FP_IE | abi.FP_OE);
  assert.deepEqual(xmm(vm, 0), lanes0);
  // All masked: the default results, and PE with the masked overflow (0x1FA9 natively).
  vm = await machine(program);
  setXmm(vm, 0, lanes0);
  setXmm(vm, 1, lanes1);
  runToInt3(vm, CODE + 3);
  assert.deepEqual(xmm(vm, 0), [0x7fc00001, 0x7f800000, f32(2), f32(4)]);
  assert.equal(mxcsr(vm), MXCSR_DEFAULT | abi.FP_IE | abi.FP_OE | abi.FP_PE);
});

// --- #GP: alignment and MXCSR reserved bits ---------------------------------------------

const alignmentCases: { name: string; program: Uint8Array; fault: boolean }[] = [
  { name: 'MOVAPS load', fault: true, program: asm(`
bits 32
org CODE
        movaps  xmm0, [DATA + 8]
        int3
`, '0f280508000100cc') },
  { name: 'MOVUPS load', fault: false, program: asm(`
bits 32
org CODE
        movups  xmm0, [DATA + 8]
        int3
`, '0f100508000100cc') },
  { name: 'MOVDQA store', fault: true, program: asm(`
bits 32
org CODE
        movdqa  [DATA + 4], xmm0
        int3
`, '660f7f0504000100cc') },
  { name: 'MOVDQU store', fault: false, program: asm(`
bits 32
org CODE
        movdqu  [DATA + 4], xmm0
        int3
`, 'f30f7f0504000100cc') },
  { name: 'ADDPS m128', fault: true, program: asm(`
bits 32
org CODE
        addps   xmm0, [DATA + 8]
        int3
`, '0f580508000100cc') },
  { name: 'PADDB xmm, m128', fault: true, program: asm(`
bits 32
org CODE
        paddb   xmm0, [DATA + 1]
        int3
`, '660ffc0501000100cc') },
  { name: 'PADDB mm, m64 (MMX: no alignment rule)', fault: false, program: asm(`
bits 32
org CODE
        paddb   mm0, [DATA + 1]
        int3
`, '0ffc0501000100cc') },
  { name: 'ADDSS m32', fault: false, program: asm(`
bits 32
org CODE
        addss   xmm0, [DATA + 4]
        int3
`, 'f30f580504000100cc') },
  { name: 'MOVLPS m64', fault: false, program: asm(`
bits 32
org CODE
        movlps  xmm0, [DATA + 4]
        int3
`, '0f120504000100cc') },
  { name: 'CVTPS2PD m64', fault: false, program: asm(`
bits 32
org CODE
        cvtps2pd xmm0, [DATA + 8]
        int3
`, '0f5a0508000100cc') },
  { name: 'CVTPD2PS m128', fault: true, program: asm(`
bits 32
org CODE
        cvtpd2ps xmm0, [DATA + 8]
        int3
`, '660f5a0508000100cc') },
  { name: 'FXSAVE', fault: true, program: asm(`
bits 32
org CODE
        fxsave  [DATA + 8]
        int3
`, '0fae0508000100cc') },
  { name: 'FXRSTOR', fault: true, program: asm(`
bits 32
org CODE
        fxrstor [DATA + 0x20 + 4]
        int3
`, '0fae0d24000100cc') },
];

for (const c of alignmentCases) {
  test(`alignment: ${c.name} ${c.fault ? 'is #GP(0) when misaligned' : 'may be misaligned'}`, async () => {
    const vm = await machine(c.program);
    const before = Buffer.from(vm.readPhys(DATA, 64));
    setXmm(vm, 0, [1, 2, 3, 4]);
    if (c.fault) {
      expectFault(vm, GP, 0, CODE, c.name);
      assert.deepEqual(Buffer.from(vm.readPhys(DATA, 64)), before, 'memory unchanged');
      assert.deepEqual(xmm(vm, 0), [1, 2, 3, 4], 'register unchanged');
    } else {
      runToInt3(vm, CODE + c.program.length - 1, c.name);
    }
  });
}

test('alignment: the linear address counts, not the offset ("regardless of segment")', async () => {
  const program = asm(`
bits 32
org CODE
        movaps  xmm0, [DATA + 8]
        int3
`, '0f280508000100cc');
  const vm = await machine(program);
  const ds = vm.getSeg(abi.SEG_DS);
  vm.setSeg(abi.SEG_DS, { ...ds, base: 8 });
  wr64(vm, DATA + 16, 0x1122334455667788n);
  runToInt3(vm, CODE + 7);
  assert.equal(xmm64(vm, 0)[0], 0x1122334455667788n);
});

test('MXCSR: LDMXCSR with a bit outside MXCSR_MASK is #GP(0); every bit inside loads; STMXCSR stores it', async () => {
  const program = asm(`
bits 32
org CODE
        ldmxcsr [DATA]
        stmxcsr [DATA + 4]
        int3
`, '0fae15000001000fae1d04000100cc');
  let vm = await machine(program);
  wr32(vm, DATA, 0x10000 | MXCSR_DEFAULT);
  expectFault(vm, GP, 0, CODE, 'reserved bit 16');
  assert.equal(mxcsr(vm), MXCSR_DEFAULT);
  vm = await machine(program);
  wr32(vm, DATA, 0xffff); // DAZ included: MXCSR_MASK is 0xFFFF
  runToInt3(vm, CODE + 14);
  assert.equal(mxcsr(vm), 0xffff);
  assert.equal(rd32(vm, DATA + 4), 0xffff);
});

// --- FXSAVE / FXRSTOR ---------------------------------------------------------------------

const fxsaveThenRestore = asm(`
bits 32
org CODE
        fxsave  [DATA]
        int3
        fxrstor [DATA + 0x200]
        int3
`, '0fae0500000100cc0fae0d00020100cc');

/** A distinctive x87/SSE state: TOP = 3, a tag byte, pointers, R0..R7, XMM0..7, MXCSR with flags. */
function fillFpuState(vm: Vcpu): void {
  const f = fpu(vm);
  f.setUint16(abi.FPU_FCW, 0x027f, true);
  f.setUint16(abi.FPU_FSW, (3 << 11) | 0x4100, true); // TOP 3, C3 C0
  f.setUint8(abi.FPU_FTW, 0b10110101);
  f.setUint16(abi.FPU_FOP, 0x0123, true);
  f.setUint32(abi.FPU_FIP, 0x11223344, true);
  f.setUint16(abi.FPU_FCS, 0x0008, true);
  f.setUint32(abi.FPU_FDP, 0x55667788, true);
  f.setUint16(abi.FPU_FDS, 0x0010, true);
  f.setUint32(abi.FPU_MXCSR, MXCSR_DEFAULT | 0x21, true);
  for (let r = 0; r < 8; r++) {
    f.setBigUint64(abi.FPU_REGS + 16 * r, 0x8000000000000000n | BigInt(r + 1) * 0x0101010101n, true);
    f.setUint16(abi.FPU_REGS + 16 * r + 8, 0x4000 + r, true);
  }
  for (let i = 0; i < 8; i++) setXmm(vm, i, [0x10 * i + 1, 0x10 * i + 2, 0x10 * i + 3, 0x10 * i + 4]);
}

test('FXSAVE: the 512-byte image, x87 registers in stack order (rotated by TOP), abridged tag, MXCSR_MASK, XMM', async () => {
  const vm = await machine(fxsaveThenRestore);
  fillFpuState(vm);
  vm.writePhys(DATA, new Uint8Array(512).fill(0xaa));
  runToInt3(vm, CODE + 7);
  const img = Buffer.from(vm.readPhys(DATA, 512));
  assert.equal(img.readUInt16LE(0), 0x027f, 'FCW');
  assert.equal(img.readUInt16LE(2), (3 << 11) | 0x4100, 'FSW');
  assert.equal(img[4], 0b10110101, 'abridged tag, per physical register');
  assert.equal(img[5], 0);
  assert.equal(img.readUInt16LE(6), 0x0123, 'FOP');
  assert.equal(img.readUInt32LE(8), 0x11223344, 'FIP');
  assert.equal(img.readUInt16LE(12), 8, 'FCS');
  assert.equal(img.readUInt16LE(14), 0);
  assert.equal(img.readUInt32LE(16), 0x55667788, 'FDP');
  assert.equal(img.readUInt16LE(20), 0x10, 'FDS');
  assert.equal(img.readUInt32LE(24), MXCSR_DEFAULT | 0x21, 'MXCSR');
  assert.equal(img.readUInt32LE(28), 0xffff, 'MXCSR_MASK');
  for (let i = 0; i < 8; i++) {
    const r = (3 + i) & 7;
    assert.equal(img.readBigUInt64LE(32 + 16 * i), 0x8000000000000000n | BigInt(r + 1) * 0x0101010101n, `ST(${i}) = R${r}`);
    assert.equal(img.readUInt16LE(32 + 16 * i + 8), 0x4000 + r, `ST(${i}) exponent`);
    assert.deepEqual([...img.subarray(32 + 16 * i + 10, 32 + 16 * i + 16)], [0, 0, 0, 0, 0, 0], 'reserved bytes');
    assert.deepEqual([0, 1, 2, 3].map((k) => img.readUInt32LE(160 + 16 * i + 4 * k)), [0x10 * i + 1, 0x10 * i + 2, 0x10 * i + 3, 0x10 * i + 4], `XMM${i}`);
  }
  assert.ok(img.subarray(288).every((b) => b === 0xaa), 'bytes 288-511 untouched');
});

test('FXRSTOR: loads the image back (ST(i) into R((TOP+i) mod 8) of the loaded TOP)', async () => {
  const vm = await machine(fxsaveThenRestore);
  fillFpuState(vm);
  runToInt3(vm, CODE + 7);
  const saved = Buffer.from(vm.readPhys(DATA, 512));
  // The same image with TOP = 6 goes to DATA + 0x200; the live state is scrambled.
  const image = Buffer.from(saved);
  image.writeUInt16LE((6 << 11) | 0x0200, 2);
  image.writeUInt32LE(MXCSR_DEFAULT | 0x6000, 24); // RC = toward zero
  vm.writePhys(DATA + 0x200, image);
  for (let off = 0; off < 0x120; off += 4) fpu(vm).setUint32(off, 0xdeadbeef, true);
  runToInt3(vm, CODE + 15);
  const f = fpu(vm);
  assert.equal(f.getUint16(abi.FPU_FCW, true), 0x027f);
  assert.equal(f.getUint16(abi.FPU_FSW, true), (6 << 11) | 0x0200);
  assert.equal(f.getUint8(abi.FPU_FTW), 0b10110101);
  assert.equal(f.getUint16(abi.FPU_FOP, true), 0x0123);
  assert.equal(f.getUint32(abi.FPU_FIP, true), 0x11223344);
  assert.equal(f.getUint32(abi.FPU_FDP, true), 0x55667788);
  assert.equal(f.getUint32(abi.FPU_MXCSR, true), MXCSR_DEFAULT | 0x6000);
  for (let i = 0; i < 8; i++) {
    const r = (6 + i) & 7;
    assert.equal(f.getBigUint64(abi.FPU_REGS + 16 * r, true), saved.readBigUInt64LE(32 + 16 * i), `R${r} = ST(${i})`);
    assert.equal(f.getUint16(abi.FPU_REGS + 16 * r + 8, true), saved.readUInt16LE(32 + 16 * i + 8));
    assert.deepEqual(xmm(vm, i), [0x10 * i + 1, 0x10 * i + 2, 0x10 * i + 3, 0x10 * i + 4], `XMM${i}`);
  }
});

test('FXRSTOR: an MXCSR with reserved bits is #GP(0) and nothing is loaded', async () => {
  const vm = await machine(fxsaveThenRestore);
  fillFpuState(vm);
  runToInt3(vm, CODE + 7);
  const image = Buffer.from(vm.readPhys(DATA, 512));
  image.writeUInt16LE(0x037f, 0);
  image.writeUInt32LE(0x20000 | MXCSR_DEFAULT, 24);
  vm.writePhys(DATA + 0x200, image);
  expectFault(vm, GP, 0, CODE + 8, 'reserved MXCSR bit');
  assert.equal(fpu(vm).getUint16(abi.FPU_FCW, true), 0x027f, 'FCW not loaded');
});

test('FXSAVE/FXRSTOR with CR4.OSFXSR=0: MXCSR and XMM0-7 are neither saved nor restored', async () => {
  const vm = await machine(fxsaveThenRestore, { cr4: 0 });
  fillFpuState(vm);
  vm.writePhys(DATA, new Uint8Array(512).fill(0xaa));
  runToInt3(vm, CODE + 7);
  const img = Buffer.from(vm.readPhys(DATA, 512));
  assert.equal(img.readUInt16LE(0), 0x027f, 'the x87 part is saved');
  assert.equal(img.readUInt32LE(24), 0xaaaaaaaa, 'MXCSR not saved');
  assert.equal(img.readUInt32LE(28), 0xaaaaaaaa, 'MXCSR_MASK not saved');
  assert.ok(img.subarray(160).every((b) => b === 0xaa), 'XMM area not written');
  const image = Buffer.from(img);
  image.writeUInt32LE(0xffffffff, 24); // would be #GP with OSFXSR=1
  vm.writePhys(DATA + 0x200, image);
  setXmm(vm, 0, [9, 9, 9, 9]);
  runToInt3(vm, CODE + 15);
  assert.equal(mxcsr(vm), MXCSR_DEFAULT | 0x21, 'MXCSR not loaded');
  assert.deepEqual(xmm(vm, 0), [9, 9, 9, 9], 'XMM0 not loaded');
});

test('FXSAVE/FXRSTOR: a page fault on the second page leaves memory and state unchanged', async () => {
  const program = asm(`
bits 32
org CODE
        fxsave  [0x1ff00]
        int3
        fxrstor [0x1ff00]
        int3
`, '0fae0500ff0100cc0fae0d00ff0100cc');
  const vm = await machine(program);
  // Identity paging with the page at 0x20000 not present.
  for (let i = 0; i < 1024; i++) wr32(vm, 0x81000 + i * 4, i === 0x20 ? 0 : (i << 12) | 7);
  wr32(vm, 0x80000, 0x81000 | 7);
  vm.setCr(3, 0x80000);
  vm.setCr(0, vm.getCr(0) | abi.CR0_PG);
  fillFpuState(vm);
  vm.writePhys(0x1ff00, new Uint8Array(256).fill(0x5a));
  expectFault(vm, abi.EXC_PF, 2, CODE, 'FXSAVE: write to a not-present page');
  assert.equal(vm.getCr(2), 0x20000);
  assert.ok(Buffer.from(vm.readPhys(0x1ff00, 256)).every((b) => b === 0x5a), 'nothing written to the first page');
  const before = Buffer.from(new Uint8Array(vm.memory.buffer, vm.base + abi.V_FPU, 0x120));
  vm.eip = CODE + 8;
  expectFault(vm, abi.EXC_PF, 0, CODE + 8, 'FXRSTOR: read of a not-present page');
  assert.deepEqual(Buffer.from(new Uint8Array(vm.memory.buffer, vm.base + abi.V_FPU, 0x120)), before, 'state unchanged');
});

// --- MMX and the x87 ----------------------------------------------------------------------

test('MMX aliasing: an MMX instruction sets TOP=0 and every tag valid, a write sets the exponent to 0xFFFF; EMMS empties the tags', async () => {
  const program = asm(`
bits 32
org CODE
        movq    mm2, [DATA]
        paddw   mm2, [DATA + 8]
        int3
        emms
        int3
`, '0f6f15000001000ffd1508000100cc0f77cc');
  const vm = await machine(program);
  fpu(vm).setUint16(abi.FPU_FSW, (5 << 11) | 0x0700, true); // TOP 5, C0-C2 set
  fpu(vm).setUint8(abi.FPU_FTW, 0);
  for (let r = 0; r < 8; r++) fpu(vm).setUint16(abi.FPU_REGS + 16 * r + 8, 0x3fff, true);
  wr64(vm, DATA, 0x0001_7fff_fffe_0003n);
  wr64(vm, DATA + 8, 0x0002_0001_0003_fffen);
  runToInt3(vm, CODE + 14);
  assert.equal(fpu(vm).getUint16(abi.FPU_FSW, true), 0x0700, 'TOP = 0, the rest of FSW kept');
  assert.equal(fpu(vm).getUint8(abi.FPU_FTW), 0xff, 'all valid');
  assert.equal(mm(vm, 2), 0x0003_8000_0001_0001n, 'wrapping word adds');
  assert.equal(mmExponent(vm, 2), 0xffff, 'the written register reads as a NaN to the x87');
  assert.equal(mmExponent(vm, 1), 0x3fff, 'other registers untouched');
  runToInt3(vm, CODE + 17);
  assert.equal(fpu(vm).getUint8(abi.FPU_FTW), 0, 'EMMS: all empty');
  assert.equal(fpu(vm).getUint16(abi.FPU_FSW, true), 0x0700);
});

test('MMX: a faulting MMX instruction leaves TOP and the tags as they were', async () => {
  const program = asm(`
bits 32
org CODE
        paddb   mm0, [0x20000]
        int3
`, '0ffc0500000200cc');
  const vm = await machine(program);
  const ds = vm.getSeg(abi.SEG_DS);
  vm.setSeg(abi.SEG_DS, { ...ds, limit: 0xffff });
  fpu(vm).setUint16(abi.FPU_FSW, 5 << 11, true);
  fpu(vm).setUint8(abi.FPU_FTW, 0x0f);
  expectFault(vm, GP, 0, CODE, 'beyond the DS limit');
  assert.equal(fpu(vm).getUint16(abi.FPU_FSW, true), 5 << 11);
  assert.equal(fpu(vm).getUint8(abi.FPU_FTW), 0x0f);
});

test('MMX: reading instructions (MOVD r32, mm; PMOVMSKB; MOVQ m64, mm) also enter MMX mode', async () => {
  const program = asm(`
bits 32
org CODE
        movd    eax, mm3
        pmovmskb ebx, mm3
        movq    [DATA], mm3
        int3
`, '0f7ed80fd7db0f7f1d00000100cc');
  const vm = await machine(program);
  fpu(vm).setUint16(abi.FPU_FSW, 2 << 11, true);
  setMm(vm, 3, 0x80ff_0102_8000_0005n);
  runToInt3(vm, CODE + 13);
  assert.equal(vm.getReg(abi.REG_EAX), 0x8000_0005);
  assert.equal(vm.getReg(abi.REG_EBX), 0b1100_1000);
  assert.equal(rd64(vm, DATA), 0x80ff_0102_8000_0005n);
  assert.equal(fpu(vm).getUint16(abi.FPU_FSW, true), 0);
  assert.equal(fpu(vm).getUint8(abi.FPU_FTW), 0xff);
});

// --- integer results -------------------------------------------------------------------------

test('integer SIMD: saturation, packs, unpacks (MMX high halves), multiplies, PSADBW, shifts past the width', async () => {
  const program = asm(`
bits 32
org CODE
        paddsw  xmm0, xmm1
        packuswb mm0, mm1
        punpckhbw mm2, mm3
        punpckhbw xmm2, xmm3
        pmaddwd xmm4, xmm5
        psadbw  mm4, mm5
        psllq   mm6, mm7
        psraw   xmm6, 20
        pmulhw  xmm7, xmm1
        pmuludq xmm3, xmm5
        int3
`, '660fedc10f67c10f68d3660f68d3660ff5e50ff6e50ff3f7660f71e614660fe5f9660ff4ddcc');
  const vm = await machine(program);
  setXmm(vm, 0, [0x8000_7000, 0xffff_0001, 0x7fff_8000, 0x0000_0000]);
  setXmm(vm, 1, [0xffff_1000, 0x0003_0002, 0x0001_ffff, 0x8000_7fff]);
  setMm(vm, 0, 0x0080_007f_fffb_0100n);
  setMm(vm, 1, 0x01ff_0003_0002_0001n);
  setMm(vm, 2, 0x0706_0504_0302_0100n);
  setMm(vm, 3, 0x1716_1514_1312_1110n);
  setXmm(vm, 2, [0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c]);
  setXmm(vm, 3, [0x13121110, 0x17161514, 0x1b1a1918, 0x1f1e1d1c]);
  setXmm(vm, 4, [0x0002_0001, 0x0004_0003, 0x8000_8000, 0xffff_0001]);
  setXmm(vm, 5, [0x0006_0005, 0x0008_0007, 0x8000_8000, 0x0002_0003]);
  setMm(vm, 4, 0x00ff_1020_3040_5060n);
  setMm(vm, 5, 0xff00_2010_4030_6050n);
  setMm(vm, 6, 0xffff_ffff_ffff_ffffn);
  setMm(vm, 7, 64n);
  setXmm(vm, 6, [0x8000_7fff, 0x0001_c000, 0, 0xffff_4000]);
  setXmm(vm, 7, [0x8000_4000, 0x0002_ffff, 0x1234_8000, 0x7fff_0001]);
  runToInt3(vm, CODE + program.length - 1);
  assert.deepEqual(xmm(vm, 0), [0x8000_7fff, 0x0002_0003, 0x7fff_8000, 0x8000_7fff], 'PADDSW');
  assert.equal(mm(vm, 0), 0xff03_0201_807f_00ffn, 'PACKUSWB');
  assert.equal(mm(vm, 2), 0x1707_1606_1505_1404n, 'PUNPCKHBW mm: bytes 4-7');
  assert.deepEqual(xmm(vm, 2), [0x1909_1808, 0x1b0b_1a0a, 0x1d0d_1c0c, 0x1f0f_1e0e], 'PUNPCKHBW xmm: bytes 8-15');
  assert.deepEqual(xmm(vm, 4), [17, 53, 0x8000_0000, 1], 'PMADDWD (0x8000*0x8000*2 wraps)');
  assert.equal(mm(vm, 4), BigInt(0xff + 0xff + 0x10 * 6), 'PSADBW');
  assert.equal(mm(vm, 6), 0n, 'PSLLQ by 64 clears');
  assert.deepEqual(xmm(vm, 6), [0xffff_0000, 0x0000_ffff, 0, 0xffff_0000], 'PSRAW by 20 = by 15');
  assert.deepEqual(xmm(vm, 7), [0x0000_0400, 0x0000_ffff, 0, 0xc000_0000], 'PMULHW');
  assert.deepEqual(xmm64(vm, 3), [0x13121110n * 0x00060005n, 0x1b1a1918n * 0x80008000n], 'PMULUDQ');
});

test('integer SIMD: PSHUFD/PSHUFLW/PSHUFW, PEXTRW/PINSRW, PSRLDQ/PSLLDQ, PCMPGTB, PAVGB, MOVD/MOVQ forms', async () => {
  const program = asm(`
bits 32
org CODE
        pshufd  xmm1, xmm0, 0x1b
        pshuflw xmm2, xmm0, 0x1b
        pshufw  mm1, mm0, 0xe4
        pextrw  eax, xmm0, 5
        pinsrw  mm1, eax, 3
        pinsrw  xmm3, [DATA], 7
        movdqa  xmm4, xmm0
        psrldq  xmm4, 3
        movdqa  xmm5, xmm0
        pslldq  xmm5, 17
        pcmpgtb mm2, mm3
        pavgb   mm4, mm5
        movd    xmm6, [DATA]
        movq    xmm7, xmm0
        int3
`, '660f70c81bf20f70d01b0f70c8e4660fc5c0050fc4c803660fc41d0000010007660f6fe0660f73dc03660f6fe8660f73fd110f64d30fe0e5660f6e3500000100f30f7ef8cc');
  const vm = await machine(program);
  setXmm(vm, 0, [0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c]);
  setXmm(vm, 3, [0, 0, 0, 0]);
  setMm(vm, 0, 0x4444_3333_2222_1111n);
  setMm(vm, 2, 0x7f80_0001_ff00_0102n);
  setMm(vm, 3, 0x8081_0000_0001_0201n);
  setMm(vm, 4, 0x00ff_0102_0304_0506n);
  setMm(vm, 5, 0x0001_0201_0303_0606n);
  setXmm(vm, 6, [9, 9, 9, 9]);
  setXmm(vm, 7, [9, 9, 9, 9]);
  wr32(vm, DATA, 0xbeef_cafe);
  runToInt3(vm, CODE + program.length - 1);
  assert.deepEqual(xmm(vm, 1), [0x0f0e0d0c, 0x0b0a0908, 0x07060504, 0x03020100], 'PSHUFD');
  assert.deepEqual(xmm(vm, 2), [0x0504_0706, 0x0100_0302, 0x0b0a0908, 0x0f0e0d0c], 'PSHUFLW');
  assert.equal(vm.getReg(abi.REG_EAX), 0x0b0a, 'PEXTRW');
  assert.equal(mm(vm, 1), 0x0b0a_3333_2222_1111n, 'PSHUFW identity, PINSRW');
  assert.deepEqual(xmm(vm, 3), [0, 0, 0, 0xcafe_0000], 'PINSRW m16');
  assert.deepEqual(xmm(vm, 4), [0x06050403, 0x0a090807, 0x0e0d0c0b, 0x0000000f], 'PSRLDQ 3');
  assert.deepEqual(xmm(vm, 5), [0, 0, 0, 0], 'PSLLDQ 17');
  assert.equal(mm(vm, 2), 0xff00_00ff_0000_00ffn, 'PCMPGTB signed');
  assert.equal(mm(vm, 4), 0x0080_0202_0304_0606n, 'PAVGB rounds up');
  assert.deepEqual(xmm(vm, 6), [0xbeef_cafe, 0, 0, 0], 'MOVD zero-extends');
  assert.deepEqual(xmm(vm, 7), [0x03020100, 0x07060504, 0, 0], 'MOVQ zero-extends');
});

test('MASKMOVQ/MASKMOVDQU store the selected bytes at DS:EDI', async () => {
  const program = asm(`
bits 32
org CODE
        maskmovq mm0, mm1
        add     edi, 16
        maskmovdqu xmm0, xmm1
        int3
`, '0ff7c183c710660ff7c1cc');
  const vm = await machine(program);
  vm.setReg(abi.REG_EDI, DATA);
  vm.writePhys(DATA, new Uint8Array(32).fill(0xee));
  setMm(vm, 0, 0x0807_0605_0403_0201n);
  setMm(vm, 1, 0x8000_ff00_0080_7f80n);
  setXmm(vm, 0, [0x04030201, 0x08070605, 0x0c0b0a09, 0x100f0e0d]);
  setXmm(vm, 1, [0x80, 0, 0, 0x80000000]);
  runToInt3(vm, CODE + program.length - 1);
  assert.deepEqual([...vm.readPhys(DATA, 8)], [0x01, 0xee, 0x03, 0xee, 0xee, 0x06, 0xee, 0x08]);
  assert.deepEqual([...vm.readPhys(DATA + 16, 16)], [1, ...new Array(14).fill(0xee), 0x10]);
});

// --- floating-point results (values from softfloat) ----------------------------------------

test('SSE FP: packed/scalar arithmetic, MIN/MAX operand rules, CMPPS, COMISS, conversions', async () => {
  const program = asm(`
bits 32
org CODE
        addps   xmm0, xmm1
        mulsd   xmm2, xmm3
        minps   xmm4, xmm5
        maxss   xmm6, xmm7
        cmpltps xmm1, [DATA]
        comiss  xmm3, xmm3
        cvttsd2si eax, xmm2
        cvtsi2sd xmm7, eax
        cvtps2pd xmm5, [DATA + 16]
        cvtpd2ps xmm3, xmm5
        int3
`, '0f58c1f20f59d30f5de5f30f5ff70fc20d0000010001'
  + '0f2fdbf20f2cc2f20f2af80f5a2d10000100660f5addcc');
  const vm = await machine(program);
  setXmm(vm, 0, [f32(1), f32(2.5), f32(-3), f32(1e30)]);
  setXmm(vm, 1, [f32(2), f32(0.25), f32(3), f32(1e30)]);
  setXmm64(vm, 2, [f64(1.5), f64(7)]);
  setXmm64(vm, 3, [f64(-3.25), f64(9)]);
  setXmm(vm, 4, [f32(0), 0x7fc00000, f32(1), f32(-2)]);
  setXmm(vm, 5, [0x80000000, f32(5), 0x7fc00001, f32(-1)]);
  setXmm(vm, 6, [f32(-0), 1, 2, 3]);
  setXmm(vm, 7, [f32(0), 0, 0, 0]);
  vm.writePhys(DATA, Buffer.from(new Float32Array([3, 0.25, 4, NaN]).buffer));
  vm.writePhys(DATA + 16, Buffer.from(new Float32Array([0.5, -1e-3]).buffer));
  runToInt3(vm, CODE + program.length - 1);
  assert.deepEqual(xmm(vm, 0), [f32(3), f32(2.75), 0, f32(2e30)], 'ADDPS');
  assert.deepEqual(xmm64(vm, 2), [f64(-4.875), f64(7)], 'MULSD keeps the upper lane');
  assert.deepEqual(xmm(vm, 4), [0x80000000, f32(5), 0x7fc00001, f32(-2)], 'MINPS: second operand for equal zeros and NaNs');
  assert.deepEqual(xmm(vm, 6), [f32(0), 1, 2, 3], 'MAXSS -0 vs +0: the second');
  assert.deepEqual(xmm(vm, 1), [0xffffffff, 0, 0xffffffff, 0], 'CMPLTPS (NaN: false)');
  assert.equal(vm.eflags & 0x8d5, 0x40, 'COMISS equal: ZF only');
  assert.equal(vm.getReg(abi.REG_EAX), -4 >>> 0, 'CVTTSD2SI truncates');
  assert.deepEqual(xmm64(vm, 7), [f64(-4), 0n], 'CVTSI2SD keeps the upper lane');
  assert.deepEqual(xmm64(vm, 5), [f64(0.5), f64(Math.fround(-1e-3))], 'CVTPS2PD');
  assert.deepEqual(xmm(vm, 3), [f32(0.5), f32(-1e-3), 0, 0], 'CVTPD2PS zeroes the upper half');
  assert.equal(mxcsr(vm) & 0x3f, abi.FP_IE | abi.FP_PE, 'IE (CMPLT with a QNaN, MINPS NaNs) and PE');
});

test('SSE FP: rounding control applies to CVTSS2SI, the invalid result is 0x80000000 with IE', async () => {
  const program = asm(`
bits 32
org CODE
        cvtss2si eax, xmm0
        cvtss2si ebx, xmm1
        cvtss2si ecx, xmm2
        int3
`, 'f30f2dc0f30f2dd9f30f2dcacc');
  for (const [rc, expected] of [[0, 2], [1, 2], [2, 3], [3, 2]]) {
    const vm = await machine(program, { mxcsr: MXCSR_DEFAULT | (rc << 13) });
    setXmm(vm, 0, [f32(2.5), 0, 0, 0]);
    setXmm(vm, 1, [0x7fc00000, 0, 0, 0]);
    setXmm(vm, 2, [f32(-3e9), 0, 0, 0]);
    runToInt3(vm, CODE + 12);
    assert.equal(vm.getReg(abi.REG_EAX), expected, `2.5 with RC ${rc}`);
    assert.equal(vm.getReg(abi.REG_EBX), 0x80000000);
    assert.equal(vm.getReg(abi.REG_ECX), 0x80000000);
    assert.equal(mxcsr(vm) & 0x3f, abi.FP_IE | abi.FP_PE);
  }
});

// --- RCP / RSQRT ---------------------------------------------------------------------------

/** RCPSS/RSQRTSS results recorded natively on an Intel Xeon (see wasm/ops/simd/approx.ts). */
const approxCases: [number, number, number][] = [
  // input, RCPSS, RSQRTSS
  [0x3f800000, 0x3f7ff000, 0x3f7ff000],
  [0x3fc00000, 0x3f2aa000, 0x3f510000],
  [0x00800000, 0x7e7ff000, 0x5efff000],
  [0x00400000, 0x7f800000, 0x7f800000],
  [0x7e800000, 0x00000000, 0x1ffff000],
  [0x7f000000, 0x00000000, 0x1fb4f800],
  [0x7f7fffff, 0x00000000, 0x1f800800],
  [0x80000000, 0xff800000, 0xff800000],
  [0x7f800000, 0x00000000, 0x00000000],
  [0xff800000, 0x80000000, 0xffc00000],
  [0x7f800001, 0x7fc00001, 0x7fc00001],
  [0x3f8007ff, 0x3f7ff000, 0x3f7ff000],
  [0x7e7fffff, 0x00800800, 0x20000800],
  [0xfe7fffff, 0x80800800, 0xffc00000],
  [0xbf800000, 0xbf7ff000, 0xffc00000],
  [0x01000000, 0x7dfff000, 0x5eb4f800],
  [0x00ffffff, 0x7e000800, 0x5eb50800],
  [0x00923456, 0x7e601800, 0x5eef8800],
  [0x01123456, 0x7de01800, 0x5ea96000],
  [0x7e123456, 0x00e01800, 0x20296000],
  [0x7e923456, 0x00000000, 0x1fef8800],
];

test('RCPPS/RSQRTPS reproduce an Intel CPU bit for bit; no flags, whatever DAZ/FTZ', async () => {
  const program = asm(`
bits 32
org CODE
        rcpps   xmm1, xmm0
        rsqrtps xmm2, xmm0
        int3
`, '0f53c80f52d0cc');
  for (let i = 0; i < approxCases.length; i += 4) {
    const group = approxCases.slice(i, i + 4);
    while (group.length < 4) group.push(approxCases[0]);
    const vm = await machine(program, { mxcsr: 0 /* everything unmasked */ });
    setXmm(vm, 0, group.map((c) => c[0]));
    runToInt3(vm, CODE + 6);
    assert.deepEqual(xmm(vm, 1).map((v) => v.toString(16)), group.map((c) => c[1].toString(16)), 'RCPPS');
    assert.deepEqual(xmm(vm, 2).map((v) => v.toString(16)), group.map((c) => c[2].toString(16)), 'RSQRTPS');
    assert.equal(mxcsr(vm), 0);
  }
});

// --- decoding --------------------------------------------------------------------------------

const decodeCases: { name: string; program: Uint8Array; ud: boolean }[] = [
  { name: 'F3 0F 60 (no PUNPCKLBW with F3)', ud: true, program: Uint8Array.from([0xf3, 0x0f, 0x60, 0xc1, 0xcc]) },
  { name: '0F 6C (PUNPCKLQDQ needs 66)', ud: true, program: Uint8Array.from([0x0f, 0x6c, 0xc1, 0xcc]) },
  { name: '66 0F C5 with a memory operand', ud: true, program: Uint8Array.from([0x66, 0x0f, 0xc5, 0x05, 0, 0, 1, 0, 1, 0xcc]) },
  { name: '0F 13 with a register operand', ud: true, program: Uint8Array.from([0x0f, 0x13, 0xc1, 0xcc]) },
  { name: 'F2 0F 5B', ud: true, program: Uint8Array.from([0xf2, 0x0f, 0x5b, 0xc1, 0xcc]) },
  { name: '0F 73 /3 (PSRLDQ) without 66', ud: true, program: Uint8Array.from([0x0f, 0x73, 0xd9, 0x01, 0xcc]) },
  { name: '0F 71 /3', ud: true, program: Uint8Array.from([0x0f, 0x71, 0xd9, 0x01, 0xcc]) },
  { name: 'LOCK ADDPS', ud: true, program: Uint8Array.from([0xf0, 0x0f, 0x58, 0x05, 0, 0, 1, 0, 0xcc]) },
  { name: '0F AE /4 (XSAVE is not reported)', ud: true, program: Uint8Array.from([0x0f, 0xae, 0x25, 0, 0, 1, 0, 0xcc]) },
  { name: 'F3 0F AE /0 with a register (RDFSBASE, 64-bit only)', ud: true, program: Uint8Array.from([0xf3, 0x0f, 0xae, 0xc0, 0xcc]) },
  { name: '66 0F 77 (EMMS takes no prefix)', ud: true, program: Uint8Array.from([0x66, 0x0f, 0x77, 0xcc]) },
  { name: '0F D0 (ADDSUBPD, SSE3)', ud: true, program: Uint8Array.from([0x66, 0x0f, 0xd0, 0xc1, 0xcc]) },
  { name: '66 F3 0F 10: F3 wins (MOVSS)', ud: false, program: Uint8Array.from([0x66, 0xf3, 0x0f, 0x10, 0xc1, 0xcc]) },
  { name: '0F 18 /0 register form is a hint NOP', ud: false, program: Uint8Array.from([0x0f, 0x18, 0xc0, 0xcc]) },
];

for (const c of decodeCases) {
  test(`decoding: ${c.name}${c.ud ? ' is #UD' : ''}`, async () => {
    const vm = await machine(c.program);
    if (c.ud) expectFault(vm, UD, null, CODE, c.name);
    else runToInt3(vm, CODE + c.program.length - 1, c.name);
  });
}

test('MOVSS/MOVSD: register to register moves one lane, a load zeroes the rest, a store writes one lane', async () => {
  const program = asm(`
bits 32
org CODE
        movss   xmm0, xmm1
        movss   xmm2, [DATA]
        movsd   xmm3, [DATA]
        movss   [DATA + 16], xmm1
        movhlps xmm4, xmm1
        movlhps xmm5, xmm1
        int3
`, 'f30f10c1f30f101500000100f20f101d00000100f30f110d100001000f12e10f16e9cc');
  const vm = await machine(program);
  for (const i of [0, 2, 3, 4, 5]) setXmm(vm, i, [0xa0 + i, 0xb0 + i, 0xc0 + i, 0xd0 + i]);
  setXmm(vm, 1, [1, 2, 3, 4]);
  wr64(vm, DATA, 0x2222_2222_1111_1111n);
  wr64(vm, DATA + 16, -1n);
  runToInt3(vm, CODE + program.length - 1);
  assert.deepEqual(xmm(vm, 0), [1, 0xb0, 0xc0, 0xd0]);
  assert.deepEqual(xmm(vm, 2), [0x1111_1111, 0, 0, 0]);
  assert.deepEqual(xmm(vm, 3), [0x1111_1111, 0x2222_2222, 0, 0]);
  assert.equal(rd64(vm, DATA + 16), 0xffff_ffff_0000_0001n);
  assert.deepEqual(xmm(vm, 4), [3, 4, 0xc4, 0xd4], 'MOVHLPS');
  assert.deepEqual(xmm(vm, 5), [0xa5, 0xb5, 1, 2], 'MOVLHPS');
});

// --- CPUID -----------------------------------------------------------------------------------

test('CPUID: a Pentium M signature with FPU, CLFSH (64-byte lines), MMX, FXSR, SSE, SSE2 and no PAE', async () => {
  const vm = await machine(Uint8Array.from([0x0f, 0xa2, 0xcc]));
  vm.setReg(abi.REG_EAX, 1);
  runToInt3(vm, CODE + 2);
  assert.equal(vm.getReg(abi.REG_EAX), 0x6d6, 'family 6 model 13 stepping 6');
  assert.equal((vm.getReg(abi.REG_EBX) >>> 8) & 0xff, 8, 'CLFLUSH line: 8 qwords');
  const edx = vm.getReg(abi.REG_EDX);
  for (const bit of [0, 19, 23, 24, 25, 26]) assert.equal((edx >>> bit) & 1, 1, `EDX bit ${bit}`);
  for (const bit of [6, 20, 28, 29, 30, 31]) assert.equal((edx >>> bit) & 1, 0, `no EDX bit ${bit}`);
  assert.equal(vm.getReg(abi.REG_ECX), 0, 'no SSE3');
});

test('simd: inline program bytes match their nasm sources', (t) => {
  try {
    execFileSync('nasm', ['-v'], { stdio: 'ignore' });
  } catch {
    t.skip('nasm is not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'simd-asm-'));
  try {
    snippets.forEach(({ src, hex }, i) => {
      writeFileSync(join(dir, 'a.asm'), `${ASM_HEADER}\n${src}\n`);
      execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), join(dir, 'a.asm')]);
      assert.equal(readFileSync(join(dir, 'a.bin')).toString('hex'), hex,
        `snippet ${i + 1} is stale: run node scripts/inline-asm.mjs test/cpu/simd.test.ts`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
