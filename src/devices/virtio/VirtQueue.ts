// A split virtqueue (VIRTIO 1.2 §2.7), the device side, shared by every
// virtio device model.
//
// Memory layout (all little-endian, in guest RAM):
//   descriptor table  16 × size   {le64 addr; le32 len; le16 flags; le16 next}
//   available ring     6 + 2 × size  {le16 flags; le16 idx; le16 ring[size]; le16 used_event}
//   used ring          6 + 8 × size  {le16 flags; le16 idx; {le32 id; le32 len} ring[size]; le16 avail_event}
// The legacy interface places the three parts contiguously from one page
// frame, the used ring aligned to 4096 (setLegacyPfn).
//
// pop() takes the next available chain and fills a caller-owned VirtChain:
// head index, device-readable and device-writable buffers as {addr, len}
// (the arrays and their objects are reused: nothing is allocated per
// descriptor once a chain object has seen a chain that long). push() puts a
// chain on the used ring; needsNotification() says whether the driver wants
// an interrupt for what was pushed since the last call (used_event with
// VIRTIO_F_EVENT_IDX, else VIRTQ_AVAIL_F_NO_INTERRUPT). With EVENT_IDX the
// device publishes avail_event = the next available index it will read, so
// the driver notifies again as soon as it adds anything.
//
// Every guest address goes through GuestMemory: nothing outside guest RAM is
// ever read or written. What the guest can get wrong, and what happens:
//
// - Per chain (the chain is returned with `error` set; the buffers validated
//   before the fault stay listed, so a device can still find a status byte in
//   a device-writable buffer and fail just that request): a buffer or an
//   indirect table not entirely in RAM; a next index outside the table; more
//   descriptors walked than the table holds (a loop); INDIRECT without
//   VIRTIO_F_INDIRECT_DESC, inside an indirect table, or together with NEXT;
//   an indirect table whose length is 0 or not a multiple of 16; a readable
//   buffer after a writable one; a chain longer than 2^32 bytes in total, or
//   of more than max(queue size, 1024) buffers (direct and indirect).
// - Per queue (reported through onError; the transport sets
//   DEVICE_NEEDS_RESET, §2.1.2): a head index ≥ size in the available ring
//   (the entry is skipped: there is no chain to give back); the available
//   index running more than `size` ahead of the device (the queue stops until
//   reset: the ring cannot be trusted); enabling a queue whose size is not a
//   power of two ≤ its maximum or whose rings are not in RAM (the queue never
//   runs).
//
// State is plain data (saveState/loadState). The rings themselves live in
// guest RAM, which the machine saves.
import type { GuestMemory } from '../../vmm/GuestMemory.ts';

export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
export const VIRTQ_USED_F_NO_NOTIFY = 1;
/** Largest split-queue size (§2.7: 32768). */
export const VIRTQ_MAX_SIZE = 32768;
/**
 * Most buffers in one chain (direct and indirect together) when the queue is
 * smaller than this (QEMU's limit too): bounds what one hostile chain costs.
 */
export const VIRTQ_MAX_CHAIN = 1024;
/** Legacy queue alignment (the used ring starts on the next 4096-byte boundary). */
export const VIRTQ_LEGACY_ALIGN = 4096;

const DESC_SIZE = 16;
const TWO32 = 2 ** 32;

/** One guest buffer of a chain. */
export interface VirtBuffer {
  addr: number;
  len: number;
}

/** A descriptor chain as popped: reused from one pop to the next. */
export class VirtChain {
  /** Head descriptor index (what push() gives back). */
  head = 0;
  /** Device-readable buffers: entries 0 .. readCount-1 are valid. */
  readonly readable: VirtBuffer[] = [];
  /** Device-writable buffers: entries 0 .. writeCount-1 are valid. */
  readonly writable: VirtBuffer[] = [];
  readCount = 0;
  writeCount = 0;
  /** Total bytes of the readable / writable buffers. */
  readLength = 0;
  writeLength = 0;
  /** Why the chain is malformed, or undefined. */
  error: string | undefined = undefined;

  clear(head: number): void {
    this.head = head;
    this.readCount = this.writeCount = 0;
    this.readLength = this.writeLength = 0;
    this.error = undefined;
  }

  add(addr: number, len: number, writable: boolean): void {
    const list = writable ? this.writable : this.readable;
    const n = writable ? this.writeCount++ : this.readCount++;
    if (n < list.length) {
      list[n].addr = addr;
      list[n].len = len;
    } else {
      list.push({ addr, len });
    }
    if (writable) this.writeLength += len;
    else this.readLength += len;
  }

