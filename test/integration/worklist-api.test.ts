/**
 * The worklist API over real HTTP on a loopback port, against a real PostgreSQL cluster with the
 * application's migrations, the Midi-Pyrénées example region and tokens signed by the embedded key.
 * Items are inserted with SQL, as the routing worker does; the clock is a TestClock set to a Sunday night.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import { SignJWT } from 'jose';
import pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadRegionConfig } from '../../config/region/load-region-config.ts';
import type { RegionConfig } from '../../config/region/region-config.ts';
import { authenticate } from '../../gateway/auth/authenticate.ts';
import { EMBEDDED_ISSUER, loadOrCreateSigningKey, type EmbeddedSigningKey } from '../../gateway/auth/embedded-signing-key.ts';
import type { Role } from '../../core/identity/roles.ts';
import { createTokenVerifier } from '../../gateway/auth/token-verifier.ts';
import { HttpProblem } from '../../gateway/http/problem.ts';
import { createWorklistNotificationHub, type WorklistNotificationHub } from '../../gateway/read/worklist/worklist-notification-hub.ts';
import type { StudyCompletion, StudyCompletionFlags } from '../../gateway/read/worklist/study-routes.ts';
import { worklistServices } from '../../gateway/read/worklist/worklist-services.ts';
import { mountRoutes } from '../../gateway/app/mount-routes.ts';
import { worklistRouteTable } from '../../gateway/app/route-table.ts';
import { openDatabase, type Database } from '../../storage/database/database.ts';
import { migrateAll } from '../../storage/database/migration-sources.ts';
import { resolveOnCall } from '../../config/oncall/resolve-on-call.ts';
import { TestClock } from '../../core/time/clock.ts';
import { WORKLIST_NOTIFY_CHANNEL, type WorklistNotification } from '../../storage/worklist/worklist-types.ts';
import { startTestPostgres, type TestPostgres } from '../support/postgres.ts';

const AUDIENCE = 'astreinte-worklist-test';
const NOW = '2026-11-22T02:10:00+01:00'; // a Sunday night
const SAINT_GIRONS = '090000050';
const RODEZ = '120780044';
const ROQUES = '10009000011';
const FAURE = '10009000029';
const SOULA = '10009000037';
const BOUSCATEL = '10012000014';
const MOUNAYRAC = '10031000101';
const INS = '1.2.250.1.213.1.4.8';

let postgres: TestPostgres;
let database: Database;
let config: RegionConfig;
let key: EmbeddedSigningKey;
let keyDir: string;
let server: Server;
let base: string;
let hub: WorklistNotificationHub;
const clock = new TestClock(NOW);
const completions: { study: string; flags: StudyCompletionFlags }[] = [];
let completionAnswer: StudyCompletion | undefined;

beforeAll(async () => {
  postgres = await startTestPostgres();
  database = await openDatabase({ kind: 'external', url: postgres.url });
  await migrateAll(database.pool);
  config = await loadRegionConfig(fileURLToPath(new URL('../../config/examples/midi-pyrenees.yaml', import.meta.url)));
  keyDir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-worklist-keys-'));
  key = await loadOrCreateSigningKey(keyDir);
  const verifier = await createTokenVerifier({ kind: 'embedded', keyDir, audience: AUDIENCE });
  const log = pino({ level: 'silent' });
  hub = createWorklistNotificationHub(database, log);
  const app = express();
  app.use(authenticate(verifier));
  // The worklist API as createApp mounts it: its entries of the route table, each behind its role gate.
  const api = express.Router();
  mountRoutes(
    api,
    worklistRouteTable(),
    worklistServices({
      database,
      regionConfig: config,
      clock,
      log,
      notifications: hub,
      routing: {
        async markStudyComplete(study, flags) {
          completions.push({ study, flags });
          return completionAnswer;
        },
      },
    }),
    '/api',
  );
  app.use('/api', api);
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const problem = error instanceof HttpProblem ? error : new HttpProblem(500, String(error), 'server-error');
    res.status(problem.status).type('application/problem+json').send(JSON.stringify({ status: problem.status, code: problem.code, detail: problem.message }));
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await hub?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await database?.close();
  await postgres?.stop();
  if (keyDir) await rm(keyDir, { recursive: true, force: true });
});

beforeEach(async () => {
  clock.set(NOW);
  completions.length = 0;
  completionAnswer = undefined;
  await database.query(
    'TRUNCATE worklist_incident, worklist_event, worklist_item, routing_decision, patient_opposition, study_activity, ' +
      'instance, series, study, patient_other_id, patient_name_token, patient CASCADE',
  );
});

// ---------------------------------------------------------------- helpers

interface TokenClaims {
  role: Role;
  sub: string;
  rpps?: string;
  territory?: string;
  site?: string;
}

const tokens = new Map<string, string>();
async function token(claims: TokenClaims): Promise<string> {
  const cacheKey = JSON.stringify(claims);
  let signed = tokens.get(cacheKey);
  if (!signed) {
    const { sub, ...rest } = claims;
    signed = await new SignJWT({ ...rest })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
      .setIssuer(EMBEDDED_ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(key.privateKey);
    tokens.set(cacheKey, signed);
  }
  return signed;
}

/** A reader as `astreinte token --role reader --user <RPPS> --rpps <RPPS>` makes one. */
const reader = (rpps: string) => token({ role: 'reader', sub: rpps, rpps });
const expert = (rpps: string) => token({ role: 'expert', sub: `psc-${rpps}`, rpps });
const coordinator = (territory?: string) => token({ role: 'coordinator', sub: `coord-${territory ?? 'none'}`, ...(territory ? { territory } : {}) });
const admin = () => token({ role: 'admin', sub: 'admin-1' });
const sender = (site: string) => token({ role: 'sender', sub: `gw-${site}`, site });
const analyst = () => token({ role: 'analyst', sub: 'stats' });

interface ApiAnswer {
  status: number;
  body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test
}

