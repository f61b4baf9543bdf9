import { beforeAll, describe, expect, it } from 'vitest';
import { loadRegionConfig } from '../../../config/region/load-region-config.ts';
import type { RegionConfig } from '../../../config/region/region-config.ts';
import { DEFAULT_REGION_CONFIG_PATH } from '../../../config/region/resolve-config-path.ts';
import { parseInstant } from '../../../core/time/wall-time.ts';
import type { RoutingDecision } from '../../../storage/worklist/worklist-types.ts';
import { decideRouting, type RoutingPlan } from '../../../worker/route/decide-routing.ts';
import { studyFacts, type IndexedStudy } from '../../../worker/route/study-facts.ts';

const SAINT_GIRONS = '090000050';
const EHPAD = '090001356';
const SOULA = '10009000037';
const STUDY = '1.2.826.0.1.3680043.10.1234.77.1';

let config: RegionConfig;
beforeAll(async () => {
  config = await loadRegionConfig(DEFAULT_REGION_CONFIG_PATH);
});

const at = (text: string) => parseInstant(text, 'Europe/Paris') as Date;
const sunday0210 = () => at('2026-11-15T02:10');

function study(overrides: Partial<IndexedStudy['facts']> = {}): IndexedStudy {
  return {
    studyInstanceUID: STUDY,
    facts: { site: SAINT_GIRONS, modalities: ['CT'], bodyPart: 'HEAD', studyDescription: 'TDM cérébrale sans injection', ...overrides },
    patientIds: [{ id: 'IPP-1', issuer: 'CHSG' }],
  };
}

function route(plan: RoutingPlan): Extract<RoutingPlan, { kind: 'route' }> {
  if (plan.kind !== 'route') throw new Error(`expected a route plan, got ${plan.kind}`);
  return plan;
}

