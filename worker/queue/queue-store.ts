/**
 * Where BullMQ keeps the jobs: in the application's PostgreSQL (schema `bullmq`, the embedded default: a fresh
 * machine needs no Redis) or in Redis when REDIS_URL is set. The same Queue/Worker code runs on both; only the
 * backend factory and the connection differ. Jobs only ever carry ids: PostgreSQL holds everything a lost
 * or replayed job would need.
 */
import { redactUrl } from '../../core/redact-url.ts';
import {
  createPostgresBackend,
  createRedisBackend,
  runMigrations as runBullmqMigrations,
  type JobsOptions,
  type JobType,
  type Processor,
  type Queue,
  type Worker,
  withBackend,
} from 'bullmq';
import pg from 'pg';
import type { Database } from '../../storage/database/database.ts';

export type QueueStoreKind = 'postgres' | 'redis';

/** What the worker uses of a BullMQ Queue, whatever its backend (both Queue classes have this shape). */
/** Jobs carry ids only (a study UID, an item id): PostgreSQL holds the rest. */
export type JobData = Record<string, string>;

export interface JobQueue {
  readonly name: string;
  add(name: string, data: JobData, opts?: JobsOptions): Promise<{ id?: string }>;
  /** The job under this id, whatever its state (a failed job stays until removed). */
  getJob(id: string): Promise<{ isFailed(): Promise<boolean>; remove(): Promise<void> } | undefined>;
  /** Moves delayed jobs to waiting, due or not. */
  promoteJobs(opts?: { count?: number }): Promise<void>;
  getJobCounts(...types: JobType[]): Promise<{ [index: string]: number }>;
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
}

/** What the worker uses of a BullMQ Worker, whatever its backend. */
export interface JobWorker {
  readonly name: string;
  waitUntilReady(): Promise<unknown>;
  close(force?: boolean): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'failed', listener: (job: { id?: string; name: string } | undefined, error: Error) => void): unknown;
}

export interface WorkerSettings {
  concurrency: number;
}

export interface QueueStore {
  readonly kind: QueueStoreKind;
  /** For logs: postgres (schema bullmq) or the Redis URL without password. */
  readonly description: string;
  queue(name: string): JobQueue;
  worker(name: string, processor: Processor<JobData>, settings: WorkerSettings): JobWorker;
  /** Closes what the store opened (call after closing its queues and workers). */
  close(): Promise<void>;
}

/** BullMQ's tables live in this schema of the application database (PostgreSQL backend). */
export const BULLMQ_SCHEMA = 'bullmq';

export async function openQueueStore(options: { redisUrl?: string; database: Database }): Promise<QueueStore> {
  return options.redisUrl ? redisQueueStore(options.redisUrl) : postgresQueueStore(options.database);
}

/**
 * One small pool per process for BullMQ, apart from the application's: a burst of jobs never starves the
 * HTTP requests of connections. Each worker keeps one of its connections for LISTEN.
 */
async function postgresQueueStore(database: Database): Promise<QueueStore> {
  const connectionString = database.pool.options.connectionString;
  if (typeof connectionString !== 'string') {
    throw new Error('the PostgreSQL queue backend needs the database URL of the application pool');
  }
  // BullMQ's SQL names its tables and functions unqualified: a pool we build must put its schema on the path.
  const pool = new pg.Pool({
    connectionString,
    max: 8,
    keepAlive: true,
    application_name: 'astreinte-queue',
    options: `-c search_path=${BULLMQ_SCHEMA}`,
  });
  pool.on('error', () => undefined); // an idle connection dropped by the server is replaced by the pool
  // As the owner (the application role cannot create a schema); the owner then grants the application role.
  await database.asOwner(async (owner) => {
    const client = await owner.connect();
    try {
      await runBullmqMigrations(client, BULLMQ_SCHEMA); // serialised across processes by an advisory lock
    } finally {
      client.release();
    }
  });
  const { Queue, Worker } = withBackend(createPostgresBackend);
  return {
    kind: 'postgres',
    description: `PostgreSQL (schema ${BULLMQ_SCHEMA})`,
    queue: (name: string) => new Queue<JobData>(name, { connection: pool }),
    worker: (name: string, processor: Processor<JobData>, settings: WorkerSettings) =>
      new Worker<JobData>(name, processor, { connection: pool, concurrency: settings.concurrency }),
    close: () => pool.end(),
  };
}

async function redisQueueStore(url: string): Promise<QueueStore> {
  const { Queue, Worker } = withBackend(createRedisBackend);
  return {
    kind: 'redis',
    description: `Redis (${redactUrl(url)})`,
    // Producers fail fast while Redis is down (the database keeps the activity; the sweep routes the study).
    queue: (name: string) =>
      new Queue<JobData>(name, { connection: { url, enableOfflineQueue: false } }),
    // Workers wait for Redis to come back instead of failing their blocking commands.
    worker: (name: string, processor: Processor<JobData>, settings: WorkerSettings) =>
      new Worker<JobData>(
        name,
        processor,
        { connection: { url, maxRetriesPerRequest: null }, concurrency: settings.concurrency },
      ),
    close: async () => undefined,
  };
}