async function api(method: string, url: string, bearer: string, body?: unknown): Promise<ApiAnswer> {
  const response = await fetch(`${base}/api${url}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

let studyCounter = 0;
const newStudyUID = () => `1.2.826.0.1.3680043.10.543.${Date.now()}.${++studyCounter}`;

interface ItemSpec {
  id?: string;
  kind?: 'read' | 'second-opinion';
  parentId?: string | null;
  study?: string;
  site?: string;
  territory?: string;
  modality?: string;
  bodyPart?: string | null;
  category?: string;
  priority?: string;
  status?: 'SCHEDULED' | 'IN PROGRESS' | 'COMPLETED' | 'CANCELED';
  pool?: string;
  assignee?: string | null;
  transactionUID?: string | null;
  claimedAt?: Date | null;
  deadlineMinutes?: number;
  offeredTo?: string[];
  notifiedPools?: string[];
}

/** Inserts an item as the routing worker would; returns its id. */
async function insertItem(spec: ItemSpec = {}): Promise<string> {
  const id = spec.id ?? randomUUID();
  const now = clock.now().getTime();
  const priority = config.priorityById.get(spec.priority ?? 'urgent');
  if (!priority) throw new Error(`no priority ${spec.priority}`);
  const deadline = new Date(now + (spec.deadlineMinutes ?? priority.deadlineMs / 60_000) * 60_000);
  await database.query(
    `INSERT INTO worklist_item (id, kind, parent_id, study_instance_uid, site, territory, modality, body_part, category, priority,
       priority_rank, status, pool, assignee, transaction_uid, routed_at, warning_at, deadline, claimed_at, offered_to, notified_pools)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
    [
      id, spec.kind ?? 'read', spec.parentId ?? null, spec.study ?? newStudyUID(), spec.site ?? SAINT_GIRONS,
      spec.territory ?? 'ariege', spec.modality ?? 'CT', spec.bodyPart === undefined ? 'HEAD' : spec.bodyPart,
      spec.category ?? 'neuro', priority.id, priority.rank, spec.status ?? 'SCHEDULED', spec.pool ?? 'pdses-ariege',
      spec.assignee === undefined ? ROQUES : spec.assignee, spec.transactionUID ?? null, new Date(now),
      new Date(now + priority.warningMs), deadline, spec.claimedAt ?? null, spec.offeredTo ?? [], spec.notifiedPools ?? [],
    ],
  );
  return id;
}

const ids = (answer: ApiAnswer) => (answer.body.items as { id: string }[]).map((i) => i.id);

async function eventsOf(itemId: string): Promise<{ type: string; actor: string; detail: Record<string, unknown> }[]> {
  const result = await database.query('SELECT type, actor, detail FROM worklist_event WHERE item_id = $1 ORDER BY id', [itemId]);
  return result.rows as { type: string; actor: string; detail: Record<string, unknown> }[];
}

// ---------------------------------------------------------------- list

