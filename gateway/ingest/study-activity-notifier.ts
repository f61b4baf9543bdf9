import type { Logger } from 'pino';

export type RecordStudyActivity = (studyInstanceUID: string, site: string | null) => Promise<void>;

/**
 * Tells routing that a study received instances, off the STOW response path and coalesced per study: while one
 * record for a study is under way, or less than `minIntervalMs` after it started, further requests for it only
 * mark it to be recorded once more after that (a series sent one instance per request makes one record per
 * interval, not one per instance: each record is an upsert plus a debounced job, about six statements). The
 * last record always starts after the last notification, so routing never sees a study stable too early.
 * A record lost to a crash between the response and here is not lost for routing: the worker's sweep also
 * finds indexed studies that have no activity and no decision.
 */
export class StudyActivityNotifier {
  private readonly inFlight = new Map<string, { site: string | null; again: boolean }>();

  constructor(
    private readonly record: RecordStudyActivity,
    private readonly log: Logger,
    private readonly minIntervalMs = 0,
  ) {}

  notify(studyInstanceUID: string, site: string | null): void {
    const current = this.inFlight.get(studyInstanceUID);
    if (current) {
      current.again = true;
      return;
    }
    this.inFlight.set(studyInstanceUID, { site, again: false });
    void this.run(studyInstanceUID);
  }

  /** Resolves once nothing is under way (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  private async run(studyInstanceUID: string): Promise<void> {
    for (;;) {
      const state = this.inFlight.get(studyInstanceUID)!;
      state.again = false;
      const started = Date.now();
      try {
        await this.record(studyInstanceUID, state.site);
      } catch (error) {
        this.log.error({ err: error }, 'study activity not recorded: the routing sweep will pick the study up');
      }
      const wait = started + this.minIntervalMs - Date.now();
      if (state.again && wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (!state.again) break;
    }
    this.inFlight.delete(studyInstanceUID);
  }
}
