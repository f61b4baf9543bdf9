import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { DicomInstanceError, FailureReason } from '../dicom/dicom-status.ts';
import type { ParsedInstance } from '../dicom/parsed-instance.ts';
import { readInstanceFile } from '../dicom/read-instance-file.ts';
import type { ObjectStore } from '../../storage/objects/object-store.ts';
import type { DicomIndex } from '../../storage/index/dicom-index.ts';
import type { SpooledPart } from './spool-file.ts';
import type { InstanceOutcome } from './stow-outcome.ts';

export interface IngestDependencies {
  objects: ObjectStore;
  index: DicomIndex;
  log: Logger;
}

export interface IngestContext {
  /** FINESS of the sending site, or null when the sender is not bound to a site (admin). */
  site: string | null;
  /** Study Instance UID from the request URL (`POST /studies/{study}`), if any. */
  studyInstanceUID?: string;
}

/**
 * Content-addressed per SOP instance: two different byte streams with one SOP Instance UID never share a key,
 * so a refused re-send can never overwrite what is stored, and an identical re-send rewrites identical bytes.
 * One directory per series (not per instance): each new directory costs a mkdir and a directory fsync.
 */
export function objectKeyFor(parsed: ParsedInstance, sha256: string): string {
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
  let parsed: ParsedInstance | undefined;
  try {
    parsed = await readInstanceFile(spooled.path);
    const refusal = await checkAcceptable(parsed, context, deps);
    if (refusal) return failed(part, refusal.reason, refusal.message, parsed);

    const objectKey = objectKeyFor(parsed, spooled.sha256);
    // The object write (fsyncs) and the index statements run at the same time; the index commits only once the
    // object is durable. Whatever the outcome, the write is awaited before anyone looks at or removes the object.
    const written = deps.objects.putFile(objectKey, spooled.path, spooled.size, { dataSynced: spooled.durable });
    written.catch(() => undefined);
    const outcome = await deps.index
      .indexInstance(
        { parsed, objectKey, size: spooled.size, sha256: spooled.sha256, site: context.site, receivedAt: new Date() },
        { beforeCommit: () => written },
      )
      .finally(() => written.catch(() => undefined));
    await written;
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
        return failed(part, FailureReason.NotAuthorized, outcome.reason, parsed);
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
    const outOfSpace = (error as NodeJS.ErrnoException).code === 'ENOSPC';
    deps.log.error({ err: error, part }, 'instance could not be stored');
    return failed(
      part,
      outOfSpace ? FailureReason.OutOfResources : FailureReason.ProcessingFailure,
      outOfSpace
        ? 'the archive is out of storage space; nothing was stored for this instance, send it again later'
        : 'the archive could not store this instance (internal error, logged); nothing was stored, send it again',
      parsed,
    );
  } finally {
    await rm(spooled.path, { force: true });
  }
}

async function checkAcceptable(
  parsed: ParsedInstance,
  context: IngestContext,
  deps: IngestDependencies,
): Promise<{ reason: number; message: string } | undefined> {
  if (context.studyInstanceUID && parsed.studyInstanceUID !== context.studyInstanceUID) {
    return {
      reason: FailureReason.StudyInstanceUidMismatch,
      message: `the instance belongs to study ${parsed.studyInstanceUID}, not to study ${context.studyInstanceUID} named in the request URL`,
    };
  }
  if (context.site !== null) {
    const owner = await deps.index.studyOwnership(parsed.studyInstanceUID);
    if (owner && owner.site !== null && owner.site !== context.site) {
      return {
        reason: FailureReason.NotAuthorized,
        message: 'this study was sent by another site; a site can only add instances to its own studies',
      };
    }
  }
  return undefined;
}

async function deleteUnreferenced(objectKey: string, deps: IngestDependencies): Promise<void> {
  try {
    await deps.objects.delete(objectKey);
  } catch (error) {
    deps.log.warn({ err: error, objectKey }, 'could not remove an object refused by the index');
  }
}

function failed(part: number, failureReason: number, message: string, parsed?: ParsedInstance): InstanceOutcome {
  return {
    kind: 'failed',
    part,
    failureReason,
    message,
    sopClassUID: parsed?.sopClassUID,
    sopInstanceUID: parsed?.sopInstanceUID,
  };
}
