/**
 * The regional dashboard (`/dashboard`): the programme's indicators for a period and the sites the user may see,
 * as charts and as tables holding exactly the CSV's figures (one cell per CSV column and site, marked with the
 * column's name). Aggregates only: GET /api/indicators answers no patient data, and the page asks nothing else.
 * Analysts and administrators see every site, a coordinator their territory's (the API decides); other roles are
 * told plainly, without asking the API.
 */
import type { Chart } from 'chart.js';
import { ApiError, apiFetch, problemDetail } from './api.ts';
import { barChart, OKABE_ITO, type BarChartSpec } from './dashboard-charts.ts';
import { dt, roleName, type DashboardMessageKey } from './dashboard-words.ts';
import { h } from './dom.ts';
import { language } from './i18n.ts';
import {
  DASHBOARD_ROLES,
  FIGURE_COLUMNS,
  indicatorQuery,
  nextDay,
  previousDay,
  STEPS,
  type FigureColumn,
  type FigureTable,
  type IndicatorsAnswer,
  type SiteFigures,
  type StepName,
} from './indicator-figures.ts';
import './dashboard.css';

/** What the page exposes for tests: how many answers it drew, and the period and sites of the last one. */
export interface DashboardProbe {
  loads: number;
  period?: IndicatorsAnswer['period'];
  site: string;
  sites: string[];
}

