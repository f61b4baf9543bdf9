/**
 * Removes objects that no index row references, once they are older than a grace period. Ingest writes the
 * object, then its index row; when the index step fails (database down, disk full) or the process dies in between,
 * the object stays behind, invisible to the API. A re-send of the same bytes writes the same key again (content
 * addressed) with a fresh modification time, which is why the time is checked again just before the deletion.
 */
import type { Logger } from 'pino';
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
  options: { graceMs?: number; now?: () => Date; log?: Logger; signal?: AbortSignal } = {},
): Promise<SweepResult> {
  const graceMs = options.graceMs ?? UNINDEXED_OBJECT_GRACE_MS;
  const now = options.now ?? (() => new Date());
  const result: SweepResult = { examined: 0, removed: 0 };
  for await (const object of objects.list(INSTANCE_PREFIX)) {
    if (options.signal?.aborted) break;
    result.examined += 1;
    const oldEnough = (at: Date) => now().getTime() - at.getTime() >= graceMs;
    if (!oldEnough(object.modifiedAt) || (await index.hasObjectKey(object.key))) continue;
    const current = await objects.stat(object.key);
    if (!current || !oldEnough(current.modifiedAt)) continue; // written again meanwhile: a re-send is under way
    await objects.delete(object.key);
    result.removed += 1;
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
