/**
 * Routing scenarios on real BullMQ (PostgreSQL backend, then Redis backend: the SAME suite), real PostgreSQL,
 * real indexed DICOM, the Midi-Pyrénées configuration and a TestClock. No mocks: studies are indexed from Part 10
 * files, the gateway interface queues debounced jobs, workers route them, escalation jobs are promoted.
 */
import type { WorklistItemRow } from '../../storage/worklist/item-row.ts';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegionConfig } from '../../config/region/load-region-config.ts';
import type { RegionConfig } from '../../config/region/region-config.ts';
import { DEFAULT_REGION_CONFIG_PATH } from '../../config/region/resolve-config-path.ts';
import { openDatabase, type Database } from '../../storage/database/database.ts';
import { PostgresDicomIndex } from '../../storage/index/postgres-dicom-index.ts';
import { INS_ISSUER_OID, patientFor } from '../../test-data/generate-study.ts';
import { indexSyntheticStudy, type SyntheticStudy } from '../../bench/routing/synthetic-study.ts';
import { openQueueStore } from '../../worker/queue/queue-store.ts';
import { ROUTE_STUDY_JOB, ROUTING_QUEUE } from '../../worker/route/routing-gateway.ts';
import { TestClock } from '../../core/time/clock.ts';
import { parseInstant } from '../../core/time/wall-time.ts';
import { startRoutingWorker, type RoutingWorker } from '../../worker/worker-runtime.ts';
import { WORKLIST_NOTIFY_CHANNEL, type WorklistNotification } from '../../storage/worklist/worklist-types.ts';
import { createTestDatabase, startTestPostgres, type TestPostgres } from '../support/postgres.ts';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.ts';

const SAINT_GIRONS = '090000050';
const SEYSSES = '310019351';
const CHU_TOULOUSE = '310781406';
const EHPAD_COUSERANS = '090001356';
const SOULA = '10009000037';
const ROQUES = '10009000011';
const FAURE = '10009000029';
const SABATIER = '10031000127';
const HADDAD = '10031000301';
const STABILITY_MS = 300;

const paris = (text: string) => parseInstant(text, 'Europe/Paris') as Date;

let postgres: TestPostgres;
let config: RegionConfig;
beforeAll(async () => {
  [postgres, config] = await Promise.all([startTestPostgres(), loadRegionConfig(DEFAULT_REGION_CONFIG_PATH)]);
});
afterAll(async () => {
  await postgres?.stop();
});

/** A worklist_item row as the store reads it, with the escalation columns these scenarios check. */
type ItemRow = WorklistItemRow & { escalation_level: number; deadline_alerted_at: Date | null };

interface Backend {
  name: string;
  redis: boolean;
}

