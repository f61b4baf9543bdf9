import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import type { RegionConfig } from '../../../config/region/region-config.ts';
import { TestClock } from '../../../core/time/clock.ts';
import type { ObjectStore } from '../../../storage/objects/object-store.ts';
import type { AttemptOutcome, DeliveryRecord, ReportStore, SignedReportRecord } from '../../../storage/report/report-store.ts';
import type { WorklistStore } from '../../../storage/worklist/worklist-store.ts';
import { deliver, type DeliveryWorkerDeps } from '../../../worker/deliver/delivery-worker.ts';

const NOW = '2026-11-22T01:10:00.000Z';
const SITE = '090000050';

/** A delivery to an MLLP RIS whose signed objects cannot be read: every try fails, never for good. */
function failingDelivery(attemptsSoFar: number) {
  const recorded: AttemptOutcome[] = [];
  const delivery = { id: '7', reportId: 'r1', destination: 'ris', kind: 'hl7-mllp', status: 'retrying', attempts: attemptsSoFar } as DeliveryRecord;
  const report = { id: 'r1', itemId: 'i1', site: SITE, kind: 'report', pdf: { objectKey: 'pdf' } } as SignedReportRecord;
  const reports = {
    delivery: async () => delivery,
    signedReport: async () => report,
    recordAttempt: async (_id: string, outcome: AttemptOutcome) => (recorded.push(outcome), delivery),
  } as unknown as ReportStore;
  const site = { reportDestinations: [{ id: 'ris', kind: 'hl7-mllp', host: '127.0.0.1', port: 9 }] };
  const deps = {
    settings: { delivery: { attempts: 8, backoffMs: 200 } },
    reports,
    objects: { read: async () => Promise.reject(new Error('object store unreachable')) } as unknown as ObjectStore,
    regionConfig: { siteByFiness: new Map([[SITE, site]]) } as unknown as RegionConfig,
    worklist: { findItem: async () => null } as unknown as WorklistStore,
    clock: new TestClock(NOW),
    log: { info: () => undefined, error: () => undefined } as unknown as Logger,
  } as unknown as DeliveryWorkerDeps;
  return { deps, recorded };
}

describe("a failed delivery's next try, as recorded", () => {
  it("follows the job's own tries: a job the sweep queued again waits the first backoff, whatever PostgreSQL counted", async () => {
    const { deps, recorded } = failingDelivery(4);
    await expect(deliver(deps, '7', 8, { attemptsMade: 0, retryDelayMs: 200 })).rejects.toThrow('object store unreachable');
    expect(recorded).toEqual([expect.objectContaining({ ok: false, status: 'retrying', nextAttemptAt: new Date(Date.parse(NOW) + 200) })]);
  });

  it('is none after the last try of the delivery', async () => {
    const { deps, recorded } = failingDelivery(7);
    await expect(deliver(deps, '7', 8, { attemptsMade: 2, retryDelayMs: 800 })).rejects.toThrow();
    expect(recorded).toEqual([expect.objectContaining({ status: 'failed', nextAttemptAt: null })]);
  });

  it('is not guessed when the job itself will not try again', async () => {
    const { deps, recorded } = failingDelivery(3);
    await expect(deliver(deps, '7', 8, { attemptsMade: 7, retryDelayMs: null })).rejects.toThrow();
    expect(recorded).toEqual([expect.objectContaining({ status: 'retrying', nextAttemptAt: null })]);
  });
});
