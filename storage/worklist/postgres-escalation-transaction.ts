/**
 * The statements of one item's escalation, on the connection of the transaction holding the item's row lock:
 * a replayed or duplicated escalation job never takes a hop twice.
 */
import type pg from 'pg';
import type { EscalationState, EscalationTransaction, ItemEvent } from './worklist-store.ts';
import type { WorklistNotification, WorklistStatus } from './worklist-types.ts';
import { notifyWorklist, recordEvents } from './worklist-writes.ts';

interface EscalationRow {
  id: string;
  study_instance_uid: string;
  site: string;
  territory: string;
  status: WorklistStatus;
  pool: string;
  assignee: string | null;
  routed_at: Date;
  warning_at: Date;
  deadline: Date;
  escalation_level: number;
  escalation_chain: string | null;
  next_escalation_at: Date | null;
  offered_to: string[];
  deadline_alerted_at: Date | null;
  routed_pool: string | null;
  routed_reader: string | null;
}

/** Locks the item's row until the transaction ends; null when there is no such item. */
export async function lockEscalationState(client: pg.ClientBase, itemId: string): Promise<EscalationState | null> {
  const { rows } = await client.query<EscalationRow>(
    `SELECT i.id, i.study_instance_uid, i.site, i.territory, i.status, i.pool, i.assignee, i.routed_at, i.warning_at,
            i.deadline, i.escalation_level, i.escalation_chain, i.next_escalation_at, i.offered_to,
            i.deadline_alerted_at, d.pool AS routed_pool, d.reader AS routed_reader
       FROM worklist_item i
       LEFT JOIN routing_decision d ON d.item_id = i.id
      WHERE i.id = $1
        FOR UPDATE OF i`,
    [itemId],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    id: r.id,
    studyInstanceUID: r.study_instance_uid,
    site: r.site,
    territory: r.territory,
    status: r.status,
    pool: r.pool,
    assignee: r.assignee,
    routedAt: r.routed_at,
    warningAt: r.warning_at,
    deadline: r.deadline,
    escalationLevel: r.escalation_level,
    escalationChain: r.escalation_chain,
    nextEscalationAt: r.next_escalation_at,
    offeredTo: r.offered_to,
    deadlineAlertedAt: r.deadline_alerted_at,
    routedPool: r.routed_pool,
    routedReader: r.routed_reader,
  };
}

export class PostgresEscalationTransaction implements EscalationTransaction {
  constructor(readonly client: pg.ClientBase) {}

  async saveEscalation(state: EscalationState, deadlineAlertedAt: Date | null, events: ItemEvent[], notification: WorklistNotification): Promise<void> {
    await this.client.query(
      `UPDATE worklist_item SET pool = $2, assignee = $3, escalation_level = $4, next_escalation_at = $5, offered_to = $6,
              deadline_alerted_at = COALESCE($7::timestamptz, deadline_alerted_at), version = version + 1
        WHERE id = $1`,
      [state.id, state.pool, state.assignee, state.escalationLevel, state.nextEscalationAt, state.offeredTo, deadlineAlertedAt],
    );
    await recordEvents(
      this.client,
      events.map((event) => ({ ...event, itemId: state.id, studyInstanceUID: state.studyInstanceUID })),
    );
    await notifyWorklist(this.client, notification);
  }
}
