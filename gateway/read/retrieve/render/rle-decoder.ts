/**
 * RLE Lossless (PS3.5 Annex G): a 64-byte header (segment count, 15 offsets) and one PackBits segment per byte
 * of each sample, most significant byte first. Decodes to native little endian bytes, color planes one after
 * the other (Planar Configuration 1), whatever the data set's Planar Configuration says (G.2).
 */
export function decodeRle(frame: Uint8Array, pixels: number, samplesPerPixel: number, bytesPerSample: number): Uint8Array {
  if (frame.length < 64) throw new Error(`the RLE frame is ${frame.length} bytes long, shorter than its 64-byte header`);
  const header = new DataView(frame.buffer, frame.byteOffset, 64);
  const segments = header.getUint32(0, true);
  const expected = samplesPerPixel * bytesPerSample;
  if (segments !== expected) {
    throw new Error(`the RLE frame has ${segments} segments where ${samplesPerPixel} sample(s) of ${bytesPerSample} byte(s) need ${expected}`);
  }
  const out = new Uint8Array(pixels * expected);
  for (let s = 0; s < segments; s++) {
    const start = header.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? header.getUint32(8 + 4 * s, true) : frame.length;
    if (start < 64 || end > frame.length || end < start) throw new Error(`RLE segment ${s + 1} lies outside the frame (${start}..${end})`);
    const sample = Math.floor(s / bytesPerSample);
    const byteOfSample = bytesPerSample - 1 - (s % bytesPerSample); // little endian position of this byte
    const base = sample * pixels * bytesPerSample + byteOfSample;
    unpackBits(frame, start, end, out, base, bytesPerSample, pixels);
  }
  return out;
}

/** PackBits into every `stride`-th byte of `out` from `base`, at most `count` bytes (extra bytes are padding). */
function unpackBits(input: Uint8Array, start: number, end: number, out: Uint8Array, base: number, stride: number, count: number): void {
  let written = 0;
  let i = start;
  while (i < end && written < count) {
    const n = input[i++];
    if (n < 128) {
      const literal = Math.min(n + 1, end - i, count - written);
      for (let k = 0; k < literal; k++) out[base + (written + k) * stride] = input[i + k];
      i += n + 1;
      written += literal;
    } else if (n > 128) {
      const run = Math.min(257 - n, count - written);
      const value = input[i++];
      for (let k = 0; k < run; k++) out[base + (written + k) * stride] = value;
      written += run;
    }
    // 128 (-128): no operation
  }
}
