// MP specification 1.4 tables: floating pointer and configuration table
// parsed back at the spec's offsets, checksums, entry order and contents,
// and the same PCI routing as the ACPI _PRT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMpTable, type MpTableOptions } from '../../src/firmware/MpTable.ts';
import { buildAcpiTables } from '../../src/firmware/AcpiTables.ts';
import { byteSum } from '../../src/firmware/Bytes.ts';
import { namespaceOf, type AmlValue } from './amlDecode.ts';

const BASE: MpTableOptions = { cpus: 2, ioApicId: 2, ioApicAddress: 0xfec00000 };

function parse(opts: MpTableOptions) {
  const r = buildMpTable(opts);
  const f = new DataView(r.floating.buffer, r.floating.byteOffset, r.floating.byteLength);
  const t = new DataView(r.table.buffer, r.table.byteOffset, r.table.byteLength);
  const str = (b: Uint8Array, at: number, n: number) => new TextDecoder().decode(b.subarray(at, at + n));
  const entries: { type: number; bytes: number[] }[] = [];
  let at = 44;
  const baseLen = t.getUint16(4, true);
  while (at < baseLen) {
    const type = r.table[at];
    const len = type === 0 ? 20 : 8;
    entries.push({ type, bytes: Array.from(r.table.subarray(at, at + len)) });
    at += len;
  }
  assert.equal(at, baseLen, 'entries fill the base table exactly');
  return { r, f, t, str, entries };
}

test('floating pointer: "_MP_", 16 bytes, 16-byte aligned in 0xF0000-0xFFFFF, checksum, points to the table', () => {
  const { r, f, str } = parse(BASE);
  assert.equal(r.floatingAddr, 0xf0000);
  assert.equal(r.floating.length, 16);
  assert.equal(str(r.floating, 0, 4), '_MP_');
  assert.equal(f.getUint32(4, true), r.tableAddr);
  assert.equal(r.tableAddr, 0xf0010);
  assert.equal(r.floating[8], 1, 'length in paragraphs');
  assert.equal(r.floating[9], 4, 'spec 1.4');
  assert.equal(byteSum(r.floating), 0);
  assert.equal(r.floating[11], 0, 'feature 1: a configuration table is present');
  assert.equal(r.floating[12], 0, 'feature 2: virtual wire mode (no IMCR)');
  assert.deepEqual(Array.from(r.bytes.subarray(0, 16)), Array.from(r.floating));
  assert.deepEqual(Array.from(r.bytes.subarray(16)), Array.from(r.table));
  assert.equal(buildMpTable({ ...BASE, address: 0xf5b00 }).tableAddr, 0xf5b10);
  assert.throws(() => buildMpTable({ ...BASE, address: 0xe0000 }), /0xF0000-0xFFFFF/);
  assert.throws(() => buildMpTable({ ...BASE, address: 0xf0008 }), /16-byte aligned/);
  assert.throws(() => buildMpTable({ ...BASE, cpus: 0 }), /cpus/);
  assert.throws(() => buildMpTable({ ...BASE, ioApicId: 16 }), /0\.\.15/);
});

test('configuration table header: PCMP, length, revision, checksum, IDs, entry count, local APIC', () => {
  const { r, t, str, entries } = parse(BASE);
  assert.equal(str(r.table, 0, 4), 'PCMP');
  assert.equal(t.getUint16(4, true), r.table.length);
  assert.equal(r.table[6], 4);
  assert.equal(byteSum(r.table), 0);
  assert.equal(str(r.table, 8, 8), 'WKVM    ');
  assert.equal(str(r.table, 16, 12), 'WKVMPC      ');
  assert.equal(t.getUint32(28, true), 0, 'no OEM table');
  assert.equal(t.getUint16(32, true), 0);
  assert.equal(t.getUint16(34, true), entries.length);
  assert.equal(t.getUint32(36, true), 0xfee00000);
  assert.equal(t.getUint16(40, true), 0, 'no extended table');
  assert.equal(r.table[42], 0);
  // Sorted by entry type.
  const types = entries.map((e) => e.type);
  assert.deepEqual(types, [...types].sort((a, b) => a - b));
  assert.equal(entries.length, 2 + 2 + 1 + 15 + 124 + 2);
});

