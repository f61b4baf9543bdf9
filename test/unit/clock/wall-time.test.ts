import { describe, expect, it } from 'vitest';
import {
  addDays,
  daysBetween,
  formatInstant,
  instantAt,
  isValidTimeZone,
  NonexistentWallTimeError,
  offsetMsAt,
  parseInstant,
  parseLocalDate,
  wallTimeAt,
  weekdayOf,
} from '../../../core/time/wall-time.ts';

const PARIS = 'Europe/Paris';
const HOUR = 3_600_000;

describe('wall time in Europe/Paris', () => {
  it('reads winter and summer offsets', () => {
    expect(offsetMsAt(new Date('2026-01-15T12:00:00Z'), PARIS)).toBe(HOUR);
    expect(offsetMsAt(new Date('2026-07-14T12:00:00Z'), PARIS)).toBe(2 * HOUR);
  });

  it('converts an ordinary wall time both ways', () => {
    const t = instantAt({ year: 2026, month: 3, day: 1, hour: 2, minute: 10 }, PARIS);
    expect(t.toISOString()).toBe('2026-03-01T01:10:00.000Z');
    expect(wallTimeAt(t, PARIS)).toMatchObject({ year: 2026, month: 3, day: 1, hour: 2, minute: 10, second: 0 });
    expect(formatInstant(t, PARIS)).toBe('2026-03-01T02:10:00+01:00');
  });

  it('moves a skipped spring time forward (29 March 2026, 02:30 does not exist)', () => {
    const wall = { year: 2026, month: 3, day: 29, hour: 2, minute: 30 };
    expect(instantAt(wall, PARIS).toISOString()).toBe('2026-03-29T01:30:00.000Z');
    expect(formatInstant(instantAt(wall, PARIS), PARIS)).toBe('2026-03-29T03:30:00+02:00');
    expect(instantAt(wall, PARIS, 'later').toISOString()).toBe('2026-03-29T01:30:00.000Z');
    expect(instantAt(wall, PARIS, 'earlier').toISOString()).toBe('2026-03-29T00:30:00.000Z');
    expect(() => instantAt(wall, PARIS, 'reject')).toThrow(NonexistentWallTimeError);
  });

  it('resolves a repeated autumn time (25 October 2026, 02:30 happens twice)', () => {
    const wall = { year: 2026, month: 10, day: 25, hour: 2, minute: 30 };
    expect(instantAt(wall, PARIS).toISOString()).toBe('2026-10-25T00:30:00.000Z');
    expect(instantAt(wall, PARIS, 'earlier').toISOString()).toBe('2026-10-25T00:30:00.000Z');
    expect(instantAt(wall, PARIS, 'later').toISOString()).toBe('2026-10-25T01:30:00.000Z');
    expect(() => instantAt(wall, PARIS, 'reject')).toThrow(/twice/);
    expect(formatInstant(new Date('2026-10-25T00:30:00Z'), PARIS)).toBe('2026-10-25T02:30:00+02:00');
    expect(formatInstant(new Date('2026-10-25T01:30:00Z'), PARIS)).toBe('2026-10-25T02:30:00+01:00');
  });

  it('handles the 2027 changes (28 March, 31 October)', () => {
    expect(instantAt({ year: 2027, month: 3, day: 28, hour: 3 }, PARIS).toISOString()).toBe('2027-03-28T01:00:00.000Z');
    expect(instantAt({ year: 2027, month: 3, day: 28, hour: 1, minute: 59 }, PARIS).toISOString()).toBe(
      '2027-03-28T00:59:00.000Z',
    );
    expect(instantAt({ year: 2027, month: 10, day: 31, hour: 2 }, PARIS, 'later').toISOString()).toBe(
      '2027-10-31T01:00:00.000Z',
    );
  });

  it('parses ISO instants with and without offset', () => {
    expect(parseInstant('2026-03-29T02:10:00+02:00', PARIS)?.toISOString()).toBe('2026-03-29T00:10:00.000Z');
    expect(parseInstant('2026-03-29T02:10Z', PARIS)?.toISOString()).toBe('2026-03-29T02:10:00.000Z');
    expect(parseInstant('2026-03-01T02:10', PARIS)?.toISOString()).toBe('2026-03-01T01:10:00.000Z');
    expect(parseInstant('2026-03-01 02:10:05.25-0130', PARIS)?.toISOString()).toBe('2026-03-01T03:40:05.250Z');
    expect(parseInstant('2026-02-30T02:10', PARIS)).toBeNull();
    expect(parseInstant('tomorrow', PARIS)).toBeNull();
    expect(parseInstant('2026-03-01T24:00', PARIS)).toBeNull();
  });

  it('does local date arithmetic across months, years and leap days', () => {
    expect(addDays({ year: 2026, month: 12, day: 31 }, 1)).toEqual({ year: 2027, month: 1, day: 1 });
    expect(addDays({ year: 2028, month: 3, day: 1 }, -1)).toEqual({ year: 2028, month: 2, day: 29 });
    expect(daysBetween({ year: 2026, month: 3, day: 28 }, { year: 2026, month: 3, day: 30 })).toBe(2);
    expect(weekdayOf({ year: 2026, month: 3, day: 29 })).toBe(0);
    expect(parseLocalDate('2027-02-29')).toBeNull();
    expect(parseLocalDate('2028-02-29')).toEqual({ year: 2028, month: 2, day: 29 });
  });

  it('knows valid time zones', () => {
    expect(isValidTimeZone('Europe/Paris')).toBe(true);
    expect(isValidTimeZone('Europe/Toulouse')).toBe(false);
  });
});
