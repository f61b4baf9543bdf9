/**
 * Wall time in an IANA time zone <-> instants, with Intl.DateTimeFormat only (no date library).
 *
 * Rotas are written in local wall time ("18:30", "sat 08:30"); the instants they denote move with daylight
 * saving time, so every conversion goes through the zone's rules. A local time that does not exist (the
 * skipped hour in spring) or exists twice (the repeated hour in autumn) is resolved like Temporal does:
 * 'compatible' takes the earlier of two repeated instants and, for a skipped time, moves forward by the
 * length of the gap (02:30 on the spring-forward night in Paris becomes 03:30 CEST).
 */

export interface LocalDate {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
}

export interface WallTime extends LocalDate {
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

export type Disambiguation = 'compatible' | 'earlier' | 'later' | 'reject';

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock reading in `timeZone` at `instant`. */
export function wallTimeAt(instant: Date | number, timeZone: string): WallTime {
  const ms = typeof instant === 'number' ? instant : instant.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('invalid instant');
  const fields: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(ms)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  return {
    year: fields.year,
    month: fields.month,
    day: fields.day,
    hour: fields.hour === 24 ? 0 : fields.hour,
    minute: fields.minute,
    second: fields.second,
    millisecond: ((ms % 1000) + 1000) % 1000,
  };
}

function wallAsUtcMs(w: Omit<WallTime, 'millisecond'> & { millisecond?: number }): number {
  const d = new Date(0);
  d.setUTCFullYear(w.year, w.month - 1, w.day);
  d.setUTCHours(w.hour, w.minute, w.second, w.millisecond ?? 0);
  return d.getTime();
}

/** Offset of `timeZone` from UTC at `instant`, in milliseconds (+3_600_000 for CET). */
export function offsetMsAt(instant: Date | number, timeZone: string): number {
  const ms = typeof instant === 'number' ? instant : instant.getTime();
  return wallAsUtcMs(wallTimeAt(ms, timeZone)) - ms;
}

function sameWall(a: WallTime, b: Omit<WallTime, 'millisecond'>): boolean {
  return (
    a.year === b.year &&
    a.month === b.month &&
    a.day === b.day &&
    a.hour === b.hour &&
    a.minute === b.minute &&
    a.second === b.second
  );
}

export class NonexistentWallTimeError extends RangeError {}

/**
 * The instant at which the clocks of `timeZone` read `wall`. Assumes at most one offset change within a
 * day either side, which holds for every real zone.
 */
export function instantAt(
  wall: LocalDate & { hour?: number; minute?: number; second?: number; millisecond?: number },
  timeZone: string,
  disambiguation: Disambiguation = 'compatible',
): Date {
  // Rota boundaries repeat (every weekday at 18:30...): remember conversions, Intl formatting is the cost.
  const key = `${timeZone}|${wall.year}-${wall.month}-${wall.day}T${wall.hour ?? 0}:${wall.minute ?? 0}:${wall.second ?? 0}.${wall.millisecond ?? 0}|${disambiguation}`;
  const cached = conversions.get(key);
  if (cached !== undefined) return new Date(cached);
  const result = convert(wall, timeZone, disambiguation);
  if (conversions.size >= MAX_CACHED_CONVERSIONS) conversions.clear();
  conversions.set(key, result.getTime());
  return result;
}

const MAX_CACHED_CONVERSIONS = 50_000;
const conversions = new Map<string, number>();

function convert(
  wall: LocalDate & { hour?: number; minute?: number; second?: number; millisecond?: number },
  timeZone: string,
  disambiguation: Disambiguation,
): Date {
  const w = {
    year: wall.year,
    month: wall.month,
    day: wall.day,
    hour: wall.hour ?? 0,
    minute: wall.minute ?? 0,
    second: wall.second ?? 0,
    millisecond: wall.millisecond ?? 0,
  };
  const guess = wallAsUtcMs(w);
  const offBefore = offsetMsAt(guess - DAY_MS, timeZone);
  const offAfter = offsetMsAt(guess + DAY_MS, timeZone);
  const candidates = [...new Set([guess - offBefore, guess - offAfter])]
    .filter((t) => sameWall(wallTimeAt(t, timeZone), w))
    .sort((a, b) => a - b);
  if (candidates.length === 1) return new Date(candidates[0]);
  const label = `${formatLocalDate(w)} ${pad(w.hour)}:${pad(w.minute)}`;
  if (candidates.length === 2) {
    if (disambiguation === 'reject') {
      throw new NonexistentWallTimeError(`${label} happens twice in ${timeZone} (clocks go back)`);
    }
    return new Date(disambiguation === 'later' ? candidates[1] : candidates[0]);
  }
  if (disambiguation === 'reject') {
    throw new NonexistentWallTimeError(`${label} does not exist in ${timeZone} (clocks go forward)`);
  }
  // Skipped: 'earlier' reads the wall time with the offset after the change (lands before the gap),
  // 'compatible'/'later' with the offset before it (lands after the gap).
  return new Date(disambiguation === 'earlier' ? guess - offAfter : guess - offBefore);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

export function formatLocalDate(d: LocalDate): string {
  return `${pad(d.year, 4)}-${pad(d.month)}-${pad(d.day)}`;
}

export function localDateOf(instant: Date | number, timeZone: string): LocalDate {
  const { year, month, day } = wallTimeAt(instant, timeZone);
  return { year, month, day };
}

export function addDays(d: LocalDate, days: number): LocalDate {
  const t = new Date(Date.UTC(2000, 0, 1));
  t.setUTCFullYear(d.year, d.month - 1, d.day + days);
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

/** Whole days from `a` to `b` (negative when b is before a). */
export function daysBetween(a: LocalDate, b: LocalDate): number {
  const ta = new Date(0);
  ta.setUTCFullYear(a.year, a.month - 1, a.day);
  const tb = new Date(0);
  tb.setUTCFullYear(b.year, b.month - 1, b.day);
  return Math.round((tb.getTime() - ta.getTime()) / DAY_MS);
}

/** 0 = Sunday ... 6 = Saturday, like Date#getDay. */
export function weekdayOf(d: LocalDate): number {
  const t = new Date(0);
  t.setUTCFullYear(d.year, d.month - 1, d.day);
  return t.getUTCDay();
}

export function sameLocalDate(a: LocalDate, b: LocalDate): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day;
}

const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses YYYY-MM-DD; null when malformed or not a calendar date (2026-02-30). */
export function parseLocalDate(text: string): LocalDate | null {
  const m = LOCAL_DATE.exec(text);
  if (!m) return null;
  const d = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  const check = addDays(d, 0);
  return sameLocalDate(check, d) ? d : null;
}

const DATE_TIME =
  /^(\d{4}-\d{2}-\d{2})[T ]([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.(\d{1,3})\d*)?)?(Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?$/i;

export interface ParsedDateTime {
  wall: WallTime;
  /** Offset written in the text, in ms; undefined when the text gave a bare local time. */
  offsetMs?: number;
}

/** Parses an ISO 8601 date-time (offset optional): 2026-03-29T02:10, 2026-03-29T02:10:00+02:00, ...Z. */
export function parseDateTime(text: string): ParsedDateTime | null {
  const m = DATE_TIME.exec(text.trim());
  if (!m) return null;
  const date = parseLocalDate(m[1]);
  if (!date) return null;
  const wall: WallTime = {
    ...date,
    hour: Number(m[2]),
    minute: Number(m[3]),
    second: m[4] === undefined ? 0 : Number(m[4]),
    millisecond: m[5] === undefined ? 0 : Number(m[5].padEnd(3, '0')),
  };
  const zone = m[6];
  if (zone === undefined) return { wall };
  if (zone.toUpperCase() === 'Z') return { wall, offsetMs: 0 };
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return { wall, offsetMs: sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000 };
}

/**
 * An instant from ISO 8601 text. A time without offset is read as wall time in `timeZone`
 * (repeated autumn times take the first occurrence, skipped spring times move forward).
 */
export function parseInstant(text: string, timeZone: string): Date | null {
  const parsed = parseDateTime(text);
  if (!parsed) return null;
  if (parsed.offsetMs === undefined) return instantAt(parsed.wall, timeZone, 'compatible');
  return new Date(wallAsUtcMs(parsed.wall) - parsed.offsetMs);
}

/** ISO 8601 with the zone's offset at that instant: 2026-10-25T02:30:00+01:00. */
export function formatInstant(instant: Date | number, timeZone: string): string {
  const ms = typeof instant === 'number' ? instant : instant.getTime();
  const w = wallTimeAt(ms, timeZone);
  const offsetMin = Math.round(offsetMsAt(ms, timeZone) / 60_000);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  const fraction = w.millisecond === 0 ? '' : `.${pad(w.millisecond, 3)}`;
  return (
    `${formatLocalDate(w)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}${fraction}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}
