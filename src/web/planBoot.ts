// The loaded kernel (Linux bzImage or multiboot) and initrd → a BootPlan for
// the machine, as the wkvm command does; problems become one VmError line.
import { BootError, type BootPlan } from '../boot/BootPlan.ts';
import { isBzImage, planLinuxBoot } from '../boot/LinuxBoot.ts';
import { findMultibootHeader, planMultibootBoot } from '../boot/Multiboot.ts';
import type { Machine } from '../vmm/Machine.ts';
import { VmError, type ResolvedConfig } from './bootConfig.ts';

export function planBoot(config: ResolvedConfig, kernel: Uint8Array, initrd: Uint8Array | undefined, mem: Machine['bootInfo']): BootPlan {
  const label = config.kernel.label;
  try {
    if (isBzImage(kernel)) return planLinuxBoot(kernel, { ...mem, cmdline: config.cmdline, initrd });
    if (findMultibootHeader(kernel) >= 0) {
      return planMultibootBoot(kernel, {
        ramSize: mem.ramSize,
        e820: mem.e820,
        cmdline: `${label} ${config.cmdline}`.trim(),
        modules: initrd ? [{ bytes: initrd, cmdline: config.initrd?.label }] : [],
      });
    }
  } catch (e) {
    if (e instanceof BootError) throw new VmError(`${label}: ${e.message}`);
    throw e;
  }
  throw new VmError(`${label}: not a kernel (neither a Linux bzImage nor a multiboot image)`);
}
