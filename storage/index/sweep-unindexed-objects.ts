/**
 * Removes objects that no index row references, once they are older than a grace period. Ingest writes the
 * object, then its index row; when the index step fails (database down, disk full) or the process dies in between,
 * the object stays behind, invisible to the API. A re-send of the same bytes writes the same key again (content
 * addressed) with a fresh modification time, which is why the time is checked again just before the deletion.
 * An ingest holds its key's lease (object-leases.ts) from before its write until its index step has ended, and
 * the deletion runs under an exclusive claim of the key: an object being ingested is never deleted, however long
 * its index step takes, and a re-send of a key being deleted is written after the deletion.
 */
import type { Logger } from 'pino';
import { processObjectLeases, type ObjectLeases } from '../objects/object-leases.ts';
import type { ObjectStore } from '../objects/object-store.ts';
import type { DicomIndex } from './dicom-index.ts';

/** Longer than any STOW step between an object's write and its index commit, even on a loaded machine. */
export const UNINDEXED_OBJECT_GRACE_MS = 15 * 60_000;
/** Instances live under this prefix (`studies/<study>/<series>/<sop>.<sha256>.dcm`). */
const INSTANCE_PREFIX = 'studies/';

export interface SweepResult {
  examined: number;
  removed: number;
}

export async function sweepUnindexedObjects(
  objects: ObjectStore,
  index: Pick<DicomIndex, 'hasObjectKey'>,
  options: { graceMs?: number; now?: () => Date; log?: Logger; signal?: AbortSignal; leases?: ObjectLeases } = {},
): Promise<SweepResult> {
  const graceMs = options.graceMs ?? UNINDEXED_OBJECT_GRACE_MS;
  const now = options.now ?? (() => new Date());
  const leases = options.leases ?? processObjectLeases;
  const result: SweepResult = { examined: 0, removed: 0 };
  for await (const object of objects.list(INSTANCE_PREFIX)) {
    if (options.signal?.aborted) break;
    result.examined += 1;
    const oldEnough = (at: Date) => now().getTime() - at.getTime() >= graceMs;
    if (!oldEnough(object.modifiedAt) || leases.isHeld(object.key) || (await index.hasObjectKey(object.key))) continue;
    const removed = await leases.exclusively(object.key, async () => {
      // Checked again under the claim: an ingest may have written and indexed the key since the checks above.
      const current = await objects.stat(object.key);
      if (!current || !oldEnough(current.modifiedAt) || (await index.hasObjectKey(object.key))) return false;
      await objects.delete(object.key);
      return true;
    });
    if (removed?.value) result.removed += 1;
  }
  if (result.removed > 0) options.log?.info({ removed: result.removed, examined: result.examined }, 'objects never indexed removed');
  return result;
}

/** How often a running gateway sweeps (and once at start, off the start-up path). */
export const UNINDEXED_OBJECT_SWEEP_INTERVAL_MS = 6 * 3_600_000;

/** Sweeps now and then every `intervalMs`; `stop()` ends the sweep under way and the schedule. */
export function scheduleUnindexedObjectSweeps(
  objects: ObjectStore,
  index: Pick<DicomIndex, 'hasObjectKey'>,
  log: Logger,
  intervalMs = UNINDEXED_OBJECT_SWEEP_INTERVAL_MS,
): { stop(): Promise<void> } {
  const controller = new AbortController();
  let running: Promise<unknown> = Promise.resolve();
  const sweep = () => {
    running = sweepUnindexedObjects(objects, index, { log, signal: controller.signal }).catch((error: unknown) =>
      log.warn({ err: error }, 'sweep of objects never indexed failed; retried at the next one'),
    );
  };
  sweep();
  const timer = setInterval(sweep, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      controller.abort();
      await running;
    },
  };
}
