/**
 * The routing worker: queues (PostgreSQL or Redis backend), the routing and escalation workers, reconciliation
 * at start and a safety sweep. Several may run at once (in the gateway process and in `astreinte worker`
 * processes) against one queue store and one PostgreSQL: routing takes a per-study advisory lock and the
 * unique index forbids a second item; escalation hops are counted under a row lock. Decisions come from the
 * database and the clock; jobs only say when to look.
 */
import type { AuditRecorder } from '../audit/audit-trail.ts';
import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { RegionConfig } from '../config/region/region-config.ts';
import { DEFAULT_ROUTING_OPTIONS, type RoutingOptions, type Settings } from '../config/settings.ts';
import type { Database } from '../storage/database/database.ts';
import { migrateAll } from '../storage/database/migration-sources.ts';
import { PostgresWorklistStore } from '../storage/worklist/postgres-worklist-store.ts';
import type { WorklistStore } from '../storage/worklist/worklist-store.ts';
import { escalateDue, escalateItem, type EscalationResult } from './escalate/escalate-item.ts';
import { openQueueStore, type JobData, type JobQueue, type JobWorker, type QueueStoreKind } from './queue/queue-store.ts';
import { routeStudy, type RouteOutcome, type RoutedItem } from './route/route-study.ts';
import { createRoutingGateway, ROUTE_STUDY_JOB, ROUTING_QUEUE, type RoutingGateway } from './route/routing-gateway.ts';
import type { Clock } from '../core/time/clock.ts';

export const ESCALATION_QUEUE = 'astreinte-escalation';
const ESCALATE_JOB = 'escalate';
const READY_TIMEOUT_MS = 15_000;
const RECONCILE_BATCH = 200;

export interface RoutingWorkerDependencies {
  /** The queue backend (Redis or PostgreSQL) and the routing options (defaults when not given). */
  settings: Pick<Settings, 'redisUrl'> & Partial<Pick<Settings, 'routing'>>;
  database: Database;
  regionConfig: RegionConfig;
  clock: Clock;
  log: Logger;
  /** Overrides of the settings' routing options. */
  options?: Partial<RoutingOptions>;
  /** Where routing decisions and escalations are audited (the gateway passes its trail). */
  audit?: AuditRecorder;
  /** Where decisions and items are written; default: the PostgreSQL store on `database`. */
  store?: WorklistStore;
}

export interface RoutingWorker {
  /** Handed to the HTTP layer (STOW, POST /api/studies/{study}/complete). */
  gateway: RoutingGateway;
  /** Stops the sweep, waits for running jobs, closes queues and workers (not the database). */
  stop(): Promise<void>;
  readonly backend: QueueStoreKind;
  readonly options: RoutingOptions;
  /** Routes one study now, in this process (idempotent). */
  routeStudy(studyInstanceUID: string): Promise<RouteOutcome>;
  /** Routes every stable study without a decision; returns how many got one. */
  reconcile(): Promise<number>;
  /** Takes every escalation hop and deadline alert due at clock.now(); returns what happened. */
  escalateDue(): Promise<EscalationResult[]>;
  /**
   * Moves every delayed escalation job to waiting (tests and rehearsals drive the clock ahead of real time):
   * each then decides from the database and the clock; one whose time has not come goes back to delayed.
   */
  promoteDueJobs(): Promise<void>;
}

