// Programs that used to make run() loop forever (found by the fuzzer), run
// by regressions.test.ts in a child process so a regression cannot hang the
// suite. Usage: hangCases.ts <name>; exits 0 when the case behaves.
import assert from 'node:assert/strict';
import { Vcpu } from '../../src/core/Vcpu.ts';
import * as abi from '../../wasm/abi.ts';

const cases: Record<string, () => Promise<void>> = {
  /** ENTER with a deep frame in MMIO overflowed the replay log; #MC was then redelivered forever. */
  async 'deep-enter-mmio'() {
    const vm = await Vcpu.create({ ramSize: 16 << 20 });
    vm.setFlat32(0);
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
    assert.notEqual(reason, abi.EXIT_MMIO, 'the instruction ends after a bounded number of exits');
  },
  /** A #UD handler that executes UD2 itself: faults did not consume budget. */
  async 'faulting-handler'() {
    const vm = await Vcpu.create({ ramSize: 16 << 20 });
    vm.writePhys(0x18, Uint8Array.of(0x00, 0x05, 0x00, 0x00)); // IVT[6] = 0000:0500
    vm.writePhys(0x500, Uint8Array.of(0x0f, 0x0b));
    vm.writePhys(0xffff0, Uint8Array.of(0x0f, 0x0b));
    vm.setSeg(abi.SEG_SS, { sel: 0x1000, base: 0x10000, limit: 0xffff, attr: vm.getSeg(abi.SEG_SS).attr });
    assert.equal(vm.run(1000), abi.EXIT_BUDGET);
  },
};

const name = process.argv[2];
const run = cases[name];
if (!run) {
  console.error(`unknown case '${name}' (${Object.keys(cases).join(', ')})`);
  process.exit(2);
}
await run();
