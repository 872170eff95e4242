// Bugs the fuzzer found, pinned down as small programs (fuzz seeds move
// whenever the core changes; these do not). Each one used to wedge the VMM
// thread or report a wrong exit.
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { Vcpu } from '../../src/core/Vcpu.ts';
import * as abi from '../../wasm/abi.ts';

// These two used to make run() loop forever. A synchronous wasm loop cannot
// be interrupted by a test timeout, so each runs in a child process with a
// time limit: if the bug comes back, the test fails instead of hanging.
for (const name of ['deep-enter-mmio', 'faulting-handler']) {
  test(`no hang: ${name}`, () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./hangCases.ts', import.meta.url)), name], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.signal, null, `${name}: still running after 60 s (run() never returned)`);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
}

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