describe('decideRouting (pure: facts + config + time -> decision)', () => {
  it('a head CT from CH Saint-Girons on Sunday 02:10 -> a reading item for the Ariège on-call reader, with its events', () => {
    const now = sunday0210();
    const plan = route(decideRouting({ study: study(), existing: null, objection: null }, config, now));
    expect(plan.item).toEqual({
      studyInstanceUID: STUDY,
      site: SAINT_GIRONS,
      territory: 'ariege',
      modality: 'CT',
      bodyPart: 'HEAD',
      category: 'neuro',
      priority: { id: 'urgent', rank: 2 },
      pool: 'pdses-ariege',
      assignee: SOULA,
      routedAt: now,
      warningAt: at('2026-11-15T02:40'),
      deadline: at('2026-11-15T03:10'),
      escalationChain: 'neuro',
      nextEscalationAt: at('2026-11-15T02:40'),
      notifiedPools: [],
    });
    expect(plan.decision).toMatchObject({ studyInstanceUID: STUDY, decision: 'routed', code: null, rule: 'neuro-emergency', pool: 'pdses-ariege', reader: SOULA, decidedAt: now });
    expect(plan.decision.reason).toMatch(/^rule neuro-emergency .*; pdses-ariege: Dr Claire Soula on call under weekly-pattern weekend/);
    expect(plan.events.map((e) => e.type)).toEqual(['routed']);
    expect(plan.events[0]).toMatchObject({ actor: 'system', at: now, detail: { rule: 'neuro-emergency', pool: 'pdses-ariege', reader: SOULA, escalationChain: 'neuro' } });
  });

  it('the same facts at the same instant always give the same plan', () => {
    const facts = { study: study(), existing: null, objection: null };
    expect(decideRouting(facts, config, sunday0210())).toEqual(decideRouting(facts, config, sunday0210()));
  });

  it('a stroke named in the description -> STAT, and the neuroradiology pole is notified (an event per notified pool)', () => {
    const plan = route(decideRouting({ study: study({ studyDescription: 'AVC thrombolyse' }), existing: null, objection: null }, config, sunday0210()));
    expect(plan.item).toMatchObject({ category: 'stroke', priority: { id: 'stat', rank: 1 }, notifiedPools: ['pole-neuroradiologie'] });
    expect(plan.events.map((e) => [e.type, e.detail.pool])).toEqual([
      ['routed', 'pdses-ariege'],
      ['notified', 'pole-neuroradiologie'],
    ]);
  });

  it('refuses an ultrasound, an archive-only site and a study without a site, saying why', () => {
    const now = sunday0210();
    const us = decideRouting({ study: study({ modalities: ['US'] }), existing: null, objection: null }, config, now);
    expect(us).toMatchObject({ kind: 'not-routed', site: SAINT_GIRONS, decision: { decision: 'refused', code: 'excluded-modality', itemId: null } });
    const archive = decideRouting({ study: study({ site: EHPAD }), existing: null, objection: null }, config, now);
    expect(archive).toMatchObject({ kind: 'not-routed', decision: { decision: 'refused', code: 'archive-only' } });
    const noSite = decideRouting({ study: study({ site: '' }), existing: null, objection: null }, config, now);
    expect(noSite).toMatchObject({ kind: 'not-routed', site: null, decision: { decision: 'refused', code: 'unknown-site' } });
  });

  it('holds the study of a patient who objects, once; a held study stays as recorded', () => {
    const now = sunday0210();
    const objection = { issuer: '1.2.250.1.213.1.4.8', recordedAt: at('2026-10-01T09:00') };
    const held = decideRouting({ study: study(), existing: null, objection }, config, now);
    expect(held).toMatchObject({ kind: 'not-routed', decision: { decision: 'held', code: 'patient-objection', rule: 'neuro-emergency' } });
    if (held.kind !== 'not-routed') throw new Error('held');
    expect(held.decision.reason).toContain('issued by 1.2.250.1.213.1.4.8');
    const again = decideRouting({ study: study(), existing: held.decision, objection }, config, at('2026-11-15T03:00'));
    expect(again).toEqual({ kind: 'unchanged', decision: held.decision });
    const lifted = decideRouting({ study: study(), existing: held.decision as RoutingDecision, objection: null }, config, now);
    expect(lifted.kind).toBe('route');
  });

  it('a refusal outranks an objection (the rule is looked at first)', () => {
    const objection = { issuer: '', recordedAt: at('2026-10-01T09:00') };
    expect(decideRouting({ study: study({ modalities: ['US'] }), existing: null, objection }, config, sunday0210())).toMatchObject({
      kind: 'not-routed',
      decision: { decision: 'refused', code: 'excluded-modality' },
    });
  });
});

describe('studyFacts (what the store read -> the facts routing decides on)', () => {
  it('takes the first image modality, body part and requested procedure; STAT orders count as urgent', () => {
    const metadata = JSON.stringify({ '00321060': { vr: 'LO', Value: ['Scanner thoracique'] }, '00401003': { vr: 'SH', Value: ['stat'] } });
    const indexed = studyFacts({
      studyInstanceUID: STUDY,
      site: SAINT_GIRONS,
      studyDescription: '  TDM  ',
      patientIds: [{ id: 'IPP-1', issuer: 'CHSG' }],
      senderFlags: { expertise: 'pneumology' },
      series: [
        { modality: 'SR', bodyPartExamined: 'HEAD', firstInstanceMetadata: null },
        { modality: 'ct', bodyPartExamined: ' CHEST ', firstInstanceMetadata: metadata },
      ],
    });
    expect(indexed).toEqual({
      studyInstanceUID: STUDY,
      facts: {
        site: SAINT_GIRONS,
        modalities: ['SR', 'CT'],
        bodyPart: 'CHEST',
        studyDescription: 'TDM',
        requestedProcedure: 'Scanner thoracique',
        priorityFlags: ['urgent'],
        requestedExpertise: 'pneumology',
      },
      patientIds: [{ id: 'IPP-1', issuer: 'CHSG' }],
    });
  });
});
