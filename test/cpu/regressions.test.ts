// Bugs the fuzzer found, pinned down as small programs (fuzz seeds move
// whenever the core changes; these do not). Each one used to wedge the VMM
// thread or report a wrong exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vcpu } from '../../src/core/Vcpu.ts';
import * as abi from '../../wasm/abi.ts';

test('ENTER with a deep frame in MMIO cannot loop forever delivering #MC', { timeout: 20_000 }, async () => {
  const vm = await Vcpu.create({ ramSize: 16 << 20 });
  vm.setFlat32(0);
  // IDT at 0x1000 with 256 interrupt gates to a HLT at 0x3000.
  for (let v = 0; v < 256; v++) {
    const g = new DataView(new ArrayBuffer(8));
    g.setUint16(0, 0x3000, true); g.setUint16(2, 0x08, true); g.setUint16(4, 0x8e00, true); g.setUint16(6, 0, true);
    vm.writePhys(0x1000 + v * 8, new Uint8Array(g.buffer));
  }
  vm.setDescriptorTable('idt', 0x1000, 0x7ff);
  vm.writePhys(0x3000, Uint8Array.of(0xf4));
  vm.writePhys(0x2000, Uint8Array.of(0xc8, 0x00, 0x00, 0x1f)); // enter 0,31
  vm.eip = 0x2000;
  vm.setReg(abi.REG_ESP, 0xe0001000);
  vm.setReg(abi.REG_EBP, 0xe0002000);
  let reason = 0;
  for (let i = 0; i < 500; i++) {
    reason = vm.run(1000);
    if (reason !== abi.EXIT_MMIO) break;
    if (!vm.exitIsWrite) vm.exitData = 0;
  }
  assert.notEqual(reason, abi.EXIT_MMIO, 'the instruction ends (fault, shutdown or halt) after a bounded number of exits');
});

test('an exception handler that faults forever still returns at the end of the budget', { timeout: 20_000 }, async () => {
  const vm = await Vcpu.create({ ramSize: 16 << 20 });
  vm.writePhys(0x18, Uint8Array.of(0x00, 0x05, 0x00, 0x00)); // IVT[6] = 0000:0500
  vm.writePhys(0x500, Uint8Array.of(0x0f, 0x0b)); // ud2 in the #UD handler
  vm.writePhys(0xffff0, Uint8Array.of(0x0f, 0x0b)); // ud2 at the reset vector
  vm.setSeg(abi.SEG_SS, { sel: 0x1000, base: 0x10000, limit: 0xffff, attr: vm.getSeg(abi.SEG_SS).attr });
  assert.equal(vm.run(1000), abi.EXIT_BUDGET);
});

test('HLT with TF set: the #DB handler runs, so the exit is not HLT while not halted', async () => {
  const vm = await Vcpu.create({ ramSize: 16 << 20 });
  vm.writePhys(0x4, Uint8Array.of(0x00, 0x05, 0x00, 0x00)); // IVT[1] = 0000:0500
  vm.writePhys(0x500, Uint8Array.of(0xeb, 0xfe)); // jmp $ in the #DB handler
  vm.writePhys(0xffff0, Uint8Array.of(0xf4)); // hlt
  vm.eflags = 0x102; // TF
  const reason = vm.run(1000);
  assert.ok(reason !== abi.EXIT_HLT || vm.halted, `exit ${reason} with halted=${vm.halted}`);
  assert.equal(reason, abi.EXIT_BUDGET);
  assert.equal(vm.eip, 0x500);
});

test('alignment check: CR0.AM and EFLAGS.AC at CPL 3 fault misaligned data accesses with #AC(0)', async () => {
  const vm = await Vcpu.create({ ramSize: 16 << 20 });
  // mov eax,[0x2001]; int3  — then the same aligned, then a misaligned push.
  const prog = Uint8Array.of(0xa1, 0x01, 0x20, 0x00, 0x00, 0xcc);
  const run = (eflags: number, am: boolean, cpl: number, code = prog, esp = 0x8000) => {
    vm.reset();
    vm.setFlat32(cpl);
    vm.writePhys(0x1000, code);
    vm.setCr(0, (vm.getCr(0) & ~abi.CR0_AM) | (am ? abi.CR0_AM : 0));
    vm.eip = 0x1000;
    vm.setReg(abi.REG_ESP, esp);
    vm.eflags = eflags;
    vm.exceptionExitMask = 0xffffffff;
    assert.equal(vm.run(100), abi.EXIT_EXCEPTION);
    return { vector: vm.exitVector, error: vm.exitErrorCode, eip: vm.eip };
  };
  const AC = abi.FLAG_AC | 2;
  assert.deepEqual(run(AC, true, 3), { vector: abi.EXC_AC, error: 0, eip: 0x1000 }, 'CPL 3, AM, AC: #AC(0) at the instruction');
  assert.equal(run(AC, false, 3).vector, abi.EXC_BP, 'no AM: no check');
  assert.equal(run(2, true, 3).vector, abi.EXC_BP, 'no AC: no check');
  assert.equal(run(AC, true, 0).vector, abi.EXC_BP, 'CPL 0: no check');
  const aligned = Uint8Array.of(0xa1, 0x04, 0x20, 0x00, 0x00, 0xcc);
  assert.equal(run(AC, true, 3, aligned).vector, abi.EXC_BP, 'aligned: no fault');
  assert.equal(run(AC, true, 3, Uint8Array.of(0x50, 0xcc), 0x8002).vector, abi.EXC_AC, 'a misaligned stack push faults too');
  // Code fetched at odd addresses is never checked (instruction fetches are exempt).
  assert.equal(run(AC, true, 3, Uint8Array.of(0x90, 0x90, 0x90, 0xcc)).vector, abi.EXC_BP);
});
