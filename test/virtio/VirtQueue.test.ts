// The split virtqueue on its own: ring validation, chain walking (direct,
// indirect, every malformed shape), the used ring, notification suppression
// with and without EVENT_IDX, the legacy layout, buffer helpers, state, and a
// fuzz run over random rings that must never reach outside RAM or throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestMemory } from '../../src/vmm/GuestMemory.ts';
import {
  VirtChain,
  VirtQueue,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from '../../src/devices/virtio/VirtQueue.ts';

const RAM = 1 << 20;
const DESC = 0x1000;
const AVAIL = 0x2000;
const USED = 0x3000;
const R = 0;
const W = VIRTQ_DESC_F_WRITE;
const N = VIRTQ_DESC_F_NEXT;
const I = VIRTQ_DESC_F_INDIRECT;

class Ring {
  readonly mem: GuestMemory;
  readonly q: VirtQueue;
  readonly errors: string[] = [];
  availIdx = 0;

  constructor(size = 8, opts: { eventIdx?: boolean; indirect?: boolean; mem?: GuestMemory } = {}) {
    this.mem = opts.mem ?? new GuestMemory(new Uint8Array(RAM));
    this.q = new VirtQueue(this.mem, size, 3);
    this.q.onError = (m) => this.errors.push(m);
    this.q.desc = DESC;
    this.q.avail = AVAIL;
    this.q.used = USED;
    this.q.eventIdx = !!opts.eventIdx;
    this.q.indirect = opts.indirect ?? true;
    assert.ok(this.q.enable());
  }

  desc(i: number, addr: number, len: number, flags: number, next = 0, table = DESC): void {
    const d = table + 16 * i;
    this.mem.setU32(d, addr % 2 ** 32);
    this.mem.setU32(d + 4, Math.floor(addr / 2 ** 32));
    this.mem.setU32(d + 8, len);
    this.mem.setU16(d + 12, flags);
    this.mem.setU16(d + 14, next);
  }

  publish(...heads: number[]): void {
    for (const h of heads) {
      this.mem.setU16(AVAIL + 4 + 2 * (this.availIdx % this.q.size), h);
      this.availIdx = (this.availIdx + 1) & 0xffff;
    }
    this.mem.setU16(AVAIL + 2, this.availIdx);
  }

  pop(): VirtChain | undefined {
    const c = new VirtChain();
    return this.q.pop(c) ? c : undefined;
  }
}

const bufs = (c: VirtChain, writable: boolean) =>
  (writable ? c.writable.slice(0, c.writeCount) : c.readable.slice(0, c.readCount)).map((b) => [b.addr, b.len]);

test('queue sizes: the maximum must be a power of two ≤ 32768; enable checks size and ring placement', () => {
  const mem = new GuestMemory(new Uint8Array(RAM));
  assert.throws(() => new VirtQueue(mem, 0));
  assert.throws(() => new VirtQueue(mem, 12));
  assert.throws(() => new VirtQueue(mem, 65536));
  new VirtQueue(mem, 32768);
  for (const [size, desc, ok] of [
    [8, DESC, true],
    [0, DESC, false],
    [6, DESC, false],
    [16, DESC, false], // above the maximum of 8
    [8, RAM - 100, false], // descriptor table past the end of RAM
    [8, 2 ** 53, false],
  ] as const) {
    const errors: string[] = [];
    const q = new VirtQueue(mem, 8);
    q.onError = (m) => errors.push(m);
    q.size = size;
    q.desc = desc;
    q.avail = AVAIL;
    q.used = USED;
    assert.equal(q.enable(), ok, `size ${size} desc ${desc}`);
    assert.equal(q.ready, ok);
    assert.equal(errors.length, ok ? 0 : 1);
    assert.equal(q.pop(new VirtChain()), false);
  }
  const q = new VirtQueue(mem, 8);
  q.size = 8;
  q.desc = DESC;
  q.avail = AVAIL;
  q.used = RAM - 6 - 8 * 8 + 1; // used ring one byte too long
  assert.equal(q.enable(), false);
});

test('pop: readable then writable buffers, lengths, head; empty ring; zero-length buffers skipped', () => {
  const r = new Ring();
  assert.equal(r.pop(), undefined, 'empty');
  r.desc(5, 0x10000, 16, R | N, 2);
  r.desc(2, 0x20000, 0, R | N, 7);
  r.desc(7, 0x30000, 4096, W | N, 1);
  r.desc(1, 0x40000, 1, W);
  r.publish(5);
  const c = r.pop()!;
  assert.equal(c.error, undefined);
  assert.equal(c.head, 5);
  assert.deepEqual(bufs(c, false), [[0x10000, 16]]);
  assert.deepEqual(bufs(c, true), [[0x30000, 4096], [0x40000, 1]]);
  assert.equal(c.readLength, 16);
  assert.equal(c.writeLength, 4097);
  assert.equal(c.lastWritableByte(), 0x40000);
  assert.equal(r.q.lastAvail, 1);
  assert.equal(r.pop(), undefined);
});

test('a chain object is reused without new buffer objects', () => {
  const r = new Ring();
  const c = new VirtChain();
  r.desc(0, 0x10000, 8, R | N, 1);
  r.desc(1, 0x11000, 8, W | N, 2);
  r.desc(2, 0x12000, 8, W);
  r.desc(3, 0x13000, 4, W);
  r.publish(0, 3);
  assert.ok(r.q.pop(c));
  const objs = [...c.readable, ...c.writable];
  assert.ok(r.q.pop(c));
  assert.equal(c.head, 3);
  assert.equal(c.readCount, 0);
  assert.equal(c.writeCount, 1);
  assert.deepEqual(bufs(c, true), [[0x13000, 4]]);
  assert.equal(c.writable[0], objs[1], 'same object, new contents');
  assert.equal(c.readable.length + c.writable.length, objs.length);
});

test('indirect descriptors: a table alone, or after direct descriptors', () => {
  const r = new Ring();
  const T = 0x8000;
  r.desc(0, 0x10000, 16, R | N, 1, T);
  r.desc(1, 0x11000, 512, W | N, 2, T);
  r.desc(2, 0x12000, 1, W, 0, T);
  r.desc(4, T, 48, I | W); // the WRITE flag on the pointer is ignored
  r.desc(6, 0x9000, 16, R | N, 0);
  r.desc(0, 0x11000, 512, W, 0, 0xa000);
  r.desc(6, 0x9000, 16, R | N, 7);
  r.desc(7, 0xa000, 16, I);
  r.publish(4, 6);
  const a = r.pop()!;
  assert.equal(a.error, undefined);
  assert.equal(a.head, 4);
  assert.deepEqual(bufs(a, false), [[0x10000, 16]]);
  assert.deepEqual(bufs(a, true), [[0x11000, 512], [0x12000, 1]]);
  const b = r.pop()!;
  assert.equal(b.error, undefined);
  assert.deepEqual(bufs(b, false), [[0x9000, 16]]);
  assert.deepEqual(bufs(b, true), [[0x11000, 512]]);
});

test('malformed chains are returned with an error; the queue goes on', () => {
  const cases: [string, (r: Ring) => void, RegExp][] = [
    ['loop', (r) => { r.desc(0, 0x11000, 8, W | N, 1); r.desc(1, 0x11000, 8, W | N, 0); }, /loop/],
    ['self loop', (r) => r.desc(0, 0x11000, 8, W | N, 0), /loop/],
    ['next out of range', (r) => r.desc(0, 0x10000, 8, R | N, 8), /next index 8/],
    ['buffer outside RAM', (r) => r.desc(0, RAM - 4, 8, W), /not in guest RAM/],
    ['address above 2^53', (r) => r.desc(0, 2 ** 60, 8, W), /not in guest RAM/],
    ['length runs past RAM', (r) => r.desc(0, 0x10000, 0xffffffff, W), /not in guest RAM/],
    ['readable after writable', (r) => { r.desc(0, 0x11000, 8, W | N, 1); r.desc(1, 0x10000, 8, R); }, /readable buffer after/],
    ['nested indirect', (r) => { r.desc(0, 0x9000, 16, I, 0, 0x8000); r.desc(0, 0x8000, 16, I); }, /inside an indirect table/],
    ['indirect with NEXT', (r) => { r.desc(0, 0x8000, 16, I | N, 1); r.desc(1, 0x10000, 8, W); }, /with NEXT/],
    ['zero-length indirect table', (r) => r.desc(0, 0x8000, 0, I), /not a non-zero multiple of 16/],
    ['indirect table of 24 bytes', (r) => r.desc(0, 0x8000, 24, I), /not a non-zero multiple of 16/],
    ['indirect table outside RAM', (r) => r.desc(0, RAM - 16, 32, I), /table is not in guest RAM/],
    ['loop inside an indirect table', (r) => { r.desc(0, 0x8000, 32, I); r.desc(0, 0x11000, 8, W | N, 1, 0x8000); r.desc(1, 0x11000, 8, W | N, 0, 0x8000); }, /loop/],
    ['next beyond an indirect table', (r) => { r.desc(0, 0x8000, 32, I); r.desc(0, 0x11000, 8, W | N, 2, 0x8000); }, /next index 2 is beyond the 2-entry/],
  ];
  for (const [name, build, re] of cases) {
    const r = new Ring();
    build(r);
    r.publish(0);
    r.desc(3, 0x12000, 4, W);
    r.publish(3);
    const c = r.pop();
    assert.ok(c, name);
    assert.equal(c.head, 0, name);
    assert.match(c.error ?? '', re, name);
    for (const b of [...c.readable.slice(0, c.readCount), ...c.writable.slice(0, c.writeCount)]) {
      assert.ok(r.mem.contains(b.addr, b.len), `${name}: listed buffers are in RAM`);
    }
    const next = r.pop();
    assert.ok(next && !next.error && next.head === 3, `${name}: the next chain is fine`);
    assert.deepEqual(r.errors, [], `${name}: not a queue-level error`);
  }
  // Indirect descriptors when the feature is off.
  const r = new Ring(8, { indirect: false });
  r.desc(0, 0x8000, 16, I);
  r.publish(0);
  assert.match(r.pop()!.error!, /without VIRTIO_F_INDIRECT_DESC/);
});

test('a loop keeps the buffers it walked (for a status byte) and stops at the table size', () => {
  const r = new Ring();
  r.desc(0, 0x10000, 16, R | N, 1);
  r.desc(1, 0x11000, 1, W | N, 1);
  r.publish(0);
  const c = r.pop()!;
  assert.match(c.error!, /loop/);
  assert.equal(c.writeCount, 7, 'descriptor 1 seven times, then the 9th descriptor walked is refused');
  assert.equal(c.lastWritableByte(), 0x11000);
});

test('chains are limited to max(queue size, 1024) buffers, indirect ones included', () => {
  const r = new Ring(8);
  const T = 0x20000;
  const n = 1100;
  for (let i = 0; i < n; i++) r.desc(i, 0x10000 + i, 1, W | (i + 1 < n ? N : 0), i + 1, T);
  r.desc(0, T, 16 * n, I);
  r.publish(0);
  assert.match(r.pop()!.error!, /more than 1024 buffers/);
  r.desc(0, T, 16 * 1024, I);
  r.desc(1023, 0x10000, 1, W, 0, T);
  r.publish(0);
  const ok = r.pop()!;
  assert.equal(ok.error, undefined);
  assert.equal(ok.writeCount, 1024);
});

test('a chain longer than 2^32 bytes in total is refused', () => {
  // Guest RAM this large is not possible here; a memory that claims every
  // address below 2^40 is valid lets the length check be reached.
  class Vast extends GuestMemory {
    override contains(addr: number, len: number): boolean {
      return Number.isSafeInteger(addr) && Number.isSafeInteger(len) && addr >= 0 && len >= 0 && addr + len <= 2 ** 40;
    }
  }
  const r = new Ring(8, { mem: new Vast(new Uint8Array(RAM)) });
  r.desc(0, 2 ** 33, 0xffffffff, W | N, 1);
  r.desc(1, 2 ** 34, 2, W);
  r.publish(0);
  assert.match(r.pop()!.error!, /longer than 2\^32 bytes/);
  r.desc(1, 2 ** 34, 1, W);
  r.publish(0);
  assert.equal(r.pop()!.error, undefined, 'exactly 2^32 bytes is allowed');
});

test('queue-level errors: a head beyond the queue is skipped; a runaway available index stops the queue', () => {
  const r = new Ring();
  r.desc(2, 0x11000, 4, W);
  r.publish(8, 2);
  const c = r.pop()!;
  assert.equal(c.head, 2, 'the bad entry was skipped');
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0], /queue 3: available ring names head 8/);

  r.mem.setU16(AVAIL + 2, r.availIdx + 9);
  assert.equal(r.pop(), undefined);
  assert.equal(r.q.broken, true);
  assert.match(r.errors[1], /available index moved from 2 to 11/);
  r.mem.setU16(AVAIL + 2, r.availIdx + 1);
  assert.equal(r.pop(), undefined, 'stays stopped until reset');
});

