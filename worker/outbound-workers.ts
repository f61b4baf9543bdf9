/**
 * What leaves the region's archive: signed reports to the requesting sites (deliver/) and administrators' study
 * sends to DICOM peers (send/). Any worker process may run them: the queue hands each job to one.
 */
import type { AuditRecorder } from '../audit/audit-trail.ts';
import type { RegionConfig } from '../config/region/region-config.ts';
import type { Settings } from '../config/settings.ts';
import type { Clock } from '../core/time/clock.ts';
import type { Logger } from 'pino';
import type { Database } from '../storage/database/database.ts';
import type { DicomIndex } from '../storage/index/dicom-index.ts';
import type { ObjectStore } from '../storage/objects/object-store.ts';
import type { ReportStore } from '../storage/report/report-store.ts';
import { startDeliveryWorker, type DeliveryWorker } from './deliver/delivery-worker.ts';
import { startStudySendWorker, type StudySendWorker } from './send/study-send-worker.ts';

export interface OutboundWorkerDeps {
  settings: Pick<Settings, 'redisUrl' | 'delivery'>;
  database: Database;
  reports: ReportStore;
  index: DicomIndex;
  objects: ObjectStore;
  regionConfig: RegionConfig;
  clock: Clock;
  audit: AuditRecorder;
  log: Logger;
  /** Run the jobs in this process (default true); false only queues them. */
  consume?: boolean;
  sweepIntervalMs?: number;
}

export interface OutboundWorkers {
  delivery: DeliveryWorker;
  studySend: StudySendWorker;
  stop(): Promise<void>;
}

export async function startOutboundWorkers(deps: OutboundWorkerDeps): Promise<OutboundWorkers> {
  const { log, ...common } = deps;
  const delivery = await startDeliveryWorker({ ...common, log: log.child({ component: 'delivery' }) });
  const studySend = await startStudySendWorker({ ...common, log: log.child({ component: 'study-send' }) }).catch(async (error: unknown) => {
    await delivery.stop();
    throw error;
  });
  return {
    delivery,
    studySend,
    async stop() {
      await studySend.stop();
      await delivery.stop();
    },
  };
}
