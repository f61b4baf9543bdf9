/**
 * The regional dashboard end to end in a real browser (Debian's Chromium, headless) against a real gateway on the
 * Midi-Pyrénées region, Sunday 2026-11-22 02:10: a stroke CT of CH Saint-Girons (Ariège) is pushed, routed,
 * claimed, sent for a second opinion and signed; a TB screening radiograph of the Seysses prison (Haute-Garonne)
 * is read by the pneumologist. Then the region's analyst signs in, lands on the dashboard, picks November, sees the
 * charts drawn and tables whose every figure equals GET /api/indicators?format=csv for the same period, filters a
 * site, downloads the CSV (fetched with the token, saved from a blob: the same bytes as the API's) and switches to
 * English; the Ariège coordinator sees only Ariège's sites; a reader is told plainly that their role cannot see
 * indicators. No patient's name or id appears anywhere. Screenshots: .tmp/screenshots/dashboard-*.png.
 */
import { readFile } from 'node:fs/promises';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateChestXray, generateCtSeries, patientFor, SITES } from '../../test-data/generate-study.ts';
import { screenshot, sessionTokenOf } from '../support/browser.ts';
import { csvMismatches, dashboardProbe, LEGEND_SWATCH_MAX_PIXELS, medianBarExpected, pixelsOf } from '../support/dashboard.ts';
import { stow } from '../support/dicomweb-http.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { until } from '../support/until.ts';
import { apiCall } from '../support/api-call.ts';

const SUNDAY_0210 = '2026-11-22T02:10:00+01:00';
const SAINT_GIRONS = '090000050';
const SEYSSES = '310019351';
const ON_CALL = '10009000011';
const PNEUMOLOGIST = '10031000301';
const NOVEMBER = { from: '2026-11-01', lastDay: '2026-11-30', to: '2026-12-01' };
const ARIEGE_SITES = ['090000050', '090781774', '090000043', '090001356'];

let gw: GatewayProcess;
let browser: Browser;
const patients = [patientFor('dashboard-stroke'), patientFor('dashboard-tb')];

const api = (token: string, method: string, route: string, body?: unknown) => apiCall(gw.url, token, method, route, body);

async function routedItem(token: string, study: string): Promise<string> {
  const item = await until(`study ${study} to be routed`, async () => {
    const list = await api(token, 'GET', '/api/worklist');
    return (list.json?.items as { id: string; studyInstanceUID: string }[] | undefined)?.find((i) => i.studyInstanceUID === study);
  });
  return item.id;
}

const studyOf = (stowed: Record<string, unknown>) =>
  ((stowed['00081199'] as { Value: { '00081190': { Value: string[] } }[] }).Value[0]['00081190'].Value[0].match(/studies\/([\d.]+)/) ?? [])[1];

