/**
 * POST /api/studies/{study}/complete: the sending site says a study is complete (no need to wait for the
 * stability delay), optionally flagging it ({ priority: 'stroke' | 'urgent' | 'scheduled', expertise }).
 * GET /api/studies/{study}/routing: where the study went and why (routed / held / refused, rule, pool,
 * reader, reason) with every routing event and escalation hop: what a coordinator needs to answer "why did
 * this go there?". Both answer 404, in the same words, for a study the caller may not know about.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { EXPERTISES, PRIORITY_FLAGS, type Expertise, type PriorityFlag, type RegionConfig } from '../../../config/region/region-config.ts';
import type { RoutingDecision } from '../../../storage/worklist/worklist-types.ts';
import { formatInstant } from '../../../core/time/wall-time.ts';
import { principalOf } from '../../auth/authenticate.ts';
import { isValidUid } from '../../../core/dicom/uid.ts';
import { Forbidden, NotFound, ServiceUnavailable } from '../../http/problem.ts';
import { parseBody } from './parse-body.ts';
import type { Queryable } from './worklist-change.ts';
import { itemJson } from './worklist-item-json.ts';
import { ITEM_COLUMNS, itemFromRow, type WorklistItemRow, type WorklistItemView, type EventRow } from './worklist-item-row.ts';
import { canSeeItem, viewerOf, type Viewer } from './worklist-viewer.ts';
import { poolLabel, timeZoneOf } from './worklist-wording.ts';

/** What the sender may say with a completion (and what routing reads back from study_activity.sender_flags). */
export interface StudyCompletionFlags {
  priority?: PriorityFlag;
  expertise?: Expertise;
}

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

export function completeStudyHandler(deps: { database: Queryable; routing?: StudyRouting }) {
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
    const site = isValidUid(study) ? await studySite(deps.database, study) : undefined;
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

/** The owning site of a stored study (null: owned by no site), or undefined when the study is unknown. */
async function studySite(db: Queryable, study: string): Promise<string | null | undefined> {
  const result = await db.query<{ site: string | null; known: boolean }>(
    `SELECT COALESCE((SELECT site FROM study WHERE study_instance_uid = $1),
                     (SELECT site FROM study_activity WHERE study_instance_uid = $1)) AS site,
            EXISTS (SELECT 1 FROM study WHERE study_instance_uid = $1)
              OR EXISTS (SELECT 1 FROM study_activity WHERE study_instance_uid = $1) AS known`,
    [study],
  );
  return result.rows[0].known ? result.rows[0].site : undefined;
}

interface DecisionRow {
  decision: 'routed' | 'held' | 'refused';
  code: string | null;
  rule: string | null;
  pool: string | null;
  reader: string | null;
  reason: string;
  decided_at: Date;
}

export function routingExplanationHandler(deps: { database: Queryable; regionConfig: RegionConfig }) {
  return async (req: Request<{ study: string }>, res: Response): Promise<void> => {
    const config = deps.regionConfig;
    const viewer = viewerOf(principalOf(res), config);
    const study = req.params.study;
    const notFound = new NotFound(
      `No routing of study ${study} is visible to you: it may not be routed yet, or it was routed to other lists.`,
      'routing-not-found',
    );
    if (!isValidUid(study)) throw notFound;
    const [decisions, items, events, site] = await Promise.all([
      deps.database.query<DecisionRow>(
        'SELECT decision, code, rule, pool, reader, reason, decided_at FROM routing_decision WHERE study_instance_uid = $1',
        [study],
      ),
      deps.database.query<WorklistItemRow>(
        `SELECT ${ITEM_COLUMNS} FROM worklist_item WHERE study_instance_uid = $1 ORDER BY routed_at, id`,
        [study],
      ),
      deps.database.query<EventRow>(
        'SELECT item_id, type, actor, at, detail FROM worklist_event WHERE study_instance_uid = $1 ORDER BY id',
        [study],
      ),
      studySite(deps.database, study),
    ]);
    const decision = decisions.rows[0];
    const studyItems = items.rows.map(itemFromRow);
    const readItem = studyItems.find((i) => i.kind === 'read') ?? null;
    const territory = readItem?.territory ?? (site ? config.siteByFiness.get(site)?.territory : undefined) ?? null;
    if ((!decision && studyItems.length === 0) || !mayExplain(viewer, studyItems, territory)) throw notFound;

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
      decidedAt: decision ? formatInstant(decision.decided_at, zone) : null,
      site,
      territory,
      item: readItem ? itemJson(readItem, viewer, config) : null,
      secondOpinions: studyItems.filter((i) => i.kind === 'second-opinion').map((i) => itemJson(i, viewer, config)),
      hops: events.rows.map((e) => ({
        type: e.type,
        at: formatInstant(e.at, zone),
        actor: e.actor,
        itemId: e.item_id,
        detail: e.detail,
      })),
    });
  };
}

function mayExplain(viewer: Viewer, items: WorklistItemView[], territory: string | null): boolean {
  switch (viewer.kind) {
    case 'admin':
      return true;
    case 'coordinator':
      return viewer.territory !== null && viewer.territory === territory;
    case 'reader':
      return items.some((item) => canSeeItem(viewer, item));
  }
}
