// AML encoder: PkgLength, names, integers, strings, buffers, packages,
// scopes, devices, methods, EISA IDs, resource descriptors, against encodings
// worked out from the ACPI spec and against iasl (a fixture compiled by
// iasl 20200925, and a live compile when acpica-tools is installed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as aml from '../../src/firmware/Aml.ts';
import { byteSum } from '../../src/firmware/Bytes.ts';
import { decodeTermList, haveTool, NO_ACPICA, runTool, runToolBinary } from './amlDecode.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

test('PkgLength: one byte up to 63, then 2-4 bytes with the count in bits 7:6', () => {
  assert.equal(hex(aml.pkgLength(0)), '01');
  assert.equal(hex(aml.pkgLength(62)), '3f');
  // 63 bytes of content: total 65 = 0x41 → lead 0x41 (1 extra byte, nibble 1), then 0x04.
  assert.equal(hex(aml.pkgLength(63)), '4104');
  assert.equal(hex(aml.pkgLength(0xffd)), '4fff'); // total 0xFFF: the largest 2-byte form
  assert.equal(hex(aml.pkgLength(0xffe)), '810001'); // total 0x1001: nibble 1, then bits 11:4, 19:12
  assert.equal(hex(aml.pkgLength(0xffffc)), '8fffff'); // total 0xFFFFF
  assert.equal(hex(aml.pkgLength(0xffffd)), 'c1000001'); // total 0x100001
  assert.throws(() => aml.pkgLength(0x0ffffffc), /too large/);
  for (const n of [0, 1, 61, 62, 63, 64, 100, 0x3ff, 0xffd, 0xffe, 0x12345, 0xffffd, 0x0fffffff - 4]) {
    const p = aml.pkgLength(n);
    assert.deepEqual(aml.decodePkgLength(p, 0), { length: n + p.length, size: p.length }, `content ${n}`);
  }
});

test('NameSeg and NameString: padding, root, parent prefixes, dual and multi names', () => {
  assert.equal(hex(aml.nameSeg('_SB')), '5f53425f');
  assert.equal(hex(aml.nameSeg('PCI0')), '50434930');
  assert.equal(hex(aml.nameString('_S5')), '5f53355f');
  assert.equal(hex(aml.nameString('\\_SB')), '5c5f53425f');
  assert.equal(hex(aml.nameString('\\_SB.PCI0')), '5c2e5f53425f50434930');
  assert.equal(hex(aml.nameString('_SB.PCI0.SUB0')), '2f035f53425f5043493053554230');
  assert.equal(hex(aml.nameString('^^VAL1')), '5e5e56414c31');
  assert.equal(hex(aml.nameString('\\')), '5c00');
  for (const bad of ['', 'pci0', '0ABC', 'ABCDE', 'A-B', '\\_SB..X']) assert.throws(() => aml.nameString(bad), RangeError, bad);
});

test('integers take the shortest prefix; strings; EISA IDs', () => {
  assert.equal(hex(aml.integer(0)), '00');
  assert.equal(hex(aml.integer(1)), '01');
  assert.equal(hex(aml.integer(2)), '0a02');
  assert.equal(hex(aml.integer(0xff)), '0aff');
  assert.equal(hex(aml.integer(0x100)), '0b0001');
  assert.equal(hex(aml.integer(0xffff)), '0bffff');
  assert.equal(hex(aml.integer(0x10000)), '0c00000100');
  assert.equal(hex(aml.integer(0xffffffff)), '0cffffffff');
  assert.equal(hex(aml.integer(0x100000000)), '0e0000000001000000');
  assert.equal(hex(aml.integer(0xffffffffffffffffn)), '0effffffffffffffff');
  assert.throws(() => aml.integer(-1), /range/);
  assert.throws(() => aml.integer(2 ** 60), /bigint/);
  assert.throws(() => aml.integer(0x10000000000000000n), /range/);
  assert.equal(hex(aml.dword(5)), '0c05000000');
  assert.equal(hex(aml.string('ACPI0007')), '0d4143504930303037' + '00');
  assert.equal(hex(aml.string('')), '0d00');
  assert.throws(() => aml.string('é'), /ASCII/);
  assert.equal(aml.eisaId('PNP0A03'), 0x030ad041);
  assert.equal(aml.eisaId('PNP0C0F'), 0x0f0cd041);
  assert.equal(aml.eisaId('PNP0303'), 0x0303d041);
  assert.equal(aml.eisaId('QEM0001'), 0x0100ad44); // Q=0x11 E=0x05 M=0x0D
  assert.equal(hex(aml.eisaIdObject('PNP0A03')), '0c41d00a03');
  assert.throws(() => aml.eisaId('pnp0a03'), /EISA/);
});

