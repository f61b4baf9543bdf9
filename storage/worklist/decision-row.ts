import type { RoutingDecision } from './worklist-types.ts';

/** A routing_decision row: the one place its columns are named. */
export interface DecisionRow {
  study_instance_uid: string;
  decision: RoutingDecision['decision'];
  code: string | null;
  rule: string | null;
  pool: string | null;
  reader: string | null;
  reason: string;
  decided_at: Date;
  item_id: string | null;
}

export const DECISION_COLUMNS = 'study_instance_uid, decision, code, rule, pool, reader, reason, decided_at, item_id';

export function decisionFromRow(row: DecisionRow): RoutingDecision {
  return {
    studyInstanceUID: row.study_instance_uid,
    decision: row.decision,
    code: row.code,
    rule: row.rule,
    pool: row.pool,
    reader: row.reader,
    reason: row.reason,
    decidedAt: row.decided_at,
    itemId: row.item_id,
  };
}
