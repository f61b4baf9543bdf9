// The layer rules (.dependency-cruiser.cjs) hold on the tree, and catch a planted violation of each kind.
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const depcruise = path.join(repoRoot, 'node_modules/.bin/depcruise');
const config = path.join(repoRoot, '.dependency-cruiser.cjs');
const FOLDERS = ['core', 'config', 'storage', 'audit', 'worker', 'gateway', 'cli', 'test-data', 'bench'];

async function cruise(cwd: string, folders: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(depcruise, [...folders, '--config', config, '--output-type', 'err'], { cwd });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, output: failure.stdout + failure.stderr };
  }
}

describe('layers', () => {
  const planted = mkdtempSync(path.join(os.tmpdir(), 'astreinte-layers-'));
  afterAll(() => rmSync(planted, { recursive: true, force: true }));

  it('every import of the project points down the layers, with no cycle', async () => {
    const { code, output } = await cruise(repoRoot, FOLDERS);
    expect(output).toContain('no dependency violations found');
    expect(code).toBe(0);
  });

  it('fails naming each planted violation', async () => {
    const files: Record<string, string> = {
      'tsconfig.json': JSON.stringify({ compilerOptions: { allowImportingTsExtensions: true, module: 'NodeNext', noEmit: true } }),
      'core/model.ts': "import { handler } from '../gateway/handler.ts';\nexport const model = handler;\n",
      'gateway/handler.ts': "export const handler = 1;\n",
      'storage/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
      'storage/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
      'worker/job.ts': "import { handler } from '../gateway/handler.ts';\nexport const job = handler;\n",
      'gateway/uses-bench.ts': "import { helper } from '../bench/helper.ts';\nexport const x = helper;\n",
      'bench/helper.ts': 'export const helper = 1;\n',
    };
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(planted, name)), { recursive: true });
      writeFileSync(path.join(planted, name), text);
    }
    const { code, output } = await cruise(planted, ['core', 'storage', 'worker', 'gateway', 'bench']);
    expect(code).not.toBe(0);
    expect(output).toMatch(/core-imports-nothing: core\/model\.ts → gateway\/handler\.ts/);
    expect(output).toMatch(/no-circular: storage\/a\.ts → /);
    expect(output).toMatch(/worker-never-imports-gateway: worker\/job\.ts → gateway\/handler\.ts/);
    expect(output).toMatch(/product-never-imports-bench-or-tests: gateway\/uses-bench\.ts → bench\/helper\.ts/);
  });
});
