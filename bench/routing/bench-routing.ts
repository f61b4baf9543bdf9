/**
 * Routing benchmark: a burst of studies becoming stable at a steady rate (default 50 per second), each measured
 * from its stability instant (last activity + stability delay) to its worklist item being visible (the NOTIFY
 * of its creation, sent at commit). Target: p95 < 500 ms.
 *
 * benchRouting() works on any database (the bench harness can call it); run this file to measure on private
 * servers: `npx tsx bench/routing/bench-routing.ts [--studies 500] [--rate 50] [--stability 1] [--backend postgres|redis|both]`.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { loadRegionConfig } from '../../config/region/load-region-config.ts';
import type { RegionConfig } from '../../config/region/region-config.ts';
import { DEFAULT_REGION_CONFIG_PATH } from '../../config/region/resolve-config-path.ts';
import { openDatabase, type Database } from '../../storage/database/database.ts';
import { PostgresDicomIndex } from '../../storage/index/postgres-dicom-index.ts';
import { indexSyntheticStudy, type SyntheticStudy } from './synthetic-study.ts';
import { systemClock } from '../../core/time/clock.ts';
import { startRoutingWorker } from '../../worker/worker-runtime.ts';
import { PostgresWorklistStore } from '../../storage/worklist/postgres-worklist-store.ts';
import { WORKLIST_NOTIFY_CHANNEL, type WorklistItemView, type WorklistNotification } from '../../storage/worklist/worklist-types.ts';

export interface RoutingBenchOptions {
  database: Database;
  regionConfig: RegionConfig;
  /** Redis backend when set, else the PostgreSQL backend. */
  redisUrl?: string;
  studies?: number;
  /** Studies becoming stable per second. */
  ratePerSecond?: number;
  stabilityMs?: number;
  concurrency?: number;
  /** Distinguishes the study UIDs of successive runs on one database. */
  runId?: string;
}

export interface RoutingBenchResult {
  backend: 'postgres' | 'redis';
  studies: number;
  ratePerSecond: number;
  stabilityMs: number;
  /** Milliseconds from stability to item visible. */
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Items not visible within 30 s of the last stability instant. */
  missing: number;
}

const KINDS: Pick<SyntheticStudy, 'kind' | 'site'>[] = [
  { kind: 'ct-head', site: '090000050' }, // CH Saint-Girons
  { kind: 'chest-xray', site: '310019351' }, // Seysses
  { kind: 'cardiac-ct', site: '310781406' }, // CHU de Toulouse
  { kind: 'ct-head', site: '810000380' }, // CH de Lavaur
];

export async function benchRouting(options: RoutingBenchOptions): Promise<RoutingBenchResult> {
  const count = options.studies ?? 500;
  const rate = options.ratePerSecond ?? 50;
  const stabilityMs = options.stabilityMs ?? 1_000;
  const runId = options.runId ?? String(Date.now());
  const index = new PostgresDicomIndex(options.database);
  await index.migrate();

  // Studies are indexed beforehand: only routing is measured.
  const uids: string[] = [];
  for (let i = 0; i < count; i++) {
    const kind = KINDS[i % KINDS.length];
    uids.push(await indexSyntheticStudy(index, { ...kind, seed: `bench-${runId}-${i}`, instances: 1 }));
  }

  const worker = await startRoutingWorker({
    settings: { redisUrl: options.redisUrl },
    database: options.database,
    regionConfig: options.regionConfig,
    clock: systemClock,
    log: pino({ level: 'error' }),
    options: { stabilityMs, sweepIntervalMs: 0, concurrency: options.concurrency ?? 8, consume: true },
  });
  const listener = new pg.Client({ connectionString: options.database.pool.options.connectionString });
  const visibleAt = new Map<string, number>();
  try {
    await listener.connect();
    listener.on('notification', (n) => {
      if (n.channel !== WORKLIST_NOTIFY_CHANNEL || !n.payload) return;
      const payload = JSON.parse(n.payload) as WorklistNotification;
      if (payload.type === 'item-created') visibleAt.set(payload.itemId, performance.now());
    });
    await listener.query(`LISTEN ${WORKLIST_NOTIFY_CHANNEL}`);

    const stableAt = new Map<string, number>();
    const started = performance.now();
    for (const [i, uid] of uids.entries()) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const activityAt = performance.now();
      await worker.gateway.recordStudyActivity(uid, KINDS[i % KINDS.length].site);
      stableAt.set(uid, activityAt + stabilityMs);
    }
    const lastStable = Math.max(...stableAt.values());
    while (visibleAt.size < count && performance.now() < lastStable + 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    const store = new PostgresWorklistStore(options.database);
    const routed = await Promise.all(uids.map(async (uid) => (await store.studyRouting(uid)).items.find((item) => item.kind === 'read')));
    const latencies = routed
      .filter((item): item is WorklistItemView => item !== undefined && visibleAt.has(item.id))
      .map((item) => (visibleAt.get(item.id) as number) - (stableAt.get(item.studyInstanceUID) as number))
      .sort((a, b) => a - b);
    const at = (q: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN);
    return {
      backend: worker.backend,
      studies: count,
      ratePerSecond: rate,
      stabilityMs,
      p50: at(0.5),
      p95: at(0.95),
      p99: at(0.99),
      max: round(latencies.at(-1) ?? Number.NaN),
      missing: count - latencies.length,
    };
  } finally {
    await listener.end().catch(() => undefined);
    await worker.stop();
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      studies: { type: 'string', default: '500' },
      rate: { type: 'string', default: '50' },
      stability: { type: 'string', default: '1' },
      backend: { type: 'string', default: 'both' },
    },
  });
  // Private servers on free ports, as the tests use them.
  const { startTestPostgres, createTestDatabase } = await import('../../test/support/postgres.ts');
  const { startRedisServer } = await import('../../test/support/redis-server.ts');
  const postgres = await startTestPostgres();
  const redis = values.backend === 'postgres' ? undefined : await startRedisServer();
  const regionConfig = await loadRegionConfig(DEFAULT_REGION_CONFIG_PATH);
  try {
    const backends = values.backend === 'both' ? ['postgres', 'redis'] : [values.backend];
    for (const backend of backends) {
      const database = await openDatabase({ kind: 'external', url: await createTestDatabase(postgres.url) });
      try {
        const result = await benchRouting({
          database,
          regionConfig,
          redisUrl: backend === 'redis' ? redis?.url : undefined,
          studies: Number(values.studies),
          ratePerSecond: Number(values.rate),
          stabilityMs: Number(values.stability) * 1000,
        });
        process.stdout.write(`${JSON.stringify(result)}\n`);
      } finally {
        await database.close();
      }
    }
  } finally {
    await redis?.stop();
    await postgres.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench-routing: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}