export async function renderDashboard(root: HTMLElement, role: string): Promise<() => void> {
  const page = h('main', { class: 'dashboard-page' }, h('h1', {}, dt('title')));
  root.replaceChildren(page);
  if (!DASHBOARD_ROLES.includes(role)) {
    page.append(h('p', { class: 'refusal', role: 'alert', 'data-refusal': 'role' }, dt('forbiddenRole', { role: roleName(role) })));
    return () => undefined;
  }
  const probe: DashboardProbe = { loads: 0, site: '', sites: [] };
  (globalThis as unknown as { astreinteDashboard?: DashboardProbe }).astreinteDashboard = probe;

  // A period or site picked is kept in the address (`?from=&to=&site=`, days included): reloads, links and the
  // language switch keep it. Without one, the gateway's default period (the 30 days before its clock).
  const asked = new URLSearchParams(location.search);
  const askedDay = (name: string) => (/^\d{4}-\d{2}-\d{2}$/.test(asked.get(name) ?? '') ? asked.get(name)! : undefined);
  const [askedFrom, askedTo] = [askedDay('from'), askedDay('to')];
  let period: { from: string; to: string } | undefined = askedFrom && askedTo ? { from: askedFrom, to: nextDay(askedTo) } : undefined;
  let site = /^[0-9AB]{9}$/.test(asked.get('site') ?? '') ? asked.get('site')! : '';
  let visibleSites: SiteFigures[] = [];
  let charts: Chart<'bar', (number | null)[], string>[] = [];
  let chartedStep: StepName = 'routedToSigned';

  const fromInput = h('input', { type: 'date', name: 'from', required: true });
  const toInput = h('input', { type: 'date', name: 'to', required: true });
  const siteSelect = h('select', { name: 'site', 'aria-label': dt('siteFilter') });
  const download = h('button', { type: 'button', class: 'download-csv', disabled: true }, '⬇ ', dt('downloadCsv'));
  const status = h('p', { class: 'status', role: 'status' });
  const periodLine = h('p', { class: 'period' });
  const figures = h('div', { class: 'figures' });
  const form = h(
    'form',
    { class: 'toolbar dashboard-filters' },
    h('label', {}, dt('from'), ' ', fromInput),
    h('label', {}, dt('to'), ' ', toInput),
    h('button', { type: 'submit', class: 'show' }, dt('show')),
    h('label', {}, dt('siteFilter'), ' ', siteSelect),
    download,
  );
  page.append(h('p', { class: 'hint' }, dt('aggregatesOnly')), form, periodLine, status, figures);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!fromInput.value || !toInput.value) return;
    period = { from: fromInput.value, to: nextDay(toInput.value) };
    void load(true);
  });
  siteSelect.addEventListener('change', () => {
    site = siteSelect.value;
    void load(true);
  });
  download.addEventListener('click', () => void downloadCsv());

  async function load(picked = false): Promise<void> {
    status.textContent = dt('loading');
    // The first load lets the gateway pick the default period (the 30 days before its own clock).
    const query = period ? indicatorQuery(period, site, 'json') : site ? `site=${encodeURIComponent(site)}&format=json` : 'format=json';
    try {
      const res = await apiFetch(`/api/indicators?${query}`);
      if (!res.ok) throw new ApiError(res.status, await problemDetail(res));
      const answer = (await res.json()) as IndicatorsAnswer;
      period = { from: answer.period.from, to: answer.period.to };
      fromInput.value = answer.period.from.slice(0, 10);
      const end = answer.period.to.slice(0, 10);
      toInput.value = answer.period.to.slice(11, 19) === '00:00:00' ? previousDay(end) : end;
      if (picked) {
        const address = new URLSearchParams({ from: fromInput.value, to: toInput.value });
        if (site) address.set('site', site);
        history.replaceState(null, '', `/dashboard?${address.toString()}`);
      }
      if (!site) visibleSites = answer.sites;
      else if (visibleSites.length === 0) visibleSites = await siteList();
      fillSites();
      draw(answer);
      status.textContent = '';
      download.disabled = false;
      probe.loads += 1;
      probe.period = answer.period;
      probe.site = site;
      probe.sites = answer.sites.map((s) => s.site);
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) {
        const words = site ? dt('otherTerritory', { site }) : dt('forbiddenRole', { role: roleName(role) });
        figures.replaceChildren(h('p', { class: 'refusal', role: 'alert', 'data-refusal': 'api', title: error.message }, words));
        status.textContent = '';
      } else status.textContent = (error as Error).message;
    }
  }

  /** The sites one may pick (arriving with `?site=`): the visible sites, from the API like the figures. */
  async function siteList(): Promise<SiteFigures[]> {
    const res = await apiFetch(`/api/indicators?${period ? indicatorQuery(period, '', 'json') : 'format=json'}`);
    return res.ok ? ((await res.json()) as IndicatorsAnswer).sites : [];
  }

  function fillSites(): void {
    const territories = [...new Set(visibleSites.map((s) => s.territory))];
    siteSelect.replaceChildren(
      h('option', { value: '' }, dt('allSites')),
      ...territories.map((territory) =>
        h('optgroup', { label: territory }, ...visibleSites.filter((s) => s.territory === territory).map((s) => h('option', { value: s.site }, `${s.name} (${s.site})`))),
      ),
    );
    siteSelect.value = site;
  }

  async function downloadCsv(): Promise<void> {
    if (!period) return;
    // With the token in a header: a plain link would need it in the URL, which proxies and histories keep.
    const res = await apiFetch(`/api/indicators?${indicatorQuery(period, site, 'csv')}`);
    if (!res.ok) {
      status.textContent = await problemDetail(res);
      return;
    }
    const url = URL.createObjectURL(await res.blob());
    const link = h('a', { href: url, download: `indicateurs_${fromInput.value}_${toInput.value}${site ? `_${site}` : ''}.csv`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    status.textContent = dt('downloaded');
  }

  function draw(answer: IndicatorsAnswer): void {
    for (const chart of charts) chart.destroy();
    charts = [];
    periodLine.replaceChildren(
      `${dt('period')} `,
      h('time', { datetime: answer.period.from }, parisDateTimeLong(answer.period.from)),
      ' → ',
      h('time', { datetime: answer.period.to }, parisDateTimeLong(answer.period.to)),
      ` (${answer.period.timeZone}, ${dt('periodEnd')})`,
    );
    const sites = answer.sites;
    if (sites.length === 0) {
      figures.replaceChildren(h('p', { class: 'empty' }, dt('noSites')));
      return;
    }
    const withData = (test: (s: SiteFigures) => boolean) => sites.filter(test);
    const read = withData((s) => s.interpretations.total > 0);
    const archived = withData((s) => s.archived.studies > 0);
    const hourly = Array.from({ length: 24 }, (_, hour) => sites.reduce((sum, s) => sum + s.hourly[hour], 0));

    const stepSelect = h('select', { name: 'step', 'aria-label': dt('stepChart') }, ...STEPS.map((step) => h('option', { value: step }, dt(step))));
    stepSelect.value = chartedStep;
    const stepsCanvas = h('canvas', { role: 'img', 'aria-label': dt('stepsChart'), 'data-chart': 'steps' });
    const stepsBox = h('div', { class: 'chart' }, stepsCanvas);

    figures.replaceChildren(
      section(
        'interpretations',
        dt('interpretations'),
        chartBox('interpretations', dt('interpretationsChart'), read.length, {
          categories: read.map((s) => s.name),
          series: [
            { label: dt('urgent'), color: OKABE_ITO.vermillion, fill: 'stripes', values: read.map((s) => s.interpretations.urgent) },
            { label: dt('nonUrgent'), color: OKABE_ITO.skyBlue, fill: 'solid', values: read.map((s) => s.interpretations.nonUrgent) },
          ],
          horizontal: true,
          stacked: true,
          valueTitle: dt('interpretationsCount'),
        }),
        h('p', { class: 'hint' }, dt('urgentNote', { priorities: answer.urgentPriorities.join(', ') })),
        figureTable(sites, 'interpretations', [
          ['name', dt('site')],
          ['site', dt('finess')],
          ['territory', dt('territory')],
          ['interpretations_urgent', dt('urgent')],
          ['interpretations_non_urgent', dt('nonUrgent')],
          ['interpretations_total', dt('total')],
        ]),
      ),
      section(
        'hourly',
        dt('hourly'),
        chartBox('hourly', dt('hourlyChart'), 24, {
          categories: hourly.map((_, hour) => `${String(hour).padStart(2, '0')} h`),
          series: [{ label: dt('interpretationsCount'), color: OKABE_ITO.skyBlue, fill: 'solid', values: hourly }],
          horizontal: false,
          stacked: false,
          valueTitle: dt('interpretationsCount'),
        }),
        figureTable(sites, 'hourly', [
          ['name', dt('site')],
          ...Array.from({ length: 24 }, (_, hour): [string, string] => [`h${String(hour).padStart(2, '0')}`, `${String(hour).padStart(2, '0')} h`]),
        ], hourly),
      ),
      section(
        'archive',
        dt('archive'),
        chartBox('archive', dt('archiveChart'), archived.length, {
          categories: archived.map((s) => s.name),
          series: [
            { label: dt('full'), color: OKABE_ITO.blue, fill: 'solid', values: archived.map((s) => (s.membership === 'full' ? s.archived.studies : null)) },
            { label: dt('archiveOnly'), color: OKABE_ITO.orange, fill: 'dots', values: archived.map((s) => (s.membership === 'archive-only' ? s.archived.studies : null)) },
          ],
          horizontal: true,
          stacked: true,
          valueTitle: dt('studies'),
        }),
        figureTable(sites, 'archive', [
          ['name', dt('site')],
          ['membership', dt('membership')],
          ['archived_studies', dt('studies')],
          ['archived_instances', dt('instances')],
          ['archived_bytes', dt('bytes')],
        ]),
      ),
      section(
        'opinions',
        dt('opinions'),
        figureTable(sites, 'opinions', [
          ['name', dt('site')],
          ['opinions_asked', dt('asked')],
          ['opinions_answered', dt('answered')],
          ['opinions_transfer_advised', dt('transferAdvised')],
          ['opinions_transfer_avoided', dt('transferAvoided')],
          ['opinions_thrombolysis_indicated', dt('thrombolysis')],
        ]),
      ),
      section(
        'tb',
        dt('tb'),
        figureTable(sites, 'tb', [
          ['name', dt('site')],
          ['tb_read', dt('tbRead')],
          ['tb_read_delay_median_min', dt('medianMin')],
          ['tb_read_delay_p90_min', dt('p90Min')],
        ]),
      ),
      section(
        'steps',
        dt('steps'),
        h('label', { class: 'step-choice' }, dt('stepChart'), ' ', stepSelect),
        stepsBox,
        stepsTable(sites),
      ),
    );
    const drawSteps = () => {
      const index = charts.findIndex((c) => c.canvas === stepsCanvas);
      if (index >= 0) charts.splice(index, 1)[0].destroy();
      const timed = sites.filter((s) => s.steps[chartedStep].count > 0);
      const minutes = (v: number | null) => (v === null ? null : Math.round((v / 60) * 10) / 10);
      stepsBox.style.height = `${chartHeight(timed.length)}px`;
      charts.push(
        barChart(stepsCanvas, {
          categories: timed.map((s) => s.name),
          series: [
            { label: dt('median'), color: OKABE_ITO.bluishGreen, fill: 'solid', values: timed.map((s) => minutes(s.steps[chartedStep].medianSeconds)) },
            { label: dt('p90'), color: OKABE_ITO.reddishPurple, fill: 'stripes', values: timed.map((s) => minutes(s.steps[chartedStep].p90Seconds)) },
          ],
          horizontal: true,
          stacked: false,
          valueTitle: dt('minutes'),
        }),
      );
    };
    stepSelect.addEventListener('change', () => {
      chartedStep = stepSelect.value as StepName;
      drawSteps();
    });
    drawSteps();
  }

  function chartBox(name: string, label: string, categories: number, spec: BarChartSpec): HTMLElement {
    const canvas = h('canvas', { role: 'img', 'aria-label': label, 'data-chart': name });
    const box = h('div', { class: 'chart' }, canvas);
    box.style.height = `${name === 'hourly' ? 320 : chartHeight(categories)}px`;
    // Drawn once the box is in the page, so that Chart.js measures its size.
    queueMicrotask(() => charts.push(barChart(canvas, spec)));
    return box;
  }

  await load();
  return () => {
    for (const chart of charts) chart.destroy();
    charts = [];
  };
}

function chartHeight(categories: number): number {
  return 90 + Math.max(categories, 1) * 44;
}

function section(name: FigureTable, title: string, ...content: (Node | string)[]): HTMLElement {
  return h('section', { class: 'figure-section', 'data-section': name }, h('h2', {}, title), ...content);
}

const COLUMN_BY_CSV = new Map<string, FigureColumn>(FIGURE_COLUMNS.map((c) => [c.csv, c]));

/** A table of some CSV columns, one row per site; a footer of totals when given. */
function figureTable(sites: SiteFigures[], name: FigureTable, columns: [csv: string, label: string][], totals?: number[]): HTMLElement {
  const table = h(
    'table',
    { class: 'figures-table', 'data-table': name },
    h('thead', {}, h('tr', {}, ...columns.map(([csv, label]) => h('th', { scope: 'col', class: kindOf(csv) }, label)))),
    h('tbody', {}, ...sites.map((s) => h('tr', { 'data-site': s.site }, ...columns.map(([csv], index) => cell(s, csv, index === 0))))),
  );
  if (totals) {
    table.append(h('tfoot', {}, h('tr', {}, h('th', { scope: 'row' }, dt('total')), ...totals.map((n) => h('td', { class: 'count' }, formatNumber(n))))));
  }
  return h('div', { class: 'table-scroll' }, table);
}

function stepsTable(sites: SiteFigures[]): HTMLElement {
  const parts: [string, DashboardMessageKey][] = [
    ['count', 'count'],
    ['median_s', 'medianS'],
    ['p90_s', 'p90S'],
  ];
  const table = h(
    'table',
    { class: 'figures-table', 'data-table': 'steps' },
    h(
      'thead',
      {},
      h('tr', {}, h('th', { scope: 'col', rowspan: 2 }, dt('site')), ...STEPS.map((step) => h('th', { scope: 'colgroup', colspan: 3, class: 'step' }, dt(step)))),
      h('tr', {}, ...STEPS.flatMap(() => parts.map(([, label]) => h('th', { scope: 'col', class: 'count' }, dt(label))))),
    ),
    h('tbody', {}, ...sites.map((s) => h('tr', { 'data-site': s.site }, cell(s, 'name', true), ...STEPS.flatMap((step) => parts.map(([suffix]) => cell(s, `${step}_${suffix}`, false)))))),
  );
  return h('div', { class: 'table-scroll' }, table);
}

function kindOf(csv: string): string {
  return COLUMN_BY_CSV.get(csv)?.kind === 'text' ? 'text' : 'count';
}

function cell(site: SiteFigures, csv: string, header: boolean): HTMLElement {
  const column = COLUMN_BY_CSV.get(csv);
  if (!column) throw new Error(`no CSV column ${csv}`);
  const value = column.value(site);
  const text = value === null ? '—' : typeof value === 'number' ? formatNumber(value) : csv === 'membership' ? dt(value === 'full' ? 'full' : 'archiveOnly') : value;
  const props: Record<string, string> = { 'data-csv': csv, class: column.kind === 'text' ? 'text' : 'count' };
  if (csv === 'membership') props['data-value'] = String(value);
  if (csv.endsWith('_s') && typeof value === 'number') props.title = duration(value);
  if (csv === 'archived_bytes' && typeof value === 'number') props.title = megabytes(value);
  return header ? h('th', { scope: 'row', ...props }, text) : h('td', props, text);
}

function locale(): string {
  return language() === 'en' ? 'en-GB' : 'fr-FR';
}

/** The exact figure, grouped by thousands in the reader's language (never rounded). */
function formatNumber(value: number): string {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 20 }).format(value);
}

function duration(seconds: number): string {
  const total = Math.round(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  return hours > 0 ? `${hours} h ${String(minutes).padStart(2, '0')} min` : `${minutes} min ${String(rest).padStart(2, '0')} s`;
}

function megabytes(bytes: number): string {
  return `${new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(bytes / 1_000_000)} ${language() === 'en' ? 'MB' : 'Mo'}`;
}

/** "01/11/2026 00:00" in Europe/Paris, whatever the laptop's zone. */
function parisDateTimeLong(iso: string): string {
  return new Intl.DateTimeFormat(locale(), { timeZone: 'Europe/Paris', dateStyle: 'short', timeStyle: 'short' }).format(new Date(iso));
}
