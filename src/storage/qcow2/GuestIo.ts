// Guest reads, writes and zeroing through the cluster map: contiguous host
// runs become one container request, compressed clusters are inflated (and
// copied on write), unallocated clusters read from the backing file (or as
// zeros), and a write to a cluster not exclusively ours goes to a new one.
// Callers serialise every operation (the image's lock).

import { inflateSync } from 'fflate';
import type { BlockDevice } from '../BlockDevice.ts';
import { errorText } from '../util.ts';
import type { ClusterMap, Entry } from './ClusterMap.ts';
import { fail, hex, roundUp, writeHost } from './format.ts';
import type { MetadataClusters } from './MetadataClusters.ts';
import type { RefcountAllocator } from './RefcountAllocator.ts';

/** Decompressed clusters kept (keyed by host offset). */
const INFLATED_CACHE = 8;

export interface GuestIoOptions {
  clusterSize: number;
  /** Virtual size in bytes. */
  size: number;
  version: 2 | 3;
}

export class GuestIo {
  private readonly cs: number;
  private readonly size: number;
  private readonly version: 2 | 3;
  private readonly inflated = new Map<number, Uint8Array>();

  constructor(
    private readonly container: BlockDevice,
    private readonly backing: BlockDevice | undefined,
    private readonly map: ClusterMap,
    private readonly refcounts: RefcountAllocator,
    private readonly metadata: MetadataClusters,
    options: GuestIoOptions,
  ) {
    this.cs = options.clusterSize;
    this.size = options.size;
    this.version = options.version;
  }

  /** Forgets decompressed clusters: their host clusters may have been freed and reused. */
  forgetDecompressed(): void {
    this.inflated.clear();
  }

  async read(offset: number, into: Uint8Array): Promise<void> {
    const cs = this.cs;
    const jobs: Promise<void>[] = [];
    // A pending run of contiguous host bytes or backing bytes.
    let runKind: 'host' | 'backing' | '' = '';
    let runStart = 0; // index in `into`
    let runEnd = 0;
    let runSource = 0; // host offset, or guest offset for the backing file
    const endRun = () => {
      if (runKind === 'host') jobs.push(this.readHost(runSource, into.subarray(runStart, runEnd)));
      else if (runKind === 'backing') jobs.push(this.readBacking(runSource, into.subarray(runStart, runEnd)));
      runKind = '';
    };
    let done = 0;
    while (done < into.length) {
      const pos = offset + done;
      const gc = Math.floor(pos / cs);
      const within = pos - gc * cs;
      const n = Math.min(cs - within, into.length - done);
      const e = await this.map.lookup(gc);
      if (e.kind === 'normal' || (e.kind === 'unallocated' && this.backing)) {
        const kind = e.kind === 'normal' ? 'host' : 'backing';
        const source = e.kind === 'normal' ? e.host + within : pos;
        if (runKind !== kind || runSource + (runEnd - runStart) !== source) {
          endRun();
          runKind = kind;
          runStart = done;
          runSource = source;
        }
        runEnd = done + n;
      } else {
        endRun();
        if (e.kind === 'compressed') {
          const plain = await this.inflate(e.host, e.length, gc);
          into.set(plain.subarray(within, within + n), done);
        } else {
          into.fill(0, done, done + n);
        }
      }
      done += n;
    }
    endRun();
    await Promise.all(jobs);
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    const cs = this.cs;
    const updates: { gc: number; host: number }[] = [];
    const frees: number[] = [];
    // A pending run of in-order writes of `data` to contiguous host bytes.
    let runHost = -1;
    let runStart = 0;
    let runEnd = 0;
    const endRun = async () => {
      if (runHost >= 0) await writeHost(this.container, cs, runHost, data.subarray(runStart, runEnd));
      runHost = -1;
    };
    let done = 0;
    while (done < data.length) {
      const pos = offset + done;
      const gc = Math.floor(pos / cs);
      const within = pos - gc * cs;
      const n = Math.min(cs - within, data.length - done);
      const clusterLen = Math.min(cs, this.size - gc * cs);
      const e = await this.map.lookup(gc);

      let target = -1; // host cluster offset the new bytes go to
      let wholeBuffer: Uint8Array | undefined; // full-cluster contents to write instead of `data`
      if (e.kind === 'normal' && (e.copied || (await this.refcounts.refcount(e.host / cs)) === 1)) {
        if (this.metadata.has(e.host / cs)) {
          fail(`L2 entry for guest offset ${hex(gc * cs)} points at metadata (${hex(e.host)}); the image is corrupt`);
        }
        target = e.host;
        if (!e.copied) updates.push({ gc, host: target });
      } else {
        if (e.kind === 'zero' && e.host !== 0 && e.copied && !this.metadata.has(e.host / cs) &&
            e.host < roundUp(this.container.size, cs)) {
          target = e.host; // a preallocated zero cluster: reuse its space
        } else {
          target = (await this.refcounts.allocate()) * cs;
          frees.push(...this.map.referencedClusters(e));
        }
        updates.push({ gc, host: target });
        // A partial write needs the rest of the cluster (copy-on-write) unless the
        // old contents are zeros and the new cluster lies past the end of the
        // file, where growing the file supplies the zeros.
        const oldZero = e.kind === 'zero' || (e.kind === 'unallocated' && (!this.backing || gc * cs >= this.backing.size));
        const partial = !(within === 0 && n >= clusterLen);
        if (partial && !(oldZero && target >= this.container.size)) {
          wholeBuffer = await this.readCluster(gc, e);
          wholeBuffer.set(data.subarray(done, done + n), within);
        }
      }

      if (wholeBuffer) {
        await endRun();
        await writeHost(this.container, cs, target, wholeBuffer.subarray(0, clusterLen));
      } else {
        const host = target + within;
        if (runHost >= 0 && runHost + (runEnd - runStart) === host) {
          runEnd = done + n;
        } else {
          await endRun();
          runHost = host;
          runStart = done;
          runEnd = done + n;
        }
      }
      done += n;
    }
    await endRun();
    // The data is written: now the mapping may point at it.
    for (const u of updates) await this.map.mapTo(u.gc, u.host);
    this.refcounts.release(frees);
  }

