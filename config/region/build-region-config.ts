/**
 * Turns the checked YAML data into the RegionConfig the worker uses: durations in ms, times in minutes,
 * weekly shifts as (start days, start, span, end), territory shortcuts expanded, lookup maps built.
 * Only called once cross-checks found nothing wrong, so references are known to exist.
 */
import { createHolidayCalendar } from '../../core/time/public-holidays.ts';
import { instantAt, parseDateTime, parseLocalDate } from '../../core/time/wall-time.ts';
import { parseDuration, parseWarningPoint } from './duration.ts';
import { normalizeWords } from './normalize-words.ts';
import {
  POOL_KINDS,
  WEEKDAYS,
  type DatedAssignment,
  type EscalationStep,
  type HolidayShift,
  type MinuteOfDay,
  type PoolKind,
  type PoolTarget,
  type RegionConfig,
  type DicomPeer,
  type ReportDestination,
  type Staffing,
  type Weekday,
  type WeeklyShift,
} from './region-config.ts';
import type { RegionFile, RegionFileRota, RegionFileStaffing } from './region-schema.ts';

export function minuteOfDay(text: string): MinuteOfDay {
  const [h, m] = text.split(':').map(Number);
  return h * 60 + m;
}

export function staffingOf(raw: RegionFileStaffing): Staffing | null {
  if (raw.rotation && raw.reader === undefined && raw.backup === undefined) {
    const anchor = parseLocalDate(raw.rotation.anchor);
    if (!anchor) return null;
    return { kind: 'rotation', anchor, every: raw.rotation.every, turns: raw.rotation.turns };
  }
  if (!raw.rotation && raw.reader !== undefined && raw.backup !== undefined) {
    return { kind: 'fixed', reader: raw.reader, backup: raw.backup };
  }
  return null;
}

type RawWeekly = RegionFileRota['weekly'][number];

/** The shift's days, times and span, or a sentence saying which fields are missing or mixed. */
export function weeklyTimingOf(raw: RawWeekly): Omit<WeeklyShift, 'id' | 'label' | 'staffing'> | string {
  const dayForm = raw.days !== undefined || raw.start !== undefined || raw.end !== undefined;
  const weekForm = raw.from !== undefined || raw.to !== undefined;
  if (dayForm && weekForm) {
    return 'use either days + start + end (a shift on each listed day) or from + to (one window in the week), not both';
  }
  if (weekForm) {
    if (raw.from === undefined || raw.to === undefined) return 'a from/to shift needs both from and to, e.g. from: "sat 08:30", to: "mon 08:30"';
    const [fromDay, fromTime] = raw.from.split(' ');
    const [toDay, toTime] = raw.to.split(' ');
    const start = minuteOfDay(fromTime);
    const end = minuteOfDay(toTime);
    let spanDays = (WEEKDAYS.indexOf(toDay as Weekday) - WEEKDAYS.indexOf(fromDay as Weekday) + 7) % 7;
    if (spanDays === 0 && end <= start) spanDays = 7;
    return { startDays: [fromDay as Weekday], start, end, spanDays };
  }
  if (raw.days === undefined || raw.start === undefined || raw.end === undefined) {
    return 'a weekly shift needs days, start and end (e.g. days: [mon, tue], start: "18:30", end: "08:30") or from and to';
  }
  const start = minuteOfDay(raw.start);
  const end = minuteOfDay(raw.end);
  return { startDays: raw.days, start, end, spanDays: end <= start ? 1 : 0 };
}

function describeTiming(t: Omit<WeeklyShift, 'id' | 'label' | 'staffing'>): string {
  const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  return `${t.startDays.join(', ')} ${hhmm(t.start)} -> ${t.spanDays === 0 ? '' : `+${t.spanDays}d `}${hhmm(t.end)}`;
}

export function holidayShiftOf(raw: NonNullable<RegionFileRota['publicHolidays']>): HolidayShift | null {
  const staffing = staffingOf(raw);
  if (!staffing) return null;
  const start = minuteOfDay(raw.start);
  const end = minuteOfDay(raw.end);
  return { label: raw.label ?? 'public holiday', start, end, spanDays: end <= start ? 1 : 0, staffing };
}

/** Local wall time of the pool's zone -> instant; a repeated autumn time takes its first occurrence. */
export function assignmentInstant(text: string, timeZone: string): Date {
  const parsed = parseDateTime(text);
  if (!parsed) throw new RangeError(`not a local date-time: ${text}`);
  return instantAt(parsed.wall, timeZone, 'compatible');
}

