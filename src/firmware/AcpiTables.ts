// The ACPI tables of the PC, built by the VMM because direct kernel boot has
// no BIOS to build them (the role SeaBIOS and QEMU's acpi-build play):
//
//   RSDP  (ACPI 1.0 form, revision 0, 20 bytes) in the BIOS area
//         0xE0000-0xFFFFF on a 16-byte boundary, where OSes search for it;
//         it points to the RSDT.
//   at tableBase, in this order (each 16-byte aligned; FACS first so it is
//   64-byte aligned):
//   FACS  64 bytes, no checksum (the firmware waking vector and global lock)
//   DSDT  revision 1 (32-bit integers): \_S5, \_PIC, \_SB.PCI0 with _HID
//         PNP0A03, _UID, _BBN, _CRS (bus 0-255, config ports, I/O and memory
//         windows) and _PRT, and one ACPI0007 processor device per CPU
//   FACP  the FADT, revision 3 (244 bytes, ACPI 3.0 layout; ACPICA only honours
//         IAPC_BOOT_ARCH in FADTs longer than revision 2's 132 bytes, and the
//         RESET_REG needs revision 2+). Both the 32-bit block addresses and
//         the matching 64-bit X_ generic addresses are filled in.
//   APIC  the MADT, revision 1: local APIC address, PCAT_COMPAT, one
//         processor local APIC per CPU, the I/O APIC, interrupt source
//         overrides (IRQ0 → GSI 2; the SCI level, active high) and a local
//         APIC NMI on LINT1 for all processors
//   RSDT  pointing to FACP and APIC (the FADT points to DSDT and FACS)
//
// PCI interrupt routing: the PIIX3 connects PIRQA-D to I/O APIC pins 16-19
// and slot S's INTx pin P (1 = INTA) to PIRQ (S + P - 1) mod 4; with the
// _PRT's 0-based pin p the GSI is 16 + ((S + p) mod 4). The same routing is
// in the MP table (MpTable.ts).
import { PCI_HOLE_START } from '../boot/MemoryMap.ts';
import {
  ACPI_S5_SLP_TYP,
  GPE0_LEN,
  GPE0_OFFSET,
  PM1_CNT_LEN,
  PM1_CNT_OFFSET,
  PM1_EVT_LEN,
  PM1_EVT_OFFSET,
  PM_TMR_LEN,
  PM_TMR_OFFSET,
} from '../devices/AcpiPm.ts';
import * as aml from './Aml.ts';
import { acpiTable, ByteWriter, fixChecksum, type AcpiTableIds } from './Bytes.ts';

export const ACPI_RSDP_DEFAULT_ADDRESS = 0xe0000;
export const ACPI_RSDP_SIZE = 20;
export const LOCAL_APIC_DEFAULT_ADDRESS = 0xfee00000;
/** The RTC's CMOS century register (FADT CENTURY). */
export const RTC_CENTURY_INDEX = 0x32;
/** First GSI of the PCI PIRQ lines (I/O APIC pins 16-19). */
export const PCI_PIRQ_GSI_BASE = 16;
/** The default end of the PCI memory window: just below the I/O APIC. */
export const PCI_MEMORY_WINDOW_END = 0xfebfffff;

export const DEFAULT_ACPI_IDS: AcpiTableIds = {
  oemId: 'WKVM  ',
  oemTableId: 'WKVMPC  ',
  oemRevision: 1,
  creatorId: 'WKVM',
  creatorRevision: 1,
};

