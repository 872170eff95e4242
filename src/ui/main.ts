// The page. Until the PC machine lands (devices, boot, bundled guest), it
// runs the CPU core on a small real-mode program that writes to the debug
// port 0xE9, shown in an xterm.js terminal, with the core's speed.
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { Vcpu } from '../core/Vcpu.ts';
import * as abi from '../../wasm/abi.ts';
import { demoProgram } from './demoProgram.ts';

const status = document.getElementById('status')!;
const term = new Terminal({ convertEol: true, fontSize: 14, theme: { background: '#101418' } });
term.open(document.getElementById('terminal')!);

async function main(): Promise<void> {
  const vm = await Vcpu.create({ ramSize: 16 << 20 });
  vm.writePhys(0xf0000, demoProgram());
  const t0 = performance.now();
  for (;;) {
    const reason = vm.run(1_000_000);
    if (reason === abi.EXIT_IO && vm.exitIsWrite && vm.exitPort === 0xe9) {
      term.write(String.fromCharCode(vm.exitData & 0xff));
    } else if (reason === abi.EXIT_IO && !vm.exitIsWrite) {
      vm.exitData = 0xffffffff;
    } else if (reason !== abi.EXIT_IO && reason !== abi.EXIT_BUDGET) {
      break;
    }
  }
  const secs = (performance.now() - t0) / 1000;
  const mips = Number(vm.icount) / secs / 1e6;
  status.textContent = `core ok: ${vm.icount} instructions in ${secs.toFixed(3)} s (${mips.toFixed(1)} MIPS)` +
    (crossOriginIsolated ? ', cross-origin isolated' : '');
}

main().catch((e: unknown) => {
  status.textContent = `error: ${e instanceof Error ? e.message : String(e)}`;
});
