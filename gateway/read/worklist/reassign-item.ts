/**
 * POST /api/worklist/{id}/reassign { assignee: RPPS, pool?, reason }: a coordinator of the item's territory
 * (or an administrator) hands an open item to another reader entitled to its site, in a pool of its territory
 * or a regional pool the routing rules allow for it, of which the reader is a member (reassignment-pool.ts). An item being read is
 * taken back from its holder (its claim ends); the new reader finds it SCHEDULED on their list.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { principalOf } from '../../auth/authenticate.ts';
import { BadRequest, Conflict, Forbidden } from '../../http/problem.ts';
import type { ItemActionDeps } from './claim-release.ts';
import { busyMessage } from './claim-release.ts';
import { itemNotFound, loadVisibleItem } from './find-visible-item.ts';
import { parseBody } from './parse-body.ts';
import { reassignmentPoolProblem } from './reassignment-pool.ts';
import { itemJson } from './worklist-item-json.ts';
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
    const viewer = viewerOf(principalOf(res), deps);
    const body = parseBody(reassignBody, req.body, 'reassign this exam');
    await loadVisibleItem(deps.store, req.params.id, viewer);
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
    const reassigned = await deps.store.reassignItem({
      id: req.params.id,
      viewer,
      assignee: target.rpps,
      pool: body.pool,
      check(before) {
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
        const poolProblem = reassignmentPoolProblem(config, before, body.pool ?? before.pool, target.rpps);
        if (poolProblem) throw new BadRequest(poolProblem, 'pool-not-allowed');
      },
      event: (before, after) => ({
        type: 'reassigned',
        actor,
        at: now,
        detail: {
          reason: body.reason,
          from: { assignee: before.assignee, pool: before.pool, status: before.status },
          to: { assignee: after.assignee, pool: after.pool, poolName: poolLabel(config, after.pool) },
        },
      }),
    });
    if (!reassigned) throw itemNotFound(req.params.id);
    res.json({ item: itemJson(reassigned, viewer, config) });
  };
}
