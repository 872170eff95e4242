// Focused tests of the protected-mode and system half of the core: segment
// loads and their exact fault error codes, interrupt gates across privilege
// levels, call gates, task switches (CALL/IRET, JMP to a 16-bit TSS, #DF
// through a task gate), virtual-8086 round trips, EXT bits, interrupt
// shadows, LAR/LSL/VERR/VERW/ARPL/LLDT, control/debug registers, SYSENTER.
//
// The programs are nasm snippets with their bytes inline: asm(`source`,
// 'hex'). After editing a source run
//     node scripts/inline-asm.mjs test/cpu/protected.test.ts
// (the last test checks the bytes against nasm when it is installed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Vcpu } from '../../src/core/Vcpu.ts';
import * as abi from '../../wasm/abi.ts';

const ASM_HEADER = `
CODE    equ 0x10000
KCODE   equ 0x11000
UCODE   equ 0x12000
RES     equ 0x20000
`;
const snippets: { src: string; hex: string }[] = [];
function asm(src: string, hex: string): Uint8Array {
  snippets.push({ src, hex });
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

// --- the machine: physical = linear, no paging ---------------------------------------
const GDT = 0x1000;
const IDT = 0x2000;
const TSS0 = 0x3000;
const TSS1 = 0x3100;
const TSS16 = 0x3200;
const LDT = 0x4000;
const CODE = 0x10000;
const KCODE = 0x11000;
const UCODE = 0x12000;
const OUT = 0x20000;
const KSTACK = 0x8000; // TSS0.ESP0
const USTACK = 0x9000; // ring 3
const STACK = 0xa000; // main ring-0 stack

const SEL = {
  CODE0: 0x08, DATA0: 0x10, CODE3: 0x1b, DATA3: 0x23, CODE1: 0x29, DATA1: 0x31, TSS0: 0x38, TSS1: 0x40,
  CODE16: 0x48, DATA16: 0x50, CONF0: 0x58, XONLY: 0x60, NPDATA: 0x68, LDT: 0x70, TSS16: 0x78, NPDATA3: 0x80,
  RODATA: 0x88, FREE: 0x90,
};
const GP = 13, NP = 11, SS = 12, TS = 10, UD = 6;
const mask = (...v: number[]): number => v.reduce((m, x) => m | (1 << x), 0);

function w32(vm: Vcpu, addr: number, v: number): void {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  vm.writePhys(addr, b);
}
function w16(vm: Vcpu, addr: number, v: number): void {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v & 0xffff);
  vm.writePhys(addr, b);
}
function r32(vm: Vcpu, addr: number): number {
  return Buffer.from(vm.readPhys(addr, 4)).readUInt32LE();
}
function r16(vm: Vcpu, addr: number): number {
  return Buffer.from(vm.readPhys(addr, 2)).readUInt16LE();
}
function r8(vm: Vcpu, addr: number): number {
  return vm.readPhys(addr, 1)[0];
}
function u32At(vm: Vcpu, off: number): number {
  return new DataView(vm.memory.buffer).getUint32(vm.base + off, true);
}
function setU64At(vm: Vcpu, off: number, v: number): void {
  new DataView(vm.memory.buffer).setBigUint64(vm.base + off, BigInt(v >>> 0), true);
}

/** A descriptor; attr as in lib.inc: access byte | flags << 12 (0xC09A = G, D, code). */
function setDescAt(vm: Vcpu, addr: number, base: number, limit: number, attr: number): void {
  w32(vm, addr, (limit & 0xffff) | ((base & 0xffff) << 16));
  w32(vm, addr + 4, ((base >>> 16) & 0xff) | ((attr & 0xff) << 8) | (limit & 0xf0000) | ((attr & 0xf000) << 8) | (base & 0xff000000));
}
function setDesc(vm: Vcpu, sel: number, base: number, limit: number, attr: number): void {
  setDescAt(vm, GDT + (sel & 0xfff8), base, limit, attr);
}
/** A gate: attribute byte (0x8E interrupt, 0x8F trap, 0x8C/0x84 call, 0x85 task), parameter count. */
function setGateAt(vm: Vcpu, addr: number, sel: number, off: number, attrByte: number, params = 0): void {
  w32(vm, addr, (off & 0xffff) | (sel << 16));
  w32(vm, addr + 4, (off & 0xffff0000) | (attrByte << 8) | params);
}
function setIdt(vm: Vcpu, vector: number, off: number, attrByte = 0x8e, sel = SEL.CODE0): void {
  setGateAt(vm, IDT + vector * 8, sel, off, attrByte);
}

/** Flat 32-bit protected mode at `cpl`, GDT/IDT/TSS0 set up, TR = TSS0. */
async function setup(cpl = 0): Promise<Vcpu> {
  const vm = await Vcpu.create({ ramSize: 2 << 20 });
  setDesc(vm, 0x08, 0, 0xfffff, 0xc09b);
  setDesc(vm, 0x10, 0, 0xfffff, 0xc093);
  setDesc(vm, 0x18, 0, 0xfffff, 0xc0fb);
  setDesc(vm, 0x20, 0, 0xfffff, 0xc0f3);
  setDesc(vm, 0x28, 0, 0xfffff, 0xc0bb);
  setDesc(vm, 0x30, 0, 0xfffff, 0xc0b3);
  setDesc(vm, SEL.TSS0, TSS0, 0x67, 0x008b);
  setDesc(vm, SEL.TSS1, TSS1, 0x67, 0x0089);
  setDesc(vm, SEL.CODE16, 0, 0xffff, 0x009b);
  setDesc(vm, SEL.DATA16, 0, 0xffff, 0x0092);
  setDesc(vm, SEL.CONF0, 0, 0xfffff, 0xc09f);
  setDesc(vm, SEL.XONLY, 0, 0xfffff, 0xc099);
  setDesc(vm, SEL.NPDATA, 0, 0xfffff, 0xc013);
  setDesc(vm, SEL.LDT, LDT, 0xff, 0x0082);
  setDesc(vm, SEL.TSS16, TSS16, 0x2b, 0x0081);
  setDesc(vm, SEL.NPDATA3, 0, 0xfffff, 0xc073);
  setDesc(vm, SEL.RODATA, 0, 0xfffff, 0xc091);
  vm.setDescriptorTable('gdt', GDT, 0x1ff);
  vm.setDescriptorTable('idt', IDT, 0x7ff);
  w32(vm, TSS0 + 4, KSTACK);
  w32(vm, TSS0 + 8, SEL.DATA0);
  w32(vm, TSS0 + 0x0c, 0x7000);
  w32(vm, TSS0 + 0x10, SEL.DATA1);
  w16(vm, TSS0 + 0x66, 0x68);
  vm.setFlat32(cpl);
  vm.setSeg(abi.SEG_TR, { sel: SEL.TSS0, base: TSS0, limit: 0x67, attr: 0x8b | abi.SEG_VALID });
  vm.setReg(abi.REG_ESP, cpl === 0 ? STACK : USTACK);
  vm.eip = cpl === 0 ? CODE : UCODE;
  return vm;
}

