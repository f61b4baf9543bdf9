/**
 * GET /api/worklist/events: server-sent events for the caller's worklist. Each change the caller may see
 * (same rules as the list) arrives as `event: item-created|item-updated` with the WorklistNotification as
 * data; `event: resync` means some changes may have been missed (reload the list). A comment line every
 * 15 s keeps proxies from closing an idle stream.
 */
import type { Request, Response } from 'express';
import type { RegionConfig } from '../../../config/region/region-config.ts';
import { canSeeItem } from '../../../storage/worklist/item-visibility.ts';
import { principalOf } from '../../auth/authenticate.ts';
import { Forbidden } from '../../http/problem.ts';
import type { WorklistNotificationHub } from './worklist-notification-hub.ts';
import { viewerOf } from './worklist-viewer.ts';

export const HEARTBEAT_MS = 15_000;

export function worklistEventsHandler(deps: { regionConfig: RegionConfig; hub: WorklistNotificationHub; heartbeatMs?: number }) {
  return async (req: Request, res: Response): Promise<void> => {
    const viewer = viewerOf(principalOf(res), deps.regionConfig);
    if (viewer.kind === 'coordinator' && viewer.territory === null) {
      throw new Forbidden('Your coordinator token names no territory (claim "territory"); ask your administrator for one that does.', 'no-territory');
    }
    const write = (text: string) => {
      if (!res.writableEnded) res.write(text);
    };
    const unsubscribe = await deps.hub.subscribe({
      notification(notification) {
        if (canSeeItem(viewer, notification)) write(`event: ${notification.type}\ndata: ${JSON.stringify(notification)}\n\n`);
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
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  };
}