test('push: used elements, used idx, ring wrap and 16-bit index wrap', () => {
  const r = new Ring(4);
  r.q.push(3, 100);
  r.q.push(1, 0);
  assert.equal(r.mem.u16(USED + 2), 2);
  assert.deepEqual([r.mem.u32(USED + 4), r.mem.u32(USED + 8), r.mem.u32(USED + 12), r.mem.u32(USED + 16)], [3, 100, 1, 0]);
  r.q.loadState({ ...r.q.saveState(), usedIdx: 0xffff, lastAvail: 0xffff });
  r.q.push(2, 7);
  assert.equal(r.mem.u16(USED + 2), 0, 'idx wraps at 65536');
  assert.equal(r.mem.u32(USED + 4 + 8 * 3), 2, 'slot 0xffff % 4 = 3');
  // The available index wraps the same way.
  r.availIdx = 0xffff;
  r.desc(0, 0x11000, 4, W);
  r.publish(0);
  assert.equal(r.pop()!.head, 0);
  assert.equal(r.q.lastAvail, 0);
  // The device keeps its own used index: the guest moving it changes nothing.
  r.mem.setU16(USED + 2, 1234);
  r.q.push(1, 1);
  assert.equal(r.mem.u16(USED + 2), 1);
});

test('notifications without EVENT_IDX follow VIRTQ_AVAIL_F_NO_INTERRUPT; nothing pushed, nothing to say', () => {
  const r = new Ring(8, { eventIdx: false });
  assert.equal(r.q.needsNotification(), false);
  r.q.push(0, 1);
  assert.equal(r.q.needsNotification(), true);
  assert.equal(r.q.needsNotification(), false, 'each entry counts once');
  r.mem.setU16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
  r.q.push(0, 1);
  assert.equal(r.q.needsNotification(), false);
  r.mem.setU16(AVAIL, 0);
  r.q.push(0, 1);
  assert.equal(r.q.needsNotification(), true);
});

