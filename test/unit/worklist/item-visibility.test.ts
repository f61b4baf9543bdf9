import { describe, expect, it } from 'vitest';
import {
  canSeeStudy,
  itemVisibilitySql,
  parameterList,
  readerSeesItem,
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

  it('the SQL twins bind each value once, after the caller\'s own parameters', () => {
    const { values, bind } = parameterList(['1.2.3']);
    expect(readerSeesStudySql(reader as Extract<WorklistViewer, { kind: 'reader' }>, 'st', bind)).toBe(
      `EXISTS (SELECT 1 FROM worklist_item wi WHERE wi.study_instance_uid = st.study_instance_uid
                 AND (wi.assignee = $2 OR $2 = ANY(wi.offered_to) OR wi.pool = ANY($3) OR wi.notified_pools && $3::text[]))`,
    );
    expect(values).toEqual(['1.2.3', '10009000011', ['pdses-ariege']]);
    const coordinatorWithoutTerritory = parameterList();
    expect(itemVisibilitySql({ kind: 'coordinator', userId: 'c', territory: null }, { scope: null, territory: null }, 'i', coordinatorWithoutTerritory.bind)).toBe('FALSE');
  });
});
