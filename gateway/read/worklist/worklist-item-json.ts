/**
 * The JSON shape of a worklist item in every answer of the API. Times are ISO 8601 with the offset of the
 * item's territory (2026-11-22T02:10:00+01:00). The transaction UID is shown to its holder only: UPS-RS
 * makes it the proof of the claim.
 */
import type { RegionConfig } from '../../../config/region/region-config.ts';
import type { WorklistItem, WorklistItemView } from '../../../storage/worklist/worklist-types.ts';
import { formatInstant } from '../../../core/time/wall-time.ts';
import { holds, type Viewer } from './worklist-viewer.ts';
import { timeZoneOf } from './worklist-wording.ts';

export interface WorklistItemJson {
  id: string;
  kind: WorklistItem['kind'];
  parentId: string | null;
  studyInstanceUID: string;
  site: string;
  siteName: string | null;
  territory: string;
  modality: string;
  bodyPart: string | null;
  category: string;
  priority: string;
  priorityRank: number;
  status: WorklistItem['status'];
  pool: string;
  assignee: string | null;
  assigneeName: string | null;
  deadline: string;
  warningAt: string;
  routedAt: string;
  claimedAt: string | null;
  completedAt: string | null;
  outcome?: Record<string, unknown>;
  /** Readers an escalation offered the item to (besides the assignee), when any. */
  offeredTo?: string[];
  /** Pools told about the item besides its own, when any. */
  notifiedPools?: string[];
  /** The question asked, for a second opinion. */
  question?: string;
  transactionUID?: string;
}

export function itemJson(
  item: WorklistItemView,
  viewer: Viewer,
  config: RegionConfig,
  extra: { question?: string | null } = {},
): WorklistItemJson {
  const zone = timeZoneOf(config, item.territory);
  const time = (instant: Date | null) => (instant === null ? null : formatInstant(instant, zone));
  return {
    id: item.id,
    kind: item.kind,
    parentId: item.parentId,
    studyInstanceUID: item.studyInstanceUID,
    site: item.site,
    siteName: config.siteByFiness.get(item.site)?.name ?? null,
    territory: item.territory,
    modality: item.modality,
    bodyPart: item.bodyPart,
    category: item.category,
    priority: item.priority,
    priorityRank: item.priorityRank,
    status: item.status,
    pool: item.pool,
    assignee: item.assignee,
    assigneeName: item.assignee === null ? null : (config.readerByRpps.get(item.assignee)?.name ?? null),
    deadline: formatInstant(item.deadline, zone),
    warningAt: formatInstant(item.warningAt, zone),
    routedAt: formatInstant(item.routedAt, zone),
    claimedAt: time(item.claimedAt),
    completedAt: time(item.completedAt),
    ...(item.outcome === null ? {} : { outcome: item.outcome }),
    ...(item.offeredTo.length > 0 ? { offeredTo: item.offeredTo } : {}),
    ...(item.notifiedPools.length > 0 ? { notifiedPools: item.notifiedPools } : {}),
    ...(extra.question ? { question: extra.question } : {}),
    ...(holds(viewer, item) && item.transactionUID !== null ? { transactionUID: item.transactionUID } : {}),
  };
}
