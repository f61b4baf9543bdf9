import { RangeNotSatisfiable } from './problem.ts';

export interface InclusiveRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range` header for a resource of `size` bytes (RFC 9110 14.2). One range is served
 * (`bytes=a-b`, `bytes=a-`, `bytes=-n`); several ranges, or another unit, are ignored and the whole
 * resource is sent, as the RFC allows. Returns undefined when the whole resource is to be sent.
 */
export function parseRange(header: string | undefined, size: number): InclusiveRange | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) throw new RangeNotSatisfiable(`Range ${header} asks for no bytes.`, size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (match[2] !== '' && Number(match[2]) < start) return undefined;
  }
  if (start >= size) throw new RangeNotSatisfiable(`Range ${header} starts beyond the ${size} bytes of this resource.`, size);
  return { start, end };
}
