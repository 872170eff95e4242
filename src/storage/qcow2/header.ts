// The qcow2 header: parsing and validating it, and the in-memory tables it
// points at (L1 and refcount table), which are checked entry by entry before
// anything trusts them. Every check here stands between a hostile image and
// an out-of-range read, a huge allocation or a write over the wrong cluster.
//
// Layout (QEMU's docs/interop/qcow2.txt): the header sits in cluster 0 (72
// bytes for v2, `header_length` for v3), followed by header extensions and
// the backing file name, all inside the first cluster.

import type { BlockDevice } from '../BlockDevice.ts';
import { be64, fail, hex, QCOW2_MAGIC, roundUp, setBe64 } from './format.ts';

export const MAX_L1_BYTES = 32 << 20; // QEMU's implementation limit
export const MAX_REFTABLE_BYTES = 8 << 20; // likewise
export const V2_HEADER_LENGTH = 72;
export const V3_HEADER_LENGTH = 104;

const EXT_END = 0x00000000;
export const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_FEATURE_TABLE = 0x6803f857;

const INCOMPAT_DIRTY = 1;
const INCOMPAT_CORRUPT = 2;
const INCOMPAT_NAMES = ['dirty', 'corrupt', 'external data file', 'compression type', 'extended L2 entries'];

const L1_HI_RESERVED = 0x7f000000; // bits 56..62 of an L1 entry

// Header fields written in place after creation.
const REFTABLE_FIELDS_AT = 48; // refcount_table_offset (8 bytes), refcount_table_clusters (4)
const AUTOCLEAR_AT = 88; // autoclear_features (v3)

export interface Qcow2Info {
  version: 2 | 3;
  clusterSize: number;
  size: number;
  refcountBits: number;
  backingFile?: string;
  backingFormat?: string;
  snapshots: number;
  incompatibleFeatures: number;
  compatibleFeatures: number;
  autoclearFeatures: number;
  dirty: boolean;
  corrupt: boolean;
}

export interface ParsedHeader {
  info: Qcow2Info;
  clusterBits: number;
  l1Size: number;
  l1Offset: number;
  reftableOffset: number;
  reftableBytes: number;
  snapshotsRange: [number, number]; // cluster indices [first, end)
}

