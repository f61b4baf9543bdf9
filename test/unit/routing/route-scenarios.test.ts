import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRegionConfig } from '../../../config/region/load-region-config.ts';
import type { RegionConfig } from '../../../config/region/region-config.ts';
import { DEFAULT_REGION_CONFIG_PATH } from '../../../config/region/resolve-config-path.ts';
import { choosePool, poolsToNotify } from '../../../worker/route/choose-pool.ts';
import type { StudyFacts } from '../../../worker/route/classify-exam.ts';
import { deadlineTimes, matchRule, type MatchedRule } from '../../../worker/route/match-rule.ts';
import { parseInstant } from '../../../core/time/wall-time.ts';

const SAINT_GIRONS = '090000050';
const SEYSSES = '310019351';
const CHU = '310781406';
const EHPAD = '090001356';
const SOULA = '10009000037';
const ROQUES = '10009000011';

let config: RegionConfig;
beforeAll(async () => {
  config = await loadRegionConfig(DEFAULT_REGION_CONFIG_PATH);
});

const at = (text: string) => parseInstant(text, 'Europe/Paris') as Date;

function matched(facts: StudyFacts): MatchedRule {
  const decision = matchRule(config, facts);
  if (decision.outcome !== 'matched') throw new Error(`expected a rule, got ${decision.code}: ${decision.reason}`);
  return decision;
}

const headCt: StudyFacts = {
  site: SAINT_GIRONS,
  modalities: ['CT'],
  bodyPart: 'HEAD',
  studyDescription: 'TDM cérébrale sans injection',
};

