// virtio-blk (VIRTIO 1.2 §5.2) over a BlockDevice: one request queue.
//
// A request is a chain: a 16-byte header {le32 type; le32 reserved; le64
// sector} in device-readable buffers, then data (device-readable for OUT,
// DISCARD and WRITE_ZEROES; device-writable for IN and GET_ID), then one
// device-writable status byte: the last byte of the chain. Any split of
// these across descriptors is accepted (VIRTIO_F_ANY_LAYOUT, implied by
// VERSION_1).
//
// Requests run concurrently and complete in whatever order the backend
// finishes them. IN reads straight into views of guest RAM and OUT writes
// straight from them (one backend call per run of RAM-contiguous buffers):
// no copy. The used length is the size of the chain's device-writable part
// (data + status), as QEMU reports; the status byte is its last byte.
//
// Requests:
//   IN / OUT      data a multiple of 512 bytes and inside the disk, else IOERR;
//                 OUT on a read-only disk: IOERR, nothing written (§5.2.6.2).
//   FLUSH (4; legacy FLUSH_OUT 5)  backend flush (nothing on a read-only disk).
//   GET_ID        the serial, NUL-padded to 20 bytes (cut to what fits).
//   DISCARD / WRITE_ZEROES  (only if negotiated, else UNSUPP) 16-byte segments
//                 {le64 sector; le32 num_sectors; le32 flags}, at most
//                 max_*_seg of them, each at most max_*_sectors and inside
//                 the disk (else IOERR, nothing done); unknown flags, or the
//                 unmap flag on DISCARD, give UNSUPP (§5.2.6.2). Read-only
//                 disk: IOERR. DISCARD calls the backend's discard (only
//                 offered when it has one); WRITE_ZEROES its writeZeroes, or
//                 writes zeros.
//   anything else UNSUPP.
//
// Malformed requests (the guest's fault), per VIRTIO 1.2 §2.1.2 and QEMU's
// behaviour, without stopping the device:
//   - a chain the virtqueue rejected (see VirtQueue), a header not in
//     device-readable buffers (e.g. a device-writable header), or a
//     too-short header: if the chain has a device-writable byte, the request
//     completes with IOERR written there (the last writable byte);
//   - no device-writable byte at all: there is nowhere to report the error,
//     so the chain is returned with used length 0 and the device sets
//     DEVICE_NEEDS_RESET (configuration interrupt); it keeps serving other
//     requests until the driver resets it.
//
// Reset: in-flight requests belong to the old generation; their completions
// are dropped (nothing pushed, no status written) and staleRequests() counts
// them so the transport can hold device_status ≠ 0 until their DMA is over.
//
// State: the in-flight requests' (queue, head) pairs. loadState re-reads
// those chains from the restored rings and submits them again (reads and
// writes are idempotent), so guest RAM must be restored before device state.
import type { BlockDevice } from '../../storage/BlockDevice.ts';
import { VirtChain } from './VirtQueue.ts';
import { featureBits, orFeatures, VIRTIO_F_ANY_LAYOUT, type VirtioDevice, type VirtioTransport } from './VirtioPci.ts';

export const VIRTIO_ID_BLOCK = 2;

// Feature bits (§5.2.3).
export const VIRTIO_BLK_F_SIZE_MAX = 1;
export const VIRTIO_BLK_F_SEG_MAX = 2;
export const VIRTIO_BLK_F_GEOMETRY = 4;
export const VIRTIO_BLK_F_RO = 5;
export const VIRTIO_BLK_F_BLK_SIZE = 6;
export const VIRTIO_BLK_F_FLUSH = 9;
export const VIRTIO_BLK_F_TOPOLOGY = 10;
export const VIRTIO_BLK_F_CONFIG_WCE = 11;
export const VIRTIO_BLK_F_MQ = 12;
export const VIRTIO_BLK_F_DISCARD = 13;
export const VIRTIO_BLK_F_WRITE_ZEROES = 14;

