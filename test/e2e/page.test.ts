// The page and the embed element in Debian's Chromium (playwright-core),
// against the site as `vite build` makes it, served by a small static server
// with and without the COOP/COEP headers of cross-origin isolation.
//
// Guest boots are the expensive part (tens of seconds of CPU each), so the
// checks share them, in order:
//   1. isolated server, index.html, while the bundled guest boots: bad input
//      is one line; a raw and a qcow2 image are dropped, a stored disk is
//      created and attached; "Reboot now" boots with them; a command typed
//      on the keyboard answers, paste and copy work; the guest reads the
//      images and writes the stored disk
//   2. reload: the stored disk is attached again and holds what was written
//   3. plain server (no headers), index.html?m=96&disk=…: the same build,
//      unshared memory, a disk read by HTTP Range requests
//   4. plain server, embed.html: <wkvm-vm> boots
// The time from page load to the shell prompt is printed with and without
// cross-origin isolation.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { buildSite, launchChromium, pageLog, ROOT, screenshot, serveStatic, type StaticServer } from '../helpers/browser.ts';

const PROMPT = 'wkvm:/# ';
const BOOT_MS = 240_000;
const COMMAND_MS = 60_000;
const token = Math.random().toString(36).slice(2, 8);

let browser: Browser;
let isolated: StaticServer;
let plain: StaticServer;
let page: Page; // the isolated index.html page, shared by tests 1-3
let log: string[] = [];

