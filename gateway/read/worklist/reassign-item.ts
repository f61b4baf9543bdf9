/**
 * POST /api/worklist/{id}/reassign { assignee: RPPS, pool?, reason }: a coordinator of the item's territory
 * (or an administrator) hands an open item to another reader entitled to its site. An item being read is
 * taken back from its holder (its claim ends); the new reader finds it SCHEDULED on their list.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { principalOf } from '../../auth/authenticate.ts';
import { BadRequest, Conflict, Forbidden } from '../../http/problem.ts';
import type { ItemActionDeps } from './claim-release.ts';
import { busyMessage } from './claim-release.ts';
import { loadVisibleItem } from './find-visible-item.ts';
import { parseBody } from './parse-body.ts';
import { notifyItem, recordEvent } from './worklist-change.ts';
import { itemJson } from './worklist-item-json.ts';
import { ITEM_COLUMNS, itemFromRow, type WorklistItemRow, type WorklistItemView } from './worklist-item-row.ts';
import { actorOf, viewerOf } from './worklist-viewer.ts';
import { poolLabel, readerLabel } from './worklist-wording.ts';

const reassignBody = z.object({
  assignee: z.string({ error: 'the RPPS number of the reader to hand the exam to is required' }).trim().min(1),
  pool: z.string().trim().min(1).optional(),
  reason: z
    .string({ error: 'say why the exam is reassigned (kept in the audit trail)' })
    .trim()
    .min(3, { error: 'say why the exam is reassigned (kept in the audit trail)' })
    .max(1000, { error: 'at most 1000 characters' }),
});

export function reassignHandler(deps: ItemActionDeps) {
  return async (req: Request<{ id: string }>, res: Response): Promise<void> => {
    const viewer = viewerOf(principalOf(res), deps.regionConfig);
    const body = parseBody(reassignBody, req.body, 'reassign this exam');
    await loadVisibleItem(deps.database, req.params.id, viewer);
    if (viewer.kind === 'reader') {
      throw new Forbidden(
        'Only the coordinator of the territory (or an administrator) can reassign an exam; release it if you cannot read it.',
        'not-coordinator',
      );
    }
    const config = deps.regionConfig;
    const target = config.readerByRpps.get(body.assignee);
    if (!target) {
      throw new BadRequest(`No reader with RPPS ${body.assignee} is declared in the regional configuration.`, 'unknown-reader');
    }
    if (body.pool !== undefined && !config.poolById.has(body.pool)) {
      throw new BadRequest(
        `Unknown pool ${JSON.stringify(body.pool)}: pools are ${config.pools.map((p) => p.id).join(', ')}.`,
        'unknown-pool',
      );
    }
    const now = deps.clock.now();
    const actor = actorOf(viewer);
    const reassigned = await deps.database.withTransaction(async (client) => {
      const before = await loadVisibleItem(client, req.params.id, viewer, { forUpdate: true });
      if (before.status !== 'SCHEDULED' && before.status !== 'IN PROGRESS') {
        throw new Conflict(busyMessage(config, before, viewer, now), 'item-closed');
      }
      if (!target.sites.includes(before.site)) {
        const site = config.siteByFiness.get(before.site)?.name ?? before.site;
        throw new BadRequest(
          `${readerLabel(config, target.rpps)} is not entitled to read for ${site}; choose a reader of that site.`,
          'reader-not-entitled',
        );
      }
      const pool = body.pool ?? before.pool;
      const result = await client.query<WorklistItemRow>(
        `UPDATE worklist_item SET assignee = $2, pool = $3, status = 'SCHEDULED', transaction_uid = NULL, claimed_at = NULL,
           version = version + 1
         WHERE id = $1 RETURNING ${ITEM_COLUMNS}`,
        [before.id, target.rpps, pool],
      );
      const after = itemFromRow(result.rows[0]);
      await recordEvent(client, {
        itemId: after.id,
        studyInstanceUID: after.studyInstanceUID,
        type: 'reassigned',
        actor,
        at: now,
        detail: {
          reason: body.reason,
          from: { assignee: before.assignee, pool: before.pool, status: before.status },
          to: { assignee: after.assignee, pool: after.pool, poolName: poolLabel(config, after.pool) },
        },
      });
      await notifyPreviousAudience(client, before, after);
      await notifyItem(client, 'item-updated', after);
      return after;
    });
    res.json({ item: itemJson(reassigned, viewer, config) });
  };
}

/** The former holder's and pool's streams must hear that the item left them, so they refresh their list. */
async function notifyPreviousAudience(client: Parameters<typeof notifyItem>[0], before: WorklistItemView, after: WorklistItemView) {
  if (before.assignee === after.assignee && before.pool === after.pool) return;
  await notifyItem(client, 'item-updated', { ...after, assignee: before.assignee, pool: before.pool });
}
