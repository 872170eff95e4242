// A VmConfig from the page → the boot plan's inputs: defaults (the bundled
// guest), URL resolution against the page, and one-line errors for bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig, checkDiskSpec, diskBaseName, VmError } from '../../src/web/bootConfig.ts';
import { uniqueDiskName } from '../../src/web/openDisk.ts';
import type { VmConfig } from '../../src/web/api.ts';

const BUNDLED = new URL('https://wkvm.example/app/images/');
const PAGE = 'https://docs.example/guide/page.html';

test('no configuration boots the bundled guest with 64 MiB and console=ttyS0', () => {
  const c = resolveConfig(undefined, BUNDLED, PAGE);
  assert.equal(c.memoryBytes, 64 << 20);
  assert.equal(c.bundled, true);
  assert.deepEqual(c.kernel.source, { url: 'https://wkvm.example/app/images/bzImage' });
  assert.deepEqual(c.initrd?.source, { url: 'https://wkvm.example/app/images/initramfs.cpio.gz' });
  assert.equal(c.cmdline, 'console=ttyS0');
  assert.deepEqual(c.disks, []);
  assert.equal(c.deterministic, false);
});

test('a given kernel has no default initrd or command line; relative URLs are relative to the page', () => {
  const c = resolveConfig({ kernel: { url: 'k/bzImage' }, memory: 128, deterministic: true }, BUNDLED, PAGE);
  assert.equal(c.bundled, false);
  assert.deepEqual(c.kernel.source, { url: 'https://docs.example/guide/k/bzImage' });
  assert.equal(c.initrd, undefined);
  assert.equal(c.cmdline, '');
  assert.equal(c.memoryBytes, 128 << 20);
  assert.equal(c.deterministic, true);
  const d = resolveConfig({ append: 'console=ttyS0 quiet', disks: [{ source: { url: '/disks/a.qcow2' } }] }, BUNDLED, PAGE);
  assert.equal(d.cmdline, 'console=ttyS0 quiet');
  assert.deepEqual(d.disks[0].source, { url: 'https://docs.example/disks/a.qcow2' });
});

test('bad configurations are one-line VmErrors naming what is wrong', () => {
  const cases: [unknown, RegExp][] = [
    [{ memory: 5 }, /^memory: 5 MiB: must be a whole number of MiB from 16 to 2048$/],
    [{ memory: 64.5 }, /^memory: 64.5 MiB/],
    [{ memory: '64' }, /^memory: 64 MiB/],
    [{ memory: 4096 }, /^memory: 4096 MiB/],
    [{ kernel: { stored: 'x' } }, /^kernel: images stored in the browser are for disks only/],
    [{ kernel: { url: '' } }, /^kernel: the url must be a non-empty string$/],
    [{ kernel: { url: 'ftp://x/bzImage' } }, /^kernel: 'ftp:\/\/x\/bzImage': only http\(s\), blob: and data: URLs/],
    [{ kernel: 'bzImage' }, /^kernel: the source must be/],
    [{ initrd: { blob: 'not a blob', name: 'x' } }, /^initrd: blob must be a Blob or File$/],
    [{ append: 42 }, /^append: the kernel command line must be a string$/],
    [{ disks: { source: { url: 'a' } } }, /^disks: must be an array/],
    [{ disks: [{}] }, /^disks\[0\]: the source must be/],
    [{ disks: [{ source: { url: 'a.vmdk' }, format: 'vmdk' }] }, /^disks\[0\]: format 'vmdk' is not supported \(raw or qcow2\)$/],
    [[], /^the configuration must be an object$/],
  ];
  for (const [config, message] of cases) {
    assert.throws(() => resolveConfig(config as VmConfig, BUNDLED, PAGE), (e: Error) => {
      assert.ok(e instanceof VmError, `${JSON.stringify(config)}: a VmError`);
      assert.match(e.message, message);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
  }
});

test('disk names: given name, file name, last part of the URL; made unique', () => {
  assert.equal(diskBaseName({ url: 'https://x/images/debian%20disk.qcow2?v=2' }), 'debian disk.qcow2');
  assert.equal(diskBaseName({ url: 'https://x/' }), 'disk');
  assert.equal(diskBaseName({ url: 'https://x/a.img', name: 'root' }), 'root');
  assert.equal(diskBaseName({ blob: new Blob(['x']), name: 'dropped.img' }), 'dropped.img');
  assert.equal(diskBaseName({ stored: 'home' }), 'home');
  const spec = checkDiskSpec({ source: { url: 'a.img' } }, PAGE);
  assert.equal(uniqueDiskName(spec, []), 'a.img');
  assert.equal(uniqueDiskName(spec, ['a.img']), 'a.img (2)');
  assert.equal(uniqueDiskName(spec, ['a.img', 'a.img (2)']), 'a.img (3)');
});
