import { clearSession, currentSession } from './session.ts';

/**
 * The worklist's server-sent events, read with fetch (EventSource cannot send the Authorization header, and the
 * token never goes into a URL). Calls onChange for every item event and for `resync`; reconnects after a drop;
 * goes back to the sign-in page when the gateway ends the stream because the token expired (`session-expired`).
 */
export function followWorklistEvents(onChange: () => void, onState: (live: boolean) => void): () => void {
  const controller = new AbortController();
  let retryMs = 1000;
  const connect = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      const session = currentSession();
      if (!session) return;
      try {
        const res = await fetch('/api/worklist/events', {
          headers: { Authorization: `Bearer ${session.token}`, Accept: 'text/event-stream' },
          signal: controller.signal,
        });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        onState(true);
        retryMs = 1000;
        // Events may have been missed while disconnected.
        onChange();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (/^event: (item-created|item-updated|resync)$/m.test(block)) onChange();
            if (/^event: session-expired$/m.test(block)) {
              // The token ended: the stream was closed by the gateway; sign in again.
              clearSession();
              location.assign('/sign-in');
              return;
            }
          }
        }
      } catch {
        if (controller.signal.aborted) return;
      }
      onState(false);
      await new Promise((resolve) => setTimeout(resolve, retryMs));
      retryMs = Math.min(retryMs * 2, 15_000);
    }
  };
  void connect();
  return () => controller.abort();
}
