import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Readable } from 'node:stream';
import express, { type NextFunction, type Request, type Response } from 'express';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../audit/audit-event.ts';
import { migrateAudit } from '../../audit/audit-migrations.ts';
import {
  createRequestAuditor,
  describeAuthenticationFailure,
  markAuditRecorded,
  noteAudit,
  type AuditDescribe,
  type RequestAuditor,
} from '../../gateway/account/audit-middleware.ts';
import { AuditTrail } from '../../audit/audit-trail.ts';
import { verifyAuditChain } from '../../audit/verify-audit-chain.ts';
import { authenticate } from '../../gateway/auth/authenticate.ts';
import type { Principal } from '../../core/identity/roles.ts';
import type { TokenVerifier } from '../../gateway/auth/token-verifier.ts';
import { HttpProblem } from '../../gateway/http/problem.ts';
import { createTestDatabase, startTestPostgres, type TestPostgres } from '../support/postgres.ts';

let server: TestPostgres;
const pools: pg.Pool[] = [];
let http: Server | undefined;

beforeAll(async () => {
  server = await startTestPostgres();
});
afterEach(async () => {
  http?.closeAllConnections();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  http = undefined;
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await server?.stop();
});

const reader: Principal = { userId: 'dr-a', role: 'reader', rpps: '10001234567', site: '310780770', tokenId: 'jti-1' };
const STUDY = '1.2.826.0.1.3680043.8.498.77';

/** A token verifier for tests: the token text names the principal. */
const verifier: TokenVerifier = {
  verify: async (token: string) => {
    if (token === 'reader-token') return reader;
    throw new HttpProblem(401, 'The token is not valid.', 'token-invalid');
  },
} as TokenVerifier;

const describeMetadata: AuditDescribe = (_req, _res, { params }) => ({
  type: '110103',
  subtype: 'wado-metadata',
  action: 'R',
  entities: [{ kind: 'study', studyUid: String(params.study) }],
});

interface Harness {
  url: string;
  pool: pg.Pool;
  auditor: RequestAuditor;
  trail: AuditTrail;
  logged: { fields: Record<string, unknown>; message: string }[];
  failures: number;
  events(): Promise<AuditEvent[]>;
}