test('EVENT_IDX: interrupt exactly when an entry with index used_event is written (with wrap); avail_event published', () => {
  const r = new Ring(8, { eventIdx: true });
  const usedEvent = (v: number) => r.mem.setU16(AVAIL + 4 + 2 * 8, v);
  usedEvent(0);
  r.q.push(0, 0);
  assert.equal(r.q.needsNotification(), true, 'entry 0 written and used_event is 0');
  r.q.push(0, 0);
  assert.equal(r.q.needsNotification(), false);
  usedEvent(4);
  r.q.push(0, 0); // idx 3
  r.q.push(0, 0); // idx 4
  r.q.push(0, 0); // idx 5
  assert.equal(r.q.needsNotification(), true, 'entry 4 was among those written');
  r.mem.setU16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
  usedEvent(5);
  r.q.push(0, 0);
  assert.equal(r.q.needsNotification(), true, 'the flag is ignored with EVENT_IDX');
  // Across the 16-bit wrap.
  r.q.loadState({ ...r.q.saveState(), usedIdx: 0xfffe, signalledUsed: 0xfffe });
  usedEvent(0);
  r.q.push(0, 0); // 0xfffe
  assert.equal(r.q.needsNotification(), false);
  r.q.push(0, 0); // 0xffff
  r.q.push(0, 0); // 0
  assert.equal(r.q.needsNotification(), true);
  // avail_event follows the device's position in the available ring.
  r.desc(1, 0x11000, 4, W);
  r.publish(1, 1);
  r.pop();
  assert.equal(r.mem.u16(USED + 4 + 8 * 8), 1);
  r.pop();
  assert.equal(r.mem.u16(USED + 4 + 8 * 8), 2);
});