export async function parseHeader(container: BlockDevice): Promise<ParsedHeader> {
  const fileSize = container.size;
  if (fileSize < V2_HEADER_LENGTH) fail('not a qcow2 image (the file is too small)');
  const first = new Uint8Array(Math.min(fileSize, 512));
  await container.read(0, first);
  let v = new DataView(first.buffer);
  if (v.getUint32(0) !== QCOW2_MAGIC) fail('not a qcow2 image (bad magic)');
  const version = v.getUint32(4);
  if (version !== 2 && version !== 3) fail(`unsupported version ${version} (2 and 3 are supported)`);
  const clusterBits = v.getUint32(20);
  if (clusterBits < 9 || clusterBits > 21) fail(`cluster_bits ${clusterBits} is outside 9..21`);
  const cs = 2 ** clusterBits;

  // The whole first cluster: header, extensions, backing file name.
  const head = new Uint8Array(cs);
  await container.read(0, head.subarray(0, Math.min(cs, fileSize)));
  v = new DataView(head.buffer);

  const sizeHi = v.getUint32(24);
  const size = sizeHi * 2 ** 32 + v.getUint32(28);
  if (sizeHi >= 2 ** 21) fail(`virtual size ${BigInt(sizeHi) * 2n ** 32n + BigInt(v.getUint32(28))} is absurd`);
  const cryptMethod = v.getUint32(32);
  if (cryptMethod !== 0) fail(`encrypted images are not supported (crypt_method ${cryptMethod})`);
  const l1Size = v.getUint32(36);
  const l1Offset = be64(v, 40);
  const reftableOffset = be64(v, 48);
  const reftableClusters = v.getUint32(56);
  const snapshots = v.getUint32(60);
  const snapshotsOffset = be64(v, 64);

  let incompatible = 0;
  let incompatibleHi = 0;
  let compatible = 0;
  let autoclear = 0;
  let refcountOrder = 4;
  let headerLength = V2_HEADER_LENGTH;
  if (version === 3) {
    incompatibleHi = v.getUint32(72);
    incompatible = v.getUint32(76);
    compatible = be64(v, 80);
    autoclear = be64(v, 88);
    refcountOrder = v.getUint32(96);
    headerLength = v.getUint32(100);
    if (headerLength < V3_HEADER_LENGTH || headerLength % 8 !== 0 || headerLength > cs) {
      fail(`invalid header_length ${headerLength}`);
    }
    if (refcountOrder > 6) fail(`refcount_order ${refcountOrder} is invalid (at most 6: 64-bit refcounts)`);
  }

  // Header extensions.
  let backingFormat: string | undefined;
  const featureNames = new Map<string, string>();
  const dec = new TextDecoder();
  let pos = headerLength;
  for (;;) {
    if (pos + 8 > cs) break;
    const type = v.getUint32(pos);
    const len = v.getUint32(pos + 4);
    if (type === EXT_END) break;
    if (pos + 8 + len > cs) fail(`header extension ${hex(type)} runs past the first cluster`);
    const body = head.subarray(pos + 8, pos + 8 + len);
    if (type === EXT_BACKING_FORMAT) backingFormat = dec.decode(body);
    else if (type === EXT_FEATURE_TABLE) {
      for (let i = 0; i + 48 <= len; i += 48) {
        const raw = body.subarray(i + 2, i + 48);
        const nul = raw.indexOf(0);
        featureNames.set(`${body[i]}:${body[i + 1]}`, dec.decode(nul >= 0 ? raw.subarray(0, nul) : raw));
      }
    }
    pos += 8 + roundUp(len, 8);
  }

  // Incompatible features: dirty and corrupt are understood; the rest refuse.
  const unsupported: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    const set = bit < 32 ? (incompatible >>> bit) & 1 : (incompatibleHi >>> (bit - 32)) & 1;
    if (!set || bit === 0 || bit === 1) continue;
    if (bit === 3 && headerLength > 104 && head[104] === 0) continue; // compression type zlib
    const name = featureNames.get(`0:${bit}`) ?? INCOMPAT_NAMES[bit] ?? 'unknown';
    unsupported.push(`${name} (bit ${bit})`);
  }
  if (unsupported.length) fail(`unsupported incompatible features: ${unsupported.join(', ')}`);
  if (version === 3 && headerLength > 104 && head[104] !== 0) {
    fail(`compression type ${head[104]} is not supported (only zlib)`);
  }

  // Sizes and tables.
  if (!Number.isSafeInteger(size)) fail(`virtual size ${size} is too large`);
  const l2Entries = cs / 8;
  const needL1 = Math.ceil(size / (cs * l2Entries));
  if (needL1 * 8 > MAX_L1_BYTES) fail(`virtual size ${size} is too large for ${cs}-byte clusters`);
  if (l1Size * 8 > MAX_L1_BYTES) fail(`L1 table of ${l1Size} entries is larger than allowed`);
  if (l1Size < needL1) fail(`L1 table of ${l1Size} entries is too small for the virtual size ${size}`);
  if (l1Size > 0) {
    if (l1Offset % cs !== 0) fail(`L1 table offset ${hex(l1Offset)} is not aligned to a cluster`);
    if (l1Offset < cs) fail('the L1 table overlaps the header');
    if (l1Offset + l1Size * 8 > fileSize) fail(`the L1 table (at ${hex(l1Offset)}) lies past the end of the file`);
  }
  if (reftableOffset % cs !== 0) fail(`refcount table offset ${hex(reftableOffset)} is not aligned to a cluster`);
  if (reftableClusters === 0) fail('the refcount table is empty');
  const reftableBytes = reftableClusters * cs;
  if (reftableBytes > MAX_REFTABLE_BYTES) fail(`the refcount table (${reftableClusters} clusters) is larger than allowed`);
  if (reftableOffset < cs) fail('the refcount table overlaps the header');
  if (reftableOffset + reftableBytes > roundUp(fileSize, cs)) {
    fail(`the refcount table (at ${hex(reftableOffset)}) lies past the end of the file`);
  }
  if (l1Size > 0 && overlaps(l1Offset, l1Size * 8, reftableOffset, reftableBytes)) {
    fail('the L1 table overlaps the refcount table');
  }
  let snapshotsRange: [number, number] = [0, 0];
  if (snapshots > 0) {
    if (snapshotsOffset % cs !== 0) fail(`snapshot table offset ${hex(snapshotsOffset)} is not aligned to a cluster`);
    if (snapshotsOffset < cs || snapshotsOffset >= fileSize) fail('the snapshot table lies outside the file');
    if (snapshots > 65536) fail(`${snapshots} snapshots is more than allowed`);
    // Each entry is at least 40 bytes; the exact end needs the entries, a lower bound will do.
    snapshotsRange = [snapshotsOffset / cs, Math.ceil((snapshotsOffset + snapshots * 40) / cs)];
  }

  // Backing file name.
  let backingFile: string | undefined;
  const backingOffset = be64(v, 8);
  if (backingOffset !== 0) {
    const len = v.getUint32(16);
    if (len > 1023) fail(`backing file name of ${len} bytes is too long`);
    if (backingOffset + len > cs) fail('the backing file name lies outside the first cluster');
    if (len > 0) backingFile = dec.decode(head.subarray(backingOffset, backingOffset + len));
  }

  return {
    info: {
      version,
      clusterSize: cs,
      size,
      refcountBits: 1 << refcountOrder,
      backingFile,
      backingFormat,
      snapshots,
      incompatibleFeatures: incompatible,
      compatibleFeatures: compatible,
      autoclearFeatures: autoclear,
      dirty: (incompatible & INCOMPAT_DIRTY) !== 0,
      corrupt: (incompatible & INCOMPAT_CORRUPT) !== 0,
    },
    clusterBits,
    l1Size,
    l1Offset,
    reftableOffset,
    reftableBytes,
    snapshotsRange,
  };
}

