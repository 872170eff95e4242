// virtio-blk driven like a guest driver would: requests through a split
// queue set up via the modern capabilities (one test through the legacy I/O
// BAR), data checked on both sides, status bytes, used entries, ISR/INTx,
// event-index suppression, indirect descriptors, out-of-order completion,
// reset and save/restore with requests in flight, and hostile chains that
// must fail alone without touching anything outside their own buffers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  VirtioBlk,
  VIRTIO_BLK_CFG_BLK_SIZE,
  VIRTIO_BLK_CFG_CAPACITY,
  VIRTIO_BLK_CFG_MAX_DISCARD_SEG,
  VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS,
  VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG,
  VIRTIO_BLK_CFG_SEG_MAX,
  VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP,
  VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_F_DISCARD,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_F_SEG_MAX,
  VIRTIO_BLK_F_WRITE_ZEROES,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_DISCARD,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_GET_LIFETIME,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTIO_BLK_T_WRITE_ZEROES,
  type VirtioBlkOptions,
} from '../../src/devices/virtio/VirtioBlk.ts';
import {
  featureBits,
  hasFeature,
  VIRTIO_F_EVENT_IDX,
  VIRTIO_F_INDIRECT_DESC,
  VIRTIO_F_VERSION_1,
  VIRTIO_PCI_ISR_CONFIG,
  VIRTIO_PCI_ISR_QUEUE,
  VIRTIO_STATUS_DEVICE_NEEDS_RESET,
  VIRTIO_STATUS_DRIVER_OK,
} from '../../src/devices/virtio/VirtioPci.ts';
import { VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../src/devices/virtio/VirtQueue.ts';
import { blkSubmit, Driver, Env, MemoryDisk, pattern, RAM_SIZE, sameBytes, settle, type BlkReq, type DriverQueue, type InitOptions, type MemoryDiskOptions } from './driver.ts';

const DISK_SIZE = 1 << 20; // 2048 sectors
const SERIAL = 'wkvm-0123456789';

function setup(diskOpts: MemoryDiskOptions = {}, blkOpts: Partial<VirtioBlkOptions> = {}, init: InitOptions = {}) {
  const disk = new MemoryDisk(DISK_SIZE, diskOpts);
  disk.data.set(pattern(DISK_SIZE));
  const blk = new VirtioBlk({ disk, serial: SERIAL, ...blkOpts });
  const env = new Env(blk);
  const drv = new Driver(env);
  const features = drv.init(init);
  const q = drv.queues[0];
  return { disk, blk, env, drv, q, features };
}

const withoutBit = (f: number, bit: number) => (hasFeature(f, bit) ? f - 2 ** bit : f);

/** A good read after something went wrong: the device still serves requests. */
async function assertStillWorks(drv: Driver, q: DriverQueue, disk: MemoryDisk): Promise<void> {
  const r = blkSubmit(q, VIRTIO_BLK_T_IN, 100, { inLen: 1024 });
  await settle();
  const used = q.collect();
  assert.equal(used.length, 1);
  assert.deepEqual(used[0], { id: r.head, len: 1025 });
  assert.equal(drv.mem.u8(r.status), VIRTIO_BLK_S_OK);
  assert.deepEqual(drv.mem.read(r.data, 1024), disk.data.subarray(100 * 512, 102 * 512));
}

test('identity, features and configuration space', () => {
  const { env, drv, features } = setup();
  assert.equal(env.cfgRead(0x00), 0x10011af4, 'transitional virtio-blk 1AF4:1001');
  assert.equal(env.cfgRead(0x08), 0x01000000, 'class 01 00 00, revision 0');
  assert.equal(env.cfgRead(0x2c), 0x00021af4, 'subsystem 1AF4:0002 (device type 2)');
  assert.equal(env.cfgRead(0x3d, 1), 1, 'INTA#');
  for (const bit of [VIRTIO_F_VERSION_1, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_EVENT_IDX, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_BLK_SIZE,
    VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES]) {
    assert.ok(hasFeature(features, bit), `feature ${bit} offered`);
  }
  assert.ok(!hasFeature(features, VIRTIO_BLK_F_RO));
  assert.equal(drv.configRead(VIRTIO_BLK_CFG_CAPACITY, 4), 2048);
  assert.equal(drv.configRead(VIRTIO_BLK_CFG_CAPACITY + 4, 4), 0);
  assert.equal(drv.configRead(VIRTIO_BLK_CFG_SEG_MAX, 4), 254);
  assert.equal(drv.configRead(VIRTIO_BLK_CFG_BLK_SIZE, 4), 512);
  assert.equal(drv.configRead(VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, 4), 0x3fffff);
  assert.equal(drv.configRead(VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 4), 32);
  assert.equal(drv.configRead(VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG, 4), 1);
  assert.equal(drv.configRead(VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP, 1), 1);
  assert.equal(drv.configRead(VIRTIO_BLK_CFG_CAPACITY, 1), 0x00, 'byte access to a 64-bit field');
  assert.equal(drv.configRead(VIRTIO_BLK_CFG_CAPACITY + 1, 1), 0x08);
  assert.equal(drv.configRead(60, 4), 0, 'past the structure reads 0');
});

test('read: data lands in guest RAM, status OK, used entry, ISR and INTx', async () => {
  const { env, drv, q, disk } = setup();
  const r = blkSubmit(q, VIRTIO_BLK_T_IN, 10, { inLen: 4 * 512 });
  assert.equal(drv.mem.u8(r.status), 0xff, 'not complete before the backend answers');
  await settle();
  assert.deepEqual(drv.mem.read(r.data, 2048), disk.data.subarray(10 * 512, 14 * 512));
  assert.equal(drv.mem.u8(r.status), VIRTIO_BLK_S_OK);
  assert.deepEqual(q.collect(), [{ id: r.head, len: 2049 }]);
  assert.equal(env.intx, true, 'INTx asserted');
  assert.equal(drv.readIsr(), VIRTIO_PCI_ISR_QUEUE);
  assert.equal(env.intx, false, 'reading ISR deasserts INTx');
  assert.equal(drv.readIsr(), 0, 'ISR cleared by the read');
  assert.deepEqual(env.errors, []);
});

test('write then read back, data split over several descriptors (scatter/gather)', async () => {
  const { drv, q, disk } = setup();
  const data = pattern(3 * 512, 0, 99);
  const w = blkSubmit(q, VIRTIO_BLK_T_OUT, 2000, { out: data, split: 700 });
  await settle();
  assert.equal(drv.mem.u8(w.status), VIRTIO_BLK_S_OK);
  assert.deepEqual(q.collect(), [{ id: w.head, len: 1 }]);
  assert.deepEqual(disk.data.subarray(2000 * 512, 2003 * 512), data);
  const r = blkSubmit(q, VIRTIO_BLK_T_IN, 2000, { inLen: 3 * 512, split: 300 });
  await settle();
  assert.equal(drv.mem.u8(r.status), VIRTIO_BLK_S_OK);
  assert.deepEqual(drv.mem.read(r.data, 3 * 512), data);
  assert.deepEqual(q.collect(), [{ id: r.head, len: 3 * 512 + 1 }]);
  // Adjacent guest buffers become one backend call each way.
  assert.deepEqual(disk.log.filter((l) => l.startsWith('write') || l.startsWith('read')), ['write 1024000 1536', 'read 1024000 1536']);
});

test('header, data and status in one device-readable and one device-writable descriptor (any layout)', async () => {
  const { drv, q, disk } = setup();
  // IN: header alone, then data + status in one writable buffer.
  const hdr = drv.alloc(16);
  drv.mem.setU32(hdr, VIRTIO_BLK_T_IN);
  drv.mem.setU32(hdr + 8, 7);
  const buf = drv.alloc(513);
  q.add([{ addr: hdr, len: 16 }, { addr: buf, len: 513, write: true }]);
  // OUT: header + data in one readable buffer, status alone.
  const out = drv.alloc(16 + 512);
  drv.mem.setU32(out, VIRTIO_BLK_T_OUT);
  drv.mem.setU32(out + 8, 8);
  drv.mem.fill(out + 16, 512, 0x5a);
  const st = drv.alloc(1);
  q.add([{ addr: out, len: 528 }, { addr: st, len: 1, write: true }]);
  q.kick();
  await settle();
  assert.deepEqual(drv.mem.read(buf, 512), disk.data.subarray(7 * 512, 8 * 512));
  assert.equal(drv.mem.u8(buf + 512), VIRTIO_BLK_S_OK);
  assert.equal(drv.mem.u8(st), VIRTIO_BLK_S_OK);
  assert.ok(disk.data.subarray(8 * 512, 9 * 512).every((b) => b === 0x5a));
});

test('flush reaches the backend; GET_ID returns the NUL-padded serial', async () => {
  const { drv, q, disk } = setup();
  const f = blkSubmit(q, VIRTIO_BLK_T_FLUSH, 0);
  const id = blkSubmit(q, VIRTIO_BLK_T_GET_ID, 0, { inLen: 20 });
  await settle();
  assert.equal(drv.mem.u8(f.status), VIRTIO_BLK_S_OK);
  assert.equal(disk.flushes, 1);
  assert.equal(drv.mem.u8(id.status), VIRTIO_BLK_S_OK);
  const want = new Uint8Array(20);
  want.set(new TextEncoder().encode(SERIAL));
  assert.deepEqual(drv.mem.read(id.data, 20), want);
  const used = q.collect();
  assert.deepEqual(used.find((e) => e.id === f.head)?.len, 1);
  assert.deepEqual(used.find((e) => e.id === id.head)?.len, 21);
});

function segments(...segs: [sector: number, num: number, flags: number][]): Uint8Array {
  const b = new Uint8Array(16 * segs.length);
  const v = new DataView(b.buffer);
  segs.forEach(([sector, num, flags], i) => {
    v.setUint32(16 * i, sector % 2 ** 32, true);
    v.setUint32(16 * i + 4, Math.floor(sector / 2 ** 32), true);
    v.setUint32(16 * i + 8, num, true);
    v.setUint32(16 * i + 12, flags, true);
  });
  return b;
}

test('DISCARD and WRITE_ZEROES: segments, limits, flags', async () => {
  const { drv, q, disk } = setup();
  const st = (r: BlkReq) => drv.mem.u8(r.status);
  const d = blkSubmit(q, VIRTIO_BLK_T_DISCARD, 0, { out: segments([16, 8, 0], [100, 2, 0]) });
  const z = blkSubmit(q, VIRTIO_BLK_T_WRITE_ZEROES, 0, { out: segments([200, 4, 1]) });
  const dUnmap = blkSubmit(q, VIRTIO_BLK_T_DISCARD, 0, { out: segments([300, 1, 1]) });
  const unknownFlag = blkSubmit(q, VIRTIO_BLK_T_WRITE_ZEROES, 0, { out: segments([300, 1, 2]) });
  const tooMany = blkSubmit(q, VIRTIO_BLK_T_WRITE_ZEROES, 0, { out: segments([300, 1, 0], [310, 1, 0]) });
  const outside = blkSubmit(q, VIRTIO_BLK_T_DISCARD, 0, { out: segments([400, 1, 0], [2047, 2, 0]) });
  const ragged = blkSubmit(q, VIRTIO_BLK_T_DISCARD, 0, { out: new Uint8Array(24) });
  await settle();
  assert.equal(st(d), VIRTIO_BLK_S_OK);
  assert.equal(st(z), VIRTIO_BLK_S_OK);
  assert.equal(st(dUnmap), VIRTIO_BLK_S_UNSUPP, 'unmap flag on DISCARD');
  assert.equal(st(unknownFlag), VIRTIO_BLK_S_UNSUPP, 'unknown flag');
  assert.equal(st(tooMany), VIRTIO_BLK_S_IOERR, 'more than max_write_zeroes_seg segments');
  assert.equal(st(outside), VIRTIO_BLK_S_IOERR, 'a segment past the end');
  assert.equal(st(ragged), VIRTIO_BLK_S_IOERR, 'data not a multiple of 16 bytes');
  assert.deepEqual(disk.log.filter((l) => !l.startsWith('read')), [`discard ${16 * 512} 4096`, `discard ${100 * 512} 1024`, `zero ${200 * 512} 2048`]);
  assert.ok(disk.data.subarray(200 * 512, 204 * 512).every((b) => b === 0));
  assert.equal(disk.data[400 * 512], pattern(DISK_SIZE)[400 * 512], 'a failed multi-segment request did nothing');
});

test('WRITE_ZEROES falls back to writing zeros; DISCARD is not offered without backend support', async () => {
  const { drv, q, disk, features } = setup({ discard: false, writeZeroes: false });
  assert.ok(!hasFeature(features, VIRTIO_BLK_F_DISCARD));
  assert.ok(hasFeature(features, VIRTIO_BLK_F_WRITE_ZEROES));
  assert.equal(drv.configRead(VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP, 1), 0);
  const z = blkSubmit(q, VIRTIO_BLK_T_WRITE_ZEROES, 0, { out: segments([10, 300, 0]) });
  const d = blkSubmit(q, VIRTIO_BLK_T_DISCARD, 0, { out: segments([10, 1, 0]) });
  await settle(10);
  assert.equal(drv.mem.u8(z.status), VIRTIO_BLK_S_OK);
  assert.equal(drv.mem.u8(d.status), VIRTIO_BLK_S_UNSUPP, 'DISCARD not negotiated');
  assert.ok(disk.data.subarray(10 * 512, 310 * 512).every((b) => b === 0));
  assert.notEqual(disk.data[310 * 512 + 1], 0);
  assert.deepEqual(disk.log, [`write ${10 * 512} 65536`, `write ${10 * 512 + 65536} 65536`, `write ${10 * 512 + 131072} 22528`]);
});

test('features the driver did not accept are refused: WRITE_ZEROES without the feature is UNSUPP', async () => {
  const { drv, q, disk } = setup({}, {}, { accept: (f) => withoutBit(f, VIRTIO_BLK_F_WRITE_ZEROES) });
  const z = blkSubmit(q, VIRTIO_BLK_T_WRITE_ZEROES, 0, { out: segments([10, 1, 0]) });
  await settle();
  assert.equal(drv.mem.u8(z.status), VIRTIO_BLK_S_UNSUPP);
  assert.deepEqual(disk.log, []);
});

test('read-only disk: RO offered, writes fail with IOERR and write nothing, reads work', async () => {
  const { drv, q, disk, features } = setup({ readOnly: true });
  assert.ok(hasFeature(features, VIRTIO_BLK_F_RO));
  assert.ok(!hasFeature(features, VIRTIO_BLK_F_DISCARD));
  assert.ok(!hasFeature(features, VIRTIO_BLK_F_WRITE_ZEROES));
  const before = disk.data.slice();
  const w = blkSubmit(q, VIRTIO_BLK_T_OUT, 0, { out: new Uint8Array(512) });
  const f = blkSubmit(q, VIRTIO_BLK_T_FLUSH, 0);
  await settle();
  assert.equal(drv.mem.u8(w.status), VIRTIO_BLK_S_IOERR);
  assert.equal(drv.mem.u8(f.status), VIRTIO_BLK_S_OK);
  assert.ok(sameBytes(disk.data, before));
  assert.deepEqual(disk.log, [], 'the backend saw nothing');
  assert.equal(q.collect().length, 2);
  await assertStillWorks(drv, q, disk);

  // A writable backend presented read-only by option.
  const s2 = setup({}, { readOnly: true });
  assert.ok(hasFeature(s2.features, VIRTIO_BLK_F_RO));
  const w2 = blkSubmit(s2.q, VIRTIO_BLK_T_OUT, 0, { out: new Uint8Array(512) });
  await settle();
  assert.equal(s2.drv.mem.u8(w2.status), VIRTIO_BLK_S_IOERR);
});

test('requests outside the disk, unaligned lengths and unknown types', async () => {
  const { drv, q, disk } = setup();
  const past = blkSubmit(q, VIRTIO_BLK_T_IN, 2048, { inLen: 512 });
  const straddle = blkSubmit(q, VIRTIO_BLK_T_OUT, 2047, { out: new Uint8Array(1024) });
  const huge = blkSubmit(q, VIRTIO_BLK_T_IN, 2 ** 63, { inLen: 512 });
  const ragged = blkSubmit(q, VIRTIO_BLK_T_IN, 0, { inLen: 100 });
  const lifetime = blkSubmit(q, VIRTIO_BLK_T_GET_LIFETIME, 0, { inLen: 8 });
  const weird = blkSubmit(q, 0x12345, 0, { inLen: 8 });
  const last = blkSubmit(q, VIRTIO_BLK_T_IN, 2047, { inLen: 512 });
  await settle();
  const st = (r: BlkReq) => drv.mem.u8(r.status);
  assert.equal(st(past), VIRTIO_BLK_S_IOERR);
  assert.equal(st(straddle), VIRTIO_BLK_S_IOERR);
  assert.equal(st(huge), VIRTIO_BLK_S_IOERR);
  assert.equal(st(ragged), VIRTIO_BLK_S_IOERR);
  assert.equal(st(lifetime), VIRTIO_BLK_S_UNSUPP);
  assert.equal(st(weird), VIRTIO_BLK_S_UNSUPP);
  assert.equal(st(last), VIRTIO_BLK_S_OK, 'the last sector is readable');
  assert.deepEqual(disk.log, [`read ${2047 * 512} 512`]);
  assert.equal(q.collect().length, 7);
});

test('a backend error gives IOERR for that request only', async () => {
  const { drv, q, disk, env } = setup();
  disk.fail = (kind, offset) => kind === 'read' && offset === 5 * 512;
  const bad = blkSubmit(q, VIRTIO_BLK_T_IN, 5, { inLen: 512 });
  const good = blkSubmit(q, VIRTIO_BLK_T_IN, 6, { inLen: 512 });
  await settle();
  assert.equal(drv.mem.u8(bad.status), VIRTIO_BLK_S_IOERR);
  assert.equal(drv.mem.u8(good.status), VIRTIO_BLK_S_OK);
  assert.equal(env.errors.length, 1);
  assert.match(env.errors[0], /injected read failure/);
});

test('several requests in flight complete out of order; used ring follows completion order', async () => {
  const { drv, q, disk, blk, env } = setup({}, {}, { accept: (f) => withoutBit(f, VIRTIO_F_EVENT_IDX) });
  disk.hold = true;
  const a = blkSubmit(q, VIRTIO_BLK_T_IN, 1, { inLen: 512 });
  const b = blkSubmit(q, VIRTIO_BLK_T_OUT, 3, { out: pattern(512, 0, 5) });
  const c = blkSubmit(q, VIRTIO_BLK_T_IN, 2, { inLen: 1024 });
  const d = blkSubmit(q, VIRTIO_BLK_T_FLUSH, 0);
  await settle();
  assert.equal(blk.inFlight, 4);
  assert.equal(disk.held.length, 4);
  assert.equal(q.usedIdx, 0);
  assert.equal(env.intx, false);
  for (const [i, r] of [[2, c], [0, a], [1, d], [0, b]] as const) {
    disk.complete(i);
    await settle();
    const used = q.collect();
    assert.equal(used.length, 1);
    assert.equal(used[0].id, r.head);
    assert.equal(drv.mem.u8(r.status), VIRTIO_BLK_S_OK);
    assert.equal(drv.readIsr(), VIRTIO_PCI_ISR_QUEUE, 'one interrupt per completion (no suppression)');
  }
  assert.deepEqual(drv.mem.read(a.data, 512), disk.data.subarray(512, 1024));
  assert.deepEqual(drv.mem.read(c.data, 1024), pattern(DISK_SIZE).subarray(1024, 2048), 'c read sector 3 before b wrote it');
  assert.deepEqual(disk.data.subarray(3 * 512, 4 * 512), pattern(512, 0, 5));
  assert.equal(blk.inFlight, 0);
});

test('VIRTIO_F_EVENT_IDX: interrupts only when the used index passes used_event; avail_event published', async () => {
  const { drv, q, disk, env, features } = setup();
  assert.ok(hasFeature(features, VIRTIO_F_EVENT_IDX));
  disk.hold = true;
  q.usedEvent = 2; // interrupt once entry 2 (the third) is used
  const reqs = [0, 1, 2, 3].map((s) => blkSubmit(q, VIRTIO_BLK_T_IN, s, { inLen: 512 }));
  await settle();
  assert.equal(q.availEvent, 4, 'the device asks to hear about the next buffer');
  const isrAfter: number[] = [];
  for (let i = 0; i < 4; i++) {
    disk.complete(0);
    await settle();
    isrAfter.push(drv.readIsr());
    if (i === 2) q.usedEvent = 10;
  }
  assert.deepEqual(isrAfter, [0, 0, VIRTIO_PCI_ISR_QUEUE, 0]);
  assert.deepEqual(q.collect().map((e) => e.id), reqs.map((r) => r.head));
  assert.equal(env.intxLog.filter((l) => l).length, 1, 'INTx asserted once');
  // The avail flags are ignored with EVENT_IDX.
  disk.hold = false;
  q.availFlags = VIRTQ_AVAIL_F_NO_INTERRUPT;
  q.usedEvent = q.usedIdx;
  blkSubmit(q, VIRTIO_BLK_T_IN, 0, { inLen: 512 });
  await settle();
  assert.equal(drv.readIsr(), VIRTIO_PCI_ISR_QUEUE);
});

test('without EVENT_IDX: VIRTQ_AVAIL_F_NO_INTERRUPT suppresses interrupts', async () => {
  const { drv, q, features } = setup({}, {}, { accept: (f) => withoutBit(f, VIRTIO_F_EVENT_IDX) });
  assert.ok(!hasFeature(features, VIRTIO_F_EVENT_IDX));
  q.availFlags = VIRTQ_AVAIL_F_NO_INTERRUPT;
  blkSubmit(q, VIRTIO_BLK_T_IN, 0, { inLen: 512 });
  await settle();
  assert.equal(q.collect().length, 1);
  assert.equal(drv.readIsr(), 0);
  assert.equal(q.availEvent, 0, 'avail_event is not written without EVENT_IDX');
  q.availFlags = 0;
  blkSubmit(q, VIRTIO_BLK_T_IN, 0, { inLen: 512 });
  await settle();
  assert.equal(drv.readIsr(), VIRTIO_PCI_ISR_QUEUE);
});

test('indirect descriptors, and a direct chain continuing into an indirect table', async () => {
  const { drv, q, disk } = setup();
  const r = blkSubmit(q, VIRTIO_BLK_T_IN, 30, { inLen: 2048, split: 512, indirect: true });
  await settle();
  assert.equal(drv.mem.u8(r.status), VIRTIO_BLK_S_OK);
  assert.deepEqual(drv.mem.read(r.data, 2048), disk.data.subarray(30 * 512, 34 * 512));
  assert.deepEqual(q.collect(), [{ id: r.head, len: 2049 }]);

  // Header direct, then an indirect table holding data and status (§2.7.5.3.2).
  const hdr = drv.alloc(16);
  drv.mem.setU32(hdr, VIRTIO_BLK_T_IN);
  drv.mem.setU32(hdr + 8, 40);
  const data = drv.alloc(512);
  const st = drv.alloc(1);
  const table = drv.alloc(32);
  q.writeDesc(0, data, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1, table);
  q.writeDesc(1, st, 1, VIRTQ_DESC_F_WRITE, 0, table);
  const [h, i] = q.take(2);
  q.writeDesc(h, hdr, 16, VIRTQ_DESC_F_NEXT, i);
  q.writeDesc(i, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
  q.publish(h);
  q.kick();
  await settle();
  assert.equal(drv.mem.u8(st), VIRTIO_BLK_S_OK);
  assert.deepEqual(drv.mem.read(data, 512), disk.data.subarray(40 * 512, 41 * 512));
});

test('legacy interface through the I/O BAR: PFN queue, 32 feature bits, reads and writes', async () => {
  const disk = new MemoryDisk(DISK_SIZE);
  disk.data.set(pattern(DISK_SIZE));
  const blk = new VirtioBlk({ disk });
  const env = new Env(blk);
  const drv = new Driver(env);
  const accepted = drv.initLegacy();
  assert.ok(!hasFeature(accepted, VIRTIO_F_VERSION_1), 'bit 32 is not visible to a legacy driver');
  assert.ok(hasFeature(accepted, VIRTIO_F_INDIRECT_DESC));
  assert.equal(drv.queues[0].size, 256);
  assert.equal(drv.configRead(0, 4), 2048, 'device configuration at offset 20');
  const q = drv.queues[0];
  const w = blkSubmit(q, VIRTIO_BLK_T_OUT, 9, { out: pattern(1024, 0, 3) });
  const r = blkSubmit(q, VIRTIO_BLK_T_IN, 9, { inLen: 1024, indirect: true });
  await settle();
  assert.equal(drv.mem.u8(w.status), VIRTIO_BLK_S_OK);
  assert.equal(drv.mem.u8(r.status), VIRTIO_BLK_S_OK);
  assert.deepEqual(drv.mem.read(r.data, 1024), pattern(1024, 0, 3));
  assert.equal(q.availEvent, 2, 'EVENT_IDX negotiated through the legacy register');
  assert.equal(env.intx, true);
  assert.equal(drv.readIsr(), VIRTIO_PCI_ISR_QUEUE);
  assert.equal(env.intx, false);
});

test('a legacy driver that kicks before DRIVER_OK is served once DRIVER_OK is set', async () => {
  const { drv, q } = setup({}, {}, { noDriverOk: true });
  const r = blkSubmit(q, VIRTIO_BLK_T_IN, 0, { inLen: 512 });
  await settle();
  assert.equal(drv.mem.u8(r.status), 0xff, 'no buffers consumed before DRIVER_OK');
  drv.status |= VIRTIO_STATUS_DRIVER_OK;
  await settle();
  assert.equal(drv.mem.u8(r.status), VIRTIO_BLK_S_OK);
});

// --- hostile chains ------------------------------------------------------------------

interface Hostile {
  name: string;
  /** Builds the chain (returns its head and the RAM the device may write for it). */
  build: (drv: Driver, q: DriverQueue) => { head: number; writable: [number, number][] };
  /** Expected outcome: IOERR in this byte, or NEEDS_RESET with used length 0. */
  expect: { statusAt: number } | 'needs-reset';
}

function header(drv: Driver, type = VIRTIO_BLK_T_IN, sector = 0): number {
  const h = drv.alloc(16);
  drv.mem.setU32(h, type);
  drv.mem.setU32(h + 8, sector);
  return h;
}

let statusByte = 0;
const hostile: Hostile[] = [
  {
    name: 'a data buffer outside guest RAM, no status reached',
    build: (drv, q) => {
      const [a, b, c] = q.take(3);
      const st = drv.alloc(1);
      q.writeDesc(a, header(drv), 16, VIRTQ_DESC_F_NEXT, b);
      q.writeDesc(b, RAM_SIZE - 256, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, c);
      q.writeDesc(c, st, 1, VIRTQ_DESC_F_WRITE, 0);
      q.publish(a);
      return { head: a, writable: [] };
    },
    expect: 'needs-reset',
  },
  {
    name: 'a buffer whose 64-bit address + length wraps around to RAM',
    build: (drv, q) => {
      const [a, b, c] = q.take(3);
      const data = drv.alloc(512);
      statusByte = data + 511;
      q.writeDesc(a, header(drv), 16, VIRTQ_DESC_F_NEXT, b);
      q.writeDesc(b, data, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, c);
      q.writeDesc(c, 0, 0x200, VIRTQ_DESC_F_WRITE, 0);
      drv.mem.setU32(q.desc + 16 * c, 0xffffff00); // address 0xFFFFFFFF_FFFFFF00: + 0x200 wraps to 0x100
      drv.mem.setU32(q.desc + 16 * c + 4, 0xffffffff);
      q.publish(a);
      return { head: a, writable: [[data, 512]] };
    },
    expect: { statusAt: -1 },
  },
  {
    name: 'a descriptor loop through the status descriptor',
    build: (drv, q) => {
      const [a, b] = q.take(2);
      const st = drv.alloc(1);
      statusByte = st;
      q.writeDesc(a, header(drv), 16, VIRTQ_DESC_F_NEXT, b);
      q.writeDesc(b, st, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, b);
      q.publish(a);
      return { head: a, writable: [[st, 1]] };
    },
    expect: { statusAt: -1 },
  },
  {
    name: 'a descriptor loop of readable descriptors',
    build: (drv, q) => {
      const [a] = q.take(1);
      q.writeDesc(a, header(drv), 16, VIRTQ_DESC_F_NEXT, a);
      q.publish(a);
      return { head: a, writable: [] };
    },
    expect: 'needs-reset',
  },
  {
    name: 'a next index beyond the queue size',
    build: (drv, q) => {
      const [a, b] = q.take(2);
      const st = drv.alloc(1);
      statusByte = st;
      q.writeDesc(a, header(drv), 16, VIRTQ_DESC_F_NEXT, b);
      q.writeDesc(b, st, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 999);
      q.publish(a);
      return { head: a, writable: [[st, 1]] };
    },
    expect: { statusAt: -1 },
  },
  {
    name: 'a length that runs past the end of RAM (address + length overflow)',
    build: (drv, q) => {
      const [a, b] = q.take(2);
      q.writeDesc(a, header(drv), 16, VIRTQ_DESC_F_NEXT, b);
      q.writeDesc(b, 0x200000, 0xffffffff, VIRTQ_DESC_F_WRITE, 0);
      q.publish(a);
      return { head: a, writable: [] };
    },
    expect: 'needs-reset',
  },
  {
    name: 'an indirect table inside an indirect table',
    build: (drv, q) => {
      const inner = drv.alloc(32);
      const st = drv.alloc(1);
      q.writeDesc(0, st, 1, VIRTQ_DESC_F_WRITE, 0, inner);
      const outer = drv.alloc(32);
      const stOuter = drv.alloc(1);
      statusByte = stOuter;
      q.writeDesc(0, stOuter, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1, outer);
      q.writeDesc(1, inner, 16, VIRTQ_DESC_F_INDIRECT, 0, outer);
      const [h] = q.take(1);
      q.writeDesc(h, outer, 32, VIRTQ_DESC_F_INDIRECT, 0);
      q.publish(h);
      return { head: h, writable: [[stOuter, 1]] };
    },
    expect: { statusAt: -1 },
  },
  {
    name: 'a zero-length indirect table',
    build: (drv, q) => {
      const [h] = q.take(1);
      q.writeDesc(h, drv.alloc(16), 0, VIRTQ_DESC_F_INDIRECT, 0);
      q.publish(h);
      return { head: h, writable: [] };
    },
    expect: 'needs-reset',
  },
  {
    name: 'an indirect table whose length is not a multiple of 16',
    build: (drv, q) => {
      const [h] = q.take(1);
      q.writeDesc(h, drv.alloc(32), 24, VIRTQ_DESC_F_INDIRECT, 0);
      q.publish(h);
      return { head: h, writable: [] };
    },
    expect: 'needs-reset',
  },
  {
    name: 'a device-writable (write-only) header',
    build: (drv, q) => {
      const [a, b, c] = q.take(3);
      const h = header(drv, VIRTIO_BLK_T_OUT, 1);
      const data = drv.alloc(512);
      const st = drv.alloc(1);
      statusByte = st;
      q.writeDesc(a, h, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, b);
      q.writeDesc(b, data, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, c);
      q.writeDesc(c, st, 1, VIRTQ_DESC_F_WRITE, 0);
      q.publish(a);
      return { head: a, writable: [[h, 16], [data, 512], [st, 1]] };
    },
    expect: { statusAt: -1 },
  },
  {
    name: 'a device-readable buffer after a device-writable one',
    build: (drv, q) => {
      const [a, b, c] = q.take(3);
      const st = drv.alloc(1);
      statusByte = st;
      q.writeDesc(a, header(drv), 16, VIRTQ_DESC_F_NEXT, b);
      q.writeDesc(b, st, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, c);
      q.writeDesc(c, drv.alloc(512), 512, 0, 0);
      q.publish(a);
      return { head: a, writable: [[st, 1]] };
    },
    expect: { statusAt: -1 },
  },
  {
    name: 'no device-writable status byte at all',
    build: (drv, q) => {
      const [a, b] = q.take(2);
      q.writeDesc(a, header(drv, VIRTIO_BLK_T_OUT), 16, VIRTQ_DESC_F_NEXT, b);
      q.writeDesc(b, drv.alloc(512), 512, 0, 0);
      q.publish(a);
      return { head: a, writable: [] };
    },
    expect: 'needs-reset',
  },
];

for (const h of hostile) {
  test(`hostile chain: ${h.name} fails alone, nothing outside its buffers is touched`, async () => {
    const { env, drv, q, disk } = setup();
    statusByte = -1;
    const { head, writable } = h.build(drv, q);
    const wantStatusAt = h.expect === 'needs-reset' ? -1 : statusByte;
    const before = env.ram.slice();
    const diskBefore = disk.data.slice();
    q.kick();
    await settle();
    const used = q.collect();
    assert.equal(used.length, 1, 'the chain is returned to the driver');
    assert.equal(used[0].id, head);
    if (h.expect === 'needs-reset') {
      assert.equal(used[0].len, 0);
      assert.ok(drv.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 'DEVICE_NEEDS_RESET');
      assert.equal(drv.readIsr() & VIRTIO_PCI_ISR_CONFIG, VIRTIO_PCI_ISR_CONFIG, 'configuration change interrupt');
    } else {
      assert.equal(drv.mem.u8(wantStatusAt), VIRTIO_BLK_S_IOERR, 'IOERR in the last device-writable byte');
      assert.equal(drv.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0, 'the device is not in error');
    }
    assert.deepEqual(env.changedOutside(before, [q.deviceArea, ...writable]), [], 'RAM canary intact');
    assert.ok(sameBytes(disk.data, diskBefore), 'nothing written to the disk');
    assert.ok(env.errors.length >= 1, 'reported for diagnostics');
    await assertStillWorks(drv, q, disk);
  });
}

test('hostile available ring: a head index beyond the queue size is skipped (NEEDS_RESET); later requests work', async () => {
  const { drv, q, disk, env } = setup();
  q.publish(300);
  const before = env.ram.slice();
  q.kick();
  await settle();
  assert.equal(q.usedIdx, 0, 'nothing to give back');
  assert.ok(drv.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
  assert.deepEqual(env.changedOutside(before, [q.deviceArea]), []);
  await assertStillWorks(drv, q, disk);
});

test('hostile available index running ahead of the queue: the queue stops until reset', async () => {
  const { drv, q, disk, env } = setup();
  drv.mem.setU16(q.avail + 2, 1000);
  q.kick();
  await settle();
  assert.ok(drv.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
  assert.match(env.errors.join('\n'), /available index/);
  // The driver resets and starts over; everything works again.
  drv.init();
  assert.equal(drv.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0, 'reset clears NEEDS_RESET');
  await assertStillWorks(drv, drv.queues[0], disk);
});

test('hostile: an indirect descriptor when VIRTIO_F_INDIRECT_DESC was not negotiated', async () => {
  const { drv, q, disk } = setup({}, {}, { accept: (f) => withoutBit(f, VIRTIO_F_INDIRECT_DESC) });
  const r = blkSubmit(q, VIRTIO_BLK_T_IN, 3, { inLen: 512, indirect: true });
  await settle();
  assert.equal(drv.mem.u8(r.status), 0xff, 'the status inside the table is never written');
  assert.deepEqual(q.collect(), [{ id: r.head, len: 0 }]);
  assert.ok(drv.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
  await assertStillWorks(drv, q, disk);
});

// --- reset and snapshots ------------------------------------------------------------------

test('reset with requests in flight: old completions are dropped; device_status reads non-zero until their DMA is done', async () => {
  const { drv, q, disk, blk, env } = setup();
  disk.hold = true;
  const r = blkSubmit(q, VIRTIO_BLK_T_IN, 12, { inLen: 512 });
  const w = blkSubmit(q, VIRTIO_BLK_T_OUT, 13, { out: pattern(512, 0, 1) });
  await settle();
  const usedBefore = env.ram.slice(q.used, q.used + 6 + 8 * q.size);
  drv.status = 0;
  assert.notEqual(drv.status, 0, 'reset not complete while old requests may still write RAM');
  assert.equal(blk.staleRequests(), 2);
  disk.complete(0);
  await settle();
  assert.notEqual(drv.status, 0);
  disk.complete(0);
  await settle();
  assert.equal(drv.status, 0, 'reset complete');
  assert.equal(drv.mem.u8(r.status), 0xff, 'no status written for a dropped request');
  assert.equal(drv.mem.u8(w.status), 0xff);
  assert.deepEqual(env.ram.slice(q.used, q.used + 6 + 8 * q.size), usedBefore, 'used ring untouched');
  assert.equal(env.intx, false);
  disk.hold = false;
  drv.init();
  await assertStillWorks(drv, drv.queues[0], disk);
});

test('PCI reset (machine reset) drops in-flight requests too', async () => {
  const { drv, q, disk, env } = setup();
  disk.hold = true;
  const r = blkSubmit(q, VIRTIO_BLK_T_IN, 12, { inLen: 512 });
  await settle();
  env.pci.reset();
  disk.completeAll();
  await settle();
  assert.equal(drv.mem.u8(r.status), 0xff);
  assert.equal(env.pci.deviceStatus, 0);
  assert.equal(env.cfgRead(0x20), 0, 'BAR cleared by the PCI reset');
});

test('save/restore with requests in flight: the restored device resubmits them', async () => {
  const a = setup();
  a.disk.hold = true;
  const r1 = blkSubmit(a.q, VIRTIO_BLK_T_IN, 50, { inLen: 1024 });
  const r2 = blkSubmit(a.q, VIRTIO_BLK_T_OUT, 60, { out: pattern(512, 0, 42) });
  const done = blkSubmit(a.q, VIRTIO_BLK_T_GET_ID, 0, { inLen: 20 });
  await settle();
  const saved = JSON.parse(JSON.stringify(a.env.pci.saveState()));
  assert.equal(saved.virtio.device.inflight.length, 2);

  // A second machine: same disk contents, RAM restored first, then device state.
  const disk = new MemoryDisk(DISK_SIZE);
  disk.data.set(a.disk.data);
  const blk = new VirtioBlk({ disk, serial: SERIAL });
  const env = new Env(blk);
  env.ram.set(a.env.ram);
  env.pci.loadState(saved);
  await settle();
  const drv = a.drv;
  assert.equal(env.mem.u8(r1.status), VIRTIO_BLK_S_OK);
  assert.equal(env.mem.u8(r2.status), VIRTIO_BLK_S_OK);
  assert.deepEqual(env.mem.read(r1.data, 1024), disk.data.subarray(50 * 512, 52 * 512));
  assert.deepEqual(disk.data.subarray(60 * 512, 61 * 512), pattern(512, 0, 42));
  const usedIdx = env.mem.u16(a.q.used + 2);
  assert.equal(usedIdx, 3, 'GET_ID completed before the snapshot, two after');
  const ids = [1, 2].map((i) => env.mem.u32(a.q.used + 4 + 8 * i));
  assert.deepEqual(ids.sort(), [r1.head, r2.head].sort());
  assert.equal(env.mem.u32(a.q.used + 4), done.head);
  assert.equal(env.intx, true);
  void drv;
});
