// Compiles the wasm core once per thread and memory kind. The core comes in
// two variants built from the same code (scripts/build-wasm.mjs): one imports
// a shared memory (Node, cross-origin isolated pages), the other an ordinary
// one (pages without COOP/COEP, where SharedArrayBuffer does not exist).
// In Node.js it reads build/core*.wasm from disk; in the browser the bundler
// emits both files as assets next to the code and fetches the one needed.
const cached = new Map<boolean, Promise<WebAssembly.Module>>();

export function loadCoreModule(shared = true): Promise<WebAssembly.Module> {
  let module = cached.get(shared);
  if (!module) {
    module = compile(shared);
    cached.set(shared, module);
    // A failed load (network hiccup) may be retried by the next machine.
    module.catch(() => cached.delete(shared));
  }
  return module;
}

async function compile(shared: boolean): Promise<WebAssembly.Module> {
  // Two literal URLs, so that the bundler finds and emits both variants.
  let url = shared ? new URL('../../build/core.wasm', import.meta.url) : new URL('../../build/core-unshared.wasm', import.meta.url);
  if (url.protocol === 'file:') {
    // Node only: a core built elsewhere (scripts/build-wasm.mjs --out); its
    // unshared variant sits next to it as <name>-unshared.wasm.
    const override = globalThis.process?.env?.WKVM_CORE_WASM;
    if (override) {
      url = new URL(override, `file://${process.cwd()}/`);
      if (!shared) url = new URL(url.href.replace(/\.wasm$/, '-unshared.wasm'));
    }
    const { readFile } = await import('node:fs/promises');
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = await readFile(url);
    } catch {
      throw new Error(`wasm core not built: ${url.pathname} is missing (run "npm run build:wasm")`);
    }
    return WebAssembly.compile(bytes);
  }
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`cannot load the CPU core from ${url.href}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!response.ok) throw new Error(`cannot load the CPU core from ${url.href}: HTTP ${response.status}`);
  // Streaming compilation needs the application/wasm type; plain hosts may send another.
  if ((response.headers.get('content-type') ?? '').startsWith('application/wasm')) return WebAssembly.compileStreaming(response);
  return WebAssembly.compile(await response.arrayBuffer());
}