export async function startRoutingWorker(deps: RoutingWorkerDependencies): Promise<RoutingWorker> {
  const { database, regionConfig: config, clock, log } = deps;
  const options: RoutingOptions = { ...DEFAULT_ROUTING_OPTIONS, ...deps.settings.routing, ...deps.options };
  const worklist = deps.store ?? new PostgresWorklistStore(database);
  const context = { store: worklist, config, clock, audit: deps.audit };
  await database.asOwner(migrateAll); // worklist tables (no-op when the gateway already applied them)

  const store = await openQueueStore({ redisUrl: deps.settings.redisUrl, database });
  const routingQueue = store.queue(ROUTING_QUEUE);
  const escalationQueue = store.queue(ESCALATION_QUEUE);
  const workers: JobWorker[] = [];
  let sweepTimer: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;

  const closeAll = async () => {
    if (sweepTimer) clearInterval(sweepTimer);
    await sweeping;
    await Promise.allSettled(workers.map((w) => w.close()));
    await Promise.allSettled([routingQueue.close(), escalationQueue.close()]);
    await store.close();
  };

  try {
    await withTimeout(Promise.all([routingQueue.waitUntilReady(), escalationQueue.waitUntilReady()]), READY_TIMEOUT_MS, () =>
      store.kind === 'redis'
        ? 'Redis (REDIS_URL) did not answer: start it, or unset REDIS_URL to keep the jobs in PostgreSQL'
        : 'the PostgreSQL queue backend did not answer',
    );
    const gateway = createRoutingGateway({ store: worklist, queue: routingQueue, clock, log, stabilityMs: options.stabilityMs });
    const scheduler = escalationScheduler(escalationQueue, clock, log);

    const route = async (studyInstanceUID: string): Promise<RouteOutcome> => {
      const outcome = await routeStudy(context, studyInstanceUID);
      if (outcome.decision && !outcome.replay) {
        // No Study UID and nothing that tells a held study (a patient's objection) from another one not routed:
        // the decision and its reason are in the audit trail and behind GET /api/studies/{study}/routing.
        if (outcome.item) log.info({ item: outcome.item.id, rule: outcome.decision.rule, pool: outcome.item.pool }, 'worklist item created');
        else log.info('study routing decided: not routed (see the audit trail)');
      }
      if (outcome.item && !outcome.replay) await scheduler.scheduleNewItem(outcome.item);
      return outcome;
    };

    /** Decisions taken here (not by another worker meanwhile). */
    const reconcile = async (): Promise<number> => {
      let decided = 0;
      for (;;) {
        const studies = await worklist.findStableUnrouted(new Date(clock.now().getTime() - options.stabilityMs), RECONCILE_BATCH);
        let progressed = 0;
        for (const study of studies) {
          const outcome = await route(study);
          if (outcome.decision && !outcome.replay) progressed++;
        }
        decided += progressed;
        if (progressed === 0 || studies.length < RECONCILE_BATCH) return decided;
      }
    };

    const sweep = async (): Promise<EscalationResult[]> => {
      const routed = await reconcile();
      if (routed > 0) log.warn({ studies: routed }, 'routed stable studies whose routing job was lost');
      const results = await escalateDue(context);
      for (const result of results) await scheduler.scheduleFollowUp(result);
      return results;
    };

    if (options.consume) {
      workers.push(
        store.worker(
          ROUTING_QUEUE,
          async (job: Job<JobData>) => {
            if (job.name !== ROUTE_STUDY_JOB) return;
            await route(job.data.studyInstanceUID);
          },
          { concurrency: options.concurrency },
        ),
        store.worker(
          ESCALATION_QUEUE,
          async (job: Job<JobData>, token?: string) => {
            if (job.name !== ESCALATE_JOB) return;
            const result = await escalateItem(context, job.data.itemId);
            const wait = scheduler.notYetDue(job.data, result);
            if (wait !== null) {
              // Promoted or woken before its time on the clock: back to sleep for the time left.
              await job.moveToDelayed(Date.now() + wait, token);
              throw new DelayedError();
            }
            if (result.hops.length > 0 || result.deadlineAlerted) {
              log.info({ item: result.itemId, hops: result.hops.map((h) => `${h.hop}:${h.step}`), deadlineAlerted: result.deadlineAlerted }, 'worklist item escalated');
            }
            await scheduler.scheduleFollowUp(result);
          },
          { concurrency: options.concurrency },
        ),
      );
      for (const worker of workers) {
        worker.on('error', (error) => log.error({ err: error, queue: worker.name }, 'queue worker error'));
        worker.on('failed', (job, error) => log.warn({ err: error, queue: worker.name, job: job?.id }, 'job failed (it is retried; the sweep covers it otherwise)'));
      }
      await Promise.all(workers.map((w) => w.waitUntilReady()));

      // Reconciliation at start: the queue may have lost jobs (Redis restarted without persistence, a worker
      // killed mid-routing, a gateway that could not enqueue).
      await sweep();
      if (options.sweepIntervalMs > 0) {
        sweepTimer = setInterval(() => {
          if (sweeping) return;
          sweeping = sweep()
            .then(() => undefined)
            .catch((error: unknown) => log.error({ err: error }, 'routing sweep failed; retried at the next one'))
            .finally(() => (sweeping = undefined));
        }, options.sweepIntervalMs);
        sweepTimer.unref();
      }
    }
    log.info({ queue: store.description, consume: options.consume, stabilitySeconds: options.stabilityMs / 1000 }, 'routing worker started');

    let stopped: Promise<void> | undefined;
    return {
      gateway,
      backend: store.kind,
      options,
      routeStudy: route,
      reconcile,
      escalateDue: () => escalateDue(context).then(async (results) => {
        for (const result of results) await scheduler.scheduleFollowUp(result);
        return results;
      }),
      promoteDueJobs: () => escalationQueue.promoteJobs(),
      stop: () => (stopped ??= closeAll()),
    };
  } catch (error) {
    await closeAll().catch(() => undefined);
    throw error;
  }
}

