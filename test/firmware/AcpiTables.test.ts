// ACPI tables: layout and placement, checksums, RSDP/RSDT/FADT/FACS/MADT
// fields read back at the spec's offsets, the DSDT namespace (decoded
// independently), consistency with the AcpiPm device, and the ACPICA tools
// as the oracle: iasl -d disassembles every table without errors, the
// disassembly recompiles to the same bytes, acpiexec loads the FADT and
// DSDT and evaluates \_S5, _PRT, _CRS and \_PIC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AcpiPm, PM1_SCI_EN, PM1_SLP_EN } from '../../src/devices/AcpiPm.ts';
import {
  buildAcpiTables,
  FADT_PROC_C1,
  FADT_RESET_REG_SUP,
  FADT_SLP_BUTTON,
  FADT_WBINVD,
  FADT_FORCE_APIC_PHYSICAL_DESTINATION_MODE,
  type AcpiTablesOptions,
  type AcpiTablesResult,
} from '../../src/firmware/AcpiTables.ts';
import { byteSum } from '../../src/firmware/Bytes.ts';
import { IrqLine } from '../../src/vmm/IrqLine.ts';
import { PortBus } from '../../src/vmm/PortBus.ts';
import { Timers } from '../../src/vmm/Timers.ts';
import { ManualClock } from '../devices/harness.ts';
import { haveTool, namespaceOf, NO_ACPICA, runTool, runToolBinary, type AmlValue } from './amlDecode.ts';

const BASE: AcpiTablesOptions = { cpus: 2, ioApicAddress: 0xfec00000, ioApicId: 2, pmBase: 0x600, sciIrq: 9, tableBase: 0x7ff0000 };

/** A guest-physical view of the result: read any address the tables occupy. */
class Phys {
  constructor(readonly r: AcpiTablesResult) {}
  private at(addr: number): { b: Uint8Array; o: number } {
    if (addr >= this.r.rsdpAddr && addr < this.r.rsdpAddr + this.r.rsdp.length) return { b: this.r.rsdp, o: addr - this.r.rsdpAddr };
    for (const t of this.r.tables) if (addr >= t.addr && addr < t.addr + t.bytes.length) return { b: t.bytes, o: addr - t.addr };
    throw new Error(`nothing at 0x${addr.toString(16)}`);
  }
  u8(a: number) {
    const { b, o } = this.at(a);
    return b[o];
  }
  u16(a: number) {
    return this.u8(a) | (this.u8(a + 1) << 8);
  }
  u32(a: number) {
    return (this.u16(a) | (this.u16(a + 2) << 16)) >>> 0;
  }
  u64(a: number) {
    return BigInt(this.u32(a)) | (BigInt(this.u32(a + 4)) << 32n);
  }
  str(a: number, n: number) {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.u8(a + i));
    return s;
  }
  table(addr: number): Uint8Array {
    const t = this.r.tables.find((x) => x.addr === addr);
    if (!t) throw new Error(`no table starts at 0x${addr.toString(16)}`);
    return t.bytes;
  }
}

function tablesOf(r: AcpiTablesResult) {
  const p = new Phys(r);
  const rsdt = p.u32(r.rsdpAddr + 16);
  const entries: number[] = [];
  for (let a = rsdt + 36; a < rsdt + p.u32(rsdt + 4); a += 4) entries.push(p.u32(a));
  const bySig = new Map(entries.map((e) => [p.str(e, 4), e]));
  const fadt = bySig.get('FACP')!;
  return { p, rsdt, entries, fadt, madt: bySig.get('APIC')!, facs: p.u32(fadt + 36), dsdt: p.u32(fadt + 40) };
}

