// A small encoder for ACPI Machine Language (ACPI spec, chapter 20 "ACPI
// Machine Language (AML) Specification"): enough to build a DSDT of named
// objects, packages, devices, scopes and simple methods, plus the resource
// descriptors a PCI host bridge's _CRS needs (chapter 6.4).
//
// Every function returns the encoded bytes of one term (a Uint8Array);
// containers take their children's bytes and add opcode, PkgLength and name.
//
// Encodings used (section 20.2):
//   PkgLength   1 byte (bits 5:0) for a total up to 63, else a lead byte with
//               the count of following bytes in bits 7:6 and the low nibble in
//               bits 3:0, then 1-3 bytes with the rest; the length counts
//               itself and everything after it in the package.
//   NameSeg     4 characters [A-Z_][A-Z0-9_]{3} (shorter names padded with '_')
//   NameString  optional RootChar '\' or ParentPrefixChar '^'s, then a NullName
//               (0x00), one NameSeg, DualNamePrefix 0x2E + 2 segs or
//               MultiNamePrefix 0x2F + count + segs
//   Integers    ZeroOp 0x00, OneOp 0x01, BytePrefix 0x0A, WordPrefix 0x0B,
//               DWordPrefix 0x0C, QWordPrefix 0x0E (the smallest that fits)
//   String      0x0D, ASCII 0x01-0x7F, NUL
//   Buffer      0x11 PkgLength BufferSize ByteList
//   Package     0x12 PkgLength NumElements(byte) elements
//   Name        0x08 NameString DataRefObject
//   Scope       0x10 PkgLength NameString TermList
//   Method      0x14 PkgLength NameString MethodFlags TermList
//   Device      0x5B 0x82 PkgLength NameString TermList
//   Return      0xA4 TermArg;  Store 0x70 TermArg SuperName
//   Arg0-6      0x68-0x6E;     Local0-7 0x60-0x67
import { acpiTable, type AcpiTableIds } from './Bytes.ts';

export const ZERO_OP = 0x00;
export const ONE_OP = 0x01;
export const ONES_OP = 0xff;
export const BYTE_PREFIX = 0x0a;
export const WORD_PREFIX = 0x0b;
export const DWORD_PREFIX = 0x0c;
export const STRING_PREFIX = 0x0d;
export const QWORD_PREFIX = 0x0e;
export const NAME_OP = 0x08;
export const SCOPE_OP = 0x10;
export const BUFFER_OP = 0x11;
export const PACKAGE_OP = 0x12;
export const METHOD_OP = 0x14;
export const EXT_OP_PREFIX = 0x5b;
export const DEVICE_OP = 0x82; // after EXT_OP_PREFIX
export const RETURN_OP = 0xa4;
export const STORE_OP = 0x70;
export const LOCAL0_OP = 0x60;
export const ARG0_OP = 0x68;
export const ROOT_CHAR = 0x5c;
export const PARENT_PREFIX_CHAR = 0x5e;
export const DUAL_NAME_PREFIX = 0x2e;
export const MULTI_NAME_PREFIX = 0x2f;
export const NULL_NAME = 0x00;

