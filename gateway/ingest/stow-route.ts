import { mkdir } from 'node:fs/promises';
import type { Request, Response } from 'express';
import { FailureReason } from '../../core/dicom/dicom-status.ts';
import { isValidUid } from '../../core/dicom/uid.ts';
import { parseContentType } from '../http/content-type.ts';
import { BadRequest, Forbidden, PayloadTooLarge, UnsupportedMediaType } from '../http/problem.ts';
import { noteAudit } from '../account/audit-middleware.ts';
import { principalOf } from '../auth/authenticate.ts';
import { dicomwebRootOf } from '../http/dicomweb-root.ts';
import { ingestInstance, timedStep, type IngestContext, type IngestDependencies } from './ingest-instance.ts';
import { actorFromPrincipal } from '../../audit/audit-event.ts';
import { MultipartBodyError, readMultipartBody, type MultipartPacing, type PartSink } from './multipart-reader.ts';
import { SpoolFile } from './spool-file.ts';
import type { InstanceOutcome } from './stow-outcome.ts';
import { buildStowResponse } from './stow-response.ts';
import { transientFailure } from '../http/transient-failure.ts';

/** Told once per study that received instances in a request (routing: the study is not stable yet). */
export type StudyActivityListener = (studyInstanceUID: string, site: string | null) => void;

export interface StowOptions {
  spoolDir: string;
  maxRequestBytes: number;
  maxParts: number;
  /** Instances of one request validated and stored at once while later parts are still arriving. */
  concurrency?: number;
  onStudyActivity?: StudyActivityListener;
  /** Counts each instance's outcome (metrics). */
  onOutcomes?: (outcomes: InstanceOutcome[]) => void;
  /** When the body is read in slices, giving way to other requests (reads) between them. */
  pacing?: MultipartPacing;
}

/**
 * Parts of one request being flushed, put and indexed while later parts are read. Each spends most of its time
 * waiting (disk flushes, which concurrent parts share, the database, the event loop): 16 stored 7–10% more MB/s
 * than 4 with 10 and 50 instances per request (interleaved runs, 2-core VM); 64 was slower.
 */
const DEFAULT_PARTS_IN_FLIGHT = 16;

/** `POST /studies` and `POST /studies/{study}` (PS3.18 10.5). */
export function stowHandler(deps: IngestDependencies, options: StowOptions) {
  // Created once (the system also creates it at start), not with a mkdir per request.
  let spoolDirReady: Promise<unknown> | undefined;
  return async (req: Request, res: Response): Promise<void> => {
    const principal = principalOf(res);
    if (principal.role !== 'sender' && principal.role !== 'admin') {
      throw new Forbidden('Only sending sites (role sender) and administrators can store studies.');
    }
    const studyInstanceUID = req.params.study as string | undefined;
    if (studyInstanceUID !== undefined && !isValidUid(studyInstanceUID)) {
      throw new BadRequest(`The study UID in the URL is not a valid DICOM UID: ${JSON.stringify(studyInstanceUID.slice(0, 80))}`);
    }
    checkRequestType(req.headers['content-type']);
    const declaredLength = Number(req.headers['content-length'] ?? 0);
    if (declaredLength > options.maxRequestBytes) {
      throw new PayloadTooLarge(`The request is ${declaredLength} bytes; at most ${options.maxRequestBytes} bytes are accepted per request. Send the study in several requests.`);
    }
    spoolDirReady ??= mkdir(options.spoolDir, { recursive: true }).catch((error: unknown) => {
      spoolDirReady = undefined;
      throw error;
    });
    await spoolDirReady;

    const context: IngestContext = {
      site: principal.role === 'sender' ? (principal.site ?? null) : null,
      studyInstanceUID,
      requester: { actor: actorFromPrincipal(principal), network: { address: req.ip, userAgent: req.get('user-agent') || undefined } },
    };
    const pending: Promise<InstanceOutcome>[] = [];
    const slots = new Slots(options.concurrency ?? DEFAULT_PARTS_IN_FLIGHT);

    const openPart = ({ index, contentType }: { index: number; contentType: string }): PartSink => {
      if (contentType !== 'application/dicom') {
        pending.push(
          Promise.resolve({
            kind: 'failed',
            part: index,
            failureReason: FailureReason.CannotUnderstand,
            message: `part ${index} has Content-Type ${JSON.stringify(contentType || '(none)')}; each part must be application/dicom`,
          }),
        );
        return discardingSink();
      }
      const spool = new SpoolFile(options.spoolDir);
      let settle!: (outcome: Promise<InstanceOutcome>) => void;
      pending.push(new Promise<InstanceOutcome>((resolve) => (settle = (p) => resolve(p))));
      return {
        write: (chunk) => spool.write(chunk) && slots.free(),
        drained: async () => {
          await spool.drained();
          await slots.waitForFree();
        },
        end: () => {
          slots.take();
          settle(
            timedStep(deps, 'spool', () => spool.complete())
              .then((spooled) => ingestInstance(index, spooled, context, deps))
              .catch(async (error: unknown) => {
                await spool.discard();
                deps.log.error({ err: error, part: index }, 'spooling failed');
                const transient = transientFailure(error);
                return {
                  kind: 'failed' as const,
                  part: index,
                  failureReason: transient?.failureReason ?? FailureReason.ProcessingFailure,
                  message: transient?.message ?? 'the archive could not receive this instance; nothing was stored, send it again',
                  retryable: transient !== undefined,
                };
              })
              .finally(() => slots.release()),
          );
        },
        abort: () => {
          void spool.discard();
          settle(
            Promise.resolve({
              kind: 'failed',
              part: index,
              failureReason: FailureReason.CannotUnderstand,
              message: `part ${index} was cut off before its end; nothing of it was stored`,
            }),
          );
        },
      };
    };

    let bodyError: string | undefined;
    try {
      await readMultipartBody(req, { maxParts: options.maxParts, maxTotalBytes: options.maxRequestBytes }, openPart, options.pacing);
    } catch (error) {
      if (!(error instanceof MultipartBodyError)) throw error;
      bodyError = error.message;
      if (error.status === 413 && pending.length === 0) throw new PayloadTooLarge(error.message);
    }
    const outcomes = await timedStep(deps, 'answer', () => Promise.all(pending));
    if (outcomes.length === 0 && !bodyError) bodyError = 'the request contains no DICOM instance (no multipart part)';

    afterStore(outcomes, context.site, res, options.onStudyActivity);
    options.onOutcomes?.(outcomes);
    const response = buildStowResponse(outcomes, dicomwebRootOf(req), bodyError);
    for (const warning of response.warnings) res.append('Warning', `299 astreinte "${headerSafe(warning)}"`);
    if (response.retryAfterSeconds !== undefined) res.set('Retry-After', String(response.retryAfterSeconds));
    res.status(response.status).type('application/dicom+json').send(JSON.stringify(response.body));
  };
}

