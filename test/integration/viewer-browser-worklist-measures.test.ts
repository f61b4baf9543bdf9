/**
 * What issue 14 asks of the worklist and the measuring tools, proven in a real browser (Debian's Chromium,
 * headless, Cornerstone's CPU rendering) against a real gateway on the Midi-Pyrénées region, Sunday 2026-11-22
 * 02:10:
 * - Haute-Garonne's coordination watches its territory's worklist while a prison sends a TB screening chest
 *   radiograph, two hospitals head CTs (urgent) and CHU de Toulouse an ALERTE THROMBOLYSE head CT (stroke, STAT):
 *   each row's badge says its priority by a word, a glyph and a border style (not by colour alone), the rows go by
 *   priority then deadline, and the modality, status, site and territory filters narrow the list and clear back.
 * - The on-call reader of Ariège draws an angle, an ellipse and a rectangle with the mouse on a head CT whose
 *   stored values are twice HU + 1024 (RescaleSlope 0.5, RescaleIntercept -1024): the angle is the drawn one, each
 *   ROI's mean is the mean HU of the same pixels computed here from the file.
 * Screenshots: .tmp/screenshots/worklist-*.png and measure-*.png.
 */
import dicomParser from 'dicom-parser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateChestXray, generateCtSeries, SITES } from '../../test-data/generate-study.ts';
import {
  canvasStats,
  imageToClient,
  launchChromium,
  screenshot,
  signedInContext,
  type PageGlobals,
} from '../support/browser.ts';
import { halfSlopeHeadCt, huImageOf, rewrite, type HuImage } from '../support/ct-truth.ts';
import { measureAngle, measureEllipse, measureRectangle } from '../support/measures.ts';
import { stow } from '../support/dicomweb-http.ts';
import { worklistRows } from '../support/worklist.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const SUNDAY_0210 = '2026-11-22T02:10:00+01:00';
const CHU_TOULOUSE = '310781406';
const SAINT_GAUDENS = '310780556';
const DUCUING = '310780150';
const SEYSSES = '310019351';
const SAINT_GIRONS = '090000050';
/** Dr Anne Roques, PDSES Ariège, on call this Sunday night. */
const ON_CALL_ARIEGE = '10009000011';

let gw: GatewayProcess;
let browser: Browser;

beforeAll(async () => {
  gw = await startGateway({ env: { ASTREINTE_NOW: SUNDAY_0210, ASTREINTE_STABILITY_SECONDS: '1', ASTREINTE_ROUTING_SWEEP_SECONDS: '1' } });
  browser = await launchChromium('cpu');
});

afterAll(async () => {
  await browser?.close();
  await gw?.dispose();
});

function parsed(file: Buffer): dicomParser.DataSet {
  return dicomParser.parseDicom(file);
}

const probe = (page: Page) => page.evaluate(() => (globalThis as unknown as PageGlobals).astreinteReading!);

