/**
 * The worklist API's pure rules: who sees what, how list queries are read, transaction UIDs and the wording
 * of refusals, on the Midi-Pyrénées example region.
 */
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRegionConfig, parseRegionConfig } from '../../../config/region/load-region-config.ts';
import type { RegionConfig } from '../../../config/region/region-config.ts';
import { DEFAULT_REGION_CONFIG_PATH } from '../../../config/region/resolve-config-path.ts';
import type { Principal } from '../../../core/identity/roles.ts';
import { HttpProblem } from '../../../gateway/http/problem.ts';
import { busyMessage } from '../../../gateway/read/worklist/claim-release.ts';
import { checkListScope, parseWorklistQuery, type WorklistQuery } from '../../../gateway/read/worklist/list-worklist.ts';
import { newTransactionUID } from '../../../gateway/read/worklist/transaction-uid.ts';
import { poolsOf, viewerOf, type Viewer } from '../../../gateway/read/worklist/worklist-viewer.ts';
import { canSeeItem, itemVisibilitySql, parameterList } from '../../../storage/worklist/item-visibility.ts';
import type { WorklistItemView } from '../../../storage/worklist/worklist-types.ts';
import { wallClock } from '../../../gateway/read/worklist/worklist-wording.ts';
import { parseInstant } from '../../../core/time/wall-time.ts';

let config: RegionConfig;
beforeAll(async () => {
  config = await loadRegionConfig(DEFAULT_REGION_CONFIG_PATH);
});

const at = (text: string) => parseInstant(text, 'Europe/Paris') as Date;
const principal = (p: Partial<Principal> & Pick<Principal, 'role'>): Principal => ({ userId: 'u1', ...p });
const statusOf = (fn: () => unknown): number | undefined => {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error instanceof HttpProblem ? error.status : -1;
  }
};

describe('viewerOf and canSeeItem', () => {
  const item = { pool: 'pdses-ariege', assignee: '10009000011', territory: 'ariege' };

  it('takes the RPPS from the rpps claim (never the subject) and the pools from the region config', () => {
    expect(statusOf(() => viewerOf(principal({ role: 'reader', userId: '10009000029' }), config))).toBe(403);
    const fromSubject = viewerOf(principal({ role: 'reader', userId: 'psc-x', rpps: '10009000029' }), config);
    expect(fromSubject).toEqual({ kind: 'reader', role: 'reader', rpps: '10009000029', pools: new Set(['pdses-ariege', 'jour-ariege']) });
    const fromClaim = viewerOf(principal({ role: 'reader', userId: 'psc-abc', rpps: '10012000014' }), config);
    expect(fromClaim.kind === 'reader' && fromClaim.rpps).toBe('10012000014');
    expect(canSeeItem(fromSubject, item)).toBe(true);
    expect(canSeeItem(fromClaim, item)).toBe(false);
    expect(canSeeItem(fromClaim, { ...item, offeredTo: ['10012000014'] })).toBe(true);
    expect(canSeeItem(fromClaim, { ...item, notifiedPools: ['pdses-aveyron'] })).toBe(true);
  });

  it('lets a coordinator see their territory only, an administrator everything, and refuses the other roles', () => {
    expect(canSeeItem(viewerOf(principal({ role: 'coordinator', territory: 'ariege' }), config), item)).toBe(true);
    expect(canSeeItem(viewerOf(principal({ role: 'coordinator', territory: 'lot' }), config), item)).toBe(false);
    expect(canSeeItem(viewerOf(principal({ role: 'coordinator' }), config), item)).toBe(false);
    expect(canSeeItem(viewerOf(principal({ role: 'admin' }), config), item)).toBe(true);
    expect(statusOf(() => viewerOf(principal({ role: 'sender', site: '090000050' }), config))).toBe(403);
    expect(statusOf(() => viewerOf(principal({ role: 'analyst' }), config))).toBe(403);
  });

  it('gives an expert the poles of their qualifications even when the rota lists them nowhere', async () => {
    const text = await readFile(DEFAULT_REGION_CONFIG_PATH, 'utf8');
    const trimmed = text.replace('members: ["10031000101", "10031000119", "10031000127"]', 'members: ["10031000101", "10031000119"]');
    expect(trimmed).not.toBe(text);
    // Dr Sabatier (neuroradiologist) leaves the pole's members and rota.
    const withoutRota = trimmed
      .replace('{ reader: "10031000119", backup: "10031000127" }', '{ reader: "10031000119", backup: "10031000101" }')
      .replace(/- \{ reader: "10031000127", backup: "10031000101" \}.*\n/, '');
    const region = parseRegionConfig(withoutRota, 'trimmed.yaml');
    expect(poolsOf(region, '10031000127', true)).toEqual(new Set(['pole-neuroradiologie']));
    expect(poolsOf(region, '10031000127', false)).toEqual(new Set());
    expect(poolsOf(region, '10031000202', true)).toEqual(new Set(['pole-cardiovasculaire']));
  });
});

