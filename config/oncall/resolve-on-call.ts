/**
 * Who is on call in a pool at an instant, and under which rota entry. Precedence: a dated assignment, then
 * the public-holiday shift, then the weekly pattern. Shifts are written in the pool's local wall time and
 * turned into instants with the zone's rules, so the night of a DST change is an hour shorter or longer
 * and boundaries falling in the skipped hour move forward (see core/time/wall-time.ts).
 */
import type {
  HolidayShift,
  MinuteOfDay,
  Pool,
  ReaderPair,
  RegionConfig,
  Rota,
  Staffing,
} from '../region/region-config.ts';
import { WEEKDAYS } from '../region/region-config.ts';
import type { PublicHoliday } from '../../core/time/public-holidays.ts';
import { addDays, daysBetween, formatLocalDate, instantAt, localDateOf, weekdayOf, type LocalDate } from '../../core/time/wall-time.ts';

export type RotaEntryKind = 'weekly-pattern' | 'public-holiday' | 'dated-assignment';

export interface ReaderRef {
  rpps: string;
  name: string;
}

export interface RotaEntry {
  kind: RotaEntryKind;
  /** Weekly shift id, `public-holiday`, or the dated assignment's id. */
  id: string;
  label: string;
  /** This occurrence of the shift, as real instants (a DST night is 1 h shorter or longer). */
  start: Date;
  end: Date;
  /** Local date the occurrence started on (YYYY-MM-DD), in the pool's zone. */
  startDate: string;
  /** Index in the rotation's turns, when the entry is staffed by rotation. */
  turn?: number;
  holiday?: { date: string; id: string; name: string };
  reason?: string;
}

export interface OnCallAnswer {
  pool: string;
  poolName: string;
  poolKind: Pool['kind'];
  territory?: string;
  timezone: string;
  at: Date;
  /** False when no rota entry covers the instant (daytime on a night line, a closed holiday...). */
  covered: boolean;
  primary: ReaderRef | null;
  backup: ReaderRef | null;
  entry: RotaEntry | null;
  /** Why nobody is on call, when covered is false. */
  note?: string;
}

export class UnknownPoolError extends Error {
  constructor(poolId: string, config: RegionConfig) {
    super(`unknown pool "${poolId}"; pools are: ${config.pools.map((p) => p.id).join(', ')}`);
    this.name = 'UnknownPoolError';
  }
}

export class UnknownTerritoryError extends Error {
  constructor(territoryId: string, config: RegionConfig) {
    super(`unknown territory "${territoryId}"; territories are: ${config.territories.map((t) => t.id).join(', ')}`);
    this.name = 'UnknownTerritoryError';
  }
}

export function resolveOnCall(config: RegionConfig, poolId: string, at: Date): OnCallAnswer {
  const pool = config.poolById.get(poolId);
  if (!pool) throw new UnknownPoolError(poolId, config);
  const base = {
    pool: pool.id,
    poolName: pool.name,
    poolKind: pool.kind,
    ...(pool.territory === undefined ? {} : { territory: pool.territory }),
    timezone: pool.timezone,
    at,
  };
  const uncovered = (note: string): OnCallAnswer => ({ ...base, covered: false, primary: null, backup: null, entry: null, note });
  const rota = config.rotaByPool.get(pool.id);
  if (!rota) return uncovered(`pool ${pool.id} has no rota: any member may take its items`);

  const found = findEntry(config, rota, pool.timezone, at.getTime());
  if ('note' in found) return uncovered(found.note);
  const reader = (rpps: string): ReaderRef => ({ rpps, name: config.readerByRpps.get(rpps)?.name ?? rpps });
  return {
    ...base,
    covered: true,
    primary: reader(found.pair.reader),
    backup: reader(found.pair.backup),
    entry: found.entry,
  };
}

/** Every pool (or those of one territory plus the regional ones, or one pool) at `at`. */
export function onCallAt(
  config: RegionConfig,
  at: Date,
  filter: { territory?: string; pool?: string } = {},
): OnCallAnswer[] {
  if (filter.territory !== undefined && !config.territoryById.has(filter.territory)) {
    throw new UnknownTerritoryError(filter.territory, config);
  }
  if (filter.pool !== undefined && !config.poolById.has(filter.pool)) throw new UnknownPoolError(filter.pool, config);
  return config.pools
    .filter((p) => filter.pool === undefined || p.id === filter.pool)
    .filter((p) => filter.territory === undefined || p.territory === undefined || p.territory === filter.territory)
    .map((p) => resolveOnCall(config, p.id, at));
}

