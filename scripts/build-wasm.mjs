// Compiles the AssemblyScript core (wasm/) once and writes it in two variants:
//   build/core.wasm           imports a *shared* memory (SharedArrayBuffer: Node,
//                             and pages that are cross-origin isolated)
//   build/core-unshared.wasm  imports an ordinary memory (pages served without
//                             COOP/COEP headers, where SharedArrayBuffer is absent)
// Both import one memory laid out as wasm/abi.ts describes, use no runtime
// (nothing is allocated) and keep no vCPU state in globals.
//
// The two compiles would differ only in the memory import's "shared" flag, so
// the unshared variant is derived from the shared binary by clearing that
// flag (unshareMemoryImport) instead of a second 20-second compile; atomic
// instructions stay valid on unshared memory.
//
// Options:
//   --out <path>   the shared variant's path (parallel work on the core;
//                  WKVM_CORE_WASM makes loadCore use it); the unshared one goes
//                  next to it as <name>-unshared.wasm (loadCore's rule too)
//   --debug        unoptimised, with assertions
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unshareMemoryImport } from './wasm-unshare.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const debug = argv.includes('--debug');
const outAt = argv.indexOf('--out');
const out = outAt >= 0 && outAt + 1 < argv.length ? argv[outAt + 1] : 'build/core.wasm';
if (!out.endsWith('.wasm')) {
  console.error(`build-wasm: --out must name a .wasm file (got '${out}')`);
  process.exit(1);
}
const sharedPath = resolve(root, out);
const unsharedPath = sharedPath.replace(/\.wasm$/, '-unshared.wasm');
mkdirSync(dirname(sharedPath), { recursive: true });

const args = [
  'wasm/index.ts',
  '-o', sharedPath,
  '--runtime', 'stub',
  '--importMemory', '--sharedMemory',
  '--initialMemory', '64', '--maximumMemory', '65536',
  '--memoryBase', String(0x1000),
  '--enable', 'threads',
  // v128 lanes for MMX/SSE/SSE2 (wasm/ops/simd): Node 20 and current browsers have wasm SIMD.
  '--enable', 'simd',
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

try {
  const unshared = unshareMemoryImport(readFileSync(sharedPath));
  // Prove the result links against an ordinary memory before anyone ships it.
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 65536 });
  new WebAssembly.Instance(new WebAssembly.Module(unshared), { env: { memory, abort() {} } });
  writeFileSync(unsharedPath, unshared);
} catch (e) {
  console.error(`build-wasm: cannot make the unshared-memory variant: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
