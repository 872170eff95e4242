// Where the bundled guest (public/images/) is, seen from the VMM worker's own
// URL, so that it is found whatever path the app is served under and when the
// worker was started by the embed script on another site's page.
//   dev server: the worker runs from its source, /src/web/vmmWorker.ts, and
//               public/ is served at the root
//   build:      the worker is dist/assets/<name>.js and public/ is copied to dist/
export function bundledImagesBase(workerUrl: string): URL {
  return import.meta.env?.DEV ? new URL('../../images/', workerUrl) : new URL('../images/', workerUrl);
}
