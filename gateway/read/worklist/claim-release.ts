/**
 * POST /api/worklist/{id}/claim and /release: the UPS-RS state changes SCHEDULED -> IN PROGRESS (a new
 * transaction UID, the claimant becomes the assignee) and back. A claim is one conditional UPDATE, so of
 * several readers claiming together exactly one wins; the others get 409 naming the holder.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { RegionConfig } from '../../../config/region/region-config.ts';
import type { Clock } from '../../../core/time/clock.ts';
import type { WorklistStore } from '../../../storage/worklist/worklist-store.ts';
import type { WorklistItem } from '../../../storage/worklist/worklist-types.ts';
import { principalOf } from '../../auth/authenticate.ts';
import { Conflict, Forbidden } from '../../http/problem.ts';
import { findVisibleItem, itemNotFound, loadVisibleItem } from './find-visible-item.ts';
import { parseBody } from './parse-body.ts';
import { newTransactionUID } from './transaction-uid.ts';
import { itemJson } from './worklist-item-json.ts';
import { viewerOf, type Viewer } from './worklist-viewer.ts';
import { readerLabel, timeZoneOf, wallClock } from './worklist-wording.ts';

export interface ItemActionDeps {
  store: WorklistStore;
  regionConfig: RegionConfig;
  clock: Clock;
  /** How long pools keep a completed item (ASTREINTE_POOL_ACCESS_AFTER_COMPLETION_HOURS); absent: not at all. */
  poolAccessAfterCompletionMs?: number;
}

type ReaderViewer = Extract<Viewer, { kind: 'reader' }>;

export function claimHandler(deps: ItemActionDeps) {
  return async (req: Request<{ id: string }>, res: Response): Promise<void> => {
    const viewer = viewerOf(principalOf(res), deps);
    const item = await loadVisibleItem(deps.store, req.params.id, viewer);
    const reader = requireReader(viewer, 'claim an exam');
    const now = deps.clock.now();
    const claimed = await deps.store.claimItem(item.id, reader, newTransactionUID(), now, (updated) => ({
      type: 'claimed',
      actor: reader.rpps,
      at: now,
      detail: { previousAssignee: item.assignee, transactionUID: updated.transactionUID },
    }));
    if (!claimed) throw await claimRefusal(deps, req.params.id, reader);
    res.json({ item: itemJson(claimed, viewer, deps.regionConfig) });
  };
}

const releaseBody = z.object({
  reason: z.string().trim().max(1000, { error: 'at most 1000 characters' }).optional(),
  transactionUID: z.string().optional(),
});

export function releaseHandler(deps: ItemActionDeps) {
  return async (req: Request<{ id: string }>, res: Response): Promise<void> => {
    const viewer = viewerOf(principalOf(res), deps);
    const body = parseBody(releaseBody, req.body, 'release this exam');
    const item = await loadVisibleItem(deps.store, req.params.id, viewer);
    const reader = requireReader(viewer, 'release an exam');
    const now = deps.clock.now();
    const released = await deps.store.releaseItem(item.id, reader.rpps, body.transactionUID ?? null, {
      type: 'released',
      actor: reader.rpps,
      at: now,
      detail: { reason: body.reason ?? null, transactionUID: item.transactionUID, heldSince: item.claimedAt },
    });
    if (!released) throw await releaseRefusal(deps, req.params.id, reader, body.transactionUID);
    res.json({ item: itemJson(released, viewer, deps.regionConfig) });
  };
}

function requireReader(viewer: Viewer, action: string): ReaderViewer {
  if (viewer.kind !== 'reader') {
    throw new Forbidden(
      `Only readers and experts can ${action}; coordinators and administrators reassign it instead.`,
      'not-a-reader',
    );
  }
  return viewer;
}

/** Why a claim did not take, from the item as it is now. */
async function claimRefusal(deps: ItemActionDeps, id: string, reader: ReaderViewer): Promise<Error> {
  const item = await findVisibleItem(deps.store, id, reader);
  if (!item) return itemNotFound(id);
  const now = deps.clock.now();
  if (item.status === 'SCHEDULED') {
    // It was claimed and released, or reassigned, between our UPDATE and this read.
    return new Conflict('This exam changed hands while you were claiming it; reload your worklist and try again.', 'claim-race');
  }
  return new Conflict(busyMessage(deps.regionConfig, item, reader, now), 'already-claimed');
}

/** "This exam is already being read by Dr Anne Roques (RPPS 10009000011) since 02:14." and the like. */
export function busyMessage(config: RegionConfig, item: WorklistItem, viewer: Viewer, now: Date): string {
  const zone = timeZoneOf(config, item.territory);
  const since = (instant: Date | null) => (instant ? ` since ${wallClock(instant, now, zone)}` : '');
  switch (item.status) {
    case 'IN PROGRESS':
      if (item.assignee !== null && viewer.kind === 'reader' && item.assignee === viewer.rpps) {
        return `You are already reading this exam${since(item.claimedAt)}; carry on, it is on your list (scope=mine).`;
      }
      return `This exam is already being read by ${item.assignee ? readerLabel(config, item.assignee) : 'another reader'}${since(item.claimedAt)}.`;
    case 'COMPLETED':
      return `This exam has already been reported${item.completedAt ? ` (${wallClock(item.completedAt, now, zone)})` : ''}${item.assignee ? ` by ${readerLabel(config, item.assignee)}` : ''}; there is nothing left to do.`;
    case 'CANCELED':
      return 'This worklist item was canceled; it can no longer be read. Reload your worklist.';
    case 'SCHEDULED':
      return 'Nobody is reading this exam at the moment; claim it first.';
  }
}

async function releaseRefusal(
  deps: ItemActionDeps,
  id: string,
  reader: ReaderViewer,
  transactionUID: string | undefined,
): Promise<Error> {
  const item = await findVisibleItem(deps.store, id, reader);
  if (!item) return itemNotFound(id);
  if (item.status === 'IN PROGRESS' && item.assignee === reader.rpps && transactionUID !== undefined) {
    return new Conflict(
      'The transaction UID sent does not match your claim on this exam; reload your worklist and try again.',
      'transaction-mismatch',
    );
  }
  if (item.status === 'SCHEDULED') {
    return new Conflict('Nobody is reading this exam at the moment (it waits on the worklist): there is nothing to release.', 'not-in-progress');
  }
  if (item.status === 'IN PROGRESS') {
    return new Forbidden(
      `Only the reader holding an exam can release it: ${busyMessage(deps.regionConfig, item, reader, deps.clock.now())}`,
      'not-holder',
    );
  }
  return new Conflict(busyMessage(deps.regionConfig, item, reader, deps.clock.now()), 'not-in-progress');
}
