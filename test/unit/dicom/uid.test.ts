import { describe, expect, it } from 'vitest';
import { describeUidProblem, isValidUid } from '../../../core/dicom/uid.ts';

describe('isValidUid (PS3.5 9.1)', () => {
  it('accepts valid UIDs', () => {
    for (const uid of ['1', '0', '1.2.840.10008.1.2.1', '2.25.0', '1.0.2', `1.${'2'.repeat(62)}`]) {
      expect(isValidUid(uid), uid).toBe(true);
    }
  });

  it('refuses everything that is not digits and dots, leading zeros, empty components, more than 64 characters', () => {
    const invalid = ['', '.', '1.', '.1', '1..2', '1.02', '00', '1.2.a', '1.2 ', ' 1.2', '1/2', '../1', '1.2.3/..', '1,2',
      '1.2\u0000', `1.${'2'.repeat(63)}`, '١.٢'];
    for (const uid of invalid) expect(isValidUid(uid), JSON.stringify(uid)).toBe(false);
  });

  it('says what is wrong', () => {
    expect(describeUidProblem('1.2.3')).toBeUndefined();
    expect(describeUidProblem('')).toBe('it is empty');
    expect(describeUidProblem('1.02')).toBe('a component has a leading zero');
    expect(describeUidProblem('1..2')).toBe('it has an empty component (leading, trailing or doubled dot)');
    expect(describeUidProblem('1.2/3')).toBe('it contains characters other than digits and dots');
    expect(describeUidProblem('1'.repeat(65))).toBe('it is 65 characters long (at most 64)');
  });
});
