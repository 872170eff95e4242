// The wkvm command as users run it: QEMU's options, exit statuses as QEMU
// computes them, and one-line errors for bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { writeFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../..', import.meta.url));
const HELLO = 'test/machine/kernels/multiboot_hello.bin';

function wkvm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/wkvm.mjs', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, input: '' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a multiboot kernel prints on COM1 and exits through isa-debug-exit as QEMU does', () => {
  const r = wkvm(['-kernel', HELLO, '-append', 'exit=21', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-nographic', '-m', '32M']);
  assert.equal(r.stdout, `hello from a multiboot kernel: ${HELLO} exit=21\n`);
  assert.equal(r.status, (21 << 1) | 1);
  assert.equal(r.stderr, '');
});

test('bad input gets a one-line error and a non-zero status, never a stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wkvm-cli-'));
  const notKernel = join(dir, 'notes.txt');
  writeFileSync(notKernel, 'hello');
  const truncated = join(dir, 'trunc.bin');
  writeFileSync(truncated, readFileSync(join(root, HELLO)).subarray(0, 200));
  const cases: [string[], RegExp][] = [
    [['-frobnicate'], /^wkvm: unknown option '-frobnicate'/],
    [['-kernel', join(dir, 'missing')], /^wkvm: -kernel '.*missing': no such file$/],
    [['-kernel', notKernel], /^wkvm: -kernel '.*notes.txt': not a kernel/],
    [['-kernel', truncated], /^wkvm: -kernel '.*trunc.bin': multiboot kernel is truncated/],
    [['-m', '8M', '-kernel', HELLO], /^wkvm: -m: 8 MiB: memory must be/],
    [['-m', 'lots'], /^wkvm: -m: 'lots' is not a size/],
    [['-smp', '4'], /^wkvm: -smp 4: only 1 CPU is supported so far$/],
    [['-device', 'e1000'], /^wkvm: -device: 'e1000' is not a device wkvm has/],
    [['-kernel'], /^wkvm: -kernel needs a value$/],
  ];
  for (const [args, pattern] of cases) {
    const r = wkvm(args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr.trim(), pattern, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
  }
});
