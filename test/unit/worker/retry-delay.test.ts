import { Backoffs } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../../worker/queue/swept-job-queue.ts';

describe("the wait before a job's next try, as the swept queue records it", () => {
  // What BullMQ itself computes when a try of a job with `attemptsMade` earlier tries throws (Job.shouldRetryJob).
  const bullmq = (backoffMs: number, attemptsMade: number) => Backoffs.calculate({ type: 'exponential', delay: backoffMs }, attemptsMade + 1, new Error('x'), undefined as never);

  it.each([
    [200, 0],
    [200, 1],
    [30_000, 6],
    [150, 3],
  ])('is BullMQ 6 exponential backoff (delay %i ms, %i tries before)', async (backoffMs, attemptsMade) => {
    expect(retryDelayMs(backoffMs, 8, attemptsMade)).toBe(await bullmq(backoffMs, attemptsMade));
  });

  it('doubles from the first wait, and there is none after the last of the job', () => {
    expect([0, 1, 2].map((made) => retryDelayMs(200, 3, made))).toEqual([200, 400, null]);
    expect(retryDelayMs(200, 1, 0)).toBeNull();
  });
});
