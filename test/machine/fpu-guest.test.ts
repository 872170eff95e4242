// Floating point under the real guest: a static i386 program doing float,
// double and long double arithmetic, conversions, strtod/printf, libm and
// fenv (test/guest/fpmath.c) prints inside the bundled Linux exactly what it
// printed natively (test/guest/fpmath.expected). Two builds of it: x87 only
// (-mfpmath=387) and SSE2 (-msse2 -mfpmath=sse). scripts/build-guest-tests.sh
// builds them and records the expected output.
//
// The initramfs has no copy of the programs: they reach the guest on a raw
// virtio disk, one after the other, each starting on a 512-byte sector.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GuestConsole } from '../helpers/guestConsole.ts';
import { MemoryDisk } from '../../src/storage/MemoryDisk.ts';

const PROMPT = 'wkvm:/# ';
const guestDir = fileURLToPath(new URL('../guest/', import.meta.url));
const PROGRAMS = ['fpmath-x87', 'fpmath-sse2'];
const expected = readFileSync(`${guestDir}fpmath.expected`, 'latin1');

interface Placed {
  name: string;
  bytes: Uint8Array;
  sector: number;
  sectors: number;
}

/** The programs on one disk image, each padded to whole sectors. */
function diskWith(names: string[]): { disk: MemoryDisk; placed: Placed[] } {
  const placed: Placed[] = [];
  let sector = 0;
  for (const name of names) {
    const bytes = new Uint8Array(readFileSync(`${guestDir}bin/${name}`));
    const sectors = Math.ceil(bytes.length / 512);
    placed.push({ name, bytes, sector, sectors });
    sector += sectors;
  }
  const image = new Uint8Array(sector * 512);
  for (const p of placed) image.set(p.bytes, p.sector * 512);
  return { disk: MemoryDisk.from(image), placed };
}

/** How many lines differ, and the first few of them, for a readable failure. */
function differences(want: string, actual: string, max = 12): string {
  const a = want.split('\n');
  const b = actual.split('\n');
  const out: string[] = [];
  let count = 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    if (++count <= max) out.push(`line ${i + 1} native: ${a[i] ?? '(none)'}`, `line ${i + 1}  guest: ${b[i] ?? '(none)'}`);
  }
  return `${count} of ${a.length - 1} lines differ (the guest printed ${b.length - 1}); the first ${Math.min(count, max)}:\n${out.join('\n')}`;
}

describe('floating point in the bundled guest', () => {
  let g: GuestConsole;
  let bootLog = '';
  const { disk, placed } = diskWith(PROGRAMS);

  before(async () => {
    g = await GuestConsole.boot({ cmdline: 'console=ttyS0', setup: (m) => m.addDisk(disk, { readOnly: true }) });
    bootLog = await g.waitFor(PROMPT, 120);
    // Copy each program out of the disk into the root file system.
    for (const p of placed) {
      const out = await g.run(
        `dd if=/dev/vda bs=512 skip=${p.sector} count=${p.sectors} 2>/dev/null | head -c ${p.bytes.length} >/${p.name}; chmod +x /${p.name}; wc -c </${p.name}`,
        PROMPT,
      );
      assert.match(out, new RegExp(`^${p.bytes.length}\\r?$`, 'm'), `copying ${p.name} out of /dev/vda`);
    }
  });

  test('the kernel uses the FPU (no math emulation)', async () => {
    const fpuLines = bootLog.split('\n').filter((l) => /x86\/fpu|FPU/.test(l)).join('\n');
    assert.match(fpuLines, /x86\/fpu: x87 FPU will use FXSAVE/, `the kernel's FPU lines:\n${fpuLines}`);
    assert.doesNotMatch(fpuLines, /No FPU detected/);
    const info = await g.run('cat /proc/cpuinfo', PROMPT);
    const flags = /^flags\s*:.*$/m.exec(info)?.[0] ?? '(no flags line)';
    assert.match(info, /^fpu\s*: yes\r?$/m, 'cpuinfo: fpu: yes');
    for (const flag of ['fpu', 'mmx', 'fxsr', 'sse', 'sse2']) assert.match(flags, new RegExp(`\\b${flag}\\b`), `${flag} in ${flags}`);
  });

  for (const name of PROGRAMS) {
    test(`${name} prints what it prints natively`, async () => {
      // The markers are built by the shell, so the echoed command line does
      // not contain them.
      g.type(`M=FP; echo "<$M-begin>"; /${name}; echo "<$M-end $?>"\n`);
      const text = await g.waitFor(/<FP-end \d+>/, 600);
      await g.waitFor(PROMPT);
      const begin = text.indexOf('<FP-begin>');
      assert.ok(begin >= 0, `no begin marker in:\n${text.slice(-2000)}`);
      const status = Number(/<FP-end (\d+)>/.exec(text)?.[1]);
      const output = text.slice(text.indexOf('\n', begin) + 1, text.lastIndexOf('<FP-end')).replace(/\r\n/g, '\n');
      assert.ok(
        output === expected,
        `${name} (exit status ${status}) differs from native: ${differences(expected, output)}`,
      );
      assert.equal(status, 0);
    });
  }
});
