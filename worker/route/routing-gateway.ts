/**
 * What the HTTP layer calls: after each STOW request that stored instances (recordStudyActivity) and for
 * `POST /api/studies/{study}/complete` (markStudyComplete). Activity goes to PostgreSQL first, then a job is
 * queued: debounced with BullMQ's own deduplication (replace + extend while delayed), so the routing job
 * runs once no instance arrived for the stability delay. A job that cannot be queued is only logged: the
 * worker's sweep routes every stable study without a decision.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../core/time/clock.ts';
import type { WorklistStore } from '../../storage/worklist/worklist-store.ts';
import type { CompletionFlags, RoutingDecision } from '../../storage/worklist/worklist-types.ts';
import type { JobQueue } from '../queue/queue-store.ts';

export type { CompletionFlags } from '../../storage/worklist/worklist-types.ts';

export type CompletionResult =
  /** Routing will run at once (or is running). */
  | { status: 'queued' }
  /** Already routed or refused: nothing changes (flags sent after routing do not re-route). */
  | { status: 'already-decided'; decision: RoutingDecision }
  /** No such study in the archive: nothing to complete (HTTP 404). */
  | { status: 'unknown-study' };

export interface RoutingGateway {
  /**
   * Records that instances of a study were just stored (`site`: FINESS of the STOW sender, null for admin
   * ingest; `at`: default clock.now()). Resolves once the activity is in PostgreSQL; rejects only if PostgreSQL
   * fails (the instances are stored anyway: log it, do not fail the STOW).
   */
  recordStudyActivity(studyInstanceUID: string, site: string | null, at?: Date): Promise<void>;
  /** The sender says the study is complete: routes it now, with the sender's flags (stroke, expertise...). */
  markStudyComplete(studyInstanceUID: string, flags?: CompletionFlags): Promise<CompletionResult>;
}

export const ROUTING_QUEUE = 'astreinte-routing';
export const ROUTE_STUDY_JOB = 'route-study';
/** A queue that does not answer within this delay is skipped: the sweep routes the study later. */
const ENQUEUE_TIMEOUT_MS = 2_000;

export interface RoutingGatewayDependencies {
  store: WorklistStore;
  queue: JobQueue;
  clock: Clock;
  log: Logger;
  stabilityMs: number;
}

export function createRoutingGateway(deps: RoutingGatewayDependencies): RoutingGateway {
  const enqueue = async (studyInstanceUID: string, delay: number) => {
    try {
      await withTimeout(
        deps.queue.add(
          ROUTE_STUDY_JOB,
          { studyInstanceUID },
          {
            delay,
            // Debounce: while the job waits, each new activity replaces it and restarts the delay.
            deduplication: { id: `route-${studyInstanceUID}`, ttl: Math.max(delay, 1), extend: true, replace: true },
            attempts: 5,
            backoff: { type: 'exponential', delay: 1_000 },
            removeOnComplete: { age: 3_600, count: 10_000 },
            removeOnFail: { age: 7 * 86_400 },
          },
        ),
        ENQUEUE_TIMEOUT_MS,
      );
    } catch (error) {
      deps.log.warn(
        { err: error },
        'routing job not queued (queue unavailable); the routing sweep will route the study once stable',
      );
    }
  };

  return {
    async recordStudyActivity(studyInstanceUID, site, at = deps.clock.now()) {
      await deps.store.recordStudyActivity(studyInstanceUID, site, at);
      await enqueue(studyInstanceUID, deps.stabilityMs);
    },

    async markStudyComplete(studyInstanceUID, flags = {}) {
      if (!(await deps.store.recordCompletion(studyInstanceUID, flags, deps.clock.now()))) {
        return { status: 'unknown-study' };
      }
      const decision = await deps.store.findDecision(studyInstanceUID);
      if (decision && decision.decision !== 'held') return { status: 'already-decided', decision };
      await enqueue(studyInstanceUID, 0);
      return { status: 'queued' };
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the queue within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