test('RSDP: ACPI 1.0 form in the BIOS area, checksum, points to the RSDT', () => {
  const r = buildAcpiTables(BASE);
  assert.equal(r.rsdpAddr, 0xe0000);
  assert.equal(r.rsdp.length, 20);
  assert.equal(new TextDecoder().decode(r.rsdp.subarray(0, 8)), 'RSD PTR ');
  assert.equal(byteSum(r.rsdp), 0);
  assert.equal(new TextDecoder().decode(r.rsdp.subarray(9, 15)), 'WKVM  ');
  assert.equal(r.rsdp[15], 0, 'revision 0');
  const { p, rsdt } = tablesOf(r);
  assert.equal(p.str(rsdt, 4), 'RSDT');
  const other = buildAcpiTables({ ...BASE, rsdpAddress: 0xf5a10 });
  assert.equal(other.rsdpAddr, 0xf5a10);
  assert.throws(() => buildAcpiTables({ ...BASE, rsdpAddress: 0xf5a18 }), /16-byte aligned/);
  assert.throws(() => buildAcpiTables({ ...BASE, rsdpAddress: 0xd0000 }), /0xE0000-0xFFFFF/);
});

test('placement: FACS 64-byte aligned first, all tables inside [tableBase, +totalSize), checksums', () => {
  const r = buildAcpiTables(BASE);
  assert.deepEqual(r.tables.map((t) => t.signature), ['FACS', 'DSDT', 'FACP', 'APIC', 'RSDT']);
  assert.equal(r.tables[0].addr, BASE.tableBase);
  assert.equal(r.totalSize % 4096, 0);
  assert.ok(r.usedSize <= r.totalSize);
  let prevEnd = BASE.tableBase;
  for (const t of r.tables) {
    assert.ok(t.addr >= prevEnd, `${t.signature} overlaps the previous table`);
    assert.equal(t.addr % 16, 0);
    prevEnd = t.addr + t.bytes.length;
    assert.ok(prevEnd <= BASE.tableBase + r.usedSize);
    if (t.signature === 'FACS') continue; // no checksum
    assert.equal(new TextDecoder().decode(t.bytes.subarray(0, 4)), t.signature);
    assert.equal(new DataView(t.bytes.buffer, t.bytes.byteOffset).getUint32(4, true), t.bytes.length, `${t.signature} length`);
    assert.equal(byteSum(t.bytes), 0, `${t.signature} checksum`);
    assert.equal(new TextDecoder().decode(t.bytes.subarray(10, 16)), 'WKVM  ');
    assert.equal(new TextDecoder().decode(t.bytes.subarray(16, 24)), 'WKVMPC  ');
  }
  const { facs } = tablesOf(r);
  assert.equal(facs % 64, 0);
  assert.throws(() => buildAcpiTables({ ...BASE, tableBase: 0x7ff0020 }), /64-byte aligned/);
  assert.throws(() => buildAcpiTables({ ...BASE, cpus: 0 }), /cpus/);
  assert.throws(() => buildAcpiTables({ ...BASE, sciIrq: 2 }), /SCI IRQ/);
  assert.throws(() => buildAcpiTables({ ...BASE, ioApicId: 16 }), /0\.\.15/);
});

test('RSDT lists FACP and APIC; FACS layout', () => {
  const r = buildAcpiTables(BASE);
  const { p, entries, fadt, madt, facs } = tablesOf(r);
  assert.deepEqual(entries.map((e) => p.str(e, 4)), ['FACP', 'APIC']);
  assert.equal(p.u8(fadt + 8), 3, 'FADT revision 3');
  assert.equal(p.u8(madt + 8), 1, 'MADT revision 1');
  assert.equal(p.str(facs, 4), 'FACS');
  assert.equal(p.u32(facs + 4), 64);
  assert.equal(p.u32(facs + 12), 0, 'no waking vector');
  assert.equal(p.u32(facs + 16), 0, 'global lock free');
  assert.equal(p.u8(facs + 32), 1, 'version');
});

