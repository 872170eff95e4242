// The VMM worker: one machine (device model, storage, vCPU 0) per worker,
// driven by the page through comlink (WkvmVm.ts). Guest RAM is shared memory
// when the page is cross-origin isolated, an ordinary memory otherwise (the
// core has a variant for each).
import { expose } from 'comlink';
import { VmmHost } from './VmmHost.ts';
import { createVmmService } from './vmmService.ts';
import { bundledImagesBase } from './bundledImages.ts';

const host = new VmmHost({
  bundledImages: bundledImagesBase(import.meta.url),
  sharedMemory: globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer !== 'undefined',
});
expose(createVmmService(host, (message, transfer) => self.postMessage(message, transfer)));
