import type { Logger } from 'pino';

export type RecordStudyActivity = (studyInstanceUID: string, site: string | null) => Promise<void>;

/**
 * Tells routing that a study received instances, off the STOW response path and coalesced per study: while one
 * record for a study is under way, further requests for it only mark it to be recorded once more when that
 * one ends (a series sent one instance per request makes a handful of records, not one per instance).
 * A record lost to a crash between the response and here is not lost for routing: the worker's sweep also
 * finds indexed studies that have no activity and no decision.
 */
export class StudyActivityNotifier {
  private readonly inFlight = new Map<string, { site: string | null; again: boolean }>();

  constructor(
    private readonly record: RecordStudyActivity,
    private readonly log: Logger,
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
      try {
        await this.record(studyInstanceUID, state.site);
      } catch (error) {
        this.log.error({ err: error }, 'study activity not recorded: the routing sweep will pick the study up');
      }
      if (!state.again) break;
    }
    this.inFlight.delete(studyInstanceUID);
  }
}