test('FADT fields (ACPI 3.0 offsets) describe AcpiPm at pmBase', () => {
  const r = buildAcpiTables(BASE);
  const { p, fadt: f, facs, dsdt } = tablesOf(r);
  assert.equal(p.u32(f + 4), 244);
  assert.equal(p.u32(f + 36), facs);
  assert.equal(p.str(dsdt, 4), 'DSDT');
  assert.equal(p.u16(f + 46), 9, 'SCI_INT');
  assert.equal(p.u32(f + 48), 0, 'SMI_CMD 0: always in ACPI mode');
  assert.equal(p.u8(f + 52), 0);
  assert.equal(p.u8(f + 53), 0);
  assert.equal(p.u32(f + 56), 0x600, 'PM1a_EVT_BLK');
  assert.equal(p.u32(f + 60), 0);
  assert.equal(p.u32(f + 64), 0x604, 'PM1a_CNT_BLK');
  assert.equal(p.u32(f + 68), 0);
  assert.equal(p.u32(f + 72), 0, 'no PM2');
  assert.equal(p.u32(f + 76), 0x608, 'PM_TMR_BLK');
  assert.equal(p.u32(f + 80), 0x620, 'GPE0_BLK');
  assert.equal(p.u32(f + 84), 0);
  assert.deepEqual([p.u8(f + 88), p.u8(f + 89), p.u8(f + 90), p.u8(f + 91), p.u8(f + 92), p.u8(f + 93)], [4, 2, 0, 4, 4, 0]);
  assert.ok(p.u16(f + 96) > 100, 'no C2');
  assert.ok(p.u16(f + 98) > 1000, 'no C3');
  assert.equal(p.u8(f + 108), 0x32, 'CENTURY = CMOS 0x32');
  assert.equal(p.u16(f + 109), 0x0003, 'IAPC_BOOT_ARCH: LEGACY_DEVICES | 8042');
  const flags = p.u32(f + 112);
  assert.equal(flags, FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_RESET_REG_SUP);
  assert.equal(flags & (1 << 4), 0, 'fixed-feature power button');
  assert.equal(flags & (1 << 7), 0, 'RTC_S4 off');
  assert.equal(flags & (1 << 8), 0, 'TMR_VAL_EXT off: 24-bit timer');
  // RESET_REG: SystemIO, 8 bits, byte access, 0xCF9, value 6.
  assert.deepEqual([p.u8(f + 116), p.u8(f + 117), p.u8(f + 118), p.u8(f + 119)], [1, 8, 0, 1]);
  assert.equal(p.u64(f + 120), 0xcf9n);
  assert.equal(p.u8(f + 128), 6);
  assert.equal(p.u64(f + 132), 0n, 'X_FIRMWARE_CTRL unused');
  assert.equal(p.u64(f + 140), BigInt(dsdt), 'X_DSDT');
  const gas = (o: number) => [p.u8(f + o), p.u8(f + o + 1), Number(p.u64(f + o + 4))];
  assert.deepEqual(gas(148), [1, 32, 0x600], 'X_PM1a_EVT_BLK');
  assert.deepEqual(gas(160), [0, 0, 0], 'X_PM1b_EVT_BLK');
  assert.deepEqual(gas(172), [1, 16, 0x604], 'X_PM1a_CNT_BLK');
  assert.deepEqual(gas(208), [1, 32, 0x608], 'X_PM_TMR_BLK');
  assert.deepEqual(gas(220), [1, 32, 0x620], 'X_GPE0_BLK');
  // Options: another PM base, no reset register, many CPUs.
  const r2 = buildAcpiTables({ ...BASE, pmBase: 0xb000, resetRegister: null, cpus: 12 });
  const t2 = tablesOf(r2);
  assert.equal(t2.p.u32(t2.fadt + 56), 0xb000);
  assert.equal(t2.p.u32(t2.fadt + 80), 0xb020);
  const flags2 = t2.p.u32(t2.fadt + 112);
  assert.equal(flags2 & FADT_RESET_REG_SUP, 0);
  assert.equal(flags2 & FADT_FORCE_APIC_PHYSICAL_DESTINATION_MODE, FADT_FORCE_APIC_PHYSICAL_DESTINATION_MODE);
  assert.equal(t2.p.u64(t2.fadt + 120), 0n);
});

