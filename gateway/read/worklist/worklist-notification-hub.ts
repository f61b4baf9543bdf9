/**
 * One PostgreSQL connection per process LISTENing on the worklist channel, shared by every live stream of
 * the process. The worker and the API NOTIFY in the transaction of each change, from any process, so a
 * stream hears every committed change wherever it happened. The connection opens with the first
 * subscriber and closes after the last; if it drops, it is reopened and subscribers are told to resync
 * (NOTIFYs sent while nobody listened are lost, so clients reload their list).
 */
import pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from '../../../storage/database/database.ts';
import { WORKLIST_NOTIFY_CHANNEL, type WorklistNotification } from '../../../storage/worklist/worklist-types.ts';
import { ServiceUnavailable } from '../../http/problem.ts';

export interface WorklistNotificationListener {
  notification(notification: WorklistNotification): void;
  /** The shared connection was lost and is back: notifications may have been missed. */
  resync(): void;
  /** The hub is closing (process shutting down): end the stream. */
  closed(): void;
}

export interface WorklistNotificationHub {
  /** Resolves once LISTEN is active (nothing committed afterwards is missed) with the unsubscribe function. */
  subscribe(listener: WorklistNotificationListener): Promise<() => void>;
  /** Ends every stream and the LISTEN connection. */
  close(): Promise<void>;
}

const RECONNECT_DELAY_MS = 1000;

export function createWorklistNotificationHub(database: Database, log: Logger): WorklistNotificationHub {
  const listeners = new Set<WorklistNotificationListener>();
  let client: pg.Client | null = null;
  let connecting: Promise<void> | null = null;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let closed = false;

  const dispatch = (message: pg.Notification) => {
    const notification = parseNotification(message.payload);
    if (!notification) {
      log.warn({ channel: message.channel }, 'ignored a malformed worklist notification');
      return;
    }
    for (const listener of [...listeners]) listener.notification(notification);
  };

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ ...database.pool.options, application_name: 'astreinte-worklist-listen', keepAlive: true });
    next.on('notification', dispatch);
    next.on('error', (error) => lost(next, error));
    next.on('end', () => lost(next));
    try {
      await next.connect();
      await next.query(`LISTEN ${WORKLIST_NOTIFY_CHANNEL}`);
    } catch (error) {
      await next.end().catch(() => undefined);
      throw error;
    }
    client = next;
    if (listeners.size === 0 || closed) stop();
  };

  const lost = (which: pg.Client, error?: Error) => {
    if (which !== client) return;
    client = null;
    which.end().catch(() => undefined);
    if (closed || listeners.size === 0) return;
    log.warn({ err: error }, 'worklist LISTEN connection lost; reconnecting');
    const retry = () => {
      reconnectTimer = null;
      if (closed || listeners.size === 0) return;
      ensureListening().then(
        () => {
          for (const listener of [...listeners]) listener.resync();
        },
        (reason: unknown) => {
          log.warn({ err: reason }, 'worklist LISTEN connection could not be reopened; retrying');
          reconnectTimer = setTimeout(retry, RECONNECT_DELAY_MS);
        },
      );
    };
    reconnectTimer = setTimeout(retry, RECONNECT_DELAY_MS);
  };

  const ensureListening = (): Promise<void> => {
    if (client) return Promise.resolve();
    connecting ??= connect().finally(() => {
      connecting = null;
    });
    return connecting;
  };

  const stop = () => {
    const current = client;
    client = null;
    current?.end().catch(() => undefined);
  };

  return {
    async subscribe(listener) {
      if (closed) throw new ServiceUnavailable('The server is shutting down; reconnect in a moment.', 'shutting-down');
      listeners.add(listener);
      try {
        await ensureListening();
      } catch (error) {
        listeners.delete(listener);
        log.error({ err: error }, 'cannot LISTEN for worklist notifications');
        throw new ServiceUnavailable('Live worklist updates are unavailable at the moment; reload the list and retry in a minute.', 'listen-unavailable');
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && !connecting) stop();
      };
    },
    async close() {
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      for (const listener of [...listeners]) listener.closed();
      listeners.clear();
      await connecting?.catch(() => undefined);
      const current = client;
      client = null;
      await current?.end().catch(() => undefined);
    },
  };
}

function parseNotification(payload: string | undefined): WorklistNotification | null {
  if (!payload) return null;
  try {
    const value = JSON.parse(payload) as Partial<WorklistNotification>;
    if (typeof value.itemId !== 'string' || typeof value.pool !== 'string' || typeof value.territory !== 'string') return null;
    return value as WorklistNotification;
  } catch {
    return null;
  }
}
