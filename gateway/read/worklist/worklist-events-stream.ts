/**
 * GET /api/worklist/events: server-sent events for the caller's worklist. Each change the caller may see
 * (same rules as the list) arrives as `event: item-created|item-updated` with the WorklistNotification as
 * data; `event: resync` means some changes may have been missed (reload the list). A comment line every
 * 15 s keeps proxies from closing an idle stream. When the token expires the stream ends with
 * `event: session-expired` (data: a message in French and English): the page signs in again, since a stream
 * must not outlive the authorization it was opened with.
 */
import type { Request, Response } from 'express';
import type { RegionConfig } from '../../../config/region/region-config.ts';
import { canSeeItem } from '../../../storage/worklist/item-visibility.ts';
import { principalOf, tokenExpiresAt } from '../../auth/authenticate.ts';
import { Forbidden } from '../../http/problem.ts';
import type { WorklistNotificationHub } from './worklist-notification-hub.ts';
import { viewerOf, type Viewer } from './worklist-viewer.ts';
import type { WorklistNotification } from '../../../storage/worklist/worklist-types.ts';

export const HEARTBEAT_MS = 15_000;

const SESSION_EXPIRED = JSON.stringify({
  fr: 'Votre session a expiré : reconnectez-vous pour continuer à suivre la liste.',
  en: 'Your session has expired: sign in again to keep following the worklist.',
});
/** setTimeout's limit (about 24.8 days); a token lasting longer is re-checked when the timer fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Who hears of a change: those who saw the item before it, judged without its completion, so that the pool of an
 * item that was just completed hears that it left their list. A notification carries identifiers and a status,
 * never patient data; what the item holds stays behind canSeeItem on the list and the item.
 */
function hearsOf(viewer: Viewer, notification: WorklistNotification): boolean {
  return canSeeItem(viewer, { ...notification, status: undefined });
}

export function worklistEventsHandler(deps: { regionConfig: RegionConfig; hub: WorklistNotificationHub; heartbeatMs?: number }) {
  return async (req: Request, res: Response): Promise<void> => {
    const viewer = viewerOf(principalOf(res), deps);
    if (viewer.kind === 'coordinator' && viewer.territory === null) {
      throw new Forbidden('Your coordinator token names no territory (claim "territory"); ask your administrator for one that does.', 'no-territory');
    }
    const write = (text: string) => {
      if (!res.writableEnded) res.write(text);
    };
    const unsubscribe = await deps.hub.subscribe({
      notification(notification) {
        if (hearsOf(viewer, notification)) write(`event: ${notification.type}\ndata: ${JSON.stringify(notification)}\n\n`);
      },
      resync() {
        write('event: resync\ndata: {}\n\n');
      },
      closed() {
        res.end();
      },
    });
    if (req.destroyed) {
      unsubscribe();
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    write('retry: 3000\n: connected\n\n');
    const heartbeat = setInterval(() => write(': heartbeat\n\n'), deps.heartbeatMs ?? HEARTBEAT_MS);
    const expiresAt = tokenExpiresAt(res);
    let expiry: NodeJS.Timeout | undefined;
    const endAtExpiry = () => {
      if (expiresAt === undefined) return;
      // The wall clock, as the token verifier's: timers run in real time.
      const left = expiresAt - Date.now();
      if (left > 0) {
        expiry = setTimeout(endAtExpiry, Math.min(left, MAX_TIMER_MS));
        return;
      }
      write(`event: session-expired\ndata: ${SESSION_EXPIRED}\n\n`);
      res.end();
    };
    endAtExpiry();
    res.on('close', () => {
      clearInterval(heartbeat);
      clearTimeout(expiry);
      unsubscribe();
    });
  };
}