/** Bytes of several terms, one after another. */
export function concat(...parts: ArrayLike<number>[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The PkgLength encoding for a package whose contents after the PkgLength are `contentLength` bytes. */
export function pkgLength(contentLength: number): Uint8Array {
  if (!Number.isInteger(contentLength) || contentLength < 0) throw new RangeError(`bad package length ${contentLength}`);
  if (contentLength + 1 <= 0x3f) return Uint8Array.of(contentLength + 1);
  for (let extra = 1; extra <= 3; extra++) {
    const total = contentLength + 1 + extra;
    if (total < 2 ** (4 + 8 * extra)) {
      const out = new Uint8Array(1 + extra);
      out[0] = (extra << 6) | (total & 0x0f);
      for (let i = 1; i <= extra; i++) out[i] = (total >>> (4 + 8 * (i - 1))) & 0xff;
      return out;
    }
  }
  throw new RangeError(`package of ${contentLength} bytes is too large for a PkgLength (2^28 - 1 at most)`);
}

/** Decode a PkgLength at `bytes[at]`: the total length it encodes and how many bytes it takes. */
export function decodePkgLength(bytes: ArrayLike<number>, at: number): { length: number; size: number } {
  const lead = bytes[at];
  const extra = lead >> 6;
  if (extra === 0) return { length: lead & 0x3f, size: 1 };
  let length = lead & 0x0f;
  for (let i = 1; i <= extra; i++) length |= bytes[at + i] << (4 + 8 * (i - 1));
  return { length: length >>> 0, size: 1 + extra };
}

/** One NameSeg: 1-4 characters, padded with '_' to 4. */
export function nameSeg(seg: string): Uint8Array {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(seg)) {
    throw new RangeError(`"${seg}" is not an AML name segment (1-4 of A-Z, 0-9, _; not starting with a digit)`);
  }
  const s = seg.padEnd(4, '_');
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/**
 * A NameString: "\\_SB.PCI0" (from the root), "^PCI0" (from the parent),
 * "PCI0.PRT0" (relative), "\\" (the root itself).
 */
export function nameString(path: string): Uint8Array {
  const prefix: number[] = [];
  let rest = path;
  if (rest.startsWith('\\')) {
    prefix.push(ROOT_CHAR);
    rest = rest.slice(1);
  } else {
    while (rest.startsWith('^')) {
      prefix.push(PARENT_PREFIX_CHAR);
      rest = rest.slice(1);
    }
  }
  const segs = rest === '' ? [] : rest.split('.').map(nameSeg);
  if (segs.length === 0) {
    if (prefix.length === 0) throw new RangeError('empty AML name');
    return concat(prefix, [NULL_NAME]);
  }
  if (segs.length === 1) return concat(prefix, segs[0]);
  if (segs.length === 2) return concat(prefix, [DUAL_NAME_PREFIX], segs[0], segs[1]);
  if (segs.length > 255) throw new RangeError(`AML name with ${segs.length} segments`);
  return concat(prefix, [MULTI_NAME_PREFIX, segs.length], ...segs);
}

/** An integer constant in the shortest encoding (Zero, One, Byte, Word, DWord, QWord). */
export function integer(value: number | bigint): Uint8Array {
  let v: bigint;
  if (typeof value === 'bigint') v = value;
  else {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not a safe integer (use a bigint)`);
    v = BigInt(value);
  }
  if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`${value} is outside the AML integer range 0..2^64-1`);
  if (v === 0n) return Uint8Array.of(ZERO_OP);
  if (v === 1n) return Uint8Array.of(ONE_OP);
  const n = Number(v & 0xffffffffn);
  if (v <= 0xffn) return Uint8Array.of(BYTE_PREFIX, n);
  if (v <= 0xffffn) return Uint8Array.of(WORD_PREFIX, n & 0xff, n >>> 8);
  if (v <= 0xffffffffn) return Uint8Array.of(DWORD_PREFIX, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
  const out = new Uint8Array(9);
  out[0] = QWORD_PREFIX;
  for (let i = 0; i < 8; i++) out[1 + i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** A DWord constant regardless of size (as ASL's EisaId() is compiled). */
export function dword(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`${value} is not a 32-bit value`);
  return Uint8Array.of(DWORD_PREFIX, value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24);
}

export const Zero = Uint8Array.of(ZERO_OP);
export const One = Uint8Array.of(ONE_OP);
export const Ones = Uint8Array.of(ONES_OP);

/** A String object: ASCII 0x01-0x7F, NUL-terminated. */
export function string(text: string): Uint8Array {
  const out = new Uint8Array(text.length + 2);
  out[0] = STRING_PREFIX;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x01 || c > 0x7f) throw new RangeError(`AML strings are ASCII without NUL: ${JSON.stringify(text)}`);
    out[1 + i] = c;
  }
  return out;
}

/** A Buffer object holding `bytes` (its size as an integer term). */
export function buffer(bytes: ArrayLike<number>): Uint8Array {
  const body = concat(integer(bytes.length), bytes);
  return concat([BUFFER_OP], pkgLength(body.length), body);
}

/** A Package of already-encoded elements (at most 255). */
export function pkg(...elements: Uint8Array[]): Uint8Array {
  if (elements.length > 255) throw new RangeError(`a Package holds at most 255 elements (${elements.length} given)`);
  const body = concat([elements.length], ...elements);
  return concat([PACKAGE_OP], pkgLength(body.length), body);
}

/** Name(path, value). */
export function name(path: string, value: Uint8Array): Uint8Array {
  return concat([NAME_OP], nameString(path), value);
}

/** Scope(path) { terms }. */
export function scope(path: string, ...terms: Uint8Array[]): Uint8Array {
  const body = concat(nameString(path), ...terms);
  return concat([SCOPE_OP], pkgLength(body.length), body);
}

/** Device(path) { terms }. */
export function device(path: string, ...terms: Uint8Array[]): Uint8Array {
  const body = concat(nameString(path), ...terms);
  return concat([EXT_OP_PREFIX, DEVICE_OP], pkgLength(body.length), body);
}

export interface MethodOptions {
  serialized?: boolean;
  /** 0..15. */
  syncLevel?: number;
}

/** Method(path, argCount, [Not]Serialized, syncLevel) { terms }. */
export function method(path: string, argCount: number, terms: Uint8Array[], opts: MethodOptions = {}): Uint8Array {
  if (!Number.isInteger(argCount) || argCount < 0 || argCount > 7) throw new RangeError(`a method takes 0..7 arguments, not ${argCount}`);
  const sync = opts.syncLevel ?? 0;
  if (!Number.isInteger(sync) || sync < 0 || sync > 15) throw new RangeError(`sync level ${sync} is not 0..15`);
  const flags = argCount | (opts.serialized ? 0x08 : 0) | (sync << 4);
  const body = concat(nameString(path), [flags], ...terms);
  return concat([METHOD_OP], pkgLength(body.length), body);
}

/** Return(value). */
export function ret(value: Uint8Array): Uint8Array {
  return concat([RETURN_OP], value);
}

/** Store(source, target): `target` is a name (string) or an encoded SuperName (ArgN, LocalN). */
export function store(source: Uint8Array, target: string | Uint8Array): Uint8Array {
  return concat([STORE_OP], source, typeof target === 'string' ? nameString(target) : target);
}

/** ArgN (0..6). */
export function arg(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 6) throw new RangeError(`no Arg${n}`);
  return Uint8Array.of(ARG0_OP + n);
}

/** LocalN (0..7). */
export function local(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 7) throw new RangeError(`no Local${n}`);
  return Uint8Array.of(LOCAL0_OP + n);
}

/**
 * EISA ID compression ("PNP0A03" → 0x030AD041): three letters of 5 bits
 * (A = 1) in the first two bytes big-endian, then four hex digits, the whole
 * stored as a little-endian DWord.
 */
export function eisaId(id: string): number {
  if (!/^[A-Z@][A-Z@][A-Z@][0-9A-F]{4}$/.test(id)) throw new RangeError(`"${id}" is not an EISA ID (three letters, four hex digits)`);
  const c = (i: number) => id.charCodeAt(i) - 0x40;
  const b0 = (c(0) << 2) | (c(1) >> 3);
  const b1 = ((c(1) & 7) << 5) | c(2);
  const product = parseInt(id.slice(3), 16);
  return (b0 | (b1 << 8) | ((product >> 8) << 16) | ((product & 0xff) << 24)) >>> 0;
}

/** The EISA ID as ASL's EisaId() compiles it: a DWord constant. */
export function eisaIdObject(id: string): Uint8Array {
  return dword(eisaId(id));
}

/** A definition block: the ACPI table header around a term list (DSDT, SSDT). */
export function definitionBlock(signature: string, revision: number, ids: AcpiTableIds, ...terms: Uint8Array[]): Uint8Array {
  return acpiTable(signature, revision, ids, concat(...terms));
}

// --- resource descriptors (section 6.4) -----------------------------------------

const RES_IO = 0x47; // small item 0x08, length 7
const RES_END_TAG = 0x79; // small item 0x0F, length 1
const RES_DWORD_ADDRESS = 0x87;
const RES_WORD_ADDRESS = 0x88;
const ADDRESS_SPACE_MEMORY = 0;
const ADDRESS_SPACE_IO = 1;
const ADDRESS_SPACE_BUS = 2;
// General flags of address space descriptors.
const GEN_CONSUMER = 1 << 0;
const GEN_SUBTRACTIVE = 1 << 1;
const GEN_MIN_FIXED = 1 << 2;
const GEN_MAX_FIXED = 1 << 3;

/** A ResourceTemplate: the descriptors, an end tag (checksum 0 = "valid"), as a Buffer. */
export function resourceTemplate(...descriptors: Uint8Array[]): Uint8Array {
  return buffer(concat(...descriptors, [RES_END_TAG, 0]));
}

export interface AddressRange {
  min: number;
  max: number;
  /** Default max - min + 1. */
  length?: number;
  granularity?: number;
  translation?: number;
  /** Default false: the device produces the range (a bridge's window). */
  consumer?: boolean;
  subtractive?: boolean;
}

function generalFlags(r: AddressRange): number {
  return (r.consumer ? GEN_CONSUMER : 0) | (r.subtractive ? GEN_SUBTRACTIVE : 0) | GEN_MIN_FIXED | GEN_MAX_FIXED;
}

function wordAddress(type: number, typeFlags: number, r: AddressRange): Uint8Array {
  const len = r.length ?? r.max - r.min + 1;
  const fields = [r.granularity ?? 0, r.min, r.max, r.translation ?? 0, len];
  for (const f of fields) if (!Number.isInteger(f) || f < 0 || f > 0xffff) throw new RangeError(`word address field ${f} out of range`);
  const out = [RES_WORD_ADDRESS, 0x0d, 0x00, type, generalFlags(r), typeFlags];
  for (const f of fields) out.push(f & 0xff, f >>> 8);
  return Uint8Array.from(out);
}

function dwordAddress(type: number, typeFlags: number, r: AddressRange): Uint8Array {
  const len = r.length ?? r.max - r.min + 1;
  const fields = [r.granularity ?? 0, r.min, r.max, r.translation ?? 0, len];
  for (const f of fields) if (!Number.isInteger(f) || f < 0 || f > 0xffffffff) throw new RangeError(`dword address field ${f} out of range`);
  const out = [RES_DWORD_ADDRESS, 0x17, 0x00, type, generalFlags(r), typeFlags];
  for (const f of fields) out.push(f & 0xff, (f >>> 8) & 0xff, (f >>> 16) & 0xff, f >>> 24);
  return Uint8Array.from(out);
}

/** WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, ...). */
export function wordBusNumber(r: AddressRange): Uint8Array {
  return wordAddress(ADDRESS_SPACE_BUS, 0, r);
}

/** WordIO(ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, ...). */
export function wordIo(r: AddressRange): Uint8Array {
  return wordAddress(ADDRESS_SPACE_IO, 0x03 /* _RNG: entire range */, r);
}

export interface MemoryRange extends AddressRange {
  /** Default true. */
  readWrite?: boolean;
  /** 'noncacheable' (default), 'cacheable', 'writecombining', 'prefetchable'. */
  cache?: 'noncacheable' | 'cacheable' | 'writecombining' | 'prefetchable';
}

/** DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, cache, ReadWrite, ...). */
export function dwordMemory(r: MemoryRange): Uint8Array {
  const cache = { noncacheable: 0, cacheable: 1, writecombining: 2, prefetchable: 3 }[r.cache ?? 'noncacheable'];
  return dwordAddress(ADDRESS_SPACE_MEMORY, (r.readWrite ?? true ? 1 : 0) | (cache << 1), r);
}

/** IO(Decode16, min, max, alignment, length). */
export function io16(min: number, max: number, alignment: number, length: number): Uint8Array {
  return Uint8Array.of(RES_IO, 0x01, min & 0xff, min >>> 8, max & 0xff, max >>> 8, alignment, length);
}