function expectException(vm: Vcpu, exit: number, vector: number, error: number | null, eip: number, what: string): void {
  assert.equal(exit, abi.EXIT_EXCEPTION, `${what}: exit reason`);
  assert.equal(vm.exitVector, vector, `${what}: vector`);
  assert.equal(vm.exitErrorCode >>> 0, error === null ? abi.NO_ERROR_CODE : error, `${what}: error code`);
  assert.equal(vm.eip, eip, `${what}: EIP`);
}

// --- segment register loads ---------------------------------------------------------------

const SREG = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5 };
/** mov ax, sel; mov sreg, ax; hlt */
function loadSegProgram(sreg: number, sel: number): Uint8Array {
  return Uint8Array.from([0x66, 0xb8, sel & 0xff, sel >> 8, 0x8e, 0xc0 | (sreg << 3), 0xf4]);
}

const segLoadCases: { name: string; cpl: number; sreg: number; sel: number; fault?: [number, number] }[] = [
  { name: 'null into DS is allowed', cpl: 0, sreg: SREG.DS, sel: 0 },
  { name: 'null (RPL 3) into GS is allowed', cpl: 3, sreg: SREG.GS, sel: 3 },
  { name: 'null into SS', cpl: 0, sreg: SREG.SS, sel: 0, fault: [GP, 0] },
  { name: 'null RPL 3 into SS', cpl: 3, sreg: SREG.SS, sel: 3, fault: [GP, 0] },
  { name: 'beyond the GDT limit', cpl: 0, sreg: SREG.DS, sel: 0x200, fault: [GP, 0x200] },
  { name: 'LDT selector without an LDT', cpl: 0, sreg: SREG.ES, sel: 0x0f, fault: [GP, 0x0c] },
  { name: 'TSS descriptor into DS', cpl: 0, sreg: SREG.DS, sel: SEL.TSS1, fault: [GP, SEL.TSS1] },
  { name: 'execute-only code into FS', cpl: 0, sreg: SREG.FS, sel: SEL.XONLY, fault: [GP, SEL.XONLY] },
  { name: 'readable conforming code, RPL 3, into DS', cpl: 0, sreg: SREG.DS, sel: SEL.CONF0 | 3 },
  { name: 'RPL 2 > DPL 0 into DS', cpl: 0, sreg: SREG.DS, sel: 0x12, fault: [GP, 0x10] },
  { name: 'DPL 0 data at CPL 3', cpl: 3, sreg: SREG.DS, sel: 0x13, fault: [GP, 0x10] },
  { name: 'conforming code at CPL 3', cpl: 3, sreg: SREG.DS, sel: SEL.CONF0 | 3 },
  { name: 'not-present data', cpl: 0, sreg: SREG.DS, sel: SEL.NPDATA, fault: [NP, SEL.NPDATA] },
  { name: 'not-present DPL-3 data at CPL 0', cpl: 0, sreg: SREG.GS, sel: SEL.NPDATA3, fault: [NP, SEL.NPDATA3] },
  { name: 'not-present stack', cpl: 0, sreg: SREG.SS, sel: SEL.NPDATA, fault: [SS, SEL.NPDATA] },
  { name: 'DPL-3 stack at CPL 0', cpl: 0, sreg: SREG.SS, sel: 0x20, fault: [GP, 0x20] },
  { name: 'stack RPL != CPL', cpl: 0, sreg: SREG.SS, sel: 0x13, fault: [GP, 0x10] },
  { name: 'read-only stack', cpl: 0, sreg: SREG.SS, sel: SEL.RODATA, fault: [GP, SEL.RODATA] },
  { name: 'code segment into SS', cpl: 0, sreg: SREG.SS, sel: SEL.CODE0, fault: [GP, SEL.CODE0] },
  { name: 'MOV to CS', cpl: 0, sreg: SREG.CS, sel: SEL.CODE0, fault: [UD, -1] },
];

for (const c of segLoadCases) {
  test(`segment load: ${c.name}`, async () => {
    const vm = await setup(c.cpl);
    const at = c.cpl === 0 ? CODE : UCODE;
    vm.writePhys(at, loadSegProgram(c.sreg, c.sel));
    vm.exceptionExitMask = mask(GP, NP, SS, UD);
    const before = vm.getSeg(c.sreg);
    const exit = vm.run(100);
    if (c.fault) {
      expectException(vm, exit, c.fault[0], c.fault[1] < 0 ? null : c.fault[1], at + 4, c.name);
      assert.deepEqual(vm.getSeg(c.sreg), before, 'nothing loaded');
    } else if (c.cpl === 3) {
      // Ring 3 cannot HLT: the #GP after the load shows it went through.
      expectException(vm, exit, GP, 0, at + 6, c.name);
      assert.equal(vm.getSeg(c.sreg).sel, c.sel);
    } else {
      assert.equal(exit, abi.EXIT_HLT, c.name);
      assert.equal(vm.getSeg(c.sreg).sel, c.sel);
    }
  });
}

test('segment load: the accessed bit is set in the descriptor and the cache', async () => {
  const vm = await setup(0);
  vm.writePhys(CODE, loadSegProgram(SREG.ES, SEL.DATA16));
  assert.equal(r8(vm, GDT + SEL.DATA16 + 5), 0x92);
  assert.equal(vm.run(100), abi.EXIT_HLT);
  assert.equal(r8(vm, GDT + SEL.DATA16 + 5), 0x93);
  const es = vm.getSeg(abi.SEG_ES);
  assert.equal(es.attr, 0x93 | abi.SEG_VALID);
  assert.equal(es.limit, 0xffff);
});

test('segment load: a data access through a null DS is #GP(0); MOV SS sets the interrupt shadow', async () => {
  const vm = await setup(0);
  // mov ds, ax (ax = 0); mov eax, [0]
  vm.writePhys(CODE, Uint8Array.from([0x31, 0xc0, 0x8e, 0xd8, 0xa1, 0, 0, 0, 0, 0xf4]));
  vm.exceptionExitMask = mask(GP);
  expectException(vm, vm.run(100), GP, 0, CODE + 4, 'read through null DS');
});

