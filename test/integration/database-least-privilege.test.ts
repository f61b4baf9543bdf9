import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditCode } from '../../audit/audit-event.ts';
import { AuditTrail } from '../../audit/audit-trail.ts';
import { verifyAuditChain } from '../../audit/verify-audit-chain.ts';
import { TestClock } from '../../core/time/clock.ts';
import { openDatabase, type Database } from '../../storage/database/database.ts';
import { EMBEDDED_APPLICATION_ROLE } from '../../storage/database/embedded-postgres-server.ts';
import { migrateAll } from '../../storage/database/migration-sources.ts';
import { openQueueStore } from '../../worker/queue/queue-store.ts';
import { freePort } from '../support/free-port.ts';
import { createTestDatabase, startTestPostgres, type TestPostgres } from '../support/postgres.ts';

const TEST_SERVER_SETTINGS = { shared_buffers: '32MB', max_connections: 40, fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };
const ROLES_SCRIPT = new URL('../../scripts/postgres-roles.sql', import.meta.url);
const clock = new TestClock('2026-12-05T18:00:00Z');

/** SQLSTATE 42501: insufficient_privilege (the role may not), as opposed to a trigger's refusal (AUD01). */
async function expectDenied(db: Database, sql: string): Promise<void> {
  await expect(db.query(sql), sql).rejects.toMatchObject({ code: '42501' });
}

/** Every statement that would let the application's own credentials rewrite the audit trail. */
async function expectCannotRewriteAudit(db: Database): Promise<void> {
  await expectDenied(db, 'ALTER TABLE audit_event ADD COLUMN note text');
  await expectDenied(db, 'ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only');
  await expectDenied(db, 'ALTER TABLE audit_event DISABLE TRIGGER ALL');
  await expectDenied(db, 'SET session_replication_role = replica');
  await expectDenied(db, `UPDATE audit_event SET type_code = 'rewritten'`);
  await expectDenied(db, 'DELETE FROM audit_event');
  await expectDenied(db, 'TRUNCATE audit_event');
  await expectDenied(db, 'DELETE FROM audit_head');
  await expectDenied(db, 'DROP TABLE audit_event');
  await expectDenied(db, 'DROP FUNCTION audit_refuse_change() CASCADE');
  await expectDenied(db, `UPDATE signed_report SET signature = ''`);
  await expectDenied(db, 'DELETE FROM signed_report');
  await expectDenied(db, 'TRUNCATE signed_report');
  await expectDenied(db, 'ALTER TABLE signed_report DISABLE TRIGGER signed_report_no_update');
  await expectDenied(db, 'TRUNCATE worklist_item');
  await expectDenied(db, 'CREATE TABLE public.intruder (id int)');
  await expectDenied(db, `DELETE FROM schema_migrations`);
}

async function appendAndVerify(db: Database, count: number): Promise<void> {
  const trail = new AuditTrail(db.pool, { clock, observer: 'least-privilege-test' });
  for (let n = 0; n < count; n++) {
    await trail.record({
      type: AuditCode.instancesAccessed,
      subtype: 'wado-metadata',
      action: 'R',
      actor: { userId: `reader-${n}`, role: 'reader' },
      entities: [{ kind: 'study', studyUid: `1.2.826.0.1.3680043.8.498.${n + 1}` }],
    });
  }
  const report = await verifyAuditChain(db.pool);
  expect(report.ok).toBe(true);
}