describe('routing scenarios on the Midi-Pyrénées configuration', () => {
  it('head CT from CH Saint-Girons, Sunday 02:10 -> the Ariège PDSES on-call reader', () => {
    const decision = matched(headCt);
    expect(decision).toMatchObject({
      territory: 'ariege',
      category: 'neuro',
      rule: { id: 'neuro-emergency' },
      candidates: ['pdses-ariege', 'jour-ariege', 'teleradiologie-regionale'],
      priority: { id: 'urgent', rank: 2 },
      deadlineMs: 3_600_000,
      warningMs: 1_800_000,
      escalation: { id: 'neuro' },
    });
    expect(decision.why).toMatch(/rule neuro-emergency .*neuro exam \(body part HEAD\) from CH Ariège Couserans/);
    const choice = choosePool(config, decision.candidates, at('2026-11-15T02:10'));
    expect(choice).toMatchObject({ pool: 'pdses-ariege', held: false, considered: [{ pool: 'pdses-ariege', covered: true }] });
    expect(choice.onCall.primary?.rpps).toBe(SOULA);
    expect(choice.onCall.backup?.rpps).toBe(ROQUES);
    expect(choice.onCall.entry?.id).toBe('weekend');
    const routedAt = at('2026-11-15T02:10');
    expect(deadlineTimes(decision, routedAt)).toEqual({ warningAt: at('2026-11-15T02:40'), deadline: at('2026-11-15T03:10') });
  });

  it('the same head CT on a weekday morning goes to the Ariège daytime line', () => {
    const choice = choosePool(config, matched(headCt).candidates, at('2026-11-17T10:00'));
    expect(choice.pool).toBe('jour-ariege');
    expect(choice.considered.map((c) => [c.pool, c.covered])).toEqual([
      ['pdses-ariege', false],
      ['jour-ariege', true],
    ]);
  });

  it('stroke-flagged CT -> STAT, deadline 30 min, the neuroradiology pole notified too', () => {
    const decision = matched({ ...headCt, priorityFlags: ['stroke'] });
    expect(decision).toMatchObject({
      category: 'stroke',
      rule: { id: 'stroke-alert' },
      priority: { id: 'stat', rank: 1 },
      deadlineMs: 30 * 60_000,
      warningMs: 15 * 60_000,
      notify: ['pole-neuroradiologie'],
      escalation: { id: 'stroke' },
    });
    const choice = choosePool(config, decision.candidates, at('2026-11-15T02:10'));
    expect(choice.pool).toBe('pdses-ariege');
    expect(poolsToNotify(decision.notify, choice)).toEqual(['pole-neuroradiologie']);
  });

  it('chest X-ray from Seysses -> only the Joseph Ducuing pneumology pool, never the emergency lists', () => {
    for (const flags of [[], ['urgent'], ['scheduled']] as const) {
      const decision = matched({
        site: SEYSSES,
        modalities: ['DX'],
        bodyPart: 'CHEST',
        studyDescription: 'Radiographie thoracique de face',
        priorityFlags: [...flags],
      });
      expect(decision).toMatchObject({
        category: 'chest-tb-screening',
        rule: { id: 'prison-tb-screening' },
        candidates: ['pneumologie-joseph-ducuing'],
        notify: [],
        priority: { id: 'tb-screening' },
        deadlineMs: 72 * 3_600_000,
      });
    }
    // At night nobody reads TB screening: the item waits in the pneumology pool, not on a PDSES line.
    const decision = matched({ site: SEYSSES, modalities: ['CR'], bodyPart: 'CHEST' });
    const night = choosePool(config, decision.candidates, at('2026-11-15T02:10'));
    expect(night).toMatchObject({ pool: 'pneumologie-joseph-ducuing', held: true });
    expect(night.onCall.primary).toBeNull();
    const day = choosePool(config, decision.candidates, at('2026-11-17T10:00'));
    expect(day).toMatchObject({ pool: 'pneumologie-joseph-ducuing', held: false });
  });

  it('cardiac CT -> the cardiovascular pole (urgent when flagged)', () => {
    const coroscanner: StudyFacts = { site: CHU, modalities: ['CT'], bodyPart: 'HEART', studyDescription: 'Coroscanner' };
    expect(matched(coroscanner)).toMatchObject({
      category: 'cardiac',
      rule: { id: 'cardiac' },
      candidates: ['pole-cardiovasculaire'],
      priority: { id: 'scheduled' },
    });
    expect(matched({ ...coroscanner, site: SAINT_GIRONS, priorityFlags: ['urgent'] })).toMatchObject({
      rule: { id: 'cardiac-urgent' },
      candidates: ['pole-cardiovasculaire'],
      priority: { id: 'urgent' },
    });
  });

  it('ultrasound -> not routed, with the reason', () => {
    const decision = matchRule(config, { site: SAINT_GIRONS, modalities: ['US'], studyDescription: 'Écho abdominale' });
    expect(decision).toMatchObject({ outcome: 'not-routed', code: 'excluded-modality' });
    expect(decision.outcome === 'not-routed' && decision.reason).toMatch(/Ultrasound is excluded from teleradiology/);
  });

  it('a study from an archive-only site is never routed, even a stroke alert', () => {
    const decision = matchRule(config, { site: EHPAD, modalities: ['CT'], bodyPart: 'HEAD', priorityFlags: ['stroke'] });
    expect(decision).toMatchObject({ outcome: 'not-routed', code: 'archive-only' });
    expect(decision.outcome === 'not-routed' && decision.reason).toMatch(/archive-only member.*never routed/);
  });

  it('an unknown site is refused with what to do', () => {
    expect(matchRule(config, { site: '999999999', modalities: ['CT'] })).toMatchObject({
      outcome: 'not-routed',
      code: 'unknown-site',
      reason: expect.stringMatching(/add it under sites/),
    });
  });

  it('a requested neuroradiology opinion goes to the pole; a scheduled exam to the daytime lines', () => {
    expect(matched({ site: CHU, modalities: ['MR'], bodyPart: 'SPINE', requestedExpertise: 'neuroradiology' })).toMatchObject({
      rule: { id: 'neuroradiology-opinion' },
      candidates: ['pole-neuroradiologie'],
    });
    const scheduled = matched({ site: '810000380', modalities: ['CR'], bodyPart: 'KNEE', priorityFlags: ['scheduled'] });
    expect(scheduled).toMatchObject({ rule: { id: 'scheduled' }, candidates: ['teleradiologie-regionale'], priority: { id: 'scheduled' } });
    // Nobody on the daytime lines at night: held in the regional daytime list, not sent to the PDSES line.
    expect(choosePool(config, scheduled.candidates, at('2026-11-15T02:10'))).toMatchObject({ pool: 'teleradiologie-regionale', held: true });
  });

  it('an unflagged abdominal CT from Lavaur at night -> the Tarn PDSES line', () => {
    const decision = matched({ site: '810000380', modalities: ['CT'], bodyPart: 'ABDOMEN' });
    expect(decision).toMatchObject({ category: 'general', rule: { id: 'emergency' }, candidates: ['pdses-tarn', 'teleradiologie-regionale'] });
    expect(choosePool(config, decision.candidates, at('2026-11-17T23:00')).pool).toBe('pdses-tarn');
  });
});

describe('routing on the PACA configuration', () => {
  it('neurosurgical opinions go to CHU de Nice; emergencies of Digne to the Alpes-Maritimes line', async () => {
    const paca = await loadRegionConfig(path.join(fileURLToPath(new URL('../../../config/examples/', import.meta.url)), 'paca.yaml'));
    const opinion = matchRule(paca, { site: '040780207', modalities: ['CT'], bodyPart: 'HEAD', requestedExpertise: 'neurosurgery' });
    expect(opinion).toMatchObject({ outcome: 'matched', rule: { id: 'neurosurgical-opinion' }, candidates: ['neurochirurgie-chu-nice'] });
    const emergency = matchRule(paca, { site: '040780207', modalities: ['CT'], priorityFlags: ['urgent'] });
    expect(emergency).toMatchObject({ outcome: 'matched', territory: 'alpes-de-haute-provence', candidates: ['pdses-alpes-maritimes'] });
    const other = matchRule(paca, { site: '060780954', modalities: ['CR'] });
    expect(other).toMatchObject({ outcome: 'matched', rule: { id: 'other' }, deadlineMs: 12 * 3_600_000, warningMs: 6 * 3_600_000 });
  });
});
