/**
 * POST /api/worklist/{id}/incidents { category, description }: anyone who can see an item records a
 * technical incident on it (missing series, unreadable images, transfer failure...), kept with the act
 * for traceability (décret 2010-1229). Categories are short slugs such as images-missing, image-quality,
 * transfer-failure, viewer, wrong-patient, other.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { formatInstant } from '../../../core/time/wall-time.ts';
import { principalOf } from '../../auth/authenticate.ts';
import type { ItemActionDeps } from './claim-release.ts';
import { loadVisibleItem } from './find-visible-item.ts';
import { parseBody } from './parse-body.ts';
import { actorOf, viewerOf } from './worklist-viewer.ts';
import { timeZoneOf } from './worklist-wording.ts';

const incidentBody = z.object({
  category: z
    .string({ error: 'give a category such as images-missing, image-quality, transfer-failure, viewer, other' })
    .trim()
    .toLowerCase()
    .regex(/^[a-z][a-z0-9-]{1,63}$/, { error: 'a short word in lower case, e.g. images-missing, image-quality, other' }),
  description: z
    .string({ error: 'describe what went wrong' })
    .trim()
    .min(3, { error: 'describe what went wrong' })
    .max(4000, { error: 'at most 4000 characters' }),
});

export function reportIncidentHandler(deps: ItemActionDeps) {
  return async (req: Request<{ id: string }>, res: Response): Promise<void> => {
    const viewer = viewerOf(principalOf(res), deps);
    const body = parseBody(incidentBody, req.body, 'record the incident');
    const item = await loadVisibleItem(deps.store, req.params.id, viewer);
    const now = deps.clock.now();
    const actor = actorOf(viewer);
    const incidentId = await deps.store.recordIncident(
      item,
      { reportedBy: actor, at: now, category: body.category, description: body.description },
      { type: 'incident', actor, at: now, detail: { category: body.category, description: body.description } },
    );
    res.status(201).json({
      incident: {
        id: incidentId,
        itemId: item.id,
        category: body.category,
        description: body.description,
        reportedBy: actor,
        at: formatInstant(now, timeZoneOf(deps.regionConfig, item.territory)),
      },
    });
  };
}
