/**
 * GET /api/worklist/{id}: one item with its history (who, when, why), its incidents and the second
 * opinions asked about it, so the reader who asked finds the expert's answer on the exam they hold.
 */
import type { Request, Response } from 'express';
import type { RegionConfig } from '../../../config/region/region-config.ts';
import { formatInstant } from '../../../core/time/wall-time.ts';
import { principalOf } from '../../auth/authenticate.ts';
import { loadVisibleItem } from './find-visible-item.ts';
import type { Queryable } from './worklist-change.ts';
import { itemJson } from './worklist-item-json.ts';
import { ITEM_COLUMNS, itemFromRow, type EventRow, type WorklistItemRow } from './worklist-item-row.ts';
import { viewerOf } from './worklist-viewer.ts';
import { timeZoneOf } from './worklist-wording.ts';

export function itemDetailHandler(deps: { database: Queryable; regionConfig: RegionConfig }) {
  return async (req: Request<{ id: string }>, res: Response): Promise<void> => {
    const config = deps.regionConfig;
    const viewer = viewerOf(principalOf(res), config);
    const item = await loadVisibleItem(deps.database, req.params.id, viewer);
    const zone = timeZoneOf(config, item.territory);
    const [events, opinions, incidents] = await Promise.all([
      deps.database.query<EventRow>(
        'SELECT item_id, type, actor, at, detail FROM worklist_event WHERE item_id = $1 OR (item_id IN ' +
          "(SELECT id FROM worklist_item WHERE parent_id = $1)) ORDER BY id",
        [item.id],
      ),
      deps.database.query<WorklistItemRow>(
        `SELECT ${ITEM_COLUMNS} FROM worklist_item WHERE parent_id = $1 ORDER BY routed_at, id`,
        [item.id],
      ),
      deps.database.query<{ id: string; reported_by: string; at: Date; category: string; description: string }>(
        'SELECT id, reported_by, at, category, description FROM worklist_incident WHERE item_id = $1 ORDER BY id',
        [item.id],
      ),
    ]);
    const questions = new Map(
      events.rows
        .filter((e) => e.type === 'second-opinion-requested' && e.item_id !== null)
        .map((e) => [e.item_id as string, typeof e.detail.question === 'string' ? e.detail.question : null]),
    );
    res.set('Cache-Control', 'no-store').json({
      item: itemJson(item, viewer, config, { question: questions.get(item.id) }),
      secondOpinions: opinions.rows.map((row) => itemJson(itemFromRow(row), viewer, config, { question: questions.get(row.id) })),
      incidents: incidents.rows.map((row) => ({
        id: row.id,
        category: row.category,
        description: row.description,
        reportedBy: row.reported_by,
        at: formatInstant(row.at, zone),
      })),
      history: events.rows.map((e) => ({
        itemId: e.item_id,
        type: e.type,
        actor: e.actor,
        at: formatInstant(e.at, zone),
        detail: e.detail,
      })),
    });
  };
}
