import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { TLSSocket } from 'node:tls';
import dcmjsDimse from 'dcmjs-dimse';
import type { association, requests } from 'dcmjs-dimse';
import type { Logger } from 'pino';
import type { Site } from '../../../config/region/region-config.ts';
import { FailureReason } from '../../../core/dicom/dicom-status.ts';
import { fileMetaInformation } from '../../../core/dicom/file-meta-information.ts';
import { ingestInstance, timedStep, type IngestDependencies } from '../ingest-instance.ts';
import { SpoolFile } from '../spool-file.ts';
import type { InstanceOutcome } from '../stow-outcome.ts';
import type { AssociationDecision, AssociationRequest } from './association-policy.ts';
import { cStoreStatusOf } from './c-store-status.ts';
import { MAX_PDATA_LENGTH } from './pdu-guard.ts';
import { answerPresentationContext, PresentationContextResult } from './presentation-contexts.ts';

const { Scp, Dataset, responses, constants } = dcmjsDimse;

type Association = association.Association;
type PresentationContext = association.PresentationContext;
type CStoreRequest = requests.CStoreRequest;
type CEchoRequest = requests.CEchoRequest;

/** What one association tells the listener once it is over (audit, metrics). */
export interface AssociationSummary {
  site: Site;
  callingAeTitle: string;
  remoteAddress?: string;
  outcomes: InstanceOutcome[];
}

/** A study of a patient received from a calling AE, recorded before its first instance is acknowledged. */
export interface StudyReception {
  site: Site;
  callingAeTitle: string;
  remoteAddress?: string;
  studyInstanceUID: string;
  patient: { id?: string; issuer?: string };
}

/** What the DICOM network reports to /metrics (labels: the calling site's FINESS, never patient data). */
export interface DimseObserver {
  associationAccepted(site: string): void;
  /** `callingAeTitle`: mapped to a site by the listener (unknown AE titles all count as one). */
  associationRejected(reason: string, callingAeTitle: string): void;
  cStore(site: string, status: number, bytes: number): void;
  associationEnded(site: string, seconds: number): void;
}

/** A-ASSOCIATE-RJ reasons we send, service user (PS3.8 9.3.4), by name for logs and metrics. */
const REJECT_REASON_NAMES: Record<number, string> = {
  1: 'no-reason-given',
  2: 'application-context-name-not-supported',
  3: 'calling-ae-title-not-recognized',
  7: 'called-ae-title-not-recognized',
};

/** PS3.8 9.3.4: rejected-transient (2), by the service provider's presentation layer (3), local limit exceeded (2). */
const REJECTED_TRANSIENT = 2;
const SERVICE_PROVIDER_PRESENTATION = 3;
const LOCAL_LIMIT_EXCEEDED = 2;

export interface StoreScpContext {
  observer?: DimseObserver;
  /**
   * Takes one of the site's association slots (per site and overall); returns its release, or undefined when
   * no slot is free: the association is then rejected as transient, local limit exceeded.
   */
  admit?: (site: Site) => (() => void) | undefined;
  decide: (request: AssociationRequest) => AssociationDecision;
  ingest: IngestDependencies;
  spoolDir: string;
  log: Logger;
  onStudyActivity?: (studyInstanceUID: string, site: string) => void;
  onAssociationEnd?: (summary: AssociationSummary) => void;
  /**
   * Records that this association brings a study of a patient, before the first of its instances is
   * acknowledged (the audit trail fails closed: an instance is never acknowledged unrecorded). Rejects when the
   * event could not be appended; the C-STORE then answers 0xA700 and the sender sends it again later.
   */
  recordReception?: (reception: StudyReception) => Promise<void>;
  /** Every ingest under way, so that a shutdown waits for them before the database closes. */
  track: (work: Promise<unknown>) => void;
}

