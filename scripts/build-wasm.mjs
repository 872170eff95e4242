// Compiles the AssemblyScript core (wasm/) to build/core.wasm.
// The core imports one shared memory laid out as wasm/abi.ts describes, uses
// no runtime (nothing is allocated) and keeps no vCPU state in globals.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
mkdirSync(`${root}/build`, { recursive: true });
const debug = process.argv.includes('--debug');
// --out <path>: build elsewhere (parallel work on the core; WKVM_CORE_WASM makes loadCore use it).
const outAt = process.argv.indexOf('--out');
const out = outAt > 0 ? process.argv[outAt + 1] : 'build/core.wasm';
const args = [
  'wasm/index.ts',
  '-o', out,
  '--runtime', 'stub',
  '--importMemory', '--sharedMemory',
  '--initialMemory', '64', '--maximumMemory', '65536',
  '--memoryBase', String(0x1000),
  '--enable', 'threads',
  '--noExportMemory',
  '--use', 'abort=',
  ...(debug ? ['--debug', '-O0'] : ['-O3', '--noAssert', '--converge']),
];
try {
  execFileSync(`${root}/node_modules/.bin/asc`, args, { cwd: root, stdio: 'inherit' });
} catch {
  console.error('build-wasm: the AssemblyScript core failed to compile');
  process.exit(1);
}
