import type pg from 'pg';
import { WORKLIST_NOTIFY_CHANNEL, type WorklistNotification } from './worklist-types.ts';

/**
 * Tells every process listening on astreinte_worklist (the API's server-sent events) about an item. Sent in the
 * caller's transaction: PostgreSQL delivers it at commit, never for a change that was rolled back.
 */
export async function notifyWorklist(client: pg.ClientBase, notification: WorklistNotification): Promise<void> {
  await client.query('SELECT pg_notify($1, $2)', [WORKLIST_NOTIFY_CHANNEL, JSON.stringify(notification)]);
}
