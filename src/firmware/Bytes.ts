// Little-endian byte building for firmware tables (ACPI, MP): a growable
// buffer with typed appends and patches, the 8-bit checksum both
// specifications use, and the ACPI system description table header.

export class ByteWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  get length(): number {
    return this.len;
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): this {
    this.reserve(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    return this.u8(v).u8(v >>> 8);
  }

  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }

  u64(v: number | bigint): this {
    const b = BigInt.asUintN(64, BigInt(v));
    return this.u32(Number(b & 0xffffffffn)).u32(Number(b >> 32n));
  }

  bytes(b: ArrayLike<number>): this {
    this.reserve(b.length);
    for (let i = 0; i < b.length; i++) this.buf[this.len++] = b[i] & 0xff;
    return this;
  }

  /** ASCII text in exactly `width` bytes: padded with `pad`, too-long text is an error. */
  ascii(text: string, width: number, pad = ' '): this {
    if (text.length > width) throw new RangeError(`"${text}" does not fit in ${width} bytes`);
    const s = text.padEnd(width, pad);
    for (let i = 0; i < width; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7e) throw new RangeError(`"${text}" is not ASCII`);
      this.u8(c);
    }
    return this;
  }

  zeros(n: number): this {
    this.reserve(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
    return this;
  }

  /** Pad with zeros up to a multiple of `align`. */
  align(align: number): this {
    const rem = this.len % align;
    return rem ? this.zeros(align - rem) : this;
  }

  patchU8(offset: number, v: number): void {
    this.buf[offset] = v & 0xff;
  }

  patchU16(offset: number, v: number): void {
    this.buf[offset] = v & 0xff;
    this.buf[offset + 1] = (v >>> 8) & 0xff;
  }

  patchU32(offset: number, v: number): void {
    for (let i = 0; i < 4; i++) this.buf[offset + i] = (v >>> (8 * i)) & 0xff;
  }

  /** A copy of the bytes written. */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** The 8-bit sum of `bytes[start, end)`. */
export function byteSum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let s = 0;
  for (let i = start; i < end; i++) s = (s + bytes[i]) & 0xff;
  return s;
}

/** Set `bytes[at]` so that `bytes[start, end)` sums to 0 (mod 256). */
export function fixChecksum(bytes: Uint8Array, at: number, start = 0, end = bytes.length): void {
  bytes[at] = 0;
  bytes[at] = (0x100 - byteSum(bytes, start, end)) & 0xff;
}

/** Identification every ACPI table header carries. */
export interface AcpiTableIds {
  /** 6 characters. */
  oemId: string;
  /** 8 characters. */
  oemTableId: string;
  oemRevision: number;
  /** 4 characters: the tool that made the table. */
  creatorId: string;
  creatorRevision: number;
}

export const ACPI_HEADER_SIZE = 36;
export const ACPI_HEADER_CHECKSUM_OFFSET = 9;

/**
 * A complete ACPI system description table: the 36-byte header
 * (Signature, Length, Revision, Checksum, OEMID, OEM Table ID, OEM Revision,
 * Creator ID, Creator Revision) followed by `body`, checksummed.
 */
export function acpiTable(signature: string, revision: number, ids: AcpiTableIds, body: ArrayLike<number>): Uint8Array {
  if (signature.length !== 4) throw new RangeError(`ACPI signature "${signature}" is not 4 characters`);
  const w = new ByteWriter();
  w.ascii(signature, 4);
  w.u32(ACPI_HEADER_SIZE + body.length);
  w.u8(revision);
  w.u8(0); // checksum, fixed below
  w.ascii(ids.oemId, 6);
  w.ascii(ids.oemTableId, 8);
  w.u32(ids.oemRevision);
  w.ascii(ids.creatorId, 4);
  w.u32(ids.creatorRevision);
  w.bytes(body);
  const t = w.toBytes();
  fixChecksum(t, ACPI_HEADER_CHECKSUM_OFFSET);
  return t;
}