// --- interrupts across privilege levels ---------------------------------------------------

const intHandler = asm(`
bits 32
org KCODE
        mov     [RES + 0x00], esp
        mov     eax, ss
        mov     [RES + 0x04], eax
        pushfd
        pop     eax
        mov     [RES + 0x08], eax
        mov     eax, cs
        mov     [RES + 0x0c], eax
        mov     eax, 0x600d
        iretd
`, '8925000002008cd0a3040002009c58a3080002008cc8a30c000200b80d600000cf');

const userInt = asm(`
bits 32
org UCODE
        mov     eax, 1
        int     0x40
        mov     ebx, eax
        int     0x41            ; DPL-0 gate: #GP(0x41*8+2)
`, 'b801000000cd4089c3cd41');

test('INT from ring 3 through a 32-bit interrupt gate switches to the TSS stack; IRET returns', async () => {
  const vm = await setup(3);
  vm.writePhys(KCODE, intHandler);
  vm.writePhys(UCODE, userInt);
  setIdt(vm, 0x40, KCODE, 0xee); // DPL 3
  setIdt(vm, 0x41, KCODE, 0x8e); // DPL 0
  vm.eflags = 0x202;
  vm.exceptionExitMask = mask(GP);
  expectException(vm, vm.run(1000), GP, 0x41 * 8 + 2, UCODE + 9, 'INT to a DPL-0 gate');
  assert.equal(vm.getReg(abi.REG_EBX), 0x600d);
  assert.equal(vm.cpl, 3);
  assert.equal(vm.getReg(abi.REG_ESP), USTACK);
  assert.equal(vm.getSeg(abi.SEG_CS).sel, SEL.CODE3);
  assert.equal(vm.getSeg(abi.SEG_SS).sel, SEL.DATA3);
  assert.equal(vm.eflags & 0x200, 0x200, 'IF restored by IRET');
  // What the handler saw.
  assert.equal(r32(vm, OUT + 0), KSTACK - 20);
  assert.equal(r32(vm, OUT + 4), SEL.DATA0);
  assert.equal(r32(vm, OUT + 8) & 0x200, 0, 'IF cleared by the interrupt gate');
  assert.equal(r32(vm, OUT + 12), SEL.CODE0);
  // The frame on the ring-0 stack.
  assert.deepEqual([0, 4, 8, 12, 16].map((o) => r32(vm, KSTACK - 20 + o)), [UCODE + 7, SEL.CODE3, 0x202, USTACK, SEL.DATA3]);
});

test('a fault while pushing the inner frame commits nothing (#SS with the new SS selector)', async () => {
  const vm = await setup(3);
  vm.writePhys(UCODE, userInt);
  setIdt(vm, 0x40, KCODE, 0xee);
  // A ring-0 stack at 0x8000 with room for 16 bytes: the 20-byte frame does not fit.
  setDesc(vm, SEL.FREE, 0x8000, 0xf, 0x4093);
  w32(vm, TSS0 + 4, 0x10);
  w32(vm, TSS0 + 8, SEL.FREE);
  vm.exceptionExitMask = mask(SS, TS);
  expectException(vm, vm.run(100), SS, SEL.FREE, UCODE + 5, 'frame beyond the stack limit');
  assert.equal(vm.cpl, 3);
  assert.equal(vm.getReg(abi.REG_ESP), USTACK);
  assert.equal(vm.getSeg(abi.SEG_SS).sel, SEL.DATA3);
  assert.deepEqual([...vm.readPhys(0x8000, 16)], new Array(16).fill(0), 'nothing written');
  // An SS in the TSS whose RPL is not the handler's DPL: #TS(SS).
  w32(vm, TSS0 + 4, KSTACK);
  w32(vm, TSS0 + 8, SEL.DATA3);
  expectException(vm, vm.run(100), TS, SEL.DATA3 & 0xfffc, UCODE + 5, 'bad SS in the TSS');
});

test('INT to a not-present gate is #NP(vector*8+2); an external interrupt adds EXT', async () => {
  const vm = await setup(0);
  setIdt(vm, 0x51, KCODE, 0x0e); // interrupt gate, P = 0
  // int 0x51; sti; nop; nop
  vm.writePhys(CODE, Uint8Array.from([0xcd, 0x51, 0xfb, 0x90, 0x90, 0xf4]));
  vm.exceptionExitMask = mask(NP, GP);
  expectException(vm, vm.run(100), NP, 0x51 * 8 + 2, CODE, 'software INT');
  vm.eip = CODE + 2;
  vm.injectInterrupt(0x51);
  expectException(vm, vm.run(100), NP, 0x51 * 8 + 2 + 1, CODE + 4, 'external interrupt');
});

test('exceptions during delivery: #NP with EXT; #GP then #NP is a #DF, taken through a task gate', async () => {
  const vm = await setup(0);
  // ud2 -> #UD; IDT[6] not present -> #NP(6*8+2+1): benign then contributory, no #DF.
  vm.writePhys(CODE, Uint8Array.from([0x0f, 0x0b]));
  setIdt(vm, 6, KCODE, 0x0e);
  vm.exceptionExitMask = mask(NP);
  expectException(vm, vm.run(100), NP, 6 * 8 + 3, CODE, '#NP during #UD delivery');

  // mov ax, 0x200; mov ds, ax -> #GP(0x200); IDT[13] not present -> #NP: two
  // contributory faults make a #DF, delivered through a task gate to TSS1.
  vm.writePhys(CODE, loadSegProgram(SREG.DS, 0x200));
  setIdt(vm, 13, KCODE, 0x0e);
  const dfTask = asm(`
bits 32
org KCODE + 0x200
        pop     eax             ; the #DF error code (0)
        mov     [RES + 0], eax
        mov     [RES + 4], esp
        pushfd
        pop     eax
        mov     [RES + 8], eax
        hlt
`, '58a3000002008925040002009c58a308000200f4');
  vm.writePhys(KCODE + 0x200, dfTask);
  setGateAt(vm, IDT + 8 * 8, SEL.TSS1, 0, 0x85);
  w32(vm, TSS1 + 0x20, KCODE + 0x200);
  w32(vm, TSS1 + 0x24, 0x2);
  w32(vm, TSS1 + 0x38, 0x7800);
  for (const [i, s] of [SEL.DATA0, SEL.CODE0, SEL.DATA0, SEL.DATA0, SEL.DATA0, SEL.DATA0].entries()) w32(vm, TSS1 + 0x48 + i * 4, s);
  w32(vm, OUT, 0xffffffff);
  vm.exceptionExitMask = 0;
  vm.eip = CODE;
  assert.equal(vm.run(100), abi.EXIT_HLT);
  assert.equal(r32(vm, OUT + 0), 0, 'error code pushed on the new task stack');
  assert.equal(r32(vm, OUT + 4), 0x7800);
  assert.equal(r32(vm, OUT + 8) & 0x4000, 0x4000, 'NT set in the new task');
  assert.equal(vm.getSeg(abi.SEG_TR).sel, SEL.TSS1);
  assert.equal(r16(vm, TSS1), SEL.TSS0, 'back link');
  assert.equal(r32(vm, TSS0 + 0x20), CODE + 4, 'the old task restarts at the faulting instruction');
  assert.equal(r8(vm, GDT + SEL.TSS1 + 5), 0x8b, 'new TSS busy');
  assert.equal(r8(vm, GDT + SEL.TSS0 + 5), 0x8b, 'old TSS stays busy (nested)');
  assert.equal(vm.getCr(0) & abi.CR0_TS, abi.CR0_TS);
});