/**
 * One association of the C-ECHO / C-STORE SCP, on dcmjs-dimse's network layer. The data set of a C-STORE is not
 * gathered in memory: its P-DATA fragments go to a spool file behind the preamble and File Meta Information we
 * write, the socket pausing while the disk catches up; then the spool file goes through the same ingest as a STOW-RS
 * part, and only a durable instance is answered with success.
 */
export class StoreScp extends Scp {
  declare protected socket: Socket;
  declare protected association: Association;
  private site: Site | undefined;
  private callingAeTitle = '';
  private readonly sinks = new WeakMap<CStoreRequest, SpoolSink>();
  private current: SpoolSink | undefined;
  private readonly outcomes: InstanceOutcome[] = [];
  /** Study and patient pairs whose reception is recorded in the audit trail (or being recorded). */
  private readonly recorded = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private acceptedAt: number | undefined;

  constructor(
    socket: Socket,
    private readonly context: StoreScpContext,
  ) {
    // Timeouts: a modality may pause between series; a stuck peer is dropped after 5 minutes without a PDU.
    super(socket, { associationTimeout: 30_000, pduTimeout: 5 * 60_000, connectTimeout: 5 * 60_000 });
    socket.once('close', () => void this.closed());
  }

  override associationRequested(association: Association): void {
    this.association = association;
    this.callingAeTitle = association.getCallingAeTitle().trim();
    const decision = this.context.decide({
      callingAeTitle: association.getCallingAeTitle(),
      calledAeTitle: association.getCalledAeTitle(),
      remoteAddress: this.socket.remoteAddress,
      clientCertificateName: clientCertificateName(this.socket),
    });
    if (decision.kind === 'reject') {
      this.context.log.warn({ callingAeTitle: this.callingAeTitle, address: this.socket.remoteAddress, reason: decision.why }, 'DICOM association rejected');
      this.context.observer?.associationRejected(REJECT_REASON_NAMES[decision.reason] ?? `reason-${decision.reason}`, this.callingAeTitle);
      this.sendAssociationReject(constants.RejectResult.Permanent, constants.RejectSource.ServiceUser, decision.reason);
      // The requestor closes the connection on a rejection (PS3.8 7.1.1.9); one that does not is closed for it.
      setTimeout(() => this.socket.destroy(), 2000).unref();
      return;
    }
    if (this.context.admit) {
      const release = this.context.admit(decision.site);
      if (!release) {
        this.context.log.warn({ callingAeTitle: this.callingAeTitle, site: decision.site.finess }, 'DICOM association rejected: too many concurrent associations');
        this.context.observer?.associationRejected('local-limit-exceeded', this.callingAeTitle);
        this.sendAssociationReject(REJECTED_TRANSIENT, SERVICE_PROVIDER_PRESENTATION, LOCAL_LIMIT_EXCEEDED);
        setTimeout(() => this.socket.destroy(), 1000).unref();
        return;
      }
      this.socket.once('close', release);
    }
    this.site = decision.site;
    this.acceptedAt = performance.now();
    this.context.observer?.associationAccepted(decision.site.finess);
    for (const { context } of association.getPresentationContexts()) {
      const answer = answerPresentationContext(context.getAbstractSyntaxUid(), context.getTransferSyntaxUids());
      if (answer.result === PresentationContextResult.Accept) context.setResult(answer.result, answer.transferSyntaxUid);
      else context.setResult(answer.result);
    }
    // The library would announce the smaller of the two sides' maxima; a sender may use our full PDU size (fewer
    // PDUs to read), and our own answers (C-ECHO, C-STORE responses) are far below the requestor's maximum anyway.
    association.setMaxPduLength(MAX_PDATA_LENGTH);
    this.sendAssociationAccept();
  }

  override associationReleaseRequested(): void {
    // Answered once every C-STORE of the association has its response: a release never overtakes an ingest.
    void Promise.allSettled([...this.inFlight]).then(() => this.sendAssociationReleaseResponse());
  }

  override cEchoRequest(request: CEchoRequest, callback: (response: InstanceType<typeof responses.CEchoResponse>) => void): void {
    const response = responses.CEchoResponse.fromRequest(request);
    response.setStatus(constants.Status.Success);
    callback(response);
  }

