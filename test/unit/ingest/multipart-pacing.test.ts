import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { ReadActivity } from '../../../gateway/http/read-activity.ts';
import { readMultipartBody, type MultipartPacing, type PartSink } from '../../../gateway/ingest/multipart-reader.ts';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers) server.closeAllConnections(); // fetch keeps its connections alive
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function listen(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const boundary = 'pacing-boundary';
const parts = [0x11, 0x22, 0x33].map((fill) => Buffer.alloc(300 * 1024, fill));
const body = Buffer.concat([
  ...parts.flatMap((part) => [Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), part, Buffer.from('\r\n')]),
  Buffer.from(`--${boundary}--\r\n`),
]);

/** Posts the body to a server that reads it with `pacing`; returns the parts received and how often reading paused. */
async function readWithPacing(pacing: MultipartPacing | undefined): Promise<{ received: Buffer[]; pauses: number }> {
  let result!: { received: Buffer[]; pauses: number };
  const port = await listen(async (req, res) => {
    const received: Buffer[] = [];
    let pauses = 0;
    req.on('pause', () => (pauses += 1));
    const openPart = (): PartSink => {
      const chunks: Uint8Array[] = [];
      return {
        write: (chunk) => chunks.push(chunk) > 0,
        drained: async () => undefined,
        end: () => received.push(Buffer.concat(chunks)),
        abort: () => undefined,
      };
    };
    await readMultipartBody(req, { maxParts: 10, maxTotalBytes: 10 << 20 }, openPart, pacing);
    result = { received, pauses };
    res.end('read');
  });
  const response = await fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` },
    body,
  });
  expect(await response.text()).toBe('read');
  return result;
}

/** Byte comparison (a deep equality of 900 KiB takes seconds). */
function expectIntact(received: Buffer[]): void {
  expect(received).toHaveLength(parts.length);
  received.forEach((part, index) => expect(part.equals(parts[index]), `part ${index + 1}`).toBe(true));
}

describe('STOW body pacing while reads are answered', () => {
  it('reads the body slice by slice, pausing between slices, and still receives every part intact', async () => {
    let asked = 0;
    const { received, pauses } = await readWithPacing({ giveWay: () => (asked += 1) > 0, sliceBytes: 64 * 1024 });
    expectIntact(received);
    // 900 KiB in 64 KiB slices: the reader asked at every slice and gave way each time.
    expect(asked).toBeGreaterThanOrEqual(Math.floor(body.length / (64 * 1024 * 2)));
    expect(pauses).toBe(asked);
  });

  it('still notices a client that goes away while reading gives way', async () => {
    let outcome!: Promise<unknown>;
    let arrived!: () => void;
    const started = new Promise<void>((resolve) => (arrived = resolve));
    const port = await listen((req) => {
      const openPart = (): PartSink => ({ write: () => true, drained: async () => undefined, end: () => undefined, abort: () => undefined });
      outcome = readMultipartBody(req, { maxParts: 10, maxTotalBytes: 10 << 20 }, openPart, { giveWay: () => true, sliceBytes: 1 }).catch((error: Error) => error.message);
      arrived();
    });
    const request = http.request({ port, method: 'POST', headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` } });
    request.on('error', () => undefined);
    request.write(body.subarray(0, 200 * 1024));
    await started;
    request.destroy();
    expect(await outcome).toBe('the upload was interrupted');
  });

  it('reads at full speed when nothing asks it to give way', async () => {
    const { received, pauses } = await readWithPacing({ giveWay: () => false, sliceBytes: 64 * 1024 });
    expectIntact(received);
    expect(pauses).toBe(0);
    expect((await readWithPacing(undefined)).pauses).toBe(0);
  });
});

describe('ReadActivity', () => {
  it('is busy from the start of a tracked request until its response ends, or its client goes away', async () => {
    const reads = new ReadActivity();
    let arrived!: () => void;
    let release!: () => void;
    const app = express();
    app.use(reads.track());
    app.get('/slow', async (_req, res) => {
      arrived();
      await new Promise<void>((resolve) => (release = resolve));
      res.end('done');
    });
    app.get('/hang', () => arrived()); // never answers: only its client going away ends it
    const port = await listen(app);
    const arrival = () => new Promise<void>((resolve) => (arrived = resolve));
    const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
    expect(reads.busy()).toBe(false);

    let arrivedNow = arrival();
    const answer = fetch(`http://127.0.0.1:${port}/slow`).then((r) => r.text());
    await arrivedNow;
    expect(reads.busy()).toBe(true);
    release();
    expect(await answer).toBe('done');
    await settle();
    expect(reads.busy()).toBe(false);

    arrivedNow = arrival();
    const abandoned = new AbortController();
    const hanging = fetch(`http://127.0.0.1:${port}/hang`, { signal: abandoned.signal }).catch(() => 'aborted');
    await arrivedNow;
    expect(reads.busy()).toBe(true);
    abandoned.abort();
    expect(await hanging).toBe('aborted');
    await settle();
    expect(reads.busy()).toBe(false);
  });
});
