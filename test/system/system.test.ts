// System-level tests of the CPU core: the bare-metal programs in this folder
// (sources *.asm, images bin/*.bin, rebuilt by scripts/build-system-tests.sh,
// which also checks each one against QEMU) run on our core through
// test/helpers/bareMetal.ts. Each program checks its own results and prints
// "PASS <name>" / "FAIL <name>: ..." to port 0xE9, then writes its status to
// port 0xF4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runRom, type RunRomResult } from '../helpers/bareMetal.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

export const PROGRAMS = [
  'realmode_to_pmode',
  'paging',
  'page_fault',
  'call_gate',
  'interrupts_rings',
  'iret_ring3',
  'double_fault_task',
  'io_bitmap',
  'triple_fault',
  'v86',
  'exceptions',
  'cpu_state',
] as const;

/**
 * Programs with checks that QEMU's TCG does not enforce (segment limits and
 * rights on data accesses, EDX at reset): under QEMU those print
 * "UNENFORCED: ..." and the program still passes. Our core must enforce them
 * (Bochs does: scripts/build-system-tests.sh --bochs).
 */
const WITH_UNENFORCED_CHECKS = PROGRAMS.filter((name) => readFileSync(join(here, `${name}.asm`), 'latin1').includes('UNENFORCED'));

const runs = new Map<string, Promise<RunRomResult>>();
function run(name: string): Promise<RunRomResult> {
  let r = runs.get(name);
  if (!r) {
    r = runRom(readFileSync(join(here, 'bin', `${name}.bin`)));
    runs.set(name, r);
  }
  return r;
}

function describeRun(r: RunRomResult): string {
  return `reason=${r.reason} exitStatus=${r.exitStatus} after ${r.instructions} instructions; output:\n${r.output}`;
}

for (const name of PROGRAMS) {
  test(`system: ${name}`, async () => {
    const r = await run(name);
    if (name === 'triple_fault') {
      assert.match(r.output, /^TRIPLE$/m, describeRun(r));
      assert.equal(r.reason, 'shutdown', describeRun(r));
    } else {
      assert.ok(r.output.includes(`PASS ${name}\n`), describeRun(r));
      assert.equal(r.exitStatus, 0, describeRun(r));
    }
  });
}

for (const name of WITH_UNENFORCED_CHECKS) {
  test(`system: ${name} enforces the checks QEMU skips`, async () => {
    const r = await run(name);
    const unenforced = r.output.split('\n').filter((line) => line.startsWith('UNENFORCED'));
    assert.deepEqual(unenforced, [], describeRun(r));
  });
}

// QEMU flushes global entries on every CR3 write (allowed: the TLB is a
// cache), so the program only reports what it saw; Bochs keeps them, and so
// must our core.
test('system: paging keeps a global TLB entry across a CR3 reload', async () => {
  const r = await run('paging');
  assert.match(r.output, /^GLOBAL-AFTER-CR3: stale$/m, describeRun(r));
});

test('system: the committed images match their sources', (t) => {
  try {
    execFileSync('nasm', ['-v'], { stdio: 'ignore' });
  } catch {
    t.skip('nasm is not installed');
    return;
  }
  const sources = readdirSync(here).filter((f) => f.endsWith('.asm')).map((f) => f.slice(0, -4)).sort();
  assert.deepEqual(sources, [...PROGRAMS].sort(), 'every program has a test and every test a program');
  const dir = mkdtempSync(join(tmpdir(), 'wkvm-system-'));
  try {
    for (const name of sources) {
      const out = join(dir, `${name}.bin`);
      execFileSync('nasm', ['-f', 'bin', '-I', `${here}/`, '-o', out, join(here, `${name}.asm`)]);
      assert.ok(readFileSync(out).equals(readFileSync(join(here, 'bin', `${name}.bin`))), `test/system/bin/${name}.bin is stale: run scripts/build-system-tests.sh`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
