import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditCode } from '../../audit/audit-event.ts';
import { migrateAudit } from '../../audit/audit-migrations.ts';
import { AuditTrail } from '../../audit/audit-trail.ts';
import { runAuditCommand } from '../../cli/commands/audit.ts';
import { loadSettings } from '../../config/settings.ts';
import { openDatabase } from '../../storage/database/database.ts';
import { TestClock } from '../../core/time/clock.ts';
import { freePort } from '../support/free-port.ts';
import { startGateway } from '../support/gateway-process.ts';
import { createTestDatabase, startTestPostgres, type TestPostgres } from '../support/postgres.ts';
import { auditEventProblems } from '../unit/audit/fhir-audit-event-shape.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
/** Through `astreinte audit` once cli/astreinte-cli.ts dispatches it; until then, the command module itself. */
const viaBin = /case 'audit'/.test(readFileSync(path.join(repoRoot, 'cli/astreinte-cli.ts'), 'utf8'));

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function audit(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const argv = viaBin
    ? [path.join(repoRoot, 'bin/astreinte.cjs'), 'audit', ...args]
    : [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(path.join(repoRoot, 'cli/commands/audit.ts'))});` +
          'process.exitCode = await m.runAuditCommand(process.argv.slice(1), process.env);',
        ...args,
      ];
  return new Promise((resolve) => {
    // An undefined value unsets the variable.
    const merged = Object.fromEntries(Object.entries({ ...process.env, ...env }).filter(([, value]) => value !== undefined));
    execFile(process.execPath, argv, { cwd: repoRoot, env: merged }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

let server: TestPostgres;
let tmp: string;
/** No head was ever exported there (test/integration/audit-head-export.test.ts covers the export). */
const headFile = path.join(os.tmpdir(), 'astreinte-audit-cli-no-head', 'head.jsonl');
const pools: pg.Pool[] = [];

beforeAll(async () => {
  server = await startTestPostgres();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'astreinte-audit-cli-'));
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await server?.stop();
  await rm(tmp, { recursive: true, force: true });
});

/** A database with `count` events, one minute apart from 2026-11-15T00:30Z; returns its URL and pool. */
async function trailDatabase(count: number): Promise<{ url: string; pool: pg.Pool }> {
  const url = await createTestDatabase(server.url);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pools.push(pool);
  await migrateAudit(pool);
  const clock = new TestClock('2026-11-15T00:30:00Z');
  const trail = new AuditTrail(pool, { clock, observer: 'gw-test' });
  for (let n = 1; n <= count; n += 1) {
    await trail.record({
      type: n % 2 ? AuditCode.instancesAccessed : AuditCode.query,
      subtype: n % 2 ? 'wado-metadata' : 'qido',
      action: n % 2 ? 'R' : 'E',
      actor: { userId: `reader-${n}`, role: 'reader', rpps: '10001234567', site: '310780770', tokenId: `jti-${n}` },
      network: { address: '10.0.0.7' },
      entities:
        n % 2
          ? [
              { kind: 'patient', patientId: `18001751234${n}`, issuer: '1.2.250.1.213.1.4.8' },
              { kind: 'study', studyUid: `1.2.826.0.1.3680043.8.498.${n}` },
            ]
          : [{ kind: 'query', query: '/dicomweb/studies?PatientID=1&PatientName=(redacted)', level: 'studies' }],
    });
    clock.advance(60_000);
  }
  return { url, pool };
}

async function tamper(pool: pg.Pool, sql: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    await client.query(sql);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

describe(`astreinte audit verify (${viaBin ? 'bin/astreinte.cjs' : 'cli/commands/audit.ts, not yet dispatched by bin/astreinte.cjs'})`, () => {
  it('exits 0 on an intact chain with a summary line and what it was checked against, and records its own use', async () => {
    const { url, pool } = await trailDatabase(30);
    const result = await audit(['verify'], { DATABASE_URL: url, ASTREINTE_AUDIT_HEAD_EXPORT: headFile });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^audit trail intact: 30 events, seq 1 \(2026-11-15T00:30:00\.000Z\) to 30 \(2026-11-15T00:59:00\.000Z\), head hash [0-9a-f]{64}\n/,
    );
    expect(result.stdout.split('\n')[1]).toBe(`no exported head in ${headFile} to check against`);
    const { rows } = await pool.query("SELECT seq, type_code, event->>'subtype' AS subtype FROM audit_event WHERE seq > 30");
    expect(rows).toEqual([{ seq: '31', type_code: '110101', subtype: 'audit-verify' }]);

    const again = await audit(['verify', '--from', '25'], { DATABASE_URL: url });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^audit trail intact: 7 events from seq 25, seq 25 .* to 31 /);
  });

  it('exits 1 naming the first broken event, and raises a security alert in the trail', async () => {
    const { url, pool } = await trailDatabase(30);
    await tamper(pool, `UPDATE audit_event SET event = jsonb_set(event, '{outcome}', '8') WHERE seq = 9`);
    await tamper(pool, 'DELETE FROM audit_event WHERE seq = 20');
    const result = await audit(['verify'], { DATABASE_URL: url, ASTREINTE_AUDIT_HEAD_EXPORT: headFile });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      "audit trail BROKEN at seq 9 (edited): seq 9: the event's content does not match its hash (the event or its hash was edited) " +
        `(8 events verified before it, seq 1..8)\nno exported head in ${headFile} to check against\n`,
    );
    const { rows } = await pool.query("SELECT type_code, event->>'outcome' AS outcome FROM audit_event WHERE seq = 31");
    expect(rows).toEqual([{ type_code: '110113', outcome: '8' }]);

    const later = await audit(['verify', '--from', '10'], { DATABASE_URL: url });
    expect(later.code).toBe(1);
    expect(later.stderr).toMatch(/^audit trail BROKEN at seq 20 \(deleted\): seq 20: event 20 is missing, the chain jumps from seq 19 to seq 21/);
  });

  it('checks anchors given on the command line', async () => {
    const { url, pool } = await trailDatabase(5);
    const { rows } = await pool.query<{ hash: string }>('SELECT hash FROM audit_event WHERE seq = 3');
    expect((await audit(['verify', '--anchor', `3:${rows[0].hash}`], { DATABASE_URL: url })).code).toBe(0);
    const wrong = await audit(['verify', '--anchor', `3:${'e'.repeat(64)}`], { DATABASE_URL: url });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/BROKEN at seq 3 \(anchor-mismatch\)/);
  });

  it('exits 2 on wrong arguments and 3 when there is no trail to read', async () => {
    const { url } = await trailDatabase(1);
    const usage = await audit(['verify', '--from', 'abc'], { DATABASE_URL: url });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^astreinte audit: --from "abc": give a seq number/);
    const empty = await createTestDatabase(server.url);
    const noTable = await audit(['verify'], { DATABASE_URL: empty });
    expect(noTable.code).toBe(3);
    expect(noTable.stderr).toMatch(/holds no audit trail \(table audit_event missing\)/);

    // The same command in this process (faster): the other refusals.
    const run = async (args: string[], env: NodeJS.ProcessEnv) => {
      let stderr = '';
      const io = { stdout: { write: () => true }, stderr: { write: (text: string) => (stderr += text) } };
      return { code: await runAuditCommand(args, env, io), stderr };
    };
    for (const args of [['verify', '--anchor', '3:xyz'], ['verify', '--from', '9'], ['export', '--from', '2026-11-15'], ['export', '--from', 'yesterday', '--to', '2026-11-16'], ['frobnicate']]) {
      const result = await run(args, { DATABASE_URL: url });
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(/^astreinte audit: /);
    }
    const down = await run(['verify'], { DATABASE_URL: `postgresql://astreinte:pw@127.0.0.1:${await freePort()}/astreinte` });
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/Cannot connect to PostgreSQL/);
    const noDir = await run(['verify'], { ASTREINTE_DATA_DIR: path.join(tmp, 'nothing-here') });
    expect(noDir.code).toBe(3);
    expect(noDir.stderr).toMatch(/there is no database in .*nothing-here/);
    expect(await readdir(tmp)).not.toContain('nothing-here');
  });
});

