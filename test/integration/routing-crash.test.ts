/**
 * Crashes: worker processes (`node worker/main.ts`, the standalone entry) killed with SIGKILL in the middle of
 * routing transactions, and (Redis backend) a Redis without persistence restarted with delayed jobs in it.
 * Whatever is lost, every stable study must end with exactly one worklist item. The test starts its own
 * PostgreSQL, Redis and worker processes on free ports and kills only those.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadRegionConfig } from '../../config/region/load-region-config.ts';
import type { RegionConfig } from '../../config/region/region-config.ts';
import { DEFAULT_REGION_CONFIG_PATH } from '../../config/region/resolve-config-path.ts';
import { openDatabase, type Database } from '../../storage/database/database.ts';
import { PostgresDicomIndex } from '../../storage/index/postgres-dicom-index.ts';
import { indexSyntheticStudy } from '../../bench/routing/synthetic-study.ts';
import { systemClock } from '../../core/time/clock.ts';
import { startRoutingWorker, type RoutingWorker } from '../../worker/worker-runtime.ts';
import { createTestDatabase, startTestPostgres, type TestPostgres } from '../support/postgres.ts';
import { QUEUE_BACKENDS, startRedisServer, type TestRedisServer } from '../support/redis-server.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const SAINT_GIRONS = '090000050';
const SEYSSES = '310019351';

let postgres: TestPostgres;
let config: RegionConfig;
beforeAll(async () => {
  [postgres, config] = await Promise.all([startTestPostgres(), loadRegionConfig(DEFAULT_REGION_CONFIG_PATH)]);
});
afterAll(async () => {
  await postgres?.stop();
});

interface WorkerProcess {
  child: ChildProcess;
  kill(): Promise<void>;
  stop(): Promise<void>;
  /** pino log lines (JSON) printed so far. */
  logs(): Record<string, unknown>[];
}

