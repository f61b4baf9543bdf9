import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The reading web app. Cornerstone3D needs three things from Vite (../shared/reference/cornerstone3d-viewer.md):
 * - the image loader kept out of dependency pre-bundling, or its worker URL breaks (cornerstone3D #1532, #1856);
 * - ES module workers (the loader's decode worker is `new Worker(new URL(...), { type: 'module' })`);
 * - the `events` package for vtk.js's xmlbuilder2, which extends Node's EventEmitter.
 * The codec .wasm files (`new URL('@cornerstonejs/codec-…/decodewasm', import.meta.url)` in the loader) are
 * bundled as assets beside the decode worker: nothing is loaded from outside the gateway.
 * `@cornerstonejs/metadata` and `@cornerstonejs/utils` each get their own copy of dcmjs 0.52 (npm cannot hoist
 * it over the server's dcmjs 0.51, kept for Node 20): both resolve to the one copy, else the reading page's
 * chunk carries it twice.
 */
const dcmjs = path.join(here, '../node_modules/@cornerstonejs/metadata/node_modules/dcmjs');
export default defineConfig({
  root: here,
  base: '/',
  publicDir: false,
  resolve: { alias: [{ find: 'events', replacement: 'events/' }, ...(existsSync(dcmjs) ? [{ find: /^dcmjs$/, replacement: dcmjs }] : [])] },
  optimizeDeps: { exclude: ['@cornerstonejs/dicom-image-loader'], include: ['dicom-parser'] },
  worker: { format: 'es' },
  build: {
    outDir: path.join(here, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 6000,
    reportCompressedSize: false,
    sourcemap: false,
  },
});
