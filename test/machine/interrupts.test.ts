// Interrupts and timers as an OS finds and uses them: the multiboot_timers
// kernel (test/machine/kernels/multiboot_timers.asm) walks the ACPI tables
// to the PM timer, the local APIC and the I/O APIC, calibrates the APIC timer
// against the PM timer, takes periodic APIC timer interrupts and PIT
// interrupts routed through the I/O APIC, and checks their rates. It passes
// the same way under QEMU (see the .asm for the command).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const TIMERS = 'test/machine/kernels/multiboot_timers.bin';
const ARGS = ['-kernel', TIMERS, '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-nographic'];

function wkvm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/wkvm.mjs', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, input: '' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A passing run that found this machine's hardware where the machine puts it. */
function assertPassOnOurLayout(r: ReturnType<typeof wkvm>): void {
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^PASS timers$/m, r.stdout);
  assert.doesNotMatch(r.stdout, /FAIL/, r.stdout);
  assert.equal(r.status, 1, r.stdout); // isa-debug-exit 0 -> (0 << 1) | 1
  // The layout of src/vmm/Machine.ts and src/firmware/AcpiTables.ts: the
  // RSDP at 0xE0000 (ACPI 1.0), an RSDT listing the FADT and the MADT, the
  // PM timer at 0x600 + 8, the SCI on IRQ 9, the local APIC and the I/O APIC
  // (ID 1, 24 pins) at their usual addresses, the PIT on pin 2.
  assert.match(r.stdout, /^ACPI: RSDP at 0xe0000 \(revision 0\), RSDT at 0x[0-9a-f]+: FACP APIC$/m, r.stdout);
  assert.match(r.stdout, /^ACPI: PM timer at 0x608, IOAPIC at 0xfec00000, IRQ0 -> GSI 2$/m, r.stdout);
  assert.match(r.stdout, /^ACPI: SCI IRQ 9, local APIC at 0xfee00000, CPUs 1, IOAPIC id 1 GSI base 0$/m, r.stdout);
  assert.match(r.stdout, /^APIC: id 0, version 0x14, IA32_APIC_BASE 0xfee00900$/m, r.stdout);
  assert.match(r.stdout, /^IOAPIC: id 1, version 0x11, 24 pins; the PIT is on pin 2$/m, r.stdout);
  assert.match(r.stdout, /^PM timer: 24-bit, advanced \d+ ticks/m, r.stdout);
  assert.match(r.stdout, /^IOAPIC: pin masked, [01] interrupts in the next 5 ms$/m, r.stdout);
}

/** A number the kernel printed: the first capture group of `re`. */
function measured(stdout: string, re: RegExp): number {
  const m = re.exec(stdout);
  assert.ok(m, `${re} in:\n${stdout}`);
  return Number(m[1]);
}

// Only deterministic runs are tests: in real time the kernel's own rate
// checks depend on how busy the host is (tests never assert on time).
test('with deterministic time the run is exact and the same every time', () => {
  const a = wkvm([...ARGS, '-icount', 'shift=auto']);
  assertPassOnOurLayout(a);
  // Guest time only advances with the guest, so the timers keep their
  // programmed rates exactly: 20 periods of ~1 ms, 9 of 1193 PIT clocks.
  assert.ok(Math.abs(measured(a.stdout, /^APIC timer: (\d+) Hz after the divide by 16/m) - 62_500_000) <= 62_500, a.stdout);
  assert.ok(Math.abs(measured(a.stdout, /periodic interrupts at vector 0x40 in (\d+) us/) - 20_000) <= 5, a.stdout);
  assert.ok(Math.abs(measured(a.stdout, /9 periods in (\d+) us/) - 8_999) <= 5, a.stdout);
  const b = wkvm([...ARGS, '-icount', 'shift=auto']);
  assert.equal(b.stdout, a.stdout);
  assert.equal(b.status, a.status);
});
