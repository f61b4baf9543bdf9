/// <reference lib="webworker" />
import { boundaryOf, multipartParts } from './multipart-parts.ts';

/**
 * Reads a multipart Pixel Data answer off the page's main thread: the fetch, the parsing and the copy of each
 * frame happen here; each frame goes to the page as a transferred buffer (no copy), and only as far as the
 * page's credit allows (what it has not yet decoded stays in the network, not in memory).
 */
export type StreamRequest = { kind: 'start'; url: string; token?: string; accept: string } | { kind: 'credit'; frames: number };
export type StreamEvent =
  | { kind: 'frame'; contentLocation: string; contentType: string; body: ArrayBuffer }
  | { kind: 'end' }
  | { kind: 'refused'; status: number; detail: string }
  | { kind: 'failed'; message: string };

declare const self: DedicatedWorkerGlobalScope;

let credit = 0;
let wake: (() => void) | undefined;

self.onmessage = (event: MessageEvent<StreamRequest>) => {
  const message = event.data;
  if (message.kind === 'credit') {
    credit += message.frames;
    wake?.();
  } else {
    void stream(message).catch((error: Error) => post({ kind: 'failed', message: error.message }));
  }
};

function post(event: StreamEvent, transfer: Transferable[] = []): void {
  self.postMessage(event, transfer);
}

async function stream({ url, token, accept }: Extract<StreamRequest, { kind: 'start' }>): Promise<void> {
  const headers: Record<string, string> = { Accept: accept };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(url, { headers });
  if (!res.ok) {
    let detail = `HTTP ${res.status}`;
    try {
      detail = ((await res.json()) as { detail?: string }).detail ?? detail;
    } catch {
      // not a problem document
    }
    post({ kind: 'refused', status: res.status, detail });
    return;
  }
  const boundary = boundaryOf(res.headers.get('content-type') ?? '');
  if (!boundary || !res.body) throw new Error(`the pixel data came as ${res.headers.get('content-type')}, not multipart`);
  for await (const part of multipartParts(chunksOf(res.body), boundary)) {
    while (credit <= 0) await new Promise<void>((resolve) => (wake = resolve));
    credit--;
    const body = part.body.byteOffset === 0 && part.body.byteLength === part.body.buffer.byteLength ? part.body.buffer : part.body.slice().buffer;
    post({ kind: 'frame', contentLocation: part.headers['content-location'] ?? '', contentType: part.headers['content-type'] ?? '', body: body as ArrayBuffer }, [body as ArrayBuffer]);
  }
  post({ kind: 'end' });
}

async function* chunksOf(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}