describe('the worklist of Haute-Garonne\'s coordination', () => {
  const tb = generateChestXray({ seed: 'worklist-tb', rows: 256, columns: 200, site: SITES.seysses });
  const urgentDucuing = [...generateCtSeries({ kind: 'ct-head', slices: 2, rows: 64, columns: 64, seed: 'worklist-urgent-ducuing' })];
  const urgentSaintGaudens = [...generateCtSeries({ kind: 'ct-head', slices: 2, rows: 64, columns: 64, seed: 'worklist-urgent-saint-gaudens' })];
  const stroke = rewrite([...generateCtSeries({ kind: 'ct-head', slices: 2, rows: 64, columns: 64, seed: 'worklist-stroke' })], (dict) => {
    dict['00081030'] = { vr: 'LO', Value: ['TDM CEREBRALE - ALERTE THROMBOLYSE'] };
  });
  const studyOf = (file: Buffer) => parsed(file).string('x0020000d')!;
  const studies = { tb: studyOf(tb), urgentDucuing: studyOf(urgentDucuing[0]), urgentSaintGaudens: studyOf(urgentSaintGaudens[0]), stroke: studyOf(stroke[0]) };

  it('shows stroke, urgent and TB-screening badges that differ by word, glyph and border, by priority then deadline, and filters', async () => {
    const context = await browser.newContext({ viewport: { width: 1500, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    try {
      await page.goto(`${gw.url}/sign-in?rendering=cpu`);
      await page.locator('button[data-person="coordinator:haute-garonne"]').click();
      await page.waitForURL(`${gw.url}/`);
      await page.locator('.live[data-live="true"]').waitFor({ timeout: 15_000 });

      // Sent in the reverse of their priority, one at a time (each routed before the next is sent): the list's
      // order is the page's and the API's doing, not the order of arrival.
      const sends: [string, string, Buffer[]][] = [
        [SEYSSES, studies.tb, [tb]],
        [DUCUING, studies.urgentDucuing, urgentDucuing],
        [SAINT_GAUDENS, studies.urgentSaintGaudens, urgentSaintGaudens],
        [CHU_TOULOUSE, studies.stroke, stroke],
      ];
      for (const [site, study, files] of sends) {
        const sender = await gw.token('--role', 'sender', '--site', site);
        expect((await stow(gw.dicomweb, sender, files)).status).toBe(200);
        await page.locator(`tr.item[data-study="${study}"]`).waitFor({ timeout: 30_000 });
      }
      await screenshot(page, 'worklist-01-four-priorities');
      // A coordinator sees the items, never the images: no thumbnail is asked for, none is said missing.
      expect(await page.locator('tr.item img.thumb').count()).toBe(0);
      expect(await page.locator('tr.item .thumb-missing').count()).toBe(0);

      const shown = await worklistRows(page);
      expect(shown.map((r) => r.study)).toEqual([studies.stroke, studies.urgentDucuing, studies.urgentSaintGaudens, studies.tb]);
      expect(shown.map((r) => r.priority)).toEqual(['stat', 'urgent', 'urgent', 'tb-screening']);
      // Priority, then deadline: ranks never go down, and within a rank deadlines never go back.
      for (let i = 1; i < shown.length; i++) {
        const [before, after] = [shown[i - 1], shown[i]];
        expect(after.rank).toBeGreaterThanOrEqual(before.rank);
        if (after.rank === before.rank) expect(Date.parse(after.deadline)).toBeGreaterThan(Date.parse(before.deadline));
      }
      const byBadge = new Map(shown.map((r) => [r.badge, r]));
      expect(shown.map((r) => r.badge)).toEqual(['stroke', 'urgent', 'urgent', 'tb']);
      expect(byBadge.get('stroke')).toMatchObject({ label: 'AVC', glyph: '⚡', glyphHidden: 'true' });
      expect(byBadge.get('urgent')).toMatchObject({ label: 'Urgent', glyph: '▲', glyphHidden: 'true' });
      expect(byBadge.get('tb')).toMatchObject({ label: 'Dépistage TB', glyph: '●', glyphHidden: 'true' });
      // Not by colour alone: the three differ by their word, their glyph and their border's style each.
      const three = ['stroke', 'urgent', 'tb'].map((b) => byBadge.get(b)!);
      for (const key of ['label', 'glyph', 'borderStyle', 'background'] as const) {
        expect(new Set(three.map((r) => r[key])).size, `${key} differs between the badges`).toBe(3);
      }
      // The title says it in words too (read by screen readers and on hover).
      expect(await page.locator(`tr.item[data-study="${studies.stroke}"] .badge`).getAttribute('title')).toBe('Priorité\u202f: AVC');

      // An item in progress: the reader the urgent CT of Ducuing is assigned to claims it (through the API).
      const coordinator = await gw.token('--role', 'coordinator', '--territory', 'haute-garonne');
      const listed = (await (await fetch(`${gw.url}/api/worklist`, { headers: { authorization: `Bearer ${coordinator}` } })).json()) as {
        items: { id: string; studyInstanceUID: string; assignee: string | null; pool: string }[];
      };
      const ducuingItem = listed.items.find((i) => i.studyInstanceUID === studies.urgentDucuing)!;
      expect(ducuingItem.assignee, `the urgent CT of Ducuing is assigned (pool ${ducuingItem.pool})`).toBeTruthy();
      const assignee = await gw.token('--role', 'reader', '--user', ducuingItem.assignee!, '--rpps', ducuingItem.assignee!);
      const claimed = await fetch(`${gw.url}/api/worklist/${ducuingItem.id}/claim`, { method: 'POST', headers: { authorization: `Bearer ${assignee}` } });
      expect(claimed.status, await claimed.clone().text()).toBe(200);
      const ducuingRow = page.locator(`tr.item[data-study="${studies.urgentDucuing}"]`);
      await expect.poll(() => ducuingRow.getAttribute('data-status'), { timeout: 15_000, message: 'the claim shows live' }).toBe('IN PROGRESS');

      const studiesShown = async () => (await worklistRows(page)).map((r) => r.study);
      const everything = [studies.stroke, studies.urgentDucuing, studies.urgentSaintGaudens, studies.tb];
      const choose = async (name: string, value: string) => page.locator(`select[name="${name}"]`).selectOption(value);

      // Modality: DX is the TB screening radiograph alone, CT the three head CTs.
      expect(await page.locator('select[name="modality"] option').allTextContents()).toEqual(['Modalité\u202f: Toutes', 'CT', 'DX']);
      await choose('modality', 'DX');
      await expect.poll(studiesShown).toEqual([studies.tb]);
      await screenshot(page, 'worklist-02-filter-modality-dx');
      await choose('modality', 'CT');
      await expect.poll(studiesShown).toEqual([studies.stroke, studies.urgentDucuing, studies.urgentSaintGaudens]);
      await choose('modality', '');
      await expect.poll(studiesShown).toEqual(everything);

      // Status: in progress is the claimed CT alone, scheduled the three others.
      await choose('status', 'IN PROGRESS');
      await expect.poll(studiesShown).toEqual([studies.urgentDucuing]);
      await screenshot(page, 'worklist-03-filter-status-in-progress');
      await choose('status', 'SCHEDULED');
      await expect.poll(studiesShown).toEqual([studies.stroke, studies.urgentSaintGaudens, studies.tb]);
      // Combined with the modality.
      await choose('modality', 'CT');
      await expect.poll(studiesShown).toEqual([studies.stroke, studies.urgentSaintGaudens]);
      await choose('status', '');
      await choose('modality', '');
      await expect.poll(studiesShown).toEqual(everything);

      // Site (by its name), then territory.
      const siteOptions = await page.locator('select[name="site"] option').allTextContents();
      expect(siteOptions[0]).toBe('Site\u202f: Tous');
      expect(siteOptions.slice(1)).toEqual(
        expect.arrayContaining(['CHU de Toulouse', 'Hôpital Joseph Ducuing (Toulouse)', 'CH Comminges Pyrénées (Saint-Gaudens)', 'UCSA Maison d\'arrêt de Seysses']),
      );
      await choose('site', SAINT_GAUDENS);
      await expect.poll(studiesShown).toEqual([studies.urgentSaintGaudens]);
      await screenshot(page, 'worklist-04-filter-site');
      await choose('site', '');
      expect(await page.locator('select[name="territory"] option').allTextContents()).toEqual(['Territoire\u202f: Tous', 'haute-garonne']);
      await choose('territory', 'haute-garonne');
      await expect.poll(studiesShown).toEqual(everything);
      await choose('territory', '');
      await expect.poll(studiesShown).toEqual(everything);

      // A choice that leaves nothing says so, and clears back.
      await page.locator('input[name="text"]').fill('aucun-site-de-ce-nom');
      await expect.poll(studiesShown).toEqual([]);
      expect(await page.locator('td.empty').textContent()).toBe('Aucun examen en attente.');
      await page.locator('input[name="text"]').fill('');
      await expect.poll(studiesShown).toEqual(everything);

      // In English, the same badges in English words.
      await page.locator('button.language').click();
      await expect.poll(async () => (await worklistRows(page)).map((r) => r.label)).toEqual(['Stroke', 'Urgent', 'Urgent', 'TB screening']);
      await screenshot(page, 'worklist-05-english');
      await page.locator('button.language').click();
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe('the angle, ellipse and rectangle tools on a CT (CPU rendering)', () => {
  /** Stored values 2 × (HU + 1024): the tools must apply the slope as well as the intercept to give HU. */
  const slices = halfSlopeHeadCt({ slices: 6, rows: 128, columns: 128, seed: 'viewer-measure', site: SITES['saint-girons'] });
  const study = parsed(slices[0]).string('x0020000d')!;

  /**
   * Along the middle column (downwards) and the middle row (rightwards) from the centre: the middle of the skull
   * (the run of pixels above 1000 HU) and air beyond the scalp, inside the reconstruction circle; as positions in
   * image coordinates along the walk, and the walk itself.
   */
  function skullAndAir(image: HuImage): { skull: number; air: number; walk: (at: number) => [number, number] }[] {
    const middle = image.columns / 2;
    const hu = ([column, row]: [number, number]) => image.hu[Math.floor(row) * image.columns + Math.floor(column)];
    const walks: ((at: number) => [number, number])[] = [(at) => [middle + 0.5, at], (at) => [at, middle + 0.5]];
    return walks.map((walk) => {
      let step = middle;
      while (hu(walk(step + 0.5)) < 1000) step += 1;
      const first = step;
      while (hu(walk(step + 0.5)) >= 1000) step += 1;
      const skull = (first + step) / 2;
      while (hu(walk(step + 0.5)) > -900) step += 1;
      return { skull, air: step + 2.5, walk };
    });
  }

  it('measures an angle in degrees and the mean HU of an ellipse and a rectangle drawn with the mouse', async () => {
    const sender = await gw.token('--role', 'sender', '--site', SAINT_GIRONS);
    expect((await stow(gw.dicomweb, sender, slices)).status).toBe(200);
    const reader = await gw.token('--role', 'reader', '--user', ON_CALL_ARIEGE, '--rpps', ON_CALL_ARIEGE);
    await expect
      .poll(async () => {
        const res = await fetch(`${gw.dicomweb}/studies/${study}/series`, { headers: { authorization: `Bearer ${reader}` } });
        return res.status === 200 ? ((await res.json()) as unknown[]).length : 0;
      }, { timeout: 30_000, message: 'the CT is routed to the on-call reader' })
      .toBe(1);
    const context = await signedInContext(browser, { token: reader, role: 'reader', user: '10009000011', name: 'Dr Anne Roques' });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const toClient = (column: number, row: number) => imageToClient(page, column, row);
    try {
      await page.goto(`${gw.url}/studies/${study}`);
      await page.waitForFunction(() => ((globalThis as unknown as PageGlobals).astreinteReading?.renders ?? 0) > 0, undefined, { timeout: 30_000 });
      expect((await probe(page)).rendering).toBe('cpu');
      await expect.poll(async () => (await canvasStats(page)).nonBlack, { timeout: 15_000, message: 'the slice is drawn' }).toBeGreaterThan(0.05);
      await expect.poll(async () => (await probe(page)).sopInstanceUid, { timeout: 10_000 }).toBeTruthy();
      const sop = (await probe(page)).sopInstanceUid!;
      const image = huImageOf(slices, sop);
      expect([image.slope, image.intercept]).toEqual([0.5, -1024]);
      // Where the probe (and so the mouse, and the annotations' drawing) puts an image pixel is where the canvas
      // drew it: the skull is white and the air beyond it black under the brain window, on screen.
      const luminanceAt = async ([x, y]: [number, number]): Promise<number> =>
        page.evaluate(`(() => {
          const canvas = document.querySelector('.viewport:not(.prior) canvas');
          const box = canvas.getBoundingClientRect();
          const copy = document.createElement('canvas');
          copy.width = canvas.width;
          copy.height = canvas.height;
          const context = copy.getContext('2d');
          context.drawImage(canvas, 0, 0);
          const px = Math.floor((${x} - box.left) * canvas.width / box.width);
          const py = Math.floor((${y} - box.top) * canvas.height / box.height);
          const [r, g, b] = context.getImageData(px, py, 1, 1).data;
          return (r + g + b) / 3;
        })()`);
      const misplaced = async (): Promise<string[]> => {
        const found: string[] = [];
        for (const { skull, air, walk } of skullAndAir(image)) {
          // Within one image pixel (the renderer and the image coordinates may differ by half a pixel); a canvas
          // not resized with its element put them some twenty pixels apart.
          const shown = async (at: number) => Promise.all([-1, 0, 1].map(async (d) => luminanceAt(await toClient(...walk(at + d)))));
          const skullShown = Math.max(...(await shown(skull)));
          const airShown = Math.max(...(await shown(air)));
          if (skullShown <= 200) found.push(`skull at ${walk(skull)} drawn ${skullShown} (not white)`);
          if (airShown >= 30) found.push(`air at ${walk(air)} drawn ${airShown} (not black)`);
        }
        return found;
      };
      // Waits for the layout to settle (the report panel loads beside the images), then stays put.
      const checkAlignment = () => expect.poll(misplaced, { timeout: 10_000, message: 'pixels are drawn where the probe puts them' }).toEqual([]);
      await checkAlignment();
      await screenshot(page, 'measure-01-ct');

      // Angle (A): 135° between the arm drawn leftwards along row 100 and the one drawn up to the right.
      await measureAngle(page, [[24, 100], [64, 100], [94, 70]], 135);
      await screenshot(page, 'measure-02-angle');
      await measureEllipse(page, image);
      await screenshot(page, 'measure-03-ellipse');
      await measureRectangle(page, image);
      expect(await page.locator('.measurement').count()).toBe(3);
      expect((await canvasStats(page)).nonBlack, 'the slice is still drawn under the annotations').toBeGreaterThan(0.05);
      await checkAlignment();
      await screenshot(page, 'measure-04-rectangle');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
