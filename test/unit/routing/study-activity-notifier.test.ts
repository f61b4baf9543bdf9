import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { StudyActivityNotifier } from '../../../gateway/ingest/study-activity-notifier.ts';

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('StudyActivityNotifier', () => {
  it('records a burst of notifications for one study once per interval, the last record after the last notification', async () => {
    const records: { study: string; at: number }[] = [];
    const notifier = new StudyActivityNotifier(async (study) => {
      records.push({ study, at: Date.now() });
      await sleep(5);
    }, silent, 100);
    const started = Date.now();
    let lastNotification = 0;
    let notifications = 0;
    while (Date.now() - started < 350) {
      notifier.notify('1.2.3', '090000050');
      notifications += 1;
      lastNotification = Date.now();
      await sleep(2);
    }
    await notifier.drain();
    // About one record per 100 ms over 350 ms of notifications (instead of one per notification); a loaded
    // machine only makes fewer of either.
    expect(records.length).toBeGreaterThanOrEqual(2);
    expect(records.length).toBeLessThanOrEqual(6);
    expect(notifications).toBeGreaterThan(records.length * 3);
    for (let i = 1; i < records.length; i++) expect(records[i].at - records[i - 1].at).toBeGreaterThanOrEqual(99);
    expect(records.at(-1)!.at).toBeGreaterThanOrEqual(lastNotification);
  });

  it('records each study on its own, and a lone notification at once', async () => {
    const records: string[] = [];
    const notifier = new StudyActivityNotifier(async (study) => void records.push(study), silent, 1000);
    const before = Date.now();
    notifier.notify('1.2.3', null);
    notifier.notify('1.2.4', null);
    await notifier.drain();
    expect(Date.now() - before).toBeLessThan(500);
    expect(records.sort()).toEqual(['1.2.3', '1.2.4']);
  });

  it('keeps recording after a failed record, and logs it', async () => {
    let calls = 0;
    const errors: unknown[] = [];
    const log = { error: (entry: unknown) => errors.push(entry) } as unknown as pino.Logger;
    const notifier = new StudyActivityNotifier(async () => {
      calls += 1;
      if (calls === 1) throw new Error('database down');
    }, log, 10);
    notifier.notify('1.2.3', null);
    notifier.notify('1.2.3', null);
    await notifier.drain();
    expect(calls).toBe(2);
    expect(errors).toHaveLength(1);
  });
});
