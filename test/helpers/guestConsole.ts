// Boots a kernel in a headless Machine with deterministic time and talks to
// its serial console: wait for text, type commands, read answers. The same
// inputs give the same run every time.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Machine, type MachineOptions, type StopReason } from '../../src/vmm/Machine.ts';
import { planLinuxBoot } from '../../src/boot/LinuxBoot.ts';

export const BUNDLED_KERNEL = fileURLToPath(new URL('../../public/images/bzImage', import.meta.url));
export const BUNDLED_INITRD = fileURLToPath(new URL('../../public/images/initramfs.cpio.gz', import.meta.url));

export class GuestConsole {
  output = '';
  stopped: StopReason | undefined;
  private mark = 0;

  private constructor(readonly machine: Machine) {}

  static async boot(opts: { cmdline?: string; ramSize?: number; kernel?: string; initrd?: string; machine?: Partial<MachineOptions>; setup?: (m: Machine) => void } = {}): Promise<GuestConsole> {
    const ramSize = opts.ramSize ?? 64 << 20;
    let gc: GuestConsole | undefined;
    const machine = await Machine.create({
      ramSize,
      clock: 'deterministic',
      onSerialOutput: (b) => {
        if (gc) gc.output += String.fromCharCode(b);
      },
      ...opts.machine,
    });
    gc = new GuestConsole(machine);
    const kernel = new Uint8Array(readFileSync(opts.kernel ?? BUNDLED_KERNEL));
    const initrd = new Uint8Array(readFileSync(opts.initrd ?? BUNDLED_INITRD));
    opts.setup?.(machine);
    machine.boot(planLinuxBoot(kernel, { ...machine.bootInfo, cmdline: opts.cmdline ?? 'console=ttyS0', initrd }));
    return gc;
  }

  /** Runs until `pattern` appears in output written since the last wait (or the guest stops). */
  async waitFor(pattern: string | RegExp, maxGuestSeconds = 120): Promise<string> {
    const limitNs = this.machine.clock.nowNs() + maxGuestSeconds * 1e9;
    for (;;) {
      const seen = this.output.slice(this.mark);
      const hit = typeof pattern === 'string' ? seen.indexOf(pattern) : seen.search(pattern);
      if (hit >= 0) {
        const len = typeof pattern === 'string' ? pattern.length : (seen.slice(hit).match(pattern)?.[0].length ?? 0);
        const upTo = this.mark + hit + len;
        const text = this.output.slice(this.mark, upTo);
        this.mark = upTo;
        return text;
      }
      if (this.stopped) throw new Error(`guest stopped (${this.stopped.kind}) before printing ${pattern}; output:\n${this.tail()}`);
      if (this.machine.clock.nowNs() > limitNs) {
        throw new Error(`no ${pattern} after ${maxGuestSeconds} s of guest time; output:\n${this.tail()}`);
      }
      await this.step();
    }
  }

  private async step(): Promise<void> {
    const r = this.machine.runSlices(50);
    if (r.stop) this.stopped = r.stop;
    if (r.waitIo) await r.waitIo;
    else await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Runs until the guest stops the machine (power off, reset, debug exit). */
  async runUntilStop(maxGuestSeconds = 60): Promise<StopReason> {
    const limitNs = this.machine.clock.nowNs() + maxGuestSeconds * 1e9;
    while (!this.stopped) {
      if (this.machine.clock.nowNs() > limitNs) throw new Error(`guest still running after ${maxGuestSeconds} s; output:\n${this.tail()}`);
      await this.step();
    }
    return this.stopped;
  }

  type(text: string): void {
    this.machine.serialInput(text);
  }

  /** Types a command line and returns what the guest printed up to the next prompt. */
  run(command: string, prompt: string | RegExp): Promise<string> {
    this.type(`${command}\n`);
    return this.waitFor(prompt);
  }

  tail(n = 3000): string {
    return this.output.slice(-n);
  }
}
