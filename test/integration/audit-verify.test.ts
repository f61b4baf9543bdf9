import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditCode, type AuditEvent, type AuditEventInput } from '../../audit/audit-event.ts';
import { eventHash } from '../../audit/audit-hash.ts';
import { migrateAudit } from '../../audit/audit-migrations.ts';
import { AuditTrail } from '../../audit/audit-trail.ts';
import { verifyAuditChain } from '../../audit/verify-audit-chain.ts';
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

const EVENTS = 20;

function access(n: number): AuditEventInput {
  return {
    type: n % 3 === 0 ? AuditCode.query : AuditCode.instancesAccessed,
    subtype: n % 3 === 0 ? 'qido' : 'wado-metadata',
    action: n % 3 === 0 ? 'E' : 'R',
    actor: { userId: `reader-${n}`, role: 'reader', rpps: '10001234567' },
    entities: [{ kind: 'study', studyUid: `1.2.826.0.1.3680043.8.498.${n}` }],
  };
}

/** A fresh database holding a trail of EVENTS events, one second apart. */
async function trailOf(count = EVENTS): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: await createTestDatabase(server.url), max: 3 });
  pools.push(pool);
  await migrateAudit(pool);
  const clock = new TestClock('2026-11-15T01:00:00Z');
  const trail = new AuditTrail(pool, { clock, observer: 'test' });
  for (let n = 1; n <= count; n += 1) {
    await trail.record(access(n));
    clock.advance(1000);
  }
  return pool;
}