export function poolTargetOf(text: string): PoolTarget | null {
  if (!text.startsWith('territory:')) return { kind: 'pool', pool: text };
  const kind = text.slice('territory:'.length);
  return (POOL_KINDS as readonly string[]).includes(kind) ? { kind: 'territory', poolKind: kind as PoolKind } : null;
}

export function escalationStepOf(raw: RegionFile['escalationChains'][number]['steps'][number]): EscalationStep {
  if (typeof raw === 'string') return { kind: raw };
  if ('pool' in raw) return { kind: 'pool', pool: raw.pool };
  return { kind: 'reader', reader: raw.reader };
}

export function territoryTimezone(file: RegionFile, territoryId: string | undefined): string {
  const territory = territoryId === undefined ? undefined : file.territories.find((t) => t.id === territoryId);
  return territory?.timezone ?? file.region.timezone;
}

export function entitledSites(file: RegionFile, reader: RegionFile['readers'][number]): Set<string> {
  const sites = new Set(reader.sites);
  for (const site of file.sites) if (reader.territories.includes(site.territory)) sites.add(site.finess);
  return sites;
}

export function buildRegionConfig(file: RegionFile, source: string): RegionConfig {
  const territories = file.territories.map((t) => ({ id: t.id, name: t.name, timezone: t.timezone }));
  const sites = file.sites.map((s) => ({
    finess: s.finess,
    name: s.name,
    kind: s.kind,
    territory: s.territory,
    aeTitles: s.aeTitles.map((a) => a.trim()),
    ...(s.dicomAddresses ? { dicomAddresses: s.dicomAddresses.map((a) => a.trim()) } : {}),
    ...(s.dicomMaxAssociations === undefined ? {} : { dicomMaxAssociations: s.dicomMaxAssociations }),
    reportDestinations: s.reportDestinations.map((d, i) => reportDestinationOf(d, i, s.finess)),
    membership: s.membership,
  }));
  const readers = file.readers.map((r) => ({
    rpps: r.rpps,
    name: r.name,
    qualifications: r.qualifications,
    sites: [...entitledSites(file, r)],
  }));
  const pools = file.pools.map((p) => ({
    id: p.id,
    name: p.name,
    kind: p.kind,
    ...(p.territory === undefined ? {} : { territory: p.territory }),
    ...(p.expertise !== undefined
      ? { expertise: p.expertise }
      : p.kind === 'pneumology'
        ? { expertise: 'pneumology' as const }
        : {}),
    members: p.members,
    timezone: territoryTimezone(file, p.territory),
  }));
  const rotas = file.rotas.map((r) => {
    const timezone = pools.find((p) => p.id === r.pool)?.timezone ?? file.region.timezone;
    const weekly = r.weekly.map((w): WeeklyShift => {
      const timing = weeklyTimingOf(w);
      const staffing = staffingOf(w);
      if (typeof timing === 'string' || !staffing) throw new Error(`unchecked weekly shift ${w.id}`);
      return { id: w.id, label: w.label ?? `${w.id} (${describeTiming(timing)})`, ...timing, staffing };
    });
    const assignments = r.assignments.map(
      (a, i): DatedAssignment => ({
        id: a.id ?? `assignment-${i + 1}`,
        from: a.from,
        to: a.to,
        fromInstant: assignmentInstant(a.from, timezone),
        toInstant: assignmentInstant(a.to, timezone),
        reader: a.reader,
        backup: a.backup,
        ...(a.reason === undefined ? {} : { reason: a.reason }),
      }),
    );
    const publicHolidays = r.publicHolidays ? (holidayShiftOf(r.publicHolidays) ?? undefined) : undefined;
    return {
      pool: r.pool,
      weekly,
      ...(publicHolidays ? { publicHolidays } : {}),
      closedOnPublicHolidays: r.closedOnPublicHolidays,
      assignments,
    };
  });
  const priorities = file.priorities.map((p) => {
    const deadlineMs = parseDuration(p.deadline) as number;
    return {
      id: p.id,
      label: p.label ?? p.id,
      rank: p.rank,
      deadlineMs,
      warningMs: parseWarningPoint(p.warningAt, deadlineMs) as number,
    };
  });
  const escalationChains = file.escalationChains.map((c) => ({ id: c.id, steps: c.steps.map(escalationStepOf) }));
  const rules = file.rules.map((r) => {
    const priority = priorities.find((p) => p.id === r.route.priority);
    const deadlineMs = r.route.deadline === undefined ? undefined : (parseDuration(r.route.deadline) as number);
    const warningText = r.route.warningAt ?? (deadlineMs === undefined ? undefined : file.priorities.find((p) => p.id === r.route.priority)?.warningAt);
    const warningMs =
      warningText === undefined ? undefined : (parseWarningPoint(warningText, deadlineMs ?? priority?.deadlineMs ?? 0) ?? undefined);
    const m = r.match;
    return {
      id: r.id,
      description: r.description ?? r.id,
      match: {
        ...(m.categories ? { categories: m.categories } : {}),
        ...(m.siteKinds ? { siteKinds: m.siteKinds } : {}),
        ...(m.sites ? { sites: m.sites } : {}),
        ...(m.territories ? { territories: m.territories } : {}),
        ...(m.modalities ? { modalities: m.modalities } : {}),
        ...(m.bodyParts ? { bodyParts: m.bodyParts.map((b) => b.toUpperCase().replace(/\s+/g, '')) } : {}),
        ...(m.flags ? { flags: m.flags } : {}),
        ...(m.expertise ? { expertise: m.expertise } : {}),
        ...(m.keywords ? { keywords: m.keywords.map(normalizeWords) } : {}),
        ...(m.pattern ? { pattern: new RegExp(m.pattern, 'iu') } : {}),
      },
      route: {
        pools: r.route.pools.map((t) => poolTargetOf(t) as PoolTarget),
        notify: r.route.notify,
        priority: r.route.priority,
        ...(deadlineMs === undefined ? {} : { deadlineMs }),
        ...(warningMs === undefined ? {} : { warningMs }),
        ...(r.route.escalation === undefined ? {} : { escalation: r.route.escalation }),
      },
    };
  });
  const sitesByAe = new Map<string, (typeof sites)[number]>();
  for (const site of sites) for (const ae of site.aeTitles) sitesByAe.set(ae.toUpperCase(), site);
  return {
    source,
    version: 1,
    region: file.region,
    publicHolidays: file.publicHolidays,
    holidayCalendar: createHolidayCalendar(file.publicHolidays.calendar, file.publicHolidays.extraDates),
    territories,
    sites,
    readers,
    pools,
    rotas,
    priorities,
    escalationChains,
    excludedModalities: file.excludedModalities,
    dicomPeers: file.dicomPeers.map(dicomPeerOf),
    rules,
    territoryById: new Map(territories.map((t) => [t.id, t])),
    siteByFiness: new Map(sites.map((s) => [s.finess, s])),
    siteByAeTitle: sitesByAe,
    readerByRpps: new Map(readers.map((r) => [r.rpps, r])),
    poolById: new Map(pools.map((p) => [p.id, p])),
    rotaByPool: new Map(rotas.map((r) => [r.pool, r])),
    priorityById: new Map(priorities.map((p) => [p.id, p])),
    chainById: new Map(escalationChains.map((c) => [c.id, c])),
  };
}

