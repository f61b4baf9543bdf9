/**
 * Téléexpertise. POST /api/worklist/{id}/second-opinion { pool, question, priority? }: the reader holding
 * an exam asks an expertise pole; this creates a 'second-opinion' item of its own (linked by parentId,
 * offered to the pole's expert on call) with the priority's deadline. POST /api/worklist/{id}/answer
 * { outcome, comment? }: the expert holding that item answers; the outcome is recorded as the programmes
 * count it (transferAdvised, thrombolysisIndicated) and the item is COMPLETED.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { Pool, RegionConfig } from '../../../config/region/region-config.ts';
import { resolveOnCall } from '../../../config/oncall/resolve-on-call.ts';
import { SecondOpinionPendingError } from '../../../storage/worklist/worklist-store.ts';
import type { WorklistItemView } from '../../../storage/worklist/worklist-types.ts';
import { principalOf } from '../../auth/authenticate.ts';
import { BadRequest, Conflict, Forbidden } from '../../http/problem.ts';
import { busyMessage, type ItemActionDeps } from './claim-release.ts';
import { loadVisibleItem } from './find-visible-item.ts';
import { parseBody } from './parse-body.ts';
import { itemJson } from './worklist-item-json.ts';
import { holds, viewerOf } from './worklist-viewer.ts';
import { poolLabel, timeZoneOf, wallClock } from './worklist-wording.ts';

const requestBody = z.object({
  pool: z.string({ error: 'name the expertise pole to ask (its pool id, or its expertise such as neuroradiology)' }).trim().min(1),
  question: z
    .string({ error: 'write the question for the expert' })
    .trim()
    .min(1, { error: 'write the question for the expert' })
    .max(4000, { error: 'at most 4000 characters' }),
  priority: z.string().trim().min(1).optional(),
});

export function requestSecondOpinionHandler(deps: ItemActionDeps) {
  return async (req: Request<{ id: string }>, res: Response): Promise<void> => {
    const viewer = viewerOf(principalOf(res), deps);
    const body = parseBody(requestBody, req.body, 'ask for a second opinion');
    const config = deps.regionConfig;
    const parent = await loadVisibleItem(deps.store, req.params.id, viewer);
    if (parent.kind !== 'read') {
      throw new BadRequest('This item is already a second opinion; answer it, or ask from the original exam.', 'opinion-of-opinion');
    }
    if (viewer.kind !== 'reader' || !holds(viewer, parent)) {
      throw new Forbidden('Claim this exam first: only the reader holding an exam can ask a pole for a second opinion.', 'not-holder');
    }
    const pole = expertisePole(config, body.pool);
    const priorityId = body.priority ?? parent.priority;
    const priority = config.priorityById.get(priorityId);
    if (!priority) {
      throw new BadRequest(
        `Unknown priority ${JSON.stringify(priorityId)}: this region's priorities are ${config.priorities.map((p) => p.id).join(', ')}.`,
        'bad-priority',
      );
    }
    const now = deps.clock.now();
    const onCall = resolveOnCall(config, pole.id, now);
    const expert = onCall.covered && onCall.primary ? onCall.primary.rpps : null;
    const created = await deps.store
      .requestSecondOpinion({
        parent,
        pool: pole.id,
        priority,
        expert,
        at: now,
        warningAt: new Date(now.getTime() + priority.warningMs),
        deadline: new Date(now.getTime() + priority.deadlineMs),
        event: {
          type: 'second-opinion-requested',
          actor: viewer.rpps,
          at: now,
          detail: { parentId: parent.id, pool: pole.id, question: body.question, priority: priority.id, offeredTo: expert },
        },
      })
      .catch((error: unknown) => {
        if (error instanceof SecondOpinionPendingError) throw pendingOpinion(deps, parent, pole, error.askedAt);
        throw error;
      });
    res.status(201).json({ item: itemJson(created, viewer, config, { question: body.question }) });
  };
}

/** A pool id of an expertise pole, or an expertise (neuroradiology) naming its pole. */
function expertisePole(config: RegionConfig, wanted: string): Pool {
  const poles = config.pools.filter((p) => p.kind === 'expertise-pole');
  const pole = poles.find((p) => p.id === wanted) ?? poles.find((p) => p.expertise === wanted);
  if (!pole) {
    throw new BadRequest(
      `${JSON.stringify(wanted)} is not an expertise pole of this region; ask one of: ${poles.map((p) => `${p.id} (${p.expertise})`).join(', ')}.`,
      'unknown-pole',
    );
  }
  return pole;
}

function pendingOpinion(deps: ItemActionDeps, parent: WorklistItemView, pole: Pool, askedAt: Date | null): Conflict {
  const zone = timeZoneOf(deps.regionConfig, parent.territory);
  const asked = askedAt ? ` (asked at ${wallClock(askedAt, deps.clock.now(), zone)})` : '';
  return new Conflict(
    `A second opinion from ${poolLabel(deps.regionConfig, pole.id)} is already pending for this exam${asked}; wait for its answer.`,
    'opinion-pending',
  );
}

/** Outcomes the programmes count are booleans; other keys may carry short values for the report. */
const outcomeSchema = z
  .object({
    transferAdvised: z.boolean({ error: 'true or false' }).optional(),
    thrombolysisIndicated: z.boolean({ error: 'true or false' }).optional(),
  })
  .catchall(z.union([z.boolean(), z.number(), z.string().max(500), z.null()]));

const answerBody = z
  .object({
    outcome: outcomeSchema.default({}),
    comment: z.string().trim().max(8000, { error: 'at most 8000 characters' }).optional(),
  })
  .refine((b) => Object.keys(b.outcome).length > 0 || (b.comment ?? '').length > 0, {
    error: 'give an outcome (e.g. {"transferAdvised": false}) or a comment',
  });

export function answerSecondOpinionHandler(deps: ItemActionDeps) {
  return async (req: Request<{ id: string }>, res: Response): Promise<void> => {
    const viewer = viewerOf(principalOf(res), deps);
    const body = parseBody(answerBody, req.body, 'record the answer');
    const item = await loadVisibleItem(deps.store, req.params.id, viewer);
    if (item.kind !== 'second-opinion') {
      throw new BadRequest('This item is an exam to read, not a second opinion: there is no question to answer.', 'not-an-opinion');
    }
    if (viewer.kind !== 'reader' || viewer.role !== 'expert') {
      throw new Forbidden('Only an expert of the pole, holding this second opinion, can answer it (téléexpertise).', 'experts-only');
    }
    if (!holds(viewer, item)) {
      const now = deps.clock.now();
      if (item.status === 'SCHEDULED') throw new Forbidden('Claim this second opinion first, then answer it.', 'not-holder');
      throw new Conflict(busyMessage(deps.regionConfig, item, viewer, now), 'not-holder');
    }
    const outcome = { ...body.outcome, ...(body.comment ? { comment: body.comment } : {}) };
    const now = deps.clock.now();
    const answered = await deps.store.answerSecondOpinion(item.id, viewer.rpps, now, outcome, {
      type: 'second-opinion-answered',
      actor: viewer.rpps,
      at: now,
      detail: { parentId: item.parentId, outcome },
    });
    if (!answered) {
      throw new Conflict('This second opinion changed while you were answering it (released or reassigned); reload your worklist.', 'answer-race');
    }
    res.json({ item: itemJson(answered, viewer, deps.regionConfig) });
  };
}
