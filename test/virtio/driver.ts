// A small virtio driver for tests: it drives a VirtioPci the way a guest
// does, through PCI configuration cycles, the modern capabilities in the
// memory BAR (or the legacy I/O BAR), and split virtqueues it lays out in a
// plain Uint8Array of "guest RAM". Also a memory BlockDevice whose
// operations can be held and completed in any order.
import assert from 'node:assert/strict';
import { GuestMemory } from '../../src/vmm/GuestMemory.ts';
import { MmioBus } from '../../src/vmm/MmioBus.ts';
import { PortBus } from '../../src/vmm/PortBus.ts';
import type { PciBus } from '../../src/devices/pci/PciDevice.ts';
import { checkRange, StorageError, type BlockDevice } from '../../src/storage/BlockDevice.ts';
import {
  COMMON_DF,
  COMMON_DFSELECT,
  COMMON_GF,
  COMMON_GFSELECT,
  COMMON_Q_AVAILHI,
  COMMON_Q_AVAILLO,
  COMMON_Q_DESCHI,
  COMMON_Q_DESCLO,
  COMMON_Q_ENABLE,
  COMMON_Q_NOFF,
  COMMON_Q_SELECT,
  COMMON_Q_SIZE,
  COMMON_Q_USEDHI,
  COMMON_Q_USEDLO,
  COMMON_STATUS,
  VIRTIO_PCI_CAP_COMMON_CFG,
  VIRTIO_PCI_CAP_DEVICE_CFG,
  VIRTIO_PCI_CAP_ISR_CFG,
  VIRTIO_PCI_CAP_NOTIFY_CFG,
  VIRTIO_PCI_GUEST_FEATURES,
  VIRTIO_PCI_HOST_FEATURES,
  VIRTIO_PCI_ISR,
  VIRTIO_PCI_QUEUE_NOTIFY,
  VIRTIO_PCI_QUEUE_NUM,
  VIRTIO_PCI_QUEUE_PFN,
  VIRTIO_PCI_QUEUE_SEL,
  VIRTIO_PCI_STATUS,
  VIRTIO_STATUS_ACKNOWLEDGE,
  VIRTIO_STATUS_DRIVER,
  VIRTIO_STATUS_DRIVER_OK,
  VIRTIO_STATUS_FEATURES_OK,
  VirtioPci,
  type VirtioDevice,
} from '../../src/devices/virtio/VirtioPci.ts';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../src/devices/virtio/VirtQueue.ts';

export const RAM_SIZE = 4 << 20;
export const IO_BASE = 0xc000;
export const MMIO_BASE = 0xfe000000;
export const SLOT = 4;
const TWO32 = 2 ** 32;

/** Whether two byte arrays are equal (fast, for megabytes of RAM or disk). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Lets pending promise callbacks (and setImmediate-scheduled work) run. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

// --- a memory disk ----------------------------------------------------------------

interface HeldOp {
  kind: string;
  offset: number;
  length: number;
  run: () => void;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export interface MemoryDiskOptions {
  readOnly?: boolean;
  discard?: boolean;
  writeZeroes?: boolean;
}

/**
 * A BlockDevice in memory. Data moves when an operation completes (as with
 * an asynchronous backend that fills the caller's buffer later). With `hold`
 * set, operations wait in `held` until complete(i) runs them.
 */
export class MemoryDisk implements BlockDevice {
  readonly data: Uint8Array;
  readonly readOnly: boolean;
  hold = false;
  readonly held: HeldOp[] = [];
  /** Every operation as "kind offset length", in submission order. */
  readonly log: string[] = [];
  flushes = 0;
  /** Makes the operation fail (reject) when it returns true. */
  fail: ((kind: string, offset: number, length: number) => boolean) | undefined;
  discard?: (offset: number, length: number) => Promise<void>;
  writeZeroes?: (offset: number, length: number) => Promise<void>;

  constructor(size: number, opts: MemoryDiskOptions = {}) {
    this.data = new Uint8Array(size);
    this.readOnly = !!opts.readOnly;
    if (opts.discard !== false) {
      this.discard = (offset, length) => this.op('discard', offset, length, true, () => this.data.fill(0xdd, offset, offset + length));
    }
    if (opts.writeZeroes !== false) {
      this.writeZeroes = (offset, length) => this.op('zero', offset, length, true, () => this.data.fill(0, offset, offset + length));
    }
  }

  get size(): number {
    return this.data.length;
  }