  /** Address of the last device-writable byte (where virtio-blk/scsi put a status), or -1. */
  lastWritableByte(): number {
    for (let i = this.writeCount - 1; i >= 0; i--) {
      const b = this.writable[i];
      if (b.len > 0) return b.addr + b.len - 1;
    }
    return -1;
  }

  /** Copies readable bytes from `offset` (within the readable part) into `into`; returns how many. */
  copyOut(mem: GuestMemory, offset: number, into: Uint8Array): number {
    let done = 0;
    for (let i = 0; i < this.readCount && done < into.length; i++) {
      const b = this.readable[i];
      if (offset >= b.len) {
        offset -= b.len;
        continue;
      }
      const n = Math.min(b.len - offset, into.length - done);
      into.set(mem.view(b.addr + offset, n), done);
      done += n;
      offset = 0;
    }
    return done;
  }

  /** Copies `data` into the writable part from `offset`; returns how many bytes fitted. */
  copyIn(mem: GuestMemory, offset: number, data: Uint8Array): number {
    let done = 0;
    for (let i = 0; i < this.writeCount && done < data.length; i++) {
      const b = this.writable[i];
      if (offset >= b.len) {
        offset -= b.len;
        continue;
      }
      const n = Math.min(b.len - offset, data.length - done);
      mem.write(b.addr + offset, data.subarray(done, done + n));
      done += n;
      offset = 0;
    }
    return done;
  }

  /**
   * Live views of guest RAM covering `len` bytes from `offset` of the
   * writable (or readable) part, buffers that are adjacent in RAM merged into
   * one view; appended to `out`. Returns the bytes covered (less than `len`
   * if the part is shorter).
   */
  views(mem: GuestMemory, writable: boolean, offset: number, len: number, out: Uint8Array[]): number {
    const list = writable ? this.writable : this.readable;
    const count = writable ? this.writeCount : this.readCount;
    let done = 0;
    let runAddr = -1;
    let runLen = 0;
    for (let i = 0; i < count && done < len; i++) {
      const b = list[i];
      if (offset >= b.len) {
        offset -= b.len;
        continue;
      }
      const addr = b.addr + offset;
      const n = Math.min(b.len - offset, len - done);
      offset = 0;
      done += n;
      if (runLen > 0 && runAddr + runLen === addr) {
        runLen += n;
        continue;
      }
      if (runLen > 0) out.push(mem.view(runAddr, runLen));
      runAddr = addr;
      runLen = n;
    }
    if (runLen > 0) out.push(mem.view(runAddr, runLen));
    return done;
  }
}

export interface VirtQueueState {
  size: number;
  desc: number;
  avail: number;
  used: number;
  enabled: boolean;
  broken: boolean;
  eventIdx: boolean;
  indirect: boolean;
  lastAvail: number;
  usedIdx: number;
  signalledUsed: number;
}

export class VirtQueue {
  /** Queue size (the driver may lower it before enabling; legacy: fixed). */
  size: number;
  /** Guest physical addresses of the descriptor table, available ring (driver area), used ring (device area). */
  desc = 0;
  avail = 0;
  used = 0;
  /** The driver enabled the queue (queue_enable = 1, or a legacy PFN ≠ 0). */
  enabled = false;
  /** The queue failed validation or its ring misbehaved: it does nothing until reset. */
  broken = false;
  /** VIRTIO_F_EVENT_IDX / VIRTIO_F_INDIRECT_DESC negotiated (the transport sets these). */
  eventIdx = false;
  indirect = false;
  /** Next available-ring index the device reads (free-running 16 bits). */
  lastAvail = 0;
  /** Used-ring idx as the device last wrote it (the device's own copy: the guest cannot move it). */
  usedIdx = 0;
  /** Used idx at the last needsNotification() decision. */
  private signalledUsed = 0;
  /** Queue-level guest errors (the transport turns them into DEVICE_NEEDS_RESET). */
  onError: ((message: string) => void) | undefined;

  constructor(
    private readonly mem: GuestMemory,
    /** Largest size the device supports: a power of two ≤ 32768. */
    readonly maxSize: number,
    readonly index = 0,
  ) {
    if (!Number.isInteger(maxSize) || maxSize < 1 || maxSize > VIRTQ_MAX_SIZE || (maxSize & (maxSize - 1)) !== 0) {
      throw new RangeError(`virtqueue: maximum size ${maxSize} is not a power of two in 1..${VIRTQ_MAX_SIZE}`);
    }
    this.size = maxSize;
  }