async function harness(options: { migrated?: boolean; databaseDown?: boolean } = {}): Promise<Harness> {
  // Port 9 (discard) refuses connections: PostgreSQL down.
  const connectionString = options.databaseDown ? 'postgres://astreinte@127.0.0.1:9/astreinte' : await createTestDatabase(server.url);
  const pool = new pg.Pool({ connectionString, max: 4, connectionTimeoutMillis: 2000 });
  pools.push(pool);
  if (options.migrated !== false && !options.databaseDown) await migrateAudit(pool);
  const trail = new AuditTrail(pool, { observer: 'gw-test' });
  const logged: Harness['logged'] = [];
  let failures = 0;
  const auditor = createRequestAuditor(trail, {
    log: { error: (fields, message) => logged.push({ fields, message }) },
    onFailure: () => {
      failures += 1;
    },
  });

  const app = express();
  app.set('trust proxy', true);
  app.use(auditor.audit(describeAuthenticationFailure));
  app.use(authenticate(verifier));
  const dicomweb = express.Router();
  dicomweb.get('/studies/:study/metadata', auditor.audit(describeMetadata), (req, res) => {
    if (req.params.study === '1.2.3.500') throw new Error('index exploded');
    if (req.params.study === '1.2.3.404') throw new HttpProblem(404, 'No such study.');
    res.json([{ '0020000D': { vr: 'UI', Value: [req.params.study] } }]);
  });
  dicomweb.get('/studies/:study/slow', auditor.audit(describeMetadata), (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(64 * 1024));
    // never ends: the client goes away
  });
  dicomweb.post('/studies', auditor.audit(() => ({ type: '110104', subtype: 'stow', action: 'C' })), (_req, res) => {
    noteAudit(res, { entities: [{ kind: 'patient', patientId: 'IPP42', issuer: 'CHU-T' }, { kind: 'study', studyUid: STUDY, instanceCount: 2 }] });
    noteAudit(res, { outcome: 4, outcomeDescription: '1 of 2 instances refused' });
    res.status(202).json({});
  });
  dicomweb.post('/items/:item/claim', auditor.audit(() => ({ type: '110111', subtype: 'claim', action: 'U' })), async (req, res) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await trail.recordIn(client, {
        type: '110111',
        subtype: 'claim',
        action: 'U',
        actor: { userId: reader.userId, role: reader.role },
        entities: [{ kind: 'worklist-item', itemId: String(req.params.item) }],
      });
      await client.query('COMMIT');
      markAuditRecorded(res);
      res.json({ claimed: true });
    } finally {
      client.release();
    }
  });
  // Streamed like a WADO-RS multipart answer: a part, a pause, another part.
  dicomweb.get('/studies/:study/stream', auditor.audit(describeMetadata), (_req, res) => {
    res.writeHead(200, { 'content-type': 'multipart/related; type="application/octet-stream"; boundary=b' });
    async function* parts() {
      yield Buffer.from('--b\r\n\r\nPATIENT-PIXELS-1\r\n');
      await new Promise((r) => setTimeout(r, 20));
      yield Buffer.from('--b\r\n\r\nPATIENT-PIXELS-2\r\n--b--');
    }
    Readable.from(parts()).pipe(res);
  });
  // A STOW of many one-instance studies: a study and a patient per instance.
  dicomweb.post('/studies/many/:count', auditor.audit(() => ({ type: '110104', subtype: 'stow', action: 'C' })), (req, res) => {
    const count = Number(req.params.count);
    noteAudit(res, {
      entities: Array.from({ length: count }, (_, i) => [
        { kind: 'study' as const, studyUid: `1.2.3.${i}`, instanceCount: 1 },
        { kind: 'patient' as const, patientId: `IPP${i}`, issuer: 'CHU-T' },
      ]).flat(),
    });
    res.json({ stored: count });
  });
  dicomweb.post('/studies/long-patient-id', auditor.audit(() => ({ type: '110104', subtype: 'stow', action: 'C' })), (_req, res) => {
    noteAudit(res, { entities: [{ kind: 'patient', patientId: 'P'.repeat(70), issuer: 'CHU-T' }, { kind: 'study', studyUid: STUDY, instanceCount: 1 }] });
    res.json({ stored: 1 });
  });
  dicomweb.get('/describer-throws', auditor.audit(() => {
    throw new Error('bug in a describer');
  }), (_req, res) => {
    res.json({});
  });
  app.use('/dicomweb', dicomweb);
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = error instanceof HttpProblem ? error.status : 500;
    res.status(status).json({ status });
  });

  http = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => http!.once('listening', resolve));
  const url = `http://127.0.0.1:${(http!.address() as AddressInfo).port}`;
  return {
    url,
    pool,
    auditor,
    trail,
    logged,
    get failures() {
      return failures;
    },
    async events() {
      await auditor.drain();
      const { rows } = await pool.query<{ event: AuditEvent }>('SELECT event FROM audit_event ORDER BY seq');
      return rows.map((r) => r.event);
    },
  };
}

const auth = { authorization: 'Bearer reader-token', 'user-agent': 'OHIF/3.9' };

