// The machine's physical memory map, as the e820 table, the multiboot memory
// map and the CMOS report it. One description, three encodings.

export const E820_RAM = 1;
export const E820_RESERVED = 2;
export const E820_ACPI = 3;

export interface E820Entry {
  addr: number;
  size: number;
  type: number;
}

/** Where PC firmware keeps its data below 1 MiB; the guest must not use it. */
export const EBDA_START = 0x9fc00;
export const BIOS_AREA_START = 0xa0000; // VGA window and option ROMs / BIOS up to 1 MiB
export const HIGH_MEMORY = 0x100000;
/** Start of the 32-bit PCI/MMIO hole: RAM above this moves above 4 GiB. */
export const PCI_HOLE_START = 0xe0000000;

/**
 * The e820 map of a PC with `ramSize` bytes of RAM: conventional memory up to
 * the EBDA, the EBDA and BIOS area reserved, extended memory from 1 MiB, and
 * `acpi` (the ACPI tables' range, if the machine builds them) marked ACPI.
 */
export function e820Map(ramSize: number, acpi?: { addr: number; size: number }): E820Entry[] {
  const below4g = Math.min(ramSize, PCI_HOLE_START);
  const map: E820Entry[] = [
    { addr: 0, size: EBDA_START, type: E820_RAM },
    { addr: EBDA_START, size: BIOS_AREA_START - EBDA_START, type: E820_RESERVED },
    { addr: 0xe0000, size: 0x20000, type: E820_RESERVED },
  ];
  if (acpi && acpi.addr >= HIGH_MEMORY && acpi.addr + acpi.size <= below4g) {
    map.push({ addr: HIGH_MEMORY, size: acpi.addr - HIGH_MEMORY, type: E820_RAM });
    map.push({ addr: acpi.addr, size: acpi.size, type: E820_ACPI });
    const rest = acpi.addr + acpi.size;
    if (below4g > rest) map.push({ addr: rest, size: below4g - rest, type: E820_RAM });
  } else {
    map.push({ addr: HIGH_MEMORY, size: below4g - HIGH_MEMORY, type: E820_RAM });
  }
  // The reset vector's BIOS alias below 4 GiB.
  map.push({ addr: 0xfffc0000, size: 0x40000, type: E820_RESERVED });
  return map.filter((e) => e.size > 0);
}
