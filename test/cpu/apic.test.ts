// The local APIC in the core, and the one time base (guest ns) that the TSC,
// the APIC timer and the VMM's clock share. Small guest programs touch the
// APIC through its MMIO page as a kernel would; a common interrupt handler
// logs every interrupt (vector, PPR, a phase word the program sets, the TSC)
// and can EOI, open an interrupt window (nesting) or send a self-IPI.
// Time is deterministic: setTime(0, 1) makes one instruction one ns, and the
// TSC (1 GHz) one tick per instruction.
//
// The programs are nasm snippets with their bytes inline: asm(`source`,
// 'hex'). After editing a source run
//     node scripts/inline-asm.mjs test/cpu/apic.test.ts
// (the last test checks the bytes against nasm when it is installed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Vcpu } from '../../src/core/Vcpu.ts';
import { Machine } from '../../src/vmm/Machine.ts';
import { flatGdt } from '../../src/boot/BootPlan.ts';
import * as abi from '../../wasm/abi.ts';

const ASM_HEADER = `
bits 32
CODE     equ 0x10000
HANDLER  equ 0x5000
ACTION   equ 0x6000
SENDIPI  equ 0x6400
PHASE    equ 0x6800
IDTR     equ 0x6810
RES      equ 0x20000
APIC     equ 0xfee00000
A_ID     equ APIC + 0x20
A_VER    equ APIC + 0x30
A_TPR    equ APIC + 0x80
A_PPR    equ APIC + 0xa0
A_EOI    equ APIC + 0xb0
A_LDR    equ APIC + 0xd0
A_DFR    equ APIC + 0xe0
A_SVR    equ APIC + 0xf0
A_ISR    equ APIC + 0x100
A_TMR    equ APIC + 0x180
A_IRR    equ APIC + 0x200
A_ESR    equ APIC + 0x280
A_ICRLO  equ APIC + 0x300
A_ICRHI  equ APIC + 0x310
A_TIMER  equ APIC + 0x320
A_LINT0  equ APIC + 0x350
A_LINT1  equ APIC + 0x360
A_ERROR  equ APIC + 0x370
A_INIT   equ APIC + 0x380
A_CUR    equ APIC + 0x390
A_DIV    equ APIC + 0x3e0
SELF     equ 0x40000
`;
const snippets: { src: string; hex: string }[] = [];
function asm(src: string, hex: string): Uint8Array {
  snippets.push({ src, hex });
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

// --- the machine: flat 32-bit protected mode, paging off, one IDT gate per vector --------------

const GDT = 0x1000;
const IDT = 0x2000;
const STUBS = 0x3000; // vector v: push dword v; jmp HANDLER (16 bytes each)
const HANDLER = 0x5000;
const ACTION = 0x6000; // per vector: 1 = EOI at the end, 2 = STI; NOP x3; CLI inside
const SENDIPI = 0x6400; // per vector: an ICR low value to write on entry (0 = none)
const PHASE = 0x6800; // the program's phase, logged with each interrupt
const IDTR = 0x6810;
const CODE = 0x10000;
const RES = 0x20000; // dword count of log records, records of 16 bytes from RES + 0x10
const STACK = 0x9000;
const EOI = 1, STI = 2;
/** Instructions from an interrupt's delivery to the handler's RDTSC (stub push, jmp, and 9 in the handler). */
const HANDLER_TSC_DELAY = 11;

/**
 * Every interrupt: log (vector, PPR, PHASE, TSC low); the ICR value in
 * SENDIPI[v] if any; with ACTION[v] & 2 an interrupt window (STI, 3 NOPs,
 * CLI); log (vector | 0x100, PPR, PHASE) on the way out; EOI if ACTION[v] & 1.
 */
const handler = asm(`
org HANDLER
        pushad
        mov     esi, [esp + 32]         ; the vector the stub pushed
        mov     ebx, [RES]
        shl     ebx, 4
        mov     [RES + 0x10 + ebx], esi
        mov     eax, [A_PPR]
        mov     [RES + 0x14 + ebx], eax
        mov     eax, [PHASE]
        mov     [RES + 0x18 + ebx], eax
        rdtsc
        mov     [RES + 0x1c + ebx], eax
        inc     dword [RES]
        mov     eax, [SENDIPI + esi * 4]
        test    eax, eax
        jz      .noipi
        mov     [A_ICRLO], eax
.noipi:
        test    byte [ACTION + esi * 4], 2
        jz      .nosti
        sti
        nop
        nop
        nop
        cli
.nosti:
        mov     ebx, [RES]
        shl     ebx, 4
        lea     eax, [esi + 0x100]
        mov     [RES + 0x10 + ebx], eax
        mov     eax, [A_PPR]
        mov     [RES + 0x14 + ebx], eax
        mov     eax, [PHASE]
        mov     [RES + 0x18 + ebx], eax
        inc     dword [RES]
        test    byte [ACTION + esi * 4], 1
        jz      .noeoi
        mov     dword [A_EOI], 0
.noeoi:
        popad
        add     esp, 4
        iretd
`, '608b7424208b1d00000200c1e30489b310000200a1a000e0fe898314000200a1006800008983180002000f3189831c000200ff05000002008b04b50064000085c07405a30003e0fef604b500600000027405fb909090fa8b1d00000200c1e3048d8600010000898310000200a1a000e0fe898314000200a100680000898318000200ff0500000200f604b50060000001740ac705b000e0fe000000006183c404cf');

function w32(vm: Vcpu, addr: number, v: number): void {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  vm.writePhys(addr, b);
}
function r32(vm: Vcpu, addr: number): number {
  return Buffer.from(vm.readPhys(addr, 4)).readUInt32LE();
}

/** GDT/IDT/stubs/handler in RAM; code selector `cs` (0x08 for Vcpu tests, 0x10 after Machine.boot). */
function installTables(vm: Vcpu, cs: number): void {
  if (cs === 0x08) {
    // null, code 0x08, data 0x10
    w32(vm, GDT + 8, 0x0000ffff); w32(vm, GDT + 12, 0x00cf9b00);
    w32(vm, GDT + 16, 0x0000ffff); w32(vm, GDT + 20, 0x00cf9300);
  }
  for (let v = 0; v < 256; v++) {
    const stub = STUBS + v * 16;
    const rel = HANDLER - (stub + 10);
    const b = Buffer.alloc(10);
    b[0] = 0x68; b.writeUInt32LE(v, 1);
    b[5] = 0xe9; b.writeInt32LE(rel, 6);
    vm.writePhys(stub, b);
    w32(vm, IDT + v * 8, (stub & 0xffff) | (cs << 16));
    w32(vm, IDT + v * 8 + 4, (stub & 0xffff0000) | 0x8e00);
  }
  const idtr = Buffer.alloc(6);
  idtr.writeUInt16LE(0x7ff);
  idtr.writeUInt32LE(IDT, 2);
  vm.writePhys(IDTR, idtr);
  vm.writePhys(HANDLER, handler);
}

async function setup(program: Uint8Array): Promise<Vcpu> {
  const vm = await Vcpu.create({ ramSize: 1 << 20 });
  installTables(vm, 0x08);
  vm.setFlat32(0);
  vm.setDescriptorTable('gdt', GDT, 0x17);
  vm.setDescriptorTable('idt', IDT, 0x7ff);
  vm.setReg(abi.REG_ESP, STACK);
  vm.writePhys(CODE, program);
  vm.eip = CODE;
  // Every exception exits (INT3 ends a program); interrupts and NMIs are delivered.
  vm.exceptionExitMask = 0xffffffff;
  vm.setTime(0, 1);
  return vm;
}

function setAction(vm: Vcpu, vector: number, action: number, sendIcr = 0): void {
  w32(vm, ACTION + vector * 4, action);
  w32(vm, SENDIPI + vector * 4, sendIcr);
}

interface LogEntry { ev: number; ppr: number; phase: number; tsc: number }
function log(vm: Vcpu): LogEntry[] {
  const n = r32(vm, RES);
  return Array.from({ length: n }, (_, i) => {
    const a = RES + 0x10 + i * 16;
    return { ev: r32(vm, a), ppr: r32(vm, a + 4), phase: r32(vm, a + 8), tsc: r32(vm, a + 12) };
  });
}
const events = (vm: Vcpu): number[] => log(vm).map((e) => e.ev);

/** Runs to the program's INT3 (an EXIT_EXCEPTION with vector 3); any other exit fails. */
function runToInt3(vm: Vcpu, budget = 1_000_000): void {
  const exit = vm.run(budget);
  assert.equal(exit, abi.EXIT_EXCEPTION, `exit ${exit} at EIP 0x${vm.eip.toString(16)}`);
  assert.equal(vm.exitVector, 3, `exception ${vm.exitVector} at EIP 0x${vm.eip.toString(16)}`);
}

/** Bit of `vector` in ISR/TMR/IRR as the VMM reads them. */
function apicBit(vm: Vcpu, array: number, vector: number): boolean {
  return ((vm.apicRead(array + (vector >> 5) * 0x10) >>> (vector & 31)) & 1) === 1;
}

// --- registers through the MMIO page -----------------------------------------------------------

test('APIC registers through the MMIO page: ID, version, SVR, TPR -> PPR, LDR/DFR, reset LVTs, access sizes', async () => {
  const vm = await setup(asm(`
org CODE
        mov     eax, [A_ID]
        mov     [RES + 0x00], eax
        mov     eax, [A_VER]
        mov     [RES + 0x04], eax
        mov     eax, [A_SVR]
        mov     [RES + 0x08], eax
        mov     dword [A_SVR], 0x1ff
        mov     eax, [A_SVR]
        mov     [RES + 0x0c], eax
        mov     dword [A_TPR], 0x35
        mov     eax, [A_TPR]
        mov     [RES + 0x10], eax
        mov     eax, [A_PPR]
        mov     [RES + 0x14], eax
        movzx   eax, byte [A_VER]
        mov     [RES + 0x18], eax
        movzx   eax, word [A_VER + 2]
        mov     [RES + 0x1c], eax
        mov     eax, [A_VER + 4]        ; not the first dword of the register's slot
        mov     [RES + 0x20], eax
        mov     dword [A_VER], 0x12345678 ; read-only
        mov     eax, [A_VER]
        mov     [RES + 0x24], eax
        mov     word [A_TPR], 0x77      ; a 16-bit write is ignored
        mov     eax, [A_TPR]
        mov     [RES + 0x28], eax
        mov     eax, [A_DFR]
        mov     [RES + 0x2c], eax
        mov     eax, [A_TIMER]
        mov     [RES + 0x30], eax
        mov     eax, [A_LINT0]
        mov     [RES + 0x34], eax
        mov     dword [A_LDR], 0x03000000
        mov     eax, [A_LDR]
        mov     [RES + 0x38], eax
        mov     dword [A_ID], 0x05000000
        mov     eax, [A_ID]
        mov     [RES + 0x3c], eax
        mov     eax, 1
        cpuid
        mov     [RES + 0x40], ebx
        mov     [RES + 0x44], edx
        mov     ecx, 0x1b
        rdmsr
        mov     [RES + 0x48], eax
        mov     eax, [APIC + 0x400]     ; beyond the registers: 0 (internal state is not visible)
        mov     [RES + 0x4c], eax
        int3
`, 'a12000e0fea300000200a13000e0fea304000200a1f000e0fea308000200c705f000e0feff010000a1f000e0fea30c000200c7058000e0fe35000000a18000e0fea310000200a1a000e0fea3140002000fb6053000e0fea3180002000fb7053200e0fea31c000200a13400e0fea320000200c7053000e0fe78563412a13000e0fea32400020066c7058000e0fe7700a18000e0fea328000200a1e000e0fea32c000200a12003e0fea330000200a15003e0fea334000200c705d000e0fe00000003a1d000e0fea338000200c7052000e0fe00000005a12000e0fea33c000200b8010000000fa2891d40000200891544000200b91b0000000f32a348000200a10004e0fea34c000200cc'));
  runToInt3(vm); // no MMIO exit on the way: the APIC is in the core
  const r = (o: number) => r32(vm, RES + o);
  assert.equal(r(0x00), 0, 'ID of vCPU 0');
  assert.equal(r(0x04), 0x00050014, 'version');
  assert.equal(r(0x08), 0xff, 'SVR after reset: software-disabled, spurious vector 0xFF');
  assert.equal(r(0x0c), 0x1ff);
  assert.equal(r(0x10), 0x35, 'TPR');
  assert.equal(r(0x14), 0x35, 'PPR = TPR with nothing in service');
  assert.equal(r(0x18), 0x14, 'byte read of the version');
  assert.equal(r(0x1c), 0x0005, 'word read of max LVT');
  assert.equal(r(0x20), 0);
  assert.equal(r(0x24), 0x00050014);
  assert.equal(r(0x28), 0x35);
  assert.equal(r(0x2c), 0xffffffff, 'DFR: flat model');
  assert.equal(r(0x30), abi.APIC_LVT_MASKED, 'LVT timer masked after reset');
  assert.equal(r(0x34), abi.APIC_LVT_MASKED, 'LINT0 masked after reset');
  assert.equal(r(0x38), 0x03000000, 'LDR');
  assert.equal(r(0x3c), 0x05000000, 'ID is writable');
  assert.equal(r(0x40) >>> 24, 0, 'CPUID.1:EBX[31:24] is the initial APIC ID');
  assert.equal((r(0x44) >>> 9) & 1, 1, 'CPUID.1:EDX.APIC');
  assert.equal(r(0x48), 0xfee00900, 'IA32_APIC_BASE: default base, enabled, BSP');
  assert.equal(r(0x4c), 0);
  // The VMM sees the same registers.
  assert.equal(vm.apicRead(abi.APIC_TPR), 0x35);
  assert.equal(vm.apicRead(abi.APIC_ID), 0x05000000);
});

// --- self-IPIs, priorities, EOI ------------------------------------------------------------------

test('self-IPI: a vector whose class is not above TPR stays pending until TPR drops', async () => {
  const vm = await setup(asm(`
org CODE
        mov     dword [A_SVR], 0x1ff
        mov     dword [A_TPR], 0x50
        sti
        mov     dword [PHASE], 1
        rdtsc
        mov     [RES + 0x804], eax
        mov     dword [A_ICRLO], SELF | 0x45 ; class 4 <= TPR class 5: pending
        nop
        mov     eax, [A_IRR + 0x20]     ; vectors 64-95: 0x45 is bit 5
        mov     [RES + 0x800], eax
        mov     dword [PHASE], 2
        mov     dword [A_TPR], 0x40     ; class 4, not above 4: still pending
        nop
        mov     dword [PHASE], 3
        mov     dword [A_TPR], 0x3f     ; class 3: delivered at the next boundary
        mov     dword [PHASE], 4
        mov     dword [A_ICRLO], SELF | 0x46 ; delivered at once
        mov     dword [PHASE], 5
        int3
`, 'c705f000e0feff010000c7058000e0fe50000000fbc70500680000010000000f31a304080200c7050003e0fe4500040090a12002e0fea300080200c7050068000002000000c7058000e0fe4000000090c7050068000003000000c7058000e0fe3f000000c7050068000004000000c7050003e0fe46000400c7050068000005000000cc'));
  setAction(vm, 0x45, EOI);
  setAction(vm, 0x46, EOI);
  runToInt3(vm);
  assert.equal(r32(vm, RES + 0x800), 1 << 5, 'IRR while pending');
  const l = log(vm);
  assert.deepEqual(l.map((e) => [e.ev, e.phase]), [[0x45, 3], [0x145, 3], [0x46, 4], [0x146, 4]]);
  assert.equal(l[0].ppr, 0x40, 'PPR: the in-service class, above TPR 0x3F');
  assert.equal(l[2].ppr, 0x40, 'PPR: in-service 0x46');
  assert.ok(!apicBit(vm, abi.APIC_ISR, 0x45) && !apicBit(vm, abi.APIC_IRR, 0x45), 'EOI cleared ISR');
  assert.equal(vm.apicRead(abi.APIC_PPR), 0x3f);
});

test('EOI ends the highest in-service vector and lets the next pending one through', async () => {
  const vm = await setup(asm(`
org CODE
        mov     dword [A_SVR], 0x1ff
        mov     dword [A_ICRLO], SELF | 0x61
        mov     dword [A_ICRLO], SELF | 0x62
        mov     dword [PHASE], 1
        sti                             ; 0x62 first; its handler does not EOI
        nop
        mov     dword [PHASE], 2
        mov     eax, [A_ISR + 0x30]     ; vectors 96-127
        mov     [RES + 0x800], eax
        mov     eax, [A_IRR + 0x30]
        mov     [RES + 0x804], eax
        mov     eax, [A_PPR]
        mov     [RES + 0x808], eax
        mov     dword [A_EOI], 0        ; ends 0x62: 0x61 goes through
        mov     dword [PHASE], 3
        int3
`, 'c705f000e0feff010000c7050003e0fe61000400c7050003e0fe62000400c7050068000001000000fb90c7050068000002000000a13001e0fea300080200a13002e0fea304080200a1a000e0fea308080200c705b000e0fe00000000c7050068000003000000cc'));
  setAction(vm, 0x62, 0);
  setAction(vm, 0x61, EOI);
  runToInt3(vm);
  assert.deepEqual(log(vm).map((e) => [e.ev, e.phase]), [[0x62, 1], [0x162, 1], [0x61, 2], [0x161, 2]]);
  assert.equal(r32(vm, RES + 0x800), 1 << 2, 'ISR: 0x62 in service');
  assert.equal(r32(vm, RES + 0x804), 1 << 1, 'IRR: 0x61 pending (same class)');
  assert.equal(r32(vm, RES + 0x808), 0x60, 'PPR');
  assert.equal(vm.apicRead(abi.APIC_ISR + 0x30), 0);
});

test('nested priorities: a higher class interrupts a handler, a lower one waits for both EOIs', async () => {
  const vm = await setup(asm(`
org CODE
        mov     dword [A_SVR], 0x1ff
        mov     dword [A_ICRLO], SELF | 0x40
        sti
        nop
        mov     dword [PHASE], 1
        int3
`, 'c705f000e0feff010000c7050003e0fe40000400fb90c7050068000001000000cc'));
  setAction(vm, 0x40, STI | EOI, 0x40000 | 0x80); // a self-IPI of 0x80 from the handler
  setAction(vm, 0x80, EOI, 0x40000 | 0x41);
  setAction(vm, 0x41, EOI);
  runToInt3(vm);
  const l = log(vm);
  assert.deepEqual(l.map((e) => e.ev), [0x40, 0x80, 0x180, 0x140, 0x41, 0x141]);
  assert.deepEqual(l.map((e) => e.ppr), [0x40, 0x80, 0x80, 0x40, 0x40, 0x40]);
  assert.equal(vm.apicRead(abi.APIC_PPR), 0);
});

test('a level-triggered vector from apicDeliver sets TMR; its EOI exits with EXIT_APIC_EOI', async () => {
  const vm = await setup(asm(`
org CODE
        sti
        nop
        mov     dword [PHASE], 1
        int3
`, 'fb90c7050068000001000000cc'));
  vm.apicWrite(abi.APIC_SVR, 0x1ff);
  setAction(vm, 0x70, EOI);
  setAction(vm, 0x71, EOI);
  vm.apicDeliver(0x70, abi.APIC_DM_FIXED, true);
  vm.apicDeliver(0x71, abi.APIC_DM_FIXED, false);
  assert.ok(apicBit(vm, abi.APIC_IRR, 0x70) && apicBit(vm, abi.APIC_TMR, 0x70));
  assert.ok(apicBit(vm, abi.APIC_IRR, 0x71) && !apicBit(vm, abi.APIC_TMR, 0x71));
  // 0x71 first (edge: its EOI does not exit), then 0x70.
  assert.equal(vm.run(1000), abi.EXIT_APIC_EOI);
  assert.equal(vm.exitVector, 0x70);
  assert.deepEqual(events(vm), [0x71, 0x171, 0x70, 0x170]);
  assert.ok(!apicBit(vm, abi.APIC_ISR, 0x70), 'EOI done before the exit');
  const eip = vm.eip;
  assert.ok(eip > HANDLER && eip < HANDLER + 0x100, 'the exit is after the EOI write, inside the handler');
  runToInt3(vm);
  // Software-disabled: fixed interrupts are not accepted.
  vm.apicWrite(abi.APIC_SVR, 0xff);
  vm.apicDeliver(0x72, abi.APIC_DM_FIXED, false);
  assert.ok(!apicBit(vm, abi.APIC_IRR, 0x72));
});

test('NMI: self-IPI, apicDeliver, and LINT1 programmed as NMI', async () => {
  const vm = await setup(asm(`
org CODE
        mov     dword [A_SVR], 0x1ff
        mov     dword [A_ICRLO], SELF | 0x400 ; NMI to self (IF=0 does not block it)
        mov     dword [PHASE], 1
        int3
`, 'c705f000e0feff010000c7050003e0fe00040400c7050068000001000000cc'));
  runToInt3(vm);
  assert.deepEqual(log(vm).map((e) => [e.ev, e.phase]), [[2, 0], [0x102, 0]]);
  vm.apicDeliver(0, abi.APIC_DM_NMI, false);
  vm.eip = CODE + 0x20; // another int3
  vm.writePhys(CODE + 0x20, Uint8Array.from([0x90, 0xcc]));
  runToInt3(vm);
  assert.equal(events(vm).length, 4);
  // LINT1: masked -> nothing; NMI -> an NMI.
  assert.equal(vm.apicLocalInterrupt(1), false);
  vm.apicWrite(abi.APIC_LVT_LINT1, 0x400);
  assert.equal(vm.apicLocalInterrupt(1), true);
  vm.eip = CODE + 0x20;
  runToInt3(vm);
  assert.deepEqual(events(vm).slice(4), [2, 0x102]);
  // LINT0 as a fixed vector.
  vm.apicWrite(abi.APIC_LVT_LINT0, 0x55);
  setAction(vm, 0x55, EOI);
  vm.eflags = 0x202;
  assert.equal(vm.apicLocalInterrupt(0), true);
  vm.eip = CODE + 0x20;
  runToInt3(vm);
  assert.deepEqual(events(vm).slice(6), [0x55, 0x155]);
});

test('IPIs that may reach other APICs exit with EXIT_APIC_IPI; illegal vectors set ESR', async () => {
  const vm = await setup(asm(`
org CODE
        mov     dword [A_SVR], 0x1ff
        mov     dword [A_ICRHI], 0x01000000
        mov     dword [A_ICRLO], 0x4050 ; fixed, physical, to APIC 1
        mov     dword [PHASE], 1
        mov     dword [A_ICRLO], 0xc4500 ; INIT to all but self
        mov     dword [PHASE], 2
        mov     dword [A_ICRHI], 0
        mov     dword [A_ICRLO], 0x51   ; to APIC 0: this one, no exit
        mov     dword [A_ICRLO], 0x8000 | 0x500 ; INIT level de-assert: nothing
        mov     eax, [A_ESR]
        mov     [RES + 0x800], eax
        mov     dword [A_ICRLO], SELF | 0x05 ; illegal vector
        mov     eax, [A_ESR]
        mov     [RES + 0x804], eax      ; not latched yet
        mov     dword [A_ESR], 0
        mov     eax, [A_ESR]
        mov     [RES + 0x808], eax
        mov     dword [A_ESR], 0
        mov     eax, [A_ESR]
        mov     [RES + 0x80c], eax
        mov     eax, [A_ICRLO]
        mov     [RES + 0x810], eax
        sti
        nop
        int3
`, 'c705f000e0feff010000c7051003e0fe00000001c7050003e0fe50400000c7050068000001000000c7050003e0fe00450c00c7050068000002000000c7051003e0fe00000000c7050003e0fe51000000c7050003e0fe00850000a18002e0fea300080200c7050003e0fe05000400a18002e0fea304080200c7058002e0fe00000000a18002e0fea308080200c7058002e0fe00000000a18002e0fea30c080200a10003e0fea310080200fb90cc'));
  setAction(vm, 0x51, EOI);
  assert.equal(vm.run(1000), abi.EXIT_APIC_IPI);
  assert.equal(vm.exitData64, 0x01000000_00004050n);
  assert.equal(vm.exitVector, 0x50);
  assert.equal(r32(vm, PHASE), 0, 'the exit comes after the ICR write, before the next instruction');
  assert.ok(!apicBit(vm, abi.APIC_IRR, 0x50), 'not for this APIC');
  assert.equal(vm.run(1000), abi.EXIT_APIC_IPI);
  assert.equal(vm.exitData64, 0x01000000_000c4500n);
  runToInt3(vm);
  assert.equal(r32(vm, RES + 0x800), 0);
  assert.equal(r32(vm, RES + 0x804), 0, 'ESR shows errors only after a write');
  assert.equal(r32(vm, RES + 0x808), 0x20, 'send illegal vector');
  assert.equal(r32(vm, RES + 0x80c), 0, 'the next write clears it');
  assert.equal(r32(vm, RES + 0x810), 0x40005, 'ICR reads back, delivery status idle');
  assert.deepEqual(events(vm), [0x51, 0x151]);
});

test('software-disabled APIC: IRR is held, LVTs stay masked', async () => {
  const vm = await Vcpu.create({ ramSize: 1 << 20 });
  vm.apicWrite(abi.APIC_SVR, 0x1ff);
  vm.apicWrite(abi.APIC_LVT_TIMER, 0x30);
  vm.apicDeliver(0x60, abi.APIC_DM_FIXED, false);
  vm.apicWrite(abi.APIC_SVR, 0xff);
  assert.equal(vm.apicRead(abi.APIC_LVT_TIMER), 0x10030, 'masked by the software disable');
  vm.apicWrite(abi.APIC_LVT_TIMER, 0x30);
  assert.equal(vm.apicRead(abi.APIC_LVT_TIMER), 0x10030, 'cannot be unmasked');
  assert.ok(apicBit(vm, abi.APIC_IRR, 0x60), 'held');
  const pending = () => new DataView(vm.memory.buffer).getUint32(vm.base + abi.V_APIC_PENDING, true);
  assert.equal(pending(), 0, 'not deliverable');
  vm.apicWrite(abi.APIC_SVR, 0x1ff);
  assert.equal(pending(), 1, 'deliverable again');
});

test('a stale pending flag (nothing deliverable at the acknowledge) yields the spurious vector, no ISR bit', async () => {
  const vm = await setup(asm(`
org CODE
        sti
        nop
        nop
        int3
`, 'fb9090cc'));
  vm.apicWrite(abi.APIC_SVR, 0x1ef);
  vm.apicDeliver(0x50, abi.APIC_DM_FIXED, false);
  vm.apicWrite(abi.APIC_TPR, 0x60); // 0x50 is now below PPR
  new DataView(vm.memory.buffer).setUint32(vm.base + abi.V_APIC_PENDING, 1, true); // as a careless restore might
  setAction(vm, 0xef, 0);
  runToInt3(vm);
  assert.deepEqual(events(vm), [0xef, 0x1ef]);
  assert.equal(vm.apicRead(abi.APIC_ISR + 0x70), 0, 'no ISR bit for the spurious vector');
  assert.ok(apicBit(vm, abi.APIC_IRR, 0x50), 'still pending');
});

// --- the timer ------------------------------------------------------------------------------------

test('timer one-shot: fires initial count x divide ns of guest time after the write', async () => {
  const vm = await setup(asm(`
org CODE
        mov     dword [A_SVR], 0x1ff
        mov     dword [A_TIMER], 0x30   ; one-shot, vector 0x30
        mov     dword [A_DIV], 0        ; divide by 2
        sti
        rdtsc
        mov     [RES + 0x800], eax
        mov     dword [A_INIT], 500     ; 500 x 2 ns = 1000 ns
.spin:  cmp     dword [RES], 0
        je      .spin
        mov     eax, [A_CUR]
        mov     [RES + 0x804], eax
        int3
`, 'c705f000e0feff010000c7052003e0fe30000000c705e003e0fe00000000fb0f31a300080200c7058003e0fef4010000833d000002000074f7a19003e0fea304080200cc'));
  setAction(vm, 0x30, EOI);
  // Stop before it fires: the deadline is visible to the VMM.
  assert.equal(vm.run(100), abi.EXIT_BUDGET);
  const t0 = r32(vm, RES + 0x800);
  const start = t0 + 2; // the INIT write is two instructions after RDTSC
  assert.equal(vm.apicTimerDeadlineNs, start + 1000);
  assert.equal(events(vm).length, 0);
  runToInt3(vm);
  const l = log(vm);
  assert.deepEqual(l.map((e) => e.ev), [0x30, 0x130]);
  assert.equal(l[0].tsc - t0, 2 + 1000 + HANDLER_TSC_DELAY, 'delivered at the boundary where 1000 ns have passed');
  assert.equal(r32(vm, RES + 0x804), 0, 'current count 0 after expiry');
  assert.equal(vm.apicTimerDeadlineNs, Infinity, 'one-shot: disarmed');
});

test('self-IPI latency matches the handler delay the timer tests assume', async () => {
  const vm = await setup(asm(`
org CODE
        mov     dword [A_SVR], 0x1ff
        sti
        rdtsc
        mov     [RES + 0x800], eax
        mov     dword [A_ICRLO], SELF | 0x44
        int3
`, 'c705f000e0feff010000fb0f31a300080200c7050003e0fe44000400cc'));
  setAction(vm, 0x44, EOI);
  runToInt3(vm);
  // RDTSC, MOV, the ICR write; delivered at the boundary after it.
  assert.equal(log(vm)[0].tsc - r32(vm, RES + 0x800), 3 + HANDLER_TSC_DELAY);
});

test('timer periodic: re-arms every initial count x divide ns; masking stops the interrupts', async () => {
  const vm = await setup(asm(`
org CODE
        mov     dword [A_SVR], 0x1ff
        mov     dword [A_DIV], 0xb      ; divide by 1
        mov     dword [A_TIMER], 0x20031 ; periodic, vector 0x31
        sti
        mov     dword [A_INIT], 300
.spin:  cmp     dword [RES], 6          ; three interrupts (enter and exit each)
        jb      .spin
        mov     dword [A_TIMER], 0x30031 ; masked
        mov     eax, [A_CUR]
        mov     [RES + 0x800], eax
        mov     ecx, 1000
.wait:  loop    .wait
        int3
`, 'c705f000e0feff010000c705e003e0fe0b000000c7052003e0fe31000200fbc7058003e0fe2c010000833d000002000672f7c7052003e0fe31000300a19003e0fea300080200b9e8030000e2fecc'));
  setAction(vm, 0x31, EOI);
  runToInt3(vm);
  const l = log(vm);
  assert.deepEqual(l.map((e) => e.ev), [0x31, 0x131, 0x31, 0x131, 0x31, 0x131], 'no interrupt once masked');
  assert.equal(l[2].tsc - l[0].tsc, 300);
  assert.equal(l[4].tsc - l[2].tsc, 300);
  const cur = r32(vm, RES + 0x800);
  assert.ok(cur > 0 && cur <= 300, `a masked periodic timer still counts (${cur})`);
  assert.equal(vm.apicTimerDeadlineNs, Infinity, 'masked: no wake-up deadline');
});

test('timer current count decreases with guest time; the divider keeps the count reached', async () => {
  const vm = await setup(asm(`
org CODE
        mov     dword [A_DIV], 0xb      ; divide by 1
        mov     dword [A_TIMER], 0x10032 ; masked one-shot: counts, no interrupt
        mov     dword [A_INIT], 10000
        mov     eax, [A_CUR]
        mov     [RES + 0x800], eax
        times 10 nop
        mov     eax, [A_CUR]
        mov     [RES + 0x804], eax
        mov     dword [A_DIV], 3        ; divide by 16
        mov     eax, [A_CUR]
        mov     [RES + 0x808], eax
        mov     ecx, 100
.wait:  loop    .wait
        mov     eax, [A_CUR]
        mov     [RES + 0x80c], eax
        mov     eax, [A_INIT]
        mov     [RES + 0x810], eax
        int3
`, 'c705e003e0fe0b000000c7052003e0fe32000100c7058003e0fe10270000a19003e0fea30008020090909090909090909090a19003e0fea304080200c705e003e0fe03000000a19003e0fea308080200b964000000e2fea19003e0fea30c080200a18003e0fea310080200cc'));
  runToInt3(vm);
  assert.equal(r32(vm, RES + 0x800), 9999, 'one ns (one tick) after the write');
  assert.equal(r32(vm, RES + 0x804), 10000 - 13);
  assert.equal(r32(vm, RES + 0x808), 10000 - 15, 'the count reached when the divider changed');
  // 100 LOOPs + 2 instructions at 16 ns per tick after the divider change.
  assert.equal(r32(vm, RES + 0x80c), 10000 - 15 - Math.floor((1 + 1 + 100 + 1) / 16));
  assert.equal(r32(vm, RES + 0x810), 10000, 'initial count reads back');
  assert.equal(vm.apicRead(abi.APIC_TIMER_CURRENT), 10000 - 15 - Math.floor((1 + 1 + 100 + 1 + 2 + 1) / 16));
});

test('timer TSC-deadline mode: IA32_TSC_DEADLINE arms it, fires at that TSC, then reads 0', async () => {
  const vm = await setup(asm(`
org CODE
        mov     dword [A_SVR], 0x1ff
        mov     dword [A_TIMER], 0x40033 ; TSC-deadline mode, vector 0x33
        mov     dword [A_INIT], 1234    ; ignored in TSC-deadline mode
        mov     eax, [A_INIT]
        mov     [RES + 0x800], eax
        sti
        rdtsc
        add     eax, 700
        adc     edx, 0
        mov     [RES + 0x804], eax
        mov     ecx, 0x6e0
        wrmsr
        rdmsr
        mov     [RES + 0x808], eax
.spin:  cmp     dword [RES], 0
        je      .spin
        mov     ecx, 0x6e0
        rdmsr
        mov     [RES + 0x80c], eax
        mov     dword [A_TIMER], 0x33   ; back to one-shot: the MSR reads 0, ignores writes
        mov     eax, 5
        xor     edx, edx
        wrmsr
        rdmsr
        mov     [RES + 0x810], eax
        int3
`, 'c705f000e0feff010000c7052003e0fe33000400c7058003e0fed2040000a18003e0fea300080200fb0f3105bc02000083d200a304080200b9e00600000f300f32a308080200833d000002000074f7b9e00600000f32a30c080200c7052003e0fe33000000b80500000031d20f300f32a310080200cc'));
  setAction(vm, 0x33, EOI);
  runToInt3(vm);
  const deadline = r32(vm, RES + 0x804);
  assert.equal(r32(vm, RES + 0x800), 0);
  assert.equal(r32(vm, RES + 0x808), deadline, 'armed');
  const l = log(vm);
  assert.deepEqual(l.map((e) => e.ev), [0x33, 0x133]);
  assert.equal(l[0].tsc, deadline + HANDLER_TSC_DELAY, 'delivered at the boundary where TSC = deadline');
  assert.equal(r32(vm, RES + 0x80c), 0, 'disarmed after firing');
  assert.equal(r32(vm, RES + 0x810), 0);
});

test('HLT: the timer deadline is exported; the vCPU wakes when the VMM advances time to it', async () => {
  const vm = await setup(asm(`
org CODE
        mov     dword [A_SVR], 0x1ff
        mov     dword [A_DIV], 0xb
        mov     dword [A_TIMER], 0x34
        rdtsc
        mov     [RES + 0x800], eax
        mov     dword [A_INIT], 5000
        sti
        hlt
        mov     dword [PHASE], 1
        int3
`, 'c705f000e0feff010000c705e003e0fe0b000000c7052003e0fe340000000f31a300080200c7058003e0fe88130000fbf4c7050068000001000000cc'));
  setAction(vm, 0x34, EOI);
  assert.equal(vm.run(100_000), abi.EXIT_HLT);
  const start = r32(vm, RES + 0x800) + 2;
  const deadline = vm.apicTimerDeadlineNs;
  assert.equal(deadline, start + 5000);
  assert.ok(vm.timeNs < deadline);
  // Without time passing the vCPU stays halted.
  assert.equal(vm.run(100_000), abi.EXIT_HLT);
  assert.ok(vm.halted);
  vm.setTime(deadline, 1);
  runToInt3(vm);
  const l = log(vm);
  assert.deepEqual(l.map((e) => [e.ev, e.phase]), [[0x34, 0], [0x134, 0]]);
  assert.equal(l[0].tsc, deadline + HANDLER_TSC_DELAY);
});

test('HLT with an interrupt already pending does not exit', async () => {
  const vm = await setup(asm(`
org CODE
        mov     dword [A_SVR], 0x1ff
        mov     dword [A_ICRLO], SELF | 0x90 ; pending while IF=0
        sti
        hlt                             ; in the STI shadow; the interrupt ends it at once
        mov     dword [PHASE], 1
        int3
`, 'c705f000e0feff010000c7050003e0fe90000400fbf4c7050068000001000000cc'));
  setAction(vm, 0x90, EOI);
  runToInt3(vm);
  assert.deepEqual(log(vm).map((e) => [e.ev, e.phase]), [[0x90, 0], [0x190, 0]]);
  assert.ok(!vm.halted);
});

// --- the APIC page and IA32_APIC_BASE ---------------------------------------------------------------

test('the APIC page is not RAM while enabled (even when moved over RAM), and is again after the global disable', async () => {
  const vm = await setup(asm(`
org CODE
        mov     eax, [0x30020]          ; RAM (the TLB now maps the page)
        mov     [RES + 0x800], eax
        mov     ecx, 0x1b
        xor     edx, edx
        mov     eax, 0x30000 | 0x800    ; move the APIC over RAM at 0x30000
        wrmsr
        mov     eax, [0x30030]          ; the version register
        mov     [RES + 0x804], eax
        mov     dword [0x30080], 0x20   ; TPR, not RAM
        mov     eax, [0x30080]
        mov     [RES + 0x810], eax
        mov     eax, 0x30000            ; globally disabled
        wrmsr
        mov     eax, [0x30020]          ; RAM again
        mov     [RES + 0x808], eax
        mov     dword [0x30084], 0x55   ; RAM
        mov     eax, 1
        cpuid
        mov     [RES + 0x80c], edx
        mov     eax, [0xfee00030]       ; MMIO: an exit to the VMM
        mov     [RES + 0x814], eax
        mov     ecx, 0x1b
        mov     eax, 0xfee00800         ; enabled again: registers at their power-up values
        xor     edx, edx
        wrmsr
        mov     eax, [A_TPR]
        mov     [RES + 0x818], eax
        mov     eax, [A_SVR]
        mov     [RES + 0x81c], eax
        mov     eax, 0xfee00801         ; reserved bit: #GP
        wrmsr
        int3
`, 'a120000300a300080200b91b00000031d2b8000803000f30a130000300a304080200c7058000030020000000a180000300a310080200b8000003000f30a120000300a308080200c7058400030055000000b8010000000fa289150c080200a13000e0fea314080200b91b000000b80008e0fe31d20f30a18000e0fea318080200a1f000e0fea31c080200b80108e0fe0f30cc'));
  w32(vm, 0x30020, 0xdeadbeef);
  assert.equal(vm.run(1000), abi.EXIT_MMIO);
  assert.equal(vm.exitAddr, 0xfee00030);
  assert.ok(!vm.exitIsWrite);
  vm.exitData = 0x1234;
  const exit = vm.run(1000);
  assert.equal(exit, abi.EXIT_EXCEPTION);
  assert.equal(vm.exitVector, abi.EXC_GP);
  const r = (o: number) => r32(vm, RES + o);
  assert.equal(r(0x800), 0xdeadbeef);
  assert.equal(r(0x804), 0x00050014, 'the APIC at its new base');
  assert.equal(r(0x810), 0x20);
  assert.equal(r32(vm, 0x30080), 0, 'RAM under the APIC page untouched');
  assert.equal(r(0x808), 0xdeadbeef, 'RAM visible again');
  assert.equal(r32(vm, 0x30084), 0x55);
  assert.equal((r(0x80c) >>> 9) & 1, 0, 'CPUID.1:EDX.APIC clear while disabled');
  assert.equal(r(0x814), 0x1234);
  assert.equal(r(0x818), 0, 'TPR at its power-up value');
  assert.equal(r(0x81c), 0xff);
  assert.equal(vm.apicBase, 0xfee00900n, 'BSP is read-only');
});

test('apicAcceptsPicInterrupts: APIC disabled or LINT0 unmasked ExtINT (virtual wire)', async () => {
  const vm = await Vcpu.create({ ramSize: 1 << 20 });
  assert.equal(vm.apicAcceptsPicInterrupts(), true, 'after reset: software-disabled');
  vm.apicWrite(abi.APIC_SVR, 0x1ff);
  assert.equal(vm.apicAcceptsPicInterrupts(), false, 'enabled, LINT0 masked');
  vm.apicWrite(abi.APIC_LVT_LINT0, 0x8700);
  assert.equal(vm.apicAcceptsPicInterrupts(), true, 'virtual wire');
  vm.apicWrite(abi.APIC_LVT_LINT0, 0x18700);
  assert.equal(vm.apicAcceptsPicInterrupts(), false, 'LINT0 masked');
  vm.apicWrite(abi.APIC_LVT_LINT0, 0x0400);
  assert.equal(vm.apicAcceptsPicInterrupts(), false, 'LINT0 as NMI');
  vm.apicWrite(abi.APIC_LVT_LINT0, 0x0700);
  assert.equal(vm.apicAcceptsPicInterrupts(), true);
  // Global disable (as WRMSR would): the APIC is out of the way.
  const prog = Uint8Array.from([0xb9, 0x1b, 0, 0, 0, 0x31, 0xd2, 0xb8, 0, 0, 0xe0, 0xfe, 0x0f, 0x30, 0xcc]);
  vm.setFlat32(0);
  vm.writePhys(0x1000, prog);
  vm.eip = 0x1000;
  vm.exceptionExitMask = 1 << 3;
  assert.equal(vm.run(100), abi.EXIT_EXCEPTION);
  assert.equal(vm.apicBase, 0xfee00100n);
  assert.equal(vm.apicAcceptsPicInterrupts(), true, 'globally disabled');
});

test('destination matching: physical ID, broadcast, logical flat and cluster', async () => {
  const vm = await Vcpu.create({ ramSize: 1 << 20 });
  assert.ok(vm.apicMatchDestination(0, false));
  assert.ok(vm.apicMatchDestination(0xff, false));
  assert.ok(!vm.apicMatchDestination(1, false));
  vm.apicWrite(abi.APIC_LDR, 0x02000000);
  assert.ok(vm.apicMatchDestination(0x03, true));
  assert.ok(!vm.apicMatchDestination(0x01, true));
  vm.apicWrite(abi.APIC_DFR, 0x0fffffff); // cluster model
  vm.apicWrite(abi.APIC_LDR, 0x12000000); // cluster 1, member bit 1
  assert.ok(vm.apicMatchDestination(0x13, true));
  assert.ok(vm.apicMatchDestination(0xf2, true), 'all clusters');
  assert.ok(!vm.apicMatchDestination(0x22, true));
  assert.ok(!vm.apicMatchDestination(0x11, true));
});

// --- the time base ------------------------------------------------------------------------------------

test('time base: the TSC is guest ns at 1 GHz, follows setTime across slices, and never goes back', async () => {
  const vm = await setup(asm(`
org CODE
        rdtsc
        mov     [RES + 0x800], eax
        mov     [RES + 0x804], edx
        int3
`, '0f31a300080200891504080200cc'));
  vm.setTime(5_000_000_000, 2.5); // 5 s of guest time, 2.5 ns per instruction
  runToInt3(vm);
  assert.equal(r32(vm, RES + 0x800) + r32(vm, RES + 0x804) * 2 ** 32, 5_000_000_000, 'TSC = ns since reset (reset at time 0)');
  assert.equal(vm.timeNs, 5_000_000_000 + 10, 'four instructions (with the INT3) at 2.5 ns: the core advanced its time');
  // Time set backwards is ignored: the TSC does not go back.
  vm.setTime(1000, 1);
  vm.eip = CODE;
  runToInt3(vm);
  assert.equal(r32(vm, RES + 0x800) + r32(vm, RES + 0x804) * 2 ** 32, 5_000_000_010);
  // WRMSR TSC sets the counter (and a later RDTSC counts on from it).
  vm.setTime(6_000_000_000, 1);
  vm.writePhys(CODE + 0x40, asm(`
org CODE + 0x40
        mov     ecx, 0x10
        mov     eax, 100
        xor     edx, edx
        wrmsr
        rdtsc
        mov     [RES + 0x800], eax
        mov     [RES + 0x804], edx
        int3
`, 'b910000000b86400000031d20f300f31a300080200891504080200cc'));
  vm.eip = CODE + 0x40;
  runToInt3(vm);
  assert.equal(r32(vm, RES + 0x800), 101);
  assert.equal(r32(vm, RES + 0x804), 0);
  // A reset restarts the TSC at 0; guest time goes on.
  vm.reset();
  assert.equal(vm.tsc, 0n);
  assert.ok(vm.timeNs >= 6_000_000_000);
});

// --- the machine: the PIC through LINT0, HLT until the APIC timer ------------------------------------

async function bootMachine(program: Uint8Array): Promise<Machine> {
  const m = await Machine.create({ ramSize: 16 << 20, clock: 'deterministic', debugExit: { iobase: 0xf4, iosize: 1 } });
  m.boot({
    loads: [{ addr: GDT, bytes: flatGdt(), what: 'gdt' }, { addr: CODE, bytes: program, what: 'program' }],
    entry: CODE,
    regs: { esp: STACK },
    gdt: { base: GDT, limit: 0x1f, cs: 0x10, ds: 0x18 },
  });
  installTables(m.vcpu, 0x10);
  m.vcpu.exceptionExitMask = 0xffffffff;
  return m;
}

const machineTimerProgram = asm(`
org CODE
        lidt    [IDTR]
        mov     dword [A_DIV], 0xb
        mov     dword [A_TIMER], 0x35
        mov     dword [A_INIT], 1000000 ; 1 ms
        sti
        hlt
        mov     al, 0
        out     0xf4, al
`, '0f011d10680000c705e003e0fe0b000000c7052003e0fe35000000c7058003e0fe40420f00fbf4b000e6f4');

test('machine: direct boot leaves virtual wire mode; a halted vCPU sleeps until the APIC timer (not the PIT)', async () => {
  const m = await bootMachine(machineTimerProgram);
  assert.equal(m.vcpu.apicRead(abi.APIC_LVT_LINT0), 0x8700);
  assert.equal(m.vcpu.apicRead(abi.APIC_LVT_LINT1), 0x8400);
  assert.equal(m.vcpu.apicRead(abi.APIC_SVR) & abi.APIC_SVR_ENABLE, abi.APIC_SVR_ENABLE);
  assert.ok(m.vcpu.apicAcceptsPicInterrupts());
  setAction(m.vcpu, 0x35, EOI);
  const r = m.runSlices(10_000);
  assert.deepEqual(r.stop, { kind: 'debug-exit', status: 1 });
  assert.deepEqual(events(m.vcpu), [0x35, 0x135]);
  const now = m.clock.nowNs();
  assert.ok(now >= 1_000_000 && now < 1_100_000, `woken at the APIC deadline (${now} ns), not the PIT's`);
  // One clock: the TSC the guest reads is the machine's guest time.
  assert.equal(Number(m.vcpu.tsc), m.vcpu.timeNs);
  assert.ok(Math.abs(m.vcpu.timeNs - now) < 1000);
});

const machinePicProgram = asm(`
org CODE
        lidt    [IDTR]
        mov     al, 0xdb                ; unmask IRQ5 at the master PIC
        out     0x21, al
        mov     eax, [RES + 0x900]
        mov     [A_LINT0], eax
        sti
        mov     ecx, 1000
.l:     loop    .l
        mov     al, 0
        out     0xf4, al
`, '0f011d10680000b0dbe621a100090200a35003e0fefbb9e8030000e2feb000e6f4');

for (const [lint0, extInt, delivered] of [[0x8700, false, true], [0x18700, false, false], [0x18700, true, true]] as const) {
  test(`machine: PIC interrupts reach the CPU through LINT0 in virtual wire mode or an ExtINT message (LINT0 0x${lint0.toString(16)}${extInt ? ', ExtINT' : ''})`, async () => {
    const m = await bootMachine(machinePicProgram);
    w32(m.vcpu, RES + 0x900, lint0);
    m.isaIrq[5].raise();
    if (extInt) m.apicBus.send({ destination: 0, logical: false, vector: 0, deliveryMode: abi.APIC_DM_EXTINT, levelTriggered: false });
    const r = m.runSlices(10_000);
    assert.deepEqual(r.stop, { kind: 'debug-exit', status: 1 });
    assert.deepEqual(events(m.vcpu), delivered ? [0x08 + 5, 0x100 + 0x08 + 5] : []);
  });
}

test('machine: I/O APIC-style messages on the APIC bus; a level-triggered EOI reaches the hook', async () => {
  const m = await bootMachine(asm(`
org CODE
        lidt    [IDTR]
        sti
        hlt
        mov     al, 0
        out     0xf4, al
`, '0f011d10680000fbf4b000e6f4'));
  const eois: number[] = [];
  m.apicEoiHandler = (v) => eois.push(v);
  setAction(m.vcpu, 0x66, EOI);
  m.apicBus.send({ destination: 1, logical: false, vector: 0x67, deliveryMode: 0, levelTriggered: true }); // not us
  m.apicBus.send({ destination: 0, logical: false, vector: 0x66, deliveryMode: 0, levelTriggered: true });
  const r = m.runSlices(10_000);
  assert.deepEqual(r.stop, { kind: 'debug-exit', status: 1 });
  assert.deepEqual(events(m.vcpu), [0x66, 0x166]);
  assert.deepEqual(eois, [0x66]);
});

// --- the inline bytes match their sources ------------------------------------------------------------

test('apic: inline program bytes match their nasm sources', (t) => {
  try {
    execFileSync('nasm', ['-v'], { stdio: 'ignore' });
  } catch {
    t.skip('nasm is not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'wkvm-apic-'));
  try {
    for (const [i, s] of snippets.entries()) {
      writeFileSync(join(dir, 'a.asm'), `${ASM_HEADER}\n${s.src}\n`);
      execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), join(dir, 'a.asm')]);
      assert.equal(readFileSync(join(dir, 'a.bin')).toString('hex'), s.hex,
        `snippet ${i + 1} is stale: run node scripts/inline-asm.mjs test/cpu/apic.test.ts`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
