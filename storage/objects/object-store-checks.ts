import { assertValidObjectKey, InvalidObjectKeyError, type ByteRange } from './object-store.ts';

/** Throws RangeError unless `0 <= start <= end` are whole numbers (an end past the object is clamped). */
export function assertValidByteRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`invalid byte range ${start}-${end}: need whole numbers with 0 <= start <= end`);
  }
}

/** A list prefix is '' or a valid key, optionally followed by '/' (it may end mid-segment, as in S3). */
export function assertValidListPrefix(prefix: string): void {
  if (prefix === '') return;
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (trimmed === '') throw new InvalidObjectKeyError(prefix);
  assertValidObjectKey(trimmed);
}
