// Low-level pieces every part of the qcow2 driver shares: numbers as qcow2
// stores them (big-endian, 64-bit fields, packed refcount entries), cluster
// arithmetic, growing writes to the image file, and the error they all raise.

import { type BlockDevice, StorageError } from '../BlockDevice.ts';

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"

/** Throws the one-line error every qcow2 problem becomes. */
export function fail(message: string): never {
  throw new StorageError(`qcow2: ${message}`);
}

export function hex(n: number): string {
  return '0x' + n.toString(16);
}

export function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

// 64-bit fields as two 32-bit words: offsets stay below 2^53, so a double holds them.
export function be64(view: DataView, at: number): number {
  return view.getUint32(at) * 2 ** 32 + view.getUint32(at + 4);
}

export function setBe64(view: DataView, at: number, value: number): void {
  view.setUint32(at, Math.floor(value / 2 ** 32));
  view.setUint32(at + 4, value >>> 0);
}

/** Entry `i` of a refcount block whose entries are `bits` wide (1..64). */
export function getRefcountIn(data: Uint8Array, view: DataView, bits: number, i: number): number {
  switch (bits) {
    case 16: return view.getUint16(i * 2);
    case 8: return data[i];
    case 32: return view.getUint32(i * 4);
    case 64: {
      // Counts of 2^53 and more read as MAX_SAFE_INTEGER (a double holds no more).
      const hi = view.getUint32(i * 8);
      return hi >= 2 ** 21 ? Number.MAX_SAFE_INTEGER : hi * 2 ** 32 + view.getUint32(i * 8 + 4);
    }
    default: {
      // 1, 2 or 4 bits: entry 0 is in the least significant bits of byte 0.
      const bit = i * bits;
      return (data[bit >>> 3] >>> (bit & 7)) & ((1 << bits) - 1);
    }
  }
}

export function setRefcountIn(data: Uint8Array, view: DataView, bits: number, i: number, value: number): void {
  switch (bits) {
    case 16: view.setUint16(i * 2, value); return;
    case 8: data[i] = value; return;
    case 32: view.setUint32(i * 4, value); return;
    case 64: setBe64(view, i * 8, value); return;
    default: {
      const bit = i * bits;
      const mask = ((1 << bits) - 1) << (bit & 7);
      data[bit >>> 3] = (data[bit >>> 3] & ~mask) | ((value << (bit & 7)) & mask);
    }
  }
}

/** Writes host bytes, first growing the image file (by whole clusters) when they lie past its end. */
export async function writeHost(container: BlockDevice, clusterSize: number, host: number, data: Uint8Array): Promise<void> {
  const end = host + data.length;
  if (end > container.size) await container.resize!(roundUp(end, clusterSize));
  await container.write(host, data);
}
