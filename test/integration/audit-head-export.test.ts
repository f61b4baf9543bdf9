import dgram from 'node:dgram';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditCode } from '../../audit/audit-event.ts';
import { eventHash } from '../../audit/audit-hash.ts';
import { migrateAudit } from '../../audit/audit-migrations.ts';
import { startAuditHeadExport, type ExportedAuditHead } from '../../audit/audit-head-export.ts';
import { AuditTrail } from '../../audit/audit-trail.ts';
import { runAuditCommand } from '../../cli/commands/audit.ts';
import type { AuditHeadSink } from '../../config/settings.ts';
import { TestClock } from '../../core/time/clock.ts';
import { freePort } from '../support/free-port.ts';
import { createTestDatabase, startTestPostgres, type TestPostgres } from '../support/postgres.ts';

let server: TestPostgres;
let tmp: string;
const pools: pg.Pool[] = [];

beforeAll(async () => {
  server = await startTestPostgres();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'astreinte-audit-head-'));
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await server?.stop();
  await rm(tmp, { recursive: true, force: true });
});

/** A database whose trail holds `count` events; the pool is the owner's (the test cluster's superuser). */
async function trailDatabase(count: number): Promise<{ url: string; pool: pg.Pool; trail: AuditTrail }> {
  const url = await createTestDatabase(server.url);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pools.push(pool);
  await migrateAudit(pool);
  const trail = new AuditTrail(pool, { clock: new TestClock('2026-12-05T01:00:00Z'), observer: 'head-export-test' });
  for (let n = 1; n <= count; n++) await record(trail, n);
  return { url, pool, trail };
}

function record(trail: AuditTrail, n: number) {
  return trail.record({
    type: AuditCode.instancesAccessed,
    subtype: 'wado-metadata',
    action: 'R',
    actor: { userId: `reader-${n}`, role: 'reader' },
    entities: [{ kind: 'study', studyUid: `1.2.826.0.1.3680043.8.498.${n}` }],
  });
}

async function head(pool: pg.Pool): Promise<{ seq: number; hash: string }> {
  const { rows } = await pool.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_head');
  return { seq: Number(rows[0]!.seq), hash: rows[0]!.hash };
}

/**
 * What the owner role (or a superuser) can do: triggers off, event `seq` edited, every hash after it and the
 * head recomputed, so that the chain in the database verifies on its own.
 */
async function rewriteFrom(pool: pg.Pool, seq: number): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    const { rows } = await client.query<{ seq: string; event: Record<string, unknown>; prev_hash: string }>(
      'SELECT seq, event, prev_hash FROM audit_event WHERE seq >= $1 ORDER BY seq',
      [seq],
    );
    let prev = rows[0]!.prev_hash;
    for (const row of rows) {
      const event = Number(row.seq) === seq ? { ...row.event, actor: { userId: 'someone-else', role: 'reader' } } : row.event;
      const hash = eventHash(Number(row.seq), prev, event);
      await client.query('UPDATE audit_event SET event = $2, prev_hash = $3, hash = $4 WHERE seq = $1', [row.seq, event, prev, hash]);
      prev = hash;
    }
    await client.query('UPDATE audit_head SET hash = $1', [prev]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

async function verify(env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } };
  const code = await runAuditCommand(['verify'], { ASTREINTE_DATA_DIR: tmp, ...env }, io);
  return { code, stdout, stderr };
}