test('triple fault: exceptions with no usable IDT shut down', async () => {
  const vm = await setup(0);
  vm.setDescriptorTable('idt', IDT, 0);
  vm.writePhys(CODE, Uint8Array.from([0x0f, 0x0b])); // ud2
  assert.equal(vm.run(100), abi.EXIT_SHUTDOWN);
});

const trap16Handler = asm(`
bits 32
org 0x6200
        mov     eax, [esp]              ; IP | CS << 16
        mov     [RES + 0], eax
        movzx   eax, word [esp + 4]     ; FLAGS
        mov     [RES + 4], eax
        pushfd
        pop     eax
        mov     [RES + 8], eax
        o16 iret
`, '8b0424a3000002000fb7442404a3040002009c58a30800020066cf');

const trap16Caller = asm(`
bits 32
org 0x6400
        int     0x60
        call    0x48:far16              ; 16-bit code at base 0
        mov     [RES + 12], eax
        hlt
bits 16
far16:  mov     eax, 0x16161616
        o32 retf
`, 'cd609a0f6400004800a30c000200f466b81616161666cb');

test('16-bit trap gate (16-bit frame, IF kept) and a same-level far CALL/RETF to 16-bit code', async () => {
  const vm = await setup(0);
  vm.writePhys(0x6200, trap16Handler);
  vm.writePhys(0x6400, trap16Caller);
  setIdt(vm, 0x60, 0x6200, 0x87); // 16-bit trap gate
  vm.eip = 0x6400;
  vm.eflags = 0x202;
  assert.equal(vm.run(100), abi.EXIT_HLT, `stopped at ${vm.eip.toString(16)}`);
  assert.equal(r32(vm, OUT + 0) >>> 0, (SEL.CODE0 << 16) | 0x6402, 'IP and CS words');
  assert.equal(r32(vm, OUT + 4), 0x202, 'FLAGS word');
  assert.equal(r32(vm, OUT + 8) & 0x200, 0x200, 'a trap gate keeps IF');
  assert.equal(r32(vm, OUT + 12), 0x16161616, 'RETF from 16-bit code');
  assert.equal(vm.getReg(abi.REG_ESP), STACK);
  assert.equal(vm.getSeg(abi.SEG_CS).sel, SEL.CODE0);
});

// --- call gates ------------------------------------------------------------------------------

const gate16Target = asm(`
bits 16
org 0x6000
        mov     bp, sp
        mov     [0x5000], sp
        mov     ax, [bp + 4]
        mov     [0x5002], ax
        mov     ax, [bp + 6]
        mov     [0x5004], ax
        mov     ax, [bp + 8]    ; caller SP
        mov     [0x5006], ax
        mov     ax, [bp + 10]   ; caller SS
        mov     [0x5008], ax
        mov     ax, [bp + 2]    ; caller CS
        mov     [0x500a], ax
        mov     ax, ss
        mov     [0x500c], ax
        mov     ax, 0x10        ; DPL-0 data in DS and ES: nulled by the return to ring 3
        mov     ds, ax
        mov     es, ax
        retf    4
`, '89e5892600508b4604a302508b4606a304508b4608a306508b460aa308508b4602a30a508cd0a30c50b810008ed88ec0ca0400');

const gate16Caller = asm(`
bits 32
org 0x6800              ; below 64 KiB: a 16-bit gate saves a 16-bit IP
        push    word 0x1111
        push    word 0x2222
        call    0x93:0
        mov     eax, ds
        mov     [ss:RES + 0], eax
        mov     eax, es
        mov     [ss:RES + 4], eax
        mov     eax, fs
        mov     [ss:RES + 8], eax
        int     0x41
`, '66681111666822229a0000000093008cd836a3000002008cc036a3040002008ce036a308000200cd41');

test('16-bit call gate from ring 3: parameters copied, RETF 4 back nulls DPL-0 data segments', async () => {
  const vm = await setup(3);
  vm.writePhys(0x6000, gate16Target);
  vm.writePhys(0x6800, gate16Caller);
  vm.eip = 0x6800;
  setGateAt(vm, GDT + SEL.FREE, SEL.CODE16, 0x6000, 0xe4, 2); // 16-bit call gate, DPL 3, 2 words
  setIdt(vm, 0x41, KCODE, 0x8e);
  vm.exceptionExitMask = mask(GP);
  const exit = vm.run(1000);
  assert.equal(exit, abi.EXIT_EXCEPTION, `exit ${exit} at ${vm.eip.toString(16)}`);
  assert.equal(vm.exitVector, GP);
  assert.equal(vm.exitErrorCode, 0x41 * 8 + 2);
  assert.equal(r16(vm, 0x5000), KSTACK - 12, 'SP in the gate target');
  assert.equal(r16(vm, 0x5002), 0x2222);
  assert.equal(r16(vm, 0x5004), 0x1111);
  assert.equal(r16(vm, 0x5006), USTACK - 4);
  assert.equal(r16(vm, 0x5008), SEL.DATA3);
  assert.equal(r16(vm, 0x500a), SEL.CODE3);
  assert.equal(r16(vm, 0x500c), SEL.DATA0);
  assert.equal(vm.cpl, 3);
  assert.equal(vm.getReg(abi.REG_ESP), USTACK, 'RETF 4 released the parameters');
  assert.equal(r32(vm, OUT + 0), 0, 'DS nulled');
  assert.equal(r32(vm, OUT + 4), 0, 'ES nulled');
  assert.equal(r32(vm, OUT + 8), SEL.DATA3, 'FS kept');
});

