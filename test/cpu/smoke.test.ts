// The reset path end to end: the first instruction is fetched at F000:FFF0
// through the high BIOS alias, an OUT becomes an IO exit, HLT a HLT exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vcpu } from '../../src/core/Vcpu.ts';
import * as abi from '../../wasm/abi.ts';

test('reset vector, OUT and HLT exits', async () => {
  const vm = await Vcpu.create({ ramSize: 1 << 20 });
  // mov al,'A'; out 0xe9,al; in al,0x60; mov bl,al; hlt
  vm.writePhys(0xffff0, Uint8Array.from([0xb0, 0x41, 0xe6, 0xe9, 0xe4, 0x60, 0x88, 0xc3, 0xf4]));
  assert.equal(vm.run(100), abi.EXIT_IO);
  assert.equal(vm.exitPort, 0xe9);
  assert.ok(vm.exitIsWrite);
  assert.equal(vm.exitData, 0x41);
  assert.equal(vm.run(100), abi.EXIT_IO);
  assert.equal(vm.exitPort, 0x60);
  assert.ok(!vm.exitIsWrite);
  vm.exitData = 0x5a;
  assert.equal(vm.run(100), abi.EXIT_HLT);
  assert.equal(vm.getReg(abi.REG_EBX) & 0xff, 0x5a);
  assert.equal(vm.eip, 0xfff9);
  assert.equal(vm.icount, 5n);
});

test('budget exit counts instructions', async () => {
  const vm = await Vcpu.create({ ramSize: 1 << 20 });
  vm.writePhys(0xffff0, Uint8Array.from([0xeb, 0xfe])); // jmp $
  assert.equal(vm.run(1000), abi.EXIT_BUDGET);
  assert.equal(vm.icount, 1000n);
});
