// What a boot loader produces: bytes to place in guest RAM and the register
// state to start the CPU in. Loaders are pure functions from images to a
// plan, so they are tested without a CPU; applyBootPlan() is the only part
// that touches a vCPU.
import type { Vcpu } from '../core/Vcpu.ts';
import * as abi from '../../wasm/abi.ts';

export interface BootPlan {
  /** Regions of guest physical memory to fill, in order. */
  loads: { addr: number; bytes: Uint8Array; what: string }[];
  /** 32-bit flat protected mode entry. */
  entry: number;
  regs: Partial<Record<'eax' | 'ebx' | 'ecx' | 'edx' | 'esi' | 'edi' | 'ebp' | 'esp', number>>;
  /** A GDT the loader placed in memory, and selectors for CS and the data segments. */
  gdt: { base: number; limit: number; cs: number; ds: number };
  /** What fw_cfg reports about the kernel (QEMU's -kernel items), where it was loaded. */
  fwCfg?: import('../devices/FwCfg.ts').FwCfgKernel;
}

/** A problem with an image the user gave: shown as one line, never a stack trace. */
export class BootError extends Error {
  override name = 'BootError';
}

const REG_INDEX = { eax: 0, ecx: 1, edx: 2, ebx: 3, esp: 4, ebp: 5, esi: 6, edi: 7 } as const;

/**
 * A flat GDT: null, null, code (0x10), data (0x18) — the selectors the Linux
 * 32-bit boot protocol names __BOOT_CS and __BOOT_DS; multiboot uses them too.
 */
export function flatGdt(): Uint8Array {
  const g = new Uint8Array(32);
  const dv = new DataView(g.buffer);
  // base 0, limit 0xFFFFF pages, G=1 D=1; access 0x9B (code, read) / 0x93 (data, write)
  dv.setUint32(16, 0x0000ffff, true);
  dv.setUint32(20, 0x00cf9b00, true);
  dv.setUint32(24, 0x0000ffff, true);
  dv.setUint32(28, 0x00cf9300, true);
  return g;
}

export function applyBootPlan(vcpu: Vcpu, plan: BootPlan): void {
  for (const l of plan.loads) {
    if (l.addr < 0 || l.addr + l.bytes.length > vcpu.ramSize) {
      throw new BootError(`${l.what} (${l.bytes.length} bytes at 0x${l.addr.toString(16)}) does not fit in guest RAM`);
    }
    vcpu.writePhys(l.addr, l.bytes);
  }
  vcpu.setFlat32(0);
  const code = vcpu.getSeg(abi.SEG_CS);
  vcpu.setSeg(abi.SEG_CS, { ...code, sel: plan.gdt.cs });
  for (const s of [abi.SEG_DS, abi.SEG_ES, abi.SEG_SS, abi.SEG_FS, abi.SEG_GS]) {
    vcpu.setSeg(s, { ...vcpu.getSeg(s), sel: plan.gdt.ds });
  }
  vcpu.setDescriptorTable('gdt', plan.gdt.base, plan.gdt.limit);
  vcpu.setDescriptorTable('idt', 0, 0);
  for (const [name, value] of Object.entries(plan.regs)) {
    vcpu.setReg(REG_INDEX[name as keyof typeof REG_INDEX], value ?? 0);
  }
  vcpu.eip = plan.entry;
  vcpu.eflags = 0x2;
}