beforeAll(async () => {
  gw = await startGateway({
    env: {
      ASTREINTE_NOW: SUNDAY_0210,
      // Long enough that each study is routed when its site says it is complete (with the priority it gives).
      ASTREINTE_STABILITY_SECONDS: '60',
      ASTREINTE_ROUTING_SWEEP_SECONDS: '1',
      ASTREINTE_DELIVERY_ATTEMPTS: '1',
      ASTREINTE_DELIVERY_BACKOFF_SECONDS: '0.2',
    },
  });
  const reader = await gw.token('--role', 'reader', '--user', ON_CALL, '--rpps', ON_CALL);
  const pneumologist = await gw.token('--role', 'reader', '--user', PNEUMOLOGIST, '--rpps', PNEUMOLOGIST);

  // A stroke CT of Saint-Girons: urgent, a second opinion asked, then signed by the reader on call.
  const stroke = await stow(gw.dicomweb, await gw.token('--role', 'sender', '--site', SAINT_GIRONS), [
    ...generateCtSeries({ kind: 'ct-head', slices: 2, rows: 32, columns: 32, seed: 'dashboard-stroke', site: SITES['saint-girons'], patient: patients[0] }),
  ]);
  expect(stroke.status).toBe(200);
  const strokeStudy = studyOf(stroke.body);
  const sender = await gw.token('--role', 'sender', '--site', SAINT_GIRONS);
  expect((await api(sender, 'POST', `/api/studies/${strokeStudy}/complete`, { priority: 'stroke' })).status).toBe(202);
  const strokeItem = await routedItem(reader, strokeStudy);
  expect((await api(reader, 'POST', `/api/worklist/${strokeItem}/claim`)).status).toBe(200);
  expect((await api(reader, 'POST', `/api/worklist/${strokeItem}/second-opinion`, { pool: 'pole-neuroradiologie', question: 'Thrombectomie ?' })).status).toBe(201);
  const signed = await api(reader, 'POST', `/api/worklist/${strokeItem}/report/sign`, {
    content: { template: 'ct-head-stroke', indication: 'Déficit brutal.', findings: "Pas d'hémorragie.", conclusion: 'Pas de contre-indication à la thrombolyse.' },
  });
  expect(signed.status, signed.text).toBe(201);

  // A TB screening radiograph of the Seysses prison, read by the pneumologist.
  const radiograph = generateChestXray({ seed: 'dashboard-tb', rows: 200, columns: 160, site: SITES.seysses, patient: patients[1] });
  const seysses = await gw.token('--role', 'sender', '--site', SEYSSES);
  const tb = await stow(gw.dicomweb, seysses, [radiograph]);
  expect(tb.status).toBe(200);
  expect((await api(seysses, 'POST', `/api/studies/${studyOf(tb.body)}/complete`, {})).status).toBe(202);
  const tbItem = await routedItem(pneumologist, studyOf(tb.body));
  expect((await api(pneumologist, 'POST', `/api/worklist/${tbItem}/claim`)).status).toBe(200);
  const tbSigned = await api(pneumologist, 'POST', `/api/worklist/${tbItem}/report/sign`, {
    content: { template: 'cxr-tb-screening', indication: 'Dépistage à l’entrée.', conclusion: 'Radiographie normale.', tbConclusion: 'normal' },
  });
  expect(tbSigned.status, tbSigned.text).toBe(201);
  // No WebGL needed here (2D canvas charts); nothing in the background that would reach the network.
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await gw?.dispose();
});