/** What a superuser can do: run statements with every trigger off (session_replication_role = replica). */
async function tamper(pool: pg.Pool, ...statements: [string, unknown[]?][]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    for (const [sql, values] of statements) await client.query(sql, values);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

async function row(pool: pg.Pool, seq: number): Promise<{ event: AuditEvent; prev_hash: string; hash: string }> {
  const { rows } = await pool.query('SELECT event, prev_hash, hash FROM audit_event WHERE seq = $1', [seq]);
  return rows[0];
}

describe('audit verify', () => {
  it('passes an intact chain and an empty one', async () => {
    expect(await verifyAuditChain(await trailOf())).toMatchObject({
      ok: true,
      count: EVENTS,
      first: { seq: 1, recorded: '2026-11-15T01:00:00.000Z' },
      last: { seq: EVENTS, recorded: '2026-11-15T01:00:19.000Z' },
    });
    expect(await verifyAuditChain(await trailOf(0))).toMatchObject({ ok: true, count: 0, head: { seq: 0 } });
  });

  it('names an event edited after its trigger was disabled (ALTER TABLE ... DISABLE TRIGGER)', async () => {
    const pool = await trailOf();
    await pool.query('ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only');
    await pool.query(`UPDATE audit_event SET event = jsonb_set(event, '{actor,userId}', '"someone-else"') WHERE seq = 7`);
    await pool.query('ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only');
    const report = await verifyAuditChain(pool);
    expect(report).toMatchObject({ ok: false, count: 6, last: { seq: 6 }, break: { seq: 7, kind: 'edited' } });
    expect(report.break!.message).toBe("seq 7: the event's content does not match its hash (the event or its hash was edited)");
  });

  it('names an edited column outside the hashed event (recorded_at)', async () => {
    const pool = await trailOf();
    await tamper(pool, ["UPDATE audit_event SET recorded_at = recorded_at - interval '1 hour' WHERE seq = 4"]);
    expect((await verifyAuditChain(pool)).break).toMatchObject({ seq: 4, kind: 'edited', message: expect.stringMatching(/recorded_at/) });
  });

  it('names the first deleted event, alone or a range', async () => {
    const one = await trailOf();
    await tamper(one, ['DELETE FROM audit_event WHERE seq = 5']);
    expect((await verifyAuditChain(one)).break).toEqual({
      seq: 5,
      kind: 'deleted',
      message: 'seq 5: event 5 is missing, the chain jumps from seq 4 to seq 6 (deleted events)',
    });
    const range = await trailOf();
    await tamper(range, ['DELETE FROM audit_event WHERE seq BETWEEN 5 AND 8']);
    expect((await verifyAuditChain(range)).break).toMatchObject({ seq: 5, kind: 'deleted', message: expect.stringMatching(/events 5\.\.8 are missing/) });
  });

  it('notices events deleted at the end (the head remembers the last seq)', async () => {
    const pool = await trailOf();
    await tamper(pool, [`DELETE FROM audit_event WHERE seq > ${EVENTS - 2}`]);
    const report = await verifyAuditChain(pool);
    expect(report.break).toMatchObject({ seq: EVENTS - 1, kind: 'deleted' });
    expect(report.break!.message).toMatch(/the trail ends at seq 18 but its head records seq 20/);
  });

  it('notices a truncated table (TRUNCATE with the trigger disabled)', async () => {
    const pool = await trailOf();
    await tamper(pool, ['ALTER TABLE audit_event DISABLE TRIGGER USER'], ['TRUNCATE audit_event'], ['ALTER TABLE audit_event ENABLE TRIGGER USER']);
    expect((await verifyAuditChain(pool)).break).toMatchObject({ seq: 1, kind: 'deleted' });
  });

  it('names two swapped events as reordered', async () => {
    const pool = await trailOf();
    await tamper(
      pool,
      ['UPDATE audit_event SET seq = 1000 WHERE seq = 10'],
      ['UPDATE audit_event SET seq = 10 WHERE seq = 11'],
      ['UPDATE audit_event SET seq = 11 WHERE seq = 1000'],
    );
    expect((await verifyAuditChain(pool)).break).toEqual({
      seq: 10,
      kind: 'reordered',
      message: 'seq 10: this event was written as seq 11 (events reordered)',
    });
  });

  it('names a forged hash', async () => {
    const pool = await trailOf();
    await tamper(pool, ["UPDATE audit_event SET hash = repeat('ab', 32) WHERE seq = 12"]);
    expect((await verifyAuditChain(pool)).break).toMatchObject({ seq: 12, kind: 'edited' });
  });

  it('names the broken link after an event rewritten with a recomputed hash', async () => {
    const pool = await trailOf();
    const original = await row(pool, 13);
    const forged = { ...original.event, actor: { ...original.event.actor, userId: 'nobody' } };
    await tamper(pool, ['UPDATE audit_event SET event = $1, hash = $2 WHERE seq = 13', [forged, eventHash(13, original.prev_hash, forged)]]);
    const report = await verifyAuditChain(pool);
    expect(report.break).toMatchObject({ seq: 14, kind: 'broken-link' });
    expect(report.break!.message).toMatch(/prev_hash is not the hash of seq 13/);
  });

  it('needs an anchor to notice a chain rewritten consistently up to its head, and names the event then', async () => {
    const pool = await trailOf();
    const anchor = { seq: 15, hash: (await row(pool, 15)).hash };
    // Rewrite seq 13 and recompute every hash after it, and the head: self-consistent.
    const statements: [string, unknown[]][] = [];
    let prev = (await row(pool, 12)).hash;
    for (let seq = 13; seq <= EVENTS; seq += 1) {
      const { event } = await row(pool, seq);
      const changed = seq === 13 ? { ...event, outcome: 0 as const, subtype: 'rewritten' } : event;
      const hash = eventHash(seq, prev, changed);
      statements.push(['UPDATE audit_event SET event = $1, prev_hash = $2, hash = $3 WHERE seq = $4', [changed, prev, hash, seq]]);
      prev = hash;
    }
    statements.push(['UPDATE audit_head SET hash = $1', [prev]]);
    await tamper(pool, ...statements);
    expect((await verifyAuditChain(pool)).ok).toBe(true);
    expect((await verifyAuditChain(pool, { anchors: [anchor] })).break).toMatchObject({ seq: 15, kind: 'anchor-mismatch' });
    expect((await verifyAuditChain(pool, { anchors: [{ seq: 30, hash: anchor.hash }] })).break).toMatchObject({ seq: 21, kind: 'deleted' });
  });

  it('notices a head moved back', async () => {
    const pool = await trailOf();
    await tamper(pool, ['UPDATE audit_head SET seq = 18, hash = (SELECT hash FROM audit_event WHERE seq = 18)']);
    expect((await verifyAuditChain(pool)).break).toMatchObject({ seq: 19, kind: 'head-mismatch' });
  });

  it('verifies from a seq on, trusting the event before it', async () => {
    const pool = await trailOf();
    await tamper(pool, [`UPDATE audit_event SET event = jsonb_set(event, '{subtype}', '"x"') WHERE seq = 3`]);
    expect((await verifyAuditChain(pool)).break).toMatchObject({ seq: 3 });
    expect(await verifyAuditChain(pool, { from: 10, batchSize: 4 })).toMatchObject({ ok: true, count: 11, first: { seq: 10 }, last: { seq: 20 } });
    expect(await verifyAuditChain(pool, { from: 21 })).toMatchObject({ ok: true, count: 0 });
    await expect(verifyAuditChain(pool, { from: 22 })).rejects.toThrow(/no event at seq 22: the trail ends at seq 20/);
    await tamper(pool, ['DELETE FROM audit_event WHERE seq = 9']);
    expect((await verifyAuditChain(pool, { from: 10 })).break).toMatchObject({ seq: 9, kind: 'deleted' });
  });

  it('keeps appending after tampering, and verify still names the first broken event', async () => {
    const pool = await trailOf();
    await tamper(pool, ['DELETE FROM audit_event WHERE seq = 20']);
    await new AuditTrail(pool, { observer: 'test' }).record(access(99));
    expect((await verifyAuditChain(pool)).break).toMatchObject({ seq: 20, kind: 'deleted' });
  });
});