test('far JMP: conforming code keeps the CPL; non-conforming code of another DPL is #GP(sel)', async () => {
  const vm = await setup(3);
  // jmp 0x58:UCODE+7 (conforming DPL 0, RPL 0); int 0x41
  vm.writePhys(UCODE, Uint8Array.from([0xea, ...le32(UCODE + 7), 0x58, 0x00, 0xcd, 0x41]));
  setIdt(vm, 0x41, KCODE, 0x8e);
  vm.exceptionExitMask = mask(GP);
  expectException(vm, vm.run(100), GP, 0x41 * 8 + 2, UCODE + 7, 'after the jump');
  assert.equal(vm.getSeg(abi.SEG_CS).sel, SEL.CONF0 | 3);
  assert.equal(vm.cpl, 3);
  // jmp 0x08:x from ring 3
  vm.writePhys(UCODE, Uint8Array.from([0xea, ...le32(UCODE), 0x08, 0x00]));
  vm.eip = UCODE;
  expectException(vm, vm.run(100), GP, SEL.CODE0, UCODE, 'JMP to DPL-0 code');
});

test('far JMP/CALL to a TSS descriptor in the LDT is #GP(sel)', async () => {
  const vm = await setup(0);
  setDescAt(vm, LDT + 0x10, TSS1, 0x67, 0x0089);
  vm.setSeg(abi.SEG_LDTR, { sel: SEL.LDT, base: LDT, limit: 0xff, attr: 0x82 | abi.SEG_VALID });
  vm.writePhys(CODE, Uint8Array.from([0xea, 0, 0, 0, 0, 0x14, 0x00, 0x9a, 0, 0, 0, 0, 0x14, 0x00]));
  vm.exceptionExitMask = mask(GP);
  expectException(vm, vm.run(100), GP, 0x14, CODE, 'JMP');
  vm.eip = CODE + 7;
  expectException(vm, vm.run(100), GP, 0x14, CODE + 7, 'CALL');
  assert.equal(r8(vm, LDT + 0x15), 0x89, 'not made busy');
});

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

// --- task switches -------------------------------------------------------------------------

function initTss32(vm: Vcpu, base: number, eip: number, esp: number, eflags = 2): void {
  vm.writePhys(base, new Uint8Array(0x68));
  w32(vm, base + 0x20, eip);
  w32(vm, base + 0x24, eflags);
  w32(vm, base + 0x38, esp);
  const segs = [SEL.DATA0, SEL.CODE0, SEL.DATA0, SEL.DATA0, SEL.DATA0, SEL.DATA0];
  for (const [i, s] of segs.entries()) w32(vm, base + 0x48 + i * 4, s);
  w16(vm, base + 0x66, 0x68);
}

const callTaskMain = asm(`
bits 32
org CODE
        mov     eax, 0xaaaa5555
        mov     ebx, 0x12345678
        call    0x40:0
        mov     [RES + 0x10], eax
        pushfd
        pop     eax
        mov     [RES + 0x14], eax
        hlt
`, 'b85555aaaabb785634129a000000004000a3100002009c58a314000200f4');

const callTaskBody = asm(`
bits 32
org KCODE + 0x100
        pushfd
        pop     ecx
        mov     [RES + 0x00], ecx
        str     eax
        mov     [RES + 0x04], eax
        movzx   eax, word [0x3100]
        mov     [RES + 0x08], eax
        mov     eax, cr0
        mov     [RES + 0x0c], eax
        clts
        mov     eax, 0x22222222
        iretd
`, '9c59890d000002000f00c8a3040002000fb70500310000a3080002000f20c0a30c0002000f06b822222222cf');

test('CALL to a TSS nests the task (back link, NT, busy); IRET returns through the back link', async () => {
  const vm = await setup(0);
  vm.writePhys(CODE, callTaskMain);
  vm.writePhys(KCODE + 0x100, callTaskBody);
  initTss32(vm, TSS1, KCODE + 0x100, 0x7800);
  assert.equal(vm.run(1000), abi.EXIT_HLT);
  assert.equal(r32(vm, OUT + 0x10) >>> 0, 0xaaaa5555, 'EAX restored from the old TSS');
  assert.equal(vm.getReg(abi.REG_EBX), 0x12345678);
  assert.equal(r32(vm, OUT + 0) & 0x4000, 0x4000, 'NT in the called task');
  assert.equal(r32(vm, OUT + 4), SEL.TSS1, 'STR in the called task');
  assert.equal(r32(vm, OUT + 8), SEL.TSS0, 'back link');
  assert.equal(r32(vm, OUT + 0xc) & abi.CR0_TS, abi.CR0_TS, 'CR0.TS set by the switch');
  assert.equal(r32(vm, OUT + 0x14) & 0x4000, 0, 'NT clear after the return');
  assert.equal(vm.getSeg(abi.SEG_TR).sel, SEL.TSS0);
  assert.equal(r8(vm, GDT + SEL.TSS1 + 5), 0x89, 'IRET made the called TSS available');
  assert.equal(r8(vm, GDT + SEL.TSS0 + 5), 0x8b);
  assert.equal(r32(vm, TSS1 + 0x28) >>> 0, 0x22222222, 'the called task state saved');
  assert.equal(r32(vm, TSS1 + 0x24) & 0x4000, 0, 'saved with NT clear');
  assert.equal(vm.getCr(0) & abi.CR0_TS, abi.CR0_TS);
});

test('a task switch to a TSS with the T flag raises a debug trap in the new task', async () => {
  const vm = await setup(0);
  initTss32(vm, TSS1, KCODE + 0x100, 0x7800);
  w16(vm, TSS1 + 0x64, 1);
  vm.writePhys(CODE, Uint8Array.from([0xea, 0, 0, 0, 0, SEL.TSS1, 0]));
  setIdt(vm, 1, KCODE + 0x400);
  vm.writePhys(KCODE + 0x400, recordEip);
  assert.equal(vm.run(100), abi.EXIT_HLT);
  assert.equal(r32(vm, OUT), KCODE + 0x100, 'the trap frame points at the first instruction of the new task');
  assert.equal(vm.getSeg(abi.SEG_TR).sel, SEL.TSS1);
  assert.equal(Number(new DataView(vm.memory.buffer).getBigUint64(vm.base + abi.V_DR + 6 * 8, true) & 0x8000n), 0x8000, 'DR6.BT');
});

