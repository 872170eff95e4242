// Disk throughput inside the guest, per backend: a static i386 program
// (bench/guest/diskbench.c) runs in the bundled guest against /dev/vdb
// (sequential 1 MiB writes/reads, 4 KiB random reads/writes, O_DIRECT),
// next to the same program run natively on an image file in the same run.
// Prints figures only; nothing asserts on time.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdirSync, mkdtempSync, copyFileSync, writeFileSync, statSync, createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const SEQ_MB = Number(process.env.DISK_SEQ_MB ?? 32);
const OPS = Number(process.env.DISK_OPS ?? 500);
const PROMPT = 'wkvm:/# ';

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`bench/disk: ${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr}`);
    process.exit(1);
  }
}

const work = mkdtempSync(join(tmpdir(), 'wkvm-diskbench-'));
const build = join(root, 'build/bench');
mkdirSync(build, { recursive: true });
sh('gcc', ['-O2', '-m32', '-static', '-o', join(build, 'diskbench32'), join(root, 'bench/guest/diskbench.c')]);
sh('gcc', ['-O2', '-o', join(build, 'diskbench'), join(root, 'bench/guest/diskbench.c')]);
const toolsDir = join(work, 'tools');
mkdirSync(toolsDir);
copyFileSync(join(build, 'diskbench32'), join(toolsDir, 'diskbench'));
const tools = join(work, 'tools.img');
sh('mkfs.ext4', ['-q', '-F', '-d', toolsDir, tools, '8M']);

function parse(out: string): string {
  const m = /DISKBENCH (.*)/.exec(out);
  return m ? m[1].trim() : `no result (${out.slice(-300).replace(/\s+/g, ' ')})`;
}

/** Boots the guest with the tools disk and `target`, runs diskbench on /dev/vdb. */
function inGuest(target: string, extra: string[] = [], mode = ''): Promise<string> {
  return new Promise((resolve) => {
    const args = ['bin/wkvm.mjs', '-nographic', '-m', '64M', '-drive', `file=${tools},format=raw,if=virtio`, '-drive', target, ...extra];
    const child = spawn(process.execPath, args, { cwd: root });
    let out = '';
    let typed = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (!typed && out.includes(PROMPT)) {
        typed = true;
        child.stdin.write(`mount -t ext4 /dev/vda /mnt && /mnt/diskbench /dev/vdb ${SEQ_MB} ${OPS} ${mode}; poweroff -f\n`);
      }
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString('latin1')));
    child.on('exit', () => resolve(parse(out)));
  });
}

console.log(`disk inside the guest: ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs; ${SEQ_MB} MiB sequential, ${OPS} random 4 KiB ops`);
const rawImg = join(work, 'target.img');
writeFileSync(rawImg, '');
sh('truncate', ['-s', '64M', rawImg]);
const native = spawnSync(join(build, 'diskbench'), [rawImg, String(SEQ_MB), String(OPS)], { encoding: 'utf8' });
console.log(`${'native (host, file)'.padEnd(24)} ${parse(native.stdout)}`);
console.log(`${'wkvm raw file'.padEnd(24)} ${await inGuest(`file=${rawImg},format=raw,if=virtio`)}`);
const qcow = join(work, 'target.qcow2');
sh('qemu-img', ['create', '-q', '-f', 'qcow2', qcow, '64M']);
console.log(`${'wkvm qcow2 (new)'.padEnd(24)} ${await inGuest(`file=${qcow},format=qcow2,if=virtio`)}`);
console.log(`${'wkvm qcow2 (allocated)'.padEnd(24)} ${await inGuest(`file=${qcow},format=qcow2,if=virtio`)}`);
console.log(`${'wkvm raw -snapshot'.padEnd(24)} ${await inGuest(`file=${rawImg},format=raw,if=virtio`, ['-snapshot'])}`);

// The HTTP-range backend: the raw image served with Range support on
// 127.0.0.1, opened read-only (what an embedded page does).
const size = statSync(rawImg).size;
const server = createServer((req, res) => {
  const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
  if (req.method === 'HEAD' || !m) {
    res.writeHead(200, { 'Content-Length': size, 'Accept-Ranges': 'bytes' });
    res.end();
    return;
  }
  const start = Number(m[1]);
  const end = Math.min(Number(m[2]), size - 1);
  res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${size}`, 'Content-Length': end - start + 1, 'Accept-Ranges': 'bytes' });
  createReadStream(rawImg, { start, end }).pipe(res);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as { port: number }).port;
const nativeRo = spawnSync(join(build, 'diskbench'), [rawImg, String(SEQ_MB), String(OPS), 'ro'], { encoding: 'utf8' });
console.log(`${'native (host, file) ro'.padEnd(24)} ${parse(nativeRo.stdout)}`);
console.log(`${'wkvm HTTP ranges (ro)'.padEnd(24)} ${await inGuest(`file=http://127.0.0.1:${port}/target.img,format=raw,if=virtio,readonly=on`, [], 'ro')}`);
server.close();