async function signIn(context: BrowserContext, person: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${gw.url}/sign-in`);
  await page.locator(`button[data-person="${person}"]`).click();
  await page.waitForURL((url) => url.pathname !== '/sign-in');
  return page;
}

async function expectNoPatient(page: Page): Promise<void> {
  const text = (await page.locator('body').textContent()) ?? '';
  for (const patient of patients) {
    expect(text).not.toContain(patient.name.split('^')[0]);
    expect(text).not.toContain(patient.id);
  }
}

describe('the regional dashboard', () => {
  it("shows an analyst charts and tables holding exactly the CSV's figures, filters a site and downloads the CSV", async () => {
    const context = await browser.newContext({ viewport: { width: 1500, height: 1000 }, locale: 'fr-FR', timezoneId: 'America/Cayenne', acceptDownloads: true });
    const page = await signIn(context, 'analyst:midi-pyrenees');
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const indicatorRequests: { url: string; authorization?: string }[] = [];
    page.on('request', async (request) => {
      if (request.url().includes('/api/indicators')) indicatorRequests.push({ url: request.url(), authorization: (await request.allHeaders()).authorization });
    });
    try {
      // An analyst has no worklist: they land on the dashboard, for the 30 days before the gateway's clock (summer time then).
      await page.waitForURL(`${gw.url}/dashboard`);
      await expect.poll(async () => (await dashboardProbe(page))?.loads ?? 0, { timeout: 15_000 }).toBeGreaterThan(0);
      expect((await dashboardProbe(page))!.period).toMatchObject({ from: expect.stringMatching(/^2026-10-23T03:1\d:.*\+02:00$/), to: expect.stringMatching(/^2026-11-22T02:1\d:.*\+01:00$/) });
      expect(await page.locator('h1').textContent()).toBe('Tableau de bord régional');
      expect(await page.locator('.app-header nav a.nav-dashboard').getAttribute('aria-current')).toBe('page');
      expect(await page.locator('.app-header nav a.nav-worklist').count(), 'no worklist for an analyst').toBe(0);

      // November, as picked: the period shown in Paris time whatever the laptop's zone (here Cayenne).
      await page.locator('input[name="from"]').fill(NOVEMBER.from);
      await page.locator('input[name="to"]').fill(NOVEMBER.lastDay);
      await page.locator('button.show').click();
      await expect.poll(async () => (await dashboardProbe(page))?.period?.from).toBe('2026-11-01T00:00:00+01:00');
      expect((await dashboardProbe(page))!.period!.to).toBe('2026-12-01T00:00:00+01:00');
      expect(await page.locator('.period').textContent()).toMatch(/01\/11\/2026 00:00 → 01\/12\/2026 00:00/);

      // Every figure of the CSV for the same period is on the page, and equal.
      const token = await sessionTokenOf(page);
      const csv = await api(token, 'GET', `/api/indicators?from=${NOVEMBER.from}&to=${NOVEMBER.to}&format=csv`);
      expect(csv.status).toBe(200);
      const { mismatches, header, rows, cells } = await csvMismatches(page, csv.text);
      expect(rows.length).toBe(25);
      expect(mismatches).toEqual([]);
      expect(cells.length).toBeGreaterThanOrEqual(rows.length * header.length);
      const value = (site: string, column: string) => rows.find((r) => r[0] === site)![header.indexOf(column)];
      expect(value(SAINT_GIRONS, 'interpretations_urgent')).toBe('1');
      expect(value(SAINT_GIRONS, 'opinions_asked')).toBe('1');
      expect(value(SEYSSES, 'interpretations_non_urgent')).toBe('1');
      expect(value(SEYSSES, 'tb_read')).toBe('1');
      expect(value(SAINT_GIRONS, 'archived_instances')).toBe('2');
      expect(await page.locator(`[data-table="interpretations"] tr[data-site="${SAINT_GIRONS}"] [data-csv="interpretations_urgent"]`).textContent()).toBe('1');

      // The charts are drawn: bars of each series' colour on their canvas.
      await page.locator('section[data-section="steps"] canvas').scrollIntoViewIfNeeded();
      expect(await pixelsOf(page, 'interpretations', '#56b4e9'), 'non-urgent bar').toBeGreaterThan(LEGEND_SWATCH_MAX_PIXELS + 100);
      expect(await pixelsOf(page, 'interpretations', '#d55e00'), 'urgent bar (hatched)').toBeGreaterThan(LEGEND_SWATCH_MAX_PIXELS + 50);
      expect(await pixelsOf(page, 'hourly', '#56b4e9'), 'hourly histogram').toBeGreaterThan(100);
      expect(await pixelsOf(page, 'archive', '#0072b2'), 'archive bars').toBeGreaterThan(100);
      // The steps chart opens on routed → signed: median bars where a median is a tenth of a minute or more.
      const medianPixels = await pixelsOf(page, 'steps', '#009e73');
      expect(medianPixels > LEGEND_SWATCH_MAX_PIXELS + 100, `median bars: ${medianPixels} px`).toBe(medianBarExpected(header, rows, 'routedToSigned'));
      await screenshot(page, 'dashboard-01-analyst-november', { fullPage: true });

      // Another step in the chart.
      await page.locator('select[name="step"]').selectOption('claimedToSigned');
      await expect
        .poll(async () => (await pixelsOf(page, 'steps', '#009e73')) > LEGEND_SWATCH_MAX_PIXELS + 100, { message: 'claimed → signed median bars' })
        .toBe(medianBarExpected(header, rows, 'claimedToSigned'));

      // The CSV button: fetched with the token in a header, saved from a blob; the same bytes as the API's.
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('button.download-csv').click()]);
      expect(download.url()).toMatch(/^blob:/);
      expect(download.suggestedFilename()).toBe('indicateurs_2026-11-01_2026-11-30.csv');
      expect(await readFile((await download.path())!, 'utf8')).toBe(csv.text);
      expect(indicatorRequests.length).toBeGreaterThanOrEqual(3);
      for (const request of indicatorRequests) {
        expect(request.authorization).toMatch(/^Bearer /);
        expect(request.url).not.toContain(token);
        expect(request.url).not.toMatch(/token|bearer/i);
      }

      // One site.
      await page.locator('select[name="site"]').selectOption(SAINT_GIRONS);
      await expect.poll(async () => (await dashboardProbe(page))?.sites).toEqual([SAINT_GIRONS]);
      expect(await page.locator('[data-table="interpretations"] tbody tr').count()).toBe(1);
      await screenshot(page, 'dashboard-02-analyst-one-site', { fullPage: true });
      await expectNoPatient(page);

      // The choice is in the address: English on request keeps the period and the site.
      expect(new URL(page.url()).search).toBe(`?from=${NOVEMBER.from}&to=${NOVEMBER.lastDay}&site=${SAINT_GIRONS}`);
      await page.locator('.app-header button.language').click();
      await page.locator('h1', { hasText: 'Regional dashboard' }).waitFor({ timeout: 15_000 });
      await expect.poll(async () => (await dashboardProbe(page))?.loads ?? 0).toBeGreaterThan(0);
      expect(await dashboardProbe(page)).toMatchObject({ period: { from: '2026-11-01T00:00:00+01:00', to: '2026-12-01T00:00:00+01:00' }, sites: [SAINT_GIRONS] });
      expect(await page.locator('.download-csv').textContent()).toContain('Download CSV');
      await screenshot(page, 'dashboard-03-analyst-english');
      expect(errors).toEqual([]);
    } catch (error) {
      await screenshot(page, 'dashboard-failed').catch(() => undefined);
      throw new Error(`${(error as Error).message}\npage errors: ${errors.join(' | ')}`, { cause: error });
    } finally {
      await context.close();
    }
  }, 120_000);

  it("shows a coordinator their territory's sites only, reached from the worklist's header", async () => {
    const context = await browser.newContext({ viewport: { width: 1500, height: 1000 }, locale: 'fr-FR', timezoneId: 'Europe/Paris' });
    const page = await signIn(context, 'coordinator:ariege');
    try {
      await page.waitForURL(`${gw.url}/`);
      await page.locator('.app-header nav a.nav-dashboard').click();
      await page.waitForURL(`${gw.url}/dashboard`);
      await expect.poll(async () => (await dashboardProbe(page))?.loads ?? 0, { timeout: 15_000 }).toBeGreaterThan(0);
      const token = await sessionTokenOf(page);
      const fromApi = ((await api(token, 'GET', '/api/indicators')).json!.sites as { site: string }[]).map((s) => s.site);
      expect(fromApi.sort()).toEqual([...ARIEGE_SITES].sort());
      const rows = await page.locator('[data-table="interpretations"] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-site')));
      expect(rows.sort()).toEqual([...ARIEGE_SITES].sort());
      const options = await page.locator('select[name="site"] option').evaluateAll((os) => os.map((o) => o.getAttribute('value')));
      expect(options.filter(Boolean).sort()).toEqual([...ARIEGE_SITES].sort());
      expect(await page.locator(`[data-site="${SEYSSES}"]`).count()).toBe(0);
      expect(await page.locator(`[data-table="interpretations"] tr[data-site="${SAINT_GIRONS}"] [data-csv="interpretations_total"]`).textContent()).toBe('1');
      await expectNoPatient(page);
      await screenshot(page, 'dashboard-04-coordinator-ariege', { fullPage: true });
      // Another territory's site, asked in the address: the API refuses, the page says why.
      await page.goto(`${gw.url}/dashboard?from=${NOVEMBER.from}&to=${NOVEMBER.lastDay}&site=${SEYSSES}`);
      const refusal = page.locator('.refusal[data-refusal="api"]');
      await refusal.waitFor({ timeout: 15_000 });
      expect(await refusal.textContent()).toBe(`Le site ${SEYSSES} n’est pas dans votre territoire\u202f: vous voyez les indicateurs des sites de votre territoire.`);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('tells a reader plainly that their role cannot see indicators', async () => {
    const context = await browser.newContext({ viewport: { width: 1500, height: 1000 }, locale: 'fr-FR', timezoneId: 'Europe/Paris' });
    const page = await signIn(context, `reader:${ON_CALL}`);
    try {
      await page.waitForURL(`${gw.url}/`);
      expect(await page.locator('.app-header nav').count(), 'no dashboard link for a reader').toBe(0);
      await page.goto(`${gw.url}/dashboard`);
      const refusal = page.locator('.refusal[data-refusal="role"]');
      await refusal.waitFor({ timeout: 15_000 });
      expect(await refusal.textContent()).toBe(
        'Votre rôle (radiologue) ne permet pas de voir les indicateurs régionaux\u202f: ils sont réservés aux analystes, à la coordination des territoires et aux administrateurs.',
      );
      expect(await page.locator('canvas, .figures-table').count()).toBe(0);
      await screenshot(page, 'dashboard-05-reader-refused');
      // The API refuses them too.
      expect((await api(await sessionTokenOf(page), 'GET', '/api/indicators')).status).toBe(403);
    } finally {
      await context.close();
    }
  }, 60_000);
});
