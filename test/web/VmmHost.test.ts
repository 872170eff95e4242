// The VM runtime behind the page's API, in Node: a page-side WkvmVm talks
// through comlink over a MessageChannel to a VmmHost (what the VMM worker
// runs), on unshared memory (the core variant for pages without cross-origin
// isolation). A small multiboot kernel keeps boots instant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { machine, serveFiles, HELLO_KERNEL, PUBLIC_IMAGES } from './harness.ts';

const hello = () => ({ blob: new Blob([HELLO_KERNEL]), name: 'hello.bin' });

test('start, output, pause, resume, reset, stop through the page API', async (t) => {
  const { vm, until, statuses } = machine(t);
  const greeting = vm.waitForOutput('hello from a multiboot kernel: ', { timeoutMs: 20000 });
  await vm.start({ kernel: hello(), append: 'first boot', memory: 32 });
  await greeting;
  await vm.waitForOutput('first boot', { fromBoot: true, timeoutMs: 20000 });
  assert.equal(vm.status.state, 'running');
  assert.equal(vm.status.memoryBytes, 32 << 20);
  assert.equal(vm.status.sharedMemory, false);
  assert.deepEqual(statuses.map((s) => s.state).slice(0, 3), ['stopped', 'loading', 'running']);

  await vm.pause();
  assert.equal(vm.status.state, 'paused');
  await vm.pause(); // again: nothing to do
  await vm.resume();
  assert.equal(vm.status.state, 'running');

  // Reset boots again: the greeting comes a second time, from the new boot.
  const before = vm.outputSinceBoot;
  assert.match(before, /first boot/);
  await vm.reset();
  await vm.waitForOutput('first boot', { fromBoot: true, timeoutMs: 20000 });
  assert.equal(vm.outputSinceBoot.match(/hello from/g)?.length, 1, 'only the new boot since boot');

  await assert.rejects(vm.start(), /already running: stop\(\) it first/);
  await vm.stop();
  assert.equal((await until('stopped')).state, 'stopped');
  await assert.rejects(vm.pause(), /^Error: cannot pause: the machine is stopped$/);
  vm.type('ignored while stopped\n');

  // start() with no configuration starts the previous one again.
  await vm.start();
  await vm.waitForOutput('first boot', { fromBoot: true, timeoutMs: 20000 });
});

/** A multiboot kernel that prints "boot <n>" (n from the command line), then resets the machine through the i8042. */
function resettingKernel(): Uint8Array<ArrayBuffer> {
  const image = new Uint8Array(0x40);
  const dv = new DataView(image.buffer);
  const flags = 0x00010000; // a.out kludge: the addresses below
  [0x1badb002, flags, -(0x1badb002 + flags) >>> 0, 0x100000, 0x100000, 0, 0, 0x100020].forEach((v, i) => dv.setUint32(i * 4, v >>> 0, true));
  image.set([
    0x66, 0xba, 0xf8, 0x03, // mov dx, 0x3f8 (COM1)
    0xb0, 0x42, 0xee, // mov al, 'B'; out dx, al
    0xb0, 0x0a, 0xee, // mov al, '\n'; out dx, al
    0xb0, 0xfe, 0xe6, 0x64, // mov al, 0xfe; out 0x64, al: pulse the reset line
    0xf4, 0xeb, 0xfd, // hlt; jmp back to hlt
  ], 0x20);
  return image;
}

test('a guest that resets the machine boots again', async (t) => {
  const { vm, statuses } = machine(t);
  await vm.start({ kernel: { blob: new Blob([resettingKernel()]), name: 'resetter' } });
  await vm.waitForOutput('B\n', { fromBoot: true, timeoutMs: 20000 });
  // Each reset is a new boot: 'loading' then 'running' again, and output since the boot starts afresh.
  const running = () => statuses.filter((s) => s.state === 'running').length;
  while (running() < 3) await vm.waitForOutput('B\n', { timeoutMs: 20000 });
  await vm.stop();
  assert.equal(vm.outputSinceBoot.split('B\n').length - 1 <= 1, true);
});

