import { defineConfig } from 'vite';

// Shared WebAssembly memory (one guest RAM for several vCPU workers) needs
// SharedArrayBuffer, which browsers only grant to cross-origin isolated pages.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  server: { headers: isolation },
  preview: { headers: isolation },
  build: { target: 'es2022' },
  worker: { format: 'es' },
});
