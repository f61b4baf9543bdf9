import { beforeAll, describe, expect, it } from 'vitest';
import { loadRegionConfig } from '../../../config/region/load-region-config.ts';
import type { RegionConfig } from '../../../config/region/region-config.ts';
import { DEFAULT_REGION_CONFIG_PATH } from '../../../config/region/resolve-config-path.ts';
import { escalationSchedule, resolveEscalationStep } from '../../../worker/route/escalation-plan.ts';
import { parseInstant } from '../../../core/time/wall-time.ts';

let config: RegionConfig;
beforeAll(async () => {
  config = await loadRegionConfig(DEFAULT_REGION_CONFIG_PATH);
});

const at = (text: string) => parseInstant(text, 'Europe/Paris') as Date;
const context = { pool: 'pdses-ariege', territory: 'ariege', site: '090000050', exclude: ['10009000037'] };

describe('escalation of an unclaimed head CT from Saint-Girons, Sunday 02:10', () => {
  it('hops at the warning point, then evenly until the deadline', () => {
    const chain = config.chainById.get('neuro') ?? null;
    const hops = escalationSchedule(chain, at('2026-11-15T02:10'), 30 * 60_000, 60 * 60_000);
    expect(hops.map((h) => [h.step.kind, h.at.toISOString()])).toEqual([
      ['backup', '2026-11-15T01:40:00.000Z'],
      ['pool', '2026-11-15T01:47:30.000Z'],
      ['territory-readers', '2026-11-15T01:55:00.000Z'],
      ['coordinator', '2026-11-15T02:02:30.000Z'],
    ]);
    expect(escalationSchedule(null, new Date(), 1, 2)).toEqual([]);
  });

  it('backup reader, then the neuroradiology pole on call, then the territory, then the coordinator', () => {
    const hop = (step: Parameters<typeof resolveEscalationStep>[1], when: string, exclude = context.exclude) =>
      resolveEscalationStep(config, step, { ...context, exclude }, at(when));
    expect(hop({ kind: 'backup' }, '2026-11-15T02:40')).toMatchObject({
      readers: [{ rpps: '10009000011', name: 'Dr Anne Roques' }],
      description: 'backup reader of pdses-ariege',
    });
    // Pole week: 313 days after 2026-01-05 = 44 weeks, 44 mod 3 = 2 (Sabatier).
    expect(hop({ kind: 'pool', pool: 'pole-neuroradiologie' }, '2026-11-15T02:47')).toMatchObject({
      pool: 'pole-neuroradiologie',
      readers: [{ rpps: '10031000127', name: 'Dr Amélie Sabatier' }],
    });
    const territory = hop({ kind: 'territory-readers' }, '2026-11-15T02:55', ['10009000037', '10009000011']);
    expect(territory.readers.map((r) => r.rpps)).toEqual(['10009000029']);
    expect(hop({ kind: 'coordinator' }, '2026-11-15T03:02')).toMatchObject({ coordinator: true, readers: [] });
    expect(hop({ kind: 'backup' }, '2026-11-17T10:00').readers).toEqual([]);
    expect(hop({ kind: 'pool-members' }, '2026-11-15T02:55', []).readers).toHaveLength(3);
  });
});
