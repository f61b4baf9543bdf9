import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { newBoundary, writeMultipart, type OutgoingPart } from '../../../gateway/read/retrieve/multipart-writer.ts';
import { boundaryOf, multipartParts, type MultipartPart } from '../../../viewer/src/multipart-parts.ts';

/** The body cut into chunks of `size` bytes (a network delivers them anyhow). */
async function* chunked(body: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < body.length; at += size) yield body.subarray(at, at + size);
}

async function collect(parts: AsyncIterable<MultipartPart>): Promise<MultipartPart[]> {
  const out: MultipartPart[] = [];
  for await (const part of parts) out.push(part);
  return out;
}

/** Pixel-like bodies: every byte value, the delimiter's own bytes included. */
function frame(seed: number, length: number, boundary: string): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  Buffer.from(`\r\n--${boundary.slice(0, -1)}`).copy(bytes, Math.floor(length / 2)); // a near-delimiter inside
  return bytes;
}

async function written(parts: OutgoingPart[], boundary: string): Promise<Buffer> {
  const out = new PassThrough();
  const buffers: Buffer[] = [];
  out.on('data', (b: Buffer) => buffers.push(b));
  await writeMultipart(out, parts, boundary);
  return Buffer.concat(buffers);
}

describe("the reading page's multipart parser", () => {
  it("takes the gateway's Pixel Data answer part by part, whatever the chunk sizes", async () => {
    const boundary = newBoundary();
    const bodies = [frame(1, 5000, boundary), frame(2, 1, boundary), frame(3, 0, boundary), frame(4, 70_000, boundary)];
    const body = await written(
      bodies.map((b, i) => ({ contentType: 'application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1', contentLocation: `http://x/frames/${i + 1}`, length: b.length, lengthHeader: true, body: async () => b })),
      boundary,
    );
    for (const size of [1, 7, 4096, body.length]) {
      const parts = await collect(multipartParts(chunked(body, size), boundary));
      expect(parts.map((p) => p.headers['content-location'])).toEqual(['http://x/frames/1', 'http://x/frames/2', 'http://x/frames/3', 'http://x/frames/4']);
      parts.forEach((p, i) => expect(Buffer.compare(Buffer.from(p.body), bodies[i]), `chunks of ${size}, part ${i + 1}`).toBe(0));
      expect(parts[0].headers['content-type']).toBe('application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1');
    }
  });

  it('finds parts without Content-Length by their delimiter, with transport padding and no headers', async () => {
    const boundary = 'b0undary';
    const text = `preamble\r\n--${boundary}  \r\nContent-Type: application/octet-stream\r\n\r\nfirst\r\n--${boundary}\r\n\r\nsecond body\r\n--${boundary}--\r\nepilogue`;
    const parts = await collect(multipartParts(chunked(new TextEncoder().encode(text), 3), boundary));
    expect(parts.map((p) => new TextDecoder().decode(p.body))).toEqual(['first', 'second body']);
    expect(parts[0].headers).toEqual({ 'content-type': 'application/octet-stream' });
    expect(parts[1].headers).toEqual({});
  });

  it('refuses a cut answer and a part longer than it said', async () => {
    const boundary = 'xyz';
    const cut = `--${boundary}\r\nContent-Length: 4\r\n\r\nab`;
    await expect(collect(multipartParts(chunked(new TextEncoder().encode(cut), 2), boundary))).rejects.toThrow(/cut short/);
    const longer = `--${boundary}\r\nContent-Length: 2\r\n\r\nabcd\r\n--${boundary}--`;
    await expect(collect(multipartParts(chunked(new TextEncoder().encode(longer), 5), boundary))).rejects.toThrow(/longer than its Content-Length/);
  });

  it('reads the boundary of a Content-Type, quoted or not', () => {
    expect(boundaryOf('multipart/related; type="application/octet-stream"; boundary=astreinte-1f')).toBe('astreinte-1f');
    expect(boundaryOf('multipart/related; boundary="a b"; type=x')).toBe('a b');
    expect(boundaryOf('application/dicom+json')).toBeUndefined();
  });
});
