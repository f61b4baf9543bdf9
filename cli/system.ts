import { mkdir, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { createLogger } from '../config/create-logger.ts';
import type { Settings } from '../config/settings.ts';
import { openDatabase, type Database } from '../storage/database/database.ts';
import { startAuditHeadExport } from '../audit/audit-head-export.ts';
import { PostgresDicomIndex } from '../storage/index/postgres-dicom-index.ts';
import { searchQido } from '../storage/index/qido-search.ts';
import { createObjectStore } from '../storage/objects/create-object-store.ts';
import type { ObjectStore } from '../storage/objects/object-store.ts';
import { createRequestAuditor } from '../gateway/account/audit-middleware.ts';
import { AuditTrail } from '../audit/audit-trail.ts';
import { loadRegionConfig } from '../config/region/load-region-config.ts';
import { createClock } from '../core/time/clock.ts';
import { startRoutingWorker } from '../worker/worker-runtime.ts';
import { createTokenVerifier } from '../gateway/auth/token-verifier.ts';
import { StudyActivityNotifier } from '../gateway/ingest/study-activity-notifier.ts';
import { createWorklistNotificationHub } from '../gateway/read/worklist/worklist-notification-hub.ts';
import { GatewayMetrics } from '../gateway/account/metrics.ts';
import { createApp } from '../gateway/app/create-app.ts';
import { checkDependency } from '../gateway/app/readiness.ts';
import { scheduleUnindexedObjectSweeps } from '../storage/index/sweep-unindexed-objects.ts';
import { startDimseListener } from '../gateway/ingest/dimse/dimse-listener.ts';
import { PostgresReportStore } from '../storage/report/postgres-report-store.ts';
import { startOutboundWorkers } from '../worker/outbound-workers.ts';

export interface RunningSystem {
  url: string;
  log: Logger;
  stop(): Promise<void>;
}

/**
 * Starts everything the gateway needs, in order: data directory, PostgreSQL (embedded or external) with its
 * migrations, object store, token verifier, HTTP server. Anything started is stopped again if a later step fails,
 * so a failed start leaves nothing running.
 */
export async function startSystem(
  settings: Settings,
  log: Logger = createGatewayLogger(settings),
): Promise<RunningSystem> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        log.error({ err: error }, 'error while stopping');
      }
    }
  };
  try {
    // Configuration first: a bad region file or clock stops start-up before anything is started.
    const clock = createClock(settings.clockStart);
    const regionConfig = await loadRegionConfig(settings.regionConfigPath);
    await mkdir(settings.dataDir, { recursive: true });
    await rm(settings.spoolDir, { recursive: true, force: true }); // parts of requests cut by a crash
    await mkdir(settings.spoolDir, { recursive: true });

    const database: Database = await openDatabase(settings.database, { onEvent: (message) => log.info({ component: 'postgres' }, message) });
    stops.push(() => database.close());
    const index = new PostgresDicomIndex(database);
    await index.migrate();
    // Stopped second to last (stops run in reverse): its last export sees every event of this run.
    const headExport = startAuditHeadExport(database.pool, {
      ...settings.auditHeadExport,
      onError: (error) => log.error({ component: 'audit', err: error }, 'the audit head could not be exported (tried again at the next interval)'),
    });
    stops.push(() => headExport.stop());

    const objects: ObjectStore = createObjectStore(settings.objectStore);
    await objects.init();
    stops.push(() => objects.close());
    const sweeps = scheduleUnindexedObjectSweeps(objects, index, log.child({ component: 'objects' }));
    stops.push(() => sweeps.stop());

    const trail = new AuditTrail(database.pool, { clock });
    const metrics = new GatewayMetrics();
    const auditor = createRequestAuditor(trail, { log: log.child({ component: 'audit' }), onFailure: () => metrics.auditFailures.inc() });
    stops.push(async () => {
      auditor.close();
      await auditor.drain();
    });

    const routing = await startRoutingWorker({ settings, database, regionConfig, clock, audit: trail, log: log.child({ component: 'routing' }) });
    stops.push(() => routing.stop());
    // At most one activity record per study and second (a tenth of the stability delay when that is shorter).
    const activityIntervalMs = Math.min(1000, routing.options.stabilityMs / 10);
    const studyActivity = new StudyActivityNotifier(
      (study, site) => routing.gateway.recordStudyActivity(study, site),
      log.child({ component: 'routing' }),
      activityIntervalMs,
    );
    stops.push(() => studyActivity.drain());
    const notifications = createWorklistNotificationHub(database, log.child({ component: 'worklist-events' }));
    let hubOpen = true;
    const closeHub = async () => {
      if (hubOpen) {
        hubOpen = false;
        await notifications.close();
      }
    };
    stops.push(closeHub);

    const reports = new PostgresReportStore(database);
    await reports.migrate();
    const outbound = await startOutboundWorkers({
      settings,
      database,
      reports,
      index,
      objects,
      regionConfig,
      clock,
      audit: trail,
      log,
      consume: routing.options.consume,
      sweepIntervalMs: routing.options.sweepIntervalMs,
    });
    stops.push(() => outbound.stop());

    const verifier = await createTokenVerifier(settings.auth);
    const app = createApp({
      settings,
      index,
      objects,
      verifier,
      log,
      database,
      regionConfig,
      clock,
      auditor,
      trail,
      notifications,
      routing: routing.gateway,
      studyActivity,
      reports,
      reportDispatch: outbound.delivery,
      studySendDispatch: outbound.studySend,
      metrics,
      search: (query, scope, root) => searchQido(database, query, scope, root),
      checkReady: async () => {
        await checkDependency('database', () => database.query('SELECT 1'));
        await checkDependency('object store', () => objects.stat('readiness-probe'));
        await checkDependency('audit trail', () => auditor.checkAppending());
      },
    });
    const server = await listen(app, settings);
    stops.push(() => closeServer(server));
    // Runs before the server closes (stops run in reverse): ends the live event streams that would keep it open.
    stops.push(closeHub);
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : settings.port;
    // DICOM network (C-ECHO, C-STORE SCP): the same ingest as STOW-RS, stopped before the database closes.
    const dimse =
      settings.dimse.port === 0
        ? undefined
        : await startDimseListener({
            ...settings.dimse,
            regionConfig,
            ingest: {
              index,
              objects,
              log,
              audit: trail,
              onStepTimed: (step, seconds) => metrics.timeStowStep(step, seconds),
              onIngested: (ingested) => metrics.countIngest('dimse', ingested),
              now: () => clock.now(),
            },
            spoolDir: settings.spoolDir,
            audit: trail,
            log: log.child({ component: 'dimse' }),
            onStudyActivity: (study, site) => studyActivity.notify(study, site),
            observer: metrics.dimseObserver((ae) => regionConfig.siteByAeTitle.get(ae.trim().toUpperCase())?.finess ?? 'unknown'),
          });
    if (dimse) stops.push(() => dimse.close());
    const url = `http://${settings.host === '0.0.0.0' ? '127.0.0.1' : settings.host}:${port}`;
    log.info(
      {
        url: `${url}/dicomweb`,
        database: settings.database.kind,
        objects: settings.objectStore.kind,
        queues: routing.backend,
        region: regionConfig.region.id,
        dicom: dimse ? `${settings.dimse.aeTitle}@${settings.dimse.host}:${dimse.port}${settings.dimse.tls ? ' (TLS)' : ''}` : 'off',
      },
      'Astreinte is ready',
    );
    return { url, log, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

export function createGatewayLogger(settings: Pick<Settings, 'logLevel'>): Logger {
  return createLogger({ level: settings.logLevel, service: 'astreinte' });
}

function listen(app: ReturnType<typeof createApp>, settings: Settings): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(settings.port, settings.host);
    server.keepAliveTimeout = 65_000;
    server.requestTimeout = 0; // a 1 GB study over a slow hospital link must not be cut
    server.once('listening', () => resolve(server));
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`Port ${settings.port} on ${settings.host} is already in use: stop the other program or set PORT to a free port.`)
          : error,
      ),
    );
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, 10_000).unref();
  });
}
