// virtio-blk under the real guest: Linux finds /dev/vda on PCI, reads what
// the host put there, and a guest write with fsync reaches the host's disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestConsole } from '../helpers/guestConsole.ts';
import { MemoryDisk } from '../../src/storage/MemoryDisk.ts';

const PROMPT = 'wkvm:/# ';

test('the guest reads and writes a virtio-blk disk', async () => {
  const disk = new MemoryDisk(8 << 20);
  await disk.write(0, new TextEncoder().encode('hello from the disk\n'));
  const g = await GuestConsole.boot({ cmdline: 'console=ttyS0', setup: (m) => m.addDisk(disk) });
  await g.waitFor(PROMPT, 120);
  const out = await g.run('cat /sys/block/vda/size; head -c 20 /dev/vda; echo written-by-guest | dd of=/dev/vda bs=512 seek=8 conv=fsync; grep virtio /proc/interrupts', PROMPT);
  assert.match(out, /^16384\r?$/m, '8 MiB in 512-byte sectors');
  assert.match(out, /^hello from the disk\r?$/m);
  assert.match(out, /IO-APIC\s+\d+-fasteoi\s+virtio0/, 'INTx through the PIIX3 PIRQ to the I/O APIC, level-triggered');
  const back = new Uint8Array(16);
  await disk.read(4096, back);
  assert.equal(new TextDecoder().decode(back), 'written-by-guest');
});
