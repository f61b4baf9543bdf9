/**
 * Sends one fuzzed STOW-RS request over a raw node:http request, the way a real (or broken) client would:
 * with a Content-Length or chunked, in one write or in many small ones (so the server's multipart parser
 * sees delimiters split across reads), or cut off by the client in the middle of the body.
 */
import http from 'node:http';
import type { Prng } from './prng.ts';

export interface Transport {
  /** Transfer-Encoding: chunked instead of Content-Length. */
  chunked: boolean;
  /** Largest write; the body is cut into random pieces up to this size. */
  maxWrite: number;
  /** The client goes away after this many bytes of body. */
  abortAfter?: number;
}

export type SendResult =
  | { kind: 'response'; status: number; headers: http.IncomingHttpHeaders; body: Buffer }
  | { kind: 'aborted' }
  | { kind: 'error'; message: string }
  | { kind: 'timeout' };

export interface StowRequest {
  url: string;
  token: string;
  contentType: string | undefined;
  body: Buffer;
  transport: Transport;
  agent: http.Agent;
  timeoutMs: number;
}

export function randomTransport(rng: Prng, bodyLength: number): Transport {
  const chunked = rng.chance(0.3);
  const maxWrite = rng.weighted([
    [bodyLength + 1, 50],
    [rng.pick([1, 7, 64, 1000, 16_384, 70_000]), 50],
  ] as const);
  const abortAfter = rng.chance(0.02) ? rng.int(bodyLength + 1) : undefined;
  return { chunked, maxWrite: Math.max(1, bodyLength > 200_000 ? Math.max(maxWrite, 16_384) : maxWrite), abortAfter };
}

export function sendStow(request: StowRequest, rng: Prng): Promise<SendResult> {
  const { body, transport } = request;
  return new Promise((resolve) => {
    let settled = false;
    let aborted = false;
    const finish = (result: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const headers: http.OutgoingHttpHeaders = { authorization: `Bearer ${request.token}`, accept: 'application/dicom+json' };
    if (request.contentType !== undefined) headers['content-type'] = request.contentType;
    if (!transport.chunked) headers['content-length'] = String(body.length);
    const req = http.request(request.url, { method: 'POST', headers, agent: request.agent });
    const timer = setTimeout(() => {
      req.destroy();
      finish({ kind: 'timeout' });
    }, request.timeoutMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        // Answered before the whole body was sent (a 415, a 413...): stop sending and drop the connection, as
        // curl does; leaving the request unfinished would keep the socket out of the agent's pool for ever.
        if (!req.writableFinished) req.destroy();
        finish({ kind: 'response', status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', (error) => finish(aborted ? { kind: 'aborted' } : { kind: 'error', message: `response: ${error.message}` }));
    });
    req.on('error', (error) => finish(aborted ? { kind: 'aborted' } : { kind: 'error', message: error.message }));
    void (async () => {
      let sent = 0;
      const limit = transport.abortAfter ?? body.length;
      while (sent < limit && !settled) {
        const size = Math.min(limit - sent, transport.maxWrite >= body.length ? limit - sent : rng.between(1, transport.maxWrite));
        const ok = req.write(body.subarray(sent, sent + size));
        sent += size;
        if (!ok) await new Promise((r) => req.once('drain', r));
        else if (transport.maxWrite < 100 && rng.chance(0.05)) await new Promise((r) => setImmediate(r));
      }
      if (settled) return;
      if (transport.abortAfter !== undefined) {
        aborted = true;
        // Let the bytes leave, then go away as a client whose connection breaks does.
        setTimeout(() => {
          req.destroy();
          finish({ kind: 'aborted' });
        }, 5);
        return;
      }
      req.end();
    })().catch((error: Error) => finish({ kind: 'error', message: `writing: ${error.message}` }));
  });
}
