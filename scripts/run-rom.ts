// Runs one bare-metal ROM image (e.g. test/system/bin/paging.bin) on our core
// and prints what it wrote to port 0xE9 and how the run ended.
//   npx tsx scripts/run-rom.ts test/system/bin/<name>.bin [maxInstructions]
import { readFileSync } from 'node:fs';
import { runRom } from '../test/helpers/bareMetal.ts';

const [path, max] = process.argv.slice(2);
if (!path) {
  console.error('usage: npx tsx scripts/run-rom.ts <image.bin> [maxInstructions]');
  process.exit(2);
}
const r = await runRom(readFileSync(path), max ? { maxInstructions: Number(max) } : {});
process.stdout.write(r.output);
console.log(`-- reason=${r.reason} exitStatus=${r.exitStatus} instructions=${r.instructions}`);
process.exit(r.reason === 'exit' && r.exitStatus === 0 ? 0 : 1);
