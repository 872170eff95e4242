// HttpDisk against a local node:http server on 127.0.0.1 (ranges, no HEAD,
// no range support, 404), and openImage of a qcow2 image over HTTP.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StorageError } from '../../src/storage/BlockDevice.ts';
import { HttpDisk } from '../../src/storage/HttpDisk.ts';
import { MemoryDisk } from '../../src/storage/MemoryDisk.ts';
import { OverlayDisk } from '../../src/storage/OverlayDisk.ts';
import { Qcow2Image } from '../../src/storage/Qcow2Image.ts';
import { openImage } from '../../src/storage/openImage.ts';
import { assertSameBytes, prng, randomBytes, readAll } from './helpers.ts';

const KiB = 1024;
const MiB = 1 << 20;

interface Files { [path: string]: Uint8Array }

/** Serves `files`; /noranges/* ignores Range, /nohead/* refuses HEAD. Counts GETs per path. */
async function serve(t: { after: (fn: () => Promise<void>) => void }, files: Files) {
  const gets: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let path = url.pathname;
    const noRanges = path.startsWith('/noranges/');
    const noHead = path.startsWith('/nohead/');
    path = path.replace(/^\/(noranges|nohead)\//, '/');
    const body = files[path];
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    if (req.method === 'HEAD') {
      if (noHead) {
        res.writeHead(405).end();
        return;
      }
      res.writeHead(200, { 'content-length': body.length, ...(noRanges ? {} : { 'accept-ranges': 'bytes' }) }).end();
      return;
    }
    gets.push(req.headers.range ?? 'all');
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!m || noRanges) {
      res.writeHead(200, { 'content-length': body.length }).end(Buffer.from(body));
      return;
    }
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), body.length - 1);
    if (start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1 });
    res.end(Buffer.from(body.subarray(start, end + 1)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.unref();
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, gets };
}

test('HttpDisk: ranged reads, shared fetches, LRU budget', async (t) => {
  const data = randomBytes(prng(8), 3 * MiB + 12345);
  const { base, gets } = await serve(t, { '/disk.img': data });
  const disk = await HttpDisk.open(`${base}/disk.img`, { chunkSize: 64 * KiB, cacheBytes: 512 * KiB });
  assert.equal(disk.size, data.length);
  assert.equal(disk.readOnly, true);
  assert.equal(gets.length, 0, 'HEAD was enough to open');

  // Concurrent reads of one chunk: one request.
  const bufs = Array.from({ length: 8 }, () => new Uint8Array(100));
  await Promise.all(bufs.map((b, i) => disk.read(70000 + i * 10, b)));
  bufs.forEach((b, i) => assertSameBytes(b, data.subarray(70000 + i * 10, 70100 + i * 10)));
  assert.equal(gets.length, 1);

  // A read across several missing chunks: one request for the run.
  const big = new Uint8Array(300 * KiB);
  await disk.read(MiB + 5, big);
  assertSameBytes(big, data.subarray(MiB + 5, MiB + 5 + big.length));
  assert.equal(gets.length, 2);
  // Cached: no request.
  await disk.read(MiB + 100, new Uint8Array(1000));
  assert.equal(gets.length, 2);
  assert.ok(disk.cacheUsage <= 512 * KiB);

  // The tail (short last chunk) and random reads against the data.
  const tail = new Uint8Array(20000);
  await disk.read(data.length - tail.length, tail);
  assertSameBytes(tail, data.subarray(data.length - tail.length));
  const rand = prng(9);
  for (let i = 0; i < 60; i++) {
    const len = 1 + Math.floor(rand() * 200000);
    const off = Math.floor(rand() * (data.length - len));
    const b = new Uint8Array(len);
    await disk.read(off, b);
    assertSameBytes(b, data.subarray(off, off + len));
    assert.ok(disk.cacheUsage <= 512 * KiB);
  }
  await assert.rejects(disk.write(0, new Uint8Array(1)), /read-only/);
  await disk.close();
});

test('HttpDisk: size from Content-Range when HEAD is refused; errors for no ranges and 404', async (t) => {
  const data = randomBytes(prng(10), 200 * KiB);
  const { base } = await serve(t, { '/d.img': data, '/empty.img': new Uint8Array(0) });
  const disk = await HttpDisk.open(`${base}/nohead/d.img`, { chunkSize: 64 * KiB });
  assert.equal(disk.size, data.length);
  assert.equal(disk.requests, 2);
  const b = new Uint8Array(1000);
  await disk.read(100, b); // from the first GET's bytes
  assert.equal(disk.requests, 2);
  assertSameBytes(b, data.subarray(100, 1100));
  assertSameBytes(await readAll(disk), data);

  await assert.rejects(HttpDisk.open(`${base}/noranges/d.img`), (e: Error) => {
    assert.ok(e instanceof StorageError);
    assert.match(e.message, /does not support range requests/);
    return true;
  });
  await assert.rejects(HttpDisk.open(`${base}/missing.img`), /HTTP 404/);
  await assert.rejects(HttpDisk.open(`http://127.0.0.1:1/x.img`), /cannot fetch/);
});

test('HttpDisk: a qcow2 image with a backing file over HTTP, writable through an overlay', async (t) => {
  const baseBytes = new Uint8Array(MiB).fill(0x31);
  const top = new MemoryDisk(0);
  await Qcow2Image.create(top, { size: MiB, backingFile: 'base.raw', backingFormat: 'raw', clusterBits: 12 });
  const q = await Qcow2Image.open(top, { closeContainer: false, openBacking: async () => MemoryDisk.from(baseBytes) });
  await q.write(8192, new Uint8Array(100).fill(0x32));
  await q.close();
  const { base } = await serve(t, { '/img/top.qcow2': await readAll(top), '/img/base.raw': baseBytes });

  const disk = await openImage(`${base}/img/top.qcow2`);
  assert.ok(disk instanceof OverlayDisk, 'HTTP images are read-only: writes go to an overlay');
  const b = new Uint8Array(8300);
  await disk.read(0, b);
  assert.equal(b[0], 0x31);
  assert.equal(b[8192], 0x32);
  assert.equal(b[8292], 0x31);
  await disk.write(0, new Uint8Array([7]));
  await disk.read(0, b.subarray(0, 1));
  assert.equal(b[0], 7);
  await disk.close();
  const ro = await openImage(`${base}/img/top.qcow2`, { readOnly: true });
  assert.equal(ro.readOnly, true);
  await ro.close();
});
