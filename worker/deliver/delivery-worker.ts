/**
 * Delivery of signed reports to the requesting site: one BullMQ job per delivery (report version x destination
 * of the site: STOW-RS, C-STORE or HL7 ORU^R01 over MLLP), retried with exponential backoff; every attempt is recorded, the status is on the report
 * (GET /api/reports/{id}); after the last try a technical incident is written on the worklist item and the
 * territory's coordinator is alerted (worklist event, live notification). Jobs carry the delivery id only.
 * A sweep re-queues deliveries still pending (a dispatch lost between commit and queue).
 */
import { UnrecoverableError } from 'bullmq';
import { systemActor, type AuditEntity } from '../../audit/audit-event.ts';
import type { AuditRecorder } from '../../audit/audit-trail.ts';
import type { Logger } from 'pino';
import type { RegionConfig, ReportDestination } from '../../config/region/region-config.ts';
import type { Settings } from '../../config/settings.ts';
import type { Clock } from '../../core/time/clock.ts';
import type { Database } from '../../storage/database/database.ts';
import type { DicomIndex } from '../../storage/index/dicom-index.ts';
import type { ObjectStore } from '../../storage/objects/object-store.ts';
import type { DeliveryRecord, ReportStore, SignedReportRecord } from '../../storage/report/report-store.ts';
import { PostgresWorklistStore } from '../../storage/worklist/postgres-worklist-store.ts';
import type { WorklistStore } from '../../storage/worklist/worklist-store.ts';
import { startSweptJobQueue, type JobAttempt } from '../queue/swept-job-queue.ts';
import { DeliveryConfigurationError, stowInstances } from './dicomweb-stow-sender.ts';
import { cStoreInstances } from './dicom-cstore-sender.ts';
import { buildOruR01, parseAck } from './hl7-oru-message.ts';
import { sendMllp } from './mllp-client.ts';
import { AlteredObjectError, encapsulatedDocument, readArtifact } from './report-objects.ts';

export const DELIVERY_QUEUE = 'astreinte-report-delivery';
const DELIVER_JOB = 'deliver-report';
const ACTOR = 'astreinte-delivery';

export interface DeliveryWorkerDeps {
  settings: Pick<Settings, 'redisUrl' | 'delivery'>;
  database: Database;
  /** Where a final failure becomes a technical incident on the item (default: the worklist store of `database`). */
  worklist?: WorklistStore;
  reports: ReportStore;
  index: DicomIndex;
  objects: ObjectStore;
  regionConfig: RegionConfig;
  clock: Clock;
  log: Logger;
  /** Each delivery (110106 Export) and each final failure is appended to the audit trail. */
  audit?: AuditRecorder;
  /** Run the jobs in this process (default true). */
  consume?: boolean;
  sweepIntervalMs?: number;
}