test('MADT: local APIC address, PCAT_COMPAT, CPUs, I/O APIC, overrides, LINT1 NMI', () => {
  const r = buildAcpiTables({ ...BASE, cpus: 4 });
  const { p, madt: m } = tablesOf(r);
  assert.equal(p.u32(m + 36), 0xfee00000);
  assert.equal(p.u32(m + 40), 1, 'PCAT_COMPAT');
  const end = m + p.u32(m + 4);
  const subs: number[][] = [];
  for (let a = m + 44; a < end; a += p.u8(a + 1)) {
    const len = p.u8(a + 1);
    assert.ok(len >= 2);
    subs.push(Array.from({ length: len }, (_, i) => p.u8(a + i)));
  }
  const cpus = subs.filter((s) => s[0] === 0);
  assert.deepEqual(cpus, [0, 1, 2, 3].map((i) => [0, 8, i, i, 1, 0, 0, 0]));
  const ioapics = subs.filter((s) => s[0] === 1);
  assert.deepEqual(ioapics, [[1, 12, 2, 0, 0x00, 0x00, 0xc0, 0xfe, 0, 0, 0, 0]]);
  const overrides = subs.filter((s) => s[0] === 2);
  assert.deepEqual(overrides, [
    [2, 10, 0, 0, 2, 0, 0, 0, 0x00, 0x00], // ISA IRQ0 → GSI 2, conforming
    [2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0x00], // SCI: level, active high
  ]);
  const nmis = subs.filter((s) => s[0] === 4);
  assert.deepEqual(nmis, [[4, 6, 0xff, 0, 0, 1]]);
  assert.equal(subs.length, cpus.length + 4);
});

const gsiOf = (slot: number, pin: number) => 16 + ((slot + pin) % 4);

test('DSDT namespace: \\_S5, \\_PIC, \\_SB.PCI0 (_HID, _UID, _BBN, _CRS, _PRT), processors', () => {
  const r = buildAcpiTables(BASE);
  const { p, dsdt } = tablesOf(r);
  assert.equal(p.u8(dsdt + 8), 1, 'DSDT revision 1 (32-bit integers)');
  const ns = namespaceOf(p.table(dsdt));
  assert.deepEqual(ns.get('\\_S5_')?.value, [0n, 0n, 0n, 0n]);
  const pic = ns.get('\\_PIC');
  assert.equal(pic?.kind, 'method');
  assert.equal(pic?.argCount, 1);
  assert.equal(ns.get('\\_SB_.PCI0')?.kind, 'device');
  assert.equal(ns.get('\\_SB_.PCI0._HID')?.value, 0x030ad041n, 'EISAID PNP0A03');
  assert.equal(ns.get('\\_SB_.PCI0._UID')?.value, 0n);
  assert.equal(ns.get('\\_SB_.PCI0._BBN')?.value, 0n);
  assert.equal(ns.get('\\_SB_.PCI0._ADR'), undefined, 'a device has _HID or _ADR, not both');
  const prt = ns.get('\\_SB_.PCI0._PRT')?.value as AmlValue[];
  assert.equal(prt.length, 31 * 4);
  let i = 0;
  for (let slot = 1; slot < 32; slot++) {
    for (let pin = 0; pin < 4; pin++) {
      assert.deepEqual(prt[i++], [BigInt((slot << 16) | 0xffff), BigInt(pin), 0n, BigInt(gsiOf(slot, pin))], `slot ${slot} pin ${pin}`);
    }
  }
  // PIIX3: PIRQ = (slot + pin# - 1) mod 4 with pin# 1..4, PIRQA..D on pins 16..19.
  for (let slot = 1; slot < 32; slot++) for (let pinNo = 1; pinNo <= 4; pinNo++) assert.equal(gsiOf(slot, pinNo - 1), 16 + ((slot + pinNo - 1) % 4));
  const crs = ns.get('\\_SB_.PCI0._CRS')?.value as Uint8Array;
  assert.ok(crs instanceof Uint8Array);
  assert.deepEqual(Array.from(crs.subarray(crs.length - 2)), [0x79, 0x00], 'end tag');
  // The PCI memory window: DWordMemory min/max at offsets 10/14 of its descriptor.
  const last = crs.length - 2 - 26;
  assert.equal(crs[last], 0x87);
  const dv = new DataView(crs.buffer, crs.byteOffset);
  assert.equal(dv.getUint32(last + 10, true), 0xe0000000);
  assert.equal(dv.getUint32(last + 14, true), 0xfebfffff);
  assert.equal(ns.get('\\_SB_.C000._HID')?.value, 'ACPI0007');
  assert.equal(ns.get('\\_SB_.C001._UID')?.value, 1n);
  assert.equal(ns.get('\\_SB_.C002'), undefined);
  // Options.
  const r2 = buildAcpiTables({ ...BASE, s5SleepType: 5, processorDevices: false, pciMemoryWindow: { base: 0xc0000000, end: 0xfebfffff } });
  const t2 = tablesOf(r2);
  const ns2 = namespaceOf(t2.p.table(t2.dsdt));
  assert.deepEqual(ns2.get('\\_S5_')?.value, [5n, 5n, 0n, 0n]);
  assert.equal(ns2.get('\\_SB_.C000'), undefined);
  const crs2 = ns2.get('\\_SB_.PCI0._CRS')?.value as Uint8Array;
  assert.equal(new DataView(crs2.buffer, crs2.byteOffset).getUint32(crs2.length - 28 + 10, true), 0xc0000000);
});

