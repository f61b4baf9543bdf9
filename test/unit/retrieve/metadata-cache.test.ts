import { describe, expect, it } from 'vitest';
import { MetadataCache } from '../../../gateway/read/retrieve/metadata-cache.ts';

const bytes = (n: number, fill = 0x20) => Buffer.alloc(n, fill);

describe('MetadataCache', () => {
  it('gives an answer back only under the version it was built for', () => {
    const cache = new MetadataCache(1000);
    cache.set('series-a', '3:17', bytes(10));
    expect(cache.get('series-a', '3:17')?.length).toBe(10);
    expect(cache.get('series-a', '4:18')).toBeUndefined();
    // A stale entry is dropped, not kept for later.
    expect(cache.get('series-a', '3:17')).toBeUndefined();
    expect(cache.size).toEqual({ entries: 0, bytes: 0 });
  });

  it('stays within its byte budget, dropping the least recently used first', () => {
    const cache = new MetadataCache(1000);
    cache.set('a', 'v', bytes(200));
    cache.set('b', 'v', bytes(200));
    cache.set('c', 'v', bytes(200));
    cache.get('a', 'v'); // a is now the most recently used
    cache.set('d', 'v', bytes(200));
    cache.set('e', 'v', bytes(200)); // 1000 bytes: everything fits
    cache.set('f', 'v', bytes(200)); // over: b (least recently used) goes
    expect(cache.get('b', 'v')).toBeUndefined();
    expect(cache.get('a', 'v')).toBeDefined();
    expect(cache.size.bytes).toBeLessThanOrEqual(1000);
  });

  it('never keeps an answer larger than a quarter of the budget, and replaces an entry in place', () => {
    const cache = new MetadataCache(1000);
    cache.set('small', 'v', bytes(100));
    cache.set('huge', 'v', bytes(300));
    expect(cache.get('huge', 'v')).toBeUndefined();
    cache.set('small', 'v2', bytes(50));
    expect(cache.size).toEqual({ entries: 1, bytes: 50 });
    expect(cache.get('small', 'v2')?.length).toBe(50);
  });
});
