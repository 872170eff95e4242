// The wkvm command: QEMU's options, the serial console on the terminal.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs, UsageError, HELP, type WkvmOptions } from './options.ts';
import { Machine, MIN_RAM, MAX_RAM } from '../vmm/Machine.ts';
import { RealTimeClock } from '../vmm/Clock.ts';
import { BootError, type BootPlan } from '../boot/BootPlan.ts';
import { isBzImage, planLinuxBoot } from '../boot/LinuxBoot.ts';
import { findMultibootHeader, planMultibootBoot } from '../boot/Multiboot.ts';
import { ConsoleInput } from './ConsoleInput.ts';
import { openImage } from '../storage/openImage.ts';
import { StorageError, type BlockDevice } from '../storage/BlockDevice.ts';

const BUNDLED = {
  kernel: fileURLToPath(new URL('../../public/images/bzImage', import.meta.url)),
  initrd: fileURLToPath(new URL('../../public/images/initramfs.cpio.gz', import.meta.url)),
  append: 'console=ttyS0',
};

class FatalError extends Error {}

async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new FatalError(`${what} '${path}': ${why}`);
  }
}

async function planBoot(opts: WkvmOptions, mem: Machine['bootInfo']): Promise<BootPlan> {
  const bundled = opts.kernel === undefined;
  const kernelPath = opts.kernel ?? BUNDLED.kernel;
  const kernel = await readInput(kernelPath, bundled ? 'bundled kernel' : '-kernel');
  const initrdPath = opts.initrd ?? (bundled ? BUNDLED.initrd : undefined);
  const initrd = initrdPath ? await readInput(initrdPath, bundled ? 'bundled initrd' : '-initrd') : undefined;
  const cmdline = opts.append ?? (bundled ? BUNDLED.append : '');
  try {
    if (isBzImage(kernel)) return planLinuxBoot(kernel, { ...mem, cmdline, initrd });
    if (findMultibootHeader(kernel) >= 0) {
      return planMultibootBoot(kernel, {
        ramSize: mem.ramSize,
        e820: mem.e820,
        cmdline: `${kernelPath} ${cmdline}`.trim(),
        modules: initrd ? [{ bytes: initrd, cmdline: initrdPath }] : [],
      });
    }
  } catch (e) {
    if (e instanceof BootError) throw new FatalError(`${bundled ? 'bundled kernel' : `-kernel '${kernelPath}'`}: ${e.message}`);
    throw e;
  }
  throw new FatalError(`-kernel '${kernelPath}': not a kernel (neither a Linux bzImage nor a multiboot image)`);
}

async function main(argv: string[]): Promise<number> {
  const opts = parseArgs(argv);
  if (opts.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (opts.version) {
    process.stdout.write('wkvm 0.1.0 (QEMU-compatible options)\n');
    return 0;
  }
  if (opts.smp > 1) throw new FatalError(`-smp ${opts.smp}: only 1 CPU is supported so far`);
  if (opts.memory < MIN_RAM || opts.memory > MAX_RAM || opts.memory % (1 << 20) !== 0) {
    throw new FatalError(`-m: ${opts.memory / 1048576} MiB: memory must be a whole number of MiB from ${MIN_RAM >> 20}M to ${MAX_RAM / 1048576}M`);
  }
  const out = process.stdout;
  const machine = await Machine.create({
    ramSize: opts.memory,
    clock: opts.deterministic ? 'deterministic' : 'realtime',
    onSerialOutput: (b) => out.write(Uint8Array.of(b)),
    debugExit: opts.debugExit,
  });
  const plan = await planBoot(opts, machine.bootInfo);
  const disks: BlockDevice[] = [];
  for (const d of opts.drives) {
    let disk: BlockDevice;
    try {
      disk = await openImage(d.file, { format: d.format, readOnly: d.readonly, snapshot: opts.snapshot });
    } catch (e) {
      if (e instanceof StorageError || (e as NodeJS.ErrnoException).code) throw new FatalError(`-drive file=${d.file}: ${(e as Error).message}`);
      throw e;
    }
    disks.push(disk);
    machine.addDisk(disk, { readOnly: d.readonly });
  }
  machine.boot(plan);

  let quit: number | undefined;
  const input = new ConsoleInput(process.stdin, {
    onData: (bytes) => machine.serialInput(bytes),
    onQuit: () => (quit = 0),
    onHelp: (text) => process.stderr.write(text),
  });
  input.start();
  machine.io.onComplete = () => input.wake();
  try {
    for (;;) {
      if (quit !== undefined) return quit;
      const r = machine.runSlices(20);
      if (r.stop) {
        switch (r.stop.kind) {
          case 'debug-exit': return r.stop.status & 0xff;
          case 'poweroff': return 0;
          case 'reset':
            if (opts.noReboot) return 0;
            machine.reset();
            continue;
        }
      }
      if (r.waitIo) {
        await r.waitIo;
      } else if (r.idleUntilNs !== undefined) {
        // Idle until the guest's next deadline arrives on the host's clock.
        const clock = machine.clock;
        const now = clock instanceof RealTimeClock ? clock.wallNs() : clock.nowNs();
        const ms = Math.min(10, Math.max(0, (r.idleUntilNs - now) / 1e6));
        await input.waitFor(ms);
      } else {
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  } finally {
    input.stop();
    // Wait for requests in flight, then make what the guest wrote durable.
    await machine.io.idle();
    for (const d of disks) {
      await d.flush().catch(() => undefined);
      await d.close().catch(() => undefined);
    }
  }
}

export async function run(argv: string[]): Promise<void> {
  let status: number;
  try {
    status = await main(argv);
  } catch (e) {
    if (e instanceof UsageError || e instanceof FatalError || e instanceof BootError || e instanceof RangeError) {
      process.stderr.write(`wkvm: ${e.message}\n`);
      status = 1;
    } else {
      // Never a stack trace for users; WKVM_DEBUG=1 shows it.
      process.stderr.write(`wkvm: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
      if (process.env.WKVM_DEBUG) console.error(e);
      status = 2;
    }
  }
  process.stdout.write('', () => process.exit(status));
}
