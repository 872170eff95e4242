// The page's URL parameters (m/memory, kernel, initrd, append, disk).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUrlConfig } from '../../src/ui/urlConfig.ts';

const PAGE = 'https://example.test/wkvm/index.html';

test('no parameters: the default machine', () => {
  assert.deepEqual(parseUrlConfig('', PAGE), { config: {}, unknown: [] });
});

test('memory in MiB, with or without a unit, under either name', () => {
  assert.equal(parseUrlConfig('?m=128', PAGE).config.memory, 128);
  assert.equal(parseUrlConfig('?memory=256M', PAGE).config.memory, 256);
  assert.equal(parseUrlConfig('?m=1G', PAGE).config.memory, 1024);
  assert.equal(parseUrlConfig('?memory=96&m=32', PAGE).config.memory, 96, 'memory= wins over m=');
  assert.throws(() => parseUrlConfig('?m=lots', PAGE), /^Error: memory: 'lots' is not a size in MiB/);
  assert.throws(() => parseUrlConfig('?m=8', PAGE), /8 MiB is outside 16\.\.2048 MiB/);
  assert.throws(() => parseUrlConfig('?m=4G', PAGE), /4096 MiB is outside/);
});

test('kernel, initrd and disks are URLs resolved against the page; disk repeats', () => {
  const { config } = parseUrlConfig('?kernel=k/bzImage&initrd=/i.cpio.gz&append=console%3DttyS0+quiet&disk=a.qcow2&disk=https://cdn.test/b.iso', PAGE);
  assert.deepEqual(config.kernel, { url: 'https://example.test/wkvm/k/bzImage' });
  assert.deepEqual(config.initrd, { url: 'https://example.test/i.cpio.gz' });
  assert.equal(config.append, 'console=ttyS0 quiet');
  assert.deepEqual(config.disks, [
    { source: { url: 'https://example.test/wkvm/a.qcow2', name: 'a.qcow2' } },
    { source: { url: 'https://cdn.test/b.iso', name: 'b.iso' }, format: 'raw', readOnly: true },
  ]);
});

test('bad URLs are one-line errors; unknown parameters are reported', () => {
  assert.throws(() => parseUrlConfig('?kernel=', PAGE), /^Error: kernel: the URL is empty$/);
  assert.throws(() => parseUrlConfig('?disk=file:///etc/passwd', PAGE), /disk: only http\(s\) URLs/);
  assert.deepEqual(parseUrlConfig('?mem=64&x=1', PAGE).unknown, ['mem', 'x']);
});
