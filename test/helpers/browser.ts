// What the browser tests need: the site built once by Vite into a directory
// of their own, a small static HTTP server for it (with or without the
// COOP/COEP headers that make a page cross-origin isolated, with Range
// requests for disk images), and Debian's Chromium driven by playwright-core.
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CHROMIUM = process.env.WKVM_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots and page logs of the browser tests (build/ is not committed). */
export const ARTIFACTS = join(ROOT, 'build', 'e2e-artifacts');

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'];

/** Debian's Chromium; a clear error (never a silent skip) when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: install it with "apt-get install chromium" (.ci/run does), or set WKVM_CHROMIUM`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Builds the site (index.html, embed.html, workers, core) into `outDir` with the project's vite.config.ts. */
export async function buildSite(outDir: string): Promise<string> {
  const { build } = await import('vite');
  await build({
    root: ROOT,
    configFile: join(ROOT, 'vite.config.ts'),
    logLevel: 'error', // warnings about the build (timings, Node modules left out) are not the tests' business
    build: { outDir, emptyOutDir: true },
  });
  if (!existsSync(join(outDir, 'index.html'))) throw new Error(`vite build wrote no index.html in ${outDir}`);
  return outDir;
}

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Send COOP/COEP (cross-origin isolation, so SharedArrayBuffer exists). */
  isolated: boolean;
  /** Extra files outside the site, by URL path (e.g. disk images made by a test). */
  files?: Record<string, string>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
};

/** Serves `dir` on 127.0.0.1 (GET/HEAD, single byte ranges, index.html for directories). */
export async function serveStatic(dir: string, opts: ServeOptions): Promise<StaticServer> {
  const base = resolve(dir);
  const server: Server = createServer((req, res) => {
    try {
      handle(base, opts, req, res);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e));
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

function handle(base: string, opts: ServeOptions, req: IncomingMessage, res: ServerResponse): void {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (opts.isolated) {
    headers['cross-origin-opener-policy'] = 'same-origin';
    headers['cross-origin-embedder-policy'] = 'require-corp';
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, headers).end();
    return;
  }
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  let file = opts.files?.[path];
  if (!file) {
    file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403, headers).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
  }
  if (!existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end('not found');
    return;
  }
  const size = statSync(file).size;
  headers['content-type'] = TYPES[extname(file)] ?? 'application/octet-stream';
  headers['accept-ranges'] = 'bytes';
  const range = req.headers.range;
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    let start = m?.[1] ? Number(m[1]) : NaN;
    let end = m?.[2] ? Number(m[2]) : size - 1;
    if (m && !m[1] && m[2]) {
      start = Math.max(0, size - Number(m[2])); // suffix range: the last N bytes
      end = size - 1;
    }
    end = Math.min(end, size - 1);
    if (!m || !(start <= end) || start >= size) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
      return;
    }
    res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': String(end - start + 1) });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file, { start, end }).pipe(res);
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': String(size) });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
}

/** Saves a screenshot under build/e2e-artifacts/ (failures are only reported: a test never fails for it). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) }).catch((e: unknown) => console.log(`# screenshot ${name} failed: ${e}`));
}

/** Collects the page's console errors and uncaught exceptions (printed when a check fails). */
export function pageLog(page: Page): string[] {
  const log: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') log.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  return log;
}