describe('GET /api/worklist', () => {
  let mineUrgent: string;
  let poolStat: string;
  let heldByFaure: string;
  let aveyron: string;
  let opinion: string;
  let completed: string;

  beforeEach(async () => {
    mineUrgent = await insertItem({ priority: 'urgent', deadlineMinutes: 60 });
    poolStat = await insertItem({ priority: 'stat', assignee: null, category: 'stroke' });
    heldByFaure = await insertItem({
      priority: 'urgent',
      deadlineMinutes: 20,
      status: 'IN PROGRESS',
      assignee: FAURE,
      transactionUID: '2.25.1234',
      claimedAt: clock.now(),
    });
    aveyron = await insertItem({ site: RODEZ, territory: 'aveyron', pool: 'pdses-aveyron', assignee: BOUSCATEL });
    opinion = await insertItem({ kind: 'second-opinion', parentId: mineUrgent, pool: 'pole-neuroradiologie', assignee: null, deadlineMinutes: 90 });
    completed = await insertItem({ status: 'COMPLETED' });
  });

  it('shows a reader their items and their pools, most urgent first, times with the Paris offset', async () => {
    const answer = await api('GET', '/worklist', await reader(ROQUES));
    expect(answer.status).toBe(200);
    expect(ids(answer)).toEqual([poolStat, heldByFaure, mineUrgent]);
    const first = answer.body.items[0];
    expect(first).toMatchObject({
      studyInstanceUID: expect.any(String),
      site: SAINT_GIRONS,
      territory: 'ariege',
      modality: 'CT',
      bodyPart: 'HEAD',
      category: 'stroke',
      priority: 'stat',
      status: 'SCHEDULED',
      pool: 'pdses-ariege',
      assignee: null,
      kind: 'read',
      parentId: null,
      routedAt: '2026-11-22T02:10:00+01:00',
      warningAt: '2026-11-22T02:25:00+01:00',
      deadline: '2026-11-22T02:40:00+01:00',
      claimedAt: null,
    });
    expect(answer.body.items.find((i: { id: string }) => i.id === heldByFaure).transactionUID).toBeUndefined();
  });

  it('narrows to scope=mine and scope=pools, filters by status and priority', async () => {
    const roques = await reader(ROQUES);
    expect(ids(await api('GET', '/worklist?scope=mine', roques))).toEqual([mineUrgent]);
    expect(ids(await api('GET', '/worklist?scope=pools', roques))).toEqual([poolStat, heldByFaure, mineUrgent]);
    expect(ids(await api('GET', '/worklist?status=IN%20PROGRESS', roques))).toEqual([heldByFaure]);
    expect(ids(await api('GET', '/worklist?status=COMPLETED', roques))).toEqual([completed]);
    expect(ids(await api('GET', '/worklist?status=SCHEDULED,IN%20PROGRESS&priority=stat', roques))).toEqual([poolStat]);
    const bad = await api('GET', '/worklist?status=DONE', roques);
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toContain('SCHEDULED, IN PROGRESS, COMPLETED, CANCELED');
    expect((await api('GET', '/worklist?priority=asap', roques)).status).toBe(400);
    expect((await api('GET', '/worklist?scope=everything', roques)).status).toBe(400);
  });

  it('shows the transaction UID to its holder only', async () => {
    const answer = await api('GET', '/worklist?scope=mine', await reader(FAURE));
    expect(answer.body.items).toEqual([expect.objectContaining({ id: heldByFaure, transactionUID: '2.25.1234' })]);
  });

  it('keeps readers out of other territories and out of territory lists', async () => {
    expect(ids(await api('GET', '/worklist', await reader(BOUSCATEL)))).toEqual([aveyron]);
    const territory = await api('GET', '/worklist?scope=territory', await reader(ROQUES));
    expect(territory.status).toBe(403);
    expect(territory.body.detail).toContain('coordinators');
  });

  it('shows an expert the second opinions addressed to their pole', async () => {
    const answer = await api('GET', '/worklist', await expert(MOUNAYRAC));
    expect(ids(answer)).toEqual([opinion]);
    expect(answer.body.items[0]).toMatchObject({ kind: 'second-opinion', parentId: mineUrgent, pool: 'pole-neuroradiologie' });
  });

  it('shows an item to the readers an escalation offered it to and to the pools told about it', async () => {
    const stroke = await insertItem({
      priority: 'stat',
      category: 'stroke',
      assignee: FAURE,
      offeredTo: [SOULA],
      notifiedPools: ['pole-neuroradiologie'],
      deadlineMinutes: 10,
    });
    const soulaMine = await api('GET', '/worklist?scope=mine', await reader(SOULA));
    expect(ids(soulaMine)).toEqual([stroke]);
    expect(soulaMine.body.items[0]).toMatchObject({ offeredTo: [SOULA], notifiedPools: ['pole-neuroradiologie'] });
    expect(ids(await api('GET', '/worklist?scope=pools', await expert(MOUNAYRAC)))).toEqual([stroke, opinion]);
    expect(ids(await api('GET', '/worklist?scope=mine', await expert(MOUNAYRAC)))).toEqual([]);
    expect(ids(await api('GET', '/worklist', await reader(BOUSCATEL)))).toEqual([aveyron]);
    const claimed = await api('POST', `/worklist/${stroke}/claim`, await reader(SOULA));
    expect(claimed.status).toBe(200);
    expect(claimed.body.item.assignee).toBe(SOULA);
  });

  it('shows a coordinator their whole territory and nothing else', async () => {
    const ariege = await coordinator('ariege');
    expect(ids(await api('GET', '/worklist?scope=territory', ariege))).toEqual([poolStat, heldByFaure, mineUrgent, opinion]);
    expect(ids(await api('GET', '/worklist', ariege))).toEqual([poolStat, heldByFaure, mineUrgent, opinion]);
    expect((await api('GET', '/worklist?scope=territory&territory=aveyron', ariege)).status).toBe(403);
    expect((await api('GET', '/worklist?scope=mine', ariege)).status).toBe(400);
    const noTerritory = await api('GET', '/worklist', await coordinator());
    expect(noTerritory.status).toBe(403);
    expect(noTerritory.body.detail).toContain('names no territory');
  });

  it('shows an administrator everything, or one territory', async () => {
    expect((await api('GET', '/worklist', await admin())).body.items).toHaveLength(5);
    expect(ids(await api('GET', '/worklist?scope=territory&territory=aveyron', await admin()))).toEqual([aveyron]);
  });

  it('keeps a completed item to its assignee: its pool and those it was offered to lose it (period 0)', async () => {
    const done = await insertItem({ status: 'COMPLETED', assignee: FAURE, offeredTo: [SOULA] });
    await database.query('UPDATE worklist_item SET completed_at = $2 WHERE id = $1', [done, clock.now()]);
    expect((await api('GET', `/worklist/${done}`, await reader(FAURE))).status).toBe(200);
    // Before: Dr Roques (a member of pdses-ariege) and Dr Soula (offered it) still had the exam and its images.
    expect((await api('GET', `/worklist/${done}`, await reader(ROQUES))).status).toBe(404);
    expect((await api('GET', `/worklist/${done}`, await reader(SOULA))).status).toBe(404);
    const listed = await api('GET', '/worklist?status=COMPLETED', await reader(ROQUES));
    expect(listed.status).toBe(200);
    expect(ids(listed)).not.toContain(done);
    expect(ids(await api('GET', '/worklist?status=COMPLETED', await reader(FAURE)))).toContain(done);
    expect((await api('GET', `/worklist/${done}`, await coordinator('ariege'))).status).toBe(200);
  });

  it('refuses a reader or expert token without a valid RPPS claim, even when its subject is a reader’s RPPS', async () => {
    // Before: the subject stood for the RPPS, so whoever the identity provider named 10009000011 got Dr Roques's pools.
    for (const forged of [
      await token({ role: 'reader', sub: ROQUES }),
      await token({ role: 'expert', sub: MOUNAYRAC }),
      await token({ role: 'reader', sub: ROQUES, rpps: `adeli-${ROQUES}` }),
    ]) {
      const answer = await api('GET', '/worklist', forged);
      expect(answer.status).toBe(403);
      expect(answer.body.detail).toMatch(/RPPS/);
      expect(answer.body.code).toMatch(/^token-(missing|bad)-rpps$/);
    }
  });

  it('refuses senders and analysts', async () => {
    expect((await api('GET', '/worklist', await sender(SAINT_GIRONS))).status).toBe(403);
    expect((await api('GET', '/worklist', await analyst())).status).toBe(403);
  });
});

// ---------------------------------------------------------------- claim / release