test('waitForOutput gives up when the machine stops or after its timeout', async (t) => {
  const { vm } = machine(t);
  const never = vm.waitForOutput('never printed');
  await vm.start({ kernel: hello(), deterministic: true });
  await vm.waitForOutput('hello from', { fromBoot: true, timeoutMs: 20000 });
  await assert.rejects(vm.waitForOutput('x', { timeoutMs: 10 }), /^Error: no output matching x within 10 ms$/);
  const gaveUp = assert.rejects(never, /^Error: the machine is stopped: no output matching never printed$/);
  await vm.stop();
  await gaveUp;
});

test('bad images stop the start with one line and state error', async (t) => {
  const bz = new Uint8Array(readFileSync(`${PUBLIC_IMAGES}bzImage`));
  const base = await serveFiles(t, { '/bzImage': bz, '/short': bz.subarray(0, 20000) });
  const { vm } = machine(t, { bundledImages: new URL(`${base}nothing/`) });
  const cases: [Parameters<typeof vm.start>[0], RegExp][] = [
    [{}, /^bundled kernel: cannot fetch http:\/\/127\.0\.0\.1:\d+\/nothing\/bzImage: HTTP 404 Not Found$/],
    [{ kernel: { url: `${base}missing` } }, /^http:\/\/127.0.0.1:\d+\/missing: cannot fetch .*: HTTP 404 Not Found$/],
    [{ kernel: { url: `${base}short` } }, /^http:\/\/127.0.0.1:\d+\/short: kernel image is truncated/],
    [{ kernel: { blob: new Blob(['MZ not a kernel']), name: 'notes.txt' } }, /^notes\.txt: not a kernel \(neither a Linux bzImage nor a multiboot image\)$/],
    [{ kernel: { url: `${base}bzImage` }, memory: 8 }, /^memory: 8 MiB: must be a whole number/],
    [{ kernel: hello(), disks: [{ source: { blob: new Blob([new Uint8Array([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 9])]), name: 'bad.qcow2' } }] }, /^disk 'bad\.qcow2': /],
  ];
  for (const [config, message] of cases) {
    const error = await vm.start(config).then(() => undefined, (e: Error) => e);
    assert.ok(error, `${JSON.stringify(config)} must fail`);
    assert.match(error.message, message);
    assert.ok(!error.message.includes('\n') && !/\bat .*:\d+/.test(error.message), 'one line, no stack');
    assert.equal(vm.status.state, 'error');
    assert.equal(vm.status.message, error.message);
  }
});

test('disks: attached at the next reset, blob and URL disks say writes go to memory, no-range servers fall back', async (t) => {
  const image = new Uint8Array(64 * 1024).fill(7);
  const base = await serveFiles(t, { '/disk.img': image });
  const { vm } = machine(t);
  await vm.start({ kernel: hello(), disks: [{ source: { url: `${base}disk.img` } }] });
  assert.equal(vm.status.message, "disk 'disk.img': writes go to memory and are lost at power-off");

  const a = await vm.attachDisk({ source: { blob: new Blob([image]), name: 'dropped.img' } });
  assert.deepEqual(a, { live: false, name: 'dropped.img' });
  assert.match(vm.status.message ?? '', /^disk 'dropped\.img' is attached at the next reset; disk 'dropped\.img': writes go to memory/);

  const b = await vm.attachDisk({ source: { url: `${base}noranges/disk.img` }, readOnly: true });
  assert.equal(b.name, 'disk.img (2)');
  assert.match(vm.status.message ?? '', /the server has no range requests, so all 64 KiB were downloaded/);

  await assert.rejects(vm.attachDisk({ source: { url: `${base}missing.img` } }), /^Error: disk 'missing\.img': cannot fetch .*HTTP 404/);
  await assert.rejects(vm.detachDisk('nope'), /^Error: no disk named 'nope'$/);
  await vm.detachDisk('disk.img');
  assert.equal(vm.status.message, "disk 'disk.img' is detached at the next reset");
  await vm.reset();
  assert.equal(vm.status.state, 'running');
  assert.match(vm.status.message ?? '', /dropped\.img/);
  assert.doesNotMatch(vm.status.message ?? '', /'disk\.img'/);
});