  override createStoreWritableStream(context: PresentationContext, request: CStoreRequest): Writable {
    const header = fileMetaInformation({
      mediaStorageSopClassUid: request.getAffectedSopClassUid(),
      mediaStorageSopInstanceUid: request.getAffectedSopInstanceUid(),
      transferSyntaxUid: context.getAcceptedTransferSyntaxUid() ?? '',
      sourceAeTitle: this.callingAeTitle,
    });
    const sink = new SpoolSink(new SpoolFile(this.context.spoolDir), header, this.socket);
    this.sinks.set(request, sink);
    this.current = sink;
    // Duck-typed: the library only calls write() (never told false: the socket is paused instead, so fragments
    // are never reordered while it would wait for 'drain') and end().
    return sink as unknown as Writable;
  }

  override createDatasetFromStoreWritableStream(_writable: Writable, context: PresentationContext, callback: (dataset: InstanceType<typeof Dataset>) => void): void {
    this.current = undefined;
    // The data set is in the spool file; the request carries an empty placeholder so nothing is parsed twice.
    callback(new Dataset({}, context.getAcceptedTransferSyntaxUid() ?? ''));
  }

  override cStoreRequest(request: CStoreRequest, callback: (response: InstanceType<typeof responses.CStoreResponse>) => void): void {
    const sink = this.sinks.get(request);
    const work = this.store(request, sink).then(
      ({ status, comment }) => {
        const response = responses.CStoreResponse.fromRequest(request);
        response.setStatus(status);
        if (comment) response.setErrorComment(comment);
        if (this.site) this.context.observer?.cStore(this.site.finess, status, sink?.bytes ?? 0);
        if (!this.socket.destroyed) callback(response);
      },
      (error: unknown) => this.context.log.error({ err: error }, 'C-STORE failed unexpectedly'),
    );
    this.inFlight.add(work);
    this.context.track(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  // Query/retrieve commands sent on a storage context (their own SOP classes are never accepted): refused as
  // "unrecognized operation" (PS3.7 C.4.x) rather than the library's default empty success.
  override cFindRequest(request: requests.CFindRequest, callback: (answers: InstanceType<typeof responses.CFindResponse>[]) => void): void {
    callback([unrecognized(responses.CFindResponse.fromRequest(request))]);
  }

  override cMoveRequest(request: requests.CMoveRequest, callback: (answers: InstanceType<typeof responses.CMoveResponse>[]) => void): void {
    callback([unrecognized(responses.CMoveResponse.fromRequest(request))]);
  }

  override cGetRequest(request: requests.CGetRequest, callback: (answers: InstanceType<typeof responses.CGetResponse>[]) => void): void {
    callback([unrecognized(responses.CGetResponse.fromRequest(request))]);
  }

  override abort(): void {
    this.socket.destroy();
  }

  private async store(request: CStoreRequest, sink: SpoolSink | undefined) {
    const site = this.site;
    if (!sink || !site) return { status: FailureReason.ProcessingFailure, comment: 'no data set was received for this C-STORE' };
    let outcome: InstanceOutcome;
    try {
      const spooled = await timedStep(this.context.ingest, 'spool', () => sink.spool.complete());
      const requester = {
        actor: { userId: `dicom:${this.callingAeTitle}`, role: 'sender' as const, site: site.finess },
        network: { address: this.socket.remoteAddress, userAgent: `DICOM AE ${this.callingAeTitle}` },
      };
      const context = { site: site.finess, affectedSopClassUID: request.getAffectedSopClassUid(), requester };
      outcome = await ingestInstance(this.outcomes.length + 1, spooled, context, this.context.ingest);
    } catch (error) {
      await sink.spool.discard();
      this.context.log.error({ err: error }, 'C-STORE data set could not be spooled');
      const outOfSpace = (error as NodeJS.ErrnoException).code === 'ENOSPC';
      outcome = {
        kind: 'failed',
        part: this.outcomes.length + 1,
        failureReason: outOfSpace ? FailureReason.OutOfResources : FailureReason.ProcessingFailure,
        message: outOfSpace ? 'the archive is out of storage space; send it again later' : 'the archive could not receive this instance; send it again',
      };
    }
    if (outcome.kind !== 'failed') outcome = await this.recordReception(site, outcome);
    this.outcomes.push(outcome);
    if (outcome.kind !== 'failed') this.context.onStudyActivity?.(outcome.studyInstanceUID, site.finess);
    else this.context.log.info({ status: outcome.failureReason, reason: outcome.message, callingAeTitle: this.callingAeTitle }, 'C-STORE refused');
    return cStoreStatusOf(outcome);
  }

  /** The outcome as acknowledged: stored, or 0xA700 when its study's reception could not be recorded. */
  private async recordReception(site: Site, outcome: Extract<InstanceOutcome, { kind: 'stored' | 'identical' }>): Promise<InstanceOutcome> {
    const record = this.context.recordReception;
    if (!record) return outcome;
    const key = `${outcome.studyInstanceUID}|${outcome.patient.issuer ?? ''}|${outcome.patient.id ?? ''}`;
    let recorded = this.recorded.get(key);
    if (!recorded) {
      recorded = record({ site, callingAeTitle: this.callingAeTitle, remoteAddress: this.socket.remoteAddress, studyInstanceUID: outcome.studyInstanceUID, patient: outcome.patient });
      this.recorded.set(key, recorded);
      // A failed record is tried again with the study's next instance.
      recorded.catch(() => this.recorded.delete(key));
    }
    try {
      await recorded;
      return outcome;
    } catch (error) {
      this.context.log.error({ err: error, callingAeTitle: this.callingAeTitle }, 'C-STORE refused: its reception could not be recorded in the audit trail');
      return {
        kind: 'failed',
        part: outcome.part,
        failureReason: FailureReason.OutOfResources,
        message: 'the audit trail cannot record this reception now; send it again later',
        retryable: true,
        sopClassUID: outcome.sopClassUID,
        sopInstanceUID: outcome.sopInstanceUID,
      };
    }
  }

  private async closed(): Promise<void> {
    // A data set cut by the connection's end: nothing of it is kept.
    if (this.current) await this.current.spool.discard();
    this.current = undefined;
    await Promise.allSettled([...this.inFlight]);
    if (this.site && this.acceptedAt !== undefined) this.context.observer?.associationEnded(this.site.finess, (performance.now() - this.acceptedAt) / 1000);
    if (this.site && this.outcomes.length > 0) {
      this.context.onAssociationEnd?.({ site: this.site, callingAeTitle: this.callingAeTitle, remoteAddress: this.socket.remoteAddress, outcomes: this.outcomes });
    }
  }
}

/** What dcmjs-dimse writes a C-STORE data set into: our spool file, with backpressure on the socket. */
class SpoolSink extends EventEmitter {
  private paused = false;
  /** Data set bytes received (the header we write is not counted). */
  bytes = 0;

  constructor(
    readonly spool: SpoolFile,
    header: Buffer,
    private readonly socket: Socket,
  ) {
    super();
    spool.write(header);
  }

  write(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    if (!this.spool.write(chunk) && !this.paused) {
      this.paused = true;
      this.socket.pause();
      void this.spool.drained().then(() => {
        this.paused = false;
        if (!this.socket.destroyed) this.socket.resume();
      });
    }
    return true;
  }

  end(): void {}
}

const UNRECOGNIZED_OPERATION = 0x0211;

function unrecognized<T extends { setStatus(status: number): void; setErrorComment(comment: string): void }>(response: T): T {
  response.setStatus(UNRECOGNIZED_OPERATION);
  response.setErrorComment('this archive only stores (C-STORE) and answers C-ECHO');
  return response;
}

function clientCertificateName(socket: Socket): string | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const cn = socket.getPeerCertificate().subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}