// Request types and status values (§5.2.6).
export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_FLUSH_OUT = 5;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_T_GET_LIFETIME = 10;
export const VIRTIO_BLK_T_DISCARD = 11;
export const VIRTIO_BLK_T_WRITE_ZEROES = 13;
export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;
export const VIRTIO_BLK_ID_BYTES = 20;
/** flags bit 0 of a discard / write-zeroes segment. */
export const VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP = 1;

// struct virtio_blk_config offsets (§5.2.4).
export const VIRTIO_BLK_CFG_CAPACITY = 0;
export const VIRTIO_BLK_CFG_SIZE_MAX = 8;
export const VIRTIO_BLK_CFG_SEG_MAX = 12;
export const VIRTIO_BLK_CFG_BLK_SIZE = 20;
export const VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS = 36;
export const VIRTIO_BLK_CFG_MAX_DISCARD_SEG = 40;
export const VIRTIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT = 44;
export const VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS = 48;
export const VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG = 52;
export const VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP = 56;
/** Through unused1[3]: the fields this device presents. */
export const VIRTIO_BLK_CONFIG_SIZE = 60;

const SECTOR = 512;
const HEADER = 16;
const SEGMENT = 16;
const TWO32 = 2 ** 32;
/** Largest request the block layer makes (QEMU's BDRV_REQUEST_MAX_SECTORS). */
const DEFAULT_MAX_SECTORS = 0x3fffff;
const ZERO_CHUNK = 64 * 1024;

export interface VirtioBlkOptions {
  disk: BlockDevice;
  /** GET_ID serial: ASCII, at most 20 bytes (longer is cut). Default empty. */
  serial?: string;
  /** Request queue size: a power of two ≤ 32768. Default 256. */
  queueSize?: number;
  /** Present the disk read-only even though the backend is writable. */
  readOnly?: boolean;
  /** Per segment (512-byte sectors). Default 0x3FFFFF. */
  maxDiscardSectors?: number;
  /** Default 32. */
  maxDiscardSegments?: number;
  /** Per segment (512-byte sectors). Default 0x3FFFFF. */
  maxWriteZeroesSectors?: number;
  /** Default 1 (what Linux sends). */
  maxWriteZeroesSegments?: number;
}

export interface VirtioBlkState {
  /** In-flight requests as [queue, head] pairs. */
  inflight: [number, number][];
}

class BlkRequest {
  readonly chain = new VirtChain();
  readonly views: Uint8Array[] = [];
  queue = 0;
  epoch = 0;
  statusAddr = -1;
}

interface Segment {
  offset: number;
  length: number;
}

export class VirtioBlk implements VirtioDevice {
  readonly name = 'blk';
  readonly deviceType = VIRTIO_ID_BLOCK;
  /** Mass storage, SCSI controller (as QEMU presents virtio-blk). */
  readonly pciClass = 0x010000;
  readonly numQueues = 1;
  readonly configSize = VIRTIO_BLK_CONFIG_SIZE;
  readonly features: number;
  readonly disk: BlockDevice;
  readonly readOnly: boolean;
  /** Capacity in 512-byte sectors. */
  readonly capacity: number;

  private readonly queueSize: number;
  private readonly maxDiscardSectors: number;
  private readonly maxDiscardSegments: number;
  private readonly maxWriteZeroesSectors: number;
  private readonly maxWriteZeroesSegments: number;
  private readonly serial = new Uint8Array(VIRTIO_BLK_ID_BYTES);
  private readonly cfg = new Uint8Array(VIRTIO_BLK_CONFIG_SIZE);
  private t!: VirtioTransport;

  /** Bumped by reset: completions of another generation are dropped. */
  private epoch = 0;
  private stale = 0;
  private readonly active = new Set<BlkRequest>();
  private readonly pool: BlkRequest[] = [];
  private readonly header = new Uint8Array(HEADER);
  private readonly headerView = new DataView(this.header.buffer);
  private readonly segment = new Uint8Array(SEGMENT);
  private readonly segmentView = new DataView(this.segment.buffer);
  private zeros: Uint8Array | undefined;

