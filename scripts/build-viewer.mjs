#!/usr/bin/env node
// Builds the reading web app (viewer/, Vite 7 + Cornerstone3D) into viewer/dist, which the gateway serves at /.
//   node scripts/build-viewer.mjs            build
//   node scripts/build-viewer.mjs --if-stale build only when viewer/ or package-lock.json changed since the last build
// The image loader's codec .wasm files and decode worker are bundled by Vite into dist/assets/ (the loader finds them
// with `new URL(..., import.meta.url)`), so the page never loads anything from elsewhere. The build writes a gzip and a brotli copy of every text and wasm file beside it, so the gateway sends them
// compressed without compressing on each request. Runs on `npm ci` (prepare) when Vite is installed; without it
// (npm ci --omit=dev) it says so and exits 0.
import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const viewerDir = path.join(root, 'viewer');
const distDir = path.join(viewerDir, 'dist');
const stampFile = path.join(distDir, 'build-stamp.json');
const require = createRequire(path.join(root, 'package.json'));

function fingerprint() {
  let newest = 0;
  let count = 0;
  const visit = (file) => {
    const stat = statSync(file);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(file)) if (entry !== 'dist' && entry !== 'node_modules') visit(path.join(file, entry));
    } else {
      newest = Math.max(newest, stat.mtimeMs);
      count += 1;
    }
  };
  visit(viewerDir);
  newest = Math.max(newest, statSync(path.join(root, 'package-lock.json')).mtimeMs, statSync(fileURLToPath(import.meta.url)).mtimeMs);
  return { newest, count };
}

if (process.argv.includes('--if-stale') && existsSync(stampFile)) {
  const stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
  const now = fingerprint();
  if (stamp.newest === now.newest && stamp.count === now.count) process.exit(0);
}

let vite;
try {
  vite = await import(require.resolve('vite'));
} catch {
  console.error('astreinte viewer build: Vite is not installed (npm ci --omit=dev): the gateway serves the viewer built elsewhere, if any.');
  process.exit(0);
}

const stamp = fingerprint();
const staging = path.join(viewerDir, `dist.tmp-${process.pid}`);
rmSync(staging, { recursive: true, force: true });
try {
  await vite.build({
    configFile: path.join(viewerDir, 'vite.config.ts'),
    // 'error': the codecs' Emscripten glue names fs and path for Node, which the browser build leaves out (harmless).
    logLevel: 'error',
    build: { outDir: staging, emptyOutDir: true },
  });
  precompress(staging);
  writeFileSync(path.join(staging, 'build-stamp.json'), JSON.stringify(stamp));
  rmSync(distDir, { recursive: true, force: true });
  renameSync(staging, distDir);
} catch (error) {
  rmSync(staging, { recursive: true, force: true });
  console.error(`astreinte viewer build failed: ${error.stack ?? error.message}`);
  process.exit(1);
}

function precompress(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) precompress(file);
    else if (/\.(js|mjs|css|html|wasm|svg|json)$/.test(entry.name)) {
      const content = readFileSync(file);
      writeFileSync(`${file}.gz`, zlib.gzipSync(content, { level: 9 }));
      writeFileSync(`${file}.br`, zlib.brotliCompressSync(content, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 9, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: content.length } }));
    }
  }
}
