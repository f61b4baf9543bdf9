/**
 * Reading the regional dashboard's page (viewer/src/dashboard-page.ts) in a browser test, Chromium or Firefox:
 * its probe, the figures of its tables against GET /api/indicators?format=csv, and its charts' pixels.
 */
import type { EvaluatingPage } from './browser.ts';

/** What the dashboard page exposes for tests. */
export interface DashboardProbe {
  loads: number;
  period?: { from: string; to: string };
  site: string;
  sites: string[];
}

export async function dashboardProbe(page: EvaluatingPage): Promise<DashboardProbe | undefined> {
  return (await page.evaluate('globalThis.astreinteDashboard')) as DashboardProbe | undefined;
}

/** RFC 4180, as the gateway writes it. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      (row = []), (cell = ''), i++;
    } else cell += c;
  }
  return rows;
}

export interface PageCell {
  site: string;
  csv: string;
  text: string;
  value: string | null;
}

/** Every cell of the page's tables that holds a CSV column: its site, column and text as shown. */
export async function pageCells(page: EvaluatingPage): Promise<PageCell[]> {
  return (await page.evaluate(`[...document.querySelectorAll('.figures-table [data-csv]')].map((cell) => ({
    site: cell.closest('tr').dataset.site, csv: cell.dataset.csv, text: cell.textContent, value: cell.dataset.value ?? null,
  }))`)) as PageCell[];
}

/** A shown figure as the CSV writes it: French digit grouping and decimal comma undone, "—" for none. */
export function asCsv(cell: { csv: string; text: string; value: string | null }): string {
  if (cell.value !== null) return cell.value;
  if (cell.text === '—') return '';
  return /^[-\d\s\u202f\u00a0,]+$/.test(cell.text) ? cell.text.replace(/[\s\u202f\u00a0]/g, '').replace(',', '.') : cell.text;
}

/**
 * Each figure of the CSV (one row per site) that the page does not show, or shows otherwise; with the CSV's
 * header and rows and the page's cells, for further assertions.
 */
export async function csvMismatches(page: EvaluatingPage, csvText: string): Promise<{ mismatches: string[]; header: string[]; rows: string[][]; cells: PageCell[] }> {
  const [header, ...rows] = parseCsv(csvText);
  const cells = await pageCells(page);
  const shown = new Map<string, string[]>();
  for (const cell of cells) shown.set(`${cell.site}|${cell.csv}`, [...(shown.get(`${cell.site}|${cell.csv}`) ?? []), asCsv(cell)]);
  const mismatches: string[] = [];
  for (const row of rows) {
    header.forEach((column, i) => {
      const values = shown.get(`${row[0]}|${column}`);
      if (!values) mismatches.push(`${row[0]} ${column}: not shown (CSV ${row[i]})`);
      else if (values.some((v) => v !== row[i])) mismatches.push(`${row[0]} ${column}: page ${values.join('/')} CSV ${row[i]}`);
    });
  }
  return { mismatches, header, rows, cells };
}

/**
 * At most this many pixels of a series' colour are its legend's swatch (28 × 18 with its border, shown when a chart
 * has two series): above it, bars of that series are drawn.
 */
export const LEGEND_SWATCH_MAX_PIXELS = 30 * 20;

/**
 * Whether the steps chart draws a median bar for `step` (a CSV column prefix such as routedToSigned): it charts
 * minutes rounded to a tenth, so a site's median under 3 s is a bar of no length.
 */
export function medianBarExpected(header: string[], rows: string[][], step: string): boolean {
  const column = header.indexOf(`${step}_median_s`);
  if (column < 0) throw new Error(`no column ${step}_median_s in the CSV`);
  return rows.some((row) => row[column] !== '' && Math.round((Number(row[column]) / 60) * 10) / 10 > 0);
}

/** Pixels of the chart's canvas within a small distance of the colour (#rrggbb): the bars of that series are drawn. */
export async function pixelsOf(page: EvaluatingPage, chart: string, hex: string): Promise<number> {
  return (await page.evaluate(`(() => {
    const canvas = document.querySelector('canvas[data-chart="${chart}"]');
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const [r, g, b] = [1, 3, 5].map((i) => parseInt('${hex}'.slice(i, i + 2), 16));
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 200 && Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 24) n += 1;
    return n;
  })()`)) as number;
}