// The upper halves of the general registers become 0xFFFF when a 16-bit TSS
// is loaded (as Bochs models the hardware); QEMU keeps the old upper halves.
test('JMP to a 16-bit TSS: 16-bit state, upper register halves 0xFFFF, old TSS no longer busy', async () => {
  const vm = await setup(0);
  vm.writePhys(TSS16, new Uint8Array(0x2c));
  w16(vm, TSS16 + 0x0e, 0x6100); // IP
  w16(vm, TSS16 + 0x10, 0x0002); // FLAGS
  w16(vm, TSS16 + 0x12, 0x1234); // AX
  w16(vm, TSS16 + 0x1a, 0x7f00); // SP
  w16(vm, TSS16 + 0x22, SEL.DATA16); // ES
  w16(vm, TSS16 + 0x24, SEL.CODE16); // CS
  w16(vm, TSS16 + 0x26, SEL.DATA16); // SS
  w16(vm, TSS16 + 0x28, SEL.DATA16); // DS
  vm.writePhys(0x6100, Uint8Array.from([0xf4]));
  vm.writePhys(CODE, Uint8Array.from([0xea, 0, 0, 0, 0, SEL.TSS16, 0, 0xf4]));
  vm.setReg(abi.REG_ECX, 0x55555555);
  assert.equal(vm.run(100), abi.EXIT_HLT);
  assert.equal(vm.eip, 0x6101);
  assert.equal(vm.getReg(abi.REG_EAX) >>> 0, 0xffff1234);
  assert.equal(vm.getReg(abi.REG_ECX) >>> 0, 0xffff0000);
  assert.equal(vm.getReg(abi.REG_ESP) >>> 0, 0xffff7f00);
  assert.equal(vm.getSeg(abi.SEG_CS).sel, SEL.CODE16);
  assert.equal(vm.getSeg(abi.SEG_FS).sel, 0);
  assert.equal(vm.getSeg(abi.SEG_TR).sel, SEL.TSS16);
  assert.equal(r8(vm, GDT + SEL.TSS16 + 5), 0x83, 'new 16-bit TSS busy');
  assert.equal(r8(vm, GDT + SEL.TSS0 + 5), 0x89, 'JMP frees the old TSS');
  assert.equal(r32(vm, TSS0 + 0x20), CODE + 7, 'old EIP saved');
  assert.equal(r32(vm, TSS0 + 0x2c) >>> 0, 0x55555555, 'old ECX saved');
  assert.equal(vm.eflags & 0x4000, 0, 'JMP does not nest');
});

// --- virtual-8086 mode ----------------------------------------------------------------------

const toV86 = asm(`
bits 32
org CODE
        push    dword 0         ; GS
        push    dword 0x40      ; FS
        push    dword 0x100     ; DS
        push    dword 0x200     ; ES
        push    dword 0x700     ; SS
        push    dword 0x100     ; ESP
        push    dword [eflags]  ; EFLAGS (VM set)
        push    dword 0x500     ; CS
        push    dword 0x10      ; EIP
        iretd
eflags: dd 0x23002
`, '6a006a406800010000680002000068000700006800010000ff352600010068000500006a10cf02300200');

const v86Code = asm(`
bits 16
org 0x10
        mov     ax, 0x1234
        mov     bx, ds
        int     0x42
`, 'b834128cdbcd42');

const v86Handler = asm(`
bits 32
org KCODE + 0x300
        xor     ecx, ecx
.copy:  mov     eax, [esp + ecx * 4]
        mov     [ss:RES + ecx * 4], eax
        inc     ecx
        cmp     ecx, 9
        jne     .copy
        mov     eax, ds
        mov     [ss:RES + 0x40], eax
        mov     eax, es
        mov     [ss:RES + 0x44], eax
        mov     eax, fs
        mov     [ss:RES + 0x48], eax
        mov     eax, gs
        mov     [ss:RES + 0x4c], eax
        mov     [ss:RES + 0x50], esp
        hlt
`, '31c98b048c3689048d000002004183f90975ef8cd836a3400002008cc036a3440002008ce036a3480002008ce836a34c00020036892550000200f4');

test('IRET to virtual-8086 mode and an INT back to ring 0 (v86 frame, data segments cleared)', async () => {
  const vm = await setup(0);
  vm.writePhys(CODE, toV86);
  vm.writePhys(0x5010, v86Code);
  vm.writePhys(KCODE + 0x300, v86Handler);
  setIdt(vm, 0x42, KCODE + 0x300, 0xee);
  assert.equal(vm.run(1000), abi.EXIT_HLT);
  const frame = [...Array(9).keys()].map((i) => r32(vm, OUT + i * 4));
  assert.deepEqual(frame, [0x17, 0x500, 0x23002, 0x100, 0x700, 0x200, 0x100, 0x40, 0]);
  assert.deepEqual([0x40, 0x44, 0x48, 0x4c].map((o) => r32(vm, OUT + o)), [0, 0, 0, 0], 'DS ES FS GS null in the handler');
  assert.equal(r32(vm, OUT + 0x50), KSTACK - 36);
  assert.equal(vm.getReg(abi.REG_EBX) & 0xffff, 0x100, 'DS as seen in v86 mode');
  assert.equal(vm.cpl, 0);
  assert.equal(vm.eflags & abi.FLAG_VM, 0);
});

test('IRET in v86 mode with IOPL < 3 is #GP(0)', async () => {
  const vm = await setup(0);
  const prog = Buffer.from(toV86);
  prog.writeUInt32LE(0x20002, prog.length - 4); // EFLAGS: VM, IOPL 0
  vm.writePhys(CODE, prog);
  vm.writePhys(0x5010, Uint8Array.from([0xcf])); // iret
  vm.exceptionExitMask = mask(GP);
  expectException(vm, vm.run(100), GP, 0, 0x10, 'v86 IRET');
  assert.equal(vm.cpl, 3);
  assert.equal(vm.getSeg(abi.SEG_CS).sel, 0x500);
  assert.equal(vm.eflags & abi.FLAG_VM, abi.FLAG_VM);
});

// --- descriptor instructions ------------------------------------------------------------------