export interface AcpiTablesOptions {
  /** Number of CPUs: APIC IDs and ACPI processor IDs 0..cpus-1 (at most 255). */
  cpus: number;
  /** I/O APIC MMIO base (0xFEC00000). */
  ioApicAddress: number;
  /** The I/O APIC's APIC ID (its IOAPICID register must hold the same). */
  ioApicId: number;
  /** AcpiPm's port base (0x600). */
  pmBase: number;
  /** ISA IRQ of the SCI (9). */
  sciIrq: number;
  /** Physical address of the tables (64-byte aligned; page-aligned and at or above 1 MiB for e820). */
  tableBase: number;
  /** Where the RSDP goes: 16-byte aligned in 0xE0000-0xFFFFF. Default 0xE0000. */
  rsdpAddress?: number;
  /** Default 0xFEE00000. */
  localApicAddress?: number;
  /** SLP_TYP of S5 in \_S5 (must match AcpiPm). Default ACPI_S5_SLP_TYP (0). */
  s5SleepType?: number;
  /**
   * FADT RESET_REG: an I/O port and the byte to write to it. Default the
   * PIIX3 reset control register, port 0xCF9, value 0x06 (hard reset);
   * null leaves it out (RESET_REG_SUP clear).
   */
  resetRegister?: { port: number; value: number } | null;
  /** The PCI host bridge's memory window in _CRS. Default 0xE0000000-0xFEBFFFFF. */
  pciMemoryWindow?: { base: number; end: number };
  /** Also describe the CPUs as ACPI0007 devices under \_SB (default true). */
  processorDevices?: boolean;
  ids?: Partial<AcpiTableIds>;
}

export interface AcpiTable {
  signature: string;
  addr: number;
  bytes: Uint8Array;
}

export interface AcpiTablesResult {
  rsdpAddr: number;
  rsdp: Uint8Array;
  /** Every table to copy into guest RAM at its addr (all inside [tableBase, tableBase + totalSize)). */
  tables: AcpiTable[];
  /** Bytes from tableBase the tables occupy. */
  usedSize: number;
  /** usedSize rounded up to 4 KiB: the range to mark E820 ACPI (type 3). */
  totalSize: number;
}

// FADT flags (ACPI 3.0 table 5-10).
export const FADT_WBINVD = 1 << 0;
export const FADT_PROC_C1 = 1 << 2;
export const FADT_PWR_BUTTON = 1 << 4;
export const FADT_SLP_BUTTON = 1 << 5;
export const FADT_FIX_RTC = 1 << 6;
export const FADT_RTC_S4 = 1 << 7;
export const FADT_TMR_VAL_EXT = 1 << 8;
export const FADT_RESET_REG_SUP = 1 << 10;
export const FADT_FORCE_APIC_PHYSICAL_DESTINATION_MODE = 1 << 19;
// IAPC_BOOT_ARCH.
export const BOOT_ARCH_LEGACY_DEVICES = 1 << 0;
export const BOOT_ARCH_8042 = 1 << 1;

export const FADT_REVISION = 3;
export const FADT_SIZE = 244;
export const FACS_SIZE = 64;

// MADT.
export const MADT_PCAT_COMPAT = 1;
export const MADT_LOCAL_APIC = 0;
export const MADT_IO_APIC = 1;
export const MADT_INTERRUPT_OVERRIDE = 2;
export const MADT_LOCAL_APIC_NMI = 4;
/** MPS INTI flags: polarity bits 1:0 (01 active high, 11 active low), trigger bits 3:2 (01 edge, 11 level). */
export const MPS_INTI_CONFORMING = 0x0000;
export const MPS_INTI_ACTIVE_HIGH_LEVEL = 0x000d;

const GAS_SYSTEM_IO = 1;

/** A Generic Address Structure for an I/O port block (access size 0: legacy, decided by width). */
function ioGas(w: ByteWriter, port: number, bitWidth: number, accessSize = 0): void {
  w.u8(port ? GAS_SYSTEM_IO : 0);
  w.u8(port ? bitWidth : 0);
  w.u8(0); // bit offset
  w.u8(port ? accessSize : 0);
  w.u64(port);
}

function check(cond: boolean, msg: string): void {
  if (!cond) throw new RangeError(`acpi: ${msg}`);
}

/** The _PRT GSI of slot `slot`, 0-based pin `pin` (0 = INTA). */
export function pciIntxGsi(slot: number, pin: number): number {
  return PCI_PIRQ_GSI_BASE + ((slot + pin) % 4);
}