describe('claim and release', () => {
  it('lets exactly one of ten simultaneous claims win; the others are told who holds the exam', async () => {
    const item = await insertItem({ assignee: null, priority: 'stat' });
    const claimants = [ROQUES, FAURE, SOULA];
    const bearers = await Promise.all(claimants.map((rpps) => reader(rpps)));
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, n) => api('POST', `/worklist/${item}/claim`, bearers[n % 3])),
    );
    const winners = answers.filter((a) => a.status === 200);
    expect(winners).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(9);
    const won = winners[0].body.item;
    expect(won.status).toBe('IN PROGRESS');
    expect(won.transactionUID).toMatch(/^2\.25\.\d{1,39}$/);
    expect(won.claimedAt).toBe('2026-11-22T02:10:00+01:00');
    const holder = won.assignee as string;
    const holderName = config.readerByRpps.get(holder)?.name;
    for (const [n, answer] of answers.entries()) {
      if (answer.status !== 409) continue;
      if (claimants[n % 3] === holder) {
        expect(answer.body.detail).toBe('You are already reading this exam since 02:10; carry on, it is on your list (scope=mine).');
      } else {
        expect(answer.body.detail).toBe(`This exam is already being read by ${holderName} (RPPS ${holder}) since 02:10.`);
      }
    }
    expect((await eventsOf(item)).filter((e) => e.type === 'claimed')).toEqual([
      { type: 'claimed', actor: holder, detail: { previousAssignee: null, transactionUID: won.transactionUID } },
    ]);
  });

  it('names the holder and the time in the radiologist\'s words', async () => {
    const item = await insertItem({ assignee: ROQUES });
    clock.advance(4 * 60_000);
    expect((await api('POST', `/worklist/${item}/claim`, await reader(ROQUES))).status).toBe(200);
    const second = await api('POST', `/worklist/${item}/claim`, await reader(FAURE));
    expect(second.status).toBe(409);
    expect(second.body.detail).toBe('This exam is already being read by Dr Anne Roques (RPPS 10009000011) since 02:14.');
  });

  it('lets only entitled readers claim, and never a finished exam', async () => {
    const item = await insertItem();
    const stranger = await api('POST', `/worklist/${item}/claim`, await reader(BOUSCATEL));
    expect(stranger.status).toBe(404);
    const unknown = await api('POST', `/worklist/${randomUUID()}/claim`, await reader(BOUSCATEL));
    expect(unknown.body.detail.replace(/[0-9a-f-]{36}/, 'ID')).toBe(stranger.body.detail.replace(/[0-9a-f-]{36}/, 'ID'));
    expect((await api('POST', '/worklist/not-a-uuid/claim', await reader(ROQUES))).status).toBe(404);
    expect((await api('POST', `/worklist/${item}/claim`, await coordinator('ariege'))).status).toBe(403);
    const done = await insertItem({ status: 'COMPLETED' });
    const finished = await api('POST', `/worklist/${done}/claim`, await reader(ROQUES));
    expect(finished.status).toBe(409);
    expect(finished.body.detail).toContain('already been reported');
  });

  it('lets only the holder release, back to SCHEDULED without a transaction', async () => {
    const item = await insertItem({ assignee: null });
    const claim = await api('POST', `/worklist/${item}/claim`, await reader(FAURE));
    expect(claim.status).toBe(200);
    const notHolder = await api('POST', `/worklist/${item}/release`, await reader(ROQUES));
    expect(notHolder.status).toBe(403);
    expect(notHolder.body.detail).toContain('Dr Pierre Fauré (RPPS 10009000029)');
    const wrongUid = await api('POST', `/worklist/${item}/release`, await reader(FAURE), { transactionUID: '2.25.1' });
    expect(wrongUid.status).toBe(409);
    const released = await api('POST', `/worklist/${item}/release`, await reader(FAURE), {
      reason: 'Called to the emergency room',
      transactionUID: claim.body.item.transactionUID,
    });
    expect(released.status).toBe(200);
    expect(released.body.item).toMatchObject({ status: 'SCHEDULED', assignee: null, claimedAt: null });
    expect(released.body.item.transactionUID).toBeUndefined();
    const again = await api('POST', `/worklist/${item}/release`, await reader(FAURE));
    expect(again.status).toBe(409);
    expect(again.body.detail).toContain('nothing to release');
    const row = await database.query('SELECT status, transaction_uid, claimed_at FROM worklist_item WHERE id = $1', [item]);
    expect(row.rows[0]).toEqual({ status: 'SCHEDULED', transaction_uid: null, claimed_at: null });
    expect((await eventsOf(item)).map((e) => e.type)).toEqual(['claimed', 'released']);
    expect((await eventsOf(item))[1]).toMatchObject({ actor: FAURE, detail: { reason: 'Called to the emergency room' } });
  });
});

// ---------------------------------------------------------------- reassign

