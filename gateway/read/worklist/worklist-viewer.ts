/**
 * Who may see which worklist items. The same rules filter the list, single-item requests, the live event
 * stream and routing explanations:
 * - a reader sees the items assigned or offered to them (RPPS = token `rpps`, else its subject) and those
 *   of the pools the region config makes them a member of (the item's pool, or a pool told about it);
 * - an expert the same, plus every item of the expertise poles matching their qualifications (second
 *   opinions addressed to their pole);
 * - a coordinator every item of their territory (token `territory`), never the images;
 * - an administrator everything; senders and analysts no worklist at all.
 */
import type { Expertise, Qualification, RegionConfig } from '../../../config/region/region-config.ts';
import type { Principal } from '../../../core/identity/roles.ts';
import { Forbidden } from '../../http/problem.ts';

export type Viewer =
  | { kind: 'admin'; userId: string }
  | { kind: 'coordinator'; userId: string; territory: string | null }
  | { kind: 'reader'; role: 'reader' | 'expert'; rpps: string; pools: ReadonlySet<string> };

/** The fields of an item (or of a WorklistNotification) that decide who sees it. */
export interface ItemAudience {
  pool: string;
  assignee: string | null;
  territory: string;
  /** Readers an escalation hop offered the item to. */
  offeredTo?: readonly string[];
  /** Pools told about the item besides its own. */
  notifiedPools?: readonly string[];
}

const QUALIFICATION_FOR: Record<Expertise, Qualification> = {
  neuroradiology: 'neuroradiologist',
  'cardiovascular-imaging': 'cardiovascular-imaging',
  pneumology: 'pneumologist',
  neurosurgery: 'neurosurgeon',
};

export function viewerOf(principal: Principal, config: RegionConfig): Viewer {
  switch (principal.role) {
    case 'admin':
      return { kind: 'admin', userId: principal.userId };
    case 'coordinator':
      return { kind: 'coordinator', userId: principal.userId, territory: principal.territory ?? null };
    case 'reader':
    case 'expert': {
      const rpps = principal.rpps ?? principal.userId;
      return { kind: 'reader', role: principal.role, rpps, pools: poolsOf(config, rpps, principal.role === 'expert') };
    }
    default:
      throw new Forbidden(
        `Worklists are for readers, experts, coordinators and administrators; your token has the role ${principal.role}.`,
        'role-not-allowed',
      );
  }
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

export function canSeeItem(viewer: Viewer, item: ItemAudience): boolean {
  switch (viewer.kind) {
    case 'admin':
      return true;
    case 'coordinator':
      return viewer.territory !== null && viewer.territory === item.territory;
    case 'reader':
      return (
        item.assignee === viewer.rpps ||
        viewer.pools.has(item.pool) ||
        (item.offeredTo?.includes(viewer.rpps) ?? false) ||
        (item.notifiedPools?.some((pool) => viewer.pools.has(pool)) ?? false)
      );
  }
}

/** The id written as `actor` of the events this viewer causes: the RPPS of a reader, else the user id. */
export function actorOf(viewer: Viewer): string {
  return viewer.kind === 'reader' ? viewer.rpps : viewer.userId;
}

/** True when the viewer holds the item (claimed it and it is still in progress). */
export function holds(viewer: Viewer, item: { status: string; assignee: string | null }): boolean {
  return viewer.kind === 'reader' && item.status === 'IN PROGRESS' && item.assignee === viewer.rpps;
}
