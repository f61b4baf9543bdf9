import { describe, expect, it } from 'vitest';
import { runOncall } from '../../../cli/commands/oncall.ts';
import type { OnCallJson } from '../../../config/oncall/on-call-json.ts';

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out = { stdout: '', stderr: '' };
  const code = await runOncall(argv, env, {
    stdout: { write: (t: string) => (out.stdout += t) },
    stderr: { write: (t: string) => (out.stderr += t) },
  });
  return { code, ...out };
}

describe('astreinte oncall', () => {
  it('prints who is on call in a territory, as JSON, with the rota entry', async () => {
    const { code, stdout, stderr } = await run(['--at', '2026-11-15T02:10:00+01:00', '--territory', 'ariege']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const output = JSON.parse(stdout) as { at: string; region: string; config: string; pools: OnCallJson[] };
    expect(output.at).toBe('2026-11-15T02:10:00+01:00');
    expect(output.region).toBe('midi-pyrenees');
    expect(output.config).toMatch(/config\/examples\/midi-pyrenees\.yaml$/);
    const pdses = output.pools.find((p) => p.pool === 'pdses-ariege');
    expect(pdses).toMatchObject({
      covered: true,
      primary: { rpps: '10009000037', name: 'Dr Claire Soula' },
      backup: { rpps: '10009000011', name: 'Dr Anne Roques' },
      entry: { kind: 'weekly-pattern', id: 'weekend', start: '2026-11-14T08:30:00+01:00', end: '2026-11-16T08:30:00+01:00' },
    });
    expect(output.pools.find((p) => p.pool === 'jour-ariege')).toMatchObject({ covered: false, primary: null, entry: null });
    expect(output.pools.some((p) => p.pool === 'pdses-tarn')).toBe(false);
  });

  it('one pool on Easter Monday 2027, local time read in the region zone', async () => {
    const { code, stdout } = await run(['--at', '2027-03-29T10:00', '--pool', 'pdses-ariege']);
    expect(code).toBe(0);
    const output = JSON.parse(stdout) as { at: string; pools: OnCallJson[] };
    expect(output.at).toBe('2027-03-29T10:00:00+02:00');
    expect(output.pools).toHaveLength(1);
    expect(output.pools[0].entry).toMatchObject({ kind: 'public-holiday', holiday: { id: 'easter-monday' }, hours: 24 });
  });

  it('uses ASTREINTE_NOW when --at is absent, and ASTREINTE_CONFIG for the region', async () => {
    const { code, stdout } = await run([], {
      ASTREINTE_NOW: '2026-11-15T02:10:00+01:00',
      ASTREINTE_CONFIG: 'config/examples/paca.yaml',
    });
    expect(code).toBe(0);
    const output = JSON.parse(stdout) as { at: string; region: string; pools: OnCallJson[] };
    expect(output.region).toBe('paca');
    expect(output.at).toMatch(/^2026-11-15T02:10:0\d/);
    expect(output.pools.map((p) => p.pool)).toEqual(['pdses-alpes-maritimes', 'neurochirurgie-chu-nice']);
  });

  it('refuses a bad time, an unknown territory or pool, with exit 2', async () => {
    const badTime = await run(['--at', 'dimanche 2h']);
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toMatch(/--at "dimanche 2h" is not an ISO 8601 date and time/);
    const territory = await run(['--at', '2026-11-15T02:10Z', '--territory', 'corse']);
    expect(territory.code).toBe(2);
    expect(territory.stderr).toMatch(/unknown territory "corse"; territories are: ariege/);
    expect((await run(['--at', '2026-11-15T02:10Z', '--pool', 'x'])).code).toBe(2);
    expect((await run(['--when', 'now'])).code).toBe(2);
  });

  it('exits 1 when the configuration cannot be used', async () => {
    const { code, stderr } = await run(['--at', '2026-11-15T02:10Z'], { ASTREINTE_CONFIG: '/nonexistent/region.yaml' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/\/nonexistent\/region\.yaml:1:1: cannot read/);
  });
});