describe('reassign', () => {
  it('lets the territory\'s coordinator hand an exam being read to another entitled reader, with a reason', async () => {
    const item = await insertItem({ status: 'IN PROGRESS', assignee: ROQUES, transactionUID: '2.25.77', claimedAt: clock.now() });
    const ariege = await coordinator('ariege');
    expect((await api('POST', `/worklist/${item}/reassign`, await reader(ROQUES), { assignee: SOULA, reason: 'x y z' })).status).toBe(403);
    expect((await api('POST', `/worklist/${item}/reassign`, await coordinator('aveyron'), { assignee: SOULA, reason: 'busy' })).status).toBe(404);
    const noReason = await api('POST', `/worklist/${item}/reassign`, ariege, { assignee: SOULA });
    expect(noReason.status).toBe(400);
    expect(noReason.body.detail).toContain('reason');
    const unknown = await api('POST', `/worklist/${item}/reassign`, ariege, { assignee: '19999999999', reason: 'no answer' });
    expect(unknown.status).toBe(400);
    const notEntitled = await api('POST', `/worklist/${item}/reassign`, ariege, { assignee: BOUSCATEL, reason: 'no answer' });
    expect(notEntitled.status).toBe(400);
    expect(notEntitled.body.detail).toBe('Dr Jean Bouscatel (RPPS 10012000014) is not entitled to read for CH Ariège Couserans (Saint-Girons); choose a reader of that site.');
    const badPool = await api('POST', `/worklist/${item}/reassign`, ariege, { assignee: SOULA, pool: 'nowhere', reason: 'x' + 'yz' });
    expect(badPool.status).toBe(400);

    // A pool of another territory would give its readers the images (before: accepted). Bouscatel reads for
    // Aveyron only, so the site check refuses him first; a reader of both sites shows the pool check.
    const otherTerritoryPool = await api('POST', `/worklist/${item}/reassign`, ariege, { assignee: SOULA, pool: 'pdses-aveyron', reason: 'no answer' });
    expect(otherTerritoryPool.status).toBe(400);
    expect(otherTerritoryPool.body.code).toBe('pool-not-allowed');
    expect(otherTerritoryPool.body.detail).toMatch(/autre territoire/);
    // A regional pool no routing rule sends this site's exams to (the prison pneumologists).
    const notByRules = await api('POST', `/worklist/${item}/reassign`, ariege, { assignee: SOULA, pool: 'pneumologie-joseph-ducuing', reason: 'no answer' });
    expect(notByRules.status).toBe(400);
    expect(notByRules.body.detail).toMatch(/Aucune règle de routage/);
    // The neuroradiology pole is allowed (the stroke rule sends there), but only to one of its members.
    const notMember = await api('POST', `/worklist/${item}/reassign`, ariege, { assignee: SOULA, pool: 'pole-neuroradiologie', reason: 'expert' });
    expect(notMember.status).toBe(400);
    expect(notMember.body.detail).toMatch(/n'appartient pas à Pôle régional de neuroradiologie/);
    const done = await api('POST', `/worklist/${item}/reassign`, ariege, { assignee: SOULA, reason: 'Dr Roques does not answer the phone' });
    expect(done.status).toBe(200);
    expect(done.body.item).toMatchObject({ status: 'SCHEDULED', assignee: SOULA, assigneeName: 'Dr Claire Soula', pool: 'pdses-ariege' });
    const events = await eventsOf(item);
    expect(events.at(-1)).toEqual({
      type: 'reassigned',
      actor: 'coord-ariege',
      detail: {
        reason: 'Dr Roques does not answer the phone',
        from: { assignee: ROQUES, pool: 'pdses-ariege', status: 'IN PROGRESS' },
        to: { assignee: SOULA, pool: 'pdses-ariege', poolName: 'PDSES Ariège' },
      },
    });
    expect(ids(await api('GET', '/worklist?scope=mine', await reader(SOULA)))).toEqual([item]);
  });

  it('lets an administrator reassign to another pool, and refuses closed items', async () => {
    const item = await insertItem();
    const moved = await api('POST', `/worklist/${item}/reassign`, await admin(), {
      assignee: MOUNAYRAC,
      pool: 'pole-neuroradiologie',
      reason: 'Complex case, neuroradiologist needed',
    });
    expect(moved.status).toBe(200);
    expect(moved.body.item).toMatchObject({ pool: 'pole-neuroradiologie', assignee: MOUNAYRAC });
    const closed = await insertItem({ status: 'CANCELED' });
    expect((await api('POST', `/worklist/${closed}/reassign`, await admin(), { assignee: SOULA, reason: 'try' })).status).toBe(409);
  });
});

// ---------------------------------------------------------------- second opinion

describe('second opinion', () => {
  it('creates its own item for the pole, answered by the expert with a counted outcome', async () => {
    const parent = await insertItem({ category: 'stroke', priority: 'stat' });
    const roques = await reader(ROQUES);
    const beforeClaim = await api('POST', `/worklist/${parent}/second-opinion`, roques, { pool: 'neuroradiology', question: 'Thrombectomy?' });
    expect(beforeClaim.status).toBe(403);
    expect(beforeClaim.body.detail).toContain('Claim this exam first');
    expect((await api('POST', `/worklist/${parent}/claim`, roques)).status).toBe(200);
    expect((await api('POST', `/worklist/${parent}/second-opinion`, roques, { pool: 'pole-nowhere', question: 'x' })).status).toBe(400);
    expect((await api('POST', `/worklist/${parent}/second-opinion`, roques, { pool: 'neuroradiology' })).status).toBe(400);

    clock.advance(3 * 60_000);
    const asked = await api('POST', `/worklist/${parent}/second-opinion`, roques, {
      pool: 'neuroradiology',
      question: 'Occlusion of the left M1? Transfer for thrombectomy?',
    });
    expect(asked.status).toBe(201);
    const onCall = resolveOnCall(config, 'pole-neuroradiologie', clock.now());
    const opinion = asked.body.item;
    expect(opinion).toMatchObject({
      kind: 'second-opinion',
      parentId: parent,
      pool: 'pole-neuroradiologie',
      priority: 'stat',
      status: 'SCHEDULED',
      assignee: onCall.primary?.rpps,
      routedAt: '2026-11-22T02:13:00+01:00',
      deadline: '2026-11-22T02:43:00+01:00',
      question: 'Occlusion of the left M1? Transfer for thrombectomy?',
    });
    const pending = await api('POST', `/worklist/${parent}/second-opinion`, roques, { pool: 'pole-neuroradiologie', question: 'again?' });
    expect(pending.status).toBe(409);
    expect(pending.body.detail).toBe(
      'A second opinion from Pôle régional de neuroradiologie (CHU de Toulouse) is already pending for this exam (asked at 02:13); wait for its answer.',
    );

    const neuro = await expert(MOUNAYRAC);
    const listed = await api('GET', '/worklist', neuro);
    expect(listed.body.items).toEqual([expect.objectContaining({ id: opinion.id, question: 'Occlusion of the left M1? Transfer for thrombectomy?' })]);
    expect((await api('POST', `/worklist/${opinion.id}/answer`, neuro, { outcome: { transferAdvised: true } })).status).toBe(403);
    expect((await api('POST', `/worklist/${opinion.id}/claim`, neuro)).status).toBe(200);
    expect((await api('POST', `/worklist/${opinion.id}/answer`, neuro, { outcome: { transferAdvised: 'yes' } })).status).toBe(400);
    expect((await api('POST', `/worklist/${opinion.id}/answer`, neuro, {})).status).toBe(400);
    expect((await api('POST', `/worklist/${parent}/answer`, roques, { comment: 'x' })).status).toBe(400);

    clock.advance(7 * 60_000);
    const answered = await api('POST', `/worklist/${opinion.id}/answer`, neuro, {
      outcome: { transferAdvised: true, thrombolysisIndicated: false },
      comment: 'M1 occlusion: transfer to CHU Purpan for thrombectomy.',
    });
    expect(answered.status).toBe(200);
    expect(answered.body.item).toMatchObject({
      status: 'COMPLETED',
      assignee: MOUNAYRAC,
      completedAt: '2026-11-22T02:20:00+01:00',
      outcome: { transferAdvised: true, thrombolysisIndicated: false, comment: 'M1 occlusion: transfer to CHU Purpan for thrombectomy.' },
    });
    const again = await api('POST', `/worklist/${opinion.id}/answer`, neuro, { comment: 'second thoughts' });
    expect(again.status).toBe(409);

    // The reader who asked finds the answer on the exam they hold.
    const detail = await api('GET', `/worklist/${parent}`, roques);
    expect(detail.status).toBe(200);
    expect(detail.body.secondOpinions).toEqual([
      expect.objectContaining({ id: opinion.id, status: 'COMPLETED', outcome: expect.objectContaining({ transferAdvised: true }) }),
    ]);
    expect(detail.body.history.map((e: { type: string }) => e.type)).toEqual(['claimed', 'second-opinion-requested', 'claimed', 'second-opinion-answered']);
    const stored = await database.query('SELECT outcome FROM worklist_item WHERE id = $1', [opinion.id]);
    expect(stored.rows[0].outcome).toMatchObject({ transferAdvised: true, thrombolysisIndicated: false });
  });
});

// ---------------------------------------------------------------- incidents

describe('incidents', () => {
  it('are recorded by anyone who can see the item, with an event', async () => {
    const item = await insertItem();
    const recorded = await api('POST', `/worklist/${item}/incidents`, await reader(FAURE), {
      category: 'images-missing',
      description: 'Only the scout view arrived; the axial series is missing.',
    });
    expect(recorded.status).toBe(201);
    expect(recorded.body.incident).toMatchObject({ itemId: item, category: 'images-missing', reportedBy: FAURE, at: '2026-11-22T02:10:00+01:00' });
    expect((await api('POST', `/worklist/${item}/incidents`, await coordinator('ariege'), { category: 'transfer-failure', description: 'PACS link down' })).status).toBe(201);
    expect((await api('POST', `/worklist/${item}/incidents`, await reader(BOUSCATEL), { category: 'other', description: 'no access' })).status).toBe(404);
    const broken = await fetch(`${base}/api/worklist/${item}/incidents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await reader(FAURE)}`, 'content-type': 'application/json' },
      body: '{"category": "viewer",',
    });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ code: 'invalid-json' });
    const bad = await api('POST', `/worklist/${item}/incidents`, await reader(FAURE), { category: 'Images Missing!' });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toContain('category');
    expect(bad.body.detail).toContain('description');
    const rows = await database.query('SELECT reported_by, category FROM worklist_incident WHERE item_id = $1 ORDER BY id', [item]);
    expect(rows.rows).toEqual([
      { reported_by: FAURE, category: 'images-missing' },
      { reported_by: 'coord-ariege', category: 'transfer-failure' },
    ]);
    expect((await eventsOf(item)).map((e) => e.type)).toEqual(['incident', 'incident']);
  });
});

