/**
 * One BullMQ job per record kept in PostgreSQL (a report delivery, a study send): the job carries the record's id
 * only, under a job id derived from it, so a record is never queued twice; tries back off exponentially. A sweep
 * re-queues the records PostgreSQL still calls unfinished: a dispatch lost between commit and queue, or a queue
 * lost with Redis, costs a delay, never the work.
 */
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Database } from '../../storage/database/database.ts';
import { openQueueStore, type JobData, type JobWorker } from './queue-store.ts';

export interface SweptJobQueueOptions {
  redisUrl?: string;
  database: Database;
  queueName: string;
  jobName: string;
  /** The job data's field that holds the record id, and the job id's prefix. */
  idField: string;
  jobIdPrefix: string;
  attempts: number;
  backoffMs: number;
  /** Run the jobs in this process (default true). */
  consume?: boolean;
  concurrency: number;
  sweepIntervalMs?: number;
  /** What the log calls these jobs ("delivery", "study send"). */
  label: string;
  log: Logger;
  /** The ids PostgreSQL still calls unfinished. */
  unfinished(): Promise<readonly string[]>;
  /** One try at the record; a throw is a failed attempt (retried until `attempts`). */
  run(id: string, attempt: JobAttempt): Promise<void>;
}

/** What a try knows of its job: BullMQ counts the job's own tries, and a job re-queued by the sweep starts again at 0. */
export interface JobAttempt {
  /** The job's tries before this one. */
  attemptsMade: number;
  /** How long the queue waits before the next try should this one throw (not unrecoverable); null: no next try. */
  retryDelayMs: number | null;
}

/** The job's own options count (a job queued before a change of settings keeps those it was queued with). */
function attemptOf(job: Job<JobData>, options: Pick<SweptJobQueueOptions, 'attempts' | 'backoffMs'>): JobAttempt {
  const backoff = job.opts.backoff;
  const backoffMs = (typeof backoff === 'object' ? backoff.delay : backoff) ?? options.backoffMs;
  const attempts = job.opts.attempts ?? options.attempts;
  return { attemptsMade: job.attemptsMade, retryDelayMs: retryDelayMs(backoffMs, attempts, job.attemptsMade) };
}

/**
 * The queue's wait after the failed try of a job that had made `attemptsMade` tries before it: BullMQ 6's
 * exponential backoff without jitter (Job.shouldRetryJob calls it with attemptsMade + 1, hence 2^attemptsMade),
 * and no retry once the job's `attempts` are used.
 */
export function retryDelayMs(backoffMs: number, attempts: number, attemptsMade: number): number | null {
  return attemptsMade + 1 < attempts ? Math.round(2 ** attemptsMade * backoffMs) : null;
}

export interface SweptJobQueue {
  dispatch(id: string): Promise<void>;
  /** Queues every unfinished record; returns how many. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

export async function startSweptJobQueue(options: SweptJobQueueOptions): Promise<SweptJobQueue> {
  const store = await openQueueStore({ redisUrl: options.redisUrl, database: options.database });
  const queue = store.queue(options.queueName);
  await queue.waitUntilReady();
  const workers: JobWorker[] = [];
  const log = options.log;

  const jobIdOf = (id: string) => `${options.jobIdPrefix}-${id}`;
  const dispatch = async (id: string) => {
    await queue.add(options.jobName, { [options.idField]: id }, {
      jobId: jobIdOf(id),
      attempts: options.attempts,
      backoff: { type: 'exponential', delay: options.backoffMs },
      removeOnComplete: true,
    });
  };
  // A record PostgreSQL still calls unfinished whose job used all its tries (a try that failed before it could be
  // recorded): the failed job keeps its id, and adding under that id would do nothing, for ever. It goes first.
  const releaseFailedJob = async (id: string) => {
    const job = await queue.getJob(jobIdOf(id));
    if (job && (await job.isFailed())) {
      log.warn({ job: jobIdOf(id) }, `${options.label}: its job had used its tries while the record is unfinished; queued again`);
      await job.remove();
    }
  };
  const sweep = async () => {
    const ids = await options.unfinished();
    for (const id of ids) {
      await releaseFailedJob(id);
      await dispatch(id);
    }
    return ids.length;
  };

  if (options.consume !== false) {
    const worker = store.worker(
      options.queueName,
      async (job: Job<JobData>) => {
        if (job.name !== options.jobName) return;
        await options.run(job.data[options.idField], attemptOf(job, options));
      },
      { concurrency: options.concurrency },
    );
    worker.on('error', (error) => log.error({ err: error }, `${options.label} worker error`));
    worker.on('failed', (job, error) => log.warn({ err: error, job: job?.id }, `${options.label} attempt failed`));
    await worker.waitUntilReady();
    workers.push(worker);
    await sweep();
  }
  const timer = options.sweepIntervalMs
    ? setInterval(() => void sweep().catch((error: unknown) => log.error({ err: error }, `${options.label} sweep failed`)), options.sweepIntervalMs)
    : undefined;
  timer?.unref();

  let stopped: Promise<void> | undefined;
  return {
    dispatch,
    sweep,
    stop: () =>
      (stopped ??= (async () => {
        if (timer) clearInterval(timer);
        await Promise.allSettled(workers.map((w) => w.close()));
        await queue.close();
        await store.close();
      })()),
  };
}
