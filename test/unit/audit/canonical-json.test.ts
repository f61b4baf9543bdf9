import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../core/canonical-json.ts';
import { chainHash, eventHash, GENESIS_HASH } from '../../../audit/audit-hash.ts';

describe('canonicalJson', () => {
  it('sorts keys at every depth, keeps array order, drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' }, u: undefined })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('gives the same text whatever the key order of the input (as jsonb reorders them)', () => {
    const a = { type: '110103', actor: { userId: 'u', role: 'reader' }, entities: [{ kind: 'study', studyUid: '1.2' }] };
    const b = JSON.parse('{"entities":[{"studyUid":"1.2","kind":"study"}],"actor":{"role":"reader","userId":"u"},"type":"110103"}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
  });

  it('refuses what would not survive a jsonb round trip digit for digit', () => {
    expect(() => canonicalJson({ x: 1.5 })).toThrow(/safe integers/);
    expect(() => canonicalJson({ x: 2 ** 60 })).toThrow(/safe integers/);
    expect(() => canonicalJson({ x: () => 1 })).toThrow(/function/);
  });
});

describe('chain hash', () => {
  it('covers the seq, the previous hash and the event', () => {
    const base = eventHash(1, GENESIS_HASH, { a: 1 });
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(eventHash(2, GENESIS_HASH, { a: 1 })).not.toBe(base);
    expect(eventHash(1, 'f'.repeat(64), { a: 1 })).not.toBe(base);
    expect(eventHash(1, GENESIS_HASH, { a: 2 })).not.toBe(base);
    expect(chainHash(1, GENESIS_HASH, '{"a":1}')).toBe(base);
  });
});
