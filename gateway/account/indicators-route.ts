/**
 * GET /api/indicators?from=&to=&site=&format=json|csv: the programme's indicators per site for a period
 * (storage/indicators/programme-indicators.ts), as JSON or as CSV (one row per site, the same figures).
 * Analysts and administrators see every site; a coordinator the sites of their territory. Dates without a time
 * are midnight in the region's zone; `to` is exclusive; the default period is the 30 days before now.
 */
import type { Request, Response } from 'express';
import type { RegionConfig } from '../../config/region/region-config.ts';
import type { Clock } from '../../core/time/clock.ts';
import { formatInstant, parseInstant } from '../../core/time/wall-time.ts';
import { programmeIndicators, STEPS, type SiteIndicators } from '../../storage/indicators/programme-indicators.ts';
import type { Queryable } from '../../storage/report/report-store.ts';
import { principalOf } from '../auth/authenticate.ts';
import { BadRequest, Forbidden } from '../http/problem.ts';

export interface IndicatorDeps {
  database: Queryable;
  regionConfig: RegionConfig;
  clock: Clock;
}

const URGENT_DEADLINE_MS = 3600_000;

export function indicatorsHandler(deps: IndicatorDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const principal = principalOf(res);
    const config = deps.regionConfig;
    if (principal.role !== 'analyst' && principal.role !== 'admin' && principal.role !== 'coordinator') {
      throw new Forbidden('Indicators are for analysts, coordinators and administrators.', 'role-not-allowed');
    }
    const zone = config.region.timezone;
    const text = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string).trim() : undefined);
    const instant = (name: string, fallback: Date) => {
      const value = text(name);
      if (!value) return fallback;
      const parsed = parseInstant(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00` : value, zone);
      if (!parsed) throw new BadRequest(`${name}=${value} is not a date: write 2026-11-01 or 2026-11-01T08:30 (${zone} time) or with an offset.`, 'invalid-period');
      return parsed;
    };
    const to = instant('to', deps.clock.now());
    const from = instant('from', new Date(to.getTime() - 30 * 86_400_000));
    if (from.getTime() >= to.getTime()) throw new BadRequest('from must be before to.', 'invalid-period');
    const format = text('format') ?? (req.accepts(['application/json', 'text/csv']) === 'text/csv' ? 'csv' : 'json');
    if (format !== 'json' && format !== 'csv') throw new BadRequest('format is json or csv.', 'invalid-format');

    let sites = config.sites.filter((s) => principal.role !== 'coordinator' || s.territory === principal.territory);
    const site = text('site');
    if (site) {
      const wanted = config.siteByFiness.get(site);
      if (!wanted) throw new BadRequest(`site=${site} is not a FINESS number of this region.`, 'unknown-site');
      if (!sites.includes(wanted)) throw new Forbidden(`Site ${site} is not in your territory; you see the indicators of your territory's sites.`, 'other-territory');
      sites = [wanted];
    }
    const figures = await programmeIndicators(deps.database, {
      from,
      to,
      sites: sites.map((s) => s.finess),
      urgentPriorities: config.priorities.filter((p) => p.deadlineMs <= URGENT_DEADLINE_MS).map((p) => p.id),
      timeZone: zone,
    });
    const rows = figures.map((f) => {
      const s = config.siteByFiness.get(f.site)!;
      return { name: s.name, territory: s.territory, membership: s.membership, ...f };
    });
    const period = { from: formatInstant(from, zone), to: formatInstant(to, zone), timeZone: zone };
    if (format === 'csv') {
      res.type('text/csv; charset=utf-8').set('Content-Disposition', 'attachment; filename="indicateurs.csv"').send(toCsv(rows));
      return;
    }
    res.json({ period, urgentPriorities: config.priorities.filter((p) => p.deadlineMs <= URGENT_DEADLINE_MS).map((p) => p.id), sites: rows });
  };
}

type Row = SiteIndicators & { name: string; territory: string; membership: string };

export const CSV_COLUMNS: readonly [string, (r: Row) => string | number | null][] = [
  ['site', (r) => r.site],
  ['name', (r) => r.name],
  ['territory', (r) => r.territory],
  ['membership', (r) => r.membership],
  ['interpretations_urgent', (r) => r.interpretations.urgent],
  ['interpretations_non_urgent', (r) => r.interpretations.nonUrgent],
  ['interpretations_total', (r) => r.interpretations.total],
  ['archived_studies', (r) => r.archived.studies],
  ['archived_instances', (r) => r.archived.instances],
  ['archived_bytes', (r) => r.archived.bytes],
  ['opinions_asked', (r) => r.expertOpinions.asked],
  ['opinions_answered', (r) => r.expertOpinions.answered],
  ['opinions_transfer_advised', (r) => r.expertOpinions.transferAdvised],
  ['opinions_transfer_avoided', (r) => r.expertOpinions.transferAvoided],
  ['opinions_thrombolysis_indicated', (r) => r.expertOpinions.thrombolysisIndicated],
  ['tb_read', (r) => r.tbScreening.read],
  ['tb_read_delay_median_min', (r) => r.tbScreening.readDelayMedianMinutes],
  ['tb_read_delay_p90_min', (r) => r.tbScreening.readDelayP90Minutes],
  ...STEPS.flatMap((step): [string, (r: Row) => number | null][] => [
    [`${step}_count`, (r) => r.steps[step].count],
    [`${step}_median_s`, (r) => r.steps[step].medianSeconds],
    [`${step}_p90_s`, (r) => r.steps[step].p90Seconds],
  ]),
  ...Array.from({ length: 24 }, (_, h): [string, (r: Row) => number] => [`h${String(h).padStart(2, '0')}`, (r) => r.hourly[h]]),
];

function toCsv(rows: Row[]): string {
  const cell = (v: string | number | null) => {
    if (v === null) return '';
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [CSV_COLUMNS.map(([name]) => name).join(','), ...rows.map((r) => CSV_COLUMNS.map(([, get]) => cell(get(r))).join(','))].join('\r\n') + '\r\n';
}
