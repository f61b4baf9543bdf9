import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

export interface OutgoingPart {
  contentType: string;
  /** Bytes of the part: a stream (streamed from storage) or a small buffer already in memory. */
  body: () => Promise<Readable | Buffer>;
  contentLocation?: string;
}

export function newBoundary(): string {
  return `astreinte-${randomBytes(12).toString('hex')}`;
}

/**
 * Writes `multipart/related` (RFC 2387) from parts produced lazily, so a whole study streams from storage
 * part by part and memory stays flat. Each part carries exactly one `Content-Type:` header line (Cornerstone's
 * parser reads only that spelling) and the body starts with the first delimiter line, as every DICOMweb client
 * expects.
 */
export function multipartRelated(parts: AsyncIterable<OutgoingPart> | Iterable<OutgoingPart>, boundary: string): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    for await (const part of parts) {
      let head = `--${boundary}\r\nContent-Type: ${part.contentType}\r\n`;
      if (part.contentLocation) head += `Content-Location: ${part.contentLocation}\r\n`;
      yield Buffer.from(`${head}\r\n`, 'latin1');
      const body = await part.body();
      if (Buffer.isBuffer(body)) {
        yield body;
      } else {
        for await (const chunk of body) yield chunk as Buffer;
      }
      yield Buffer.from('\r\n', 'latin1');
    }
    yield Buffer.from(`--${boundary}--\r\n`, 'latin1');
  }
  return Readable.from(generate(), { objectMode: false, highWaterMark: 1 << 20 });
}
