import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { Settings } from '../../config/settings.ts';
import type { DicomIndex } from '../../storage/index/dicom-index.ts';
import type { ObjectStore } from '../../storage/objects/object-store.ts';
import { authenticate } from '../auth/authenticate.ts';
import { GatewayMetrics } from '../account/metrics.ts';
import { ReadActivity } from '../http/read-activity.ts';
import { rateLimit } from '../http/rate-limit.ts';
import { noStore, securityHeaders } from '../http/security-headers.ts';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import { cors } from '../http/cors.ts';
import { DICOMWEB_PATH } from '../http/dicomweb-root.ts';
import { HttpProblem } from '../http/problem.ts';
import { describeAuthenticationFailure, type RequestAuditor } from '../account/audit-middleware.ts';
import type { AuditRecorder } from '../../audit/audit-trail.ts';
import type { RegionConfig } from '../../config/region/region-config.ts';
import type { Database } from '../../storage/database/database.ts';
import type { Clock } from '../../core/time/clock.ts';
import { stowHandler } from '../ingest/stow-route.ts';
import type { StudyActivityNotifier } from '../ingest/study-activity-notifier.ts';
import type { QidoSearch } from '../read/query/qido-routes.ts';
import { createAccessScopes } from '../read/retrieve/access-scope.ts';
import { MetadataCache } from '../read/retrieve/metadata-cache.ts';
import { DEFAULT_METADATA_CACHE_BYTES } from '../read/retrieve/wado-routes.ts';
import { renderedHandlers } from '../read/retrieve/rendered-routes.ts';
import type { StudyRouting } from '../read/worklist/study-routes.ts';
import type { WorklistNotificationHub } from '../read/worklist/worklist-notification-hub.ts';
import { worklistServices } from '../read/worklist/worklist-services.ts';
import { PostgresWorklistStore } from '../../storage/worklist/postgres-worklist-store.ts';
import { auditRoutes, mountRoutes } from './mount-routes.ts';
import { routeTable, type RouteEntry, type RouteServices } from './route-table.ts';
import { RETRY_AFTER_SECONDS, transientFailure } from '../http/transient-failure.ts';
import { signInConfigHandler } from '../auth/sign-in-config.ts';
import { signInHandlers } from '../auth/sign-in-routes.ts';
import { whoAmIHandler } from '../auth/who-am-i.ts';
import { viewerHandlers } from './viewer-routes.ts';
import type { ReportStore } from '../../storage/report/report-store.ts';
import { ReaderKeyring } from '../report/reader-keyring.ts';
import type { ReportDispatch } from '../report/report-signer.ts';
import { reportHandlers } from '../report/report-routes.ts';
import { indicatorsHandler } from '../account/indicators-route.ts';
import { StudySendStore } from '../../storage/send/study-send-store.ts';
import { studySendHandlers, type StudySendDispatch } from '../send/study-send-routes.ts';

export interface AppDependencies {
  settings: Settings;
  index: DicomIndex;
  objects: ObjectStore;
  search: QidoSearch;
  verifier: TokenVerifier;
  log: Logger;
  /** Resolves when the database and the object store answer; rejects with the reason otherwise. */
  checkReady: () => Promise<void>;
  database: Database;
  regionConfig: RegionConfig;
  clock: Clock;
  auditor: RequestAuditor;
  /** The audit trail itself, for events recorded beside the request's own (a STOW refusal's Security Alert). */
  trail?: AuditRecorder;
  notifications: WorklistNotificationHub;
  /** The routing worker's entry points (study activity after STOW, completion by the sender). */
  routing?: StudyRouting;
  /** Prometheus metrics (a fresh registry when not given). */
  metrics?: GatewayMetrics;
  /** Tells routing, off the response path, which studies received instances. */
  studyActivity?: StudyActivityNotifier;
  /** The built reading web app (default: viewer/dist of this checkout). */
  viewerDir?: string;
  /** Drafts, signed reports, signing keys, deliveries. */
  reports: ReportStore;
  /** Queues a signed report's deliveries (the delivery worker); without it they wait for the worker's sweep. */
  reportDispatch?: ReportDispatch;
  /** Queues an administrator's "send this study to AE X" (the study send worker); without it, its sweep does. */
  studySendDispatch?: StudySendDispatch;
}

