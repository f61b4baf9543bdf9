/**
 * POST /api/studies/{study}/complete: the sending site says a study is complete (no need to wait for the
 * stability delay), optionally flagging it ({ priority: 'stroke' | 'urgent' | 'scheduled', expertise }).
 * GET /api/studies/{study}/routing: where the study went and why (routed / held / refused, rule, pool,
 * reader, reason) with every routing event and escalation hop: what a coordinator needs to answer "why did
 * this go there?". Both answer 404, in the same words, for a study the caller may not know about.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { EXPERTISES, PRIORITY_FLAGS, type RegionConfig } from '../../../config/region/region-config.ts';
import { canSeeStudy } from '../../../storage/worklist/item-visibility.ts';
import type { WorklistStore } from '../../../storage/worklist/worklist-store.ts';
import type { CompletionFlags, RoutingDecision } from '../../../storage/worklist/worklist-types.ts';
import { formatInstant } from '../../../core/time/wall-time.ts';
import { principalOf } from '../../auth/authenticate.ts';
import { isValidUid } from '../../../core/dicom/uid.ts';
import { Forbidden, NotFound, ServiceUnavailable } from '../../http/problem.ts';
import { parseBody } from './parse-body.ts';
import { itemJson } from './worklist-item-json.ts';
import { viewerOf } from './worklist-viewer.ts';
import { poolLabel, timeZoneOf } from './worklist-wording.ts';

/** What the sender may say with a completion (and what routing reads back from study_activity.sender_flags). */
export type StudyCompletionFlags = CompletionFlags;

/** What routing answers to a completion (void: accepted, nothing more to say). */
export type StudyCompletion =
  | { status: 'queued' }
  | { status: 'already-decided'; decision: RoutingDecision }
  | { status: 'unknown-study' };

/** The routing worker's entry point (worker/route/routing-gateway.ts RoutingGateway fits it). */
export interface StudyRouting {
  markStudyComplete(studyInstanceUID: string, flags: StudyCompletionFlags): Promise<StudyCompletion | void>;
}

const completeBody = z
  .object({
    priority: z.enum(PRIORITY_FLAGS, { error: `one of ${PRIORITY_FLAGS.join(', ')}` }).optional(),
    expertise: z.enum(EXPERTISES, { error: `one of ${EXPERTISES.join(', ')}` }).optional(),
  })
  .strict();

export function completeStudyHandler(deps: { store: WorklistStore; routing?: StudyRouting }) {
  return async (req: Request<{ study: string }>, res: Response): Promise<void> => {
    const principal = principalOf(res);
    if (principal.role !== 'sender' && principal.role !== 'admin') {
      throw new Forbidden('Only the sending site of a study (or an administrator) can declare it complete.', 'role-not-allowed');
    }
    const flags = parseBody(completeBody, req.body, 'declare the study complete');
    const study = req.params.study;
    const notFound = new NotFound(
      `No study ${study} sent by your site is stored here; send its images first (STOW-RS), then declare it complete.`,
      'study-not-found',
    );
    const site = isValidUid(study) ? await deps.store.studySite(study) : undefined;
    if (site === undefined || (principal.role === 'sender' && site !== principal.site)) throw notFound;
    if (!deps.routing) {
      throw new ServiceUnavailable('Routing is not running on this server at the moment; retry in a minute.', 'routing-unavailable');
    }
    const outcome = await deps.routing.markStudyComplete(study, flags);
    if (outcome?.status === 'unknown-study') throw notFound;
    if (outcome?.status === 'already-decided') {
      // Flags sent after the decision change nothing; say so rather than pretend they were taken into account.
      res.json({
        studyInstanceUID: study,
        status: 'already-decided',
        decision: outcome.decision.decision,
        detail: 'This study was already routed (or refused) before; the flags sent now do not change where it went. Call the territory coordinator if it must be read elsewhere.',
      });
      return;
    }
    res.status(202).json({ studyInstanceUID: study, status: 'accepted', flags });
  };
}

export function routingExplanationHandler(deps: { store: WorklistStore; regionConfig: RegionConfig }) {
  return async (req: Request<{ study: string }>, res: Response): Promise<void> => {
    const config = deps.regionConfig;
    const viewer = viewerOf(principalOf(res), deps);
    const study = req.params.study;
    const notFound = new NotFound(
      `No routing of study ${study} is visible to you: it may not be routed yet, or it was routed to other lists.`,
      'routing-not-found',
    );
    if (!isValidUid(study)) throw notFound;
    const [{ decision, items: studyItems, events }, site] = await Promise.all([deps.store.studyRouting(study), deps.store.studySite(study)]);
    const readItem = studyItems.find((i) => i.kind === 'read') ?? null;
    const territory = readItem?.territory ?? (site ? config.siteByFiness.get(site)?.territory : undefined) ?? null;
    if ((!decision && studyItems.length === 0) || !canSeeStudy(viewer, { territory, items: studyItems })) throw notFound;

    const zone = territory ? timeZoneOf(config, territory) : config.region.timezone;
    res.set('Cache-Control', 'no-store').json({
      studyInstanceUID: study,
      decision: decision?.decision ?? null,
      code: decision?.code ?? null,
      rule: decision?.rule ?? null,
      ruleDescription: decision?.rule ? (config.rules.find((r) => r.id === decision.rule)?.description ?? null) : null,
      pool: decision?.pool ?? null,
      poolName: decision?.pool ? poolLabel(config, decision.pool) : null,
      reader: decision?.reader ?? null,
      readerName: decision?.reader ? (config.readerByRpps.get(decision.reader)?.name ?? null) : null,
      reason: decision?.reason ?? null,
      decidedAt: decision ? formatInstant(decision.decidedAt, zone) : null,
      site,
      territory,
      item: readItem ? itemJson(readItem, viewer, config) : null,
      secondOpinions: studyItems.filter((i) => i.kind === 'second-opinion').map((i) => itemJson(i, viewer, config)),
      hops: events.map((e) => ({
        type: e.type,
        at: formatInstant(e.at, zone),
        actor: e.actor,
        itemId: e.itemId,
        detail: e.detail,
      })),
    });
  };
}
