/**
 * French public holidays (jours fériés, Code du travail L3133-1), the Easter-based ones computed with the
 * anonymous Gregorian algorithm (Meeus/Jones/Butcher). Alsace-Moselle adds Good Friday and 26 December.
 */
import { addDays, formatLocalDate, parseLocalDate, type LocalDate } from './wall-time.ts';

export type HolidayCalendarKind = 'france' | 'france-alsace-moselle' | 'none';

export interface PublicHoliday {
  date: LocalDate;
  /** Stable identifier: easter-monday, bastille-day, ... or `extra` for dates added by configuration. */
  id: string;
  name: string;
}

/** Easter Sunday of a Gregorian year. */
export function easterSunday(year: number): LocalDate {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return { year, month, day };
}

export function frenchPublicHolidays(year: number, kind: HolidayCalendarKind = 'france'): PublicHoliday[] {
  if (kind === 'none') return [];
  const easter = easterSunday(year);
  const fixed = (month: number, day: number, id: string, name: string): PublicHoliday => ({
    date: { year, month, day },
    id,
    name,
  });
  const easterBased = (offset: number, id: string, name: string): PublicHoliday => ({
    date: addDays(easter, offset),
    id,
    name,
  });
  const holidays = [
    fixed(1, 1, 'new-year', "Jour de l'an"),
    easterBased(1, 'easter-monday', 'Lundi de Pâques'),
    fixed(5, 1, 'labour-day', 'Fête du Travail'),
    fixed(5, 8, 'victory-1945', 'Victoire 1945'),
    easterBased(39, 'ascension', 'Ascension'),
    easterBased(50, 'whit-monday', 'Lundi de Pentecôte'),
    fixed(7, 14, 'bastille-day', 'Fête nationale'),
    fixed(8, 15, 'assumption', 'Assomption'),
    fixed(11, 1, 'all-saints', 'Toussaint'),
    fixed(11, 11, 'armistice-1918', 'Armistice 1918'),
    fixed(12, 25, 'christmas', 'Noël'),
  ];
  if (kind === 'france-alsace-moselle') {
    holidays.push(easterBased(-2, 'good-friday', 'Vendredi saint'), fixed(12, 26, 'saint-stephen', 'Saint-Étienne'));
  }
  return holidays;
}

export interface HolidayCalendar {
  holidayOn(date: LocalDate): PublicHoliday | undefined;
}

/** A calendar of `kind` plus dates added by configuration (for example a local holiday). */
export function createHolidayCalendar(
  kind: HolidayCalendarKind,
  extraDates: ReadonlyArray<{ date: string; name: string }> = [],
): HolidayCalendar {
  const extras = new Map<string, PublicHoliday>();
  for (const extra of extraDates) {
    const date = parseLocalDate(extra.date);
    if (date) extras.set(extra.date, { date, id: 'extra', name: extra.name });
  }
  const byYear = new Map<number, Map<string, PublicHoliday>>();
  return {
    holidayOn(date) {
      const key = formatLocalDate(date);
      let year = byYear.get(date.year);
      if (!year) {
        year = new Map(frenchPublicHolidays(date.year, kind).map((h) => [formatLocalDate(h.date), h]));
        byYear.set(date.year, year);
      }
      return year.get(key) ?? extras.get(key);
    },
  };
}