/** Audit what was stored, and tell routing which studies just received instances (never delaying the STOW). */
function afterStore(
  outcomes: InstanceOutcome[],
  site: string | null,
  res: Response,
  onStudyActivity: StudyActivityListener | undefined,
): void {
  const studies = new Map<string, { count: number; patients: Map<string, { patientId: string; issuer?: string }> }>();
  for (const o of outcomes) {
    if (o.kind === 'failed') continue;
    const entry = studies.get(o.studyInstanceUID) ?? { count: 0, patients: new Map() };
    entry.count += 1;
    if (o.patient.id) entry.patients.set(`${o.patient.issuer ?? ''}|${o.patient.id}`, { patientId: o.patient.id, issuer: o.patient.issuer });
    studies.set(o.studyInstanceUID, entry);
  }
  const failed = outcomes.length - [...studies.values()].reduce((sum, s) => sum + s.count, 0);
  noteAudit(res, {
    entities: [...studies].flatMap(([studyUid, s]) => [
      { kind: 'study' as const, studyUid, instanceCount: s.count },
      ...[...s.patients.values()].map((p) => ({ kind: 'patient' as const, ...p })),
    ]),
    ...(failed > 0 ? { outcome: 4 as const, outcomeDescription: `${failed} of ${outcomes.length} instances refused` } : {}),
  });
  for (const study of studies.keys()) onStudyActivity?.(study, site);
}

function checkRequestType(header: string | undefined): void {
  const contentType = parseContentType(header);
  if (!contentType || contentType.type !== 'multipart/related') {
    throw new UnsupportedMediaType(
      `STOW-RS takes Content-Type: multipart/related; type="application/dicom"; boundary=...; this request has ${JSON.stringify(header ?? '(none)')}.`,
    );
  }
  const partType = contentType.parameters.type?.toLowerCase();
  if (partType !== undefined && partType !== 'application/dicom') {
    throw new UnsupportedMediaType(
      `This archive stores DICOM Part 10 instances: use multipart/related; type="application/dicom" (the request asked for type=${partType}).`,
    );
  }
  if (!contentType.parameters.boundary) {
    throw new BadRequest('The Content-Type header has no boundary parameter: the multipart body cannot be read.');
  }
}

function discardingSink(): PartSink {
  return { write: () => true, drained: async () => undefined, end: () => undefined, abort: () => undefined };
}

/** Bounds how many instances of one request are processed at once; reading pauses while all slots are busy. */
class Slots {
  private used = 0;
  private waiters: (() => void)[] = [];
  constructor(private readonly size: number) {}
  free(): boolean {
    return this.used < this.size;
  }
  take(): void {
    this.used += 1;
  }
  release(): void {
    this.used -= 1;
    this.waiters.splice(0).forEach((wake) => wake());
  }
  waitForFree(): Promise<void> {
    if (this.free()) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiters.push(resolve)).then(() => this.waitForFree());
  }
}

/** A header value: printable ASCII only (a control character from a broken file would make Node refuse it). */
/** At most 20 warnings of this size keep the response headers well under the 16 KiB clients and proxies accept. */
const MAX_WARNING_LENGTH = 500;

function headerSafe(text: string): string {
  const safe = text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/["\\]/g, "'")
    .replace(/[^\x20-\x7e]/g, '?');
  return safe.length > MAX_WARNING_LENGTH ? `${safe.slice(0, MAX_WARNING_LENGTH - 3)}...` : safe;
}
