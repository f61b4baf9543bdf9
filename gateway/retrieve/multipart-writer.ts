import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { Readable } from 'node:stream';

export interface OutgoingPart {
  contentType: string;
  /** Bytes of the part: a stream (streamed from storage) or a small buffer already in memory. */
  body: () => Promise<Readable | Buffer>;
  contentLocation?: string;
}

export function newBoundary(): string {
  return `astreinte-${randomBytes(12).toString('hex')}`;
}

/** The header block of one part, up to and including the blank line. */
export function partHead(boundary: string, part: Pick<OutgoingPart, 'contentType' | 'contentLocation'>): string {
  let head = `--${boundary}\r\nContent-Type: ${part.contentType}\r\n`;
  if (part.contentLocation) head += `Content-Location: ${part.contentLocation}\r\n`;
  return `${head}\r\n`;
}

/** Byte length of the whole multipart body, for Content-Length, given each part's body length. */
export function multipartLength(boundary: string, parts: OutgoingPart[], bodyLengths: number[]): number {
  let total = Buffer.byteLength(`--${boundary}--\r\n`);
  parts.forEach((p, i) => {
    total += Buffer.byteLength(partHead(boundary, p), 'latin1') + bodyLengths[i] + 2;
  });
  return total;
}

/**
 * Writes `multipart/related` (RFC 2387) to `out`, opening each part's body while the previous one streams, so a
 * whole study streams from storage part by part with flat memory and no gap between files. Each part carries
 * exactly one `Content-Type:` header line (Cornerstone's parser reads only that spelling) and the body starts
 * with the first delimiter line, as every DICOMweb client expects. Honours backpressure; if the client goes away
 * the current source is destroyed and the promise rejects.
 */
export async function writeMultipart(out: Writable, parts: OutgoingPart[], boundary: string): Promise<void> {
  let next: Promise<Readable | Buffer> | undefined = parts.length > 0 ? parts[0].body() : undefined;
  try {
    for (let i = 0; i < parts.length; i++) {
      const body = await next!;
      next = i + 1 < parts.length ? parts[i + 1].body() : undefined;
      next?.catch(() => undefined);
      await write(out, Buffer.from(partHead(boundary, parts[i]), 'latin1'));
      if (Buffer.isBuffer(body)) {
        await write(out, body);
      } else {
        try {
          for await (const chunk of body) await write(out, chunk as Buffer);
        } finally {
          body.destroy();
        }
      }
      await write(out, CRLF);
    }
    await write(out, Buffer.from(`--${boundary}--\r\n`, 'latin1'));
    out.end();
  } finally {
    // A part opened ahead but never sent (the client went away): release its file.
    void next?.then((b) => (Buffer.isBuffer(b) ? undefined : b.destroy())).catch(() => undefined);
  }
}

const CRLF = Buffer.from('\r\n', 'latin1');

async function write(out: Writable, chunk: Buffer): Promise<void> {
  if (out.destroyed) throw new ClientGone();
  if (out.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: Error) => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => settle();
    const onClose = () => settle(new ClientGone());
    out.on('drain', onDrain);
    out.on('close', onClose);
  });
}

export class ClientGone extends Error {
  constructor() {
    super('the client closed the connection');
    this.name = 'ClientGone';
  }
}
