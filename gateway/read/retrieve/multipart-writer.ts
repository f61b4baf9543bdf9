import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { Readable } from 'node:stream';

export interface OutgoingPart {
  contentType: string;
  /** Bytes of the part: a stream (streamed from storage) or a small buffer already in memory. */
  body: () => Promise<Readable | Buffer>;
  /** Byte length of the body when known: bounds how much is read ahead. */
  length?: number;
  contentLocation?: string;
  /** Also send the body's length as the part's Content-Length (a client can then take the part without scanning it). */
  lengthHeader?: boolean;
}

export function newBoundary(): string {
  return `astreinte-${randomBytes(12).toString('hex')}`;
}

/** The header block of one part, up to and including the blank line. */
export function partHead(boundary: string, part: Pick<OutgoingPart, 'contentType' | 'contentLocation' | 'length' | 'lengthHeader'>): string {
  let head = `--${boundary}\r\nContent-Type: ${part.contentType}\r\n`;
  if (part.contentLocation) head += `Content-Location: ${part.contentLocation}\r\n`;
  if (part.lengthHeader && part.length !== undefined) head += `Content-Length: ${part.length}\r\n`;
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

/** How far ahead of the part being sent bodies are opened/read: enough to keep the disk and the socket busy. */
const READ_AHEAD_PARTS = 8;
const READ_AHEAD_BYTES = 8 << 20;
/** Bytes of sent parts allowed to wait in the response's buffer before the writer waits for it to drain. */
const WRITE_BUFFER_BYTES = 4 << 20;

/**
 * Writes `multipart/related` (RFC 2387) to `out`, reading the next parts' bodies while the current one is sent
 * (at most READ_AHEAD_PARTS parts and READ_AHEAD_BYTES of declared length ahead), so a whole study streams
 * from storage with bounded memory and no gap between files. Each part carries exactly one `Content-Type:`
 * header line (Cornerstone's parser reads only that spelling) and the body starts with the first delimiter
 * line, as every DICOMweb client expects. Honours backpressure; if the client goes away the current source is
 * destroyed and the promise rejects.
 */
export async function writeMultipart(out: Writable, parts: OutgoingPart[], boundary: string): Promise<void> {
  const ahead: Array<Promise<Readable | Buffer>> = [];
  let opened = 0;
  let aheadBytes = 0;
  const fill = (): void => {
    while (opened < parts.length && (ahead.length === 0 || (ahead.length < READ_AHEAD_PARTS && aheadBytes < READ_AHEAD_BYTES))) {
      const part = parts[opened++];
      const body = part.body();
      body.catch(() => undefined);
      ahead.push(body);
      aheadBytes += part.length ?? READ_AHEAD_BYTES;
    }
  };
  try {
    for (let i = 0; i < parts.length; i++) {
      fill();
      const body = await ahead[0];
      ahead.shift();
      aheadBytes -= parts[i].length ?? READ_AHEAD_BYTES;
      fill();
      const head = Buffer.from(partHead(boundary, parts[i]), 'latin1');
      if (Buffer.isBuffer(body)) {
        // One writev for the delimiter, the body and its CRLF.
        out.cork();
        out.write(head);
        out.write(body);
        out.write(CRLF);
        out.uncork();
        if (out.destroyed) throw new ClientGone();
        // Waiting for 'drain' after every part would leave the socket idle while the next one is queued: let a
        // few parts wait in the socket's buffer instead.
        if (out.writableLength > WRITE_BUFFER_BYTES) await drained(out);
      } else {
        await write(out, head);
        try {
          for await (const chunk of body) await write(out, chunk as Buffer);
        } finally {
          body.destroy();
        }
        await write(out, CRLF);
      }
    }
    await write(out, Buffer.from(`--${boundary}--\r\n`, 'latin1'));
    out.end();
  } finally {
    // Parts read ahead but never sent (the client went away): release their files.
    for (const pending of ahead) void pending.then((b) => (Buffer.isBuffer(b) ? undefined : b.destroy())).catch(() => undefined);
  }
}

const CRLF = Buffer.from('\r\n', 'latin1');

async function write(out: Writable, chunk: Buffer): Promise<void> {
  if (out.destroyed) throw new ClientGone();
  if (out.write(chunk)) return;
  await drained(out);
}

function drained(out: Writable): Promise<void> {
  if (out.destroyed) return Promise.reject(new ClientGone());
  return new Promise<void>((resolve, reject) => {
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
