/** One part of a `multipart/related` answer: its header fields (names in lower case) and its body. */
export interface MultipartPart {
  headers: Record<string, string>;
  body: Uint8Array;
}

const CR = 13;
const HEADER_END = [CR, 10, CR, 10];

/** The boundary of a `multipart/related; …; boundary=…` Content-Type, or undefined. */
export function boundaryOf(contentType: string): string | undefined {
  return /;\s*boundary="?([^";]+)"?/i.exec(contentType)?.[1];
}

/**
 * The parts of a multipart body (RFC 2046) as its chunks arrive, each part given once whole. A part's
 * `Content-Length` is used when present (the body is then copied once, never scanned: a frame of pixels holds
 * every byte value); without it the body runs to the next delimiter. Throws on a body that is not multipart.
 */
export async function* multipartParts(chunks: AsyncIterable<Uint8Array>, boundary: string): AsyncGenerator<MultipartPart> {
  const delimiter = new TextEncoder().encode(`\r\n--${boundary}`);
  const reader = new ByteQueue(chunks);
  // The body starts with the first delimiter line (the CRLF before it is optional there).
  await reader.skipUntil(delimiter.subarray(2));
  for (;;) {
    const after = await reader.peek(2);
    if (after[0] === 0x2d && after[1] === 0x2d) return; // "--": the closing delimiter
    const headerBytes = await reader.takeUntil(Uint8Array.from(HEADER_END));
    const headers = parseHeaders(new TextDecoder('latin1').decode(headerBytes));
    const declared = headers['content-length'];
    let body: Uint8Array;
    if (declared !== undefined && /^\d+$/.test(declared)) {
      body = await reader.take(Number(declared));
      await reader.expect(delimiter);
    } else {
      body = await reader.takeUntil(delimiter);
    }
    yield { headers, body };
  }
}

function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  // The first line is what followed the delimiter on its line (transport padding, usually nothing).
  for (const line of text.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** Bytes of an async sequence of chunks, taken by count or up to a marker. */
class ByteQueue {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private chunks: Uint8Array[] = [];
  private length = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Exactly `count` bytes, in one array. */
  async take(count: number): Promise<Uint8Array> {
    while (this.length < count) await this.pull();
    const out = new Uint8Array(count);
    let filled = 0;
    let used = 0; // whole chunks consumed
    while (filled < count) {
      const head = this.chunks[used];
      const part = Math.min(head.length, count - filled);
      out.set(head.subarray(0, part), filled);
      filled += part;
      if (part === head.length) used++;
      else this.chunks[used] = head.subarray(part);
    }
    this.chunks.splice(0, used);
    this.length -= count;
    return out;
  }

  /** The next `count` bytes, left in the queue. */
  async peek(count: number): Promise<Uint8Array> {
    while (this.length < count) await this.pull();
    return this.joined().subarray(0, count);
  }

  /** The bytes before the next `marker`; the marker is consumed. */
  async takeUntil(marker: Uint8Array): Promise<Uint8Array> {
    for (;;) {
      const joined = this.joined();
      const at = indexOf(joined, marker);
      if (at >= 0) {
        const before = joined.slice(0, at);
        this.chunks = [joined.subarray(at + marker.length)];
        this.length = joined.length - at - marker.length;
        return before;
      }
      await this.pull();
    }
  }

  async skipUntil(marker: Uint8Array): Promise<void> {
    await this.takeUntil(marker);
  }

  async expect(marker: Uint8Array): Promise<void> {
    const found = await this.take(marker.length);
    if (!found.every((byte, i) => byte === marker[i])) throw new Error('multipart answer: a part is longer than its Content-Length');
  }

  private joined(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0];
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    this.chunks = [out];
    return out;
  }

  private async pull(): Promise<void> {
    const next = await this.iterator.next();
    if (next.done) throw new Error('multipart answer cut short: its closing delimiter never came');
    if (next.value.length === 0) return;
    this.chunks.push(next.value);
    this.length += next.value.length;
  }
}

/** Where `marker` starts in `bytes`, or -1 (searching for its first byte natively). */
function indexOf(bytes: Uint8Array, marker: Uint8Array): number {
  for (let at = bytes.indexOf(marker[0]); at >= 0 && at <= bytes.length - marker.length; at = bytes.indexOf(marker[0], at + 1)) {
    let i = 1;
    while (i < marker.length && bytes[at + i] === marker[i]) i++;
    if (i === marker.length) return at;
  }
  return -1;
}