/**
 * While reads are answered, STOW bodies are parsed 64 KiB (one socket read) at a time, a turn of the event loop
 * between slices. During a 4-client CT ingest on 2 cores this halved the p95 of a viewer's frame requests
 * (45–70 ms against 94–205 ms in two interleaved runs, bench/stow-ab.ts) without lowering STOW throughput; the
 * p50 did not move (20–35 ms).
 */
const STOW_SLICE_WHILE_READING = 64 * 1024;

const API_PATH = '/api';

export function createApp(deps: AppDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', deps.settings.trustProxy);
  app.locals.publicUrl = deps.settings.publicUrl;

  const metrics = deps.metrics ?? new GatewayMetrics();
  metrics.watchTurnaround(deps.database, deps.regionConfig);
  app.use(securityHeaders());
  app.use(metrics.timeRequests());
  app.use(cors(deps.settings.corsOrigins));
  const limits = rateLimit(deps.settings.rateLimit);
  const embeddedSignIn = deps.settings.auth.kind === 'embedded';
  const table = routeTable({ adminSeesPatientData: deps.settings.adminSeesPatientData, embeddedSignIn });
  // Uploads give way to reads: while a viewer waits for frames, a STOW body is parsed one socket read at a time.
  const reads = new ReadActivity();
  const trackRead = reads.track();
  const services = routeServices(deps, metrics, reads);
  // Health checks and the web app's files answer without a token; the embedded sign-in too, but audited and
  // rate-limited by address; every other route is mounted on the router of its prefix, behind authenticate.
  const isPublic = (entry: RouteEntry) => entry.access === 'public';
  const audited = (entry: RouteEntry) => !('notAudited' in entry.audit);
  const under = (prefix: string) => (entry: RouteEntry) => entry.path.startsWith(`${prefix}/`);
  const guarded = table.filter((entry) => !isPublic(entry));
  mountRoutes(app, table.filter((entry) => isPublic(entry) && !audited(entry)), services);

  app.use(deps.auditor.audit(describeAuthenticationFailure));
  app.use(auditRoutes(table, deps.auditor));
  app.use(limits.byAddress);
  mountRoutes(app, table.filter((entry) => isPublic(entry) && audited(entry)), services);
  app.use(authenticate(deps.verifier));
  app.use(limits.byPrincipal);
  mountRoutes(app, guarded.filter((entry) => !under(DICOMWEB_PATH)(entry) && !under(API_PATH)(entry)), services);
  const dicomweb = express.Router();
  dicomweb.use(noStore());
  dicomweb.use((req, res, next) => (req.method === 'GET' ? trackRead(req, res, next) : next()));
  mountRoutes(dicomweb, guarded.filter(under(DICOMWEB_PATH)), services, DICOMWEB_PATH);
  app.use(DICOMWEB_PATH, dicomweb);
  const api = express.Router();
  mountRoutes(api, guarded.filter(under(API_PATH)), services, API_PATH);
  app.use(API_PATH, noStore(), api);

  app.use((req, _res, next) => next(new HttpProblem(404, `No resource at ${req.method} ${req.path}.`, 'not-found')));
  app.use(errorHandler(deps.log));
  return app;
}