const descInsns = asm(`
bits 32
org CODE
        mov     ecx, 0x10
        lar     eax, ecx
        mov     [RES + 0x00], eax
        setz    [RES + 0x04]
        lsl     eax, ecx
        mov     [RES + 0x08], eax
        mov     ecx, 0x200
        mov     eax, 0x5a5a
        lar     eax, ecx
        mov     [RES + 0x0c], eax
        setz    [RES + 0x10]
        mov     ecx, 0x40
        lar     eax, ecx
        mov     [RES + 0x14], eax
        lsl     eax, ecx
        mov     [RES + 0x18], eax
        mov     ecx, 0x90               ; a call gate: LAR yes, LSL no
        lsl     eax, ecx
        setz    [RES + 0x1c]
        lar     eax, ecx
        setz    [RES + 0x1d]
        mov     cx, 0x60
        verr    cx
        setz    [RES + 0x20]
        mov     cx, 0x08
        verr    cx
        setz    [RES + 0x21]
        mov     cx, 0x88
        verw    cx
        setz    [RES + 0x22]
        mov     cx, 0x10
        verw    cx
        setz    [RES + 0x23]
        mov     cx, 0x38
        verr    cx
        setz    [RES + 0x24]
        mov     cx, 0x13
        verw    cx
        setz    [RES + 0x25]
        mov     cx, 0x5b
        verr    cx
        setz    [RES + 0x26]
        mov     ax, 0x10
        mov     cx, 3
        arpl    ax, cx
        setz    [RES + 0x28]
        mov     [RES + 0x2a], ax
        arpl    ax, cx
        setz    [RES + 0x2c]
        mov     ax, 0x70
        lldt    ax
        sldt    eax
        mov     [RES + 0x30], eax
        mov     ax, 0x0c                ; LDT entry 1
        mov     ds, ax
        mov     eax, [0]
        mov     [ss:RES + 0x34], eax
        mov     ax, 0x10
        mov     ds, ax
        xor     eax, eax
        lldt    ax
        dec     eax
        sldt    eax
        mov     [RES + 0x38], eax
        o16 lgdt [gdtp16]
        sgdt    [RES + 0x40]
        smsw    eax
        mov     [RES + 0x50], eax
        mov     ax, 0x8
        lmsw    ax
        mov     eax, cr0
        mov     [RES + 0x54], eax
        hlt
gdtp16: dw 0x1ff
        dd 0x12001000
`, 'b9100000000f02c1a3000002000f9405040002000f03c1a308000200b900020000b85a5a00000f02c1a30c0002000f940510000200b9400000000f02c1a3140002000f03c1a318000200b9900000000f03c10f94051c0002000f02c10f94051d00020066b960000f00e10f94052000020066b908000f00e10f94052100020066b988000f00e90f94052200020066b910000f00e90f94052300020066b938000f00e10f94052400020066b913000f00e90f94052500020066b95b000f00e10f94052600020066b8100066b9030063c80f94052800020066a32a00020063c80f94052c00020066b870000f00d00f00c0a33000020066b80c008ed8a10000000036a33400020066b810008ed831c00f00d0480f00c0a338000200660f0115400101000f0105400002000f01e0a35000020066b808000f01f00f20c0a354000200f4ff0100100012');

test('LAR, LSL, VERR, VERW, ARPL, LLDT/SLDT, o16 LGDT, SMSW/LMSW', async () => {
  const vm = await setup(0);
  vm.writePhys(CODE, descInsns);
  setGateAt(vm, GDT + 0x90, SEL.CODE0, 0, 0x8c);
  setDescAt(vm, LDT + 8, 0x21000, 0xfff, 0x0093);
  w32(vm, 0x21000, 0xfeedf00d);
  assert.equal(vm.run(1000), abi.EXIT_HLT, `stopped at ${vm.eip.toString(16)}`);
  assert.equal(r32(vm, OUT + 0x00) & 0x00f0ff00, 0x00c09300, 'LAR data');
  assert.equal(r8(vm, OUT + 0x04), 1);
  assert.equal(r32(vm, OUT + 0x08) >>> 0, 0xffffffff, 'LSL page-granular');
  assert.equal(r32(vm, OUT + 0x0c), 0x5a5a, 'LAR of a bad selector leaves the register');
  assert.equal(r8(vm, OUT + 0x10), 0);
  assert.equal(r32(vm, OUT + 0x14) & 0x00f0ff00, 0x8900, 'LAR TSS');
  assert.equal(r32(vm, OUT + 0x18), 0x67, 'LSL TSS');
  assert.equal(r8(vm, OUT + 0x1c), 0, 'LSL call gate');
  assert.equal(r8(vm, OUT + 0x1d), 1, 'LAR call gate');
  assert.deepEqual([...vm.readPhys(OUT + 0x20, 7)], [0, 1, 0, 1, 0, 0, 1], 'VERR/VERW');
  assert.equal(r8(vm, OUT + 0x28), 1, 'ARPL adjusts');
  assert.equal(r16(vm, OUT + 0x2a), 0x13);
  assert.equal(r8(vm, OUT + 0x2c), 0, 'ARPL leaves');
  assert.equal(r32(vm, OUT + 0x30), 0x70, 'SLDT');
  assert.equal(r32(vm, OUT + 0x34) >>> 0, 0xfeedf00d, 'read through an LDT segment');
  assert.equal(r32(vm, OUT + 0x38), 0, 'SLDT after LLDT 0 (zero-extended)');
  assert.equal(r16(vm, OUT + 0x40), 0x1ff);
  assert.equal(r32(vm, OUT + 0x42), 0x001000, 'o16 LGDT loads a 24-bit base');
  assert.equal(r32(vm, OUT + 0x50), abi.CR0_PE | abi.CR0_ET, 'SMSW');
  assert.equal(r32(vm, OUT + 0x54), abi.CR0_PE | abi.CR0_ET | abi.CR0_TS, 'LMSW sets TS, cannot clear PE');
});

// --- control and debug registers -----------------------------------------------------------------

test('MOV CR: reserved CR4 bits and PG without PE are #GP(0), CR1 is #UD, CPL 3 is #GP(0)', async () => {
  const vm = await setup(0);
  vm.exceptionExitMask = mask(GP, UD);
  // mov eax, 0x20 (PAE); mov cr4, eax
  vm.writePhys(CODE, Uint8Array.from([0xb8, 0x20, 0, 0, 0, 0x0f, 0x22, 0xe0]));
  expectException(vm, vm.run(100), GP, 0, CODE + 5, 'CR4.PAE');
  // mov eax, 0x80000000; mov cr0, eax
  vm.writePhys(CODE, Uint8Array.from([0xb8, 0, 0, 0, 0x80, 0x0f, 0x22, 0xc0]));
  vm.eip = CODE;
  expectException(vm, vm.run(100), GP, 0, CODE + 5, 'PG without PE');
  vm.writePhys(CODE, Uint8Array.from([0x0f, 0x20, 0xc8])); // mov eax, cr1
  vm.eip = CODE;
  expectException(vm, vm.run(100), UD, null, CODE, 'CR1');
  // The mod field is ignored: 0F 20 00 is mov eax, cr0 (3 bytes).
  vm.writePhys(CODE, Uint8Array.from([0x0f, 0x20, 0x00, 0xf4]));
  vm.eip = CODE;
  assert.equal(vm.run(100), abi.EXIT_HLT);
  assert.equal(vm.eip, CODE + 4);
  assert.equal(vm.getReg(abi.REG_EAX), abi.CR0_PE | abi.CR0_ET);

  const user = await setup(3);
  user.exceptionExitMask = mask(GP);
  user.writePhys(UCODE, Uint8Array.from([0x0f, 0x20, 0xc0]));
  expectException(user, user.run(100), GP, 0, UCODE, 'MOV from CR0 at CPL 3');
});

