/**
 * worklist_item rows as the store reads them. Every statement that returns items selects ITEM_COLUMNS so that
 * itemFromRow maps them the same way everywhere.
 */
import type { WorklistItemKind, WorklistItemView, WorklistStatus } from './worklist-types.ts';

export interface WorklistItemRow {
  id: string;
  kind: WorklistItemKind;
  parent_id: string | null;
  study_instance_uid: string;
  site: string;
  territory: string;
  modality: string;
  body_part: string | null;
  category: string;
  priority: string;
  priority_rank: number;
  status: WorklistStatus;
  pool: string;
  assignee: string | null;
  transaction_uid: string | null;
  routed_at: Date;
  warning_at: Date;
  deadline: Date;
  claimed_at: Date | null;
  completed_at: Date | null;
  outcome: Record<string, unknown> | null;
  offered_to: string[];
  notified_pools: string[];
}

export const ITEM_COLUMNS =
  'id, kind, parent_id, study_instance_uid, site, territory, modality, body_part, category, priority, priority_rank, ' +
  'status, pool, assignee, transaction_uid, routed_at, warning_at, deadline, claimed_at, completed_at, outcome, offered_to, notified_pools';

/** ITEM_COLUMNS qualified with a table alias (`i.id, i.kind, ...`). */
export function itemColumns(alias: string): string {
  return ITEM_COLUMNS.split(', ')
    .map((column) => `${alias}.${column}`)
    .join(', ');
}

export function itemFromRow(row: WorklistItemRow): WorklistItemView {
  return {
    id: row.id,
    kind: row.kind,
    parentId: row.parent_id,
    studyInstanceUID: row.study_instance_uid,
    site: row.site,
    territory: row.territory,
    modality: row.modality,
    bodyPart: row.body_part,
    category: row.category,
    priority: row.priority,
    priorityRank: row.priority_rank,
    status: row.status,
    pool: row.pool,
    assignee: row.assignee,
    transactionUID: row.transaction_uid,
    routedAt: row.routed_at,
    warningAt: row.warning_at,
    deadline: row.deadline,
    claimedAt: row.claimed_at,
    completedAt: row.completed_at,
    outcome: row.outcome,
    offeredTo: row.offered_to,
    notifiedPools: row.notified_pools,
  };
}
