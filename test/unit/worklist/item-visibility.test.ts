import { describe, expect, it } from 'vitest';
import {
  canSeeStudy,
  itemVisibilitySql,
  parameterList,
  readerSeesItem,
  readerSeesItemSql,
  readerSeesStudySql,
  type ItemAudience,
  type WorklistViewer,
} from '../../../storage/worklist/item-visibility.ts';

const reader: WorklistViewer = { kind: 'reader', role: 'reader', rpps: '10009000011', pools: new Set(['pdses-ariege']) };
const item: ItemAudience = { pool: 'jour-lot', assignee: null, territory: 'lot' };

describe('item visibility: one definition for items and studies', () => {
  it('a reader sees an item assigned, offered, in or notified to one of their pools; each scope its own rules', () => {
    expect(readerSeesItem({ rpps: '10009000011', pools: [] }, { ...item, assignee: '10009000011' }, 'mine')).toBe(true);
    expect(readerSeesItem({ rpps: '10009000011', pools: [] }, { ...item, offeredTo: ['10009000011'] }, 'pools')).toBe(false);
    expect(readerSeesItem({ rpps: 'x', pools: ['jour-lot'] }, item, 'pools')).toBe(true);
    expect(readerSeesItem({ rpps: 'x', pools: new Set(['p']) }, { ...item, notifiedPools: ['p'] })).toBe(true);
    expect(readerSeesItem({ rpps: 'x', pools: ['p'] }, item)).toBe(false);
  });

  it('a study: a reader through its items, a coordinator through its territory, an administrator always', () => {
    expect(canSeeStudy(reader, { territory: 'lot', items: [item] })).toBe(false);
    expect(canSeeStudy(reader, { territory: 'lot', items: [item, { ...item, pool: 'pdses-ariege' }] })).toBe(true);
    expect(canSeeStudy({ kind: 'coordinator', userId: 'c', territory: 'lot' }, { territory: 'lot', items: [] })).toBe(true);
    expect(canSeeStudy({ kind: 'coordinator', userId: 'c', territory: null }, { territory: null, items: [item] })).toBe(false);
    expect(canSeeStudy({ kind: 'admin', userId: 'a' }, { territory: null, items: [] })).toBe(true);
  });

  it('a completed item stays its assignee\'s; pools and offers keep it only within their period', () => {
    const open = { pool: 'pdses-ariege', assignee: 'other', territory: 'ariege', offeredTo: ['10009000011'], status: 'IN PROGRESS', completedAt: null };
    const completed = { ...open, status: 'COMPLETED', completedAt: new Date('2026-11-22T02:00:00Z') };
    const r = { rpps: '10009000011', pools: ['pdses-ariege'] };
    expect(readerSeesItem(r, open)).toBe(true);
    expect(readerSeesItem(r, completed)).toBe(false);
    expect(readerSeesItem({ rpps: 'other', pools: [] }, completed)).toBe(true);
    expect(readerSeesItem({ ...r, poolsSeeCompletedSince: new Date('2026-11-22T01:00:00Z') }, completed)).toBe(true);
    expect(readerSeesItem({ ...r, poolsSeeCompletedSince: new Date('2026-11-22T03:00:00Z') }, completed)).toBe(false);
    // A change notification (no status) is heard by the former audience.
    expect(readerSeesItem(r, { ...completed, status: undefined })).toBe(true);
  });

  it('the SQL twins bind each value once, after the caller\'s own parameters', () => {
    const { values, bind } = parameterList(['1.2.3']);
    expect(readerSeesStudySql(reader as Extract<WorklistViewer, { kind: 'reader' }>, 'st', bind)).toBe(
      `EXISTS (SELECT 1 FROM worklist_item wi WHERE wi.study_instance_uid = st.study_instance_uid
                 AND (wi.assignee = $2 OR ($2 = ANY(wi.offered_to) AND wi.status <> 'COMPLETED') OR (wi.pool = ANY($3) AND wi.status <> 'COMPLETED') OR (wi.notified_pools && $3::text[] AND wi.status <> 'COMPLETED')))`,
    );
    expect(values).toEqual(['1.2.3', '10009000011', ['pdses-ariege']]);
    // With a period for the pools, its start is bound once.
    const since = new Date('2026-11-22T00:00:00Z');
    const withPeriod = parameterList();
    expect(readerSeesItemSql({ rpps: 'r', pools: ['p'], poolsSeeCompletedSince: since }, 'i', withPeriod.bind, 'pools')).toBe(
      "((i.pool = ANY($1) AND (i.status <> 'COMPLETED' OR i.completed_at >= $2)) OR (i.notified_pools && $1::text[] AND (i.status <> 'COMPLETED' OR i.completed_at >= $2)))",
    );
    expect(withPeriod.values).toEqual([['p'], since]);
    const coordinatorWithoutTerritory = parameterList();
    expect(itemVisibilitySql({ kind: 'coordinator', userId: 'c', territory: null }, { scope: null, territory: null }, 'i', coordinatorWithoutTerritory.bind)).toBe('FALSE');
  });
});
