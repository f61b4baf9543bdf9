/**
 * The WorklistStore contract, run on an embedded PostgreSQL server and on an external one (DATABASE_URL): the
 * same suite, the same expectations. Besides each operation, it proves the single definition of visibility:
 * what the TypeScript check says a viewer sees is exactly what the store's lists and the DICOM index's
 * reader scope (QIDO/WADO) return.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../storage/database/database.ts';
import { migrateAll } from '../../storage/database/migration-sources.ts';
import { PostgresDicomIndex } from '../../storage/index/postgres-dicom-index.ts';
import { canSeeItem, readerSeesItem, type WorklistViewer } from '../../storage/worklist/item-visibility.ts';
import { PostgresWorklistStore } from '../../storage/worklist/postgres-worklist-store.ts';
import { SecondOpinionPendingError, type ItemListQuery, type NewReadItem, type WorklistStore } from '../../storage/worklist/worklist-store.ts';
import {
  WORKLIST_NOTIFY_CHANNEL,
  type RoutingDecision,
  type WorklistItemView,
  type WorklistNotification,
  type WorklistStatus,
} from '../../storage/worklist/worklist-types.ts';
import { freePort } from '../support/free-port.ts';
import { startTestPostgres } from '../support/postgres.ts';
import { buildParsedInstance, toIndex } from '../unit/qido/parsed-instance-builder.ts';

interface Backend {
  name: string;
  open(): Promise<{ db: Database; url: string; cleanup(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'embedded server (openDatabase kind embedded)',
    async open() {
      const root = await mkdtemp(path.join(os.tmpdir(), 'astreinte-worklist-'));
      await chmod(root, 0o755);
      const db = await openDatabase(
        { kind: 'embedded', dir: path.join(root, 'postgres'), port: await freePort() },
        { embeddedServerSettings: { shared_buffers: '32MB' } },
      );
      return { db, url: '', cleanup: () => rm(root, { recursive: true, force: true }) };
    },
  },
  {
    name: 'external server (openDatabase kind external, DATABASE_URL)',
    async open() {
      const server = await startTestPostgres();
      const db = await openDatabase({ kind: 'external', url: server.url });
      return { db, url: server.url, cleanup: () => server.stop() };
    },
  },
];

const SITE_A = '090000050';
const SITE_B = '310781406';
const R1 = '10000000001';
const R2 = '10000000002';
const R3 = '10000000003';
const ALL_STATUSES: WorklistStatus[] = ['SCHEDULED', 'IN PROGRESS', 'COMPLETED', 'CANCELED'];
const T0 = new Date('2026-11-15T01:10:00Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

let counter = 0;
const uid = (prefix: string) => `1.2.826.0.1.3680043.10.1234.88.${prefix}.${++counter}`;

describe.each(backends)('WorklistStore contract: $name', (backend) => {
  let db: Database;
  let cleanup: () => Promise<void>;
  let index: PostgresDicomIndex;
  let store: WorklistStore;
  let listener: pg.Client;
  const notifications: WorklistNotification[] = [];

  beforeAll(async () => {
    ({ db, cleanup } = await backend.open());
    await db.asOwner(migrateAll);
    index = new PostgresDicomIndex(db);
    store = new PostgresWorklistStore(db);
    listener = new pg.Client(db.pool.options);
    await listener.connect();
    listener.on('notification', (message) => notifications.push(JSON.parse(message.payload ?? '{}') as WorklistNotification));
    await listener.query(`LISTEN ${WORKLIST_NOTIFY_CHANNEL}`);
  });
  afterAll(async () => {
    await listener?.end();
    await index?.close();
    await db?.close();
    await cleanup?.();
  });

  /** Indexes one CT instance of a new study; returns its Study Instance UID. */
  async function indexStudy(options: { site?: string | null; patientId?: string; issuer?: string; ins?: string } = {}): Promise<string> {
    const studyUID = uid('st');
    const parsed = buildParsedInstance({
      studyUID,
      seriesUID: uid('se'),
      sopUID: uid('i'),
      patientId: options.patientId ?? `IPP-${counter}`,
      issuer: options.issuer ?? 'CHSG',
      ...(options.ins ? { otherIds: [{ id: options.ins, issuer: '1.2.250.1.213.1.4.8' }] } : {}),
      modality: 'CT',
      bodyPart: 'HEAD',
      studyDescription: 'TDM cérébrale',
    });
    expect(await index.indexInstance(toIndex(parsed, { site: options.site === undefined ? SITE_A : options.site }))).toEqual({ kind: 'stored' });
    return studyUID;
  }

  function readItem(studyInstanceUID: string, overrides: Partial<NewReadItem> = {}): NewReadItem {
    return {
      studyInstanceUID,
      site: SITE_A,
      territory: 'ariege',
      modality: 'CT',
      bodyPart: 'HEAD',
      category: 'neuro',
      priority: { id: 'urgent', rank: 2 },
      pool: 'pool-1',
      assignee: null,
      routedAt: T0,
      warningAt: minutes(30),
      deadline: minutes(60),
      escalationChain: null,
      nextEscalationAt: null,
      notifiedPools: [],
      ...overrides,
    };
  }

  function decisionFor(item: NewReadItem): Omit<RoutingDecision, 'itemId'> {
    return {
      studyInstanceUID: item.studyInstanceUID,
      decision: 'routed',
      code: null,
      rule: 'neuro-emergency',
      pool: item.pool,
      reader: item.assignee,
      reason: 'test routing',
      decidedAt: item.routedAt,
    };
  }

  /** Routes a new indexed study to a reading item; returns the item as the API reads it. */
  async function newItem(overrides: Partial<NewReadItem> = {}, study?: string): Promise<WorklistItemView> {
    const studyUID = study ?? (await indexStudy());
    const item = readItem(studyUID, overrides);
    const created = await store.routeExclusively(studyUID, (tx) => tx.createReadItem(item, decisionFor(item), [{ type: 'routed', actor: 'system', at: T0, detail: {} }]));
    if (!created.created) throw new Error('expected a new item');
    return (await store.findItem(created.item.id)) as WorklistItemView;
  }

  /** Offers an item to readers, as an escalation hop does. */
  async function offer(itemId: string, readers: string[]): Promise<void> {
    await store.escalateExclusively(itemId, async (tx, state) => {
      if (!state) throw new Error('no item');
      await tx.saveEscalation({ ...state, offeredTo: readers }, null, [], {
        type: 'item-updated',
        itemId,
        pool: state.pool,
        assignee: state.assignee,
        territory: state.territory,
        status: state.status,
        event: 'escalated',
      });
    });
  }

  const query = (overrides: Partial<ItemListQuery> = {}): ItemListQuery => ({
    scope: null,
    territory: null,
    statuses: ALL_STATUSES,
    priorities: null,
    limit: 2000,
    ...overrides,
  });

  async function waitForNotification(predicate: (n: WorklistNotification) => boolean): Promise<WorklistNotification> {
    for (let i = 0; i < 100; i++) {
      const found = notifications.find(predicate);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('no such notification within 2 s');
  }

  it('routing: reads the study, creates one reading item with its decision, events and notification, never a second', async () => {
    const studyUID = await indexStudy({ patientId: 'IPP-ROUTE', ins: '2850412345678901' });
    const record = await store.routeExclusively(studyUID, (tx) => tx.studyRecord());
    expect(record).toMatchObject({
      studyInstanceUID: studyUID,
      site: SITE_A,
      studyDescription: 'TDM cérébrale',
      senderFlags: {},
      series: [{ modality: 'CT', bodyPartExamined: 'HEAD' }],
    });
    expect(record?.patientIds).toEqual([
      { id: 'IPP-ROUTE', issuer: 'CHSG' },
      { id: '2850412345678901', issuer: '1.2.250.1.213.1.4.8' },
    ]);
    expect(await store.routeExclusively(uid('unknown'), (tx) => tx.studyRecord())).toBeNull();

    const item = readItem(studyUID, { assignee: R1, notifiedPools: ['pool-2'], nextEscalationAt: minutes(30), escalationChain: 'neuro' });
    const first = await store.routeExclusively(studyUID, (tx) => tx.createReadItem(item, decisionFor(item), [
      { type: 'routed', actor: 'system', at: T0, detail: { rule: 'neuro-emergency' } },
      { type: 'notified', actor: 'system', at: T0, detail: { pool: 'pool-2' } },
    ]));
    expect(first.created).toBe(true);
    expect(first.item).toMatchObject({ pool: 'pool-1', assignee: R1, warningAt: minutes(30), deadline: minutes(60), nextEscalationAt: minutes(30) });
    expect(first.decision).toMatchObject({ decision: 'routed', itemId: first.item?.id });
    expect(await store.findDecision(studyUID)).toEqual(first.decision);
    const notified = await waitForNotification((n) => n.itemId === first.item?.id);
    expect(notified).toEqual({
      type: 'item-created',
      itemId: first.item?.id,
      pool: 'pool-1',
      assignee: R1,
      territory: 'ariege',
      status: 'SCHEDULED',
      event: 'routed',
      notifiedPools: ['pool-2'],
    });

    const again = await store.routeExclusively(studyUID, (tx) => tx.createReadItem(item, decisionFor(item), []));
    expect(again).toEqual({ created: false, item: first.item, decision: first.decision });
    const routing = await store.studyRouting(studyUID);
    expect(routing.items.map((i) => i.id)).toEqual([first.item?.id]);
    expect(routing.events.map((e) => [e.type, e.itemId])).toEqual([
      ['routed', first.item?.id],
      ['notified', first.item?.id],
    ]);
    expect(await store.routeExclusively(studyUID, (tx) => tx.routedItem(first.item?.id as string))).toEqual(first.item);
  });

  it('routing: one router per study at a time (the second waits for the first to commit)', async () => {
    const studyUID = await indexStudy();
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = store.routeExclusively(studyUID, async () => {
      order.push('first in');
      await held;
      order.push('first out');
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = store.routeExclusively(studyUID, async () => {
      order.push('second in');
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second in']);
  });

  it('study activity: completion, stability and reconciliation see only undecided indexed studies', async () => {
    const studyUID = await indexStudy();
    await store.recordStudyActivity(studyUID, SITE_A, minutes(1));
    await store.recordStudyActivity(studyUID, SITE_B, T0); // an older activity moves nothing, the site stays
    expect(await store.studySite(studyUID)).toBe(SITE_A);
    expect(await store.findStableUnrouted(T0, 1000)).not.toContain(studyUID);
    expect(await store.findStableUnrouted(minutes(1), 1000)).toContain(studyUID);

    expect(await store.recordCompletion(uid('not-indexed'), { priority: 'stroke' }, T0)).toBe(false);
    const completed = await indexStudy();
    await store.recordStudyActivity(completed, SITE_A, minutes(10));
    expect(await store.findStableUnrouted(T0, 1000)).not.toContain(completed);
    expect(await store.recordCompletion(completed, { priority: 'stroke', expertise: 'neuroradiology' }, minutes(10))).toBe(true);
    expect(await store.findStableUnrouted(T0, 1000)).toContain(completed);
    expect((await store.routeExclusively(completed, (tx) => tx.studyRecord()))?.senderFlags).toEqual({ priority: 'stroke', expertise: 'neuroradiology' });

    const refused: RoutingDecision = {
      studyInstanceUID: studyUID,
      decision: 'refused',
      code: 'excluded-modality',
      rule: null,
      pool: null,
      reader: null,
      reason: 'ultrasound is not read remotely',
      decidedAt: minutes(2),
      itemId: null,
    };
    await store.routeExclusively(studyUID, (tx) => tx.recordNotRouted(refused, SITE_A));
    expect(await store.findDecision(studyUID)).toEqual(refused);
    expect(await store.findStableUnrouted(minutes(100), 1000)).not.toContain(studyUID);
    expect((await store.studyRouting(studyUID)).events).toEqual([
      { itemId: null, type: 'refused', actor: 'system', at: minutes(2), detail: { code: 'excluded-modality', reason: 'ultrasound is not read remotely' } },
    ]);
    expect(await store.studySite(uid('unknown'))).toBeUndefined();
  });

  it('claims: of several readers claiming at once exactly one wins; release needs the holder and its transaction UID', async () => {
    const item = await newItem({ pool: 'pool-claim' });
    const readers = [R1, R2, R3].map((rpps) => ({ rpps, pools: ['pool-claim'] }));
    const outcomes = await Promise.all(
      readers.map((reader, i) =>
        store.claimItem(item.id, reader, `2.25.${i + 1}`, minutes(5), (claimed) => ({ type: 'claimed', actor: reader.rpps, at: minutes(5), detail: { transactionUID: claimed.transactionUID } })),
      ),
    );
    const winners = outcomes.filter((o): o is WorklistItemView => o !== null);
    expect(winners).toHaveLength(1);
    const winner = winners[0];
    expect(winner).toMatchObject({ status: 'IN PROGRESS', claimedAt: minutes(5) });
    expect(await store.claimItem(item.id, { rpps: R1, pools: [] }, '2.25.9', minutes(6), () => ({ type: 'claimed', actor: R1, at: minutes(6), detail: {} }))).toBeNull();

    const stranger = { rpps: '10000000099', pools: ['other'] };
    const other = await newItem({ pool: 'pool-claim' });
    expect(await store.claimItem(other.id, stranger, '2.25.10', minutes(5), () => ({ type: 'claimed', actor: stranger.rpps, at: minutes(5), detail: {} }))).toBeNull();
    expect(await store.claimItem('not-a-uuid', stranger, '2.25.11', minutes(5), () => ({ type: 'claimed', actor: '', at: minutes(5), detail: {} }))).toBeNull();

    const holder = winner.assignee as string;
    const released = { type: 'released', actor: holder, at: minutes(7), detail: {} };
    expect(await store.releaseItem(item.id, holder, '2.25.999', released)).toBeNull();
    expect(await store.releaseItem(item.id, holder === R1 ? R2 : R1, null, released)).toBeNull();
    expect(await store.releaseItem(item.id, holder, winner.transactionUID, released)).toMatchObject({ status: 'SCHEDULED', assignee: null, transactionUID: null, claimedAt: null });
    const history = await store.itemHistory(item.id);
    expect(history.events.map((e) => e.type)).toEqual(['routed', 'claimed', 'released']);
  });

  it('reassignment: a refused check changes nothing; otherwise the item is the new reader\'s, and both audiences are told', async () => {
    const item = await newItem({ pool: 'pool-1', assignee: R1 });
    const admin: WorklistViewer = { kind: 'admin', userId: 'admin' };
    const change = {
      id: item.id,
      viewer: admin,
      assignee: R2,
      pool: 'pool-2',
      event: () => ({ type: 'reassigned', actor: 'admin', at: minutes(3), detail: { reason: 'test' } }),
    };
    await expect(store.reassignItem({ ...change, check: () => { throw new Error('refused'); } })).rejects.toThrow('refused');
    expect(await store.findItem(item.id)).toEqual(item);
    const otherCoordinator: WorklistViewer = { kind: 'coordinator', userId: 'c', territory: 'lot' };
    expect(await store.reassignItem({ ...change, viewer: otherCoordinator, check: () => undefined })).toBeNull();

    const after = await store.reassignItem({ ...change, check: () => undefined });
    expect(after).toMatchObject({ id: item.id, assignee: R2, pool: 'pool-2', status: 'SCHEDULED' });
    await waitForNotification((n) => n.itemId === item.id && n.assignee === R1 && n.pool === 'pool-1' && n.type === 'item-updated');
    await waitForNotification((n) => n.itemId === item.id && n.assignee === R2 && n.pool === 'pool-2');
  });

  it('second opinions: one open per pole and exam, answered by the expert holding it; history, incidents', async () => {
    const parent = await newItem({ assignee: R1 });
    const request = {
      parent,
      pool: 'pole-neuro',
      priority: { id: 'stat', rank: 1 },
      expert: R3,
      at: minutes(10),
      warningAt: minutes(25),
      deadline: minutes(40),
      event: { type: 'second-opinion-requested', actor: R1, at: minutes(10), detail: { question: 'Thrombolyse ?' } },
    };
    const opinion = await store.requestSecondOpinion(request);
    expect(opinion).toMatchObject({ kind: 'second-opinion', parentId: parent.id, pool: 'pole-neuro', assignee: R3, status: 'SCHEDULED', priority: 'stat' });
    const pending = await store.requestSecondOpinion({ ...request, at: minutes(11) }).catch((error: unknown) => error);
    expect(pending).toBeInstanceOf(SecondOpinionPendingError);
    expect((pending as SecondOpinionPendingError).askedAt).toEqual(minutes(10));

    const listed = await store.listItems({ kind: 'reader', role: 'expert', rpps: R3, pools: new Set() }, query({ scope: 'mine' }));
    expect(listed).toEqual([{ item: opinion, question: 'Thrombolyse ?' }]);

    const answerEvent = { type: 'second-opinion-answered', actor: R3, at: minutes(20), detail: {} };
    expect(await store.answerSecondOpinion(opinion.id, R3, minutes(20), { transferAdvised: false }, answerEvent)).toBeNull(); // not claimed
    await store.claimItem(opinion.id, { rpps: R3, pools: [] }, '2.25.42', minutes(15), () => ({ type: 'claimed', actor: R3, at: minutes(15), detail: {} }));
    const answered = await store.answerSecondOpinion(opinion.id, R3, minutes(20), { transferAdvised: false }, answerEvent);
    expect(answered).toMatchObject({ status: 'COMPLETED', completedAt: minutes(20), outcome: { transferAdvised: false }, transactionUID: null });
    await waitForNotification((n) => n.itemId === parent.id && n.type === 'item-updated');

    const incidentId = await store.recordIncident(
      parent,
      { reportedBy: R1, at: minutes(21), category: 'images-missing', description: 'série artérielle absente' },
      { type: 'incident', actor: R1, at: minutes(21), detail: { category: 'images-missing' } },
    );
    const history = await store.itemHistory(parent.id);
    expect(history.secondOpinions.map((o) => o.id)).toEqual([opinion.id]);
    expect(history.incidents).toEqual([{ id: incidentId, reportedBy: R1, at: minutes(21), category: 'images-missing', description: 'série artérielle absente' }]);
    expect(history.events.map((e) => e.type)).toEqual(['routed', 'second-opinion-requested', 'claimed', 'second-opinion-answered', 'incident']);
    expect(history.events.at(-1)?.detail).toEqual({ incidentId, category: 'images-missing' });
  });

  it('oppositions: recorded once, found by routing under any identifier of the patient, lifted with the held studies', async () => {
    const ins = '1850712345678902';
    const held = await indexStudy({ patientId: 'IPP-OPP', ins });
    const heldToo = await indexStudy({ patientId: 'IPP-OPP', ins });
    const change = { patientId: ins, issuer: '1.2.250.1.213.1.4.8', actor: 'coord', territory: 'ariege', at: T0, reason: 'refus écrit' };
    expect(await store.recordOpposition(change)).toEqual({ created: true, recordedAt: T0 });
    expect(await store.recordOpposition({ ...change, at: minutes(5) })).toEqual({ created: false, recordedAt: T0 });

    const objection = await store.routeExclusively(held, async (tx) => tx.patientObjection((await tx.studyRecord())?.patientIds ?? []));
    expect(objection).toEqual({ issuer: '1.2.250.1.213.1.4.8', recordedAt: T0 });
    expect(await store.routeExclusively(held, (tx) => tx.patientObjection([{ id: ins, issuer: 'other' }]))).toBeNull();
    await store.recordCompletion(held, { priority: 'urgent' }, minutes(1));
    await store.routeExclusively(held, (tx) =>
      tx.recordNotRouted(
        { studyInstanceUID: held, decision: 'held', code: 'patient-objection', rule: 'r', pool: null, reader: null, reason: 'objects', decidedAt: minutes(1), itemId: null },
        SITE_A,
      ),
    );

    // A coordinator of another territory reaches nothing: the objection stays in force.
    expect(await store.liftOpposition({ ...change, actor: 'coord-aveyron', territory: 'aveyron', at: minutes(29) })).toEqual({ kind: 'other-territory' });
    expect(await store.routeExclusively(held, (tx) => tx.patientObjection([{ id: ins, issuer: '1.2.250.1.213.1.4.8' }]))).not.toBeNull();
    const lifted = await store.liftOpposition({ ...change, at: minutes(30) });
    expect(lifted.kind).toBe('lifted');
    expect(lifted.kind === 'lifted' && lifted.studies).toEqual(
      [
        { studyInstanceUID: held, site: SITE_A, held: true, flags: { priority: 'urgent' } },
        { studyInstanceUID: heldToo, site: SITE_A, held: false, flags: {} },
      ].sort((a, b) => (a.studyInstanceUID < b.studyInstanceUID ? -1 : 1)),
    );
    expect(await store.liftOpposition({ ...change, at: minutes(31) })).toEqual({ kind: 'not-found' });
    expect(await store.routeExclusively(held, (tx) => tx.patientObjection([{ id: ins, issuer: '1.2.250.1.213.1.4.8' }]))).toBeNull();
    const audit = (await store.studyRouting(held)).events.map((e) => e.type);
    expect(audit).toEqual(['opposition-recorded', 'held', 'opposition-lifted']);
  });

  it('escalation: due items are found, and one item is escalated under its row lock', async () => {
    const item = await newItem({ nextEscalationAt: minutes(30), escalationChain: 'neuro' });
    expect(await store.findDueItems(minutes(29), 500)).not.toContain(item.id);
    expect(await store.findDueItems(minutes(30), 500)).toContain(item.id);
    const state = await store.escalateExclusively(item.id, async (tx, locked) => {
      expect(locked).toMatchObject({ id: item.id, escalationLevel: 0, escalationChain: 'neuro', routedPool: 'pool-1', routedReader: null, deadlineAlertedAt: null });
      if (!locked) throw new Error('no item');
      await tx.saveEscalation({ ...locked, escalationLevel: 1, nextEscalationAt: null, assignee: R2, offeredTo: [R2] }, minutes(61), [
        { type: 'escalated', actor: 'system', at: minutes(61), detail: { hop: 1 } },
      ], { type: 'item-updated', itemId: item.id, pool: 'pool-1', assignee: R2, territory: 'ariege', status: 'SCHEDULED', event: 'escalated' });
      return locked;
    });
    expect(state?.id).toBe(item.id);
    expect(await store.findItem(item.id)).toMatchObject({ assignee: R2, offeredTo: [R2] });
    expect(await store.findDueItems(minutes(100), 500)).not.toContain(item.id); // hop taken, deadline alerted
    expect(await store.escalateExclusively('00000000-0000-4000-8000-000000000000', async (_tx, none) => none)).toBeNull();
  });

  /** Claims and completes an item as its assignee does when signing. */
  async function complete(item: WorklistItemView, at: Date): Promise<void> {
    const rpps = item.assignee!;
    const claimed = await store.claimItem(item.id, { rpps, pools: [] }, `2.25.${Date.now()}${Math.floor(Math.random() * 1e6)}`, at, () => ({ type: 'claimed', actor: rpps, at, detail: {} }));
    expect(claimed).not.toBeNull();
    const done = await store.reportExclusively((tx) => tx.completeItem(item.id, rpps, at, { type: 'completed', actor: rpps, at, detail: {} }));
    expect(done?.status).toBe('COMPLETED');
  }

  it('visibility: lists, item checks and the QIDO/WADO reader scope agree, for every viewer and item', async () => {
    const studies = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(() => indexStudy()));
    const items = [
      await newItem({ pool: 'vis-p3', assignee: R1 }, studies[0]),
      await newItem({ pool: 'vis-p1' }, studies[1]),
      await newItem({ pool: 'vis-p3' }, studies[2]),
      await newItem({ pool: 'vis-p3', notifiedPools: ['vis-p2'], territory: 'lot' }, studies[3]),
      await newItem({ pool: 'vis-p4', territory: 'lot' }, studies[4]),
    ];
    await offer(items[2].id, [R3]);
    // Completed items: the pool vis-p1 (R1) and the reader offered it (R3) lose them; the assignee keeps them;
    // a pool keeps one completed within its period (poolsSeeCompletedSince).
    const completedLate = await newItem({ pool: 'vis-p1', assignee: R2 }, studies[6]);
    await offer(completedLate.id, [R3]);
    await complete(completedLate, minutes(100));
    const completedEarly = await newItem({ pool: 'vis-p1', assignee: R2 }, studies[7]);
    await complete(completedEarly, minutes(10));
    const opinion = await store.requestSecondOpinion({
      parent: items[4],
      pool: 'vis-pole',
      priority: { id: 'stat', rank: 1 },
      expert: null,
      at: minutes(1),
      warningAt: minutes(10),
      deadline: minutes(20),
      event: { type: 'second-opinion-requested', actor: R1, at: minutes(1), detail: { question: 'avis' } },
    });
    expect(opinion.studyInstanceUID).toBe(studies[4]);

    const viewers: WorklistViewer[] = [
      { kind: 'reader', role: 'reader', rpps: R1, pools: new Set(['vis-p1']) },
      { kind: 'reader', role: 'reader', rpps: R2, pools: new Set(['vis-p2']) },
      { kind: 'reader', role: 'reader', rpps: R1, pools: new Set(['vis-p1']), poolsSeeCompletedSince: minutes(50) },
      { kind: 'reader', role: 'reader', rpps: R3, pools: new Set(), poolsSeeCompletedSince: minutes(50) },
      { kind: 'reader', role: 'reader', rpps: R3, pools: new Set() },
      { kind: 'reader', role: 'expert', rpps: '10000000004', pools: new Set(['vis-pole']) },
      { kind: 'coordinator', userId: 'c1', territory: 'ariege' },
      { kind: 'coordinator', userId: 'c2', territory: 'lot' },
      { kind: 'coordinator', userId: 'c3', territory: null },
      { kind: 'admin', userId: 'a' },
    ];
    const everything = (await store.listItems({ kind: 'admin', userId: 'a' }, query())).map((l) => l.item);
    expect(everything.length).toBeGreaterThanOrEqual(items.length + 1);
    const ids = (list: { id: string }[]) => list.map((i) => i.id).sort();

    for (const viewer of viewers) {
      const listed = (await store.listItems(viewer, query())).map((l) => l.item);
      expect(ids(listed), `${viewer.kind} ${JSON.stringify(viewer)}`).toEqual(ids(everything.filter((item) => canSeeItem(viewer, item))));
      if (viewer.kind !== 'reader') continue;
      for (const scope of ['mine', 'pools'] as const) {
        const scoped = (await store.listItems(viewer, query({ scope }))).map((l) => l.item);
        expect(ids(scoped)).toEqual(ids(everything.filter((item) => readerSeesItem(viewer, item, scope))));
      }
      const reader = { rpps: viewer.rpps, pools: [...viewer.pools], poolsSeeCompletedSince: viewer.poolsSeeCompletedSince };
      for (const study of studies) {
        const readable = (await index.findInstances({ site: null, reader }, { studyInstanceUID: study })).length > 0;
        const expected = everything.some((item) => item.studyInstanceUID === study && canSeeItem(viewer, item));
        expect(readable, `${viewer.rpps} reading ${study}`).toBe(expected);
      }
    }
    // The fixture covers each rule: assigned, pool, offered, notified pool, territory, second opinion's pole.
    const r1 = viewers[0];
    expect(ids((await store.listItems(r1, query())).map((l) => l.item))).toEqual(expect.arrayContaining(ids([items[0], items[1]])));
    expect(canSeeItem(viewers[4], await store.findItem(items[2].id) as WorklistItemView)).toBe(true);
    expect(canSeeItem(viewers[1], items[3])).toBe(true);
    expect(canSeeItem(viewers[5], opinion)).toBe(true);
    // Completion: the assignee keeps both, the pool and the offered reader keep none, or the one in their period.
    const readerOf = (v: WorklistViewer) => (v.kind === 'reader' ? { rpps: v.rpps, pools: [...v.pools], poolsSeeCompletedSince: v.poolsSeeCompletedSince } : undefined);
    const readable = async (v: WorklistViewer, study: string) => (await index.findInstances({ site: null, reader: readerOf(v) }, { studyInstanceUID: study })).length > 0;
    expect([await readable(viewers[1], studies[6]), await readable(viewers[1], studies[7])]).toEqual([true, true]);
    expect([await readable(viewers[0], studies[6]), await readable(viewers[0], studies[7])]).toEqual([false, false]);
    expect([await readable(viewers[2], studies[6]), await readable(viewers[2], studies[7])]).toEqual([true, false]);
    expect(await readable(viewers[4], studies[6])).toBe(false); // R3 was offered it: no longer
    expect(await readable(viewers[3], studies[6])).toBe(true); // ...unless within the period
    expect(canSeeItem(viewers[0], (await store.findItem(completedLate.id))!)).toBe(false);
    expect((await index.findInstances({ site: null, reader: { rpps: R3, pools: [] } }, { studyInstanceUID: studies[5] })).length).toBe(0);

    const filtered = await store.listItems({ kind: 'admin', userId: 'a' }, query({ territory: 'lot', statuses: ['SCHEDULED'], priorities: ['stat'], limit: 10 }));
    expect(filtered.map((l) => l.item.id)).toContain(opinion.id);
    expect(filtered.every((l) => l.item.territory === 'lot' && l.item.priority === 'stat' && l.item.status === 'SCHEDULED')).toBe(true);
  });
});