test('legacy layout from a page frame number', () => {
  const mem = new GuestMemory(new Uint8Array(RAM));
  const q = new VirtQueue(mem, 256);
  q.eventIdx = true;
  q.setLegacyPfn(0x20);
  assert.equal(q.ready, true);
  assert.equal(q.desc, 0x20000);
  assert.equal(q.avail, 0x20000 + 4096);
  assert.equal(q.used, 0x22000, 'avail ends at 0x21206: used on the next page');
  assert.equal(q.legacyPfn, 0x20);
  assert.equal(q.eventIdx, true, 'negotiated features survive the PFN write');
  q.setLegacyPfn(0);
  assert.equal(q.ready, false);
  assert.equal(q.legacyPfn, 0);
  const errors: string[] = [];
  q.onError = (m) => errors.push(m);
  q.setLegacyPfn(0xfffff);
  assert.equal(q.ready, false, 'rings outside RAM');
  assert.equal(errors.length, 1);
});

test('copyOut, copyIn and views walk buffers by offset; adjacent buffers share a view', () => {
  const mem = new GuestMemory(new Uint8Array(RAM));
  const c = new VirtChain();
  c.clear(0);
  c.add(0x1000, 4, false);
  c.add(0x2000, 4, false);
  c.add(0x3000, 3, true);
  c.add(0x3003, 5, true);
  c.add(0x5000, 2, true);
  mem.write(0x1000, Uint8Array.of(1, 2, 3, 4));
  mem.write(0x2000, Uint8Array.of(5, 6, 7, 8));
  const out = new Uint8Array(5);
  assert.equal(c.copyOut(mem, 2, out), 5);
  assert.deepEqual([...out], [3, 4, 5, 6, 7]);
  assert.equal(c.copyOut(mem, 7, out), 1);
  assert.equal(c.copyIn(mem, 1, Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9)), 9);
  assert.deepEqual([...mem.read(0x3000, 8)], [0, 9, 9, 9, 9, 9, 9, 9]);
  assert.deepEqual([...mem.read(0x5000, 2)], [9, 9]);
  const views: Uint8Array[] = [];
  assert.equal(c.views(mem, true, 1, 8, views), 8);
  assert.deepEqual(views.map((v) => [v.byteOffset, v.length]), [[0x3001, 7], [0x5000, 1]]);
  assert.equal(views[0].buffer, mem.ram.buffer, 'views of guest RAM, not copies');
  const rv: Uint8Array[] = [];
  assert.equal(c.views(mem, false, 0, 100, rv), 8, 'shorter than asked');
  assert.equal(rv.length, 2);
});