export function buildDsdt(opts: AcpiTablesOptions, ids: AcpiTableIds): Uint8Array {
  const s5 = opts.s5SleepType ?? ACPI_S5_SLP_TYP;
  const window = opts.pciMemoryWindow ?? { base: PCI_HOLE_START, end: PCI_MEMORY_WINDOW_END };

  const crs = aml.resourceTemplate(
    aml.wordBusNumber({ min: 0x00, max: 0xff }),
    aml.io16(0x0cf8, 0x0cf8, 0x01, 0x08),
    aml.wordIo({ min: 0x0000, max: 0x0cf7 }),
    aml.wordIo({ min: 0x0d00, max: 0xffff }),
    aml.dwordMemory({ min: 0x000a0000, max: 0x000bffff, cache: 'cacheable' }),
    aml.dwordMemory({ min: window.base, max: window.end }),
  );

  const routes: Uint8Array[] = [];
  for (let slot = 1; slot < 32; slot++) {
    for (let pin = 0; pin < 4; pin++) {
      routes.push(aml.pkg(aml.integer(((slot << 16) | 0xffff) >>> 0), aml.integer(pin), aml.Zero, aml.integer(pciIntxGsi(slot, pin))));
    }
  }

  const cpus: Uint8Array[] = [];
  if (opts.processorDevices ?? true) {
    for (let i = 0; i < opts.cpus; i++) {
      const id = i.toString(16).toUpperCase().padStart(3, '0');
      cpus.push(aml.device(`C${id}`, aml.name('_HID', aml.string('ACPI0007')), aml.name('_UID', aml.integer(i))));
    }
  }

  return aml.definitionBlock(
    'DSDT',
    1,
    ids,
    // \_PIC(mode): the OS says which interrupt model it uses (0 PIC, 1 APIC).
    // The _PRT below is the APIC one either way; PICF only records the call.
    aml.name('PICF', aml.Zero),
    aml.method('_PIC', 1, [aml.store(aml.arg(0), 'PICF')]),
    // \_S5: SLP_TYP for PM1a and PM1b, two reserved.
    aml.name('_S5', aml.pkg(aml.integer(s5), aml.integer(s5), aml.Zero, aml.Zero)),
    aml.scope(
      '_SB', // \_SB (at the root, iasl emits the same relative form)
      aml.device(
        'PCI0',
        aml.name('_HID', aml.eisaIdObject('PNP0A03')),
        aml.name('_UID', aml.Zero),
        aml.name('_BBN', aml.Zero),
        aml.name('_CRS', crs),
        aml.name('_PRT', aml.pkg(...routes)),
      ),
      ...cpus,
    ),
  );
}

function buildFacs(): Uint8Array {
  const w = new ByteWriter();
  w.ascii('FACS', 4);
  w.u32(FACS_SIZE);
  w.u32(0); // hardware signature
  w.u32(0); // firmware waking vector
  w.u32(0); // global lock
  w.u32(0); // flags: no S4BIOS, no 64-bit wake
  w.u64(0); // X firmware waking vector
  w.u8(1); // version
  w.zeros(3);
  w.u32(0); // OSPM flags
  w.zeros(24);
  return w.toBytes();
}

