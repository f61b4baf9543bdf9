/**
 * Writes what happened to an item: the audit event (who, when, why) and the NOTIFY that wakes the live
 * streams. Both go through the caller's transaction client, so they commit (and the NOTIFY is delivered)
 * together with the change itself, or not at all.
 */
import type pg from 'pg';
import { WORKLIST_NOTIFY_CHANNEL, type WorklistNotification } from '../../../storage/worklist/worklist-types.ts';
import type { WorklistItemView } from './worklist-item-row.ts';

/** A Database or a transaction's client. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

export interface EventRecord {
  itemId: string | null;
  studyInstanceUID: string;
  type: string;
  /** RPPS of a reader, user id of anyone else. */
  actor: string;
  at: Date;
  detail?: Record<string, unknown>;
}

export async function recordEvent(client: Queryable, event: EventRecord): Promise<void> {
  await client.query(
    'INSERT INTO worklist_event (item_id, study_instance_uid, type, actor, at, detail) VALUES ($1, $2, $3, $4, $5, $6)',
    [event.itemId, event.studyInstanceUID, event.type, event.actor, event.at, JSON.stringify(event.detail ?? {})],
  );
}

export async function notifyItem(
  client: Queryable,
  type: WorklistNotification['type'],
  item: Pick<WorklistItemView, 'id' | 'pool' | 'assignee' | 'territory' | 'status' | 'offeredTo' | 'notifiedPools'>,
): Promise<void> {
  const notification: WorklistNotification = {
    type,
    itemId: item.id,
    pool: item.pool,
    assignee: item.assignee,
    territory: item.territory,
    status: item.status,
    ...(item.notifiedPools.length > 0 ? { notifiedPools: item.notifiedPools } : {}),
    ...(item.offeredTo.length > 0 ? { offeredTo: item.offeredTo } : {}),
  };
  await client.query('SELECT pg_notify($1, $2)', [WORKLIST_NOTIFY_CHANNEL, JSON.stringify(notification)]);
}

/** The usual pair for a state change of an existing item: its event, then an item-updated notification. */
export async function recordItemChange(
  client: Queryable,
  item: WorklistItemView,
  event: Omit<EventRecord, 'itemId' | 'studyInstanceUID'>,
): Promise<void> {
  await recordEvent(client, { ...event, itemId: item.id, studyInstanceUID: item.studyInstanceUID });
  await notifyItem(client, 'item-updated', item);
}
