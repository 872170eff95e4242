// Compiles the wasm core once per thread. In Node.js it reads build/core.wasm
// from disk; in the browser it is fetched next to the page's assets.
let cached: Promise<WebAssembly.Module> | undefined;

export function loadCoreModule(): Promise<WebAssembly.Module> {
  cached ??= compile();
  return cached;
}

async function compile(): Promise<WebAssembly.Module> {
  let url = new URL('../../build/core.wasm', import.meta.url);
  if (url.protocol === 'file:') {
    // Node only: a core built elsewhere (scripts/build-wasm.mjs --out).
    const override = globalThis.process?.env?.WKVM_CORE_WASM;
    if (override) url = new URL(override, `file://${process.cwd()}/`);
    const { readFile } = await import('node:fs/promises');
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = await readFile(url);
    } catch {
      throw new Error(`wasm core not built: ${url.pathname} is missing (run "npm run build:wasm")`);
    }
    return WebAssembly.compile(bytes);
  }
  return WebAssembly.compileStreaming(fetch(url));
}