test('the tables drive AcpiPm: \\_S5 written to PM1a_CNT with SLP_EN powers off; PM ports are where the FADT says', () => {
  const r = buildAcpiTables(BASE);
  const { p, fadt, dsdt } = tablesOf(r);
  const clock = new ManualClock();
  const bus = new PortBus();
  let off = 0;
  const pm = new AcpiPm({ timers: new Timers(clock), sci: new IrqLine('sci'), base: BASE.pmBase, onPowerOff: () => off++ });
  pm.register(bus);
  for (const [o, len] of [[56, 88], [64, 89], [76, 91], [80, 92]]) {
    const port = p.u32(fadt + o);
    for (let k = 0; k < p.u8(fadt + len); k++) assert.match(bus.ownerOf(port + k) ?? '', /acpi-pm/, `port 0x${(port + k).toString(16)}`);
  }
  const s5 = (namespaceOf(p.table(dsdt)).get('\\_S5_')?.value as bigint[])[0];
  const cnt = p.u32(fadt + 64);
  // ACPICA's sequence: SLP_TYP first, then SLP_TYP | SLP_EN, preserving SCI_EN.
  const v = bus.read(cnt, 2);
  assert.equal(v & PM1_SCI_EN, PM1_SCI_EN);
  bus.write(cnt, 2, v | (Number(s5) << 10));
  assert.equal(off, 0);
  bus.write(cnt, 2, v | (Number(s5) << 10) | PM1_SLP_EN);
  assert.equal(off, 1);
});

// --- ACPICA oracle ----------------------------------------------------------------

function tableFiles(r: AcpiTablesResult): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const t of r.tables) files[`${t.signature.toLowerCase()}.dat`] = t.bytes;
  return files;
}

