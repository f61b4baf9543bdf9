import { describe, expect, it } from 'vitest';
import { delimiterCounter, runPool } from '../../../bench/http-client.ts';

describe('delimiterCounter', () => {
  it('counts delimiters split across chunks exactly once', () => {
    const body = Buffer.from('\r\n--abc\r\nxx\r\n--abc\r\nyy\r\n--abc--\r\n');
    for (let size = 1; size <= body.length; size++) {
      const counter = delimiterCounter(Buffer.from('\r\n--abc'));
      for (let at = 0; at < body.length; at += size) counter.onChunk(body.subarray(at, at + size));
      expect(counter.count()).toBe(3);
    }
  });
});

describe('runPool', () => {
  it('keeps results in order and never exceeds the concurrency', async () => {
    let inFlight = 0;
    let highest = 0;
    const results = await runPool([5, 1, 4, 2, 3], 2, async (item) => {
      inFlight++;
      highest = Math.max(highest, inFlight);
      await new Promise((resolve) => setTimeout(resolve, item));
      inFlight--;
      return item * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(highest).toBe(2);
  });
});
