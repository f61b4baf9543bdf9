import { rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { DicomInstanceError, FailureReason } from '../../core/dicom/dicom-status.ts';
import type { ParsedInstance } from '../../core/dicom/parsed-instance.ts';
import { readInstanceFile } from '../../core/dicom/read-instance-file.ts';
import { processObjectLeases, type ObjectLeases } from '../../storage/objects/object-leases.ts';
import type { ObjectStore } from '../../storage/objects/object-store.ts';
import type { DicomIndex } from '../../storage/index/dicom-index.ts';
import type { SpooledPart } from './spool-file.ts';
import type { InstanceOutcome } from './stow-outcome.ts';
import type { AuditActor, AuditNetwork } from '../../audit/audit-event.ts';
import type { AuditRecorder } from '../../audit/audit-trail.ts';
import { transientFailure } from '../http/transient-failure.ts';

/**
 * The steps of a STOW request, timed for the metrics: per instance, its spool file closed after its last byte
 * (`spool`), its header read and checked (`parse`), its object made durable (`store`), its index row committed
 * (`index`); per request, the wait between the body's last byte and the answer (`answer`).
 */
export type StowStep = 'spool' | 'parse' | 'store' | 'index' | 'answer';

export interface IngestDependencies {
  objects: ObjectStore;
  index: DicomIndex;
  log: Logger;
  /** Keeps the sweep of unindexed objects off a key between its write and its index step (default: the process's). */
  leases?: ObjectLeases;
  /** Told how long each step took. */
  onStepTimed?: (step: StowStep, seconds: number) => void;
  /** Where a refusal of another site's study is recorded as a Security Alert (110113). */
  audit?: AuditRecorder;
  /** The process clock (core/time/clock.ts) stamping `received_at`, so that received follows ASTREINTE_NOW like every other step. */
  now?: () => Date;
  /** Told each instance's outcome, sending site (FINESS, null for an admin) and size: the ingest counters. */
  onIngested?: (ingested: IngestedInstance) => void;
}

export interface IngestedInstance {
  kind: InstanceOutcome['kind'];
  site: string | null;
  bytes: number;
}

/** Runs `work`, telling `deps.onStepTimed` how long it took (whether it succeeded or not). */
export async function timedStep<T>(deps: IngestDependencies, step: StowStep, work: () => T | Promise<T>): Promise<T> {
  if (!deps.onStepTimed) return work();
  const started = performance.now();
  try {
    return await work();
  } finally {
    deps.onStepTimed(step, (performance.now() - started) / 1000);
  }
}

export interface IngestContext {
  /** FINESS of the sending site, or null when the sender is not bound to a site (admin). */
  site: string | null;
  /** Study Instance UID from the request URL (`POST /studies/{study}`), if any. */
  studyInstanceUID?: string;
  /** Affected SOP Class UID of a C-STORE request: the data set must be of that class (PS3.4 B.2.3, 0xA900). */
  affectedSopClassUID?: string;
  /** Who sends, from where: named in the Security Alert of a refusal. */
  requester?: { actor: AuditActor; network?: AuditNetwork };
}

/**
 * Content-addressed per SOP instance: two different byte streams with one SOP Instance UID never share a key,
 * so a refused re-send can never overwrite what is stored, and an identical re-send rewrites identical bytes.
 * One directory per series (not per instance): each new directory costs a mkdir and a directory fsync.
 */
export function objectKeyFor(parsed: Pick<ParsedInstance, 'studyInstanceUID' | 'seriesInstanceUID' | 'sopInstanceUID'>, sha256: string): string {
  return `studies/${parsed.studyInstanceUID}/${parsed.seriesInstanceUID}/${parsed.sopInstanceUID}.${sha256.slice(0, 32)}.dcm`;
}

/**
 * Validates, stores and indexes one spooled instance. Order matters for crash safety: the object is written
 * atomically first, then indexed; only an indexed instance exists for the API, so a crash in between leaves at
 * most an unreferenced object, never an index row without its bytes. Acknowledged means durable.
 */
export async function ingestInstance(
  part: number,
  spooled: SpooledPart,
  context: IngestContext,
  deps: IngestDependencies,
): Promise<InstanceOutcome> {
  const outcome = await storeAndIndex(part, spooled, context, deps);
  deps.onIngested?.({ kind: outcome.kind, site: context.site, bytes: spooled.size });
  return outcome;
}

async function storeAndIndex(part: number, spooled: SpooledPart, context: IngestContext, deps: IngestDependencies): Promise<InstanceOutcome> {
  let parsed: ParsedInstance | undefined;
  let moved = false;
  let release: (() => void) | undefined;
  try {
    parsed = await timedStep(deps, 'parse', () => readInstanceFile(spooled.path));
    const refusal = checkAcceptable(parsed, context);
    if (refusal) return failed(part, refusal.reason, refusal.message, parsed);

    const objectKey = objectKeyFor(parsed, spooled.sha256);
    release = await (deps.leases ?? processObjectLeases).hold(objectKey);
    // The object is durable before the index row that makes it visible is written, in one statement: a crash in
    // between leaves at most an unreferenced object. (Overlapping the two inside a transaction cost two more
    // round trips to PostgreSQL per instance than it saved in latency.)
    moved = (await timedStep(deps, 'store', () => deps.objects.putFile(objectKey, spooled.path, spooled.size))) === 'moved';
    const toIndex = { parsed, objectKey, size: spooled.size, sha256: spooled.sha256, site: context.site, receivedAt: deps.now?.() ?? new Date() };
    const outcome = await timedStep(deps, 'index', () => deps.index.indexInstance(toIndex));
    switch (outcome.kind) {
      case 'stored':
      case 'identical':
        return {
          kind: outcome.kind,
          sopClassUID: parsed.sopClassUID,
          sopInstanceUID: parsed.sopInstanceUID,
          studyInstanceUID: parsed.studyInstanceUID,
          seriesInstanceUID: parsed.seriesInstanceUID,
          part,
          patient: { id: parsed.patient.id, issuer: parsed.patient.issuer },
          warnings: parsed.warnings ?? [],
        };
      case 'conflict':
        if (outcome.existingObjectKey !== objectKey) await deleteUnreferenced(objectKey, deps);
        return failed(part, FailureReason.DuplicateSopInstance, outcome.reason, parsed);
      case 'forbidden':
        if (!(await deps.index.hasObjectKey(objectKey))) await deleteUnreferenced(objectKey, deps);
        await recordSecurityAlert(parsed, context, deps);
        return failed(part, FailureReason.NotAuthorized, outcome.reason, parsed);
      default:
        throw new Error(`unexpected index outcome ${JSON.stringify(outcome satisfies never)}`);
    }
  } catch (error) {
    if (error instanceof DicomInstanceError) {
      return {
        kind: 'failed',
        part,
        failureReason: error.failureReason,
        message: error.message,
        sopClassUID: error.sopClassUID ?? parsed?.sopClassUID,
        sopInstanceUID: error.sopInstanceUID ?? parsed?.sopInstanceUID,
      };
    }
    deps.log.error({ err: error, part }, 'instance could not be stored');
    // An object stored but not indexed is invisible, and swept after a grace period (sweep-unindexed-objects.ts):
    // for the sender the instance is not stored, and sending it again stores it.
    const transient = transientFailure(error);
    if (transient) return failed(part, transient.failureReason, transient.message, parsed, true);
    return failed(
      part,
      FailureReason.ProcessingFailure,
      'the archive could not store this instance (internal error, logged); it is not stored, send it again',
      parsed,
    );
  } finally {
    release?.();
    if (!moved) await rm(spooled.path, { force: true });
  }
}

/** Refusals known before anything is written. The study's owner is checked by the index, in its statement. */
function checkAcceptable(parsed: ParsedInstance, context: IngestContext): { reason: number; message: string } | undefined {
  if (context.studyInstanceUID && parsed.studyInstanceUID !== context.studyInstanceUID) {
    return {
      reason: FailureReason.StudyInstanceUidMismatch,
      message: `the instance belongs to study ${parsed.studyInstanceUID}, not to study ${context.studyInstanceUID} named in the request URL`,
    };
  }
  if (context.affectedSopClassUID && parsed.sopClassUID !== context.affectedSopClassUID) {
    return {
      reason: FailureReason.DataSetDoesNotMatchSopClass,
      message: `the data set is of SOP class ${parsed.sopClassUID}, not ${context.affectedSopClassUID} as the C-STORE request says`,
    };
  }
  return undefined;
}

/**
 * A sender tried to store into a study that is not its site's: a Security Alert (DICOM 110113), recorded before
 * the refusal is answered. A failure to record it is logged; the refusal stands either way.
 */
async function recordSecurityAlert(parsed: ParsedInstance, context: IngestContext, deps: IngestDependencies): Promise<void> {
  if (!deps.audit) return;
  try {
    await deps.audit.record({
      type: '110113',
      subtype: 'store-into-foreign-study',
      action: 'C',
      outcome: 4,
      outcomeDescription: 'a sender tried to store an instance in a study that is not its site\'s (refused with 0x0124)',
      actor: context.requester?.actor ?? { userId: 'unknown', role: 'sender', site: context.site ?? undefined },
      network: context.requester?.network,
      entities: [{ kind: 'study', studyUid: parsed.studyInstanceUID, sopInstanceUids: [parsed.sopInstanceUID] }],
    });
  } catch (error) {
    deps.log.error({ err: error }, 'security alert (store into a foreign study) not recorded');
  }
}

async function deleteUnreferenced(objectKey: string, deps: IngestDependencies): Promise<void> {
  try {
    await deps.objects.delete(objectKey);
  } catch (error) {
    deps.log.warn({ err: error }, 'could not remove an object refused by the index (an unreferenced object is harmless)');
  }
}

function failed(part: number, failureReason: number, message: string, parsed?: ParsedInstance, retryable = false): InstanceOutcome {
  return {
    kind: 'failed',
    part,
    failureReason,
    message,
    sopClassUID: parsed?.sopClassUID,
    sopInstanceUID: parsed?.sopInstanceUID,
    ...(retryable ? { retryable } : {}),
  };
}
