/**
 * The swept job queue (report deliveries, study sends) on both BullMQ backends, against a private PostgreSQL and
 * Redis: a record PostgreSQL still calls unfinished is tried again by the sweep even when its job has used all
 * its tries (a try that failed before the record could say so). Before, the failed job kept its id and the
 * sweep's add under that id did nothing: the record stayed unfinished for ever, its report never delivered.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../storage/database/database.ts';
import { startSweptJobQueue, type SweptJobQueue } from '../../worker/queue/swept-job-queue.ts';
import { createTestDatabase, startTestPostgres, type TestPostgres } from '../support/postgres.ts';
import { QUEUE_BACKENDS, startRedisServer, type TestRedisServer } from '../support/redis-server.ts';
import { until } from '../support/until.ts';

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});

describe.each(QUEUE_BACKENDS)('a swept job queue, $name', (backend) => {
  let redis: TestRedisServer | undefined;
  let db: Database;
  let queue: SweptJobQueue | undefined;

  beforeAll(async () => {
    if (backend.redis) redis = await startRedisServer();
    db = await openDatabase({ kind: 'external', url: await createTestDatabase(postgres.url) });
  });
  afterAll(async () => {
    await queue?.stop();
    await db?.close();
    await redis?.stop();
  });

  it('tries a record again when the sweep finds it unfinished and its job failed for good', async () => {
    const tries: number[] = [];
    queue = await startSweptJobQueue({
      redisUrl: redis?.url,
      database: db,
      queueName: 'swept-test',
      jobName: 'try',
      idField: 'recordId',
      jobIdPrefix: 'record',
      attempts: 2,
      backoffMs: 20,
      concurrency: 1,
      label: 'test record',
      log: pino({ level: 'silent' }),
      // PostgreSQL's side: the record is unfinished until a try succeeds.
      unfinished: async () => (tries.length < 3 ? ['r1'] : []),
      run: async (_id, attempt) => {
        tries.push(attempt.attemptsMade);
        if (tries.length < 3) throw new Error(`try ${tries.length} failed before the record could say so`);
      },
    });
    // The start's sweep queued it; BullMQ tried it twice (its `attempts`), then left the job failed.
    await until('the job to use its two tries', async () => (tries.length === 2 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(tries).toEqual([0, 1]);

    expect(await queue.sweep()).toBe(1);
    await until('the sweep to have the record tried again', async () => (tries.length === 3 ? true : undefined));
    // A new job: its own count starts again, so its backoff does too.
    expect(tries).toEqual([0, 1, 0]);
    expect(await queue.sweep()).toBe(0);
  }, 60_000);
});
