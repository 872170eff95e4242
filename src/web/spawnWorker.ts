// Starts the VMM worker. Vite recognises `new Worker(new URL('…', import.meta.url))`,
// bundles that file (with its wasm assets) as a worker and rewrites the URL.
// A worker script must come from the page's origin, though, and the embed
// script may be loaded from another site: so `Worker` here is a stand-in that
// receives the rewritten URL and, for another origin, starts a same-origin stub
// (a blob: URL) that imports the real worker module. That import needs the
// site serving wkvm to allow CORS, as the <script> tag itself does.

export function spawnVmmWorker(): globalThis.Worker {
  return new Worker(new URL('./vmmWorker.ts', import.meta.url), { type: 'module', name: 'wkvm-vmm' });
}

/** The stand-in (module scope only): a constructor that returns a real Worker. */
const Worker = class {
  constructor(url: URL, options: WorkerOptions) {
    return startWorker(url, options);
  }
} as unknown as new (url: URL, options: WorkerOptions) => globalThis.Worker;

function startWorker(url: URL, options: WorkerOptions): globalThis.Worker {
  if (url.origin === location.origin) return new globalThis.Worker(url, options);
  const stub = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};\n`], { type: 'text/javascript' }));
  // The worker fetches its script soon after it is made; then the blob is not needed.
  setTimeout(() => URL.revokeObjectURL(stub), 60_000);
  return new globalThis.Worker(stub, options);
}
