/**
 * The caller as the worklist sees them (which items they may see is storage/worklist/item-visibility.ts):
 * - a reader's RPPS is the token's `rpps` (never its subject: a token without one is refused when verified);
 *   their pools are those the region config makes them a member of;
 * - an expert the same, plus the expertise poles matching their qualifications (second opinions addressed
 *   to their pole);
 * - a coordinator's territory is the token's `territory`;
 * - an administrator sees everything; senders and analysts have no worklist at all.
 */
import type { Expertise, Qualification, RegionConfig } from '../../../config/region/region-config.ts';
import type { Principal } from '../../../core/identity/roles.ts';
import type { Clock } from '../../../core/time/clock.ts';
import type { WorklistViewer } from '../../../storage/worklist/item-visibility.ts';
import { Forbidden } from '../../http/problem.ts';

export type Viewer = WorklistViewer;

const QUALIFICATION_FOR: Record<Expertise, Qualification> = {
  neuroradiology: 'neuroradiologist',
  'cardiovascular-imaging': 'cardiovascular-imaging',
  pneumology: 'pneumologist',
  neurosurgery: 'neurosurgeon',
};

/**
 * What deciding a viewer needs besides the token: the region, and how long pools keep a completed item
 * (ASTREINTE_POOL_ACCESS_AFTER_COMPLETION_HOURS; absent or 0: not at all) measured on `clock`.
 */
export interface ViewerContext {
  regionConfig: RegionConfig;
  clock?: Clock;
  poolAccessAfterCompletionMs?: number;
}

/** Since when completed items are still seen through pools, or undefined when they are not at all. */
export function poolsSeeCompletedSince(context: ViewerContext): Date | undefined {
  const period = context.poolAccessAfterCompletionMs ?? 0;
  if (period <= 0 || !context.clock) return undefined;
  return new Date(context.clock.now().getTime() - period);
}

export function viewerOf(principal: Principal, from: RegionConfig | ViewerContext): Viewer {
  const context: ViewerContext = 'regionConfig' in from ? from : { regionConfig: from };
  const config = context.regionConfig;
  switch (principal.role) {
    case 'admin':
      return { kind: 'admin', userId: principal.userId };
    case 'coordinator':
      return { kind: 'coordinator', userId: principal.userId, territory: principal.territory ?? null };
    case 'reader':
    case 'expert': {
      const rpps = rppsOf(principal);
      const since = poolsSeeCompletedSince(context);
      const pools = poolsOf(config, rpps, principal.role === 'expert');
      return { kind: 'reader', role: principal.role, rpps, pools, ...(since ? { poolsSeeCompletedSince: since } : {}) };
    }
    default:
      throw new Forbidden(
        `Worklists are for readers, experts, coordinators and administrators; your token has the role ${principal.role}.`,
        'role-not-allowed',
      );
  }
}

/** The RPPS of a reader or expert; principalFromClaims already refused tokens without one (403 here too). */
export function rppsOf(principal: Principal): string {
  if (principal.rpps === undefined) {
    throw new Forbidden('Votre jeton ne porte pas votre numéro RPPS. (Your token carries no RPPS number; sign in again.)', 'token-missing-rpps');
  }
  return principal.rpps;
}

/** Pools whose items a reader sees: membership, plus (experts) the poles of their qualifications. */
export function poolsOf(config: RegionConfig, rpps: string, expert: boolean): Set<string> {
  const pools = new Set(config.pools.filter((p) => p.members.includes(rpps)).map((p) => p.id));
  const qualifications = config.readerByRpps.get(rpps)?.qualifications ?? [];
  if (expert) {
    for (const pool of config.pools) {
      if (pool.kind === 'expertise-pole' && pool.expertise && qualifications.includes(QUALIFICATION_FOR[pool.expertise])) {
        pools.add(pool.id);
      }
    }
  }
  return pools;
}

/** The id written as `actor` of the events this viewer causes: the RPPS of a reader, else the user id. */
export function actorOf(viewer: Viewer): string {
  return viewer.kind === 'reader' ? viewer.rpps : viewer.userId;
}

/** True when the viewer holds the item (claimed it and it is still in progress). */
export function holds(viewer: Viewer, item: { status: string; assignee: string | null }): boolean {
  return viewer.kind === 'reader' && item.status === 'IN PROGRESS' && item.assignee === viewer.rpps;
}
