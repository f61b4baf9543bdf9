/**
 * What the HTTP layer calls: after each STOW request that stored instances (recordStudyActivity) and for
 * `POST /api/studies/{study}/complete` (markStudyComplete). Activity goes to PostgreSQL first, then a job is
 * queued: debounced with BullMQ's own deduplication (replace + extend while delayed), so the routing job
 * runs once no instance arrived for the stability delay. A job that cannot be queued is only logged: the
 * worker's sweep routes every stable study without a decision.
 */
import type { Logger } from 'pino';
import { EXPERTISES, PRIORITY_FLAGS, type Expertise, type PriorityFlag } from '../../config/region/region-config.ts';
import type { Database } from '../../storage/database/database.ts';
import type { JobQueue } from '../queue/queue-store.ts';
import type { Clock } from '../../core/time/clock.ts';
import type { RoutingDecision } from '../../storage/worklist/worklist-types.ts';
import type { CompletionFlags } from './read-study-facts.ts';
import { selectDecision } from './route-study.ts';
import { recordCompletion, upsertStudyActivity } from './study-activity.ts';

export type { CompletionFlags } from './read-study-facts.ts';

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
  database: Database;
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
      await upsertStudyActivity(deps.database, studyInstanceUID, site, at);
      await enqueue(studyInstanceUID, deps.stabilityMs);
    },

    async markStudyComplete(studyInstanceUID, flags = {}) {
      if (!(await recordCompletion(deps.database, studyInstanceUID, flags, deps.clock.now()))) {
        return { status: 'unknown-study' };
      }
      const decision = await selectDecision(deps.database.pool, studyInstanceUID);
      if (decision && decision.decision !== 'held') return { status: 'already-decided', decision };
      await enqueue(studyInstanceUID, 0);
      return { status: 'queued' };
    },
  };
}

export class CompletionFlagsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CompletionFlagsError';
  }
}

/**
 * The body of `POST /api/studies/{study}/complete`: empty, or `{ "priority": "stroke" | "urgent" | "scheduled",
 * "expertise": "neuroradiology" | "cardiovascular-imaging" | "pneumology" | "neurosurgery" }`. Throws a
 * CompletionFlagsError (HTTP 400) naming what is wrong.
 */
export function parseCompletionFlags(body: unknown): CompletionFlags {
  if (body === undefined || body === null || body === '') return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new CompletionFlagsError('the body must be a JSON object such as {"priority": "stroke"}, or empty');
  }
  const record = body as Record<string, unknown>;
  const unknownKeys = Object.keys(record).filter((k) => k !== 'priority' && k !== 'expertise');
  if (unknownKeys.length > 0) {
    throw new CompletionFlagsError(`unknown field ${unknownKeys.map((k) => JSON.stringify(k)).join(', ')}: only "priority" and "expertise" are accepted`);
  }
  const flags: CompletionFlags = {};
  if (record.priority !== undefined) {
    if (typeof record.priority !== 'string' || !(PRIORITY_FLAGS as readonly string[]).includes(record.priority)) {
      throw new CompletionFlagsError(`"priority" must be one of ${PRIORITY_FLAGS.join(', ')}`);
    }
    flags.priority = record.priority as PriorityFlag;
  }
  if (record.expertise !== undefined) {
    if (typeof record.expertise !== 'string' || !(EXPERTISES as readonly string[]).includes(record.expertise)) {
      throw new CompletionFlagsError(`"expertise" must be one of ${EXPERTISES.join(', ')}`);
    }
    flags.expertise = record.expertise as Expertise;
  }
  return flags;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the queue within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