test('containers: Buffer, Package, Name, Scope, Device, Method, Return, Store', () => {
  assert.equal(hex(aml.buffer([1, 2, 3])), '11060a03010203');
  assert.equal(hex(aml.buffer([])), '110200'); // Buffer(0){}
  assert.equal(hex(aml.pkg()), '120200');
  assert.equal(hex(aml.pkg(aml.One, aml.string('X'), aml.pkg(aml.integer(10)))), '120b03010d58001204010a0a');
  assert.equal(hex(aml.name('_S5', aml.pkg(aml.Zero, aml.Zero))), '085f53355f1204020000');
  assert.equal(hex(aml.scope('\\_SB')), '10065c5f53425f');
  assert.equal(hex(aml.device('PCI0', aml.name('_UID', aml.Zero))), '5b820b50434930085f55494400');
  assert.equal(hex(aml.method('_STA', 0, [aml.ret(aml.integer(0x0f))])), '14095f53544100a40a0f');
  assert.equal(hex(aml.method('MTH0', 2, [aml.store(aml.arg(1), aml.local(0)), aml.ret(aml.local(0))], { serialized: true, syncLevel: 3 })), '140b4d5448303a706960a460');
  assert.equal(hex(aml.store(aml.arg(0), 'PICF')), '706850494346');
  assert.throws(() => aml.method('X', 8, []), /0\.\.7/);
  assert.throws(() => aml.pkg(...new Array(256).fill(aml.Zero)), /255/);
  assert.throws(() => aml.arg(7), /Arg7/);
  assert.throws(() => aml.local(8), /Local8/);
});

test('resource descriptors match iasl (ResourceTemplate with bus, IO, WordIO, DWordMemory)', () => {
  const rt = aml.resourceTemplate(
    aml.wordBusNumber({ min: 0, max: 0xff }),
    aml.io16(0xcf8, 0xcf8, 1, 8),
    aml.wordIo({ min: 0, max: 0xcf7 }),
    aml.dwordMemory({ min: 0xa0000, max: 0xbffff, cache: 'cacheable' }),
  );
  // iasl 20200925 output for the same ASL template.
  const expected = bytes(`
    11 48 04 0a 44
    88 0d 00 02 0c 00 0000 0000 ff00 0000 0001
    47 01 f8 0c f8 0c 01 08
    88 0d 00 01 0c 03 0000 0000 f70c 0000 f80c
    87 17 00 00 0c 03 00000000 00000a00 ffff0b00 00000000 00000200
    79 00`);
  assert.equal(hex(rt), hex(expected));
  assert.equal(hex(aml.dwordMemory({ min: 0xe0000000, max: 0xfebfffff }).subarray(0, 6)), '871700000c01');
  assert.throws(() => aml.wordIo({ min: 0, max: 0x10000 }), /out of range/);
});

// An SSDT exercising every construct, and the encoder's version of it.
const SAMPLE_ASL = `DefinitionBlock ("", "SSDT", 2, "WKVM  ", "WKVMTEST", 0x00000001)
{
    Name (INT0, Zero)
    Name (INT1, One)
    Name (INTB, 0x2A)
    Name (INTW, 0x1234)
    Name (INTD, 0x12345678)
    Name (INTQ, 0x123456789ABCDEF0)
    Name (STR0, "ACPI0007")
    Name (BUF0, Buffer (0x03) { 0x01, 0x02, 0x03 })
    Name (PKG0, Package (0x03) { One, "X", Package (0x01) { 0x0A } })
    Name (BIGP, Package (0x14) { ${Array.from({ length: 20 }, (_, i) => `0x${(0x10000 + i).toString(16).toUpperCase().padStart(8, '0')}`).join(', ')} })
    Scope (\\_SB)
    {
        Device (PCI0)
        {
            Name (_HID, EisaId ("PNP0A03"))
            Method (_STA, 0, NotSerialized) { Return (0x0F) }
            Device (SUB0) { Name (_ADR, 0x00010002) }
        }
    }
    Scope (\\_SB.PCI0.SUB0) { Name (^VAL1, 0x06) }
    Method (MTH0, 2, Serialized, 3) { Store (Arg1, Local0) Return (Local0) }
}
`;

