// Runs a bare-metal 64 KiB BIOS ROM image (test/system/*.asm) on our core,
// with the same conventions as QEMU's -debugcon stdio and isa-debug-exit:
// bytes written to port 0xE9 are the output, a write to port 0xF4 ends the
// run with that status. There is no other hardware: other OUTs are ignored,
// INs and MMIO reads return all ones, MMIO writes are ignored.
import * as abi from '../../wasm/abi.ts';
import { Vcpu } from '../../src/core/Vcpu.ts';

export const ROM_SIZE = 0x10000;
export const ROM_BASE = 0xf0000;
export const DEBUGCON_PORT = 0xe9;
export const EXIT_PORT = 0xf4;

export interface RunRomOptions {
  /** Guest RAM in bytes (default 16 MiB). */
  ramSize?: number;
  /** Instructions to run before giving up (default 50 million). */
  maxInstructions?: number;
}

export interface RunRomResult {
  /** Everything written to port 0xE9, one character per byte. */
  output: string;
  /** The value written to port 0xF4, or null if the run ended otherwise. */
  exitStatus: number | null;
  reason: 'exit' | 'shutdown' | 'hlt' | 'budget';
  /** Instructions retired (vm.icount). */
  instructions: bigint;
}

/** Instructions per run() call; the budget is checked between slices. */
const SLICE = 1_000_000;
/** run() calls in a row that retire nothing before the core is declared stuck. */
const MAX_IDLE_EXITS = 100_000;

function sizeMask(size: number): number {
  return size >= 4 ? 0xffffffff : (1 << (size * 8)) - 1;
}

export async function runRom(rom: Uint8Array, opts: RunRomOptions = {}): Promise<RunRomResult> {
  if (rom.length !== ROM_SIZE) throw new RangeError(`a ROM image must be ${ROM_SIZE} bytes (got ${rom.length})`);
  const ramSize = opts.ramSize ?? 16 << 20;
  const max = BigInt(opts.maxInstructions ?? 50_000_000);
  const vm = await Vcpu.create({ ramSize });
  vm.writePhys(ROM_BASE, rom);
  vm.reset();
  const start = vm.icount;
  const out: number[] = [];
  const finish = (reason: RunRomResult['reason'], exitStatus: number | null = null): RunRomResult => ({
    output: Buffer.from(out).toString('latin1'),
    exitStatus,
    reason,
    instructions: vm.icount - start,
  });

  let idle = 0;
  let last = start;
  for (;;) {
    if (vm.icount === last) {
      if (++idle > MAX_IDLE_EXITS) throw new Error(`the core made no progress in ${MAX_IDLE_EXITS} exits at EIP 0x${vm.eip.toString(16)}; output so far:\n${Buffer.from(out).toString('latin1')}`);
    } else {
      idle = 0;
      last = vm.icount;
    }
    const used = vm.icount - start;
    if (used >= max) return finish('budget');
    const left = max - used;
    const slice = left < BigInt(SLICE) ? Number(left) : SLICE;
    const exit = vm.run(slice);
    switch (exit) {
      case abi.EXIT_IO: {
        const size = vm.exitSize;
        if (vm.exitIsWrite) {
          const port = vm.exitPort;
          const value = vm.exitData & sizeMask(size);
          // A wider OUT to 0xE9 reaches the 1-byte debug console with its low byte.
          if (port === DEBUGCON_PORT) out.push(value & 0xff);
          else if (port === EXIT_PORT) return finish('exit', value);
        } else {
          vm.exitData = sizeMask(size);
        }
        break;
      }
      case abi.EXIT_MMIO:
        if (!vm.exitIsWrite) vm.exitData64 = vm.exitSize >= 8 ? 0xffffffffffffffffn : BigInt(sizeMask(vm.exitSize));
        break;
      case abi.EXIT_HLT:
        return finish('hlt');
      case abi.EXIT_SHUTDOWN:
        return finish('shutdown');
      case abi.EXIT_BUDGET:
      case abi.EXIT_IRQ_WINDOW:
      case abi.EXIT_NONE:
        break;
      default:
        throw new Error(`unexpected exit reason ${exit} at EIP 0x${vm.eip.toString(16)} after ${vm.icount - start} instructions; output so far:\n${Buffer.from(out).toString('latin1')}`);
    }
  }
}
