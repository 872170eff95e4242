import { defineConfig } from 'vite';

// Shared WebAssembly memory (one guest RAM for several vCPU workers) needs
// SharedArrayBuffer, which browsers only grant to cross-origin isolated pages:
// the dev server and `vite preview` send these headers. A build in dist/ works
// from any static host without them (the VMM worker then picks the core
// variant for ordinary memory).
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  // Relative URLs everywhere: dist/ works under any path, and the embed script
  // finds its worker, wasm and images next to itself from another site's page.
  base: './',
  server: { headers: isolation },
  preview: { headers: isolation },
  build: {
    target: 'es2022',
    rollupOptions: {
      input: {
        main: 'index.html',
        embed: 'embed.html',
        // The embed script, under a name pages can link to: dist/wkvm-embed.js.
        'wkvm-embed': 'src/web/embed.ts',
      },
      // Keep the embed script's exports (createMachine…) for `import` from pages.
      preserveEntrySignatures: 'exports-only',
      output: {
        entryFileNames: (chunk) => (chunk.name === 'wkvm-embed' ? 'wkvm-embed.js' : 'assets/[name]-[hash].js'),
      },
    },
  },
  worker: {
    format: 'es',
    // src/web/bundledImages.ts finds public/ (dist/) as ../ from here.
    rollupOptions: { output: { entryFileNames: 'assets/[name]-[hash].js' } },
  },
});