function dicomPeerOf(p: RegionFile['dicomPeers'][number]): DicomPeer {
  const url = new URL(p.target);
  return {
    id: p.id,
    name: p.name ?? p.id,
    aeTitle: p.aeTitle.trim(),
    host: url.hostname,
    port: Number(url.port || 104),
    tls: url.protocol === 'dicoms:',
    callingAeTitle: p.callingAeTitle.trim(),
  };
}

function reportDestinationOf(d: RegionFile['sites'][number]['reportDestinations'][number], index: number, finess: string): ReportDestination {
  const id = d.id ?? `${d.kind}-${index + 1}`;
  const url = new URL(d.target);
  switch (d.kind) {
    case 'dicomweb':
      return { id, kind: 'dicomweb', url: d.target.replace(/\/+$/, ''), auth: d.auth };
    case 'dicom':
      return { id, kind: 'dicom', aeTitle: d.aeTitle.trim(), host: url.hostname, port: Number(url.port || 104), tls: url.protocol === 'dicoms:', callingAeTitle: d.callingAeTitle.trim() };
    case 'hl7-mllp':
      return { id, kind: 'hl7-mllp', host: url.hostname, port: Number(url.port || 2575), receivingApplication: d.receivingApplication, receivingFacility: d.receivingFacility ?? finess };
  }
}