test('save and restore; a restored queue whose rings are not in RAM is broken', () => {
  const r = new Ring(8, { eventIdx: true });
  r.desc(0, 0x11000, 4, W);
  r.publish(0, 0);
  r.pop();
  r.q.push(0, 4);
  const s = JSON.parse(JSON.stringify(r.q.saveState()));
  const q2 = new VirtQueue(r.mem, 8, 3);
  q2.loadState(s);
  assert.deepEqual(q2.saveState(), s);
  assert.equal(q2.ready, true);
  assert.ok(q2.pop(new VirtChain()), 'carries on where it stopped');
  const q3 = new VirtQueue(r.mem, 8);
  q3.loadState({ ...s, used: RAM });
  assert.equal(q3.ready, false);
  assert.throws(() => q3.loadState({ ...s, lastAvail: -1 }));
});

test('fuzz: random rings never make the queue throw or name memory outside RAM', () => {
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const ram = new Uint8Array(64 * 1024);
  const mem = new GuestMemory(ram);
  for (let round = 0; round < 300; round++) {
    for (let i = 0; i < 0x3000; i++) ram[i] = rnd() * 256;
    // Bias descriptors toward plausible values so deep paths are reached.
    for (let i = 0; i < 64; i++) {
      const d = 16 * i;
      if (rnd() < 0.7) {
        const v = new DataView(ram.buffer);
        v.setUint32(d, rnd() < 0.8 ? Math.floor(rnd() * 0x10000) : 0xfffffff0, true);
        v.setUint32(d + 4, rnd() < 0.9 ? 0 : 0xffffffff, true);
        v.setUint32(d + 8, rnd() < 0.8 ? Math.floor(rnd() * 0x200) : Math.floor(rnd() * 2 ** 32), true);
        v.setUint16(d + 12, Math.floor(rnd() * 8), true);
        v.setUint16(d + 14, Math.floor(rnd() * 70), true);
      }
    }
    const q = new VirtQueue(mem, 64);
    q.onError = () => {};
    q.desc = 0;
    q.avail = 0x1000;
    q.used = 0x2000;
    q.indirect = rnd() < 0.8;
    q.eventIdx = rnd() < 0.5;
    q.size = 64;
    assert.ok(q.enable());
    const c = new VirtChain();
    for (let k = 0; k < 80 && q.pop(c); k++) {
      for (const b of [...c.readable.slice(0, c.readCount), ...c.writable.slice(0, c.writeCount)]) {
        assert.ok(mem.contains(b.addr, b.len));
      }
      q.push(c.head, Math.floor(rnd() * 100));
      q.needsNotification();
    }
  }
});