  /** Whether the queue can run: enabled, valid and not broken. */
  get ready(): boolean {
    return this.enabled && !this.broken;
  }

  /** Back to the reset state: maximum size, no rings, disabled. */
  reset(): void {
    this.size = this.maxSize;
    this.desc = this.avail = this.used = 0;
    this.enabled = this.broken = false;
    this.eventIdx = this.indirect = false;
    this.lastAvail = this.usedIdx = this.signalledUsed = 0;
  }

  /**
   * The driver enables the queue. Checks the size and that all three rings
   * lie in RAM; if not, the queue is marked broken (reported through onError)
   * and never runs. Returns whether the queue is usable.
   */
  enable(): boolean {
    this.enabled = true;
    this.broken = false;
    this.lastAvail = this.usedIdx = this.signalledUsed = 0;
    const n = this.size;
    if (!Number.isInteger(n) || n < 1 || n > this.maxSize || (n & (n - 1)) !== 0) {
      return this.fail(`size ${n} is not a power of two in 1..${this.maxSize}`);
    }
    const m = this.mem;
    if (!m.contains(this.desc, DESC_SIZE * n) || !m.contains(this.avail, 6 + 2 * n) || !m.contains(this.used, 6 + 8 * n)) {
      return this.fail('descriptor table or rings are not in guest RAM');
    }
    return true;
  }

  /** Legacy interface: the queue at page frame `pfn` (0 = disable), size fixed at the maximum. */
  setLegacyPfn(pfn: number): void {
    const size = this.maxSize;
    const { eventIdx, indirect } = this;
    this.reset();
    this.eventIdx = eventIdx;
    this.indirect = indirect;
    if (pfn === 0) return;
    this.desc = pfn * VIRTQ_LEGACY_ALIGN;
    this.avail = this.desc + DESC_SIZE * size;
    this.used = Math.ceil((this.avail + 6 + 2 * size) / VIRTQ_LEGACY_ALIGN) * VIRTQ_LEGACY_ALIGN;
    this.enable();
  }

  /** The legacy page frame number register's value. */
  get legacyPfn(): number {
    return this.enabled ? Math.floor(this.desc / VIRTQ_LEGACY_ALIGN) : 0;
  }

  private fail(message: string): false {
    this.broken = true;
    this.onError?.(`queue ${this.index}: ${message}`);
    return false;
  }

  /**
   * Takes the next available chain into `chain`. Returns false when the ring
   * is empty (or the queue cannot run). A returned chain may carry `error`:
   * it still has to be completed with push(), normally after failing the
   * request.
   */
  pop(chain: VirtChain): boolean {
    if (!this.ready) return false;
    const m = this.mem;
    for (;;) {
      const availIdx = m.u16(this.avail + 2);
      const pending = (availIdx - this.lastAvail) & 0xffff;
      if (pending === 0) return false;
      if (pending > this.size) {
        this.fail(`available index moved from ${this.lastAvail} to ${availIdx}, more than the queue size`);
        return false;
      }
      const head = m.u16(this.avail + 4 + 2 * (this.lastAvail & (this.size - 1)));
      this.lastAvail = (this.lastAvail + 1) & 0xffff;
      if (this.eventIdx) m.setU16(this.used + 4 + 8 * this.size, this.lastAvail);
      if (head >= this.size) {
        this.onError?.(`queue ${this.index}: available ring names head ${head}, beyond the queue size ${this.size}`);
        continue;
      }
      this.readChain(head, chain);
      return true;
    }
  }