  read(offset: number, into: Uint8Array): Promise<void> {
    return this.op('read', offset, into.length, false, () => into.set(this.data.subarray(offset, offset + into.length)));
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    return this.op('write', offset, data.length, true, () => this.data.set(data, offset));
  }

  flush(): Promise<void> {
    return this.op('flush', 0, 0, false, () => this.flushes++);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private op(kind: string, offset: number, length: number, write: boolean, run: () => void): Promise<void> {
    this.log.push(`${kind} ${offset} ${length}`);
    return new Promise<void>((resolve, reject) => {
      const go: HeldOp = {
        kind,
        offset,
        length,
        resolve,
        reject,
        run: () => {
          try {
            if (kind !== 'flush') checkRange(this, offset, length, write);
            if (this.fail?.(kind, offset, length)) throw new StorageError(`injected ${kind} failure`);
            run();
            resolve();
          } catch (e) {
            reject(e);
          }
        },
      };
      if (this.hold) this.held.push(go);
      else queueMicrotask(go.run);
    });
  }

  /** Runs held operation `i` (in held order). */
  complete(i: number): void {
    const [op] = this.held.splice(i, 1);
    assert.ok(op, `no held operation ${i}`);
    op.run();
  }

  completeAll(): void {
    while (this.held.length) this.complete(0);
  }
}

// --- the PCI side -------------------------------------------------------------------

export interface CapInfo {
  offset: number;
  type: number;
  bar: number;
  barOffset: number;
  length: number;
  extra: number;
}

export class Env {
  readonly ram = new Uint8Array(RAM_SIZE);
  readonly mem = new GuestMemory(this.ram);
  readonly ports = new PortBus();
  readonly mmio = new MmioBus();
  readonly pci: VirtioPci;
  /** INTx level as the bus sees it, and every change. */
  intx = false;
  readonly intxLog: boolean[] = [];
  readonly errors: string[] = [];

  constructor(readonly device: VirtioDevice) {
    this.pci = new VirtioPci({ device, mem: this.mem, onError: (m) => this.errors.push(m) });
    const bus: PciBus = {
      ports: this.ports,
      mmio: this.mmio,
      setIntx: (_devfn, _pin, level) => {
        this.intx = level;
        this.intxLog.push(level);
      },
      devices: () => [this.pci],
    };
    this.pci.attach(bus, SLOT << 3);
    if (this.pci.transitional) this.cfgWrite(0x10, IO_BASE);
    this.cfgWrite(0x20, MMIO_BASE);
    this.cfgWrite(0x04, 0x0007, 2);
  }

  cfgRead(off: number, size: 1 | 2 | 4 = 4): number {
    return this.pci.configRead(off, size) >>> 0;
  }

  cfgWrite(off: number, value: number, size: 1 | 2 | 4 = 4): void {
    this.pci.configWrite(off, size, value >>> 0);
  }

  /** The vendor capabilities, walking the list from 0x34 as a driver does. */
  caps(): CapInfo[] {
    const out: CapInfo[] = [];
    let p = this.cfgRead(0x34, 1);
    while (p !== 0 && out.length < 48) {
      if (this.cfgRead(p, 1) === 0x09) {
        out.push({
          offset: p,
          type: this.cfgRead(p + 3, 1),
          bar: this.cfgRead(p + 4, 1),
          barOffset: this.cfgRead(p + 8),
          length: this.cfgRead(p + 12),
          extra: this.cfgRead(p + 16),
        });
      }
      p = this.cfgRead(p + 1, 1);
    }
    return out;
  }

  /** Bytes outside `allowed` ranges that differ from `before` (the canary check). */
  changedOutside(before: Uint8Array, allowed: [number, number][]): number[] {
    const bad: number[] = [];
    const now32 = new Uint32Array(this.ram.buffer, this.ram.byteOffset, this.ram.length >> 2);
    const was32 = new Uint32Array(before.buffer, before.byteOffset, before.length >> 2);
    for (let w = 0; w < now32.length; w++) {
      if (now32[w] === was32[w]) continue;
      for (let i = 4 * w; i < 4 * w + 4; i++) {
        if (this.ram[i] === before[i] || allowed.some(([a, n]) => i >= a && i < a + n)) continue;
        bad.push(i);
      }
      if (bad.length > 8) break;
    }
    return bad;
  }
}

// --- the driver ---------------------------------------------------------------------

export interface Buf {
  addr: number;
  len: number;
  write?: boolean;
}

export interface UsedEntry {
  id: number;
  len: number;
}

/** The driver's side of one split queue. */
export class DriverQueue {
  nextAvail = 0;
  lastUsed = 0;
  private free: number[];
  private readonly chains = new Map<number, number[]>();

