import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditCode, type AuditEventInput } from '../../audit/audit-event.ts';
import { eventHash, GENESIS_HASH } from '../../audit/audit-hash.ts';
import { migrateAudit } from '../../audit/audit-migrations.ts';
import { AuditTrail, AuditTrailError } from '../../audit/audit-trail.ts';
import { verifyAuditChain } from '../../audit/verify-audit-chain.ts';
import { migrateAll } from '../../storage/database/migration-sources.ts';
import { TestClock } from '../../core/time/clock.ts';
import { createTestDatabase, startTestPostgres, type TestPostgres } from '../support/postgres.ts';

let server: TestPostgres;
const pools: pg.Pool[] = [];

beforeAll(async () => {
  server = await startTestPostgres();
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await server?.stop();
});

async function freshPool(max = 10): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: await createTestDatabase(server.url), max });
  pools.push(pool);
  await migrateAudit(pool);
  return pool;
}

const clock = new TestClock('2026-11-15T02:10:00Z');

function metadataAccess(n: number): AuditEventInput {
  return {
    type: AuditCode.instancesAccessed,
    subtype: 'wado-metadata',
    action: 'R',
    actor: { userId: `reader-${n % 7}`, role: 'reader', rpps: '10001234567', site: '310780770', tokenId: `jti-${n}` },
    network: { address: '10.1.2.3', userAgent: 'OHIF/3.9' },
    entities: [
      { kind: 'patient', patientId: `P${n}`, issuer: '1.2.250.1.213.1.4.8' },
      { kind: 'study', studyUid: `1.2.826.0.1.3680043.8.498.${n}` },
    ],
  };
}

