// The Intel MultiProcessor Specification 1.4 tables: what an OS uses to find
// the CPUs, the I/O APIC and the interrupt routing when ACPI is off (Linux:
// acpi=off). Two structures:
//
// MP floating pointer (16 bytes, chapter 4.1), 16-byte aligned in the BIOS
// area 0xF0000-0xFFFFF (one of the places Linux's smp_scan_config looks):
//   0 "_MP_", 4 physical address of the configuration table, 8 length in
//   16-byte units (1), 9 spec revision (4 = 1.4), 10 checksum, 11 feature 1
//   (0: a configuration table is present), 12 feature 2 (bit 7 IMCRP clear:
//   virtual wire mode, no IMCR), 13-15 reserved.
//
// MP configuration table (chapter 4.2): a 44-byte header ("PCMP", base table
// length, spec revision 4, checksum, OEM ID (8), product ID (12), OEM table
// pointer and size, entry count, local APIC address, extended table length
// and checksum) and entries sorted by type:
//   0 processor (20 bytes): local APIC ID, version, flags (EN, BP), CPU
//     signature (stepping 3:0, model 7:4, family 11:8), CPUID.1 EDX features
//   1 bus (8): bus ID and a 6-character type ("PCI   ", "ISA   ")
//   2 I/O APIC (8): ID, version, flags (EN), address
//   3 I/O interrupt assignment (8): interrupt type (0 INT, 1 NMI, 2 SMI,
//     3 ExtINT), flags (polarity bits 1:0, trigger bits 3:2: 00 conforms to
//     the bus, 01 active high / edge, 11 active low / level), source bus,
//     source bus IRQ, destination I/O APIC ID, destination INTIN#
//   4 local interrupt assignment (8): as type 3, destination local APIC ID
//     (0xFF: all) and LINTIN#
// A PCI source bus IRQ is (device << 2) | pin, pin 0 = INTA#.
//
// Routing (the same as the ACPI tables): ISA IRQ n → I/O APIC pin n except
// IRQ 0 → pin 2 (IRQ 2, the cascade, is not listed); the SCI's IRQ is level,
// active high; PCI slot S pin p → pin 16 + ((S + p) mod 4), level, active
// low; LINT0 ExtINT (the 8259 pair) and LINT1 NMI on every local APIC.
import { ByteWriter, fixChecksum } from './Bytes.ts';
import { pciIntxGsi } from './AcpiTables.ts';

export const MP_FLOATING_DEFAULT_ADDRESS = 0xf0000;
export const MP_FLOATING_SIZE = 16;
export const MP_HEADER_SIZE = 44;
export const MP_SPEC_REVISION = 4; // 1.4
export const MP_PCI_BUS_ID = 0;
export const MP_ISA_BUS_ID = 1;

export const MP_ENTRY_PROCESSOR = 0;
export const MP_ENTRY_BUS = 1;
export const MP_ENTRY_IOAPIC = 2;
export const MP_ENTRY_IO_INTERRUPT = 3;
export const MP_ENTRY_LOCAL_INTERRUPT = 4;

export const MP_INT = 0;
export const MP_NMI = 1;
export const MP_SMI = 2;
export const MP_EXTINT = 3;

/** Polarity and trigger conform to the source bus (ISA: edge, active high). */
export const MP_IRQ_CONFORMING = 0x0;
export const MP_IRQ_ACTIVE_HIGH_LEVEL = 0xd;
export const MP_IRQ_ACTIVE_LOW_LEVEL = 0xf;

export const MP_CPU_ENABLED = 1 << 0;
export const MP_CPU_BSP = 1 << 1;

/** CPUID signature of the core (wasm/ops/misc.ts): family 6, model 13, stepping 6. */
export const MP_DEFAULT_CPU_SIGNATURE = 0x6d6;
/** CPUID.1 EDX as the core reports it: FPU, PSE, TSC, MSR, CX8, APIC, SEP, MTRR, PGE, CMOV, PAT, CLFSH, MMX, FXSR, SSE, SSE2. */
export const MP_DEFAULT_CPU_FEATURES =
  (1 << 0) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 9) | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 15) | (1 << 16) |
  (1 << 19) | (1 << 23) | (1 << 24) | (1 << 25) | (1 << 26);
/** Local APIC version: an integrated xAPIC (0x14, as QEMU's). */
export const MP_DEFAULT_LAPIC_VERSION = 0x14;

export interface MpTableOptions {
  cpus: number;
  ioApicId: number;
  ioApicAddress: number;
  /** ISA IRQ of the ACPI SCI, listed level / active high. Default 9. */
  sciIrq?: number;
  /** Where the floating pointer goes (16-byte aligned, 0xF0000-0xFFFFF); the table follows it. Default 0xF0000. */
  address?: number;
  localApicAddress?: number;
  lapicVersion?: number;
  ioApicVersion?: number;
  cpuSignature?: number;
  cpuFeatures?: number;
  /** 8 characters. */
  oemId?: string;
  /** 12 characters. */
  productId?: string;
}

export interface MpTableResult {
  floatingAddr: number;
  floating: Uint8Array;
  tableAddr: number;
  table: Uint8Array;
  /** Both, as one block from floatingAddr (floating pointer, then the table). */
  bytes: Uint8Array;
}

