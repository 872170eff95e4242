// What the web runtime's Node tests share: a small HTTP server (ranges, a
// no-ranges path, 404s) and a page-side WkvmVm talking through comlink over a
// MessageChannel to a VmmHost in this process, as the page does to its worker.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expose } from 'comlink';
import { VmmHost, type VmmHostOptions } from '../../src/web/VmmHost.ts';
import { createVmmService } from '../../src/web/vmmService.ts';
import { WkvmVm } from '../../src/web/WkvmVm.ts';
import type { VmStatus } from '../../src/web/api.ts';

export const HELLO_KERNEL = new Uint8Array(readFileSync(fileURLToPath(new URL('../machine/kernels/multiboot_hello.bin', import.meta.url))));
export const PUBLIC_IMAGES = fileURLToPath(new URL('../../public/images/', import.meta.url));

interface After {
  after(fn: () => unknown): void;
}

/** Serves `files` by path; /noranges/<path> answers ranged GETs with the whole file. */
export async function serveFiles(t: After, files: Record<string, Uint8Array>): Promise<string> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const noRanges = path.startsWith('/noranges/');
    const body = files[path.replace(/^\/noranges\//, '/')];
    if (!body) {
      res.writeHead(404, 'Not Found', { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const ranges = noRanges ? {} : { 'accept-ranges': 'bytes' };
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-length': body.length, ...ranges }).end();
    } else if (!m || noRanges) {
      res.writeHead(200, { 'content-length': body.length, ...ranges }).end(Buffer.from(body));
    } else {
      const start = Number(m[1]);
      const end = Math.min(Number(m[2]), body.length - 1);
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1 });
      res.end(Buffer.from(body.subarray(start, end + 1)));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // fetch keeps connections alive
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

export interface Harness {
  vm: WkvmVm;
  host: VmmHost;
  statuses: VmStatus[];
  /** Resolves at the next status with this state (or at once if it is the current one). */
  until(state: VmStatus['state']): Promise<VmStatus>;
}

/** A WkvmVm wired to an in-process VmmHost (unshared memory unless asked). */
export function machine(t: After, opts: Partial<VmmHostOptions> = {}): Harness {
  const host = new VmmHost({ bundledImages: new URL('http://127.0.0.1:9/missing/'), sharedMemory: false, ...opts });
  const { port1, port2 } = new MessageChannel();
  expose(createVmmService(host, (message, transfer) => port2.postMessage(message, transfer)), port2);
  const vm = new WkvmVm(port1, opts.bundledImages?.href ?? 'http://127.0.0.1:9/page.html');
  const statuses: VmStatus[] = [];
  vm.on('status', (s) => statuses.push(s));
  t.after(async () => {
    await vm.dispose();
    port1.close();
    port2.close();
  });
  const until = (state: VmStatus['state']) =>
    new Promise<VmStatus>((resolve) => {
      if (vm.status.state === state) return resolve(vm.status);
      const off = vm.on('status', (s) => {
        if (s.state === state) {
          off();
          resolve(s);
        }
      });
    });
  return { vm, host, statuses, until };
}