describe('audit trail', () => {
  it('is part of the application migrations (scope audit)', async () => {
    const pool = new pg.Pool({ connectionString: await createTestDatabase(server.url), max: 2 });
    pools.push(pool);
    const applied = await migrateAll(pool);
    expect(applied.filter((m) => m.scope === 'audit').map((m) => m.name)).toEqual(['audit']);
  });

  it('keeps a gapless, linked chain under 1,000 appends from 8 connections, and measures appends/s', async () => {
    const pool = await freshPool(2);
    const url = (pool.options as { connectionString: string }).connectionString;
    const writerPools = Array.from({ length: 8 }, () => new pg.Pool({ connectionString: url, max: 1 }));
    pools.push(...writerPools);
    const trails = writerPools.map((p) => new AuditTrail(p, { clock, observer: 'test' }));
    await Promise.all(trails.map((t) => t.head())); // connections open before timing

    const total = 1000;
    let next = 0;
    const started = performance.now();
    const seqs: number[] = [];
    await Promise.all(
      trails.map(async (trail) => {
        while (next < total) {
          const n = next++;
          seqs.push((await trail.record(metadataAccess(n))).seq);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(`audit append throughput: ${Math.round(total / seconds)} appends/s (8 writers, ${total} appends, test server without fsync)`);

    expect(seqs.sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const { rows } = await pool.query<{ seq: string; prev_hash: string; hash: string; event: unknown }>(
      'SELECT seq, prev_hash, hash, event FROM audit_event ORDER BY seq',
    );
    let prev = GENESIS_HASH;
    for (const row of rows) {
      expect(row.prev_hash).toBe(prev);
      expect(eventHash(Number(row.seq), row.prev_hash, row.event)).toBe(row.hash);
      prev = row.hash;
    }
    const report = await verifyAuditChain(pool, { batchSize: 97 });
    expect(report).toMatchObject({ ok: true, count: total, first: { seq: 1 }, last: { seq: total, hash: prev }, head: { seq: total, hash: prev } });
  });

  it('groups concurrent record() calls of one trail into few statements, still gapless and in call order', async () => {
    const pool = await freshPool(4);
    const trail = new AuditTrail(pool, { clock, observer: 'test' });
    const receipts = await Promise.all(Array.from({ length: 1000 }, (_, n) => trail.record(metadataAccess(n))));
    expect(receipts.map((r) => r.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    const { rows } = await pool.query<{ patient: string }>("SELECT event->'entities'->0->>'patientId' AS patient FROM audit_event ORDER BY seq");
    expect(rows.map((r) => r.patient)).toEqual(Array.from({ length: 1000 }, (_, n) => `P${n}`));
    expect(await verifyAuditChain(pool)).toMatchObject({ ok: true, count: 1000 });
  });

  it('commits recordIn with the caller’s transaction and rolls it back with it', async () => {
    const pool = await freshPool();
    await pool.query('CREATE TABLE claim (item text PRIMARY KEY)');
    const trail = new AuditTrail(pool, { clock, observer: 'test' });
    const claim = (item: string): AuditEventInput => ({
      type: AuditCode.procedureRecord,
      subtype: 'claim',
      action: 'U',
      actor: { userId: 'dr-a', role: 'reader', rpps: '10001234567' },
      entities: [{ kind: 'worklist-item', itemId: item }],
    });

    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("INSERT INTO claim VALUES ('a')");
      const receipt = await trail.recordIn(client, claim('a'));
      expect(receipt.seq).toBe(1);
      // Not visible outside the transaction yet.
      expect((await pool.query('SELECT count(*)::int AS n FROM audit_event')).rows[0].n).toBe(0);
      await client.query('COMMIT');

      await client.query('BEGIN');
      await client.query("INSERT INTO claim VALUES ('b')");
      await trail.recordIn(client, claim('b'));
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    const { rows } = await pool.query<{ seq: string; event: { entities: { itemId: string }[] } }>('SELECT seq, event FROM audit_event');
    expect(rows.map((r) => [Number(r.seq), r.event.entities[0].itemId])).toEqual([[1, 'a']]);
    // The rolled-back append left no gap: the next event is seq 2.
    expect((await trail.record(claim('c'))).seq).toBe(2);
    expect((await verifyAuditChain(pool)).ok).toBe(true);
  });

  it('refuses UPDATE, DELETE and TRUNCATE of events, inserts around audit_append() and moves of the head', async () => {
    const pool = await freshPool();
    const trail = new AuditTrail(pool, { clock, observer: 'test' });
    await trail.record(metadataAccess(1));
    await trail.record(metadataAccess(2));
    const refused = (sql: string) => pool.query(sql).then(() => undefined, (e: { code?: string; message: string }) => e);

    for (const sql of [
      "UPDATE audit_event SET event = jsonb_set(event, '{subtype}', '\"x\"') WHERE seq = 1",
      'DELETE FROM audit_event WHERE seq = 2',
      'TRUNCATE audit_event',
      'UPDATE audit_head SET seq = 1',
      'DELETE FROM audit_head',
      'TRUNCATE audit_head',
    ]) {
      const error = await refused(sql);
      expect(error, sql).toBeDefined();
      expect(error!.code, sql).toBe('AUD01');
    }
    expect((await refused('UPDATE audit_event SET seq = seq WHERE seq = 1'))!.message).toMatch(
      /the audit trail is append-only: UPDATE on audit_event is refused/,
    );
    const forged = await refused(
      `INSERT INTO audit_event (seq, recorded_at, type_code, event, prev_hash, hash)
       VALUES (7, now(), '110103', '{}', repeat('0', 64), repeat('1', 64))`,
    );
    expect(forged!.code).toBe('AUD02');
    expect((await verifyAuditChain(pool)).ok).toBe(true);
    expect(await trail.head()).toMatchObject({ seq: 2 });
  });

  it('hashes identically after the jsonb round trip, whatever the text', async () => {
    const pool = await freshPool();
    const trail = new AuditTrail(pool, { clock, observer: 'hôte-ß' });
    const weird = ['Éloïse « guillemets »', 'emoji 🩻 and \u{1F9E0}', 'quote " backslash \\ slash /', 'tab\tnew\nline\r', '\u0001\u001f\u007f\u2028\u2029', 'nul\u0000gone', 'lone \ud800 surrogate', '{"key": 1}', 'ß'.repeat(300)];
    for (const [i, text] of weird.entries()) {
      await trail.record({
        type: AuditCode.query,
        subtype: 'qido',
        action: 'E',
        outcomeDescription: text,
        actor: { userId: text.slice(0, 200), role: 'reader' },
        entities: [{ kind: 'query', query: `/dicomweb/studies?AccessionNumber=${text}`, level: 'studies' }, { kind: 'record', recordType: 'note', id: String(i), description: text }],
      });
    }
    expect(await verifyAuditChain(pool)).toMatchObject({ ok: true, count: weird.length });
  });

  it('says the migrations are missing instead of failing obscurely', async () => {
    const pool = new pg.Pool({ connectionString: await createTestDatabase(server.url), max: 1 });
    pools.push(pool);
    const error = await new AuditTrail(pool).record(metadataAccess(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditTrailError);
    expect((error as Error).message).toMatch(/audit trail tables are missing/);
    expect((error as Error).message).not.toMatch(/P1|1\.2\.826/);
  });
});