function buildFadt(opts: AcpiTablesOptions, ids: AcpiTableIds, facs: number, dsdt: number): Uint8Array {
  const pm = opts.pmBase;
  const reset = opts.resetRegister === undefined ? { port: 0xcf9, value: 0x06 } : opts.resetRegister;
  let flags = FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON;
  if (reset) flags |= FADT_RESET_REG_SUP;
  if (opts.cpus > 8) flags |= FADT_FORCE_APIC_PHYSICAL_DESTINATION_MODE;

  const w = new ByteWriter();
  w.u32(facs); // 36 FIRMWARE_CTRL
  w.u32(dsdt); // 40 DSDT
  w.u8(0); // 44 reserved (ACPI 1.0 INT_MODEL)
  w.u8(0); // 45 Preferred_PM_Profile: unspecified
  w.u16(opts.sciIrq); // 46 SCI_INT
  w.u32(0); // 48 SMI_CMD: none, the hardware is always in ACPI mode
  w.u8(0); // 52 ACPI_ENABLE
  w.u8(0); // 53 ACPI_DISABLE
  w.u8(0); // 54 S4BIOS_REQ
  w.u8(0); // 55 PSTATE_CNT
  w.u32(pm + PM1_EVT_OFFSET); // 56 PM1a_EVT_BLK
  w.u32(0); // 60 PM1b_EVT_BLK
  w.u32(pm + PM1_CNT_OFFSET); // 64 PM1a_CNT_BLK
  w.u32(0); // 68 PM1b_CNT_BLK
  w.u32(0); // 72 PM2_CNT_BLK
  w.u32(pm + PM_TMR_OFFSET); // 76 PM_TMR_BLK
  w.u32(pm + GPE0_OFFSET); // 80 GPE0_BLK
  w.u32(0); // 84 GPE1_BLK
  w.u8(PM1_EVT_LEN); // 88 PM1_EVT_LEN
  w.u8(PM1_CNT_LEN); // 89 PM1_CNT_LEN
  w.u8(0); // 90 PM2_CNT_LEN
  w.u8(PM_TMR_LEN); // 91 PM_TMR_LEN
  w.u8(GPE0_LEN); // 92 GPE0_BLK_LEN
  w.u8(0); // 93 GPE1_BLK_LEN
  w.u8(0); // 94 GPE1_BASE
  w.u8(0); // 95 CST_CNT
  w.u16(0x0fff); // 96 P_LVL2_LAT: > 100, no C2
  w.u16(0x0fff); // 98 P_LVL3_LAT: > 1000, no C3
  w.u16(0); // 100 FLUSH_SIZE
  w.u16(0); // 102 FLUSH_STRIDE
  w.u8(0); // 104 DUTY_OFFSET
  w.u8(0); // 105 DUTY_WIDTH
  w.u8(0); // 106 DAY_ALRM
  w.u8(0); // 107 MON_ALRM
  w.u8(RTC_CENTURY_INDEX); // 108 CENTURY
  w.u16(BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_8042); // 109 IAPC_BOOT_ARCH
  w.u8(0); // 111 reserved
  w.u32(flags); // 112 Flags
  if (reset) ioGas(w, reset.port, 8, 1); // 116 RESET_REG (byte access)
  else w.zeros(12);
  w.u8(reset ? reset.value : 0); // 128 RESET_VALUE
  w.zeros(3); // 129 reserved
  w.u64(0); // 132 X_FIRMWARE_CTRL: FIRMWARE_CTRL holds the FACS
  w.u64(dsdt); // 140 X_DSDT
  ioGas(w, pm + PM1_EVT_OFFSET, PM1_EVT_LEN * 8); // 148 X_PM1a_EVT_BLK
  ioGas(w, 0, 0); // 160 X_PM1b_EVT_BLK
  ioGas(w, pm + PM1_CNT_OFFSET, PM1_CNT_LEN * 8); // 172 X_PM1a_CNT_BLK
  ioGas(w, 0, 0); // 184 X_PM1b_CNT_BLK
  ioGas(w, 0, 0); // 196 X_PM2_CNT_BLK
  ioGas(w, pm + PM_TMR_OFFSET, PM_TMR_LEN * 8); // 208 X_PM_TMR_BLK
  ioGas(w, pm + GPE0_OFFSET, GPE0_LEN * 8); // 220 X_GPE0_BLK
  ioGas(w, 0, 0); // 232 X_GPE1_BLK
  const t = acpiTable('FACP', FADT_REVISION, ids, w.toBytes());
  if (t.length !== FADT_SIZE) throw new Error(`internal: FADT is ${t.length} bytes, not ${FADT_SIZE}`);
  return t;
}

function buildMadt(opts: AcpiTablesOptions, ids: AcpiTableIds): Uint8Array {
  const w = new ByteWriter();
  w.u32(opts.localApicAddress ?? LOCAL_APIC_DEFAULT_ADDRESS);
  w.u32(MADT_PCAT_COMPAT); // the 8259 pair is present (and must be masked to use the APICs)
  for (let i = 0; i < opts.cpus; i++) {
    w.u8(MADT_LOCAL_APIC).u8(8);
    w.u8(i); // ACPI processor ID
    w.u8(i); // APIC ID
    w.u32(1); // enabled
  }
  w.u8(MADT_IO_APIC).u8(12);
  w.u8(opts.ioApicId);
  w.u8(0);
  w.u32(opts.ioApicAddress);
  w.u32(0); // global system interrupt base
  // ISA IRQ 0 (the PIT) is I/O APIC pin 2; edge, active high as the ISA bus.
  w.u8(MADT_INTERRUPT_OVERRIDE).u8(10);
  w.u8(0); // bus: ISA
  w.u8(0); // source IRQ
  w.u32(2); // GSI
  w.u16(MPS_INTI_CONFORMING);
  // The SCI: level-triggered, active high (as QEMU reports it).
  w.u8(MADT_INTERRUPT_OVERRIDE).u8(10);
  w.u8(0);
  w.u8(opts.sciIrq);
  w.u32(opts.sciIrq);
  w.u16(MPS_INTI_ACTIVE_HIGH_LEVEL);
  // NMI on LINT1 of every processor.
  w.u8(MADT_LOCAL_APIC_NMI).u8(6);
  w.u8(0xff); // all processors
  w.u16(MPS_INTI_CONFORMING);
  w.u8(1); // LINT1
  return acpiTable('APIC', 1, ids, w.toBytes());
}