/** Delayed escalation jobs: one per hop (`escalation-<item>-hop-<n>`) and one for the deadline. */
function escalationScheduler(queue: JobQueue, clock: Clock, log: Logger) {
  const add = async (itemId: string, kind: 'hop' | 'deadline', at: Date, level?: number) => {
    const jobId = kind === 'hop' ? `escalation-${itemId}-hop-${level}` : `escalation-${itemId}-deadline`;
    try {
      await queue.add(
        ESCALATE_JOB,
        { itemId, kind, ...(level === undefined ? {} : { level: String(level) }) },
        {
          jobId,
          delay: Math.max(0, at.getTime() - clock.now().getTime()),
          attempts: 5,
          backoff: { type: 'exponential', delay: 1_000 },
          removeOnComplete: { age: 7 * 86_400, count: 100_000 },
          removeOnFail: { age: 7 * 86_400 },
        },
      );
    } catch (error) {
      log.warn({ err: error, item: itemId, job: jobId }, 'escalation job not queued; the sweep takes the hop when due');
    }
  };
  const OPEN = new Set(['SCHEDULED', 'IN PROGRESS']);
  return {
    async scheduleNewItem(item: RoutedItem) {
      if (item.nextEscalationAt) await add(item.id, 'hop', item.nextEscalationAt, 0);
      await add(item.id, 'deadline', item.deadline);
    },
    async scheduleFollowUp(result: EscalationResult) {
      if (result.status === 'SCHEDULED' && result.nextEscalationAt) {
        await add(result.itemId, 'hop', result.nextEscalationAt, result.escalationLevel);
      }
    },
    /** Milliseconds until this job's concern is due on the clock, or null when it is due (or moot). */
    notYetDue(data: JobData, result: EscalationResult): number | null {
      if (result.status === null || !OPEN.has(result.status)) return null;
      const now = clock.now().getTime();
      if (data.kind === 'deadline') {
        return !result.deadlineAlertDone && result.deadline && result.deadline.getTime() > now ? result.deadline.getTime() - now : null;
      }
      const sameHop = String(result.escalationLevel) === data.level;
      return result.status === 'SCHEDULED' && sameHop && result.nextEscalationAt && result.nextEscalationAt.getTime() > now
        ? result.nextEscalationAt.getTime() - now
        : null;
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