describe.each(QUEUE_BACKENDS)('routing survives crashes, $name', (backend) => {
  let redis: TestRedisServer | undefined;
  let databaseUrl: string;
  let db: Database;
  let index: PostgresDicomIndex;
  let producer: RoutingWorker;
  let dataDir: string;
  const started: WorkerProcess[] = [];
  let seed = 0;

  const startProducer = (stabilityMs: number) =>
    // The gateway side: records activity and queues debounced jobs, runs no worker.
    startRoutingWorker({
      settings: { redisUrl: redis?.url },
      database: db,
      regionConfig: config,
      clock: systemClock,
      log: pino({ level: 'error' }),
      options: { stabilityMs, sweepIntervalMs: 0, consume: false, concurrency: 1 },
    });

  beforeAll(async () => {
    if (backend.redis) redis = await startRedisServer();
    databaseUrl = await createTestDatabase(postgres.url);
    db = await openDatabase({ kind: 'external', url: databaseUrl });
    index = new PostgresDicomIndex(db);
    await index.migrate();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-workers-'));
  });
  afterEach(async () => {
    await producer?.stop();
    await Promise.all(started.splice(0).map((w) => w.stop()));
  });
  afterAll(async () => {
    await db?.close();
    await redis?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function startWorker(stabilitySeconds: number): Promise<WorkerProcess> {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.ASTREINTE_NOW;
    delete env.REDIS_URL;
    Object.assign(env, {
      DATABASE_URL: databaseUrl,
      ASTREINTE_DATA_DIR: dataDir,
      ASTREINTE_STABILITY_SECONDS: String(stabilitySeconds),
      ASTREINTE_ROUTING_SWEEP_SECONDS: '1',
      ASTREINTE_ROUTING_CONCURRENCY: '8',
      LOG_LEVEL: 'warn',
      ...(redis ? { REDIS_URL: redis.url } : {}),
    });
    const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      });
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`worker exited while starting: ${out}`);
      return out.includes('astreinte worker ready') || undefined;
    }, 30_000);
    const worker: WorkerProcess = {
      child,
      async kill() {
        child.kill('SIGKILL');
        await exited();
      },
      async stop() {
        child.kill('SIGTERM');
        await exited();
      },
      logs: () =>
        out
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>),
    };
    started.push(worker);
    return worker;
  }

  const newStudies = async (count: number) => {
    const studies: { uid: string; site: string }[] = [];
    for (let i = 0; i < count; i++) {
      const site = i % 3 === 2 ? SEYSSES : SAINT_GIRONS;
      const uid = await indexSyntheticStudy(index, { kind: site === SEYSSES ? 'chest-xray' : 'ct-head', site, seed: `crash-${backend.redis}-${++seed}` });
      studies.push({ uid, site });
    }
    return studies;
  };

  /** Every study decided, and exactly one reading item and one 'routed' event each. */
  async function expectExactlyOneItemEach(uids: string[], timeoutMs: number) {
    await waitFor(async () => {
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM routing_decision WHERE study_instance_uid = ANY($1)',
        [uids],
      );
      return rows[0].n === uids.length || undefined;
    }, timeoutMs);
    const { rows } = await db.query<{ uid: string; items: number; routed: number }>(
      `SELECT u.uid,
              (SELECT count(*)::int FROM worklist_item i WHERE i.study_instance_uid = u.uid) AS items,
              (SELECT count(*)::int FROM worklist_event e WHERE e.study_instance_uid = u.uid AND e.type = 'routed') AS routed
         FROM unnest($1::text[]) AS u(uid)`,
      [uids],
    );
    expect(rows.filter((r) => r.items !== 1 || r.routed !== 1)).toEqual([]);
  }

  const sweptStudies = (workers: WorkerProcess[]) =>
    workers
      .flatMap((w) => w.logs())
      .filter((l) => l.msg === 'routed stable studies whose routing job was lost')
      .reduce((sum, l) => sum + Number(l.studies), 0);

  it('worker killed (SIGKILL) mid-routing -> every stable study ends with exactly one item', async () => {
    producer = await startProducer(200);
    const a = await startWorker(0.2);
    const b = await startWorker(0.2);
    const studies = await newStudies(16);

    // Hold every routing transaction in the middle (before its item insert) while both workers have taken jobs.
    const locker = new pg.Client({ connectionString: databaseUrl });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE worklist_item IN EXCLUSIVE MODE');
      for (const s of studies) await producer.gateway.recordStudyActivity(s.uid, s.site);
      await waitFor(async () => {
        const { rows } = await locker.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
            WHERE c.relname = 'worklist_item' AND NOT l.granted`,
        );
        return rows[0].n >= 12 || undefined;
      }, 20_000);
      await a.kill();
      await locker.query('COMMIT');
    } finally {
      await locker.end();
    }

    await expectExactlyOneItemEach(studies.map((s) => s.uid), 30_000);
    // The killed worker's studies were routed by the survivor's sweep (their jobs died with it).
    await waitFor(() => (sweptStudies([b]) >= 1 ? true : undefined), 5_000);

    // A worker started afterwards reconciles at start: nothing left to do, nothing doubled.
    const c = await startWorker(0.2);
    await sleep(1_500);
    await expectExactlyOneItemEach(studies.map((s) => s.uid), 5_000);
    expect(sweptStudies([c])).toBe(0);
  });

  // Only the Redis backend can lose its queue while PostgreSQL keeps the truth.
  if (backend.redis) it('Redis restarted without persistence -> every stable study ends with exactly one item', async () => {
    const stability = 1.5;
    producer = await startProducer(stability * 1000);
    const workers = [await startWorker(stability), await startWorker(stability)];
    const before = await newStudies(10);
    for (const s of before) await producer.gateway.recordStudyActivity(s.uid, s.site);
    // The debounced jobs wait in Redis: a crash without persistence loses them all.
    await (redis as TestRedisServer).kill();
    await (redis as TestRedisServer).restart();
    const after = await newStudies(10);
    for (const s of after) await producer.gateway.recordStudyActivity(s.uid, s.site);

    await expectExactlyOneItemEach([...before, ...after].map((s) => s.uid), 45_000);
    // The lost jobs' studies were routed by the workers' sweeps (log lines may trail the commits a little).
    await waitFor(() => (sweptStudies(workers) >= before.length ? true : undefined), 5_000);
  });
});

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(25);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