  constructor(
    readonly drv: Driver,
    readonly index: number,
    readonly size: number,
    readonly desc: number,
    readonly avail: number,
    readonly used: number,
  ) {
    this.free = Array.from({ length: size }, (_, i) => i);
  }

  get mem(): GuestMemory {
    return this.drv.env.mem;
  }

  /** Writes descriptor `i` of the table at `table` (default: this queue's). */
  writeDesc(i: number, addr: number, len: number, flags: number, next: number, table = this.desc): void {
    const d = table + 16 * i;
    this.mem.setU32(d, addr % TWO32);
    this.mem.setU32(d + 4, Math.floor(addr / TWO32));
    this.mem.setU32(d + 8, len);
    this.mem.setU16(d + 12, flags);
    this.mem.setU16(d + 14, next);
  }

  /** Builds a chain of direct descriptors (or one indirect descriptor pointing at a table at `indirectTable`). */
  add(bufs: Buf[], opts: { indirectTable?: number } = {}): number {
    let ids: number[];
    if (opts.indirectTable !== undefined) {
      const t = opts.indirectTable;
      bufs.forEach((b, i) => this.writeDesc(i, b.addr, b.len, (b.write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < bufs.length ? VIRTQ_DESC_F_NEXT : 0), i + 1, t));
      ids = this.take(1);
      this.writeDesc(ids[0], t, 16 * bufs.length, VIRTQ_DESC_F_INDIRECT, 0);
    } else {
      ids = this.take(bufs.length);
      bufs.forEach((b, i) =>
        this.writeDesc(ids[i], b.addr, b.len, (b.write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < bufs.length ? VIRTQ_DESC_F_NEXT : 0), ids[i + 1] ?? 0),
      );
    }
    this.chains.set(ids[0], ids);
    this.publish(ids[0]);
    return ids[0];
  }

  /** Takes `n` free descriptor indices (for hand-built chains). */
  take(n: number): number[] {
    assert.ok(this.free.length >= n, 'out of descriptors');
    return this.free.splice(0, n);
  }

  /** Puts `head` on the available ring (no notification). */
  publish(head: number): void {
    this.mem.setU16(this.avail + 4 + 2 * (this.nextAvail % this.size), head);
    this.nextAvail = (this.nextAvail + 1) & 0xffff;
    this.mem.setU16(this.avail + 2, this.nextAvail);
  }

  kick(): void {
    this.drv.notify(this.index);
  }

  get usedIdx(): number {
    return this.mem.u16(this.used + 2);
  }

  entry(i: number): UsedEntry {
    const e = this.used + 4 + 8 * (i % this.size);
    return { id: this.mem.u32(e), len: this.mem.u32(e + 4) };
  }

  /** New used entries since the last call; their descriptors become free again. */
  collect(): UsedEntry[] {
    const out: UsedEntry[] = [];
    while (this.lastUsed !== this.usedIdx) {
      const e = this.entry(this.lastUsed);
      out.push(e);
      const ids = this.chains.get(e.id);
      if (ids) {
        this.free.push(...ids);
        this.chains.delete(e.id);
      }
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
    }
    return out;
  }

  set availFlags(v: number) {
    this.mem.setU16(this.avail, v);
  }

  /** used_event (VIRTIO_F_EVENT_IDX). */
  set usedEvent(v: number) {
    this.mem.setU16(this.avail + 4 + 2 * this.size, v);
  }

  /** avail_event as the device wrote it. */
  get availEvent(): number {
    return this.mem.u16(this.used + 4 + 8 * this.size);
  }

  /** Byte ranges the device may write for this queue: the used ring. */
  get deviceArea(): [number, number] {
    return [this.used, 6 + 8 * this.size];
  }
}

export interface InitOptions {
  /** Picks the features to accept from those offered (default: all). */
  accept?: (offered: number) => number;
  queueSize?: number;
  /** Do not set DRIVER_OK. */
  noDriverOk?: boolean;
}

export class Driver {
  readonly common: number;
  readonly isr: number;
  readonly devcfg: number;
  readonly notifyBase: number;
  readonly notifyMul: number;
  legacy = false;
  readonly queues: DriverQueue[] = [];
  /** Next free byte for buffers. */
  private heap = 0x100000;