test('iasl -d disassembles every table without errors or warnings; DSDT has _S5_, PNP0A03, _PRT', (t) => {
  if (!haveTool('iasl')) {
    t.skip(NO_ACPICA);
    return;
  }
  const r = buildAcpiTables({ ...BASE, cpus: 4 });
  for (const [file, bytes] of Object.entries(tableFiles(r))) {
    const dsl = file.replace('.dat', '.dsl');
    const run = runTool('iasl', ['-d', file], { [file]: bytes }, [dsl]);
    assert.equal(run.status, 0, run.output);
    assert.doesNotMatch(run.output, /\b(Error|Warning)\b/i, `${file}:\n${run.output}`);
    const text = run.files.get(dsl);
    assert.ok(text, `${file}: no disassembly\n${run.output}`);
    assert.doesNotMatch(text!, /\*\*\*\* (Unknown|Invalid|Incorrect)/i, `${file}:\n${text}`);
    if (file === 'dsdt.dat') {
      assert.match(text!, /Name \(_S5, Package \(0x04\)/);
      assert.match(text!, /_S5_/);
      assert.match(text!, /EisaId \("PNP0A03"\)/);
      assert.match(text!, /Name \(_PRT, Package \(0x7C\)/);
      assert.match(text!, /Method \(_PIC, 1, NotSerialized\)/);
      assert.match(text!, /WordBusNumber \(ResourceProducer/);
    }
    if (file === 'facp.dat') {
      assert.match(text!, /PM1A Event Block Address : 00000600/);
      assert.match(text!, /PM Timer Block Address : 00000608/);
      assert.match(text!, /SCI Interrupt : 0009/);
      assert.match(text!, /Legacy Devices Supported \(V2\) : 1/);
      assert.match(text!, /8042 Present on ports 60\/64 \(V2\) : 1/);
    }
    if (file === 'apic.dat') {
      assert.equal(text!.match(/\[Processor Local APIC\]/g)?.length, 4);
      assert.match(text!, /\[Interrupt Source Override\][\s\S]*Source : 09[\s\S]*Interrupt : 00000009[\s\S]*Flags \(decoded below\) : 000D/);
      assert.match(text!, /\[Local APIC NMI\]/);
    }
  }
});

test('iasl: the disassembly recompiles cleanly to the same bytes (DSDT and data tables)', (t) => {
  if (!haveTool('iasl')) {
    t.skip(NO_ACPICA);
    return;
  }
  const r = buildAcpiTables(BASE);
  for (const [file, bytes] of Object.entries(tableFiles(r))) {
    const dsl = file.replace('.dat', '.dsl');
    const dis = runTool('iasl', ['-d', file], { [file]: bytes }, [dsl]);
    const src = dis.files.get(dsl)!;
    // iasl recognises a disassembled data table by its layout and compiles it back.
    const re = runToolBinary('iasl', ['-p', 're', dsl], { [dsl]: src }, 're.aml');
    assert.match(re.output, /Compilation successful\.\s+0 Errors, 0 Warnings/, `${file}:\n${re.output}`);
    assert.ok(re.bytes);
    // iasl writes its own creator ID/revision (and so checksum); the rest must be identical.
    const strip = (b: Uint8Array) => Buffer.from([...b.subarray(0, 9), ...b.subarray(10, 28), ...b.subarray(36)]).toString('hex');
    assert.equal(strip(re.bytes!), strip(bytes), `${file} round trip`);
  }
});

test('acpiexec loads FADT + DSDT + MADT and evaluates \\_S5, _PRT, _CRS, \\_PIC', (t) => {
  if (!haveTool('acpiexec')) {
    t.skip(NO_ACPICA);
    return;
  }
  const r = buildAcpiTables(BASE);
  const files = tableFiles(r);
  const run = runTool(
    'acpiexec',
    ['-b', 'evaluate \\_S5_; evaluate \\_SB.PCI0._PRT; evaluate \\_SB.PCI0._CRS; evaluate \\_PIC 1; evaluate \\PICF', 'facp.dat', 'dsdt.dat', 'apic.dat'],
    { 'facp.dat': files['facp.dat'], 'dsdt.dat': files['dsdt.dat'], 'apic.dat': files['apic.dat'] },
  );
  const out = run.output;
  assert.doesNotMatch(out, /ACPI (BIOS )?(Error|Warning)/, out);
  assert.match(out, /ACPI: FACP \S+ 0000F4 \(v03 WKVM   WKVMPC/);
  // ACPICA read our FADT: GPE0 (2 registers = 16 GPEs) on the SCI, IRQ 9.
  assert.match(out, /Initialized GPE 00 to 0F \[_GPE\] 2 regs on interrupt 0x9 \(SCI\)/);
  assert.match(out, /Evaluation of \\_S5_ returned object[\s\S]*?\[Package\] Contains 4 Elements/);
  assert.match(out, /Evaluation of \\_SB.PCI0._PRT returned object[\s\S]*?\[Package\] Contains 124 Elements/);
  assert.match(out, /Evaluation of \\_SB.PCI0._CRS returned object[\s\S]*?\[Buffer\] Length 6E/);
  assert.match(out, /Evaluation of \\PICF returned object[\s\S]*?\[Integer\] = 0000000000000001/);
});
