#!/usr/bin/env node
// Assembles the inline nasm snippets of a test file and writes their bytes
// back next to the source, so tests carry both and run without nasm:
//
//     asm(`<nasm source>`, '<hex bytes>')
//
// The file's `const ASM_HEADER = `…`;` (if any) is prepended to every
// snippet (shared equates). With --check, only reports snippets whose bytes
// are stale (exit status 1).
//
//   node scripts/inline-asm.mjs [--check] test/cpu/protected.test.ts
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const check = args.includes('--check');
const files = args.filter((a) => a !== '--check');
if (files.length === 0) {
  console.error('usage: node scripts/inline-asm.mjs [--check] FILE...');
  process.exit(2);
}

export function assemble(header, src) {
  const dir = mkdtempSync(join(tmpdir(), 'inline-asm-'));
  try {
    writeFileSync(join(dir, 'a.asm'), `${header}\n${src}\n`);
    execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), join(dir, 'a.asm')], { stdio: ['ignore', 'inherit', 'inherit'] });
    return readFileSync(join(dir, 'a.bin')).toString('hex');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let stale = 0;
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const header = /const ASM_HEADER = `([^`]*)`;/.exec(text)?.[1] ?? '';
  let count = 0;
  const out = text.replace(/asm\(`([^`]*)`,\s*'([0-9a-f]*)'\)/g, (whole, src, hex) => {
    count++;
    const bytes = assemble(header, src);
    if (bytes === hex) return whole;
    stale++;
    if (check) console.error(`${file}: snippet ${count} is stale`);
    return whole.replace(`'${hex}'`, `'${bytes}'`);
  });
  if (!check && out !== text) writeFileSync(file, out);
  console.log(`${file}: ${count} snippet(s)${check ? '' : ' assembled'}`);
}
if (check && stale > 0) process.exit(1);