/** ext2 images holding hello.txt, made by mke2fs -d (raw) and qemu-img convert (qcow2). */
function makeImages(): { raw: string; qcow2: string } {
  for (const tool of ['mke2fs', 'qemu-img']) {
    assert.equal(spawnSync('sh', ['-c', `command -v ${tool}`]).status, 0, `${tool} is missing: apt-get install e2fsprogs qemu-utils (.ci/run does)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'wkvm-e2e-'));
  const make = (name: string, text: string) => {
    const content = join(dir, `${name}-files`);
    mkdirSync(content);
    writeFileSync(join(content, 'hello.txt'), `${text}\n`);
    const img = join(dir, `${name}.img`);
    const r = spawnSync('mke2fs', ['-q', '-F', '-t', 'ext2', '-d', content, img, '4M'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return img;
  };
  const raw = make('raw', `raw-content-${token}`);
  const src = make('forqcow2', `qcow2-content-${token}`);
  const qcow2 = join(dir, 'disk.qcow2');
  const q = spawnSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', src, qcow2], { encoding: 'utf8' });
  assert.equal(q.status, 0, q.stderr);
  return { raw, qcow2 };
}

before(async () => {
  browser = await launchChromium();
  const site = await buildSite(join(ROOT, 'build', 'e2e-site'));
  const images = makeImages();
  const files = { '/e2e/raw.img': images.raw, '/e2e/disk.qcow2': images.qcow2 };
  isolated = await serveStatic(site, { isolated: true, files });
  plain = await serveStatic(site, { isolated: false, files });
});

after(async () => {
  await browser?.close();
  await isolated?.close();
  await plain?.close();
});

/** 'page': `window.wkvm.machine` on index.html; otherwise the selector of a <wkvm-vm> element. */
type Target = 'page' | string;

/** Waits for the first shell prompt since the page loaded; returns ms since navigation start. */
async function promptAfterLoad(p: Page, target: Target): Promise<number> {
  await p.waitForFunction((t) => (t === 'page' ? 'wkvm' in window : !!document.querySelector(t)), target, { timeout: 30_000 });
  return p.evaluate(
    async ({ target, prompt, timeoutMs }) => {
      const w = window as unknown as { wkvm: { machine: import('../../src/web/api.ts').WkvmMachine } };
      const m = target === 'page' ? w.wkvm.machine : (document.querySelector(target) as unknown as import('../../src/web/api.ts').WkvmMachine);
      await m.waitForOutput(prompt, { fromBoot: true, timeoutMs });
      return performance.now();
    },
    { target, prompt: PROMPT, timeoutMs: BOOT_MS },
  );
}

let commandCount = 0;

/** Types a shell command into the guest (through the API) and returns its output up to an end marker. */
async function guest(p: Page, target: Target, command: string): Promise<string> {
  const id = ++commandCount;
  return p.evaluate(
    async ({ target, command, id, timeoutMs }) => {
      const w = window as unknown as { wkvm: { machine: import('../../src/web/api.ts').WkvmMachine } };
      const m = target === 'page' ? w.wkvm.machine : (document.querySelector(target) as unknown as import('../../src/web/api.ts').WkvmMachine);
      const decoder = new TextDecoder();
      let out = '';
      const off = m.on('output', (b) => (out += decoder.decode(b, { stream: true })));
      // The typed line echoes "@@END<id>@@"; only the output says "==END<id>==".
      const marker = `==END${id}==`;
      const done = m.waitForOutput(marker, { timeoutMs });
      m.type(`${command}; echo @@END${id}@@ | tr @ =\n`);
      try {
        await done;
      } finally {
        off();
      }
      return out.slice(0, out.lastIndexOf(marker));
    },
    { target, command, id, timeoutMs: COMMAND_MS },
  );
}

/** A page in a context of its own, allowed to use the clipboard (copy on selection, paste). */
async function openPage(url: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
  const p = await context.newPage();
  // After browser.close() in after(), closing the context again rejects
  // ("Target page, context or browser has been closed"): nothing left to do then.
  p.on('close', () => void context.close().catch(() => {}));
  log = pageLog(p);
  await p.goto(url);
  return p;
}

function failWith(t: TestContext, what: string): string {
  return `${what}\n--- page log (${t.name}) ---\n${log.join('\n')}`;
}

test('the page: drop images and attach a new stored disk, reboot, type a command, the guest reads and writes the disks', async (t) => {
  page = await openPage(isolated.url);
  await page.waitForFunction(() => (window as unknown as { wkvm?: { machine: { status: { state: string } } } }).wkvm?.machine.status.state === 'running', null, { timeout: 120_000 });
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);

  // Bad input is one line, and changes nothing.
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['just some notes'], 'notes.txt'));
    document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.waitForSelector('#notice[data-kind="error"]:not([hidden])');
  assert.equal((await page.textContent('#notice span'))?.trim(), 'notes.txt is not a disk image, kernel or initramfs');

  // While the guest boots, a raw and a qcow2 image are dropped: the files are
  // made in the page from bytes fetched from the test server, as a drop hands them over.
  await page.evaluate(async (files) => {
    const dt = new DataTransfer();
    for (const [url, name] of files) dt.items.add(new File([await (await fetch(url)).blob()], name));
    const target = document.getElementById('terminal')!;
    for (const type of ['dragenter', 'dragover', 'drop']) target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, [['/e2e/raw.img', 'raw.img'], ['/e2e/disk.qcow2', 'disk.qcow2']]);
  await page.waitForFunction(() => /raw\.img, disk\.qcow2 will be attached at the next boot/.test(document.getElementById('notice')!.textContent ?? ''));

  // A new disk in IndexedDB, from the panel.
  await page.click('#disks-toggle');
  await page.fill('#disk-create input[name="name"]', 'persist');
  await page.fill('#disk-create input[name="size"]', '8');
  await page.click('#disk-create button[type="submit"]');
  await page.click('tr[data-disk="persist"] button[data-action="attach"]');
  await page.waitForFunction(() => /persist will be attached at the next boot/.test(document.getElementById('notice')!.textContent ?? ''));
  assert.equal(await page.locator('#disk-others li').count(), 2, 'the panel lists the dropped images');
  await screenshot(page, '1-disks-attached');

  await page.evaluate((prompt) => {
    const w = window as unknown as { wkvm: { machine: import('../../src/web/api.ts').WkvmMachine }; nextPrompt?: Promise<void> };
    w.nextPrompt = w.wkvm.machine.waitForOutput(prompt, { timeoutMs: 240_000 });
  }, PROMPT);
  await page.click('#notice button:text("Reboot now")');
  try {
    await page.evaluate(() => (window as unknown as { nextPrompt: Promise<void> }).nextPrompt);
  } catch (e) {
    await screenshot(page, '1-reboot-failed');
    throw new Error(failWith(t, `no prompt after the reboot: ${e}`));
  }

  // A command typed on the keyboard into the terminal.
  await page.click('#terminal');
  await page.keyboard.type('echo typed-$((6*7))\n');
  await page.waitForFunction(() => /^typed-42$/m.test((window as unknown as { wkvm: { terminalText(): string } }).wkvm.terminalText()), null, { timeout: COMMAND_MS });
  // Paste (Ctrl+Shift+V) types the clipboard; selecting text copies it.
  await page.evaluate(() => navigator.clipboard.writeText('echo pasted-$((6*7))\n'));
  await page.keyboard.press('Control+Shift+V');
  await page.waitForFunction(() => /^pasted-42$/m.test((window as unknown as { wkvm: { terminalText(): string } }).wkvm.terminalText()), null, { timeout: COMMAND_MS });
  await page.evaluate(() => (window as unknown as { wkvm: { terminal: { selectAll(): void } } }).wkvm.terminal.selectAll());
  await page.waitForFunction(async () => /^pasted-42$/m.test(await navigator.clipboard.readText()), null, { timeout: 5_000 });
  const status = (await page.textContent('#statusline')) ?? '';
  assert.match(status, /^running · \d+\.\d MIPS · up \d+:\d\d · 64 MiB RAM · shared memory$/);

  const read = await guest(page, 'page', 'mkdir -p /m1 /m2 /m3; mount /dev/vda /m1 && cat /m1/hello.txt; mount /dev/vdb /m2 && cat /m2/hello.txt');
  assert.match(read, new RegExp(`^raw-content-${token}\\r?$`, 'm'), read);
  assert.match(read, new RegExp(`^qcow2-content-${token}\\r?$`, 'm'), read);
  const wrote = await guest(page, 'page', 'mke2fs -q /dev/vdc && mount /dev/vdc /m3 && echo persisted-$((6*7)) > /m3/note && sync && umount /m3 && echo STORED-OK');
  assert.match(wrote, /^STORED-OK\r?$/m, wrote);
  await screenshot(page, '1-guest-read-disks');
});

test('after a reload the stored disk is attached again and keeps what the guest wrote (cross-origin isolated)', async (t) => {
  assert.ok(page && !page.isClosed(), 'needs the page of the first test');
  await page.reload();
  let ms: number;
  try {
    ms = await promptAfterLoad(page, 'page');
  } catch (e) {
    await screenshot(page, '2-reload-failed');
    throw new Error(failWith(t, `no prompt after the reload: ${e}`));
  }
  console.log(`# page load to shell prompt, cross-origin isolated: ${(ms / 1000).toFixed(1)} s`);
  t.diagnostic(`page load to shell prompt, cross-origin isolated: ${(ms / 1000).toFixed(1)} s`);
  assert.ok(await page.isVisible('tr.attached[data-disk="persist"]'), 'the panel shows persist attached');
  assert.doesNotMatch((await page.textContent('tr[data-disk="persist"] td:nth-child(3)')) ?? '', /^0 bytes$/, 'blocks are stored');
  const out = await guest(page, 'page', 'mount /dev/vda /mnt && cat /mnt/note; umount /mnt');
  assert.match(out, /^persisted-42\r?$/m, out);
  await screenshot(page, '2-after-reload');
});

test('the disk panel downloads, imports (a qcow2 dropped on it), renames and deletes stored disks', async () => {
  assert.ok(page && !page.isClosed(), 'needs the page of the first test');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('tr[data-disk="persist"] button[data-action="download"]')]);
  assert.equal(download.suggestedFilename(), 'persist.img');
  const image = readFileSync((await download.path())!);
  assert.equal(image.length, 8 << 20);
  assert.ok(image.includes('persisted-42'), 'the downloaded image holds the file the guest wrote');

  await page.evaluate(async () => {
    const dt = new DataTransfer();
    dt.items.add(new File([await (await fetch('/e2e/disk.qcow2')).blob()], 'disk.qcow2'));
    document.getElementById('disks')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.waitForSelector('tr[data-disk="disk"]');
  assert.equal(await page.textContent('tr[data-disk="disk"] td:nth-child(2)'), '4 MiB', 'imported as a raw 4 MiB disk');
  assert.equal(await page.locator('#disk-others li').count(), 0, 'importing attaches nothing');

  await page.click('tr[data-disk="disk"] button[data-action="rename"]');
  await page.fill('tr[data-disk="disk"] td.name input', 'imported');
  await page.press('tr[data-disk="disk"] td.name input', 'Enter');
  await page.waitForSelector('tr[data-disk="imported"]');

  page.once('dialog', (d) => void d.accept());
  await page.click('tr[data-disk="imported"] button[data-action="delete"]');
  await page.waitForSelector('tr[data-disk="imported"]', { state: 'detached' });
  assert.deepEqual(await page.locator('#disk-rows tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.disk)), ['persist']);
});

test('"Open file" with a multiboot kernel boots it (the disks stay attached)', async () => {
  assert.ok(page && !page.isClosed(), 'needs the page of the first test');
  await page.setInputFiles('#open-file', join(ROOT, 'test/machine/kernels/multiboot_hello.bin'));
  await page.waitForFunction(() => /hello from a multiboot kernel/.test((window as unknown as { wkvm: { terminalText(): string } }).wkvm.terminalText()), null, { timeout: COMMAND_MS });
  assert.match((await page.textContent('#notice span')) ?? '', /^booting multiboot_hello\.bin with persist attached$/);
  await page.close();
});

test('bad URL parameters are a one-line error and nothing boots', async () => {
  const p = await openPage(`${isolated.url}?m=lots`);
  await p.waitForSelector('#notice[data-kind="error"]:not([hidden])');
  assert.equal((await p.textContent('#notice span'))?.trim(), "memory: 'lots' is not a size in MiB (e.g. m=128)");
  await p.close();
});

test('the built site boots from a plain static server (no COOP/COEP: no shared memory), set up by URL parameters', async (t) => {
  // memory and a disk by URL (read with HTTP Range requests).
  const p = await openPage(`${plain.url}?m=96&disk=e2e/raw.img`);
  let ms: number;
  try {
    ms = await promptAfterLoad(p, 'page');
  } catch (e) {
    await screenshot(p, '3-plain-failed');
    throw new Error(failWith(t, `no prompt: ${e}`));
  }
  console.log(`# page load to shell prompt, not cross-origin isolated: ${(ms / 1000).toFixed(1)} s`);
  t.diagnostic(`page load to shell prompt, not cross-origin isolated: ${(ms / 1000).toFixed(1)} s`);
  assert.equal(await p.evaluate(() => crossOriginIsolated), false);
  assert.match((await p.textContent('#statusline')) ?? '', / · 96 MiB RAM · no shared memory/);
  const out = await guest(p, 'page', 'mount /dev/vda /mnt && cat /mnt/hello.txt; umount /mnt');
  assert.match(out, new RegExp(`^raw-content-${token}\\r?$`, 'm'), out);
  await screenshot(p, '3-booted-plain');
  await p.close();
});

test('the embed page (<wkvm-vm>) boots without COOP/COEP', async (t) => {
  const p = await openPage(`${plain.url}embed.html`);
  // The first element starts when its start button is clicked.
  await p.click('#click-vm button');
  try {
    await promptAfterLoad(p, '#click-vm');
  } catch (e) {
    await screenshot(p, '4-embed-failed');
    throw new Error(failWith(t, `no prompt: ${e}`));
  }
  assert.match(await guest(p, '#click-vm', 'echo $((6*7))-embedded'), /^42-embedded\r?$/m);
  await screenshot(p, '4-embed');
  await p.close();
});
