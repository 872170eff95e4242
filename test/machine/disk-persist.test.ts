// Disks as users keep them: the guest mounts an ext4 filesystem on /dev/vda,
// writes a file and syncs; after wkvm restarts the file is there (raw and
// qcow2 images, and qemu-img check finds the qcow2 clean); with -snapshot it
// is not. The images are made by Debian's mkfs.ext4 and qemu-img.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../..', import.meta.url));
const PROMPT = 'wkvm:/# ';
const tools = ['mkfs.ext4', 'qemu-img'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const skip = tools.length ? `needs ${tools.join(' and ')} (apt-get install e2fsprogs qemu-utils)` : false;

/** Boots the bundled guest with `drive`, types `command` at the prompt, and returns the output when wkvm exits. */
async function withDisk(drive: string, command: string, extra: string[] = []): Promise<string> {
  const child = spawn(process.execPath, ['bin/wkvm.mjs', '-nographic', '-m', '64M', '-icount', 'shift=auto', '-drive', drive, ...extra], { cwd: root });
  let out = '';
  let typed = false;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString('latin1');
    if (!typed && out.includes(PROMPT)) {
      typed = true;
      child.stdin.write(`${command}; poweroff -f\n`);
    }
  });
  child.stderr.on('data', (d: Buffer) => (out += d.toString('latin1')));
  const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.ok(typed, `no prompt:\n${out.slice(-2000)}`);
  assert.equal(status, 0, out.slice(-2000));
  return out;
}

const WRITE = 'mount -t ext4 /dev/vda /mnt && echo kept-$((6*7)) > /mnt/note && sync && umount /mnt && echo WROTE';
const READ = 'mount -t ext4 /dev/vda /mnt && cat /mnt/note; ls /mnt; umount /mnt';

function makeExt4(dir: string): string {
  const img = join(dir, 'disk.img');
  const r = spawnSync('mkfs.ext4', ['-q', '-F', img, '16M'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return img;
}

test('a raw ext4 disk keeps what the guest wrote across restarts', { skip }, async () => {
  const img = makeExt4(mkdtempSync(join(tmpdir(), 'wkvm-raw-')));
  assert.match(await withDisk(`file=${img},format=raw,if=virtio`, WRITE), /^WROTE\r?$/m);
  assert.match(await withDisk(`file=${img},format=raw,if=virtio`, READ), /^kept-42\r?$/m);
  const fsck = spawnSync('e2fsck', ['-fn', img], { encoding: 'utf8' });
  assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
});

test('a qcow2 ext4 disk keeps what the guest wrote, and qemu-img check finds it clean', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wkvm-qcow2-'));
  const raw = makeExt4(dir);
  const q = join(dir, 'disk.qcow2');
  assert.equal(spawnSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, q]).status, 0);
  assert.match(await withDisk(`file=${q},format=qcow2,if=virtio`, WRITE), /^WROTE\r?$/m);
  const check = spawnSync('qemu-img', ['check', q], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /No errors were found/);
  assert.match(await withDisk(`file=${q},if=virtio`, READ), /^kept-42\r?$/m, 'format detected from the image');
});

test('-snapshot: the guest writes, the image is untouched', { skip }, async () => {
  const img = makeExt4(mkdtempSync(join(tmpdir(), 'wkvm-snap-')));
  const before = spawnSync('sha256sum', [img], { encoding: 'utf8' }).stdout.split(' ')[0];
  assert.match(await withDisk(`file=${img},format=raw,if=virtio`, WRITE, ['-snapshot']), /^WROTE\r?$/m);
  assert.equal(spawnSync('sha256sum', [img], { encoding: 'utf8' }).stdout.split(' ')[0], before);
  assert.doesNotMatch(await withDisk(`file=${img},format=raw,if=virtio`, READ), /kept-42/);
});
