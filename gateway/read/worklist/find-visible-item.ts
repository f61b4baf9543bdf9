/**
 * Loads an item for a request. An item the caller may not see answers exactly like one that does not exist
 * (404, same words), so ids cannot be probed.
 */
import { canSeeItem } from '../../../storage/worklist/item-visibility.ts';
import type { WorklistStore } from '../../../storage/worklist/worklist-store.ts';
import type { WorklistItemView } from '../../../storage/worklist/worklist-types.ts';
import { NotFound } from '../../http/problem.ts';
import type { Viewer } from './worklist-viewer.ts';

/** The item if the viewer may see it, else null. */
export async function findVisibleItem(store: WorklistStore, id: string, viewer: Viewer): Promise<WorklistItemView | null> {
  const item = await store.findItem(id);
  return item && canSeeItem(viewer, item) ? item : null;
}

export async function loadVisibleItem(store: WorklistStore, id: string, viewer: Viewer): Promise<WorklistItemView> {
  const item = await findVisibleItem(store, id, viewer);
  if (!item) throw itemNotFound(id);
  return item;
}

export function itemNotFound(id: string): NotFound {
  return new NotFound(
    `There is no worklist item ${id} on your lists. It may have been reassigned to someone else; reload your worklist.`,
    'item-not-found',
  );
}
