// The bundled Linux guest through the page API, as the VMM worker runs it
// (in-process here, on unshared memory, deterministic time): the images come
// over HTTP from a "site", three disks from the three kinds of source (a
// dropped file, a URL with range requests, a disk stored in IndexedDB), and
// what the guest writes to the stored disk is there after it powers off.
import 'fake-indexeddb/auto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DiskStore } from '../../src/storage/IndexedDbDisk.ts';
import { machine, serveFiles, PUBLIC_IMAGES } from './harness.ts';

const PROMPT = 'wkvm:/# ';

function diskWith(text: string, size = 1 << 20): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  bytes.set(new TextEncoder().encode(text));
  return bytes;
}

test('the bundled guest boots, reads three kinds of disk, and keeps what it wrote to the stored one', async (t) => {
  const site = await serveFiles(t, {
    '/app/images/bzImage': new Uint8Array(readFileSync(`${PUBLIC_IMAGES}bzImage`)),
    '/app/images/initramfs.cpio.gz': new Uint8Array(readFileSync(`${PUBLIC_IMAGES}initramfs.cpio.gz`)),
    '/disks/web.img': diskWith('from-the-web'),
  });
  const store = await DiskStore.open('wkvm-web-test');
  await store.create('home', 1 << 20);
  const { vm, until } = machine(t, { bundledImages: new URL(`${site}app/images/`), openDiskStore: async () => store });
  const progress: string[] = [];
  vm.on('progress', (p) => progress.push(p.what));

  await vm.start({
    deterministic: true,
    disks: [
      { source: { blob: new Blob([diskWith('from-a-file')]), name: 'dropped.img' } },
      { source: { url: '/disks/web.img' } }, // relative to the page (the site's root here)
      { source: { stored: 'home' } },
    ],
  });
  assert.ok(progress.includes('kernel') && progress.includes('initrd'), 'progress for both images');
  await vm.waitForOutput(PROMPT, { fromBoot: true, timeoutMs: 240_000 });

  const answer = vm.waitForOutput(/^from-the-web\r?$/m, { timeoutMs: 60_000 });
  vm.type('head -c 11 /dev/vda; echo; head -c 12 /dev/vdb; echo\n');
  await answer.catch((e: Error) => assert.fail(`${e.message}; the console ends with ${JSON.stringify(vm.outputSinceBoot.slice(-400))}`));
  assert.match(vm.outputSinceBoot, /^from-a-file\r?$/m);

  const wrote = vm.waitForOutput('written\r\n', { timeoutMs: 60_000 });
  vm.type('echo -n saved-by-guest > /dev/vdc && sync && echo written\n');
  await wrote;
  vm.type('poweroff -f\n');
  const off = await until('poweroff');
  assert.equal(off.message, undefined, 'no flush problems');

  const saved = new Uint8Array(14);
  const home = await store.open('home');
  await home.read(0, saved);
  await home.close();
  assert.equal(new TextDecoder().decode(saved), 'saved-by-guest');
});
