import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConfigCheck } from '../../../cli/commands/config-check.ts';

function capture() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: { write: (t: string) => (out.stdout += t) },
      stderr: { write: (t: string) => (out.stderr += t) },
    },
  };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'config-check-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('astreinte config check', () => {
  it('accepts both shipped regions with a summary', async () => {
    for (const file of ['config/examples/midi-pyrenees.yaml', 'config/examples/paca.yaml']) {
      const { out, io } = capture();
      expect(await runConfigCheck(['check', file], {}, io)).toBe(0);
      expect(out.stdout).toMatch(new RegExp(`^${file}: valid\\. Region \\S+ .*territor.*sites \\(\\d+ full, \\d+ archive-only\\)`));
      expect(out.stderr).toBe('');
    }
  });

  it('checks ASTREINTE_CONFIG, else the default, when no file is given', async () => {
    const { out, io } = capture();
    expect(await runConfigCheck(['check'], {}, io)).toBe(0);
    expect(out.stdout).toMatch(/midi-pyrenees\.yaml: valid\. Region midi-pyrenees .*8 territories/);
    const paca = capture();
    expect(await runConfigCheck([], { ASTREINTE_CONFIG: 'config/examples/paca.yaml' }, paca.io)).toBe(0);
    expect(paca.out.stdout).toMatch(/paca\.yaml: valid\. Region paca/);
  });

  it('prints one file:line:column: message line per problem and exits 1', async () => {
    // Shape problems (zod) are reported first; references are checked once the shape is right.
    const source = await readFile('config/examples/midi-pyrenees.yaml', 'utf8');
    const broken = source
      .replace('sites: ["310780150", "310019351"', 'sites: ["310780151", "310019351"')
      .replace('territory: lot\n    aeTitles: [FIGEAC_CT]', 'territory: quercy\n    aeTitles: [FIGEAC_CT]');
    const file = path.join(dir, 'broken.yaml');
    await writeFile(file, broken);
    const { out, io } = capture();
    expect(await runConfigCheck([file], {}, io)).toBe(1);
    const lines = out.stderr.trim().split('\n');
    const lineOf = (needle: string) => broken.split('\n').findIndex((l) => l.includes(needle)) + 1;
    expect(lines).toEqual([
      `${file}:${lineOf('territory: quercy')}:16: sites[18].territory: unknown territory "quercy"; territories are: ariege, aveyron, gers, haute-garonne, hautes-pyrenees, lot, tarn, tarn-et-garonne`,
      `${file}:${lineOf('"310780151"')}:13: readers[25].sites[0]: unknown site "310780151": no site has this FINESS; add it under sites or fix the number`,
      `${file}: 2 problems, the configuration cannot be used`,
    ]);
    expect(out.stdout).toBe('');
  });

  it('reports a missing file and wrong arguments', async () => {
    const missing = capture();
    expect(await runConfigCheck(['check', path.join(dir, 'nope.yaml')], {}, missing.io)).toBe(1);
    expect(missing.out.stderr).toMatch(/nope\.yaml:1:1: cannot read the region configuration: the file does not exist/);
    const wrong = capture();
    expect(await runConfigCheck(['check', 'a.yaml', 'b.yaml'], {}, wrong.io)).toBe(2);
    expect(await runConfigCheck(['--verbose'], {}, wrong.io)).toBe(2);
    expect(wrong.out.stderr).toMatch(/Usage: astreinte config check/);
  });
});
