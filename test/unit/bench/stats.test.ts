import { describe, expect, it } from 'vitest';
import { formatNumber, formatRatio, formatShare, median, megabytesPerSecond, percentile, perSecond } from '../../../bench/stats.ts';

describe('percentile', () => {
  it('uses the nearest rank', () => {
    const samples = [15, 20, 35, 40, 50];
    expect(percentile(samples, 5)).toBe(15);
    expect(percentile(samples, 30)).toBe(20);
    expect(percentile(samples, 40)).toBe(20);
    expect(percentile(samples, 50)).toBe(35);
    expect(percentile(samples, 100)).toBe(50);
  });

  it('does not depend on the order of the samples and leaves them untouched', () => {
    const samples = [9, 1, 8, 2, 7, 3, 6, 4, 5, 10];
    expect(percentile(samples, 95)).toBe(10);
    expect(percentile(samples, 90)).toBe(9);
    expect(samples[0]).toBe(9);
  });

  it('gives the only sample for any percentile, NaN for none', () => {
    expect(percentile([4.2], 0)).toBe(4.2);
    expect(percentile([4.2], 99)).toBe(4.2);
    expect(percentile([], 50)).toBeNaN();
  });

  it('rejects percentiles outside 0..100', () => {
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('takes the lower middle value as median of an even count', () => {
    expect(median([1, 2, 3, 4])).toBe(2);
  });
});

describe('rates', () => {
  it('computes megabytes and counts per second', () => {
    expect(megabytesPerSecond(158_000_000, 2000)).toBeCloseTo(79);
    expect(perSecond(300, 1500)).toBe(200);
    expect(perSecond(1, 0)).toBeNaN();
  });
});

describe('formatting', () => {
  it('keeps three significant digits and separates thousands', () => {
    expect(formatNumber(1392.4)).toBe('1,392');
    expect(formatNumber(86.04)).toBe('86.0');
    expect(formatNumber(10.24)).toBe('10.2');
    expect(formatNumber(1.5)).toBe('1.50');
    expect(formatNumber(0.3456)).toBe('0.346');
    expect(formatNumber(Number.NaN)).toBe('–');
  });

  it('states ratios as better or worse according to the direction of the metric', () => {
    expect(formatRatio(300, 150, true)).toBe('2.00× better');
    expect(formatRatio(100, 150, true)).toBe('1.50× worse');
    expect(formatRatio(20, 264, false)).toBe('13× better');
    expect(formatRatio(30, 10, false)).toBe('3.00× worse');
    expect(formatRatio(5, 0, true)).toBe('–');
    expect(formatRatio(Number.NaN, 3, true)).toBe('–');
  });

  it('states a share of a ceiling as a whole percentage', () => {
    expect(formatShare(391, 456)).toBe('86%');
    expect(formatShare(10, 0)).toBe('–');
  });
});
