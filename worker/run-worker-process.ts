/**
 * A routing worker on its own (`astreinte worker`, or `node --import tsx worker/main.ts`): same environment as
 * the gateway (DATABASE_URL or the embedded server's data directory, REDIS_URL, ASTREINTE_CONFIG,
 * ASTREINTE_NOW...). Start as many as needed, on one machine or several: they share the queue store and
 * PostgreSQL. Runs until SIGINT/SIGTERM, then finishes its running jobs and exits 0.
 */
import { createLogger } from '../config/create-logger.ts';
import { AuditTrail } from '../audit/audit-trail.ts';
import { loadRegionConfig } from '../config/region/load-region-config.ts';
import { loadSettings } from '../config/settings.ts';
import { openDatabase } from '../storage/database/database.ts';
import { createClock } from '../core/time/clock.ts';
import { startRoutingWorker } from './worker-runtime.ts';
import { PostgresDicomIndex } from '../storage/index/postgres-dicom-index.ts';
import { createObjectStore } from '../storage/objects/create-object-store.ts';
import { PostgresReportStore } from '../storage/report/postgres-report-store.ts';
import { startOutboundWorkers } from './outbound-workers.ts';

export async function runWorkerProcess(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const settings = loadSettings(env);
  const log = createLogger({ level: settings.logLevel, service: 'astreinte-worker' });
  const clock = createClock(settings.clockStart);
  const regionConfig = await loadRegionConfig(settings.regionConfigPath);
  const database = await openDatabase(settings.database, {
    maxConnections: 10,
    onEvent: (message) => log.info({ component: 'postgres' }, message),
  });
  const audit = new AuditTrail(database.pool, { clock });
  const worker = await startRoutingWorker({ settings, database, regionConfig, clock, log, audit, options: { consume: true } }).catch(
    async (error: unknown) => {
      await database.close().catch(() => undefined);
      throw error;
    },
  );
  // Report deliveries and study sends too: any worker process may run them (the queue hands each job to one).
  const objects = createObjectStore(settings.objectStore);
  await objects.init();
  const reports = new PostgresReportStore(database);
  const index = new PostgresDicomIndex(database);
  const outbound = await startOutboundWorkers({
    settings,
    database,
    reports,
    index,
    objects,
    regionConfig,
    clock,
    audit,
    log,
    sweepIntervalMs: worker.options.sweepIntervalMs,
  });
  process.stdout.write(`astreinte worker ready (pid ${process.pid}, queue backend ${worker.backend})\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping the routing worker');
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await outbound.stop();
  await worker.stop();
  await objects.close();
  await database.close();
  return 0;
}