describe('least privilege: the embedded server', () => {
  let root: string;
  let db: Database;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'astreinte-privilege-'));
    db = await openDatabase(
      { kind: 'embedded', port: await freePort(), dir: path.join(root, 'postgres') },
      { embeddedServerSettings: TEST_SERVER_SETTINGS, maxConnections: 4 },
    );
    await db.asOwner(migrateAll);
  });
  afterAll(async () => {
    await db?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('connects the application as its own role, no superuser, whose password file is private', async () => {
    expect(db.leastPrivilege).toBe(true);
    const { rows } = await db.query<{ user: string; rolsuper: boolean; owner: string }>(
      `SELECT current_user AS user, r.rolsuper, pg_get_userbyid(c.relowner) AS owner
         FROM pg_roles r, pg_class c WHERE r.rolname = current_user AND c.relname = 'audit_event'`,
    );
    expect(rows[0]).toEqual({ user: EMBEDDED_APPLICATION_ROLE, rolsuper: false, owner: 'astreinte' });
    const file = await stat(path.join(root, 'postgres', 'astreinte-app.password'));
    expect(file.mode & 0o777).toBe(0o600);
  });

  it('appends audit events and verifies the chain with the application role', async () => {
    await appendAndVerify(db, 3);
  });

  it('refuses every statement that would alter, disable or rewrite the audit trail and signed reports', async () => {
    await expectCannotRewriteAudit(db);
  });

  it('runs the PostgreSQL job queue (BullMQ creates a sequence per queue as it first adds a job)', async () => {
    const store = await openQueueStore({ database: db });
    const queue = store.queue('least-privilege-probe');
    let resolveProcessed: (study: string) => void = () => undefined;
    const processed = new Promise<string>((resolve) => (resolveProcessed = resolve));
    const worker = store.worker('least-privilege-probe', async (job) => resolveProcessed(String(job.data.study)), { concurrency: 1 });
    try {
      await queue.add('probe', { study: '1.2.3' });
      expect(await processed).toBe('1.2.3');
      // It may create (sequences) in the queue's schema, not alter or empty what the owner created there.
      await expectDenied(db, 'DROP TABLE bullmq.job');
      await expectDenied(db, 'TRUNCATE bullmq.job');
    } finally {
      await worker.close();
      await queue.close();
      await store.close();
    }
  });

  it('keeps the role and its password across a restart of the server', async () => {
    await db.close();
    db = await openDatabase(
      { kind: 'embedded', port: await freePort(), dir: path.join(root, 'postgres') },
      { embeddedServerSettings: TEST_SERVER_SETTINGS, maxConnections: 4 },
    );
    await db.asOwner(migrateAll);
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM audit_event');
    expect(Number(rows[0]!.n)).toBe(3);
    await appendAndVerify(db, 1);
  });
});

describe('least privilege: an external server set up with scripts/postgres-roles.sql', () => {
  let server: TestPostgres;
  let db: Database;

  beforeAll(async () => {
    server = await startTestPostgres();
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      // The test cluster's own start created astreinte_app for embedded use (unused here): the script creates it.
      await admin.query('DROP ROLE astreinte_app');
      // scripts/postgres-roles.sql as an operator runs it (compose.yaml too), in a database named for the test.
      const database = `privilege_${Date.now()}`;
      const script = (await readFile(ROLES_SCRIPT, 'utf8')).replaceAll('DATABASE astreinte', `DATABASE ${database}`);
      const statements = script.replace(/^--.*$/gm, '').split(';').map((s) => s.trim()).filter(Boolean);
      expect(statements).toHaveLength(5);
      for (const statement of statements) await admin.query(statement);
      const at = new URL(server.url);
      const url = (user: string, password: string) => `postgresql://${user}:${password}@${at.host}/${database}`;
      db = await openDatabase(
        { kind: 'external', url: url('astreinte_app', 'change-me-app'), ownerUrl: url('astreinte_owner', 'change-me-owner') },
        { maxConnections: 4 },
      );
    } finally {
      await admin.end();
    }
    await db.asOwner(migrateAll);
  });
  afterAll(async () => {
    await db?.close();
    await server?.stop();
  });

  it('migrates as DATABASE_OWNER_URL, runs as DATABASE_URL, and the application role cannot rewrite the audit trail', async () => {
    expect(db.leastPrivilege).toBe(true);
    const { rows } = await db.query<{ owner: string }>(`SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = 'audit_event'`);
    expect(rows[0]!.owner).toBe('astreinte_owner');
    await appendAndVerify(db, 2);
    await expectCannotRewriteAudit(db);
  });
});

describe('without DATABASE_OWNER_URL', () => {
  it('migrates with DATABASE_URL and says that least privilege is not in force', async () => {
    const server = await startTestPostgres();
    const events: string[] = [];
    const db = await openDatabase({ kind: 'external', url: await createTestDatabase(server.url) }, { maxConnections: 2, onEvent: (m) => events.push(m) });
    try {
      expect(db.leastPrivilege).toBe(false);
      expect(events.join('\n')).toMatch(/DATABASE_OWNER_URL is not set: migrations run as the role of DATABASE_URL/);
      expect(await db.asOwner(migrateAll)).not.toHaveLength(0);
    } finally {
      await db.close();
      await server.stop();
    }
  });
});
