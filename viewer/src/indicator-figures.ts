/**
 * The answer of GET /api/indicators (JSON) and the columns of its CSV, restated for the dashboard rather than
 * imported from the gateway (the page imports nothing of the server). Each table cell of the dashboard is one of
 * these columns for one site, so the page shows exactly the CSV's figures;
 * test/unit/viewer/indicator-figures.test.ts keeps this list in step with the gateway's CSV_COLUMNS.
 */

/** Roles GET /api/indicators answers (gateway/app/route-table.ts, access `programme`); the worklist is not for analysts. */
export const DASHBOARD_ROLES: readonly string[] = ['analyst', 'coordinator', 'admin'];

export const STEPS = ['receivedToStable', 'stableToRouted', 'routedToClaimed', 'claimedToSigned', 'signedToDelivered', 'routedToSigned'] as const;
export type StepName = (typeof STEPS)[number];

export interface StepFigures {
  count: number;
  medianSeconds: number | null;
  p90Seconds: number | null;
}

/** One site's figures for the period: aggregates only, no patient. */
export interface SiteFigures {
  site: string;
  name: string;
  territory: string;
  membership: 'full' | 'archive-only';
  interpretations: { urgent: number; nonUrgent: number; total: number };
  hourly: number[];
  archived: { studies: number; instances: number; bytes: number };
  expertOpinions: { asked: number; answered: number; transferAdvised: number; transferAvoided: number; thrombolysisIndicated: number };
  tbScreening: { read: number; readDelayMedianMinutes: number | null; readDelayP90Minutes: number | null };
  steps: Record<StepName, StepFigures>;
}

export interface IndicatorsAnswer {
  /** Instants with their offset in the region's zone; `to` is exclusive. */
  period: { from: string; to: string; timeZone: string };
  urgentPriorities: string[];
  sites: SiteFigures[];
}

/** Which table of the page a column is shown in. */
export type FigureTable = 'interpretations' | 'hourly' | 'archive' | 'opinions' | 'tb' | 'steps';

export type FigureKind = 'text' | 'count' | 'decimal';

export interface FigureColumn {
  /** The CSV column's name. */
  csv: string;
  table: FigureTable;
  kind: FigureKind;
  value: (site: SiteFigures) => string | number | null;
}

const column = (csv: string, table: FigureTable, kind: FigureKind, value: FigureColumn['value']): FigureColumn => ({ csv, table, kind, value });

/** In the CSV's order. The site's name, territory and membership head the first table. */
export const FIGURE_COLUMNS: readonly FigureColumn[] = [
  column('site', 'interpretations', 'text', (s) => s.site),
  column('name', 'interpretations', 'text', (s) => s.name),
  column('territory', 'interpretations', 'text', (s) => s.territory),
  column('membership', 'archive', 'text', (s) => s.membership),
  column('interpretations_urgent', 'interpretations', 'count', (s) => s.interpretations.urgent),
  column('interpretations_non_urgent', 'interpretations', 'count', (s) => s.interpretations.nonUrgent),
  column('interpretations_total', 'interpretations', 'count', (s) => s.interpretations.total),
  column('archived_studies', 'archive', 'count', (s) => s.archived.studies),
  column('archived_instances', 'archive', 'count', (s) => s.archived.instances),
  column('archived_bytes', 'archive', 'count', (s) => s.archived.bytes),
  column('opinions_asked', 'opinions', 'count', (s) => s.expertOpinions.asked),
  column('opinions_answered', 'opinions', 'count', (s) => s.expertOpinions.answered),
  column('opinions_transfer_advised', 'opinions', 'count', (s) => s.expertOpinions.transferAdvised),
  column('opinions_transfer_avoided', 'opinions', 'count', (s) => s.expertOpinions.transferAvoided),
  column('opinions_thrombolysis_indicated', 'opinions', 'count', (s) => s.expertOpinions.thrombolysisIndicated),
  column('tb_read', 'tb', 'count', (s) => s.tbScreening.read),
  column('tb_read_delay_median_min', 'tb', 'decimal', (s) => s.tbScreening.readDelayMedianMinutes),
  column('tb_read_delay_p90_min', 'tb', 'decimal', (s) => s.tbScreening.readDelayP90Minutes),
  ...STEPS.flatMap((step) => [
    column(`${step}_count`, 'steps', 'count', (s) => s.steps[step].count),
    column(`${step}_median_s`, 'steps', 'decimal', (s) => s.steps[step].medianSeconds),
    column(`${step}_p90_s`, 'steps', 'decimal', (s) => s.steps[step].p90Seconds),
  ]),
  ...Array.from({ length: 24 }, (_, hour) => column(`h${String(hour).padStart(2, '0')}`, 'hourly', 'count', (s) => s.hourly[hour])),
];

/** The CSV cell of a value, as the gateway writes it (empty for "no figure"). */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The query string of a period (`to` exclusive) and an optional site, as the API reads it. */
export function indicatorQuery(period: { from: string; to: string }, site: string, format: 'json' | 'csv'): string {
  const query = new URLSearchParams({ from: period.from, to: period.to, format });
  if (site) query.set('site', site);
  return query.toString();
}

/** The day after a `YYYY-MM-DD` date (the API's `to` is exclusive; the picker's last day is included). */
export function nextDay(date: string): string {
  const [year, month, day] = date.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day + 1)).toISOString().slice(0, 10);
}

/** The day before, for showing an exclusive end as the last day included. */
export function previousDay(date: string): string {
  const [year, month, day] = date.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day - 1)).toISOString().slice(0, 10);
}
