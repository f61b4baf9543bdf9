/**
 * Signing: the payload (report text and codes, study, accession, patient id and INS, author RPPS, time) is
 * signed with the reader's key, the SR and PDF are built and stored in the study, then one transaction writes
 * the signed version (immutable from then on), completes the worklist item (first version only), creates one
 * delivery per destination of the requesting site and records the step time. Deliveries are handed to the
 * delivery worker once committed.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { buildBasicTextSr } from '../../core/report/basic-text-sr.ts';
import { buildEncapsulatedPdf, renderReportPdf } from '../../core/report/encapsulated-pdf.ts';
import type { ReportContent } from '../../core/report/report-content.ts';
import { signPayload, type SignedReportPayload } from '../../core/report/signed-report.ts';
import type { Clock } from '../../core/time/clock.ts';
import type { RegionConfig } from '../../config/region/region-config.ts';
import type { Database } from '../../storage/database/database.ts';
import type { DicomIndex } from '../../storage/index/dicom-index.ts';
import type { ObjectStore } from '../../storage/objects/object-store.ts';
import type { DeliveryRecord, ReportStore, SignedReportRecord } from '../../storage/report/report-store.ts';
import { Conflict, NotFound } from '../http/problem.ts';
import type { WorklistItemView } from '../../storage/worklist/worklist-types.ts';
import type { WorklistStore } from '../../storage/worklist/worklist-store.ts';
import type { ReaderKeyring } from './reader-keyring.ts';
import { storeReportObject } from './store-report-objects.ts';
import { loadStudySource } from './study-source.ts';

/** Hands committed deliveries to the delivery worker (worker/deliver, wired in cli/system.ts). */
export interface ReportDispatch {
  dispatch(deliveries: readonly DeliveryRecord[]): Promise<void>;
}

export interface ReportSignerDeps {
  database: Database;
  /** The item completed with the report's first version, in the same transaction. */
  worklist: WorklistStore;
  reports: ReportStore;
  index: DicomIndex;
  objects: ObjectStore;
  keyring: ReaderKeyring;
  regionConfig: RegionConfig;
  clock: Clock;
  log: Logger;
  spoolDir: string;
  dispatch?: ReportDispatch;
}

/** Series numbers of report objects: SR 9001, 9002... and PDF 9101, 9102... per version (out of the modality's range). */
const SR_SERIES_BASE = 9000;
const PDF_SERIES_BASE = 9100;

export interface SignRequest {
  item: WorklistItemView;
  authorRpps: string;
  content: ReportContent;
  /** For an addendum: the report it corrects (its first version). */
  original?: SignedReportRecord;
  reason?: string;
}

export async function signReport(deps: ReportSignerDeps, request: SignRequest): Promise<{ report: SignedReportRecord; deliveries: DeliveryRecord[] }> {
  const { item, original } = request;
  const config = deps.regionConfig;
  const study = await loadStudySource(deps.index, item.studyInstanceUID);
  if (!study) throw new NotFound(`The images of study ${item.studyInstanceUID} are no longer in the archive; the report cannot be signed.`, 'study-not-found');
  const versions = original ? await deps.reports.reportVersions(original.id) : [];
  const version = original ? Math.max(...versions.map((v) => v.version)) + 1 : 1;
  const reportId = randomUUID();
  const author = { rpps: request.authorRpps, name: config.readerByRpps.get(request.authorRpps)?.name ?? `RPPS ${request.authorRpps}` };
  const signedAt = deps.clock.now();
  const payload: SignedReportPayload = {
    reportId,
    version,
    kind: original ? 'addendum' : 'report',
    originalReportId: original?.id ?? null,
    worklistItemId: item.id,
    studyInstanceUID: item.studyInstanceUID,
    accessionNumber: study.accessionNumber,
    patient: study.patient,
    author,
    signedAt: signedAt.toISOString(),
    content: request.content,
    ...(request.reason ? { reason: request.reason } : {}),
  };
  const key = await deps.keyring.signingKey(author.rpps);
  const signature = signPayload(payload, key.privateKey);

  const site = config.siteByFiness.get(item.site);
  const timeZone = config.territories.find((t) => t.id === item.territory)?.timezone ?? config.region.timezone;
  const predecessor = original ? versions[versions.length - 1] : undefined;
  const input = {
    payload,
    source: study.source,
    evidence: study.evidence,
    organisation: config.region.name,
    timeZone,
    predecessor: predecessor
      ? { seriesInstanceUID: predecessor.sr.seriesInstanceUID, sopInstanceUID: predecessor.sr.sopInstanceUID, sopClassUID: '1.2.840.10008.5.1.4.1.1.88.11' }
      : undefined,
  };
  const sr = buildBasicTextSr({ ...input, seriesNumber: SR_SERIES_BASE + version });
  const pdf = await renderReportPdf({
    ...input,
    seriesNumber: PDF_SERIES_BASE + version,
    signature,
    keyId: key.kid,
    hospital: site?.name ?? item.site,
    patientName: study.patientName,
    patientBirthDate: study.patientBirthDate,
    examDescription: study.examDescription,
  });
  const pdfObject = buildEncapsulatedPdf({ ...input, seriesNumber: PDF_SERIES_BASE + version }, pdf, original ? "Addendum au compte rendu d'imagerie" : "Compte rendu d'imagerie");
  const ingest = { objects: deps.objects, index: deps.index, log: deps.log, now: () => deps.clock.now() };
  const where = { site: item.site, studyInstanceUID: item.studyInstanceUID, spoolDir: deps.spoolDir };
  const srStored = await storeReportObject(sr, where, ingest);
  const pdfStored = await storeReportObject(pdfObject, where, ingest);

  const record: SignedReportRecord = {
    id: reportId,
    originalId: original?.id ?? null,
    version,
    kind: payload.kind,
    itemId: item.id,
    studyInstanceUID: item.studyInstanceUID,
    site: item.site,
    territory: item.territory,
    authorRpps: author.rpps,
    payload,
    signature,
    keyId: key.kid,
    signedAt,
    sr: srStored,
    pdf: { ...pdfStored, documentSha256: createHash('sha256').update(pdf).digest('hex') },
  };
  const destinations = (site?.reportDestinations ?? []).map((d) => ({ id: d.id, kind: d.kind }));
  const deliveries = await deps.worklist.reportExclusively(async (tx) => {
    await deps.reports.insertSignedReport(tx.client, record);
    if (!original) {
      const completed = await tx.completeItem(item.id, author.rpps, signedAt, { type: 'report-signed', actor: author.rpps, at: signedAt, detail: { reportId, version } });
      if (!completed) {
        throw new Conflict('This exam is no longer yours to report (released, reassigned or already signed); reload your worklist.', 'not-holder');
      }
      await deps.reports.recordStep(tx.client, item.id, 'signed', signedAt);
    } else {
      await tx.recordItemEvent(item, { type: 'report-addendum', actor: author.rpps, at: signedAt, detail: { reportId, originalReportId: original.id, version } });
    }
    return deps.reports.createDeliveries(tx.client, reportId, destinations, signedAt);
  });
  if (deliveries.length > 0 && deps.dispatch) {
    // Committed first: a lost dispatch is found again by the delivery worker's sweep of pending deliveries.
    await deps.dispatch.dispatch(deliveries).catch((error: unknown) => deps.log.warn({ err: error, report: reportId }, 'report deliveries not queued yet; the delivery sweep will'));
  }
  return { report: record, deliveries };
}
