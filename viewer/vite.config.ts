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
 */
export default defineConfig({
  root: here,
  base: '/',
  publicDir: false,
  resolve: { alias: { events: 'events/' } },
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
