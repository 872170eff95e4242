// Seconds from start to the shell prompt of the bundled guest, for wkvm
// (real-time clock, as a user runs it) next to QEMU's TCG booting the same
// kernel and initramfs in the same run (when qemu-system-i386 is present).
// Prints figures only; nothing here asserts on time.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg } from 'node:os';

const root = fileURLToPath(new URL('..', import.meta.url));
const PROMPT = 'wkvm:/# ';
const KERNEL = `${root}public/images/bzImage`;
const INITRD = `${root}public/images/initramfs.cpio.gz`;
const RUNS = Number(process.env.BOOT_RUNS ?? 3);

/** Starts `cmd`, resolves with seconds until PROMPT appears on stdout, then kills it. */
function timeToPrompt(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd}: no prompt after 300 s`));
    }, 300_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (out.includes(PROMPT)) {
        const s = (performance.now() - t0) / 1000;
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve(s);
      }
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

async function best(label: string, cmd: string, args: string[]): Promise<number | undefined> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    try {
      times.push(await timeToPrompt(cmd, args));
    } catch (e) {
      console.log(`${label.padEnd(22)} skipped: ${(e as Error).message}`);
      return undefined;
    }
  }
  const b = Math.min(...times);
  console.log(`${label.padEnd(22)} ${b.toFixed(2)} s to the prompt (best of ${RUNS}: ${times.map((t) => t.toFixed(2)).join(', ')})`);
  return b;
}

console.log(`boot to the shell prompt: ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs`);
const wkvm = await best('wkvm (real time)', process.execPath, ['bin/wkvm.mjs', '-m', '64M', '-nographic']);
const wkvmDet = await best('wkvm (-icount)', process.execPath, ['bin/wkvm.mjs', '-m', '64M', '-nographic', '-icount', 'shift=auto']);
const qemu = await best('qemu-system-i386 TCG', 'qemu-system-i386', ['-cpu', 'pentium3', '-m', '64', '-nographic', '-no-reboot',
  '-kernel', KERNEL, '-initrd', INITRD, '-append', 'console=ttyS0', '-accel', 'tcg']);
if (wkvm !== undefined && qemu !== undefined) console.log(`ratio wkvm/QEMU (real time): ${(wkvm / qemu).toFixed(2)}`);
if (wkvmDet !== undefined && qemu !== undefined) console.log(`ratio wkvm/QEMU (-icount):   ${(wkvmDet / qemu).toFixed(2)}`);
