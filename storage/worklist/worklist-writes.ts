/**
 * The statements every change of the worklist ends with, in the change's own transaction: its events
 * (worklist_event, append-only) and the NOTIFY that wakes the live streams, which PostgreSQL delivers at commit,
 * never for a change that was rolled back.
 */
import type pg from 'pg';
import type { ItemEvent, NewWorklistEvent } from './worklist-store.ts';
import { WORKLIST_NOTIFY_CHANNEL, type WorklistItemView, type WorklistNotification } from './worklist-types.ts';

/** A Database, a pool or a transaction's client. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

export async function recordEvents(client: Queryable, events: readonly NewWorklistEvent[]): Promise<void> {
  if (events.length === 0) return;
  await client.query(
    `INSERT INTO worklist_event (item_id, study_instance_uid, type, actor, at, detail)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[])`,
    [
      events.map((e) => e.itemId),
      events.map((e) => e.studyInstanceUID),
      events.map((e) => e.type),
      events.map((e) => e.actor),
      events.map((e) => e.at),
      events.map((e) => JSON.stringify(e.detail)),
    ],
  );
}

export function eventsOf(item: Pick<WorklistItemView, 'id' | 'studyInstanceUID'>, events: readonly ItemEvent[]): NewWorklistEvent[] {
  return events.map((event) => ({ ...event, itemId: item.id, studyInstanceUID: item.studyInstanceUID }));
}

export async function notifyWorklist(client: Queryable, notification: WorklistNotification): Promise<void> {
  await client.query('SELECT pg_notify($1, $2)', [WORKLIST_NOTIFY_CHANNEL, JSON.stringify(notification)]);
}

/** The notification of a change made through the worklist API (no `event`): the item's audience refreshes. */
export function itemNotification(
  type: WorklistNotification['type'],
  item: Pick<WorklistItemView, 'id' | 'pool' | 'assignee' | 'territory' | 'status' | 'offeredTo' | 'notifiedPools'>,
): WorklistNotification {
  return {
    type,
    itemId: item.id,
    pool: item.pool,
    assignee: item.assignee,
    territory: item.territory,
    status: item.status,
    ...(item.notifiedPools.length > 0 ? { notifiedPools: item.notifiedPools } : {}),
    ...(item.offeredTo.length > 0 ? { offeredTo: item.offeredTo } : {}),
  };
}

/** The usual pair for a state change of an existing item: its event, then an item-updated notification. */
export async function recordItemChange(client: Queryable, item: WorklistItemView, event: ItemEvent): Promise<void> {
  await recordEvents(client, eventsOf(item, [event]));
  await notifyWorklist(client, itemNotification('item-updated', item));
}