  constructor(readonly env: Env) {
    const caps = env.caps();
    const find = (type: number): CapInfo => {
      const c = caps.find((x) => x.type === type);
      assert.ok(c, `capability type ${type}`);
      assert.equal(c.bar, 4);
      return c;
    };
    this.common = MMIO_BASE + find(VIRTIO_PCI_CAP_COMMON_CFG).barOffset;
    this.isr = MMIO_BASE + find(VIRTIO_PCI_CAP_ISR_CFG).barOffset;
    const dev = caps.find((x) => x.type === VIRTIO_PCI_CAP_DEVICE_CFG);
    this.devcfg = dev ? MMIO_BASE + dev.barOffset : -1;
    const n = find(VIRTIO_PCI_CAP_NOTIFY_CFG);
    this.notifyBase = MMIO_BASE + n.barOffset;
    this.notifyMul = n.extra;
  }

  get mem(): GuestMemory {
    return this.env.mem;
  }

  // MMIO accessors
  r(addr: number, size: 1 | 2 | 4 | 8 = 4): number {
    return Number(this.env.mmio.read(addr, size));
  }
  w(addr: number, value: number, size: 1 | 2 | 4 | 8 = 4): void {
    this.env.mmio.write(addr, size, BigInt(value));
  }
  cr(off: number, size: 1 | 2 | 4 = 4): number {
    return this.r(this.common + off, size);
  }
  cw(off: number, value: number, size: 1 | 2 | 4 = 4): void {
    this.w(this.common + off, value, size);
  }
  // legacy port accessors
  pr(off: number, size: 1 | 2 | 4): number {
    return this.env.ports.read(IO_BASE + off, size);
  }
  pw(off: number, value: number, size: 1 | 2 | 4): void {
    this.env.ports.write(IO_BASE + off, size, value);
  }

  get status(): number {
    return this.legacy ? this.pr(VIRTIO_PCI_STATUS, 1) : this.cr(COMMON_STATUS, 1);
  }
  set status(v: number) {
    if (this.legacy) this.pw(VIRTIO_PCI_STATUS, v, 1);
    else this.cw(COMMON_STATUS, v, 1);
  }

  readIsr(): number {
    return this.legacy ? this.pr(VIRTIO_PCI_ISR, 1) : this.r(this.isr, 1);
  }

  configRead(off: number, size: 1 | 2 | 4): number {
    return this.legacy ? this.pr(20 + off, size) : this.r(this.devcfg + off, size);
  }

  offeredFeatures(): number {
    this.cw(COMMON_DFSELECT, 0);
    const lo = this.cr(COMMON_DF);
    this.cw(COMMON_DFSELECT, 1);
    return lo + this.cr(COMMON_DF) * TWO32;
  }

  writeFeatures(f: number): void {
    this.cw(COMMON_GFSELECT, 0);
    this.cw(COMMON_GF, f % TWO32);
    this.cw(COMMON_GFSELECT, 1);
    this.cw(COMMON_GF, Math.floor(f / TWO32));
  }

  acceptedFeatures(): number {
    this.cw(COMMON_GFSELECT, 0);
    const lo = this.cr(COMMON_GF);
    this.cw(COMMON_GFSELECT, 1);
    return lo + this.cr(COMMON_GF) * TWO32;
  }

  /** Bump-allocates `len` bytes of RAM (aligned). */
  alloc(len: number, align = 16): number {
    this.heap = Math.ceil(this.heap / align) * align;
    const a = this.heap;
    this.heap += len;
    assert.ok(this.heap <= RAM_SIZE, 'test RAM exhausted');
    return a;
  }

  /** Modern initialisation (§3.1.1); returns the accepted features. */
  init(opts: InitOptions = {}): number {
    this.legacy = false;
    this.status = 0;
    assert.equal(this.status, 0);
    this.status = VIRTIO_STATUS_ACKNOWLEDGE;
    this.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
    const offered = this.offeredFeatures();
    const accept = opts.accept ? opts.accept(offered) : offered;
    this.writeFeatures(accept);
    this.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    assert.ok(this.status & VIRTIO_STATUS_FEATURES_OK, 'FEATURES_OK accepted');
    this.queues.length = 0;
    const numq = this.cr(0x12, 2);
    for (let i = 0; i < numq; i++) {
      this.cw(COMMON_Q_SELECT, i, 2);
      const max = this.cr(COMMON_Q_SIZE, 2);
      const size = Math.min(max, opts.queueSize ?? max);
      this.cw(COMMON_Q_SIZE, size, 2);
      const desc = this.alloc(16 * size, 4096);
      const avail = this.alloc(6 + 2 * size, 4096);
      const used = this.alloc(6 + 8 * size, 4096);
      this.cw(COMMON_Q_DESCLO, desc);
      this.cw(COMMON_Q_DESCHI, 0);
      this.cw(COMMON_Q_AVAILLO, avail);
      this.cw(COMMON_Q_AVAILHI, 0);
      this.cw(COMMON_Q_USEDLO, used);
      this.cw(COMMON_Q_USEDHI, 0);
      this.cw(COMMON_Q_ENABLE, 1, 2);
      assert.equal(this.cr(COMMON_Q_NOFF, 2), i);
      this.queues.push(new DriverQueue(this, i, size, desc, avail, used));
    }
    if (!opts.noDriverOk) this.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
    return accept;
  }

