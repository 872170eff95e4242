// QEMU's command-line options, with QEMU's meanings, for the subset wkvm
// implements. Parsing is separate from running so it is tested on its own;
// every problem is a UsageError with a one-line message.

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface DriveOption {
  file: string;
  /** Undefined: probed from the image, as QEMU does without format=. */
  format?: 'raw' | 'qcow2';
  interface: 'virtio';
  readonly: boolean;
}

export interface WkvmOptions {
  memory: number; // bytes
  smp: number;
  kernel?: string;
  initrd?: string;
  append?: string;
  drives: DriveOption[];
  nographic: boolean;
  serialStdio: boolean;
  noReboot: boolean;
  debugExit?: { iobase: number; iosize: number };
  snapshot: boolean;
  deterministic: boolean;
  help: boolean;
  version: boolean;
}

/** QEMU's default RAM size. */
const DEFAULT_MEMORY = 128 << 20;

/** A size as QEMU reads it: a number with an optional K/M/G/T suffix; bare numbers are MiB. */
export function parseSize(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmMgGtT]?)[bB]?$/.exec(text.trim());
  if (!m) throw new UsageError(`${what}: '${text}' is not a size (e.g. 256M, 1G)`);
  const scale = { '': 1 << 20, k: 1 << 10, m: 1 << 20, g: 1 << 30, t: 2 ** 40 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * scale);
}

function parseNumber(text: string, what: string): number {
  const v = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^\d+$/.test(text) ? parseInt(text, 10) : NaN;
  if (!Number.isSafeInteger(v)) throw new UsageError(`${what}: '${text}' is not a number`);
  return v;
}

/** "a=1,b=2,c" → entries in order; a leading value without '=' gets `firstKey`. */
function parseKeyValues(text: string, firstKey?: string): [string, string][] {
  return text.split(',').map((part, i) => {
    const eq = part.indexOf('=');
    if (eq < 0) return i === 0 && firstKey ? [firstKey, part] : [part, 'on'];
    return [part.slice(0, eq), part.slice(eq + 1)];
  });
}

function parseDrive(text: string): DriveOption {
  let file: string | undefined;
  let format: DriveOption['format'];
  let readonly = false;
  for (const [k, v] of parseKeyValues(text)) {
    switch (k) {
      case 'file': file = v; break;
      case 'format':
        if (v !== 'raw' && v !== 'qcow2') throw new UsageError(`-drive: format '${v}' is not supported (raw or qcow2)`);
        format = v;
        break;
      case 'if':
        if (v !== 'virtio') throw new UsageError(`-drive: interface '${v}' is not supported (only if=virtio)`);
        break;
      case 'readonly':
        if (v !== 'on' && v !== 'off') throw new UsageError(`-drive: readonly=${v}: expected on or off`);
        readonly = v === 'on';
        break;
      case 'media': case 'cache': case 'aio': case 'id': case 'index': case 'discard': break; // accepted, no effect
      default: throw new UsageError(`-drive: unknown parameter '${k}'`);
    }
  }
  if (!file) throw new UsageError('-drive: file=… is required');
  return { file, format, interface: 'virtio', readonly };
}

function parseDevice(text: string, opts: WkvmOptions): void {
  const kv = parseKeyValues(text, 'driver');
  const driver = kv[0][1];
  if (driver !== 'isa-debug-exit') throw new UsageError(`-device: '${driver}' is not a device wkvm has (isa-debug-exit)`);
  let iobase = 0x501;
  let iosize = 2;
  for (const [k, v] of kv.slice(1)) {
    if (k === 'iobase') iobase = parseNumber(v, '-device isa-debug-exit,iobase');
    else if (k === 'iosize') iosize = parseNumber(v, '-device isa-debug-exit,iosize');
    else throw new UsageError(`-device isa-debug-exit: unknown parameter '${k}'`);
  }
  if (iobase > 0xffff || iosize < 1 || iobase + iosize > 0x10000) {
    throw new UsageError(`-device isa-debug-exit: iobase 0x${iobase.toString(16)} with iosize ${iosize} is outside the I/O space`);
  }
  opts.debugExit = { iobase, iosize };
}