// ---------------------------------------------------------------- live events

interface SseEvent {
  event: string;
  data: string;
}

/** Opens the stream and resolves once the server said it listens; events are pushed to `received`. */
async function openStream(bearer: string): Promise<{ received: SseEvent[]; next: (timeoutMs: number) => Promise<SseEvent>; close: () => void }> {
  const controller = new AbortController();
  const response = await fetch(`${base}/api/worklist/events`, { headers: { authorization: `Bearer ${bearer}` }, signal: controller.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const received: SseEvent[] = [];
  const waiters: ((event: SseEvent) => void)[] = [];
  let buffer = '';
  let connected!: () => void;
  const ready = new Promise<void>((resolve) => (connected = resolve));
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.includes(': connected')) connected();
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data !== undefined) {
            const parsed = { event, data };
            const waiter = waiters.shift();
            if (waiter) waiter(parsed);
            else received.push(parsed);
          }
        }
      }
    } catch {
      // aborted
    }
  })();
  await ready;
  return {
    received,
    next: (timeoutMs) =>
      new Promise((resolve, reject) => {
        const queued = received.shift();
        if (queued) return resolve(queued);
        const timer = setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms`)), timeoutMs);
        waiters.push((event) => {
          clearTimeout(timer);
          resolve(event);
        });
      }),
    close: () => controller.abort(),
  };
}

describe('GET /api/worklist/events', () => {
  let other: pg.Client;
  beforeAll(async () => {
    other = new pg.Client({ connectionString: postgres.url });
    await other.connect();
  });
  afterAll(async () => {
    await other?.end();
  });
  afterEach(async () => {
    // let streams closed by the test finish on the server side
    await new Promise((resolve) => setTimeout(resolve, 20));
  });

  const notify = (n: WorklistNotification) => other.query('SELECT pg_notify($1, $2)', [WORKLIST_NOTIFY_CHANNEL, JSON.stringify(n)]);

  it('delivers, within a second, a NOTIFY sent by another connection, filtered for the reader', async () => {
    const stream = await openStream(await reader(ROQUES));
    try {
      const aveyronItem = randomUUID();
      const ariegeItem = randomUUID();
      const started = performance.now();
      await notify({ type: 'item-created', itemId: aveyronItem, pool: 'pdses-aveyron', assignee: BOUSCATEL, territory: 'aveyron', status: 'SCHEDULED' });
      await notify({ type: 'item-created', itemId: ariegeItem, pool: 'pdses-ariege', assignee: ROQUES, territory: 'ariege', status: 'SCHEDULED' });
      const event = await stream.next(1000);
      const latencyMs = performance.now() - started;
      expect(event.event).toBe('item-created');
      expect(JSON.parse(event.data)).toMatchObject({ itemId: ariegeItem, pool: 'pdses-ariege' });
      expect(latencyMs).toBeLessThan(1000);
      console.log(`SSE: NOTIFY from another connection delivered in ${latencyMs.toFixed(1)} ms`);
    } finally {
      stream.close();
    }
  });

  it('streams the API\'s own changes to every entitled viewer, and to the coordinator', async () => {
    const item = await insertItem({ assignee: null });
    const faure = await openStream(await reader(FAURE));
    const coord = await openStream(await coordinator('ariege'));
    const stranger = await openStream(await reader(BOUSCATEL));
    try {
      const listening = await other.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'astreinte-worklist-listen'",
      );
      expect(listening.rows[0].n).toBe(1); // one LISTEN connection shared by the three streams
      expect((await api('POST', `/worklist/${item}/claim`, await reader(SOULA))).status).toBe(200);
      for (const stream of [faure, coord]) {
        const event = await stream.next(1000);
        expect(event.event).toBe('item-updated');
        expect(JSON.parse(event.data)).toEqual({ type: 'item-updated', itemId: item, pool: 'pdses-ariege', assignee: SOULA, territory: 'ariege', status: 'IN PROGRESS' });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(stranger.received).toEqual([]);
    } finally {
      faure.close();
      coord.close();
      stranger.close();
    }
  });

  it('reopens a lost LISTEN connection and tells the streams to resync', async () => {
    const stream = await openStream(await reader(ROQUES));
    try {
      const killed = await other.query(
        "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = 'astreinte-worklist-listen'",
      );
      expect(killed.rows).toEqual([{ killed: true }]);
      expect((await stream.next(3000)).event).toBe('resync');
      const itemId = randomUUID();
      await notify({ type: 'item-updated', itemId, pool: 'jour-ariege', assignee: null, territory: 'ariege', status: 'SCHEDULED' });
      expect(JSON.parse((await stream.next(1000)).data)).toMatchObject({ itemId });
    } finally {
      stream.close();
    }
  });

  it('ends the streams when the hub closes, so the server can stop', async () => {
    const own = createWorklistNotificationHub(database, pino({ level: 'silent' }));
    let ended = false;
    const unsubscribe = await own.subscribe({ notification() {}, resync() {}, closed: () => (ended = true) });
    await own.close();
    expect(ended).toBe(true);
    unsubscribe();
    await expect(own.subscribe({ notification() {}, resync() {}, closed() {} })).rejects.toMatchObject({ status: 503 });
  });

  it('ends the stream when its token expires, with a last event telling the page to sign in again', async () => {
    const expiresIn = 3;
    const shortLived = await new SignJWT({ role: 'reader', rpps: ROQUES })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
      .setIssuer(EMBEDDED_ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(ROQUES)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn)
      .sign(key.privateKey);
    const opened = performance.now();
    const response = await fetch(`${base}/api/worklist/events`, { headers: { authorization: `Bearer ${shortLived}` } });
    expect(response.status).toBe(200);
    // Before, the stream stayed open (heartbeats every 15 s) long after the token's end.
    const text = await response.text();
    const seconds = (performance.now() - opened) / 1000;
    expect(seconds).toBeLessThan(expiresIn + 2);
    const last = text.trim().split('\n\n').at(-1)!;
    expect(last).toMatch(/^event: session-expired\ndata: /);
    expect(JSON.parse(last.split('data: ')[1])).toMatchObject({ fr: expect.stringMatching(/reconnectez-vous/), en: expect.stringMatching(/sign in again/) });
  }, 15_000);

  it('refuses senders', async () => {
    const response = await fetch(`${base}/api/worklist/events`, { headers: { authorization: `Bearer ${await sender(SAINT_GIRONS)}` } });
    expect(response.status).toBe(403);
    await response.text();
  });
});

// ---------------------------------------------------------------- studies

describe('studies', () => {
  async function decide(study: string, decision: 'routed' | 'held' | 'refused', values: Partial<Record<'code' | 'rule' | 'pool' | 'reader' | 'reason' | 'item', string>>) {
    await database.query(
      `INSERT INTO routing_decision (study_instance_uid, decision, code, rule, pool, reader, reason, decided_at, item_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [study, decision, values.code ?? null, values.rule ?? null, values.pool ?? null, values.reader ?? null, values.reason ?? 'why', clock.now(), values.item ?? null],
    );
  }
  async function activity(study: string, site: string, flags: Record<string, unknown> = {}) {
    await database.query(
      'INSERT INTO study_activity (study_instance_uid, site, last_instance_at, sender_flags) VALUES ($1, $2, $3, $4)',
      [study, site, clock.now(), JSON.stringify(flags)],
    );
  }
  async function event(study: string, itemId: string | null, type: string, minutes: number, detail: Record<string, unknown>) {
    await database.query('INSERT INTO worklist_event (item_id, study_instance_uid, type, actor, at, detail) VALUES ($1, $2, $3, $4, $5, $6)', [
      itemId, study, type, 'system', new Date(clock.now().getTime() + minutes * 60_000), JSON.stringify(detail),
    ]);
  }

  it('explains where a study went, with every hop, to those entitled, and 404 to the others', async () => {
    const study = newStudyUID();
    await activity(study, SAINT_GIRONS);
    const item = await insertItem({ study });
    await decide(study, 'routed', {
      rule: 'neuro-emergency',
      pool: 'pdses-ariege',
      reader: ROQUES,
      reason: 'Head CT from CH Saint-Girons on Sunday night: PDSES Ariège, Dr Roques on call (weekend rota).',
      item,
    });
    await event(study, item, 'routed', 0, { pool: 'pdses-ariege', reader: ROQUES });
    await event(study, item, 'escalated', 30, { hop: 0, step: 'backup', to: [FAURE] });

    const answer = await api('GET', `/studies/${study}/routing`, await coordinator('ariege'));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      studyInstanceUID: study,
      decision: 'routed',
      rule: 'neuro-emergency',
      pool: 'pdses-ariege',
      reader: ROQUES,
      readerName: 'Dr Anne Roques',
      decidedAt: '2026-11-22T02:10:00+01:00',
      item: { id: item, status: 'SCHEDULED' },
    });
    expect(answer.body.hops).toEqual([
      { type: 'routed', at: '2026-11-22T02:10:00+01:00', actor: 'system', itemId: item, detail: { pool: 'pdses-ariege', reader: ROQUES } },
      { type: 'escalated', at: '2026-11-22T02:40:00+01:00', actor: 'system', itemId: item, detail: { hop: 0, step: 'backup', to: [FAURE] } },
    ]);
    expect((await api('GET', `/studies/${study}/routing`, await reader(FAURE))).status).toBe(200);
    expect((await api('GET', `/studies/${study}/routing`, await admin())).status).toBe(200);
    const stranger = await api('GET', `/studies/${study}/routing`, await reader(BOUSCATEL));
    const otherCoordinator = await api('GET', `/studies/${study}/routing`, await coordinator('aveyron'));
    const unknown = await api('GET', '/studies/1.2.3.4.5/routing', await coordinator('ariege'));
    for (const refused of [stranger, otherCoordinator, unknown]) {
      expect(refused.status).toBe(404);
      expect(refused.body.detail.replace(/study [0-9.]+/, 'study X')).toBe(
        'No routing of study X is visible to you: it may not be routed yet, or it was routed to other lists.',
      );
    }
    expect((await api('GET', `/studies/${study}/routing`, await sender(SAINT_GIRONS))).status).toBe(403);
  });

  it('explains a held study (no item) to the coordinator of its site\'s territory only', async () => {
    const study = newStudyUID();
    await activity(study, SAINT_GIRONS);
    await decide(study, 'held', { code: 'patient-objection', reason: 'The patient objects to teleradiology.' });
    await event(study, null, 'held', 0, { code: 'patient-objection' });
    const answer = await api('GET', `/studies/${study}/routing`, await coordinator('ariege'));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ decision: 'held', code: 'patient-objection', item: null, territory: 'ariege' });
    expect((await api('GET', `/studies/${study}/routing`, await reader(ROQUES))).status).toBe(404);
  });

  it('lets the sending site declare its study complete, with flags', async () => {
    const study = newStudyUID();
    await activity(study, SAINT_GIRONS);
    const done = await api('POST', `/studies/${study}/complete`, await sender(SAINT_GIRONS), { priority: 'stroke', expertise: 'neuroradiology' });
    expect(done.status).toBe(202);
    expect(completions).toEqual([{ study, flags: { priority: 'stroke', expertise: 'neuroradiology' } }]);
    const noBody = await api('POST', `/studies/${study}/complete`, await sender(SAINT_GIRONS));
    expect(noBody.status).toBe(202);
    expect(completions[1]).toEqual({ study, flags: {} });

    const otherSite = await api('POST', `/studies/${study}/complete`, await sender(RODEZ));
    const unknown = await api('POST', '/studies/1.2.3.4/complete', await sender(RODEZ));
    expect(otherSite.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail.replace('1.2.3.4', study)).toBe(otherSite.body.detail);
    const badFlag = await api('POST', `/studies/${study}/complete`, await sender(SAINT_GIRONS), { priority: 'asap' });
    expect(badFlag.status).toBe(400);
    expect(badFlag.body.detail).toContain('stroke, urgent, scheduled');
    expect((await api('POST', `/studies/${study}/complete`, await reader(ROQUES))).status).toBe(403);
    expect(completions).toHaveLength(2);

    completionAnswer = { status: 'queued' };
    expect((await api('POST', `/studies/${study}/complete`, await sender(SAINT_GIRONS))).status).toBe(202);
    completionAnswer = {
      status: 'already-decided',
      decision: { studyInstanceUID: study, decision: 'routed', code: null, rule: 'emergency', pool: 'pdses-ariege', reader: ROQUES, reason: 'why', decidedAt: clock.now(), itemId: null },
    };
    const decided = await api('POST', `/studies/${study}/complete`, await sender(SAINT_GIRONS), { priority: 'stroke' });
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({ status: 'already-decided', decision: 'routed' });
    expect(decided.body.pool).toBeUndefined();
    completionAnswer = { status: 'unknown-study' };
    const vanished = await api('POST', `/studies/${study}/complete`, await sender(SAINT_GIRONS));
    expect(vanished.status).toBe(404);
    expect(vanished.body.detail).toBe(otherSite.body.detail);
  });
});