const drProgram = asm(`
bits 32
org CODE
        mov     eax, 0x5555
        mov     dr4, eax        ; DR6 while CR4.DE = 0
        mov     ebx, dr6
        mov     eax, cr4
        or      eax, 8
        mov     cr4, eax
        mov     ecx, dr5        ; #UD with CR4.DE
`, 'b8555500000f23e00f21f30f20e083c8080f22e00f21e9');

test('MOV DR: DR4/DR5 alias DR6/DR7 unless CR4.DE', async () => {
  const vm = await setup(0);
  vm.writePhys(CODE, drProgram);
  vm.exceptionExitMask = mask(UD, GP);
  expectException(vm, vm.run(100), UD, null, CODE + drProgram.length - 3, 'DR5 with CR4.DE');
  assert.equal(vm.getReg(abi.REG_EBX) >>> 0, 0xffff4ff5);
});

// --- interrupt shadows, NMI ------------------------------------------------------------------------

const recordEip = asm(`
bits 32
org KCODE + 0x400
        mov     eax, [esp]
        mov     [RES], eax
        hlt
`, '8b0424a300000200f4');

test('STI and MOV SS delay a pending interrupt by one instruction', async () => {
  const vm = await setup(0);
  vm.writePhys(KCODE + 0x400, recordEip);
  setIdt(vm, 0x50, KCODE + 0x400);
  // sti; nop; nop; hlt
  vm.writePhys(CODE, Uint8Array.from([0xfb, 0x90, 0x90, 0xf4]));
  vm.injectInterrupt(0x50);
  assert.equal(vm.run(100), abi.EXIT_HLT);
  assert.equal(r32(vm, OUT), CODE + 2, 'delivered after the instruction following STI');

  const vm2 = await setup(0);
  vm2.writePhys(KCODE + 0x400, recordEip);
  setIdt(vm2, 0x50, KCODE + 0x400);
  // mov ax, 0x10; sti; mov ss, ax; nop; hlt
  vm2.writePhys(CODE, Uint8Array.from([0x66, 0xb8, 0x10, 0x00, 0xfb, 0x8e, 0xd0, 0x90, 0xf4]));
  vm2.injectInterrupt(0x50);
  assert.equal(vm2.run(100), abi.EXIT_HLT);
  assert.equal(r32(vm2, OUT), CODE + 8, 'MOV SS extends the shadow by one more instruction');
});

test('IRET unmasks NMIs', async () => {
  const vm = await setup(0);
  // NMI handler: mov dword [OUT], 1; iretd
  vm.writePhys(KCODE + 0x500, Uint8Array.from([0xc7, 0x05, ...le32(OUT), 1, 0, 0, 0, 0xcf]));
  setIdt(vm, 2, KCODE + 0x500);
  vm.writePhys(CODE, Uint8Array.from([0x90, 0x90, 0xf4]));
  vm.injectNmi();
  assert.equal(vm.run(100), abi.EXIT_HLT);
  assert.equal(r32(vm, OUT), 1);
  assert.equal(u32At(vm, abi.V_NMI_MASKED), 0);
});

// --- SYSENTER / SYSEXIT ----------------------------------------------------------------------------

const sysenterKernel = asm(`
bits 32
org KCODE + 0x600
        mov     [RES + 0], esp
        mov     eax, cs
        mov     [RES + 4], eax
        mov     eax, ss
        mov     [RES + 8], eax
        pushfd
        pop     eax
        mov     [RES + 12], eax
        mov     ecx, 0x9000 - 16
        mov     edx, UCODE + 0x40
        sysexit
`, '8925000002008cc8a3040002008cd0a3080002009c58a30c000200b9f08f0000ba402001000f35');

test('SYSENTER to ring 0 and SYSEXIT back use the flat segments derived from SYSENTER_CS', async () => {
  const vm = await setup(3);
  setU64At(vm, abi.V_SYSENTER_CS, SEL.CODE0);
  setU64At(vm, abi.V_SYSENTER_ESP, KSTACK);
  setU64At(vm, abi.V_SYSENTER_EIP, KCODE + 0x600);
  vm.writePhys(KCODE + 0x600, sysenterKernel);
  vm.writePhys(UCODE, Uint8Array.from([0x0f, 0x34]));
  vm.writePhys(UCODE + 0x40, Uint8Array.from([0xcd, 0x41]));
  setIdt(vm, 0x41, KCODE, 0x8e);
  vm.eflags = 0x202;
  vm.exceptionExitMask = mask(GP);
  expectException(vm, vm.run(100), GP, 0x41 * 8 + 2, UCODE + 0x40, 'back in ring 3');
  assert.deepEqual([0, 4, 8].map((o) => r32(vm, OUT + o)), [KSTACK, SEL.CODE0, SEL.DATA0]);
  assert.equal(r32(vm, OUT + 12) & 0x200, 0, 'SYSENTER clears IF');
  assert.equal(vm.getSeg(abi.SEG_CS).sel, SEL.CODE3);
  assert.equal(vm.getSeg(abi.SEG_SS).sel, SEL.DATA3);
  assert.equal(vm.getReg(abi.REG_ESP), USTACK - 16);
  assert.equal(vm.cpl, 3);
});

// --- the inline bytes match their sources ------------------------------------------------------------

test('protected: inline program bytes match their nasm sources', (t) => {
  try {
    execFileSync('nasm', ['-v'], { stdio: 'ignore' });
  } catch {
    t.skip('nasm is not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'wkvm-protected-'));
  try {
    for (const [i, s] of snippets.entries()) {
      writeFileSync(join(dir, 'a.asm'), `${ASM_HEADER}\n${s.src}\n`);
      execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), join(dir, 'a.asm')]);
      assert.equal(readFileSync(join(dir, 'a.bin')).toString('hex'), s.hex,
        `snippet ${i + 1} is stale: run node scripts/inline-asm.mjs test/cpu/protected.test.ts`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
