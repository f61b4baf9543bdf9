import { describe, expect, it } from 'vitest';
import { assertValidObjectKey, InvalidObjectKeyError } from '../../storage/objects/object-store.ts';
import { assertValidByteRange, assertValidListPrefix } from '../../storage/objects/object-store-checks.ts';

describe('assertValidObjectKey', () => {
  it.each([
    'a',
    'studies/1.2.840.10008.5.1.4.1.1.2/series/1.2.3/instances/1.2.3.4.dcm',
    'A-b_c.d/e',
    '...',
    '.hidden',
    'x'.repeat(1024),
  ])('accepts %j', (key) => {
    expect(() => assertValidObjectKey(key)).not.toThrow();
  });

  it.each([
    '',
    '..',
    '.',
    '../x',
    'a/../b',
    'a/./b',
    './a',
    '/abs',
    'a/',
    'a//b',
    'a\\b',
    'a b',
    'é',
    'a\0b',
    'a:b',
    'x'.repeat(1025),
  ])('refuses %j', (key) => {
    expect(() => assertValidObjectKey(key)).toThrow(InvalidObjectKeyError);
  });

  it('names the refused key in its message', () => {
    expect(() => assertValidObjectKey('../etc/passwd')).toThrow('invalid object key: "../etc/passwd"');
  });
});

describe('assertValidListPrefix', () => {
  it.each(['', 'a', 'a/', 'a/b', 'studies/1.2.3/', 'studies/1.'])('accepts %j', (prefix) => {
    expect(() => assertValidListPrefix(prefix)).not.toThrow();
  });

  it.each(['/', '/a', '../', 'a//', 'a/../', 'a b'])('refuses %j', (prefix) => {
    expect(() => assertValidListPrefix(prefix)).toThrow(InvalidObjectKeyError);
  });
});

describe('assertValidByteRange', () => {
  it.each([
    { start: 0, end: 0 },
    { start: 5, end: 10 },
  ])('accepts %j', (range) => {
    expect(() => assertValidByteRange(range)).not.toThrow();
  });

  it.each([
    { start: -1, end: 3 },
    { start: 4, end: 3 },
    { start: 0.5, end: 3 },
    { start: 0, end: Number.NaN },
  ])('refuses %j', (range) => {
    expect(() => assertValidByteRange(range)).toThrow(RangeError);
  });
});
