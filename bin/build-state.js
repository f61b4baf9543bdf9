// Whether .build/ holds JavaScript compiled from the sources as they are now (see scripts/build.mjs).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The folders whose files the gateway runs (TypeScript, SQL migrations, region configurations). */
export const SOURCE_DIRS = ['core', 'gateway', 'storage', 'worker', 'config', 'audit', 'cli'];
export const BUILD_DIR = '.build';
export const STAMP_FILE = 'stamp.json';
/** Files that change what is compiled, besides the sources. */
const BUILD_INPUTS = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

/** Newest modification time and number of the source files: a different answer means sources changed. */
export function sourceFingerprint(root) {
  let newest = 0;
  let count = 0;
  const visit = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) visit(full);
      } else if (entry.isFile()) {
        newest = Math.max(newest, statSync(full).mtimeMs);
        count += 1;
      }
    }
  };
  for (const dir of SOURCE_DIRS) visit(path.join(root, dir));
  for (const file of BUILD_INPUTS) {
    try {
      newest = Math.max(newest, statSync(path.join(root, file)).mtimeMs);
    } catch {
      // optional
    }
  }
  return { newest, count };
}

/** True when .build/ was compiled from exactly the sources present now. */
export function buildIsFresh(root) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(path.join(root, BUILD_DIR, STAMP_FILE), 'utf8'));
  } catch {
    return false;
  }
  const now = sourceFingerprint(root);
  return stamp.newest === now.newest && stamp.count === now.count;
}