function buildRsdt(ids: AcpiTableIds, entries: number[]): Uint8Array {
  const w = new ByteWriter();
  for (const e of entries) w.u32(e);
  return acpiTable('RSDT', 1, ids, w.toBytes());
}

/** The 20-byte ACPI 1.0 RSDP. */
export function buildRsdp(oemId: string, rsdt: number): Uint8Array {
  const w = new ByteWriter();
  w.ascii('RSD PTR ', 8);
  w.u8(0); // checksum of the 20 bytes
  w.ascii(oemId, 6);
  w.u8(0); // revision 0: ACPI 1.0, RSDT only
  w.u32(rsdt);
  const b = w.toBytes();
  fixChecksum(b, 8, 0, ACPI_RSDP_SIZE);
  return b;
}

export function buildAcpiTables(opts: AcpiTablesOptions): AcpiTablesResult {
  const ids: AcpiTableIds = { ...DEFAULT_ACPI_IDS, ...opts.ids };
  check(Number.isInteger(opts.cpus) && opts.cpus >= 1 && opts.cpus <= 255, `cpus ${opts.cpus} must be 1..255`);
  check(Number.isInteger(opts.ioApicId) && opts.ioApicId >= 0 && opts.ioApicId <= 15, `I/O APIC ID ${opts.ioApicId} must be 0..15 (the 82093AA's 4-bit ID)`);
  check(Number.isInteger(opts.sciIrq) && opts.sciIrq >= 0 && opts.sciIrq < 16 && opts.sciIrq !== 2 && opts.sciIrq !== 0, `SCI IRQ ${opts.sciIrq} must be an ISA IRQ other than 0 and 2`);
  check(Number.isInteger(opts.pmBase) && opts.pmBase > 0 && opts.pmBase + GPE0_OFFSET + GPE0_LEN <= 0x10000, `PM base 0x${opts.pmBase.toString(16)} out of the I/O space`);
  check(Number.isInteger(opts.tableBase) && opts.tableBase > 0 && opts.tableBase % 64 === 0, `table base 0x${opts.tableBase.toString(16)} must be 64-byte aligned`);
  const rsdpAddr = opts.rsdpAddress ?? ACPI_RSDP_DEFAULT_ADDRESS;
  check(rsdpAddr % 16 === 0 && rsdpAddr >= 0xe0000 && rsdpAddr + ACPI_RSDP_SIZE <= 0x100000, `RSDP address 0x${rsdpAddr.toString(16)} must be 16-byte aligned in 0xE0000-0xFFFFF`);

  const tables: AcpiTable[] = [];
  let next = opts.tableBase;
  const place = (signature: string, bytes: Uint8Array): number => {
    const addr = next;
    tables.push({ signature, addr, bytes });
    next = Math.ceil((addr + bytes.length) / 16) * 16;
    return addr;
  };
  const facs = place('FACS', buildFacs());
  const dsdt = place('DSDT', buildDsdt(opts, ids));
  const fadt = place('FACP', buildFadt(opts, ids, facs, dsdt));
  const madt = place('APIC', buildMadt(opts, ids));
  const rsdt = place('RSDT', buildRsdt(ids, [fadt, madt]));
  const usedSize = next - opts.tableBase;
  check(opts.tableBase + usedSize <= 0x100000000, 'tables do not fit below 4 GiB');
  return {
    rsdpAddr,
    rsdp: buildRsdp(ids.oemId, rsdt),
    tables,
    usedSize,
    totalSize: Math.ceil(usedSize / 4096) * 4096,
  };
}
