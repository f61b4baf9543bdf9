import { describe, expect, it } from 'vitest';
import { createHolidayCalendar, easterSunday, frenchPublicHolidays } from '../../../core/time/public-holidays.ts';
import { formatLocalDate } from '../../../core/time/wall-time.ts';

describe('French public holidays', () => {
  it('computes Easter Sunday', () => {
    const known: Record<number, string> = {
      1818: '1818-03-22',
      1943: '1943-04-25',
      2011: '2011-04-24',
      2024: '2024-03-31',
      2025: '2025-04-20',
      2026: '2026-04-05',
      2027: '2027-03-28',
      2028: '2028-04-16',
      2038: '2038-04-25',
      2285: '2285-03-22',
    };
    for (const [year, date] of Object.entries(known)) expect(formatLocalDate(easterSunday(Number(year)))).toBe(date);
  });

  it('lists the eleven holidays of 2027 with Easter Monday, Ascension and Whit Monday', () => {
    const list = frenchPublicHolidays(2027).map((h) => `${formatLocalDate(h.date)} ${h.id}`);
    expect(list).toEqual([
      '2027-01-01 new-year',
      '2027-03-29 easter-monday',
      '2027-05-01 labour-day',
      '2027-05-08 victory-1945',
      '2027-05-06 ascension',
      '2027-05-17 whit-monday',
      '2027-07-14 bastille-day',
      '2027-08-15 assumption',
      '2027-11-01 all-saints',
      '2027-11-11 armistice-1918',
      '2027-12-25 christmas',
    ]);
  });

  it('adds Good Friday and 26 December in Alsace-Moselle only', () => {
    expect(frenchPublicHolidays(2026, 'france-alsace-moselle').map((h) => h.id)).toContain('good-friday');
    expect(frenchPublicHolidays(2026).map((h) => h.id)).not.toContain('good-friday');
  });

  it('answers per date, with configured extra dates', () => {
    const calendar = createHolidayCalendar('france', [{ date: '2026-06-19', name: 'Fête locale' }]);
    expect(calendar.holidayOn({ year: 2026, month: 7, day: 14 })?.name).toBe('Fête nationale');
    expect(calendar.holidayOn({ year: 2026, month: 5, day: 25 })?.id).toBe('whit-monday');
    expect(calendar.holidayOn({ year: 2026, month: 6, day: 19 })).toMatchObject({ id: 'extra', name: 'Fête locale' });
    expect(calendar.holidayOn({ year: 2026, month: 7, day: 15 })).toBeUndefined();
    expect(createHolidayCalendar('none').holidayOn({ year: 2026, month: 7, day: 14 })).toBeUndefined();
  });
});
