import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../..');

// No Docker engine here: the image's build stage is checked against what the build compiles.
describe('the Dockerfile', () => {
  const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const stages = dockerfile.split(/^FROM /m);
  const buildStage = stages[1];
  const copied = [...buildStage.matchAll(/^COPY (\S+) /gm)].map((m) => m[1]);

  it('copies into its build stage every folder the build compiles, and nothing of the tests', () => {
    const include = (JSON.parse(readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8')) as { include: string[] }).include;
    expect(include.filter((dir) => !copied.includes(dir)), 'add COPY lines for these folders').toEqual([]);
    expect(copied.filter((dir) => dir.startsWith('test'))).toEqual([]);
  });

  it('exposes the HTTP port and the DICOM listener', () => {
    expect(dockerfile).toMatch(/^EXPOSE 8080 11112$/m);
  });
});
