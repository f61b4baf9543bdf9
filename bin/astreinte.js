// Loaded by bin/astreinte.cjs (the command), which sizes the thread pool first.
// The JavaScript compiled in .build/ (scripts/build.mjs) when it matches the sources, else the TypeScript
// sources through tsx's loader (no build step needed while developing). ASTREINTE_BUILD=use trusts the build
// without checking (container images), ASTREINTE_BUILD=off always runs the sources.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BUILD_DIR, buildIsFresh } from './build-state.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.env.ASTREINTE_BUILD ?? 'auto';
if (mode === 'use' || (mode !== 'off' && buildIsFresh(root))) {
  await import(pathToFileURL(path.join(root, BUILD_DIR, 'out/cli/astreinte-cli.js')).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/astreinte-cli.ts');
}