describe('astreinte audit export', () => {
  it('writes the period as FHIR R4 AuditEvent NDJSON, one valid resource per line', async () => {
    const { url, pool } = await trailDatabase(30);
    const out = path.join(tmp, 'audit-2026-11-15.ndjson');
    // 01:40 to 01:50 Paris time is 00:40 to 00:50 UTC: events 11..20.
    const result = await audit(
      ['export', '--from', '2026-11-15T01:40', '--to', '2026-11-15T00:50:00Z', '--out', out, '--site', 'GCS e-santé Occitanie'],
      { DATABASE_URL: url },
    );
    expect(result.stderr).toBe(
      `exported 10 audit events (seq 11..20) recorded from 2026-11-15T00:40:00.000Z to 2026-11-15T00:50:00.000Z into ${path.resolve(out)}\n`,
    );
    expect(result.code).toBe(0);
    const lines = (await readFile(out, 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(10);
    const events = lines.map((line) => JSON.parse(line));
    for (const event of events) expect(auditEventProblems(event)).toEqual([]);
    expect(events.map((e) => e.id)).toEqual(Array.from({ length: 10 }, (_, i) => `astreinte-audit-${11 + i}`));
    expect(events[0]).toMatchObject({
      type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110103' },
      source: { site: 'GCS e-santé Occitanie', observer: { display: 'gw-test' } },
      entity: [
        { what: { identifier: { system: 'urn:oid:1.2.250.1.213.1.4.8', value: '1800175123411' } } },
        { what: { identifier: { system: 'urn:dicom:uid', value: 'urn:oid:1.2.826.0.1.3680043.8.498.11' } } },
      ],
    });
    const { rows } = await pool.query<{ hash: string }>('SELECT hash FROM audit_event WHERE seq = 11');
    expect(events[0].extension[0].extension).toContainEqual({ url: 'hash', valueString: rows[0].hash });
    expect(await readdir(tmp)).not.toContain('audit-2026-11-15.ndjson.partial');
    const own = await pool.query("SELECT type_code, event->>'subtype' AS subtype FROM audit_event WHERE seq = 31");
    expect(own.rows).toEqual([{ type_code: '110101', subtype: 'audit-export' }]);

    const toStdout = await audit(['export', '--from', '2026-11-15', '--to', '2026-11-16'], { DATABASE_URL: url });
    expect(toStdout.code).toBe(0);
    expect(toStdout.stdout.trim().split('\n')).toHaveLength(30);
  });
});

describe('astreinte audit on the embedded database of a running gateway', () => {
  it('reuses the server the gateway started, and leaves it running', async () => {
    const gateway = await startGateway();
    try {
      // Write through the application's own database code, as the gateway's routes will.
      const settings = loadSettings(gateway.env);
      const database = await openDatabase(settings.database, { maxConnections: 2 });
      try {
        const trail = new AuditTrail(database.pool, { observer: 'gw' });
        for (let n = 0; n < 3; n += 1) await trail.record({ type: '110110', subtype: 'opposition-recorded', action: 'C', actor: { userId: 'coord', role: 'coordinator' } });
      } finally {
        await database.close();
      }
      const result = await audit(['verify'], { ...gateway.env, DATABASE_URL: undefined });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^audit trail intact: 3 events, seq 1 /);
      expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
      const exported = await audit(['export', '--from', '2000-01-01', '--to', '2100-01-01'], { ...gateway.env, DATABASE_URL: undefined });
      expect(exported.code).toBe(0);
      expect(exported.stdout.trim().split('\n')).toHaveLength(4); // 3 + the verify run
      expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);

      // Gateway stopped: the command starts the embedded server for itself and stops it again.
      expect(await gateway.stop()).toBe(0);
      const alone = await audit(['verify'], { ...gateway.env, DATABASE_URL: undefined });
      expect(alone.code).toBe(0);
      expect(alone.stdout).toMatch(/^audit trail intact: 5 events, /);
      expect(await readdir(path.join(gateway.dataDir, 'postgres'))).not.toContain('postmaster.pid');
    } finally {
      await gateway.dispose();
    }
  });
});