// ---------------------------------------------------------------- oppositions

describe('oppositions', () => {
  async function storeStudy(patientId: string, issuer: string, otherId?: { id: string; issuer: string }): Promise<string> {
    const study = newStudyUID();
    const patient = await database.query<{ pk: string }>(
      'INSERT INTO patient (identity_key, site, patient_id, issuer_of_patient_id) VALUES ($1, $2, $3, $4) RETURNING pk',
      [`${SAINT_GIRONS}|${issuer}|${patientId}|${study}`, SAINT_GIRONS, patientId, issuer],
    );
    const pk = patient.rows[0].pk;
    if (otherId) await database.query('INSERT INTO patient_other_id (patient_pk, patient_id, issuer) VALUES ($1, $2, $3)', [pk, otherId.id, otherId.issuer]);
    await database.query('INSERT INTO study (study_instance_uid, patient_pk, site) VALUES ($1, $2, $3)', [study, pk, SAINT_GIRONS]);
    return study;
  }

  it('records an objection, lifts it, and asks routing to route the held studies again', async () => {
    const ins = '285037512345678';
    const held = await storeStudy('IPP-42', 'CH-STGIRONS', { id: ins, issuer: INS });
    const routed = await storeStudy('IPP-42', 'CH-STGIRONS', { id: ins, issuer: INS });
    await database.query(
      `INSERT INTO routing_decision (study_instance_uid, decision, code, reason, decided_at) VALUES
         ($1, 'held', 'patient-objection', 'objection', $3), ($2, 'routed', NULL, 'routed', $3)`,
      [held, routed, clock.now()],
    );
    await database.query('INSERT INTO study_activity (study_instance_uid, site, last_instance_at, sender_flags) VALUES ($1, $2, $3, $4)', [
      held, SAINT_GIRONS, clock.now(), JSON.stringify({ priority: 'urgent' }),
    ]);

    expect((await api('POST', '/oppositions', await reader(ROQUES), { patientId: ins, issuer: INS })).status).toBe(403);
    expect((await api('POST', '/oppositions', await coordinator('ariege'), { patientId: ins })).status).toBe(400);
    const recorded = await api('POST', '/oppositions', await coordinator('ariege'), { patientId: ins, issuer: INS, reason: 'Refus exprimé le 21/11' });
    expect(recorded.status).toBe(201);
    expect(recorded.body).toMatchObject({ patientId: ins, issuer: INS, recordedAt: '2026-11-22T02:10:00+01:00', alreadyRecorded: false });
    const twice = await api('POST', '/oppositions', await admin(), { patientId: ins, issuer: INS });
    expect(twice.status).toBe(200);
    expect(twice.body.alreadyRecorded).toBe(true);
    const row = await database.query('SELECT recorded_by, reason, lifted_at FROM patient_opposition WHERE patient_id = $1 AND issuer = $2', [ins, INS]);
    expect(row.rows).toEqual([{ recorded_by: 'coord-ariege', reason: 'Refus exprimé le 21/11', lifted_at: null }]);

    clock.advance(60 * 60_000);
    // Recorded by Ariège's coordination: Aveyron's cannot lift it (before, any coordinator could), nor can a
    // coordinator whose token names no territory record one.
    const otherTerritory = await api('POST', '/oppositions/lift', await coordinator('aveyron'), { patientId: ins, issuer: INS });
    expect(otherTerritory.status).toBe(403);
    expect(otherTerritory.body.code).toBe('opposition-other-territory');
    expect(otherTerritory.body.detail).not.toContain(ins);
    expect(completions).toEqual([]);
    expect((await api('POST', '/oppositions', await coordinator(), { patientId: '1', issuer: INS })).status).toBe(403);
    const lifted = await api('POST', '/oppositions/lift', await coordinator('ariege'), { patientId: ins, issuer: INS });
    expect(lifted.status).toBe(200);
    expect(lifted.body).toMatchObject({ liftedAt: '2026-11-22T03:10:00+01:00', heldStudies: [held], reroutingRequested: [held] });
    expect(completions).toEqual([{ study: held, flags: { priority: 'urgent' } }]);
    const again = await api('POST', '/oppositions/lift', await coordinator('ariege'), { patientId: ins, issuer: INS });
    expect(again.status).toBe(404);
    expect(again.body.detail).not.toContain(ins);

    const audit = await database.query<{ type: string; study_instance_uid: string }>(
      "SELECT type, study_instance_uid FROM worklist_event WHERE type LIKE 'opposition-%' ORDER BY id",
    );
    expect(audit.rows.filter((e) => e.study_instance_uid === '').map((e) => e.type)).toEqual(['opposition-recorded', 'opposition-lifted']);
    expect(audit.rows.filter((e) => e.study_instance_uid === held).map((e) => e.type)).toEqual(['opposition-recorded', 'opposition-lifted']);

    // Recorded again after a lift: a new objection, regional when an administrator records it (only an administrator lifts it).
    expect((await api('POST', '/oppositions', await admin(), { patientId: ins, issuer: INS })).status).toBe(201);
    expect((await api('POST', '/oppositions/lift', await coordinator('ariege'), { patientId: ins, issuer: INS })).status).toBe(403);
    expect((await api('POST', '/oppositions/lift', await admin(), { patientId: ins, issuer: INS })).status).toBe(200);
  });
});
