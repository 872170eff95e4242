// QEMU option parsing, unit level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, parseSize, UsageError } from '../../src/cli/options.ts';

test('sizes read as QEMU reads them', () => {
  assert.equal(parseSize('256', '-m'), 256 << 20);
  assert.equal(parseSize('256M', '-m'), 256 << 20);
  assert.equal(parseSize('1G', '-m'), 1 << 30);
  assert.equal(parseSize('1.5G', '-m'), 1.5 * 2 ** 30);
  assert.equal(parseSize('65536k', '-m'), 64 << 20);
  assert.throws(() => parseSize('1X', '-m'), UsageError);
});

test('the options people already know', () => {
  const o = parseArgs(['-m', 'size=64M', '-kernel', 'k', '-initrd', 'i', '-append', 'console=ttyS0 quiet', '-nographic',
    '-no-reboot', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-snapshot', '-accel', 'tcg', '-machine', 'pc',
    '-cpu', 'pentium3', '-drive', 'file=disk.qcow2,format=qcow2,if=virtio,readonly=on']);
  assert.equal(o.memory, 64 << 20);
  assert.equal(o.kernel, 'k');
  assert.equal(o.initrd, 'i');
  assert.equal(o.append, 'console=ttyS0 quiet');
  assert.ok(o.nographic && o.serialStdio && o.noReboot && o.snapshot);
  assert.deepEqual(o.debugExit, { iobase: 0xf4, iosize: 4 });
  assert.deepEqual(o.drives, [{ file: 'disk.qcow2', format: 'qcow2', interface: 'virtio', readonly: true }]);
  assert.equal(parseArgs([]).memory, 128 << 20, "QEMU's default");
  assert.equal(parseArgs(['--m', '32']).memory, 32 << 20, 'double dash');
  assert.equal(parseArgs(['-drive', 'file=x.img']).drives[0].format, undefined, 'no format=: probed, as QEMU does');
  assert.throws(() => parseArgs(['-drive', 'file=x,format=vmdk']), /format 'vmdk'/);
  assert.throws(() => parseArgs(['-drive', 'format=raw']), /file=… is required/);
  assert.throws(() => parseArgs(['-machine', 'q35']), /'q35' is not available/);
  assert.throws(() => parseArgs(['-device', 'isa-debug-exit,iobase=0xffff,iosize=4']), /outside the I\/O space/);
  assert.throws(() => parseArgs(['disk.img']), /unexpected argument/);
});
