// The Intel 82441FX PCI and Memory Controller (PMC) of the 440FX chipset:
// the host bridge at 00:00.0, as QEMU's "pc" machine presents it.
//
// Identity: 8086:1237, revision 02, class 06 00 00 (host bridge),
// subsystem 1AF4:1100, no interrupt pin, command 0 after reset.
//
// Registers kept (82441FX datasheet, 290549):
// - PAM0..PAM6 (0x59..0x5F): the programmable attribute map of the BIOS
//   area 0xF0000 and the expansion areas 0xC0000..0xEFFFF. Stored only (no
//   shadowing effect here); onPamChange tells the machine when one changes.
//   Fully writable, like QEMU's.
// - SMRAM (0x72), reset 0x02: bit 6 D_OPEN, 5 D_CLS, 4 D_LCK, 3 G_SMRAME,
//   2:0 C_BASE_SEG hardwired to 010 (the A0000h segment), bit 7 reserved.
//   Setting D_LCK clears D_OPEN and makes D_OPEN, D_LCK and G_SMRAME read
//   only until reset (QEMU leaves D_LCK unimplemented; the datasheet's rule
//   is what is modelled). Stored only; onSmramChange reports changes.
// - 0x57: QEMU's non-datasheet RAM size in 8 MiB units (capped at 255) that
//   old coreboot reads; set when ramSize is given.
// - The rest of 0x40..0xFF is writable storage, as in QEMU.
import { PciDevice } from './PciDevice.ts';

export const I440FX_PAM = 0x59;
export const I440FX_PAM_COUNT = 7;
export const I440FX_SMRAM = 0x72;
export const I440FX_COREBOOT_RAM_SIZE = 0x57;

export const SMRAM_D_OPEN = 0x40;
export const SMRAM_D_CLS = 0x20;
export const SMRAM_D_LCK = 0x10;
export const SMRAM_G_SMRAME = 0x08;
export const SMRAM_C_BASE_SEG = 0x07;
const SMRAM_LOCKED_BITS = SMRAM_D_OPEN | SMRAM_D_LCK | SMRAM_G_SMRAME;

export interface I440fxOptions {
  /** Guest RAM size in bytes, for register 0x57. */
  ramSize?: number;
  /** PAM register `index` (0..6, at 0x59 + index) now holds `value`. */
  onPamChange?: (index: number, value: number) => void;
  /** The SMRAM register now holds `value`. */
  onSmramChange?: (value: number) => void;
}

export class I440fx extends PciDevice {
  constructor(private readonly opts: I440fxOptions = {}) {
    super({ name: 'i440fx', vendorId: 0x8086, deviceId: 0x1237, classCode: 0x060000, revision: 0x02 });
    const c = this.config;
    c.setWritable(0x40, 0xc0);
    c.setU8(I440FX_SMRAM, 0x02);
    c.setWriteMask(I440FX_SMRAM, 1, 0x78);
    if (opts.ramSize !== undefined) {
      c.setU8(I440FX_COREBOOT_RAM_SIZE, Math.min(255, Math.floor(opts.ramSize / (8 * 1024 * 1024))));
    }
  }

  /** PAM register `index` (0..6). */
  pam(index: number): number {
    return this.config.u8(I440FX_PAM + index);
  }

  get smram(): number {
    return this.config.u8(I440FX_SMRAM);
  }

  override configWrite(offset: number, size: number, value: number): void {
    const end = offset + size;
    const oldSmram = this.smram;
    const pamTouched = offset < I440FX_PAM + I440FX_PAM_COUNT && end > I440FX_PAM;
    const pamBefore = pamTouched ? this.config.bytes.slice(I440FX_PAM, I440FX_PAM + I440FX_PAM_COUNT) : undefined;
    super.configWrite(offset, size, value);
    if (pamBefore) {
      for (let i = 0; i < I440FX_PAM_COUNT; i++) {
        const v = this.pam(i);
        if (v !== pamBefore[i]) this.opts.onPamChange?.(i, v);
      }
    }
    if (offset <= I440FX_SMRAM && end > I440FX_SMRAM) {
      let v = this.smram;
      if (oldSmram & SMRAM_D_LCK) v = (v & ~SMRAM_LOCKED_BITS) | (oldSmram & SMRAM_LOCKED_BITS);
      if (v & SMRAM_D_LCK) v &= ~SMRAM_D_OPEN;
      this.config.setU8(I440FX_SMRAM, v);
      if (v !== oldSmram) this.opts.onSmramChange?.(v);
    }
  }
}
