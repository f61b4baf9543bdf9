// Loopback HTTP/1.1 client with keep-alive, timing each exchange (first byte and total) and counting bytes.
import http from 'node:http';

export interface HttpExchange {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  /** Body chunks, written one after another (no concatenation). */
  body?: readonly Buffer[];
  /** Keep the response body in memory (otherwise only counted). */
  keepBody?: boolean;
  /** Called with each received chunk, for streaming checks such as counting multipart parts. */
  onChunk?: (chunk: Buffer) => void;
  /** Called once the response headers are in, before any chunk. */
  onHeaders?: (headers: http.IncomingHttpHeaders) => void;
  timeoutMs?: number;
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  bytes: number;
  /** Time from sending the request to the first byte of the response body (headers when it has none). */
  firstByteMs: number;
  totalMs: number;
  body: Buffer;
}

export function keepAliveAgent(maxSockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' });
}

export function send(agent: http.Agent, exchange: HttpExchange): Promise<HttpResult> {
  const started = performance.now();
  const contentLength = exchange.body?.reduce((sum, chunk) => sum + chunk.length, 0);
  const headers: Record<string, string> = { ...exchange.headers };
  if (contentLength !== undefined) headers['content-length'] = String(contentLength);
  return new Promise((resolve, reject) => {
    const request = http.request(exchange.url, { method: exchange.method ?? 'GET', agent, headers }, (response) => {
      const headersMs = performance.now() - started;
      let firstByteMs = Number.NaN;
      exchange.onHeaders?.(response.headers);
      const kept: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        if (bytes === 0) firstByteMs = performance.now() - started;
        bytes += chunk.length;
        if (exchange.keepBody) kept.push(chunk);
        exchange.onChunk?.(chunk);
      });
      response.on('error', reject);
      response.on('end', () => {
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          bytes,
          firstByteMs: Number.isNaN(firstByteMs) ? headersMs : firstByteMs,
          totalMs: performance.now() - started,
          body: Buffer.concat(kept),
        });
      });
    });
    request.setTimeout(exchange.timeoutMs ?? 600_000, () => {
      request.destroy(new Error(`${exchange.method ?? 'GET'} ${exchange.url} timed out`));
    });
    request.on('error', reject);
    writeBody(request, exchange.body ?? []).then(() => request.end(), reject);
  });
}

/** Writes chunks honouring back-pressure, so large uploads are not all buffered in the socket. */
async function writeBody(request: http.ClientRequest, chunks: readonly Buffer[]): Promise<void> {
  for (const chunk of chunks) {
    if (!request.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          request.off('error', onError);
          resolve();
        };
        const onError = (error: Error): void => {
          request.off('drain', onDrain);
          reject(error);
        };
        request.once('drain', onDrain);
        request.once('error', onError);
      });
    }
  }
}

/** Throws with the start of the body when a status is not one of the expected ones. */
export function expectStatus(result: HttpResult, expected: readonly number[], what: string): HttpResult {
  if (!expected.includes(result.status)) {
    const excerpt = result.body.subarray(0, 400).toString('utf8');
    throw new Error(`${what}: HTTP ${result.status}${excerpt ? `: ${excerpt}` : ''}`);
  }
  return result;
}

/** Counts occurrences of a delimiter across a stream of chunks (a match may straddle two chunks). */
export function delimiterCounter(delimiter: Buffer): { onChunk: (chunk: Buffer) => void; count: () => number } {
  let tail = Buffer.alloc(0);
  let found = 0;
  return {
    onChunk(chunk: Buffer): void {
      const window = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
      let at = window.indexOf(delimiter);
      while (at !== -1) {
        found++;
        at = window.indexOf(delimiter, at + delimiter.length);
      }
      tail = Buffer.from(window.subarray(Math.max(0, window.length - (delimiter.length - 1))));
    },
    count: () => found,
  };
}

/** Runs `task` for every item with at most `concurrency` in flight; results keep the items' order. */
export async function runPool<T, R>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
