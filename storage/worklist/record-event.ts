import type pg from 'pg';
import type { WorklistEvent } from './worklist-types.ts';

export type NewWorklistEvent = Omit<WorklistEvent, 'id'>;

/** Appends state changes to the audit trail (worklist_event), in the caller's transaction. */
export async function recordEvents(client: pg.ClientBase, events: readonly NewWorklistEvent[]): Promise<void> {
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