  constructor(opts: VirtioBlkOptions) {
    const disk = opts.disk;
    this.disk = disk;
    this.readOnly = !!opts.readOnly || disk.readOnly;
    this.capacity = Math.floor(disk.size / SECTOR);
    this.queueSize = opts.queueSize ?? 256;
    const limit = (v: number | undefined, dflt: number, name: string): number => {
      const x = v ?? dflt;
      if (!Number.isInteger(x) || x < 1 || x > 0xffffffff) throw new RangeError(`virtio-blk: ${name} ${x} is not 1..2^32-1`);
      return x;
    };
    this.maxDiscardSectors = limit(opts.maxDiscardSectors, DEFAULT_MAX_SECTORS, 'maxDiscardSectors');
    this.maxDiscardSegments = limit(opts.maxDiscardSegments, 32, 'maxDiscardSegments');
    this.maxWriteZeroesSectors = limit(opts.maxWriteZeroesSectors, DEFAULT_MAX_SECTORS, 'maxWriteZeroesSectors');
    this.maxWriteZeroesSegments = limit(opts.maxWriteZeroesSegments, 1, 'maxWriteZeroesSegments');
    const serial = opts.serial ?? '';
    for (let i = 0; i < serial.length && i < VIRTIO_BLK_ID_BYTES; i++) this.serial[i] = serial.charCodeAt(i) & 0x7f;

    let f = featureBits(VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_F_ANY_LAYOUT);
    if (this.readOnly) f = orFeatures(f, featureBits(VIRTIO_BLK_F_RO));
    else {
      f = orFeatures(f, featureBits(VIRTIO_BLK_F_WRITE_ZEROES));
      if (disk.discard) f = orFeatures(f, featureBits(VIRTIO_BLK_F_DISCARD));
    }
    this.features = f;

    const c = new DataView(this.cfg.buffer);
    c.setUint32(VIRTIO_BLK_CFG_CAPACITY, this.capacity % TWO32, true);
    c.setUint32(VIRTIO_BLK_CFG_CAPACITY + 4, Math.floor(this.capacity / TWO32), true);
    c.setUint32(VIRTIO_BLK_CFG_SEG_MAX, Math.max(1, this.queueSize - 2), true);
    c.setUint32(VIRTIO_BLK_CFG_BLK_SIZE, SECTOR, true);
    c.setUint32(VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, this.maxDiscardSectors, true);
    c.setUint32(VIRTIO_BLK_CFG_MAX_DISCARD_SEG, this.maxDiscardSegments, true);
    c.setUint32(VIRTIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT, 1, true);
    c.setUint32(VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS, this.maxWriteZeroesSectors, true);
    c.setUint32(VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG, this.maxWriteZeroesSegments, true);
    c.setUint8(VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP, disk.writeZeroes ? 1 : 0);
  }

  // --- VirtioDevice ---------------------------------------------------------------

  attach(transport: VirtioTransport): void {
    this.t = transport;
  }

  queueMaxSize(): number {
    return this.queueSize;
  }