describe.each<Backend>([
  { name: 'PostgreSQL queue backend (embedded default: no Redis)', redis: false },
  { name: 'Redis queue backend (REDIS_URL)', redis: true },
])('routing scenarios, $name', (backend) => {
  let redis: TestRedisServer | undefined;
  let db: Database;
  let index: PostgresDicomIndex;
  let worker: RoutingWorker;
  let listener: pg.Client;
  const clock = new TestClock(paris('2026-11-15T02:10'));
  const notifications: { at: number; payload: WorklistNotification }[] = [];
  let seedCounter = 0;
  const log = pino({ level: 'error' });

  const start = (options: { consume?: boolean } = {}) =>
    startRoutingWorker({
      settings: { redisUrl: redis?.url },
      database: db,
      regionConfig: config,
      clock,
      log,
      options: { stabilityMs: STABILITY_MS, sweepIntervalMs: 0, concurrency: 4, consume: options.consume ?? true },
    });

  beforeAll(async () => {
    if (backend.redis) redis = await startRedisServer();
    db = await openDatabase({ kind: 'external', url: await createTestDatabase(postgres.url) });
    index = new PostgresDicomIndex(db);
    await index.migrate();
    worker = await start();
    expect(worker.backend).toBe(backend.redis ? 'redis' : 'postgres');
    listener = new pg.Client({ connectionString: db.pool.options.connectionString });
    await listener.connect();
    listener.on('notification', (n) => {
      if (n.channel === WORKLIST_NOTIFY_CHANNEL && n.payload) notifications.push({ at: performance.now(), payload: JSON.parse(n.payload) });
    });
    await listener.query(`LISTEN ${WORKLIST_NOTIFY_CHANNEL}`);
  });
  afterAll(async () => {
    await listener?.end();
    await worker?.stop();
    await db?.close();
    await redis?.stop();
  });

  const newStudy = (spec: Omit<SyntheticStudy, 'seed'> & { seed?: string }) =>
    indexSyntheticStudy(index, { seed: `${backend.redis ? 'r' : 'p'}-${++seedCounter}-${spec.kind}`, ...spec });

  const items = async (uid: string) =>
    (await db.query<ItemRow>('SELECT * FROM worklist_item WHERE study_instance_uid = $1', [uid])).rows;
  const decision = async (uid: string) =>
    (await db.query('SELECT * FROM routing_decision WHERE study_instance_uid = $1', [uid])).rows[0];
  const events = async (uid: string) =>
    (await db.query<{ type: string; detail: Record<string, unknown>; at: Date }>(
      'SELECT type, detail, at FROM worklist_event WHERE study_instance_uid = $1 ORDER BY id',
      [uid],
    )).rows;
  const routedItem = async (uid: string): Promise<ItemRow> =>
    waitFor(async () => {
      const rows = await items(uid);
      return rows.length === 1 ? rows[0] : undefined;
    });
  const decided = (uid: string) => waitFor(() => decision(uid));
  /** The sweep at clock.now(), keeping what happened to one item (other tests' items may fall due too). */
  const escalateDueFor = async (itemId: string) => (await worker.escalateDue()).filter((r) => r.itemId === itemId);

  /** Sender says complete at clock instant `at` and the item appears. */
  async function routeAt(at: string, spec: Omit<SyntheticStudy, 'seed'>, flags = {}) {
    clock.set(paris(at));
    const uid = await newStudy(spec);
    await worker.gateway.recordStudyActivity(uid, spec.site);
    expect(await worker.gateway.markStudyComplete(uid, flags)).toEqual({ status: 'queued' });
    return { uid, item: await routedItem(uid) };
  }

  it('head CT from CH Saint-Girons, Sunday 02:10 -> the Ariège on-call reader, visible within 1 s of stability', async () => {
    clock.set(paris('2026-11-15T02:10'));
    const uid = await newStudy({ kind: 'ct-head', site: SAINT_GIRONS });
    // Two STOW requests 150 ms apart: the debounced job waits for STABILITY_MS after the last one.
    await worker.gateway.recordStudyActivity(uid, SAINT_GIRONS);
    await sleep(150);
    const lastInstance = performance.now();
    await worker.gateway.recordStudyActivity(uid, SAINT_GIRONS);
    const seen = await waitFor(() => notifications.find((n) => n.payload.type === 'item-created' && n.payload.event === 'routed' && n.payload.territory === 'ariege' && n.at > lastInstance));
    const [item] = await items(uid);
    expect(seen.payload.itemId).toBe(item.id);
    const stableAt = lastInstance + STABILITY_MS;
    const latency = seen.at - stableAt;
    console.info(`[${backend.name}] head CT: item visible ${latency.toFixed(0)} ms after stability (stability ${STABILITY_MS} ms)`);
    expect(seen.at - lastInstance).toBeGreaterThanOrEqual(STABILITY_MS - 5); // not before the study is stable
    expect(latency).toBeLessThan(1000);

    expect(item).toMatchObject({
      site: SAINT_GIRONS,
      territory: 'ariege',
      modality: 'CT',
      body_part: 'HEAD',
      category: 'neuro',
      priority: 'urgent',
      priority_rank: 2,
      status: 'SCHEDULED',
      pool: 'pdses-ariege',
      assignee: SOULA,
      escalation_level: 0,
    });
    expect(item.routed_at).toEqual(paris('2026-11-15T02:10'));
    expect(item.warning_at).toEqual(paris('2026-11-15T02:40'));
    expect(item.deadline).toEqual(paris('2026-11-15T03:10'));
    expect(await decision(uid)).toMatchObject({ decision: 'routed', code: null, rule: 'neuro-emergency', pool: 'pdses-ariege', reader: SOULA, item_id: item.id });
    expect((await decision(uid)).reason).toMatch(/rule neuro-emergency .* pdses-ariege: Dr Claire Soula on call under weekly-pattern weekend/);
    expect(seen.payload).toMatchObject({ pool: 'pdses-ariege', assignee: SOULA, status: 'SCHEDULED' });
    expect((await events(uid)).map((e) => e.type)).toEqual(['routed']);
  });

  it('unclaimed -> the backup reader at the warning point, then the neuroradiology pole', async () => {
    const { uid, item } = await routeAt('2026-11-15T02:10', { kind: 'ct-head', site: SAINT_GIRONS });
    expect(item.assignee).toBe(SOULA);

    clock.set(paris('2026-11-15T02:39:59'));
    expect(await escalateDueFor(item.id)).toEqual([]); // not yet: the decision comes from the clock
    await worker.promoteDueJobs(); // early: the job goes back to sleep
    await sleep(300);
    expect((await items(uid))[0].escalation_level).toBe(0);

    clock.set(paris('2026-11-15T02:40'));
    await worker.promoteDueJobs();
    const backup = await waitFor(async () => ((await items(uid))[0].escalation_level === 1 ? (await items(uid))[0] : undefined));
    expect(backup).toMatchObject({ pool: 'pdses-ariege', assignee: ROQUES, status: 'SCHEDULED' });
    await waitFor(() => notifications.find((n) => n.payload.itemId === item.id && n.payload.event === 'escalated'));

    clock.set(paris('2026-11-15T02:47:30'));
    await worker.promoteDueJobs();
    const pole = await waitFor(async () => ((await items(uid))[0].escalation_level === 2 ? (await items(uid))[0] : undefined));
    expect(pole).toMatchObject({ pool: 'pole-neuroradiologie', assignee: SABATIER });
    expect(pole.offered_to).toEqual([ROQUES, SABATIER]);

    // Replays (sweep, promoted jobs) never take a hop twice.
    expect(await escalateDueFor(item.id)).toEqual([]);
    await worker.promoteDueJobs();
    await sleep(300);
    const hops = (await events(uid)).filter((e) => e.type === 'escalated');
    expect(hops.map((e) => [e.detail.hop, e.detail.step, e.detail.assignee])).toEqual([
      [1, 'backup', ROQUES],
      [2, 'pool', SABATIER],
    ]);
    expect(hops.map((e) => e.at)).toEqual([paris('2026-11-15T02:40'), paris('2026-11-15T02:47:30')]);
    expect((await items(uid))[0].escalation_level).toBe(2);
  });

  it('the rest of the chain from the sweep: the territory\'s other readers, then the coordinator, then the deadline, each once', async () => {
    const { uid, item } = await routeAt('2026-11-15T02:10', { kind: 'ct-head', site: SAINT_GIRONS });
    // A worker down for 45 minutes: the sweep catches up every hop due, in order, each at its scheduled time.
    clock.set(paris('2026-11-15T02:55'));
    const [caughtUp] = await escalateDueFor(item.id);
    expect(caughtUp.hops.map((h) => [h.hop, h.step, h.assignee])).toEqual([
      [1, 'backup', ROQUES],
      [2, 'pool', SABATIER],
      [3, 'territory-readers', FAURE],
    ]);
    expect(caughtUp.hops.map((h) => h.scheduledAt)).toEqual([paris('2026-11-15T02:40'), paris('2026-11-15T02:47:30'), paris('2026-11-15T02:55')]);
    clock.set(paris('2026-11-15T03:02:30'));
    const [coordinator] = await escalateDueFor(item.id);
    expect(coordinator.hops).toMatchObject([{ hop: 4, step: 'coordinator', coordinator: true }]);
    clock.set(paris('2026-11-15T03:10'));
    const [deadline] = await escalateDueFor(item.id);
    expect(deadline).toMatchObject({ hops: [], deadlineAlerted: true });
    clock.set(paris('2026-11-15T04:00'));
    expect(await escalateDueFor(item.id)).toEqual([]);
    const alerts = (await events(uid)).filter((e) => e.type === 'coordinator-alerted').map((e) => e.detail.reason);
    expect(alerts).toEqual(['unclaimed', 'unclaimed-at-deadline']);
    expect((await items(uid))[0]).toMatchObject({ escalation_level: 4, assignee: FAURE, offered_to: [ROQUES, SABATIER, FAURE] });
    expect((await items(uid))[0].id).toBe(item.id);
  });

  it('claimed but not signed by the deadline -> the coordinator is alerted, once', async () => {
    const { uid, item } = await routeAt('2026-11-15T02:10', { kind: 'ct-head', site: SAINT_GIRONS });
    clock.set(paris('2026-11-15T02:20'));
    // The worklist API's claim: IN PROGRESS under a transaction UID.
    await db.query(
      `UPDATE worklist_item SET status = 'IN PROGRESS', transaction_uid = '2.25.1', claimed_at = $2 WHERE id = $1`,
      [item.id, clock.now()],
    );
    clock.set(paris('2026-11-15T02:50')); // past the warning point: a claimed item does not escalate
    expect(await escalateDueFor(item.id)).toEqual([]);
    clock.set(paris('2026-11-15T03:10'));
    await worker.promoteDueJobs();
    const alert = await waitFor(async () => (await events(uid)).find((e) => e.type === 'coordinator-alerted'));
    expect(alert.detail).toMatchObject({ reason: 'claimed-not-completed-by-deadline', status: 'IN PROGRESS', assignee: SOULA });
    await waitFor(() => notifications.find((n) => n.payload.itemId === item.id && n.payload.event === 'coordinator-alerted'));
    expect(await escalateDueFor(item.id)).toEqual([]);
    await worker.promoteDueJobs();
    await sleep(300);
    expect((await events(uid)).filter((e) => e.type === 'coordinator-alerted')).toHaveLength(1);
    expect((await items(uid))[0]).toMatchObject({ escalation_level: 0, assignee: SOULA, status: 'IN PROGRESS' });
  });

  it('stroke-flagged CT -> STAT, deadline 30 min, the neuroradiology pole notified too', async () => {
    const { uid, item } = await routeAt('2026-11-15T02:10', { kind: 'ct-head', site: SAINT_GIRONS }, { priority: 'stroke' });
    expect(item).toMatchObject({ category: 'stroke', priority: 'stat', priority_rank: 1, pool: 'pdses-ariege', assignee: SOULA });
    expect(item.notified_pools).toEqual(['pole-neuroradiologie']);
    expect(item.deadline).toEqual(paris('2026-11-15T02:40'));
    expect(item.warning_at).toEqual(paris('2026-11-15T02:25'));
    expect(await decision(uid)).toMatchObject({ rule: 'stroke-alert' });
    const notified = (await events(uid)).filter((e) => e.type === 'notified');
    expect(notified.map((e) => e.detail)).toEqual([
      { pool: 'pole-neuroradiologie', onCall: SABATIER, reason: 'rule stroke-alert notifies pole-neuroradiologie' },
    ]);
    const created = await waitFor(() => notifications.find((n) => n.payload.itemId === item.id));
    expect(created.payload.notifiedPools).toEqual(['pole-neuroradiologie']);
  });

  it('a CT described as an ALERTE THROMBOLYSE is a stroke even without the flag', async () => {
    const { uid, item } = await routeAt('2026-11-15T02:10', {
      kind: 'described-ct',
      site: SAINT_GIRONS,
      studyDescription: 'TDM CEREBRALE - ALERTE THROMBOLYSE',
      bodyPart: 'HEAD',
    });
    expect(item).toMatchObject({ priority: 'stat', category: 'stroke', notified_pools: ['pole-neuroradiologie'] });
    expect((await decision(uid)).reason).toMatch(/thrombolyse/);
  });

  it('Easter Monday: the PDSES holiday shift, not the closed daytime line', async () => {
    const { uid, item } = await routeAt('2026-04-06T10:00', { kind: 'ct-head', site: SAINT_GIRONS });
    expect(item).toMatchObject({ pool: 'pdses-ariege', assignee: SOULA });
    expect((await decision(uid)).reason).toMatch(/under public-holiday/);
    const routed = (await events(uid)).find((e) => e.type === 'routed');
    expect(routed?.detail.rotaEntry).toMatchObject({ kind: 'public-holiday' });
    expect(routed?.detail.considered).toEqual([{ pool: 'pdses-ariege', covered: true }]);
  });

  it('14 July: the night before on the weekday-night rota, the day on the holiday shift', async () => {
    const night = await routeAt('2026-07-14T03:00', { kind: 'ct-head', site: SAINT_GIRONS });
    expect(night.item).toMatchObject({ pool: 'pdses-ariege', assignee: ROQUES });
    expect((await decision(night.uid)).reason).toMatch(/under weekly-pattern weekday-nights/);
    const day = await routeAt('2026-07-14T14:00', { kind: 'ct-head', site: SAINT_GIRONS });
    expect(day.item).toMatchObject({ pool: 'pdses-ariege', assignee: FAURE });
    expect((await decision(day.uid)).reason).toMatch(/under public-holiday/);
  });

  it('DST spring night: the weekend shift covers 03:30 after the jump and ends at 08:30 summer time on Monday', async () => {
    const afterJump = await routeAt('2026-03-29T03:30', { kind: 'ct-head', site: SAINT_GIRONS });
    expect(afterJump.item).toMatchObject({ pool: 'pdses-ariege', assignee: SOULA });
    const mondayEarly = await routeAt('2026-03-30T08:15', { kind: 'ct-head', site: SAINT_GIRONS });
    expect(mondayEarly.item).toMatchObject({ pool: 'pdses-ariege', assignee: SOULA });
    const mondayDay = await routeAt('2026-03-30T08:45', { kind: 'ct-head', site: SAINT_GIRONS });
    expect(mondayDay.item).toMatchObject({ pool: 'jour-ariege', assignee: FAURE });
    expect(mondayDay.item.routed_at.toISOString()).toBe('2026-03-30T06:45:00.000Z');
  });

  it('DST autumn night: both 02:30 of Sunday 25 October and Monday 08:20 winter time are on the weekend shift', async () => {
    const first = await routeAt('2026-10-25T02:30+02:00', { kind: 'ct-head', site: SAINT_GIRONS });
    const second = await routeAt('2026-10-25T02:30+01:00', { kind: 'ct-head', site: SAINT_GIRONS });
    expect(second.item.routed_at.getTime() - first.item.routed_at.getTime()).toBe(3_600_000);
    for (const { item } of [first, second]) expect(item).toMatchObject({ pool: 'pdses-ariege', assignee: SOULA });
    const monday = await routeAt('2026-10-26T08:20', { kind: 'ct-head', site: SAINT_GIRONS });
    expect(monday.item).toMatchObject({ pool: 'pdses-ariege', assignee: SOULA });
    expect(monday.item.routed_at.toISOString()).toBe('2026-10-26T07:20:00.000Z');
  });

  it('chest X-ray from Seysses -> only the Joseph Ducuing pneumology pool, never the emergency lists', async () => {
    const weekday = await routeAt('2026-11-17T10:00', { kind: 'chest-xray', site: SEYSSES });
    expect(weekday.item).toMatchObject({ pool: 'pneumologie-joseph-ducuing', assignee: HADDAD, category: 'chest-tb-screening', priority: 'tb-screening', modality: 'DX' });
    expect(weekday.item.deadline).toEqual(paris('2026-11-20T10:00'));
    const urgentAtNight = await routeAt('2026-11-15T02:10', { kind: 'chest-xray', site: SEYSSES }, { priority: 'urgent' });
    expect(urgentAtNight.item).toMatchObject({ pool: 'pneumologie-joseph-ducuing', assignee: null });
    expect(await decision(urgentAtNight.uid)).toMatchObject({ decision: 'routed', code: 'no-one-on-call', rule: 'prison-tb-screening' });
    for (const { item } of [weekday, urgentAtNight]) expect(item.notified_pools).toEqual([]);
  });

  it('cardiac CT -> the cardiovascular pole', async () => {
    const { uid, item } = await routeAt('2026-11-17T10:00', { kind: 'cardiac-ct', site: CHU_TOULOUSE });
    expect(item).toMatchObject({ pool: 'pole-cardiovasculaire', assignee: '10031000202', category: 'cardiac', priority: 'scheduled', territory: 'haute-garonne' });
    expect(await decision(uid)).toMatchObject({ rule: 'cardiac' });
  });

  it('ultrasound -> not routed, reason recorded', async () => {
    clock.set(paris('2026-11-15T02:10'));
    const uid = await newStudy({ kind: 'ultrasound', site: SAINT_GIRONS });
    await worker.gateway.recordStudyActivity(uid, SAINT_GIRONS);
    const row = await decided(uid);
    expect(row).toMatchObject({ decision: 'refused', code: 'excluded-modality', item_id: null });
    expect(row.reason).toMatch(/Ultrasound is excluded from teleradiology/);
    expect(await items(uid)).toEqual([]);
    expect((await events(uid)).map((e) => [e.type, e.detail.code])).toEqual([['refused', 'excluded-modality']]);
  });

  it('objecting patient -> held (INS or local identifier), routed once the opposition is lifted', async () => {
    clock.set(paris('2026-11-15T02:10'));
    const byIns = patientFor(`objection-ins-${backend.name}`);
    const byLocalId = patientFor(`objection-ipp-${backend.name}`);
    await db.query(
      `INSERT INTO patient_opposition (patient_id, issuer, recorded_by, recorded_at, reason)
       VALUES ($1, $2, 'dim-chsg', $5, 'refus de la télé-interprétation'), ($3, $4, 'dim-chsg', $5, NULL)`,
      [byIns.ins, INS_ISSUER_OID, byLocalId.id, 'CHSG', clock.now()],
    );
    const insStudy = await newStudy({ kind: 'ct-head', site: SAINT_GIRONS, patient: byIns });
    const localStudy = await newStudy({ kind: 'cardiac-ct', site: SAINT_GIRONS, patient: byLocalId, issuerOfPatientID: 'CHSG' });
    for (const uid of [insStudy, localStudy]) {
      expect(await worker.gateway.markStudyComplete(uid, { priority: 'stroke' })).toEqual({ status: 'queued' });
      const row = await decided(uid);
      expect(row).toMatchObject({ decision: 'held', code: 'patient-objection', item_id: null });
      expect(row.reason).not.toContain(byIns.ins as string);
      expect(row.reason).not.toContain(byLocalId.id);
      expect(await items(uid)).toEqual([]);
    }
    expect((await decision(insStudy)).reason).toContain(INS_ISSUER_OID);

    await db.query(`UPDATE patient_opposition SET lifted_by = 'dim-chsg', lifted_at = $2 WHERE patient_id = $1`, [byIns.ins, clock.now()]);
    expect(await worker.gateway.markStudyComplete(insStudy)).toEqual({ status: 'queued' });
    const item = await routedItem(insStudy);
    expect(item).toMatchObject({ pool: 'pdses-ariege', priority: 'stat' });
    expect((await events(insStudy)).map((e) => e.type)).toEqual(['held', 'routed', 'notified']);
  });

  it('a study from an archive-only site -> stored, searchable, never on a worklist', async () => {
    clock.set(paris('2026-11-15T02:10'));
    const uid = await newStudy({ kind: 'ct-head', site: EHPAD_COUSERANS });
    await worker.gateway.recordStudyActivity(uid, EHPAD_COUSERANS);
    expect(await worker.gateway.markStudyComplete(uid, { priority: 'stroke' })).toEqual({ status: 'queued' });
    const row = await decided(uid);
    expect(row).toMatchObject({ decision: 'refused', code: 'archive-only', item_id: null });
    expect(row.reason).toMatch(/archive-only member .* never routed/);
    expect(await items(uid)).toEqual([]);
    expect((await index.studyOwnership(uid))?.site).toBe(EHPAD_COUSERANS);
    expect(await worker.gateway.markStudyComplete(uid)).toMatchObject({ status: 'already-decided', decision: { code: 'archive-only' } });
  });

  it('a study imported without a sending site is archived, not routed', async () => {
    const uid = await newStudy({ kind: 'ct-head', site: null });
    await worker.gateway.recordStudyActivity(uid, null);
    expect(await decided(uid)).toMatchObject({ decision: 'refused', code: 'unknown-site', item_id: null });
    expect(await items(uid)).toEqual([]);
  });

  it('replayed job -> still one item', async () => {
    const { uid, item } = await routeAt('2026-11-15T02:10', { kind: 'ct-head', site: SAINT_GIRONS });
    // Replays of the very job, straight on the queue (no deduplication), and late instances.
    const store = await openQueueStore({ redisUrl: redis?.url, database: db });
    const queue = store.queue(ROUTING_QUEUE);
    try {
      for (let i = 0; i < 3; i++) await queue.add(ROUTE_STUDY_JOB, { studyInstanceUID: uid });
      await worker.gateway.recordStudyActivity(uid, SAINT_GIRONS);
      await waitFor(async () => {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed');
        return counts.waiting + counts.active + counts.delayed === 0 ? true : undefined;
      });
    } finally {
      await queue.close();
      await store.close();
    }
    expect(await worker.routeStudy(uid)).toMatchObject({ replay: true, item: { id: item.id } });
    expect(await items(uid)).toHaveLength(1);
    expect((await events(uid)).filter((e) => e.type === 'routed')).toHaveLength(1);
    expect(await worker.gateway.markStudyComplete(uid)).toMatchObject({ status: 'already-decided', decision: { itemId: item.id } });
  });

  it('two workers at once -> one item per study', async () => {
    clock.set(paris('2026-11-15T02:10'));
    const second = await start();
    try {
      const uids: string[] = [];
      for (let i = 0; i < 12; i++) uids.push(await newStudy({ kind: i % 2 ? 'ct-head' : 'chest-xray', site: i % 2 ? SAINT_GIRONS : SEYSSES }));
      // Half through the queues (both workers consume), half routed directly by both workers at the same time.
      const queued = uids.slice(0, 6);
      const raced = uids.slice(6);
      await Promise.all(queued.map((uid, i) => (i % 2 ? worker : second).gateway.recordStudyActivity(uid, i % 2 ? SAINT_GIRONS : SEYSSES)));
      const outcomes = await Promise.all(raced.flatMap((uid) => [worker.routeStudy(uid), second.routeStudy(uid)]));
      for (let i = 0; i < raced.length; i++) {
        const pair = [outcomes[2 * i], outcomes[2 * i + 1]];
        expect(pair.filter((o) => !o.replay)).toHaveLength(1);
        expect(pair[0].item?.id).toBe(pair[1].item?.id);
      }
      for (const uid of uids) {
        await routedItem(uid);
        expect(await items(uid)).toHaveLength(1);
        expect((await events(uid)).filter((e) => e.type === 'routed')).toHaveLength(1);
      }
    } finally {
      await second.stop();
    }
  });

  it('reconciliation at start routes stable studies whose job was lost', async () => {
    clock.set(paris('2026-11-15T02:10'));
    const lost = await newStudy({ kind: 'ct-head', site: SAINT_GIRONS });
    const recent = await newStudy({ kind: 'ct-head', site: SAINT_GIRONS });
    // Activity recorded, job never queued (a producer that only writes, as when the queue was down).
    const producer = await start({ consume: false });
    await db.query(
      `INSERT INTO study_activity (study_instance_uid, site, last_instance_at) VALUES ($1, $3, $4), ($2, $3, $5)`,
      [lost, recent, SAINT_GIRONS, new Date(clock.now().getTime() - 60_000), clock.now()],
    );
    await producer.stop();
    const restarted = await start();
    try {
      expect(await items(lost)).toHaveLength(1); // routed before start-up returned
      expect(await decision(recent)).toBeUndefined(); // not stable yet on the clock
      clock.advance(STABILITY_MS);
      expect(await restarted.reconcile()).toBeGreaterThanOrEqual(1);
      expect(await items(recent)).toHaveLength(1);
    } finally {
      await restarted.stop();
    }
  });
});

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