export function buildMpTable(opts: MpTableOptions): MpTableResult {
  const floatingAddr = opts.address ?? MP_FLOATING_DEFAULT_ADDRESS;
  const sci = opts.sciIrq ?? 9;
  if (!Number.isInteger(opts.cpus) || opts.cpus < 1 || opts.cpus > 255) throw new RangeError(`mptable: cpus ${opts.cpus} must be 1..255`);
  if (!Number.isInteger(opts.ioApicId) || opts.ioApicId < 0 || opts.ioApicId > 15) throw new RangeError(`mptable: I/O APIC ID ${opts.ioApicId} must be 0..15`);
  if (floatingAddr % 16 !== 0 || floatingAddr < 0xf0000 || floatingAddr >= 0x100000) {
    throw new RangeError(`mptable: floating pointer address 0x${floatingAddr.toString(16)} must be 16-byte aligned in 0xF0000-0xFFFFF`);
  }
  const tableAddr = floatingAddr + MP_FLOATING_SIZE;

  const entries = new ByteWriter();
  let count = 0;
  for (let i = 0; i < opts.cpus; i++) {
    entries.u8(MP_ENTRY_PROCESSOR);
    entries.u8(i); // local APIC ID
    entries.u8(opts.lapicVersion ?? MP_DEFAULT_LAPIC_VERSION);
    entries.u8(MP_CPU_ENABLED | (i === 0 ? MP_CPU_BSP : 0));
    entries.u32(opts.cpuSignature ?? MP_DEFAULT_CPU_SIGNATURE);
    entries.u32(opts.cpuFeatures ?? MP_DEFAULT_CPU_FEATURES);
    entries.zeros(8);
    count++;
  }
  const bus = (id: number, type: string) => {
    entries.u8(MP_ENTRY_BUS).u8(id).ascii(type, 6);
    count++;
  };
  bus(MP_PCI_BUS_ID, 'PCI');
  bus(MP_ISA_BUS_ID, 'ISA');
  entries.u8(MP_ENTRY_IOAPIC).u8(opts.ioApicId).u8(opts.ioApicVersion ?? 0x11).u8(1).u32(opts.ioApicAddress);
  count++;
  const intr = (type: number, irqType: number, flags: number, srcBus: number, srcIrq: number, dst: number, pin: number) => {
    entries.u8(type).u8(irqType).u16(flags).u8(srcBus).u8(srcIrq).u8(dst).u8(pin);
    count++;
  };
  for (let irq = 0; irq < 16; irq++) {
    if (irq === 2) continue; // the cascade; IRQ 0 takes pin 2
    const flags = irq === sci ? MP_IRQ_ACTIVE_HIGH_LEVEL : MP_IRQ_CONFORMING;
    intr(MP_ENTRY_IO_INTERRUPT, MP_INT, flags, MP_ISA_BUS_ID, irq, opts.ioApicId, irq === 0 ? 2 : irq);
  }
  for (let slot = 1; slot < 32; slot++) {
    for (let pin = 0; pin < 4; pin++) {
      intr(MP_ENTRY_IO_INTERRUPT, MP_INT, MP_IRQ_ACTIVE_LOW_LEVEL, MP_PCI_BUS_ID, (slot << 2) | pin, opts.ioApicId, pciIntxGsi(slot, pin));
    }
  }
  intr(MP_ENTRY_LOCAL_INTERRUPT, MP_EXTINT, MP_IRQ_CONFORMING, MP_ISA_BUS_ID, 0, 0xff, 0);
  intr(MP_ENTRY_LOCAL_INTERRUPT, MP_NMI, MP_IRQ_CONFORMING, MP_ISA_BUS_ID, 0, 0xff, 1);

  const body = entries.toBytes();
  const t = new ByteWriter();
  t.ascii('PCMP', 4);
  t.u16(MP_HEADER_SIZE + body.length); // base table length
  t.u8(MP_SPEC_REVISION);
  t.u8(0); // checksum
  t.ascii(opts.oemId ?? 'WKVM', 8);
  t.ascii(opts.productId ?? 'WKVMPC', 12);
  t.u32(0); // OEM table pointer
  t.u16(0); // OEM table size
  t.u16(count);
  t.u32(opts.localApicAddress ?? 0xfee00000);
  t.u16(0); // extended table length
  t.u8(0); // extended table checksum
  t.u8(0);
  t.bytes(body);
  const table = t.toBytes();
  fixChecksum(table, 7);
  if (tableAddr + table.length > 0x100000) throw new RangeError(`mptable: ${table.length} bytes at 0x${tableAddr.toString(16)} run past 1 MiB`);

  const f = new ByteWriter();
  f.ascii('_MP_', 4);
  f.u32(tableAddr);
  f.u8(1); // length in paragraphs
  f.u8(MP_SPEC_REVISION);
  f.u8(0); // checksum
  f.u8(0); // feature 1: the configuration table is present
  f.u8(0); // feature 2: virtual wire mode (no IMCR)
  f.zeros(3);
  const floating = f.toBytes();
  fixChecksum(floating, 10);

  const bytes = new Uint8Array(MP_FLOATING_SIZE + table.length);
  bytes.set(floating, 0);
  bytes.set(table, MP_FLOATING_SIZE);
  return { floatingAddr, floating, tableAddr, table, bytes };
}