  /** Full clusters become zero/unallocated; partial ones are written (`mustZero`) or left alone (discard). */
  async zero(offset: number, length: number, mustZero: boolean): Promise<void> {
    const cs = this.cs;
    const end = offset + length;
    let pos = offset;
    while (pos < end) {
      const gc = Math.floor(pos / cs);
      const within = pos - gc * cs;
      const clusterLen = Math.min(cs, this.size - gc * cs);
      const n = Math.min(clusterLen - within, end - pos);
      if (within !== 0 || n < clusterLen) {
        if (mustZero) await this.write(pos, new Uint8Array(n));
        pos += n;
        continue;
      }
      const e = await this.map.lookup(gc);
      // With a backing file only the zero flag (v3) hides it; otherwise unallocated reads zeros.
      let zeroFlag = false;
      if (this.backing) {
        if (this.version === 3) zeroFlag = true;
        else if (mustZero) {
          await this.write(pos, new Uint8Array(n));
          pos += n;
          continue;
        }
      }
      const same = zeroFlag ? e.kind === 'zero' && e.host === 0 : e.kind === 'unallocated';
      if (!same) {
        if (zeroFlag || this.map.hasL2Table(gc)) await this.map.unmap(gc, zeroFlag);
        this.refcounts.release(this.map.referencedClusters(e));
      }
      pos += n;
    }
  }

  /** Reads host bytes; what lies past the end of the file reads as zeros. */
  private async readHost(host: number, into: Uint8Array): Promise<void> {
    const avail = Math.max(0, Math.min(into.length, this.container.size - host));
    if (avail > 0) await this.container.read(host, into.subarray(0, avail));
    if (avail < into.length) into.fill(0, avail);
  }

  /** Reads the backing file at guest offset `pos`; past its end reads as zeros. */
  private async readBacking(pos: number, into: Uint8Array): Promise<void> {
    const b = this.backing;
    const avail = b ? Math.max(0, Math.min(into.length, b.size - pos)) : 0;
    if (avail > 0) await b!.read(pos, into.subarray(0, avail));
    if (avail < into.length) into.fill(0, avail);
  }

  private async inflate(host: number, length: number, gc: number): Promise<Uint8Array> {
    const cached = this.inflated.get(host);
    if (cached) return cached;
    const avail = Math.min(length, this.container.size - host);
    const packed = new Uint8Array(avail);
    await this.container.read(host, packed);
    let plain: Uint8Array;
    try {
      plain = inflateSync(packed, { out: new Uint8Array(this.cs) });
    } catch (e) {
      fail(`compressed cluster for guest offset ${hex(gc * this.cs)} is corrupt (${errorText(e)})`);
    }
    if (plain.length !== this.cs) fail(`compressed cluster for guest offset ${hex(gc * this.cs)} is truncated`);
    if (this.inflated.size >= INFLATED_CACHE) this.inflated.delete(this.inflated.keys().next().value!);
    this.inflated.set(host, plain);
    return plain;
  }

  /** The current contents of guest cluster `gc` (whole cluster). */
  private async readCluster(gc: number, e: Entry): Promise<Uint8Array> {
    const buf = new Uint8Array(this.cs);
    const pos = gc * this.cs;
    const len = Math.min(this.cs, this.size - pos);
    switch (e.kind) {
      case 'normal': await this.readHost(e.host, buf.subarray(0, len)); break;
      case 'compressed': buf.set(await this.inflate(e.host, e.length, gc)); break;
      case 'unallocated': if (this.backing) await this.readBacking(pos, buf.subarray(0, len)); break;
      case 'zero': break;
    }
    return buf;
  }
}
