// Writing a new, empty qcow2 image: the header in cluster 0 (with the
// backing file name and format), a one-cluster refcount table in cluster 1,
// one refcount block in cluster 2 counting every used cluster, and an
// all-zero L1 table from cluster 3 on.

import type { BlockDevice } from '../BlockDevice.ts';
import { fail, QCOW2_MAGIC, roundUp, setBe64, setRefcountIn } from './format.ts';
import { EXT_BACKING_FORMAT, MAX_L1_BYTES, V2_HEADER_LENGTH, V3_HEADER_LENGTH } from './header.ts';

export interface Qcow2CreateOptions {
  /** Virtual size in bytes. */
  size: number;
  version?: 2 | 3;
  /** log2 of the cluster size (default 16: 64 KiB). */
  clusterBits?: number;
  /** log2 of the refcount width in bits (v3 only; default 4: 16 bits). */
  refcountOrder?: number;
  backingFile?: string;
  backingFormat?: string;
}

/** Writes a new, empty qcow2 image into `container` (which must be empty or disposable). */
export async function createImage(container: BlockDevice, options: Qcow2CreateOptions): Promise<void> {
  const version = options.version ?? 3;
  const clusterBits = options.clusterBits ?? 16;
  const refcountOrder = version === 2 ? 4 : (options.refcountOrder ?? 4);
  if (clusterBits < 9 || clusterBits > 21) fail(`cluster_bits ${clusterBits} is outside 9..21`);
  if (refcountOrder < 0 || refcountOrder > 6) fail(`refcount_order ${refcountOrder} is outside 0..6`);
  const cs = 1 << clusterBits;
  const size = options.size;
  if (!Number.isSafeInteger(size) || size < 0) fail(`invalid virtual size ${size}`);
  const l1Size = Math.ceil(size / (cs * (cs / 8)));
  if (l1Size * 8 > MAX_L1_BYTES) fail(`virtual size ${size} is too large for ${cs}-byte clusters`);
  const l1Clusters = Math.max(1, Math.ceil((l1Size * 8) / cs));
  const used = 3 + l1Clusters; // header, refcount table, refcount block, L1
  const refsPerBlock = (cs * 8) >> refcountOrder;
  // The one refcount block must describe every cluster the new image uses.
  if (used > refsPerBlock) fail('the L1 table is too large for one refcount block; use bigger clusters');
  if (!container.resize) fail('the container cannot be resized');
  await container.resize(used * cs);

  const head = new Uint8Array(cs);
  const v = new DataView(head.buffer);
  v.setUint32(0, QCOW2_MAGIC);
  v.setUint32(4, version);
  v.setUint32(20, clusterBits);
  setBe64(v, 24, size);
  v.setUint32(36, l1Size);
  setBe64(v, 40, 3 * cs);
  setBe64(v, 48, cs);
  v.setUint32(56, 1);
  let pos = V2_HEADER_LENGTH;
  if (version === 3) {
    v.setUint32(96, refcountOrder);
    v.setUint32(100, V3_HEADER_LENGTH);
    pos = V3_HEADER_LENGTH;
  }
  const enc = new TextEncoder();
  if (options.backingFile !== undefined) {
    if (options.backingFormat !== undefined) {
      const f = enc.encode(options.backingFormat);
      v.setUint32(pos, EXT_BACKING_FORMAT);
      v.setUint32(pos + 4, f.length);
      head.set(f, pos + 8);
      pos += 8 + roundUp(f.length, 8);
    }
  }
  pos += 8; // end of extensions (type 0, length 0)
  if (options.backingFile !== undefined) {
    const name = enc.encode(options.backingFile);
    if (name.length === 0 || name.length > 1023 || pos + name.length > cs) fail('backing file name is too long');
    head.set(name, pos);
    setBe64(v, 8, pos);
    v.setUint32(16, name.length);
  }
  const rt = new Uint8Array(cs);
  setBe64(new DataView(rt.buffer), 0, 2 * cs);
  const rb = new Uint8Array(cs);
  for (let i = 0; i < used; i++) setRefcountIn(rb, new DataView(rb.buffer), 1 << refcountOrder, i, 1);
  await container.write(0, head);
  await container.write(cs, rt);
  await container.write(2 * cs, rb);
  await container.write(3 * cs, new Uint8Array(l1Clusters * cs));
  await container.flush();
}