  /**
   * Walks the chain starting at descriptor `head` into `chain` (pop() uses it;
   * a device restoring in-flight requests after loadState calls it directly).
   */
  readChain(head: number, chain: VirtChain): void {
    chain.clear(head);
    const m = this.mem;
    let table = this.desc;
    let tableSize = this.size;
    let inIndirect = false;
    let idx = head;
    let walked = 0;
    let walkedAll = 0;
    const limit = Math.max(this.size, VIRTQ_MAX_CHAIN);
    let total = 0;
    for (;;) {
      if (idx >= tableSize) return this.bad(chain, `next index ${idx} is beyond the ${tableSize}-entry table`);
      if (++walked > tableSize) return this.bad(chain, 'descriptor loop (more descriptors than the table holds)');
      const d = table + DESC_SIZE * idx;
      const addr = m.u32(d) + m.u32(d + 4) * TWO32;
      const len = m.u32(d + 8);
      const flags = m.u16(d + 12);
      const next = m.u16(d + 14);
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        if (!this.indirect) return this.bad(chain, 'indirect descriptor without VIRTIO_F_INDIRECT_DESC');
        if (inIndirect) return this.bad(chain, 'indirect descriptor inside an indirect table');
        if (flags & VIRTQ_DESC_F_NEXT) return this.bad(chain, 'indirect descriptor with NEXT set');
        if (len === 0 || len % DESC_SIZE !== 0) return this.bad(chain, `indirect table length ${len} is not a non-zero multiple of 16`);
        if (!m.contains(addr, len)) return this.bad(chain, 'indirect table is not in guest RAM');
        table = addr;
        tableSize = len / DESC_SIZE;
        inIndirect = true;
        idx = 0;
        walked = 0;
        continue;
      }
      if (++walkedAll > limit) return this.bad(chain, `chain of more than ${limit} buffers`);
      if (!m.contains(addr, len)) return this.bad(chain, `buffer 0x${addr.toString(16)}+0x${len.toString(16)} is not in guest RAM`);
      total += len;
      if (total > TWO32) return this.bad(chain, 'chain is longer than 2^32 bytes');
      const writable = (flags & VIRTQ_DESC_F_WRITE) !== 0;
      if (!writable && chain.writeCount > 0) return this.bad(chain, 'device-readable buffer after a device-writable one');
      if (len > 0) chain.add(addr, len, writable);
      if (!(flags & VIRTQ_DESC_F_NEXT)) return;
      idx = next;
    }
  }

  private bad(chain: VirtChain, message: string): void {
    chain.error = `queue ${this.index}, chain ${chain.head}: ${message}`;
  }

  /** Returns chain `head` to the driver with `len` bytes written. */
  push(head: number, len: number): void {
    if (!this.ready) return;
    const m = this.mem;
    const slot = this.used + 4 + 8 * (this.usedIdx & (this.size - 1));
    m.setU32(slot, head);
    m.setU32(slot + 4, len);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    m.setU16(this.used + 2, this.usedIdx);
  }

  /**
   * Whether the driver wants an interrupt for the entries pushed since the
   * last call (each entry is considered once). With EVENT_IDX: when the used
   * index passed used_event; otherwise unless VIRTQ_AVAIL_F_NO_INTERRUPT.
   */
  needsNotification(): boolean {
    if (!this.ready) return false;
    const old = this.signalledUsed;
    const now = this.usedIdx;
    this.signalledUsed = now;
    if (now === old) return false;
    if (!this.eventIdx) return (this.mem.u16(this.avail) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    const usedEvent = this.mem.u16(this.avail + 4 + 2 * this.size);
    // vring_need_event: the driver asked to hear once entry `usedEvent` is written.
    return ((now - usedEvent - 1) & 0xffff) < ((now - old) & 0xffff);
  }

  saveState(): VirtQueueState {
    return {
      size: this.size,
      desc: this.desc,
      avail: this.avail,
      used: this.used,
      enabled: this.enabled,
      broken: this.broken,
      eventIdx: this.eventIdx,
      indirect: this.indirect,
      lastAvail: this.lastAvail,
      usedIdx: this.usedIdx,
      signalledUsed: this.signalledUsed,
    };
  }

  loadState(s: VirtQueueState): void {
    const num = (v: unknown, max: number): number => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new Error(`virtqueue ${this.index}: bad saved state`);
      return v;
    };
    this.size = num(s.size, VIRTQ_MAX_SIZE);
    this.desc = num(s.desc, Number.MAX_SAFE_INTEGER);
    this.avail = num(s.avail, Number.MAX_SAFE_INTEGER);
    this.used = num(s.used, Number.MAX_SAFE_INTEGER);
    this.lastAvail = num(s.lastAvail, 0xffff);
    this.usedIdx = num(s.usedIdx, 0xffff);
    this.signalledUsed = num(s.signalledUsed, 0xffff);
    this.enabled = !!s.enabled;
    this.broken = !!s.broken;
    this.eventIdx = !!s.eventIdx;
    this.indirect = !!s.indirect;
    // A restored queue must still satisfy what enable() checked.
    if (this.enabled && !this.broken) {
      const n = this.size;
      const m = this.mem;
      if (n < 1 || n > this.maxSize || (n & (n - 1)) !== 0 || !m.contains(this.desc, DESC_SIZE * n) ||
        !m.contains(this.avail, 6 + 2 * n) || !m.contains(this.used, 6 + 8 * n)) {
        this.broken = true;
      }
    }
  }
}