  /** Legacy initialisation through the I/O BAR (virtio 0.9.5): fixed queue size, PFN. */
  initLegacy(accept?: (offered: number) => number): number {
    this.legacy = true;
    this.status = 0;
    this.status = VIRTIO_STATUS_ACKNOWLEDGE;
    this.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
    const offered = this.pr(VIRTIO_PCI_HOST_FEATURES, 4);
    const f = accept ? accept(offered) : offered;
    this.pw(VIRTIO_PCI_GUEST_FEATURES, f, 4);
    this.queues.length = 0;
    for (let i = 0; ; i++) {
      this.pw(VIRTIO_PCI_QUEUE_SEL, i, 2);
      const size = this.pr(VIRTIO_PCI_QUEUE_NUM, 2);
      if (size === 0) break;
      const bytes = Math.ceil((16 * size + 6 + 2 * size) / 4096) * 4096 + 6 + 8 * size;
      const base = this.alloc(bytes, 4096);
      this.pw(VIRTIO_PCI_QUEUE_PFN, base / 4096, 4);
      const avail = base + 16 * size;
      const used = Math.ceil((avail + 6 + 2 * size) / 4096) * 4096;
      this.queues.push(new DriverQueue(this, i, size, base, avail, used));
    }
    this.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK;
    return f;
  }

  notify(q: number): void {
    if (this.legacy) this.pw(VIRTIO_PCI_QUEUE_NOTIFY, q, 2);
    else this.w(this.notifyBase + q * this.notifyMul, q, 2);
  }
}

// --- virtio-blk requests ---------------------------------------------------------------

export interface BlkReq {
  head: number;
  header: number;
  data: number;
  dataLen: number;
  status: number;
}

export interface BlkSubmitOptions {
  /** OUT / DISCARD / WRITE_ZEROES payload (device-readable). */
  out?: Uint8Array;
  /** Bytes of device-writable data (IN, GET_ID). */
  inLen?: number;
  /** Split the data into pieces of this many bytes (several descriptors). */
  split?: number;
  indirect?: boolean;
  /** Don't notify the device. */
  noKick?: boolean;
}

/** Builds and submits a virtio-blk request on `q`: header, data, status in separate descriptors. */
export function blkSubmit(q: DriverQueue, type: number, sector: number, opts: BlkSubmitOptions = {}): BlkReq {
  const drv = q.drv;
  const mem = drv.mem;
  const header = drv.alloc(16);
  mem.setU32(header, type);
  mem.setU32(header + 4, 0);
  mem.setU32(header + 8, sector % TWO32);
  mem.setU32(header + 12, Math.floor(sector / TWO32));
  const bufs: Buf[] = [{ addr: header, len: 16 }];
  const dataLen = opts.out ? opts.out.length : (opts.inLen ?? 0);
  const data = dataLen ? drv.alloc(dataLen, 512) : 0;
  if (opts.out) mem.write(data, opts.out);
  else if (dataLen) mem.fill(data, dataLen, 0xee);
  const piece = opts.split ?? (dataLen || 1);
  for (let off = 0; off < dataLen; off += piece) {
    bufs.push({ addr: data + off, len: Math.min(piece, dataLen - off), write: !opts.out });
  }
  const status = drv.alloc(1, 1);
  mem.setU8(status, 0xff);
  bufs.push({ addr: status, len: 1, write: true });
  const head = q.add(bufs, opts.indirect ? { indirectTable: drv.alloc(16 * bufs.length) } : {});
  if (!opts.noKick) q.kick();
  return { head, header, data, dataLen, status };
}

/** A sector-sized pattern: byte i of sector s is (s * 7 + i) & 0xff. */
export function pattern(bytes: number, firstSector = 0, seed = 0): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = ((firstSector + Math.floor(i / 512)) * 7 + (i % 512) + seed) & 0xff;
  return out;
}
