// Seconds from page load to the bundled guest's shell prompt in Debian's
// Chromium, for the built site served with COOP/COEP (cross-origin isolated:
// guest RAM in shared memory) and without them (any static host: the
// unshared core variant), next to the `wkvm` command booting the same guest
// in the same run. Runs alternate between the three so that host load
// changes hit them alike. Prints figures only; nothing asserts on time.
//
//   npm run bench:page            (PAGE_RUNS=3 by default)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSite, launchChromium, serveStatic, ROOT } from '../test/helpers/browser.ts';
import type { WkvmMachine } from '../src/web/api.ts';

const PROMPT = 'wkvm:/# ';
const RUNS = Number(process.env.PAGE_RUNS ?? 3);
const TIMEOUT_MS = 300_000;

/** Node's `wkvm` command: seconds from start to the prompt. */
function cliToPrompt(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['bin/wkvm.mjs', '-m', '64M', '-nographic'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('wkvm: no prompt')); }, TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (out.includes(PROMPT)) {
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve((performance.now() - t0) / 1000);
      }
    });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

const site = mkdtempSync(join(tmpdir(), 'wkvm-bench-page-'));
try {
  await buildSite(site);
  const isolated = await serveStatic(site, { isolated: true });
  const plain = await serveStatic(site, { isolated: false });
  const browser = await launchChromium();

  /** A fresh page: seconds from navigation start to the first prompt, and whether RAM was shared. */
  async function pageToPrompt(url: string): Promise<{ s: number; shared: boolean }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(url);
      await page.waitForFunction(() => 'wkvm' in window, undefined, { timeout: 30_000 });
      const r = await page.evaluate(async ({ prompt, timeoutMs }) => {
        const m = (window as unknown as { wkvm: { machine: WkvmMachine } }).wkvm.machine;
        await m.waitForOutput(prompt, { fromBoot: true, timeoutMs });
        return { ms: performance.now(), shared: m.status.sharedMemory };
      }, { prompt: PROMPT, timeoutMs: TIMEOUT_MS });
      return { s: r.ms / 1000, shared: r.shared };
    } finally {
      await context.close();
    }
  }

  console.log(`page load to the shell prompt: ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs`);
  const times = { isolated: [] as number[], plain: [] as number[], cli: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    const a = await pageToPrompt(`${isolated.url}index.html`);
    if (!a.shared) throw new Error('the page served with COOP/COEP did not get shared memory');
    times.isolated.push(a.s);
    const b = await pageToPrompt(`${plain.url}index.html`);
    if (b.shared) throw new Error('the page served without COOP/COEP reports shared memory');
    times.plain.push(b.s);
    times.cli.push(await cliToPrompt());
  }
  const line = (label: string, t: number[]) =>
    console.log(`${label.padEnd(36)} ${Math.min(...t).toFixed(2)} s (best of ${t.length}: ${t.map((x) => x.toFixed(2)).join(', ')})`);
  line('page, cross-origin isolated', times.isolated);
  line('page, not isolated (any static host)', times.plain);
  line('wkvm command (reference)', times.cli);
  console.log(`ratio page/command: isolated ${(Math.min(...times.isolated) / Math.min(...times.cli)).toFixed(2)}, ` +
    `not isolated ${(Math.min(...times.plain) / Math.min(...times.cli)).toFixed(2)}`);
  await browser.close();
  await isolated.close();
  await plain.close();
} finally {
  rmSync(site, { recursive: true, force: true });
}