export function parseArgs(argv: string[]): WkvmOptions {
  const opts: WkvmOptions = {
    memory: DEFAULT_MEMORY, smp: 1, drives: [], nographic: false, serialStdio: false, noReboot: false,
    snapshot: false, deterministic: false, help: false, version: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    // QEMU accepts --option as well as -option.
    const arg = raw.startsWith('--') ? raw.slice(1) : raw;
    const value = (): string => {
      if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case '-h': case '-help': opts.help = true; break;
      case '-version': opts.version = true; break;
      case '-m': {
        const kv = parseKeyValues(value(), 'size');
        const size = kv.find(([k]) => k === 'size');
        if (!size) throw new UsageError('-m: a size is required');
        opts.memory = parseSize(size[1], '-m');
        break;
      }
      case '-smp': {
        const kv = parseKeyValues(value(), 'cpus');
        const cpus = kv.find(([k]) => k === 'cpus');
        opts.smp = cpus ? parseNumber(cpus[1], '-smp') : 1;
        if (opts.smp < 1) throw new UsageError('-smp: at least one CPU');
        break;
      }
      case '-kernel': opts.kernel = value(); break;
      case '-initrd': opts.initrd = value(); break;
      case '-append': opts.append = value(); break;
      case '-drive': opts.drives.push(parseDrive(value())); break;
      case '-nographic': opts.nographic = true; opts.serialStdio = true; break;
      case '-serial': {
        const v = value();
        if (v !== 'stdio' && v !== 'mon:stdio') throw new UsageError(`-serial: '${v}' is not supported (stdio)`);
        opts.serialStdio = true;
        break;
      }
      case '-no-reboot': opts.noReboot = true; break;
      case '-device': parseDevice(value(), opts); break;
      case '-snapshot': opts.snapshot = true; break;
      case '-icount': opts.deterministic = true; value(); break; // QEMU's instruction counting: deterministic time
      case '-accel': {
        const v = value();
        if (!/^(tcg|kvm|wkvm)(,|$)/.test(v)) throw new UsageError(`-accel: '${v}' is not available (wkvm is its own accelerator)`);
        break;
      }
      case '-enable-kvm': break;
      case '-machine': case '-M': {
        const v = value().split(',')[0];
        if (!/^(pc|pc-i440fx.*|accel=.*|type=pc.*)$/.test(v)) throw new UsageError(`-machine: '${v}' is not available (pc)`);
        break;
      }
      case '-cpu': {
        const v = value().split(',')[0];
        if (!/^(pentium3|pentium2|pentium|486|qemu32|kvm32|host|max)$/.test(v)) throw new UsageError(`-cpu: '${v}' is not available (wkvm presents a Pentium M-class CPU: x87, MMX, SSE, SSE2, no PAE)`);
        break;
      }
      case '-display': {
        const v = value();
        if (v !== 'none') throw new UsageError(`-display: '${v}' is not available (none; the console is the serial port)`);
        break;
      }
      case '-monitor': {
        const v = value();
        if (v !== 'none') throw new UsageError(`-monitor: '${v}' is not available (none)`);
        break;
      }
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option '${raw}' (see wkvm -help)`);
        throw new UsageError(`unexpected argument '${raw}' (a disk image is given with -drive file=…)`);
    }
  }
  return opts;
}

export const HELP = `usage: wkvm [options]

wkvm runs an x86 PC headless with QEMU's options; with no -kernel it boots the
bundled Linux guest. The serial console is this terminal: Ctrl-A X quits,
Ctrl-A H lists the other Ctrl-A keys.

  -m SIZE            guest RAM (default 128M; 16M to 2G)
  -smp N             number of CPUs (1)
  -kernel FILE       Linux bzImage or multiboot kernel to boot directly
  -initrd FILE       initial ramdisk for -kernel
  -append CMDLINE    kernel command line
  -drive file=F[,format=raw|qcow2][,if=virtio][,readonly=on]
  -nographic         no display; the serial port is on stdio (the default)
  -serial stdio      the serial port on stdio
  -no-reboot         end the program when the guest resets (status 0)
  -device isa-debug-exit[,iobase=0xf4,iosize=0x04]
                     guest writes to the port end the program with status (v<<1)|1
  -snapshot          disk writes go to a temporary overlay
  -icount shift=auto deterministic guest time (derived from instructions)
  -accel, -machine pc, -cpu pentium3, -display none, -monitor none: accepted
`;
