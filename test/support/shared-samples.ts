/**
 * Where the project's shared material is (`../shared` beside the repository: DICOM samples nobody here wrote).
 * Looked up, in order: ASTREINTE_SHARED_DIR; `shared/` beside this checkout; `shared/` beside the repository
 * this one was cloned from, when that is a local directory (a clone made elsewhere, such as
 * `git clone . /tmp/fresh`). A missing folder is an error that says how to provide it, never a skipped test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '../..');

function originDirectory(): string | undefined {
  try {
    const url = execFileSync('git', ['-C', repoRoot, 'remote', 'get-url', 'origin'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const local = url.startsWith('file://') ? new URL(url).pathname : url;
    return path.isAbsolute(local) && existsSync(local) ? local : undefined;
  } catch {
    return undefined;
  }
}

function findSharedDir(): string {
  const origin = originDirectory();
  const candidates = [
    process.env.ASTREINTE_SHARED_DIR,
    path.join(repoRoot, '..', 'shared'),
    origin ? path.join(origin, '..', 'shared') : undefined,
  ].filter((candidate): candidate is string => Boolean(candidate));
  const found = candidates.find((candidate) => existsSync(path.join(candidate, 'dicom-samples')));
  if (!found) {
    throw new Error(
      `The shared test material (dicom-samples/) was not found in ${candidates.join(', ')}. ` +
        'Put the shared/ folder beside the repository, or set ASTREINTE_SHARED_DIR to it.',
    );
  }
  return path.resolve(found);
}

export const SHARED_DIR = findSharedDir();
export const DICOM_SAMPLES = path.join(SHARED_DIR, 'dicom-samples');