export interface DeliveryWorker {
  dispatch(deliveries: readonly DeliveryRecord[]): Promise<void>;
  /** Queues every delivery still pending; returns how many. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

export async function startDeliveryWorker(deps: DeliveryWorkerDeps): Promise<DeliveryWorker> {
  const { attempts, backoffMs } = deps.settings.delivery;
  const queue = await startSweptJobQueue({
    redisUrl: deps.settings.redisUrl,
    database: deps.database,
    queueName: DELIVERY_QUEUE,
    jobName: DELIVER_JOB,
    idField: 'deliveryId',
    jobIdPrefix: 'delivery',
    attempts,
    backoffMs,
    consume: deps.consume,
    concurrency: 4,
    sweepIntervalMs: deps.sweepIntervalMs,
    label: 'report delivery',
    log: deps.log,
    // Tries are counted in PostgreSQL, so a re-queued delivery does not start its count again.
    unfinished: async () =>
      (
        await deps.database.query<{ id: string }>(
          `SELECT id::text AS id FROM report_delivery
           WHERE status = 'pending' OR (status = 'retrying' AND updated_at < now() - interval '10 minutes') ORDER BY id LIMIT 1000`,
        )
      ).rows.map((r) => r.id),
    run: (id, attempt) => deliver(deps, id, attempts, attempt),
  });
  return {
    dispatch: async (deliveries) => {
      for (const d of deliveries) await queue.dispatch(d.id);
    },
    sweep: queue.sweep,
    stop: queue.stop,
  };
}

/**
 * One try of one delivery; throws to have BullMQ try again (UnrecoverableError: never again). `attempt` is the
 * job's: its retry delay, not the delivery's count, says when the queue tries again.
 */
export async function deliver(deps: DeliveryWorkerDeps, deliveryId: string, maxAttempts: number, attempt: JobAttempt): Promise<void> {
  const delivery = await deps.reports.delivery(deliveryId);
  if (!delivery || delivery.status === 'delivered' || delivery.status === 'failed') return;
  const report = await deps.reports.signedReport(delivery.reportId);
  if (!report) throw new UnrecoverableError(`delivery ${deliveryId} names a report that does not exist`);
  const destination = deps.regionConfig.siteByFiness.get(report.site)?.reportDestinations.find((d) => d.id === delivery.destination);
  try {
    if (!destination) throw new DeliveryConfigurationError(`the destination ${delivery.destination} of site ${report.site} is no longer in the regional configuration`);
    const detail = await send(deps, destination, report);
    const now = deps.clock.now();
    await deps.reports.recordAttempt(deliveryId, { ok: true, detail, status: 'delivered', at: now });
    await recordDeliveredStep(deps, report, now);
    await deps.audit?.record({
      type: '110106',
      subtype: 'report-delivered',
      action: 'E',
      actor: systemActor('delivery'),
      outcomeDescription: `${delivery.kind} ${delivery.destination}: ${detail}`.slice(0, 500),
      entities: auditEntities(report),
    });
    deps.log.info({ report: report.id, destination: delivery.destination }, 'report delivered');
  } catch (error) {
    const message = (error as Error).message;
    const permanent = error instanceof DeliveryConfigurationError || error instanceof AlteredObjectError || error instanceof UnrecoverableError;
    const tries = delivery.attempts + 1;
    const last = permanent || tries >= maxAttempts;
    const at = deps.clock.now();
    const nextAttemptAt = !last && attempt.retryDelayMs !== null ? new Date(at.getTime() + attempt.retryDelayMs) : null;
    await deps.reports.recordAttempt(deliveryId, { ok: false, detail: message, status: last ? 'failed' : 'retrying', at, nextAttemptAt });
    if (last) {
      await raiseIncident(deps, report, delivery, message, tries);
      await deps.audit?.record({
        type: '110106',
        subtype: 'report-delivery-failed',
        action: 'E',
        outcome: 8,
        actor: systemActor('delivery'),
        outcomeDescription: `${delivery.kind} ${delivery.destination} failed after ${tries} tries`,
        entities: auditEntities(report),
      });
    }
    throw permanent ? new UnrecoverableError(message) : error;
  }
}

async function send(deps: DeliveryWorkerDeps, destination: ReportDestination, report: SignedReportRecord): Promise<string> {
  switch (destination.kind) {
    case 'dicomweb': {
      const [sr, pdf] = await Promise.all([readArtifact(deps.objects, report.sr), readArtifact(deps.objects, report.pdf)]);
      return stowInstances(destination.url, destination.auth, [sr, pdf]);
    }
    case 'hl7-mllp':
      return sendOru(deps, destination, report);
    case 'dicom': {
      const [sr, pdf] = await Promise.all([readArtifact(deps.objects, report.sr), readArtifact(deps.objects, report.pdf)]);
      return cStoreInstances(destination, [sr, pdf]);
    }
  }
}

async function sendOru(deps: DeliveryWorkerDeps, destination: Extract<ReportDestination, { kind: 'hl7-mllp' }>, report: SignedReportRecord): Promise<string> {
  const pdf = encapsulatedDocument(await readArtifact(deps.objects, report.pdf));
  const [metadata] = await deps.index.findMetadata({ site: null }, {
    studyInstanceUID: report.studyInstanceUID,
    seriesInstanceUID: report.sr.seriesInstanceUID,
    sopInstanceUID: report.sr.sopInstanceUID,
  });
  const sr = metadata ? (JSON.parse(metadata) as Record<string, { Value?: unknown[] }>) : {};
  const value = (tag: string) => {
    const v = sr[tag]?.Value?.[0];
    return typeof v === 'object' && v !== null ? String((v as { Alphabetic?: string }).Alphabetic ?? '') : String(v ?? '');
  };
  const config = deps.regionConfig;
  const controlId = `${report.id.replace(/-/g, '').slice(0, 16)}${Date.now().toString(36)}`.slice(0, 20);
  const message = buildOruR01({
    payload: report.payload,
    controlId,
    sendingFacility: config.region.id,
    receivingApplication: destination.receivingApplication,
    receivingFacility: destination.receivingFacility,
    pdf,
    patientName: value('00100010'),
    patientBirthDate: value('00100030'),
    patientSex: value('00100040'),
    timeZone: config.territories.find((t) => t.id === report.territory)?.timezone ?? config.region.timezone,
    now: deps.clock.now(),
  });
  const answer = await sendMllp(destination.host, destination.port, message);
  const ack = parseAck(answer, controlId);
  if (!ack.matches) throw new Error(`the RIS at ${destination.host}:${destination.port} answered for another message (MSA-2 is not ${controlId})`);
  if (ack.code !== 'AA' && ack.code !== 'CA') {
    throw new Error(`the RIS at ${destination.host}:${destination.port} did not accept the report: MSA-1 ${ack.code || '(none)'} ${ack.text}`.trim());
  }
  return `ORU^R01 ${controlId} accepted by ${destination.host}:${destination.port} (${ack.code})`;
}

/** The item's `delivered` step: when every destination of the first signed version has the report. */
async function recordDeliveredStep(deps: DeliveryWorkerDeps, report: SignedReportRecord, at: Date): Promise<void> {
  if (report.kind !== 'report') return;
  const all = await deps.reports.deliveriesOf([report.id]);
  if (all.every((d) => d.status === 'delivered')) await deps.reports.recordStep(deps.database, report.itemId, 'delivered', at);
}

async function raiseIncident(deps: DeliveryWorkerDeps, report: SignedReportRecord, delivery: DeliveryRecord, error: string, attempts: number): Promise<void> {
  const at = deps.clock.now();
  const description = `Le compte rendu signé n'a pas pu être remis à ${delivery.destination} (${delivery.kind}) après ${attempts} essai(s) : ${error}`;
  const worklist = deps.worklist ?? new PostgresWorklistStore(deps.database);
  const item = await worklist.findItem(report.itemId);
  if (item) {
    await worklist.recordIncident(
      item,
      { reportedBy: ACTOR, at, category: 'report-delivery-failed', description },
      { type: 'coordinator-alerted', actor: ACTOR, at, detail: { reason: 'report-delivery-failed', reportId: report.id, destination: delivery.destination, attempts, error } },
    );
  }
  deps.log.error({ report: report.id, destination: delivery.destination, attempts, error }, 'report delivery failed: technical incident raised, coordinator alerted');
}

function auditEntities(report: SignedReportRecord): AuditEntity[] {
  return [
    { kind: 'patient', patientId: report.payload.patient.id, issuer: report.payload.patient.issuer },
    { kind: 'study', studyUid: report.studyInstanceUID, sopInstanceUids: [report.sr.sopInstanceUID, report.pdf.sopInstanceUID] },
    { kind: 'worklist-item', itemId: report.itemId },
    { kind: 'record', recordType: 'report', id: report.id },
  ];
}