/**
 * Reads the L1 table and the refcount table, which live in memory, and checks
 * every entry: aligned, inside the file, and not pointing at the header or at
 * either table (L2 entries and compressed descriptors are checked when used).
 */
export async function readTopTables(container: BlockDevice, header: ParsedHeader): Promise<{ l1: Uint8Array; reftable: Uint8Array }> {
  const l1 = new Uint8Array(header.l1Size * 8);
  if (l1.length) await container.read(header.l1Offset, l1);
  const l1View = new DataView(l1.buffer);
  const fileSize = container.size;
  const cs = 1 << header.clusterBits;
  const pointsAtTopMetadata = (off: number) =>
    off < cs || overlaps(off, cs, header.l1Offset, l1.length) || overlaps(off, cs, header.reftableOffset, header.reftableBytes);
  for (let i = 0; i < header.l1Size; i++) {
    const hi = l1View.getUint32(i * 8);
    const lo = l1View.getUint32(i * 8 + 4);
    if (hi === 0 && lo === 0) continue;
    if (hi & L1_HI_RESERVED || lo & 0x1ff) fail(`L1 entry ${i} has reserved bits set`);
    const off = (hi & 0x00ffffff) * 2 ** 32 + lo;
    if (off === 0) continue;
    if (off % cs !== 0) fail(`L1 entry ${i} (${hex(off)}) is not aligned to a cluster`);
    if (off + cs > roundUp(fileSize, cs)) fail(`L1 entry ${i} points past the end of the file (${hex(off)})`);
    if (pointsAtTopMetadata(off)) fail(`L1 entry ${i} points at other metadata (${hex(off)})`);
  }
  const reftable = new Uint8Array(header.reftableBytes);
  await container.read(header.reftableOffset, reftable);
  const rtView = new DataView(reftable.buffer);
  for (let i = 0; i < reftable.length / 8; i++) {
    const off = be64(rtView, i * 8);
    if (off === 0) continue;
    if (off % cs !== 0) fail(`refcount table entry ${i} (${hex(off)}) is not aligned to a cluster`);
    if (off + cs > roundUp(fileSize, cs)) fail(`refcount table entry ${i} points past the end of the file (${hex(off)})`);
    if (pointsAtTopMetadata(off)) fail(`refcount table entry ${i} points at other metadata (${hex(off)})`);
  }
  return { l1, reftable };
}

/** Points the header at a moved refcount table (the caller orders the flushes around it). */
export async function writeReftableLocation(container: BlockDevice, offset: number, clusters: number): Promise<void> {
  const fields = new Uint8Array(12);
  const v = new DataView(fields.buffer);
  setBe64(v, 0, offset);
  v.setUint32(8, clusters);
  await container.write(REFTABLE_FIELDS_AT, fields);
}

/**
 * Clears the auto-clear feature bits, durably. We maintain none of the
 * features they stand for (bitmaps, raw external data), so they must be
 * cleared before the first write.
 */
export async function clearAutoclearFeatures(container: BlockDevice): Promise<void> {
  await container.write(AUTOCLEAR_AT, new Uint8Array(8));
  await container.flush();
}

function overlaps(a: number, alen: number, b: number, blen: number): boolean {
  return a < b + blen && b < a + alen;
}
