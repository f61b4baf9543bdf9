/**
 * GET /api/worklist?scope=mine|pools|territory&status=SCHEDULED,IN%20PROGRESS&priority=stat,urgent
 * -> { items: [...] } sorted by priority rank, then deadline (most urgent first).
 * Default scope: everything the caller may see; default status: the open items (SCHEDULED, IN PROGRESS).
 * A reader's `mine` holds the items assigned or offered (by an escalation) to them; `pools` those of their
 * pools, owned or notified (a stroke is shown to the neuroradiology pole too).
 */
import { noteAudit } from '../../account/audit-middleware.ts';
import type { Request, Response } from 'express';
import type { RegionConfig } from '../../../config/region/region-config.ts';
import type { Clock } from '../../../core/time/clock.ts';
import type { WorklistStore } from '../../../storage/worklist/worklist-store.ts';
import type { WorklistStatus } from '../../../storage/worklist/worklist-types.ts';
import { principalOf } from '../../auth/authenticate.ts';
import { BadRequest, Forbidden } from '../../http/problem.ts';
import { itemJson, type WorklistItemJson } from './worklist-item-json.ts';
import { viewerOf, type Viewer } from './worklist-viewer.ts';

export const WORKLIST_STATUSES: readonly WorklistStatus[] = ['SCHEDULED', 'IN PROGRESS', 'COMPLETED', 'CANCELED'];
const DEFAULT_STATUSES: WorklistStatus[] = ['SCHEDULED', 'IN PROGRESS'];
const SCOPES = ['mine', 'pools', 'territory'] as const;
type Scope = (typeof SCOPES)[number];
export const DEFAULT_LIST_LIMIT = 500;
export const MAX_LIST_LIMIT = 2000;

export interface WorklistQuery {
  scope: Scope | null;
  statuses: WorklistStatus[];
  priorities: string[] | null;
  territory: string | null;
  limit: number;
}

export function listWorklistHandler(deps: { store: WorklistStore; regionConfig: RegionConfig; clock: Clock }) {
  return async (req: Request, res: Response): Promise<void> => {
    // The system's instant, so that a page counts down to deadlines on the server's clock (ASTREINTE_NOW
    // rehearsals, a laptop whose clock is off), not the browser's.
    res.set('Astreinte-Now', deps.clock.now().toISOString());
    const viewer = viewerOf(principalOf(res), deps);
    const query = parseWorklistQuery(req.query, deps.regionConfig);
    checkListScope(viewer, query);
    const listed = await deps.store.listItems(viewer, query);
    const items: WorklistItemJson[] = listed.map(({ item, question }) => itemJson(item, viewer, deps.regionConfig, { question }));
    // The audit event names the studies (and so the patients, by reference) the list showed.
    const studies = [...new Set(listed.map(({ item }) => item.studyInstanceUID))];
    noteAudit(res, { entities: studies.map((studyUid) => ({ kind: 'study' as const, studyUid })) });
    res.set('Cache-Control', 'no-store').json({ items });
  };
}

export function parseWorklistQuery(query: Request['query'], config: RegionConfig): WorklistQuery {
  const scopes = listParam(query.scope);
  if (scopes.length > 1 || (scopes.length === 1 && !(SCOPES as readonly string[]).includes(scopes[0]))) {
    throw new BadRequest(`scope must be one of ${SCOPES.join(', ')} (or left out to see all your items).`, 'bad-scope');
  }
  const statuses = listParam(query.status).map((s) => s.toUpperCase().replace(/[_+]/g, ' '));
  const unknownStatus = statuses.find((s) => !(WORKLIST_STATUSES as readonly string[]).includes(s));
  if (unknownStatus !== undefined) {
    throw new BadRequest(
      `Unknown status ${JSON.stringify(unknownStatus)}: use ${WORKLIST_STATUSES.join(', ')} (comma-separated).`,
      'bad-status',
    );
  }
  const priorities = listParam(query.priority);
  const unknownPriority = priorities.find((p) => !config.priorityById.has(p));
  if (unknownPriority !== undefined) {
    throw new BadRequest(
      `Unknown priority ${JSON.stringify(unknownPriority)}: this region's priorities are ${config.priorities.map((p) => p.id).join(', ')}.`,
      'bad-priority',
    );
  }
  const territories = listParam(query.territory);
  if (territories.length > 1 || (territories.length === 1 && !config.territoryById.has(territories[0]))) {
    throw new BadRequest(
      `territory must be one of ${config.territories.map((t) => t.id).join(', ')}.`,
      'bad-territory',
    );
  }
  const limitText = listParam(query.limit)[0];
  const limit = limitText === undefined ? DEFAULT_LIST_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new BadRequest(`limit must be a whole number from 1 to ${MAX_LIST_LIMIT}.`, 'bad-limit');
  }
  return {
    scope: (scopes[0] as Scope | undefined) ?? null,
    statuses: statuses.length > 0 ? [...new Set(statuses)] as WorklistStatus[] : DEFAULT_STATUSES,
    priorities: priorities.length > 0 ? priorities : null,
    territory: territories[0] ?? null,
    limit,
  };
}

/**
 * Throws (400, 403) when the scope or territory asked is not the caller's own to list; what a scope holds is
 * the store's business (storage/worklist/item-visibility.ts).
 */
export function checkListScope(viewer: Viewer, query: Pick<WorklistQuery, 'scope' | 'territory'>): void {
  switch (viewer.kind) {
    case 'reader': {
      if (query.scope === 'territory' || query.territory !== null) {
        throw new Forbidden(
          'Territory worklists are for coordinators; use scope=mine (your items) or scope=pools (your on-call lines and poles).',
          'scope-not-allowed',
        );
      }
      return;
    }
    case 'coordinator': {
      if (query.scope === 'mine' || query.scope === 'pools') {
        throw new BadRequest(
          `scope=${query.scope} lists a reader's items; as a coordinator use scope=territory.`,
          'scope-not-allowed',
        );
      }
      if (viewer.territory === null) {
        throw new Forbidden(
          'Your coordinator token names no territory (claim "territory"); ask your administrator for one that does.',
          'no-territory',
        );
      }
      if (query.territory !== null && query.territory !== viewer.territory) {
        throw new Forbidden(
          `You coordinate the territory ${viewer.territory}; the worklist of ${query.territory} is not yours to see.`,
          'other-territory',
        );
      }
      return;
    }
    case 'admin': {
      if (query.scope === 'mine' || query.scope === 'pools') {
        throw new BadRequest(
          `scope=${query.scope} lists a reader's items; an administrator sees every item, or one territory with scope=territory&territory=<id>.`,
          'scope-not-allowed',
        );
      }
      return;
    }
  }
}

/** `a,b` or `x=a&x=b` as a list of trimmed non-empty strings. */
function listParam(value: unknown): string[] {
  const raw = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return raw
    .filter((v): v is string => typeof v === 'string')
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}