describe('audit head export to a file, and audit verify against it', () => {
  it('appends one fsynced JSON line (0600) per head that moved, none when it did not', async () => {
    const { pool, trail } = await trailDatabase(3);
    const file = path.join(tmp, 'moves', 'head.jsonl');
    const exporter = startAuditHeadExport(pool, { sink: { kind: 'file', path: file }, intervalMs: 3_600_000, onError: (e) => { throw e; } });
    await exporter.exportNow();
    await exporter.exportNow();
    await record(trail, 4);
    await exporter.stop();
    const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as ExportedAuditHead);
    expect(lines.map((l) => l.seq)).toEqual([3, 4]);
    expect(lines[1]).toMatchObject({ type: 'astreinte-audit-head', ...(await head(pool)), host: os.hostname() });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('detects a chain rewritten by the owner with every hash recomputed, citing the exported head', async () => {
    const { url, pool } = await trailDatabase(6);
    const file = path.join(tmp, 'rewrite', 'head.jsonl');
    const exporter = startAuditHeadExport(pool, { sink: { kind: 'file', path: file }, intervalMs: 3_600_000, onError: (e) => { throw e; } });
    const exported = (await exporter.exportNow(true))!;
    await exporter.stop();

    const intact = await verify({ DATABASE_URL: url, ASTREINTE_AUDIT_HEAD_EXPORT: file });
    expect(intact.code).toBe(0);
    expect(intact.stdout).toContain(`checked against the head exported to ${file} at ${exported.exported}: seq 6, hash ${exported.hash}`);

    await rewriteFrom(pool, 3);
    // The database alone cannot tell: the rewritten chain verifies without the exported head.
    const alone = await verify({ DATABASE_URL: url, ASTREINTE_AUDIT_HEAD_EXPORT: 'off' });
    expect(alone.code).toBe(0);

    const checked = await verify({ DATABASE_URL: url, ASTREINTE_AUDIT_HEAD_EXPORT: file });
    expect(checked.code).toBe(1);
    expect(checked.stderr).toMatch(/audit trail BROKEN at seq 6 \(anchor-mismatch\)/);
    expect(checked.stderr).toContain(`checked against the head exported to ${file} at ${exported.exported}: seq 6, hash ${exported.hash}`);
  });

  it('detects events cut off the end with the head moved back', async () => {
    const { url, pool } = await trailDatabase(5);
    const file = path.join(tmp, 'cut', 'head.jsonl');
    const exporter = startAuditHeadExport(pool, { sink: { kind: 'file', path: file }, intervalMs: 3_600_000, onError: (e) => { throw e; } });
    await exporter.stop();
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL session_replication_role = replica');
      await client.query('DELETE FROM audit_event WHERE seq > 3');
      await client.query('UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit_event WHERE seq = 3)');
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const checked = await verify({ DATABASE_URL: url, ASTREINTE_AUDIT_HEAD_EXPORT: file });
    expect(checked.code).toBe(1);
    expect(checked.stderr).toMatch(/BROKEN at seq 4 \(deleted\): the trail ends at seq 3 but the anchor you gave names seq 5/);
    expect(checked.stderr).toContain(`checked against the head exported to ${file}`);
  });
});

describe('audit head export to syslog and HTTP', () => {
  let pool: pg.Pool;
  beforeAll(async () => {
    ({ pool } = await trailDatabase(2));
  });

  /** Starts an exporter (it exports at once) and stops it (the head did not move: nothing more is sent). */
  async function exportTo(sink: AuditHeadSink): Promise<void> {
    const errors: Error[] = [];
    const exporter = startAuditHeadExport(pool, { sink, intervalMs: 3_600_000, onError: (e) => errors.push(e) });
    await exporter.stop();
    expect(errors).toEqual([]);
  }

  async function expectHead(json: string): Promise<void> {
    expect(JSON.parse(json)).toEqual({ type: 'astreinte-audit-head', ...(await head(pool)), exported: expect.any(String), host: os.hostname() });
  }

  const RFC5424 = /^<109>1 (\S+) (\S+) astreinte (\d+) audit-head - (\{.*\})$/;

  it('sends an RFC 5424 message over UDP', async () => {
    const socket = dgram.createSocket('udp4');
    const port = await freePort();
    await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
    const received = new Promise<string>((resolve) => socket.once('message', (m) => resolve(m.toString('utf8'))));
    try {
      await exportTo({ kind: 'syslog', transport: 'udp', host: '127.0.0.1', port });
      const match = RFC5424.exec(await received);
      expect(match).not.toBeNull();
      expect(match![1]).toBe((JSON.parse(match![4]!) as ExportedAuditHead).exported);
      await expectHead(match![4]!);
    } finally {
      socket.close();
    }
  });

  it('sends an octet-counted RFC 5424 frame over TCP', async () => {
    const port = await freePort();
    let data = '';
    const done = new Promise<void>((resolve) => {
      const listener = net.createServer((c) => {
        c.on('data', (d) => (data += d.toString('utf8')));
        c.on('end', () => {
          listener.close();
          resolve();
        });
      });
      listener.listen(port, '127.0.0.1');
    });
    await new Promise((r) => setTimeout(r, 50));
    await exportTo({ kind: 'syslog', transport: 'tcp', host: '127.0.0.1', port });
    await done;
    const frame = /^(\d+) (.*)$/s.exec(data)!;
    expect(Number(frame[1])).toBe(Buffer.byteLength(frame[2]!, 'utf8'));
    await expectHead(RFC5424.exec(frame[2]!)![4]!);
  });

  it('POSTs the head as JSON, and reports a receiver that refuses it', async () => {
    const bodies: { type?: string; body: string }[] = [];
    let status = 204;
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        bodies.push({ type: req.headers['content-type'], body });
        res.writeHead(status).end();
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => receiver.listen(port, '127.0.0.1', resolve));
    try {
      const sink: AuditHeadSink = { kind: 'http', url: `http://127.0.0.1:${port}/audit-head` };
      await exportTo(sink);
      expect(bodies).toHaveLength(1);
      expect(bodies[0]!.type).toBe('application/json');
      await expectHead(bodies[0]!.body);
      status = 503;
      const errors: Error[] = [];
      const exporter = startAuditHeadExport(pool, { sink, intervalMs: 3_600_000, onError: (e) => errors.push(e) });
      await exporter.stop();
      // Tried at start and again at stop (a failed export is retried): each failure reported.
      expect(errors.length).toBeGreaterThan(0);
      for (const error of errors) expect(error.message).toBe(`the audit head receiver http://127.0.0.1:${port} answered 503`);
    } finally {
      receiver.close();
    }
  });
});
