// The bundled guest boots headless with deterministic time to a shell, and
// the shell's answers show the machine as Linux sees it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GuestConsole } from '../helpers/guestConsole.ts';

const PROMPT = 'wkvm:/# ';
const root = fileURLToPath(new URL('../..', import.meta.url));

test('the bundled guest boots to a shell and answers', async () => {
  const g = await GuestConsole.boot({ cmdline: 'console=ttyS0' });
  await g.waitFor(PROMPT, 120);
  const out = await g.run('uname -m; cat /proc/cpuinfo; echo $((6*7))', PROMPT);
  assert.match(out, /^i686\r?$/m);
  assert.match(out, /^vendor_id\s*: GenuineIntel\r?$/m);
  assert.match(out, /^cpu family\s*: 6\r?$/m);
  assert.match(out, /^flags\s*:.*\bapic\b.*\bcmov\b/m);
  assert.match(out, /^42\r?$/m);

  // The kernel uses the I/O APIC and ACPI: the timer, the console and the
  // SCI arrive through the IO-APIC, and the local APIC timer ticks.
  const irqs = await g.run('cat /proc/interrupts', PROMPT);
  assert.match(irqs, /^\s*0:\s+[1-9]\d*\s+IO-APIC\s+2-edge\s+timer/m);
  assert.match(irqs, /^\s*4:\s+[1-9]\d*\s+IO-APIC\s+4-edge\s+ttyS0/m);
  assert.match(irqs, /^\s*9:\s+\d+\s+IO-APIC\s+9-fasteoi\s+acpi/m);
  assert.match(irqs, /^LOC:\s+[1-9]\d*\s+Local timer interrupts/m);

  // reboot -f resets the machine (the CLI with -no-reboot then exits 0).
  g.type('reboot -f\n');
  assert.equal((await g.runUntilStop(30)).kind, 'reset');
});

test('the same boot is identical every time (deterministic time)', async () => {
  const runs: string[] = [];
  for (let i = 0; i < 2; i++) {
    const g = await GuestConsole.boot({ cmdline: 'console=ttyS0' });
    await g.waitFor(PROMPT, 120);
    // Up to the prompt: how much more output a slice carries after it
    // depends on the host's speed (slices are bounded in host time).
    runs.push(g.output.slice(0, g.output.indexOf(PROMPT) + PROMPT.length));
  }
  assert.ok(runs[0].length > 5000, 'a whole boot log');
  assert.equal(runs[0], runs[1]);
});

/** Runs wkvm on the bundled guest, types `command` at the prompt, and resolves with the exit status and output. */
async function wkvmCommand(args: string[], command: string): Promise<{ status: number | null; out: string; typed: boolean }> {
  const child = spawn(process.execPath, ['bin/wkvm.mjs', ...args], { cwd: root });
  let out = '';
  let typed = false;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString('latin1');
    if (!typed && out.includes(PROMPT)) {
      typed = true;
      child.stdin.write(`${command}\n`);
    }
  });
  const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { status, out, typed };
}

test('wkvm: poweroff in the guest ends the program with status 0', async () => {
  const r = await wkvmCommand(['-nographic', '-m', '64M', '-icount', 'shift=auto'], 'poweroff -f');
  assert.ok(r.typed, `no prompt; output:\n${r.out.slice(-2000)}`);
  assert.equal(r.status, 0, r.out.slice(-2000));
  assert.match(r.out, /reboot: Power down/);
});

test('wkvm -no-reboot: reboot -f in the guest ends the program with status 0', async () => {
  const r = await wkvmCommand(['-nographic', '-m', '64M', '-no-reboot', '-icount', 'shift=auto'], 'reboot -f');
  assert.ok(r.typed, `no prompt; output:\n${r.out.slice(-2000)}`);
  assert.equal(r.status, 0, r.out.slice(-2000));
  assert.match(r.out, /reboot: Restarting system/);
});