  configRead(offset: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) {
      const o = offset + i;
      v = (v << 8) | (o >= 0 && o < this.cfg.length ? this.cfg[o] : 0);
    }
    return v >>> 0;
  }

  /** Nothing is writable (no VIRTIO_BLK_F_CONFIG_WCE). */
  configWrite(): void {}

  onNotify(index: number): void {
    const vq = this.t.queues[index];
    for (;;) {
      const req = this.pool.pop() ?? new BlkRequest();
      if (!vq.pop(req.chain)) {
        this.pool.push(req);
        return;
      }
      this.begin(req, index);
    }
  }

  reset(): void {
    this.epoch++;
    this.stale += this.active.size;
    this.active.clear();
  }

  staleRequests(): number {
    return this.stale;
  }

  /** Requests being served now (tests, diagnostics). */
  get inFlight(): number {
    return this.active.size;
  }

  saveState(): VirtioBlkState {
    return { inflight: [...this.active].map((r) => [r.queue, r.chain.head]) };
  }

  loadState(state: VirtioBlkState): void {
    this.reset();
    const list = state?.inflight;
    if (!Array.isArray(list)) throw new Error('virtio-blk: bad saved state');
    if (!this.t.driverOk) return;
    for (const entry of list) {
      if (!Array.isArray(entry)) continue;
      const [q, head] = entry;
      const vq = this.t.queues[q];
      if (!vq || !vq.ready || !Number.isInteger(head) || head < 0 || head >= vq.size) continue;
      const req = this.pool.pop() ?? new BlkRequest();
      vq.readChain(head, req.chain);
      this.begin(req, q);
    }
  }

  // --- requests ---------------------------------------------------------------------

  private begin(req: BlkRequest, queue: number): void {
    req.queue = queue;
    req.epoch = this.epoch;
    this.active.add(req);
    try {
      this.dispatch(req);
    } catch (e) {
      // Not reachable by guest input (every access was checked): fail this request only.
      if (this.active.has(req)) this.malformed(req, `request ${req.chain.head}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private dispatch(req: BlkRequest): void {
    const c = req.chain;
    const mem = this.t.mem;
    req.statusAddr = c.lastWritableByte();
    if (c.error) return this.malformed(req, c.error);
    if (req.statusAddr < 0) return this.malformed(req, `request ${c.head} has no device-writable status byte`);
    if (c.readLength < HEADER) return this.malformed(req, `request ${c.head}: header is not in device-readable buffers`);
    c.copyOut(mem, 0, this.header);
    const h = this.headerView;
    const type = h.getUint32(0, true);
    const sector = h.getUint32(8, true) + h.getUint32(12, true) * TWO32;
    switch (type) {
      case VIRTIO_BLK_T_IN: {
        const len = c.writeLength - 1;
        if (!this.rangeOk(sector, len)) return this.complete(req, VIRTIO_BLK_S_IOERR);
        req.views.length = 0;
        c.views(mem, true, 0, len, req.views);
        return this.io(req, () => this.each(req.views, sector * SECTOR, (off, v) => this.disk.read(off, v)));
      }
      case VIRTIO_BLK_T_OUT: {
        const len = c.readLength - HEADER;
        if (this.readOnly || !this.rangeOk(sector, len)) return this.complete(req, VIRTIO_BLK_S_IOERR);
        req.views.length = 0;
        c.views(mem, false, HEADER, len, req.views);
        return this.io(req, () => this.each(req.views, sector * SECTOR, (off, v) => this.disk.write(off, v)));
      }
      case VIRTIO_BLK_T_FLUSH:
      case VIRTIO_BLK_T_FLUSH_OUT:
        if (this.readOnly) return this.complete(req, VIRTIO_BLK_S_OK);
        return this.io(req, () => this.disk.flush());
      case VIRTIO_BLK_T_GET_ID:
        c.copyIn(mem, 0, this.serial.subarray(0, Math.min(VIRTIO_BLK_ID_BYTES, c.writeLength - 1)));
        return this.complete(req, VIRTIO_BLK_S_OK);
      case VIRTIO_BLK_T_DISCARD:
      case VIRTIO_BLK_T_WRITE_ZEROES:
        return this.discardOrZero(req, type === VIRTIO_BLK_T_DISCARD);
      default:
        return this.complete(req, VIRTIO_BLK_S_UNSUPP);
    }
  }

  /** Whether `bytes` at `sector` are a whole number of sectors inside the disk. */
  private rangeOk(sector: number, bytes: number): boolean {
    return bytes >= 0 && bytes % SECTOR === 0 && sector <= this.capacity && sector + bytes / SECTOR <= this.capacity;
  }

  /** Runs `op` on consecutive disk ranges, one per view, concurrently. */
  private each(views: Uint8Array[], offset: number, op: (off: number, v: Uint8Array) => Promise<void>): Promise<unknown> {
    if (views.length === 1) return op(offset, views[0]);
    const ops: Promise<void>[] = [];
    for (const v of views) {
      ops.push(op(offset, v));
      offset += v.length;
    }
    return Promise.all(ops);
  }

  private discardOrZero(req: BlkRequest, discard: boolean): void {
    const c = req.chain;
    const feature = discard ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES;
    if (!this.t.hasFeature(feature)) return this.complete(req, VIRTIO_BLK_S_UNSUPP);
    const bytes = c.readLength - HEADER;
    const count = bytes / SEGMENT;
    const maxSegs = discard ? this.maxDiscardSegments : this.maxWriteZeroesSegments;
    const maxSectors = discard ? this.maxDiscardSectors : this.maxWriteZeroesSectors;
    if (bytes <= 0 || bytes % SEGMENT !== 0 || count > maxSegs) return this.complete(req, VIRTIO_BLK_S_IOERR);
    const segs: Segment[] = [];
    let status = VIRTIO_BLK_S_OK;
    const s = this.segmentView;
    for (let i = 0; i < count; i++) {
      c.copyOut(this.t.mem, HEADER + SEGMENT * i, this.segment);
      const sector = s.getUint32(0, true) + s.getUint32(4, true) * TWO32;
      const num = s.getUint32(8, true);
      const flags = s.getUint32(12, true);
      if (flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP || (discard && flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)) {
        return this.complete(req, VIRTIO_BLK_S_UNSUPP);
      }
      if (num > maxSectors || !this.rangeOk(sector, num * SECTOR)) status = VIRTIO_BLK_S_IOERR;
      segs.push({ offset: sector * SECTOR, length: num * SECTOR });
    }
    if (status !== VIRTIO_BLK_S_OK || this.readOnly) return this.complete(req, VIRTIO_BLK_S_IOERR);
    const disk = this.disk;
    this.io(req, () =>
      Promise.all(
        segs.map((g) => {
          if (g.length === 0) return undefined;
          if (discard) return disk.discard?.(g.offset, g.length);
          return disk.writeZeroes ? disk.writeZeroes(g.offset, g.length) : this.writeZeros(g.offset, g.length);
        }),
      ),
    );
  }

  /** WRITE_ZEROES on a backend without writeZeroes. */
  private async writeZeros(offset: number, length: number): Promise<void> {
    const z = (this.zeros ??= new Uint8Array(ZERO_CHUNK));
    for (let done = 0; done < length; done += ZERO_CHUNK) {
      const n = Math.min(ZERO_CHUNK, length - done);
      await this.disk.write(offset + done, n === ZERO_CHUNK ? z : z.subarray(0, n));
    }
  }

  /** Starts backend I/O for `req`; its settlement completes the request. */
  private io(req: BlkRequest, op: () => Promise<unknown>): void {
    let p: Promise<unknown>;
    try {
      p = op();
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      () => this.complete(req, VIRTIO_BLK_S_OK),
      (e: unknown) => {
        if (req.epoch === this.epoch) this.t.reportError(`request ${req.chain.head}: ${e instanceof Error ? e.message : String(e)}`);
        this.complete(req, VIRTIO_BLK_S_IOERR);
      },
    );
  }

  private malformed(req: BlkRequest, message: string): void {
    if (req.statusAddr >= 0) {
      this.t.reportError(message);
      return this.complete(req, VIRTIO_BLK_S_IOERR);
    }
    this.t.needsReset(message);
    this.finish(req, 0);
  }

  /** Writes the status byte and returns the chain. */
  private complete(req: BlkRequest, status: number): void {
    if (req.epoch !== this.epoch) return this.release(req);
    try {
      this.t.mem.setU8(req.statusAddr, status);
    } catch {
      // Unreachable: the status byte was checked to be in RAM.
    }
    this.finish(req, req.chain.writeLength);
  }

  private finish(req: BlkRequest, usedLen: number): void {
    if (req.epoch !== this.epoch) return this.release(req);
    this.active.delete(req);
    this.t.queues[req.queue].push(req.chain.head, usedLen);
    this.t.notifyUsed(req.queue);
    this.pool.push(req);
  }

  private release(req: BlkRequest): void {
    if (this.stale > 0) this.stale--;
    this.pool.push(req);
  }
}
