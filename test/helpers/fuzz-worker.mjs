// Worker-thread entry of the CPU fuzzer: Node 20 does not hand tsx's loader
// to worker threads, so register it here, then load the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./fuzz-worker.ts');