describe('parseWorklistQuery', () => {
  it('defaults to every visible open item, most urgent first', () => {
    expect(parseWorklistQuery({}, config)).toEqual({
      scope: null,
      statuses: ['SCHEDULED', 'IN PROGRESS'],
      priorities: null,
      territory: null,
      limit: 500,
    });
  });

  it('reads comma lists, repeated parameters and the usual spellings of IN PROGRESS', () => {
    const query = parseWorklistQuery({ scope: 'pools', status: ['scheduled,in_progress', 'IN+PROGRESS'], priority: 'stat,urgent', limit: '20' }, config);
    expect(query).toMatchObject({ scope: 'pools', statuses: ['SCHEDULED', 'IN PROGRESS'], priorities: ['stat', 'urgent'], limit: 20 });
  });

  it('names what to fix', () => {
    const message = (q: Record<string, string>) => {
      try {
        parseWorklistQuery(q, config);
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(message({ scope: 'all' })).toBe('scope must be one of mine, pools, territory (or left out to see all your items).');
    expect(message({ status: 'DONE' })).toContain('Unknown status "DONE"');
    expect(message({ priority: 'asap' })).toBe('Unknown priority "asap": this region\'s priorities are stat, urgent, scheduled, tb-screening.');
    expect(message({ territory: 'bretagne' })).toContain('territory must be one of ariege, aveyron');
    expect(message({ limit: '0' })).toContain('limit must be a whole number');
  });
});

/** What a list request filters on: the scope checked by the API, then the store's SQL condition. */
function visibilityClause(viewer: Viewer, query: Pick<WorklistQuery, 'scope' | 'territory'>): { sql: string; values: unknown[] } {
  checkListScope(viewer, query);
  const { values, bind } = parameterList();
  return { sql: itemVisibilitySql(viewer, query, 'i', bind), values };
}

describe('visibilityClause', () => {
  const reader: Viewer = { kind: 'reader', role: 'reader', rpps: '10009000011', pools: new Set(['pdses-ariege']) };
  const coordinator: Viewer = { kind: 'coordinator', userId: 'c', territory: 'ariege' };
  const admin: Viewer = { kind: 'admin', userId: 'a' };

  it('binds every value as a parameter', () => {
    expect(visibilityClause(reader, { scope: 'mine', territory: null })).toEqual({
      sql: "(i.assignee = $1 OR ($1 = ANY(i.offered_to) AND i.status <> 'COMPLETED'))",
      values: ['10009000011'],
    });
    expect(visibilityClause(reader, { scope: 'pools', territory: null }).values).toEqual([['pdses-ariege']]);
    expect(visibilityClause(coordinator, { scope: 'territory', territory: null })).toEqual({ sql: 'i.territory = $1', values: ['ariege'] });
    expect(visibilityClause(admin, { scope: null, territory: null })).toEqual({ sql: 'TRUE', values: [] });
    expect(visibilityClause(admin, { scope: 'territory', territory: 'lot' })).toEqual({ sql: 'i.territory = $1', values: ['lot'] });
  });

  it('refuses scopes that are not the caller\'s', () => {
    expect(statusOf(() => visibilityClause(reader, { scope: 'territory', territory: null }))).toBe(403);
    expect(statusOf(() => visibilityClause(reader, { scope: null, territory: 'ariege' }))).toBe(403);
    expect(statusOf(() => visibilityClause(coordinator, { scope: 'mine', territory: null }))).toBe(400);
    expect(statusOf(() => visibilityClause(coordinator, { scope: null, territory: 'lot' }))).toBe(403);
    expect(statusOf(() => visibilityClause({ ...coordinator, territory: null }, { scope: null, territory: null }))).toBe(403);
    expect(statusOf(() => visibilityClause(admin, { scope: 'pools', territory: null }))).toBe(400);
  });
});

describe('newTransactionUID', () => {
  it('makes distinct UIDs under 2.25 that fit a UI (64 characters)', () => {
    const uids = new Set(Array.from({ length: 1000 }, newTransactionUID));
    expect(uids.size).toBe(1000);
    for (const uid of uids) {
      expect(uid).toMatch(/^2\.25\.(0|[1-9]\d{0,38})$/);
      expect(uid.length).toBeLessThanOrEqual(44);
    }
  });
});

describe('wording', () => {
  const item = (over: Partial<WorklistItemView>): WorklistItemView => ({
    id: 'x',
    kind: 'read',
    parentId: null,
    studyInstanceUID: '1.2.3',
    site: '090000050',
    territory: 'ariege',
    modality: 'CT',
    bodyPart: 'HEAD',
    category: 'neuro',
    priority: 'urgent',
    priorityRank: 2,
    status: 'IN PROGRESS',
    pool: 'pdses-ariege',
    assignee: '10009000011',
    transactionUID: '2.25.1',
    routedAt: at('2026-11-22T02:10'),
    warningAt: at('2026-11-22T02:40'),
    deadline: at('2026-11-22T03:10'),
    claimedAt: at('2026-11-22T02:14'),
    completedAt: null,
    outcome: null,
    offeredTo: [],
    notifiedPools: [],
    ...over,
  });
  const faure: Viewer = { kind: 'reader', role: 'reader', rpps: '10009000029', pools: new Set(['pdses-ariege']) };

  it('shows local times, with the date when the day changed (and summer time)', () => {
    expect(wallClock(at('2026-11-22T02:14'), at('2026-11-22T03:00'), 'Europe/Paris')).toBe('02:14');
    expect(wallClock(at('2026-11-21T23:50'), at('2026-11-22T00:10'), 'Europe/Paris')).toBe('2026-11-21 23:50');
    expect(wallClock(new Date('2026-07-14T00:30:00Z'), new Date('2026-07-14T01:00:00Z'), 'Europe/Paris')).toBe('02:30');
  });

  it('names the holder, or tells the holder, or says the exam is done', () => {
    const now = at('2026-11-22T02:20');
    expect(busyMessage(config, item({}), faure, now)).toBe(
      'This exam is already being read by Dr Anne Roques (RPPS 10009000011) since 02:14.',
    );
    expect(busyMessage(config, item({ assignee: '10009000029' }), faure, now)).toContain('You are already reading this exam since 02:14');
    expect(busyMessage(config, item({ assignee: '19999999999' }), faure, now)).toBe(
      'This exam is already being read by the reader with RPPS 19999999999 since 02:14.',
    );
    expect(busyMessage(config, item({ status: 'COMPLETED', completedAt: at('2026-11-22T02:18') }), faure, now)).toBe(
      'This exam has already been reported (02:18) by Dr Anne Roques (RPPS 10009000011); there is nothing left to do.',
    );
    expect(busyMessage(config, item({ status: 'CANCELED' }), faure, now)).toContain('canceled');
  });
});