type Found = { entry: RotaEntry; pair: ReaderPair } | { note: string };

function findEntry(config: RegionConfig, rota: Rota, timeZone: string, at: number): Found {
  const assignment = rota.assignments.find((a) => a.fromInstant.getTime() <= at && at < a.toInstant.getTime());
  if (assignment) {
    return {
      pair: assignment,
      entry: {
        kind: 'dated-assignment',
        id: assignment.id,
        label: assignment.reason ?? `dated assignment ${assignment.from} -> ${assignment.to}`,
        start: assignment.fromInstant,
        end: assignment.toInstant,
        startDate: assignment.from.slice(0, 10),
        ...(assignment.reason === undefined ? {} : { reason: assignment.reason }),
      },
    };
  }

  const today = localDateOf(at, timeZone);
  if (rota.publicHolidays) {
    const shift = rota.publicHolidays;
    for (let back = 0; back <= shift.spanDays; back++) {
      const day = addDays(today, -back);
      const holiday = config.holidayCalendar.holidayOn(day);
      if (!holiday) continue;
      const window = occurrence(day, shift, timeZone);
      if (window.start <= at && at < window.end) return holidayEntry(shift, day, holiday, window);
    }
  }

  let closedNote: string | undefined;
  for (const shift of rota.weekly) {
    for (let back = 0; back <= shift.spanDays; back++) {
      const day = addDays(today, -back);
      if (!shift.startDays.includes(WEEKDAYS[weekdayOf(day)])) continue;
      const window = occurrence(day, shift, timeZone);
      if (!(window.start <= at && at < window.end)) continue;
      const holiday = rota.closedOnPublicHolidays ? config.holidayCalendar.holidayOn(day) : undefined;
      if (holiday) {
        closedNote = `shift ${shift.id} does not run on public holidays (${holiday.name}, ${formatLocalDate(day)})`;
        continue;
      }
      const { pair, turn } = staffOn(shift.staffing, day);
      return {
        pair,
        entry: {
          kind: 'weekly-pattern',
          id: shift.id,
          label: shift.label,
          start: new Date(window.start),
          end: new Date(window.end),
          startDate: formatLocalDate(day),
          ...(turn === undefined ? {} : { turn }),
        },
      };
    }
  }
  return { note: closedNote ?? 'no rota entry covers this time' };
}

function holidayEntry(
  shift: HolidayShift,
  day: LocalDate,
  holiday: PublicHoliday,
  window: { start: number; end: number },
): Found {
  const { pair, turn } = staffOn(shift.staffing, day);
  return {
    pair,
    entry: {
      kind: 'public-holiday',
      id: 'public-holiday',
      label: `${shift.label}: ${holiday.name}`,
      start: new Date(window.start),
      end: new Date(window.end),
      startDate: formatLocalDate(day),
      ...(turn === undefined ? {} : { turn }),
      holiday: { date: formatLocalDate(holiday.date), id: holiday.id, name: holiday.name },
    },
  };
}

/** The occurrence of a shift starting on local date `day`, as epoch milliseconds. */
export function occurrence(
  day: LocalDate,
  shift: { start: MinuteOfDay; end: MinuteOfDay; spanDays: number },
  timeZone: string,
): { start: number; end: number } {
  const wall = (d: LocalDate, minute: MinuteOfDay) =>
    instantAt({ ...d, hour: Math.floor(minute / 60), minute: minute % 60 }, timeZone, 'compatible').getTime();
  return { start: wall(day, shift.start), end: wall(addDays(day, shift.spanDays), shift.end) };
}

/** The reader and backup of the occurrence starting on `day`. */
export function staffOn(staffing: Staffing, day: LocalDate): { pair: ReaderPair; turn?: number } {
  if (staffing.kind === 'fixed') return { pair: staffing };
  const period = staffing.every === 'week' ? 7 : 1;
  const n = staffing.turns.length;
  const turn = (((Math.floor(daysBetween(staffing.anchor, day) / period)) % n) + n) % n;
  return { pair: staffing.turns[turn], turn };
}