test('processor, bus and I/O APIC entries', () => {
  const { entries } = parse({ ...BASE, cpus: 3 });
  const cpus = entries.filter((e) => e.type === 0).map((e) => e.bytes);
  assert.equal(cpus.length, 3);
  cpus.forEach((c, i) => {
    assert.equal(c[1], i, 'local APIC ID');
    assert.equal(c[2], 0x14, 'local APIC version');
    assert.equal(c[3], i === 0 ? 3 : 1, 'EN, and BP on CPU 0');
    const sig = c[4] | (c[5] << 8) | (c[6] << 16) | (c[7] << 24);
    assert.equal(sig, 0x6d6, 'family 6 model 13 stepping 6');
    assert.deepEqual([(sig >> 8) & 0xf, (sig >> 4) & 0xf, sig & 0xf], [6, 13, 6]);
    const features = (c[8] | (c[9] << 8) | (c[10] << 16) | (c[11] << 24)) >>> 0;
    assert.ok(features & (1 << 9), 'APIC feature bit');
    assert.ok(features & 1, 'FPU feature bit');
    assert.deepEqual(c.slice(12), [0, 0, 0, 0, 0, 0, 0, 0]);
  });
  const buses = entries.filter((e) => e.type === 1).map((e) => [e.bytes[1], String.fromCharCode(...e.bytes.slice(2))]);
  assert.deepEqual(buses, [[0, 'PCI   '], [1, 'ISA   ']]);
  const ioapic = entries.filter((e) => e.type === 2).map((e) => e.bytes);
  assert.deepEqual(ioapic, [[2, 2, 0x11, 1, 0x00, 0x00, 0xc0, 0xfe]]);
});

test('I/O interrupt entries: ISA IRQs (IRQ0 → pin 2, no IRQ2, IRQ9 level/high), PCI INTx level/low', () => {
  const { entries } = parse(BASE);
  const io = entries.filter((e) => e.type === 3).map((e) => e.bytes);
  const isa = io.filter((e) => e[4] === 1);
  assert.deepEqual(
    isa.map((e) => e[5]),
    [0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    'ISA source IRQs',
  );
  for (const e of isa) {
    const irq = e[5];
    assert.equal(e[1], 0, 'INT');
    assert.equal(e[2] | (e[3] << 8), irq === 9 ? 0x0d : 0x00, `IRQ ${irq} flags`);
    assert.equal(e[6], 2, 'destination I/O APIC ID');
    assert.equal(e[7], irq === 0 ? 2 : irq, `IRQ ${irq} pin`);
  }
  const pci = io.filter((e) => e[4] === 0);
  assert.equal(pci.length, 124);
  for (const e of pci) {
    const slot = e[5] >> 2;
    const pin = e[5] & 3;
    assert.ok(slot >= 1 && slot <= 31);
    assert.equal(e[1], 0);
    assert.equal(e[2] | (e[3] << 8), 0x0f, 'level, active low');
    assert.equal(e[6], 2);
    assert.equal(e[7], 16 + ((slot + pin) % 4), `slot ${slot} pin ${pin}`);
  }
  assert.equal(new Set(pci.map((e) => e[5])).size, 124, 'each slot/pin once');
  // Another SCI IRQ moves the level entry.
  const other = parse({ ...BASE, sciIrq: 11 }).entries.filter((e) => e.type === 3 && e.bytes[4] === 1);
  assert.equal(other.find((e) => e.bytes[5] === 11)!.bytes[2], 0x0d);
  assert.equal(other.find((e) => e.bytes[5] === 9)!.bytes[2], 0x00);
});

test('local interrupt entries: ExtINT on LINT0, NMI on LINT1, all local APICs', () => {
  const { entries } = parse(BASE);
  const local = entries.filter((e) => e.type === 4).map((e) => e.bytes);
  assert.deepEqual(local, [
    [4, 3, 0, 0, 1, 0, 0xff, 0],
    [4, 1, 0, 0, 1, 0, 0xff, 1],
  ]);
});

test('the MP table and the ACPI _PRT route every PCI slot/pin to the same GSI', () => {
  const acpi = buildAcpiTables({ cpus: 2, ioApicAddress: 0xfec00000, ioApicId: 2, pmBase: 0x600, sciIrq: 9, tableBase: 0x100000 });
  const dsdt = acpi.tables.find((t) => t.signature === 'DSDT')!.bytes;
  const prt = namespaceOf(dsdt).get('\\_SB_.PCI0._PRT')!.value as AmlValue[][];
  const fromAcpi = new Map(prt.map((e) => [`${Number(e[0] as bigint) >>> 16}/${e[1]}`, Number(e[3] as bigint)]));
  const { entries } = parse(BASE);
  const pci = entries.filter((e) => e.type === 3 && e.bytes[4] === 0).map((e) => e.bytes);
  assert.equal(fromAcpi.size, pci.length);
  for (const e of pci) assert.equal(e[7], fromAcpi.get(`${e[5] >> 2}/${e[5] & 3}`));
});

test('many CPUs still fit below 1 MiB', () => {
  const { r, entries } = parse({ ...BASE, cpus: 64 });
  assert.equal(entries.filter((e) => e.type === 0).length, 64);
  assert.ok(r.tableAddr + r.table.length <= 0x100000);
  assert.equal(byteSum(r.table), 0);
});
