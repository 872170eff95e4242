#!/usr/bin/env node
// The wkvm command. The VMM is TypeScript; tsx compiles it on the fly.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../src/cli/main.ts');
await run(process.argv.slice(2));