describe('audit middleware', () => {
  it('records one event per request after the response, with who, from where, what and the outcome', async () => {
    const h = await harness();
    const response = await fetch(`${h.url}/dicomweb/studies/${STUDY}/metadata`, { headers: auth });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    const [event] = await h.events();
    expect(event).toMatchObject({
      type: '110103',
      subtype: 'wado-metadata',
      action: 'R',
      outcome: 0,
      observer: 'gw-test',
      actor: { userId: 'dr-a', role: 'reader', rpps: '10001234567', site: '310780770', tokenId: 'jti-1' },
      network: { address: expect.stringMatching(/127\.0\.0\.1$/), userAgent: 'OHIF/3.9' },
      entities: [{ kind: 'study', studyUid: STUDY }],
    });
    expect(event.outcomeDescription).toBeUndefined();
    expect(h.auditor.stats).toEqual({ recorded: 1, failed: 0, pending: 0, refused: 0 });
  });

  it('derives failures from the status, with the route parameters of a request that left the router on an error', async () => {
    const h = await harness();
    expect((await fetch(`${h.url}/dicomweb/studies/1.2.3.404/metadata`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${h.url}/dicomweb/studies/1.2.3.500/metadata`, { headers: auth })).status).toBe(500);
    const events = await h.events();
    expect(events.map((e) => [e.outcome, e.outcomeDescription, e.entities])).toEqual([
      [4, 'HTTP 404', [{ kind: 'study', studyUid: '1.2.3.404' }]],
      [8, 'HTTP 500', [{ kind: 'study', studyUid: '1.2.3.500' }]],
    ]);
  });

  it('adds what the handler noted, keeping the worse outcome', async () => {
    const h = await harness();
    expect((await fetch(`${h.url}/dicomweb/studies`, { method: 'POST', headers: auth })).status).toBe(202);
    const [event] = await h.events();
    expect(event).toMatchObject({
      type: '110104',
      subtype: 'stow',
      outcome: 4,
      outcomeDescription: '1 of 2 instances refused',
      entities: [
        { kind: 'patient', patientId: 'IPP42', issuer: 'CHU-T' },
        { kind: 'study', studyUid: STUDY, instanceCount: 2 },
      ],
    });
  });

  it('records nothing more for a request whose handler recorded its event in its transaction', async () => {
    const h = await harness();
    expect((await fetch(`${h.url}/dicomweb/items/0b6a7a52-7c43-4b7e-9d3b-2f4f8a4c6d10/claim`, { method: 'POST', headers: auth })).status).toBe(200);
    const events = await h.events();
    expect(events).toHaveLength(1);
    expect(events[0].entities).toEqual([{ kind: 'worklist-item', itemId: '0b6a7a52-7c43-4b7e-9d3b-2f4f8a4c6d10' }]);
  });

  it('records refused tokens on patient routes as User Authentication (110114) failures, one event per address and window with the count', async () => {
    const h = await harness();
    expect((await fetch(`${h.url}/dicomweb/studies/${STUDY}/metadata`, { headers: { authorization: 'Bearer forged' } })).status).toBe(401);
    for (let i = 0; i < 49; i += 1) expect((await fetch(`${h.url}/dicomweb/studies/${STUDY}/metadata`)).status).toBe(401);
    const events = await h.events();
    expect(events.map((e) => [e.type, e.subtype, e.action, e.outcome, e.actor.userId])).toEqual([['110114', 'authentication-failed', 'E', 4, 'anonymous']]);
    expect(events[0].outcomeDescription).toMatch(/^50 request\(s\) refused from this address \(HTTP 401/);
    expect(events[0].network?.address).toMatch(/127\.0\.0\.1$/);
    expect(events[0].entities).toEqual([{ kind: 'record', recordType: 'authentication-failures', id: events[0].network?.address, description: 'count=50' }]);
    expect(JSON.stringify(events)).not.toContain(STUDY);
  });

  it('records a response cut short by the client as a minor failure', async () => {
    const h = await harness();
    const controller = new AbortController();
    const response = await fetch(`${h.url}/dicomweb/studies/${STUDY}/slow`, { headers: auth, signal: controller.signal });
    const body = response.body!.getReader();
    await body.read();
    controller.abort();
    await body.read().catch(() => undefined);
    for (let i = 0; i < 100 && h.auditor.stats.recorded < 2; i += 1) {
      await h.auditor.drain();
      await new Promise((r) => setTimeout(r, 20));
    }
    const events = await h.events();
    // Recorded before the first byte as a success, then the cut as a second event.
    expect(events.map((e) => e.outcome)).toEqual([0, 4]);
    expect(events[1]).toMatchObject({
      type: '110103',
      entities: [{ kind: 'study', studyUid: STUDY }],
      outcome: 4,
      outcomeDescription: 'the client disconnected before the whole response was sent (HTTP 200)',
    });
  });

  it('serves no patient data whose access could not be recorded: 503 with Retry-After, logged without patient data and counted', async () => {
    const h = await harness({ migrated: false });
    const response = await fetch(`${h.url}/dicomweb/studies/${STUDY}/metadata`, { headers: auth });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('30');
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = await response.text();
    expect(problem).not.toContain(STUDY);
    expect(JSON.parse(problem)).toMatchObject({ status: 503, code: 'audit-unavailable', detail: expect.stringContaining("journal d'audit") });
    expect((await fetch(`${h.url}/dicomweb/describer-throws`, { headers: auth })).status).toBe(503);
    await h.auditor.drain();
    expect(h.auditor.stats).toEqual({ recorded: 0, failed: 2, pending: 0, refused: 2 });
    expect(h.failures).toBe(2);
    expect(h.logged.map((l) => l.message)).toEqual(['audit event not recorded', 'audit event not recorded']);
    const appendFailure = h.logged.find((l) => l.fields.type !== undefined);
    expect(appendFailure?.fields).toMatchObject({ component: 'audit', type: '110103', subtype: 'wado-metadata', status: 200, error: { sqlState: '42883' } });
    expect(h.logged.find((l) => l.fields.type === undefined)?.fields).toMatchObject({ component: 'audit', status: 200, error: { name: 'Error' } });
    await expect(h.auditor.checkAppending()).rejects.toThrow();
    await migrateAudit(h.pool);
    await h.auditor.checkAppending();
    await h.auditor.checkAppending();
    expect((await h.events()).map((e) => [e.type, e.subtype])).toEqual([['110100', 'audit-resumed']]);
    const text = JSON.stringify(h.logged);
    expect(text).not.toContain(STUDY);
    expect(text).not.toContain('dr-a');
    expect(text).not.toContain('10001234567');
  });

  it('keeps the chain intact under many concurrent requests', async () => {
    const h = await harness();
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, n) => fetch(`${h.url}/dicomweb/studies/1.2.3.${n + 1000}/metadata`, { headers: auth }).then((r) => r.arrayBuffer().then(() => r.status))),
    );
    expect(new Set(responses)).toEqual(new Set([200]));
    expect(await h.events()).toHaveLength(200);
    expect(await verifyAuditChain(h.pool)).toMatchObject({ ok: true, count: 200 });
  });

  it('never drops an event for an over-long value: a 70-character Patient ID or X-Forwarded-For is cut and marked', async () => {
    const h = await harness();
    const stow = await fetch(`${h.url}/dicomweb/studies/long-patient-id`, { method: 'POST', headers: auth });
    expect(stow.status).toBe(200);
    const forwarded = `2001:db8:${'a'.repeat(60)}`;
    const read = await fetch(`${h.url}/dicomweb/studies/${STUDY}/metadata`, { headers: { ...auth, 'x-forwarded-for': forwarded } });
    expect(read.status).toBe(200);
    await read.arrayBuffer();
    const events = await h.events();
    expect(events).toHaveLength(2);
    expect(events[0].entities[0]).toEqual({ kind: 'patient', patientId: 'P'.repeat(64), issuer: 'CHU-T' });
    expect(events[0].truncated).toEqual(['entities[0].patientId']);
    expect(events[1].network?.address).toBe(forwarded.slice(0, 64));
    expect(events[1].truncated).toEqual(['network.address']);
    expect(await verifyAuditChain(h.pool)).toMatchObject({ ok: true, count: 2 });
  });

  it('never drops an event for its size: a STOW of 110 one-instance studies (220 entities) is recorded whole, in numbered parts', async () => {
    const h = await harness();
    const response = await fetch(`${h.url}/dicomweb/studies/many/110`, { method: 'POST', headers: auth });
    expect(response.status).toBe(200);
    const events = await h.events();
    expect(events.map((e) => [e.subtype, e.part, e.entities.length])).toEqual([
      ['stow', { index: 1, count: 2 }, 200],
      ['stow', { index: 2, count: 2 }, 20],
    ]);
    const studies = events.flatMap((e) => e.entities).filter((e) => e.kind === 'study');
    expect(studies).toHaveLength(110);
    expect(await verifyAuditChain(h.pool)).toMatchObject({ ok: true, count: 2 });
  });

  it('makes the event of a streamed answer durable before its first byte', async () => {
    const h = await harness();
    let appendedBeforeFirstByte = false;
    const response = await fetch(`${h.url}/dicomweb/studies/${STUDY}/stream`, { headers: auth });
    expect(response.status).toBe(200);
    // Headers arrived: the event is already committed (another connection sees it).
    const { rows } = await h.pool.query<{ n: string }>('SELECT count(*) AS n FROM audit_event');
    appendedBeforeFirstByte = Number(rows[0].n) === 1;
    const body = await response.text();
    expect(body).toContain('PATIENT-PIXELS-1');
    expect(body).toContain('PATIENT-PIXELS-2');
    expect(appendedBeforeFirstByte).toBe(true);
    expect((await h.events()).map((e) => [e.type, e.outcome])).toEqual([['110103', 0]]);
  });

  it('with PostgreSQL down, serves no patient data, streamed or not: 503 with Retry-After, and readiness fails', async () => {
    const h = await harness({ databaseDown: true });
    for (const path of [`/dicomweb/studies/${STUDY}/stream`, `/dicomweb/studies/${STUDY}/metadata`]) {
      const response = await fetch(`${h.url}${path}`, { headers: auth });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('30');
      const body = await response.text();
      expect(body).not.toContain('PATIENT-PIXELS');
      expect(body).not.toContain(STUDY);
    }
    await h.auditor.drain();
    expect(h.auditor.stats).toMatchObject({ recorded: 0, refused: 2 });
    await expect(h.auditor.checkAppending()).rejects.toThrow();
  });
});
