/**
 * Loads an item for a request. An item the caller may not see answers exactly like one that does not exist
 * (404, same words), so ids cannot be probed.
 */
import { NotFound } from '../../http/problem.ts';
import type { Queryable } from './worklist-change.ts';
import { ITEM_COLUMNS, itemFromRow, type WorklistItemRow, type WorklistItemView } from './worklist-item-row.ts';
import { canSeeItem, type Viewer } from './worklist-viewer.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function loadItem(db: Queryable, id: string, options: { forUpdate?: boolean } = {}): Promise<WorklistItemView | null> {
  if (!UUID.test(id)) return null;
  const result = await db.query<WorklistItemRow>(
    `SELECT ${ITEM_COLUMNS} FROM worklist_item WHERE id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return result.rows.length === 0 ? null : itemFromRow(result.rows[0]);
}

/** The item if the viewer may see it, else null. */
export async function findVisibleItem(db: Queryable, id: string, viewer: Viewer): Promise<WorklistItemView | null> {
  const item = await loadItem(db, id);
  return item && canSeeItem(viewer, item) ? item : null;
}

export async function loadVisibleItem(
  db: Queryable,
  id: string,
  viewer: Viewer,
  options: { forUpdate?: boolean } = {},
): Promise<WorklistItemView> {
  const item = await loadItem(db, id, options);
  if (!item || !canSeeItem(viewer, item)) throw itemNotFound(id);
  return item;
}

export function itemNotFound(id: string): NotFound {
  return new NotFound(
    `There is no worklist item ${id} on your lists. It may have been reassigned to someone else; reload your worklist.`,
    'item-not-found',
  );
}