/** What the route table's handlers are built from, once per app. */
function routeServices(deps: AppDependencies, metrics: GatewayMetrics, reads: ReadActivity): RouteServices {
  const poolAccessAfterCompletionMs = deps.settings.worklist.poolAccessAfterCompletionMs;
  const accessScope = createAccessScopes({
    regionConfig: deps.regionConfig,
    adminSeesPatientData: deps.settings.adminSeesPatientData,
    clock: deps.clock,
    poolAccessAfterCompletionMs,
  });
  const stow = stowHandler(
    {
      index: deps.index,
      objects: deps.objects,
      log: deps.log,
      audit: deps.trail,
      onStepTimed: (step, seconds) => metrics.timeStowStep(step, seconds),
      onIngested: (ingested) => metrics.countIngest('stow', ingested),
      now: () => deps.clock.now(),
    },
    {
      spoolDir: deps.settings.spoolDir,
      maxRequestBytes: deps.settings.stow.maxRequestBytes,
      maxParts: deps.settings.stow.maxParts,
      onStudyActivity: deps.studyActivity ? (study, site) => deps.studyActivity!.notify(study, site) : undefined,
      onOutcomes: (outcomes) => {
        for (const o of outcomes) metrics.stowInstances.inc({ outcome: o.kind });
      },
      pacing: { giveWay: reads.busy, sliceBytes: STOW_SLICE_WHILE_READING },
    },
  );
  const auth = deps.settings.auth;
  const worklist = new PostgresWorklistStore(deps.database);
  return {
    viewer: viewerHandlers(deps.viewerDir, auth.kind === 'oidc' ? { identityProviderOrigin: new URL(auth.issuer).origin } : {}),
    signInConfig: signInConfigHandler(auth, deps.settings.publicUrl),
    whoAmI: whoAmIHandler(deps.regionConfig),
    signIn: auth.kind === 'embedded' ? signInHandlers({ regionConfig: deps.regionConfig, keyDir: auth.keyDir, audience: auth.audience }) : undefined,
    checkReady: deps.checkReady,
    metrics,
    log: deps.log,
    stow,
    search: deps.search,
    accessScope,
    retrieve: { index: deps.index, objects: deps.objects, log: deps.log, accessScope, metadataCache: new MetadataCache(DEFAULT_METADATA_CACHE_BYTES) },
    rendered: renderedHandlers({ index: deps.index, objects: deps.objects, accessScope }),
    ...worklistServices({
      database: deps.database,
      store: worklist,
      regionConfig: deps.regionConfig,
      clock: deps.clock,
      poolAccessAfterCompletionMs,
      log: deps.log,
      routing: deps.routing,
      notifications: deps.notifications,
    }),
    reports: reportHandlers({
      database: deps.database,
      worklist,
      reports: deps.reports,
      index: deps.index,
      objects: deps.objects,
      keyring: new ReaderKeyring(deps.reports, path.join(deps.settings.dataDir, 'keys'), deps.clock),
      regionConfig: deps.regionConfig,
      clock: deps.clock,
      log: deps.log,
      spoolDir: deps.settings.spoolDir,
      dispatch: deps.reportDispatch,
      adminSeesPatientData: deps.settings.adminSeesPatientData,
      poolAccessAfterCompletionMs,
    }),
    indicators: indicatorsHandler({ database: deps.database, regionConfig: deps.regionConfig, clock: deps.clock }),
    studySends: studySendHandlers({
      sends: new StudySendStore(deps.database),
      index: deps.index,
      regionConfig: deps.regionConfig,
      clock: deps.clock,
      log: deps.log,
      dispatch: deps.studySendDispatch,
    }),
  };
}

/** Errors become RFC 9457 problem documents with the status meant for the user; the rest is logged as 500. */
function errorHandler(log: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (res.headersSent) {
      log.warn({ err: error, path: req.path }, 'response aborted after it started');
      res.destroy();
      return;
    }
    const problem =
      error instanceof HttpProblem
        ? error
        : isBodyTooLarge(error)
          ? new HttpProblem(413, 'The request body is too large.', 'payload-too-large')
          : transientProblem(error);
    if (!problem || problem.status === 503) {
      log.error({ err: error, method: req.method, path: req.path }, 'request failed');
    }
    const status = problem?.status ?? 500;
    for (const [name, value] of Object.entries(problem?.headers ?? {})) res.set(name, value);
    res
      .status(status)
      .type('application/problem+json')
      .send(
        JSON.stringify({
          type: 'about:blank',
          code: problem?.code ?? 'server-error',
          title: problem?.code ?? 'server-error',
          status,
          detail: problem?.message ?? 'The server failed to answer this request; the incident is logged.',
        }),
      );
  };
}

/** The database or storage down or restarting: 503 with Retry-After, so that clients come back. */
function transientProblem(error: unknown): HttpProblem | undefined {
  if (!transientFailure(error)) return undefined;
  return new HttpProblem(
    503,
    `The archive's database or storage is unavailable for a moment; try again in ${RETRY_AFTER_SECONDS} seconds.`,
    'temporarily-unavailable',
    { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  );
}

function isBodyTooLarge(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { type?: string }).type === 'entity.too.large';
}