/** iasl 20200925's output for SAMPLE_ASL (creator "INTL" 0x20200925). */
const SAMPLE_AML = bytes(`
  535344544801000002c9574b564d2020574b564d5445535401000000494e544c25092020
  08494e54300008494e54310108494e54420a2a08494e54570b341208494e54440c78563412
  08494e54510ef0debc9a7856341208535452300d414350493030303700084255463011060a
  0301020308504b4730120b03010d58001204010a0a0842494750124706140c000001000c01
  0001000c020001000c030001000c040001000c050001000c060001000c070001000c080001
  000c090001000c0a0001000c0b0001000c0c0001000c0d0001000c0e0001000c0f0001000c
  100001000c110001000c120001000c1300010010325c5f53425f5b822a50434930085f4849
  440c41d00a0314095f53544100a40a0f5b820f53554230085f4144520c0200010010185c2f
  035f53425f5043493053554230085e56414c310a06140b4d5448303a706960a460`);

function encodeSample(): Uint8Array {
  return aml.definitionBlock(
    'SSDT',
    2,
    { oemId: 'WKVM  ', oemTableId: 'WKVMTEST', oemRevision: 1, creatorId: 'INTL', creatorRevision: 0x20200925 },
    aml.name('INT0', aml.integer(0)),
    aml.name('INT1', aml.integer(1)),
    aml.name('INTB', aml.integer(0x2a)),
    aml.name('INTW', aml.integer(0x1234)),
    aml.name('INTD', aml.integer(0x12345678)),
    aml.name('INTQ', aml.integer(0x123456789abcdef0n)),
    aml.name('STR0', aml.string('ACPI0007')),
    aml.name('BUF0', aml.buffer([1, 2, 3])),
    aml.name('PKG0', aml.pkg(aml.One, aml.string('X'), aml.pkg(aml.integer(10)))),
    aml.name('BIGP', aml.pkg(...Array.from({ length: 20 }, (_, i) => aml.integer(0x10000 + i)))),
    aml.scope(
      '\\_SB',
      aml.device(
        'PCI0',
        aml.name('_HID', aml.eisaIdObject('PNP0A03')),
        aml.method('_STA', 0, [aml.ret(aml.integer(0x0f))]),
        aml.device('SUB0', aml.name('_ADR', aml.integer(0x00010002))),
      ),
    ),
    aml.scope('\\_SB.PCI0.SUB0', aml.name('^VAL1', aml.integer(6))),
    aml.method('MTH0', 2, [aml.store(aml.arg(1), aml.local(0)), aml.ret(aml.local(0))], { serialized: true, syncLevel: 3 }),
  );
}

test('a definition block equals what iasl compiles from the same ASL (fixture)', () => {
  const ours = encodeSample();
  assert.equal(byteSum(ours), 0, 'table checksum');
  assert.equal(hex(ours), hex(SAMPLE_AML));
  // And decodes (independent decoder) to the expected namespace.
  const objs = decodeTermList(ours, 36);
  const byPath = new Map(objs.map((o) => [o.path, o]));
  assert.equal(byPath.get('\\INTQ')?.value, 0x123456789abcdef0n);
  assert.deepEqual(byPath.get('\\PKG0')?.value, [1n, 'X', [10n]]);
  assert.equal(byPath.get('\\_SB_.PCI0._HID')?.value, 0x030ad041n);
  assert.equal(byPath.get('\\_SB_.PCI0.VAL1')?.value, 6n);
  assert.equal(byPath.get('\\MTH0')?.argCount, 2);
});

test('iasl oracle: live compile of the sample ASL matches the encoder; -d round-trips', (t) => {
  if (!haveTool('iasl')) {
    t.skip(NO_ACPICA);
    return;
  }
  const compiled = runToolBinary('iasl', ['s.asl'], { 's.asl': SAMPLE_ASL }, 's.aml');
  assert.ok(compiled.bytes, `iasl produced no AML:\n${compiled.output}`);
  const ours = encodeSample();
  // Same body; the header differs only if iasl's version differs from the fixture's.
  assert.equal(hex(ours.subarray(36)), hex(compiled.bytes!.subarray(36)));
  const dis = runTool('iasl', ['-d', 's.aml'], { 's.aml': ours }, ['s.dsl']);
  const dsl = dis.files.get('s.dsl') ?? '';
  assert.doesNotMatch(dis.output, /\bError\b/i, dis.output);
  assert.match(dsl, /EisaId \("PNP0A03"\)/);
  assert.match(dsl, /Method \(MTH0, 2, Serialized, 3\)/);
  assert.match(dsl, /Name \(INTQ, 0x123456789ABCDEF0\)/);
});
