/**
 * GET /api/worklist/{id}: one item with its history (who, when, why), its incidents and the second
 * opinions asked about it, so the reader who asked finds the expert's answer on the exam they hold.
 */
import type { Request, Response } from 'express';
import type { RegionConfig } from '../../../config/region/region-config.ts';
import { formatInstant } from '../../../core/time/wall-time.ts';
import { principalOf } from '../../auth/authenticate.ts';
import type { WorklistStore } from '../../../storage/worklist/worklist-store.ts';
import { loadVisibleItem } from './find-visible-item.ts';
import { itemJson } from './worklist-item-json.ts';
import { viewerOf } from './worklist-viewer.ts';
import { timeZoneOf } from './worklist-wording.ts';

export function itemDetailHandler(deps: { store: WorklistStore; regionConfig: RegionConfig }) {
  return async (req: Request<{ id: string }>, res: Response): Promise<void> => {
    const config = deps.regionConfig;
    const viewer = viewerOf(principalOf(res), deps);
    const item = await loadVisibleItem(deps.store, req.params.id, viewer);
    const zone = timeZoneOf(config, item.territory);
    const { events, secondOpinions, incidents } = await deps.store.itemHistory(item.id);
    const questions = new Map(
      events
        .filter((e) => e.type === 'second-opinion-requested' && e.itemId !== null)
        .map((e) => [e.itemId as string, typeof e.detail.question === 'string' ? e.detail.question : null]),
    );
    res.set('Cache-Control', 'no-store').json({
      item: itemJson(item, viewer, config, { question: questions.get(item.id) }),
      secondOpinions: secondOpinions.map((opinion) => itemJson(opinion, viewer, config, { question: questions.get(opinion.id) })),
      incidents: incidents.map((incident) => ({
        id: incident.id,
        category: incident.category,
        description: incident.description,
        reportedBy: incident.reportedBy,
        at: formatInstant(incident.at, zone),
      })),
      history: events.map((e) => ({
        itemId: e.itemId,
        type: e.type,
        actor: e.actor,
        at: formatInstant(e.at, zone),
        detail: e.detail,
      })),
    });
  };
}
