/**
 * The rest of the reading web app in Firefox (Debian's firefox-esr, headless, puppeteer-core over WebDriver BiDi,
 * Cornerstone's CPU path since headless Firefox has no WebGL here) against a real gateway on the Midi-Pyrénées
 * region, Sunday 2026-11-22 02:10, what the Chromium tests prove in Chromium:
 * - the Ariège on-call reader measures a length across 80 columns of a head CT of known pixel spacing (the mm
 *   asserted), an angle (the degrees of its handles and of the drag), an ellipse and a rectangle whose mean HU are
 *   those of the same pixels computed here from the file (stored values twice HU + 1024, RescaleSlope 0.5), as
 *   viewer-browser-worklist-measures.test.ts does;
 * - she opens the patient's prior side by side (P) and both scroll together (viewer-browser.test.ts);
 * - she claims a CT in the worklist, writes the report beside the images (the draft saved on the server and back
 *   after a reload), meets the conflict when a second tab saved the same draft first, records the call of a
 *   critical finding, signs with Ctrl+Entrée and sees the signed version with the signature's fingerprint and its
 *   delivery's status, then signs an addendum once its reason is given (viewer-browser-report.test.ts);
 * - the region's analyst sees the dashboard's charts drawn and tables holding exactly the CSV's figures, and the
 *   CSV button downloads the API's bytes (viewer-browser-dashboard.test.ts);
 * - Ariège's coordinator sees the territory's worklist live (priority by word, glyph and border; no images) and
 *   the dashboard of Ariège's sites only (viewer-browser-worklist-measures.test.ts, viewer-browser-dashboard.test.ts);
 * - the header's English button puts the worklist and the reading page in English (window presets, overlay, help,
 *   labels written "Priority: Urgent" without the French space before the colon), and back in French.
 * Screenshots: .tmp/screenshots/firefox-reading-*.png.
 */
import dicomParser from 'dicom-parser';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureFingerprint } from '../../core/report/signed-report.ts';
import { generateCtSeries, patientFor, SITES } from '../../test-data/generate-study.ts';
import {
  canvasStats,
  downloadedText,
  dragWithMouse,
  focusedUnderSignBar,
  imageToClient,
  launchFirefox,
  reportProbe,
  screenshot,
  sessionTokenOf,
  settledMeasurement,
  type Firefox,
  type PageGlobals,
  type ReadingProbe,
} from '../support/browser.ts';
import { halfSlopeHeadCt, huImageOf, rewrite } from '../support/ct-truth.ts';
import { chooseTool, measureAngle, measureEllipse, measurementTexts, measureRectangle } from '../support/measures.ts';
import { csvMismatches, dashboardProbe, LEGEND_SWATCH_MAX_PIXELS, medianBarExpected, pixelsOf } from '../support/dashboard.ts';
import { stow } from '../support/dicomweb-http.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { until } from '../support/until.ts';
import { worklistRows } from '../support/worklist.ts';
import { apiCall } from '../support/api-call.ts';

const SAINT_GIRONS = '090000050';
/** Dr Anne Roques, PDSES Ariège, on call this Sunday night. */
const ON_CALL = '10009000011';
const SUNDAY_0210 = '2026-11-22T02:10:00+01:00';
const NOVEMBER = { from: '2026-11-01', lastDay: '2026-11-30', to: '2026-12-01' };
const SLICES = 8;

let gw: GatewayProcess;
let firefox: Firefox;
let sender: string;
let reader: string;

const studyOf = (file: Buffer) => dicomParser.parseDicom(file, { untilTag: 'x7fe00010' }).string('x0020000d')!;

const api = (token: string, method: string, route: string, body?: unknown) => apiCall(gw.url, token, method, route, body);

/** Waits until the study is routed to the on-call reader (her DICOMweb search finds its series). */
async function routedToReader(study: string): Promise<void> {
  await until(`study ${study} to be routed to the on-call reader`, async () => {
    const res = await fetch(`${gw.dicomweb}/studies/${study}/series`, { headers: { authorization: `Bearer ${reader}` } });
    return res.status === 200 && ((await res.json()) as unknown[]).length > 0 ? true : undefined;
  });
}

/** A new tab signed in on the embedded sign-in page as `person`, and the page errors it meets. */
async function signedInPage(person: string, viewport = { width: 1400, height: 900 }): Promise<{ page: Page; errors: string[] }> {
  const page = await firefox.browser.newPage();
  await page.setViewport(viewport);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error instanceof Error ? error.message : String(error)));
  await page.goto(`${gw.url}/sign-in`);
  await page.locator(`button[data-person="${person}"]`).click();
  await page.waitForFunction(`location.pathname !== '/sign-in'`, { timeout: 10_000 });
  return { page, errors };
}

/** Opens the study's reading page and waits for its first image drawn. */
async function openStudy(page: Page, study: string): Promise<void> {
  await page.goto(`${gw.url}/studies/${study}`);
  await page.waitForFunction(() => ((globalThis as unknown as PageGlobals).astreinteReading?.renders ?? 0) > 0, { timeout: 30_000 });
  await expect.poll(async () => (await canvasStats(page)).nonBlack, { timeout: 15_000, message: 'the slice is drawn' }).toBeGreaterThan(0.05);
}

/** GET /api/reports/{id}, as far as these tests read it. */
interface SignedReportJson {
  versions: {
    version: number;
    kind: string;
    payload: { content: { conclusion: string; criticalFinding?: { flagged: boolean; calledWho?: string; calledAt?: string; how?: string } }; reason?: string };
    signature: { value: string };
    deliveries: { destination: string; status: string; lastError: string | null }[];
  }[];
}

const reading = async (page: Page) => (await page.evaluate('globalThis.astreinteReading')) as Omit<ReadingProbe, 'imageToClient'>;

beforeAll(async () => {
  gw = await startGateway({
    env: {
      ASTREINTE_NOW: SUNDAY_0210,
      ASTREINTE_STABILITY_SECONDS: '1',
      ASTREINTE_ROUTING_SWEEP_SECONDS: '1',
      ASTREINTE_DELIVERY_ATTEMPTS: '1',
      ASTREINTE_DELIVERY_BACKOFF_SECONDS: '0.2',
    },
  });
  sender = await gw.token('--role', 'sender', '--site', SAINT_GIRONS);
  reader = await gw.token('--role', 'reader', '--user', ON_CALL, '--rpps', ON_CALL);
  firefox = await launchFirefox();
});

afterAll(async () => {
  await firefox?.close();
  await gw?.dispose();
});

describe('reading a head CT in Firefox: measures and the prior', () => {
  const patient = patientFor('firefox-reading');
  /** Stored values 2 × (HU + 1024): the tools must apply the slope as well as the intercept to give HU. */
  const slices = halfSlopeHeadCt({ slices: SLICES, rows: 128, columns: 128, seed: 'firefox-reading', site: SITES['saint-girons'], patient });
  const prior = [...generateCtSeries({ kind: 'ct-head', slices: SLICES, rows: 128, columns: 128, seed: 'firefox-reading-prior', site: SITES['saint-girons'], patient })];
  const study = studyOf(slices[0]);
  const priorStudy = studyOf(prior[0]);

  beforeAll(async () => {
    expect((await stow(gw.dicomweb, sender, slices)).status).toBe(200);
    expect((await stow(gw.dicomweb, sender, prior)).status).toBe(200);
    await routedToReader(study);
    await routedToReader(priorStudy);
  });

  it('measures a length in mm, an angle in degrees and the HU statistics of an ellipse and a rectangle drawn with the mouse', async () => {
    const { page, errors } = await signedInPage(`reader:${ON_CALL}`);
    try {
      await openStudy(page, study);
      expect((await reading(page)).rendering).toBe('cpu');
      await expect.poll(async () => (await reading(page)).sopInstanceUid, { timeout: 10_000 }).toBeTruthy();
      const image = huImageOf(slices, (await reading(page)).sopInstanceUid!);
      expect([image.slope, image.intercept]).toEqual([0.5, -1024]);
      // ct-head at 128 columns: a 230 mm field of view.
      expect(image.pixelSpacing[1]).toBeCloseTo(230 / 128, 5);

      // Length (L): across 80 columns of row 30 (away from where the ellipse is drawn next: a press on an
      // annotation's line grabs it rather than starting a new one).
      await chooseTool(page, 'l', 'length');
      await dragWithMouse(page, await imageToClient(page, 20, 30), await imageToClient(page, 100, 30));
      const length = await settledMeasurement(page, 'Length', 'length');
      // Firefox's mouse lands where the page says the pixel is drawn: the handles are where the drag went.
      const [[x0, y0], [x1, y1]] = length.points;
      expect([x0, y0, x1, y1].map((v, i) => Math.abs(v - [20, 30, 100, 30][i])).every((d) => d < 0.5), `handles ${JSON.stringify(length.points)}`).toBe(true);
      const expected = 80 * image.pixelSpacing[1];
      // Under a third of a pixel: where the mouse lands is rounded.
      expect(Math.abs(length.stats.length! - expected), `${length.stats.length} mm vs ${expected} mm (handles ${JSON.stringify(length.points)})`).toBeLessThan(0.5);
      expect(length.stats.unit).toBe('mm');
      await expect.poll(() => measurementTexts(page)).toContainEqual(`Longueur\u202f: ${length.stats.length!.toFixed(1)} mm`);
      await screenshot(page, 'firefox-reading-01-length');

      // Angle (A): 135° between the arm drawn leftwards along row 100 and the one drawn up to the right.
      await measureAngle(page, [[24, 100], [64, 100], [94, 70]], 135);
      await screenshot(page, 'firefox-reading-02-angle');
      await measureEllipse(page, image);
      await screenshot(page, 'firefox-reading-03-ellipse');
      await measureRectangle(page, image);
      expect(await measurementTexts(page)).toHaveLength(4);
      expect((await canvasStats(page)).nonBlack, 'the slice is still drawn under the annotations').toBeGreaterThan(0.05);
      await screenshot(page, 'firefox-reading-04-rectangle');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("opens the same patient's prior side by side (P), scrolled together with the study", async () => {
    const { page, errors } = await signedInPage(`reader:${ON_CALL}`);
    try {
      await openStudy(page, study);
      await page.keyboard.press('p');
      await page
        .waitForFunction(() => ((globalThis as unknown as PageGlobals).astreinteReading?.prior?.renders ?? 0) > 0, { timeout: 20_000 })
        .catch(async (error: Error) => {
          throw new Error(`${error.message}; the page says: ${await page.$eval('.status', (s) => s.textContent)}`);
        });
      expect((await reading(page)).prior!.study).toBe(priorStudy);
      expect(await page.$eval('.viewport.prior', (element) => (element as unknown as { hidden: boolean }).hidden)).toBe(false);
      await expect
        .poll(async () => (await canvasStats(page, '.viewport.prior canvas')).nonBlack, { timeout: 10_000, message: 'the prior is drawn' })
        .toBeGreaterThan(0.05);
      // Side by side: the prior's canvas is to the right of the study's, at the same height.
      const boxes = await page.$$eval('.viewport canvas', (canvases) => canvases.map((c) => c.getBoundingClientRect().toJSON() as { left: number; right: number; top: number }));
      expect(boxes).toHaveLength(2);
      expect(boxes[1].left, 'the prior is beside the study').toBeGreaterThanOrEqual(boxes[0].right - 1);
      expect(Math.abs(boxes[1].top - boxes[0].top)).toBeLessThan(2);
      const before = await reading(page);
      const priorBefore = await canvasStats(page, '.viewport.prior canvas');
      for (let i = 0; i < 2; i++) await page.keyboard.press('ArrowUp');
      await expect.poll(async () => (await reading(page)).imageIndex, { timeout: 5_000 }).toBe(before.imageIndex - 2);
      await expect.poll(async () => (await reading(page)).prior!.imageIndex, { timeout: 5_000, message: 'the prior scrolls with the study' }).toBe(before.prior!.imageIndex - 2);
      await expect
        .poll(async () => (await canvasStats(page, '.viewport.prior canvas')).digest, { timeout: 5_000, message: 'the prior draws its other slice' })
        .not.toBe(priorBefore.digest);
      await screenshot(page, 'firefox-reading-05-prior-side-by-side');
      await page.keyboard.press('p');
      await expect.poll(async () => (await reading(page)).prior).toBeUndefined();
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('the report panel in Firefox', () => {
  const slices = [...generateCtSeries({ kind: 'ct-head', slices: 4, rows: 64, columns: 64, seed: 'firefox-report', site: SITES['saint-girons'] })];
  const study = studyOf(slices[0]);
  const field = (name: string) => `.report-panel [name="${name}"]`;
  const valueOf = (page: Page, selector: string) => page.$eval(selector, (element) => (element as unknown as { value: string }).value);
  /** Waits for a save after the `saves` th, shown as such. */
  const savedIn = async (page: Page, saves: number) => {
    await expect.poll(async () => (await reportProbe(page))?.saves ?? 0, { timeout: 10_000, message: 'the draft is saved' }).toBeGreaterThan(saves);
    await expect.poll(() => page.$eval('.report-panel .save-state', (s) => s.textContent)).toMatch(/Brouillon enregistré/);
  };

  it("claims the CT in the worklist, writes the draft beside the images, keeps it over a reload, meets a second tab's save, signs it with Ctrl+Entrée, shows it signed with its delivery's status, and signs an addendum with its reason", async () => {
    const { page, errors } = await signedInPage(`reader:${ON_CALL}`, { width: 1600, height: 1000 });
    try {
      await page.waitForSelector('.live[data-live="true"]', { timeout: 10_000 });
      expect((await stow(gw.dicomweb, sender, slices)).status).toBe(200);
      const row = `tr.item[data-study="${study}"]`;
      await page.waitForSelector(row, { timeout: 20_000 });
      await page.locator(`${row} button.claim`).click();
      await expect.poll(() => page.$eval(`${row} td.item-status`, (cell) => cell.textContent), { timeout: 10_000 }).toMatch(/En cours/);
      await page.locator(`${row} button.open`).click();
      await page.waitForFunction(`location.pathname === ${JSON.stringify(`/studies/${study}`)}`, { timeout: 10_000 });
      await page.waitForSelector(field('indication'), { timeout: 15_000 });
      await expect.poll(async () => (await canvasStats(page)).nonBlack, { timeout: 20_000, message: 'the slice is drawn beside the panel' }).toBeGreaterThan(0.05);
      const itemId = (await reportProbe(page))!.itemId!;
      expect((await reportProbe(page))!.state).toBe('draft');

      // Typed: the letters are text, not the viewer's shortcuts (l, e… stay in the field, the tool does not change).
      await page.locator(field('indication')).fill('Céphalées brutales à 01h30, sous anticoagulant.');
      await page.locator(field('findings')).fill('Hématome sous-dural aigu fronto-pariétal gauche de 8 mm, effet de masse modéré.');
      await expect.poll(() => focusedUnderSignBar(page), { message: 'px of the findings under the sign bar' }).toBe(0);
      // On to the conclusion with Tab (a click would land on the bar over its top: Puppeteer clicks an element's centre, seen or not).
      await page.keyboard.press('Tab');
      expect(await page.evaluate('document.activeElement.name')).toBe('conclusion');
      await expect.poll(() => focusedUnderSignBar(page), { message: 'px of the conclusion under the sign bar' }).toBe(0);
      await page.keyboard.type('Hématome sous-dural aigu gauche');
      expect(await valueOf(page, field('conclusion'))).toBe('Hématome sous-dural aigu gauche');
      expect(await page.$eval('button[data-tool="length"]', (b) => b.getAttribute('aria-pressed'))).toBe('false');
      await savedIn(page, 0);
      const saved = (await api(reader, 'GET', `/api/worklist/${itemId}/report`)).json!.draft as { content: { indication: string; conclusion: string } };
      expect(saved.content).toMatchObject({ indication: 'Céphalées brutales à 01h30, sous anticoagulant.', conclusion: 'Hématome sous-dural aigu gauche' });
      await screenshot(page, 'firefox-reading-06-report-draft');

      // Reloaded: the draft comes back as typed.
      await page.reload();
      await page.waitForSelector(field('conclusion'), { timeout: 15_000 });
      await expect.poll(() => valueOf(page, field('conclusion'))).toBe('Hématome sous-dural aigu gauche');
      expect(await valueOf(page, field('findings'))).toBe('Hématome sous-dural aigu fronto-pariétal gauche de 8 mm, effet de masse modéré.');

      // The same draft open in a second tab: its save goes first; this tab's next save is told so, and reloads the
      // draft rather than overwrite it.
      const other = await signedInPage(`reader:${ON_CALL}`, { width: 1600, height: 1000 });
      try {
        await other.page.goto(`${gw.url}/studies/${study}`);
        await other.page.waitForSelector(field('findings'), { timeout: 15_000 });
        await expect.poll(() => valueOf(other.page, field('findings'))).toBe('Hématome sous-dural aigu fronto-pariétal gauche de 8 mm, effet de masse modéré.');
        await other.page.locator(field('findings')).fill('Écrit dans un autre onglet.');
        await savedIn(other.page, 0);
        expect(other.errors).toEqual([]);
      } finally {
        await other.page.close();
      }
      await page.bringToFront();
      await page.locator(field('findings')).fill('Modifié dans cet onglet.');
      await page.waitForSelector('.report-panel .save-state .conflict', { timeout: 10_000 });
      expect(await page.$eval('.report-panel .save-state .conflict', (c) => c.textContent)).toMatch(/modifié ailleurs/);
      // The bar grew with the conflict's words under the reader's hands: the field typed in is still above it.
      await expect.poll(() => focusedUnderSignBar(page), { message: 'px of the findings under the grown sign bar' }).toBe(0);
      await screenshot(page, 'firefox-reading-07-report-conflict');
      await page.locator('.report-panel button.reload-draft').click();
      await expect.poll(() => valueOf(page, field('findings'))).toBe('Écrit dans un autre onglet.');

      // A critical finding: the call recorded (the time from the "now" button into Firefox's datetime-local field).
      const savesBefore = (await reportProbe(page))!.saves;
      await page.locator(field('critical')).click();
      await page.locator(field('calledWho')).fill('Dr Martin, urgentiste de garde');
      const calledNow = Date.now();
      // Puppeteer clicks an element's centre even under the sticky sign bar: the button is brought in sight first, as a reader would.
      await page.$eval('.report-panel button.called-now', (button) => button.scrollIntoView({ block: 'center' }));
      await page.locator('.report-panel button.called-now').click();
      await page.locator(field('how')).fill('téléphone');
      await expect.poll(async () => (await reportProbe(page))!.saves, { timeout: 10_000, message: 'the call is saved' }).toBeGreaterThan(savesBefore);

      // Signed with the keyboard.
      await page.keyboard.down('Control');
      await page.keyboard.press('Enter');
      await page.keyboard.up('Control');
      const signed = '.report-panel .signed-version[data-version="1"]';
      await page.waitForSelector(signed, { timeout: 30_000 });
      expect((await reportProbe(page))!.state).toBe('signed');
      expect(await page.$$eval('.report-panel textarea[name="conclusion"]', (fields) => fields.length), 'read-only once signed').toBe(0);
      expect(await page.$eval('.report-panel .signed-title', (title) => title.textContent)).toBeTruthy();
      const reportId = (await api(reader, 'GET', `/api/worklist/${itemId}/report`)).json!.reportId as string;
      expect(reportId).toBeTruthy();
      const reportOf = async () => (await api(reader, 'GET', `/api/reports/${reportId}`)).json as unknown as SignedReportJson;
      const report = await reportOf();
      expect(report.versions).toHaveLength(1);
      const content = report.versions[0].payload.content;
      expect(content.conclusion).toBe('Hématome sous-dural aigu gauche');
      expect(content.criticalFinding).toMatchObject({ flagged: true, calledWho: 'Dr Martin, urgentiste de garde', how: 'téléphone' });
      // The minute of the click (the browser's clock, not the gateway's test clock), written in Paris time into the
      // datetime-local field whatever zone Firefox runs in, and read back from it as the same instant.
      const calledAt = content.criticalFinding!.calledAt!;
      expect(calledAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
      expect(Date.parse(calledAt)).toBeGreaterThan(calledNow - 60_000);
      expect(Date.parse(calledAt)).toBeLessThanOrEqual(Date.now());
      expect(await page.$eval(`${signed} .fingerprint code`, (code) => code.textContent)).toBe(signatureFingerprint(report.versions[0].signature.value));
      const signedText = (await page.$eval(signed, (article) => article.textContent)) ?? '';
      expect(signedText).toContain('Hématome sous-dural aigu gauche');
      expect(signedText).toContain('Dr Martin, urgentiste de garde');
      // The worklist item is done.
      const { items } = (await api(reader, 'GET', '/api/worklist?status=completed')).json as { items: { id: string; status: string }[] };
      expect(items.find((i) => i.id === itemId)?.status).toBe('COMPLETED');

      // Its delivery to Saint-Girons' information system (an HL7 MLLP address that does not resolve here, tried
      // once) shows "échec" without a reload, as the API has it.
      const failed = `${signed} .delivery[data-status="failed"]`;
      await page.waitForSelector(failed, { timeout: 30_000 });
      const [delivery] = (await reportOf()).versions[0].deliveries;
      expect(delivery.status).toBe('failed');
      expect(await page.$eval(failed, (d) => d.getAttribute('data-destination'))).toBe(delivery.destination);
      expect(await page.$eval(`${failed} .delivery-status`, (d) => d.textContent)).toBe('échec');
      // In a sentence a clinician reads, not Node's "getaddrinfo ENOTFOUND", which stays in a folded detail.
      expect(await page.$eval(`${failed} .delivery-what`, (p) => p.textContent)).toBe('Le RIS de l’hôpital est introuvable à l’adresse configurée (nom inconnu du réseau).');
      expect(await page.$eval(`${failed} .delivery-next`, (p) => p.textContent)).toContain('la coordination a été alertée');
      expect(await page.$eval(`${failed} .delivery-technical code`, (code) => code.textContent)).toBe(delivery.lastError);
      expect(delivery.lastError).toMatch(/ENOTFOUND|EAI_AGAIN/);
      await screenshot(page, 'firefox-reading-08-report-signed-delivery');

      // An addendum needs its reason; then it is version 2, with its reason and its own delivery shown.
      await page.locator('.report-panel button.addendum').click();
      await page.locator('.report-panel .addendum-form [name="conclusion"]').fill('Hématome sous-dural aigu gauche. Pas d’engagement.');
      await page.locator('.report-panel button.sign-addendum').click();
      await page.waitForSelector('.report-panel .addendum-form .refusal-text', { timeout: 10_000 });
      expect(await page.$eval('.report-panel .addendum-form .refusal-text', (p) => p.textContent)).toMatch(/Indiquez ce que corrige cet addendum/);
      await page.locator('#addendum-reason').fill('Précision sur l’absence d’engagement.');
      await page.locator('.report-panel button.sign-addendum').click();
      const addendum = '.report-panel .signed-version[data-version="2"][data-kind="addendum"]';
      await page.waitForSelector(addendum, { timeout: 30_000 });
      expect(await page.$eval(`${addendum} .reason`, (r) => r.textContent)).toContain('Précision sur l’absence d’engagement.');
      await page.waitForSelector(`${addendum} .delivery[data-status="failed"]`, { timeout: 30_000 });
      const second = (await reportOf()).versions[1];
      expect(second).toMatchObject({ version: 2, kind: 'addendum', payload: { reason: 'Précision sur l’absence d’engagement.', content: { conclusion: 'Hématome sous-dural aigu gauche. Pas d’engagement.' } } });
      expect(await page.$eval(`${addendum} .fingerprint code`, (code) => code.textContent)).toBe(signatureFingerprint(second.signature.value));
      await screenshot(page, 'firefox-reading-09-report-addendum');
      expect(errors).toEqual([]);
    } catch (error) {
      await screenshot(page, 'firefox-reading-report-failed').catch(() => undefined);
      throw new Error(`${(error as Error).message}\npanel: ${await page.$eval('.report-panel', (p) => p.textContent).catch(() => '?')}`, { cause: error });
    } finally {
      await page.close();
    }
  }, 120_000);
});

describe('the regional dashboard in Firefox', () => {
  it("shows the analyst charts drawn and tables holding exactly the CSV's figures for the month picked", async () => {
    // A head CT of Saint-Girons read and signed through the API, so that the month has an interpretation.
    const slices = [...generateCtSeries({ kind: 'ct-head', slices: 2, rows: 32, columns: 32, seed: 'firefox-dashboard', site: SITES['saint-girons'] })];
    expect((await stow(gw.dicomweb, sender, slices)).status).toBe(200);
    const study = studyOf(slices[0]);
    const item = await until(`study ${study} in the on-call reader's worklist`, async () =>
      ((await api(reader, 'GET', '/api/worklist')).json?.items as { id: string; studyInstanceUID: string }[] | undefined)?.find((i) => i.studyInstanceUID === study),
    );
    expect((await api(reader, 'POST', `/api/worklist/${item.id}/claim`)).status).toBe(200);
    // Read for 4 s: the claimed → signed median is then a tenth of a minute at least, a bar the chart draws.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const signedReport = await api(reader, 'POST', `/api/worklist/${item.id}/report/sign`, {
      content: { template: 'ct-head-stroke', indication: 'Déficit brutal.', findings: "Pas d'hémorragie.", conclusion: 'Pas de contre-indication à la thrombolyse.' },
    });
    expect(signedReport.status, signedReport.text).toBe(201);

    const { page, errors } = await signedInPage('analyst:midi-pyrenees', { width: 1500, height: 1000 });
    const indicatorRequests: { url: string; authorization?: string }[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/indicators')) indicatorRequests.push({ url: request.url(), authorization: request.headers().authorization });
    });
    try {
      // An analyst has no worklist: they land on the dashboard.
      await page.waitForFunction(`location.pathname === '/dashboard'`, { timeout: 10_000 });
      await expect.poll(async () => (await dashboardProbe(page))?.loads ?? 0, { timeout: 15_000 }).toBeGreaterThan(0);
      expect(await page.$eval('h1', (h1) => h1.textContent)).toBe('Tableau de bord régional');

      // November, picked in Firefox's date fields; shown in Paris time.
      const loads = (await dashboardProbe(page))!.loads;
      await page.locator('input[name="from"]').fill(NOVEMBER.from);
      await page.locator('input[name="to"]').fill(NOVEMBER.lastDay);
      await page.locator('button.show').click();
      await expect.poll(async () => (await dashboardProbe(page))?.period?.from, { timeout: 10_000 }).toBe('2026-11-01T00:00:00+01:00');
      expect((await dashboardProbe(page))!.period!.to).toBe('2026-12-01T00:00:00+01:00');
      expect((await dashboardProbe(page))!.loads).toBeGreaterThan(loads);
      expect(await page.$eval('.period', (p) => p.textContent)).toMatch(/01\/11\/2026 00:00 → 01\/12\/2026 00:00/);

      // Every figure of the CSV for the same period is on the page, and equal.
      const csv = await api(await sessionTokenOf(page), 'GET', `/api/indicators?from=${NOVEMBER.from}&to=${NOVEMBER.to}&format=csv`);
      expect(csv.status, csv.text).toBe(200);
      const { mismatches, header, rows, cells } = await csvMismatches(page, csv.text);
      expect(rows.length).toBe(25);
      expect(mismatches).toEqual([]);
      expect(cells.length).toBeGreaterThanOrEqual(rows.length * header.length);
      const total = (column: string) => rows.reduce((sum, row) => sum + Number(row[header.indexOf(column)] || 0), 0);
      const saintGirons = rows.find((r) => r[0] === SAINT_GIRONS)!;
      expect(Number(saintGirons[header.indexOf('interpretations_total')])).toBeGreaterThanOrEqual(1);

      // The charts are drawn: bars of each series' colour on their canvas where the CSV has figures, and none (at most
      // the legend's swatch) where it has none.
      await page.$eval('section[data-section="steps"] canvas', (canvas) => canvas.scrollIntoView());
      for (const [column, hex] of [['interpretations_urgent', '#d55e00'], ['interpretations_non_urgent', '#56b4e9']]) {
        const pixels = await pixelsOf(page, 'interpretations', hex);
        expect(pixels > LEGEND_SWATCH_MAX_PIXELS + 50, `${column}: ${total(column)} in the CSV, ${pixels} px of ${hex}`).toBe(total(column) > 0);
      }
      expect(await pixelsOf(page, 'hourly', '#56b4e9'), 'hourly histogram').toBeGreaterThan(100);
      expect(await pixelsOf(page, 'archive', '#0072b2'), 'archive bars').toBeGreaterThan(100);
      // The steps chart, on claimed → signed (chosen in Firefox's select): the medians' bars.
      expect(medianBarExpected(header, rows, 'claimedToSigned')).toBe(true);
      await page.locator('select[name="step"]').fill('claimedToSigned');
      await expect
        .poll(() => pixelsOf(page, 'steps', '#009e73'), { timeout: 5_000, message: 'claimed → signed median bars' })
        .toBeGreaterThan(LEGEND_SWATCH_MAX_PIXELS + 100);
      expect(await page.$eval('select[name="step"]', (select) => (select as unknown as { value: string }).value)).toBe('claimedToSigned');
      await screenshot(page, 'firefox-reading-10-dashboard-analyst', { fullPage: true });

      // The CSV button: fetched with the token in a header, saved from a blob by Firefox: the same bytes as the API's.
      await page.locator('button.download-csv').click();
      expect(await downloadedText(firefox.downloads, 'indicateurs_2026-11-01_2026-11-30.csv')).toBe(csv.text);
      // November's figures and the CSV at least (the first load may come before the listener).
      expect(indicatorRequests.filter((r) => r.url.includes('from=2026-11-01')).map((r) => new URL(r.url).searchParams.get('format'))).toEqual(
        expect.arrayContaining(['json', 'csv']),
      );
      for (const request of indicatorRequests) {
        expect(request.authorization).toMatch(/^Bearer /);
        expect(request.url).not.toMatch(/token|bearer/i);
      }
      expect(errors).toEqual([]);
    } catch (error) {
      await screenshot(page, 'firefox-reading-dashboard-failed').catch(() => undefined);
      throw new Error(`${(error as Error).message}\npage errors: ${errors.join(' | ')}`, { cause: error });
    } finally {
      await page.close();
    }
  }, 90_000);
});

describe('the territory coordination in Firefox', () => {
  /** Ariège's sites (config/examples/midi-pyrenees.yaml), sorted. */
  const ARIEGE_SITES = ['090000043', '090000050', '090001356', '090781774'];
  const SEYSSES = '310019351';

  it("shows Ariège's coordinator the territory's worklist live (priority in words and glyphs, no images) and its sites' indicators only", async () => {
    const { page, errors } = await signedInPage('coordinator:ariege', { width: 1500, height: 1000 });
    try {
      await page.waitForFunction(`location.pathname === '/'`, { timeout: 10_000 });
      await page.waitForSelector('.live[data-live="true"]', { timeout: 10_000 });
      // An urgent head CT, then a thrombolysis alert, from Saint-Girons while the coordination watches: both show
      // live, the alert first.
      const headCt = (seed: string) => [...generateCtSeries({ kind: 'ct-head', slices: 2, rows: 32, columns: 32, seed, site: SITES['saint-girons'] })];
      const urgentCt = headCt('firefox-coordinator-urgent');
      const stroke = rewrite(headCt('firefox-coordinator-stroke'), (dict) => {
        dict['00081030'] = { vr: 'LO', Value: ['TDM CEREBRALE - ALERTE THROMBOLYSE'] };
      });
      for (const files of [urgentCt, stroke]) {
        expect((await stow(gw.dicomweb, sender, files)).status).toBe(200);
        await page.waitForSelector(`tr.item[data-study="${studyOf(files[0])}"]`, { timeout: 20_000 });
      }
      const token = await sessionTokenOf(page);
      const listed = (await api(token, 'GET', '/api/worklist')).json!.items as { studyInstanceUID: string; territory: string }[];
      expect(new Set(listed.map((i) => i.territory))).toEqual(new Set(['ariege']));
      await expect.poll(async () => (await worklistRows(page)).map((r) => r.study)).toEqual(listed.map((i) => i.studyInstanceUID));
      const shown = await worklistRows(page);
      expect(shown[0]).toMatchObject({ study: studyOf(stroke[0]), badge: 'stroke', label: 'AVC', glyph: '⚡', glyphHidden: 'true', title: 'Priorité\u202f: AVC' });
      const urgent = shown.find((r) => r.study === studyOf(urgentCt[0]))!;
      expect(urgent).toMatchObject({ badge: 'urgent', label: 'Urgent', glyph: '▲', glyphHidden: 'true', title: 'Priorité\u202f: Urgent' });
      // Not by colour alone: the border's style differs too.
      expect(urgent.borderStyle).not.toBe(shown[0].borderStyle);
      // A coordinator sees the items, never the images: no thumbnail is asked for, none is said missing.
      expect(await page.$$eval('tr.item img.thumb, tr.item .thumb-missing', (found) => found.length)).toBe(0);
      await screenshot(page, 'firefox-reading-12-coordinator-worklist');

      // The dashboard, from the header: Ariège's sites only, each figure the one of the CSV the API gives them.
      await page.locator('.app-header nav a.nav-dashboard').click();
      await page.waitForFunction(`location.pathname === '/dashboard'`, { timeout: 10_000 });
      await expect.poll(async () => (await dashboardProbe(page))?.loads ?? 0, { timeout: 15_000 }).toBeGreaterThan(0);
      const fromApi = ((await api(token, 'GET', '/api/indicators')).json!.sites as { site: string }[]).map((s) => s.site);
      expect(fromApi.sort()).toEqual(ARIEGE_SITES);
      const siteRows = await page.$$eval('[data-table="interpretations"] tbody tr', (rows) => rows.map((row) => row.getAttribute('data-site')));
      expect(siteRows.sort()).toEqual(ARIEGE_SITES);
      const options = await page.$$eval('select[name="site"] option', (found) => found.map((option) => option.getAttribute('value')));
      expect(options.filter(Boolean).sort()).toEqual(ARIEGE_SITES);
      expect(await page.$$eval(`[data-site="${SEYSSES}"]`, (found) => found.length)).toBe(0);
      const period = (await dashboardProbe(page))!.period!;
      const csv = await api(token, 'GET', `/api/indicators?${new URLSearchParams({ ...period, format: 'csv' })}`);
      expect(csv.status, csv.text).toBe(200);
      const { mismatches, rows } = await csvMismatches(page, csv.text);
      expect(rows.map((row) => row[0]).sort()).toEqual(ARIEGE_SITES);
      expect(mismatches).toEqual([]);
      await screenshot(page, 'firefox-reading-13-coordinator-dashboard', { fullPage: true });

      // Another territory's site, asked in the address: the API refuses, the page says why.
      await page.goto(`${gw.url}/dashboard?from=${NOVEMBER.from}&to=${NOVEMBER.lastDay}&site=${SEYSSES}`);
      await page.waitForSelector('.refusal[data-refusal="api"]', { timeout: 15_000 });
      expect(await page.$eval('.refusal[data-refusal="api"]', (refusal) => refusal.textContent)).toBe(
        `Le site ${SEYSSES} n’est pas dans votre territoire\u202f: vous voyez les indicateurs des sites de votre territoire.`,
      );
      expect(errors).toEqual([]);
    } catch (error) {
      await screenshot(page, 'firefox-reading-coordinator-failed').catch(() => undefined);
      throw error;
    } finally {
      await page.close();
    }
  }, 60_000);
});

describe('the English switch in Firefox', () => {
  const slices = [...generateCtSeries({ kind: 'ct-head', slices: 4, rows: 64, columns: 64, seed: 'firefox-english', site: SITES['saint-girons'] })];
  const study = studyOf(slices[0]);
  const textOf = (page: Page, selector: string) => page.$eval(selector, (element) => element.textContent);
  const switchLanguage = (page: Page) => page.locator('.app-header button.language').click();
  /** Each window preset button's key and short word, and its full name (its accessible name). */
  const presetLabels = (page: Page) =>
    page.$$eval('button[data-preset]', (buttons) => buttons.map((b) => `${b.textContent} | ${b.getAttribute('aria-label')}`));
  const ENGLISH_PRESETS = ['1 Brain | 1 Brain', '2 Stroke | 2 Stroke', '3 Subdural | 3 Subdural', '4 Soft | 4 Soft tissue', '5 Lung | 5 Lung', '6 Bone | 6 Bone', '7 Liver | 7 Liver'];
  const FRENCH_PRESETS = ['1 Cerveau | 1 Cerveau', '2 AVC | 2 AVC', '3 S-dural | 3 Sous-dural', '4 Mous | 4 Tissus mous', '5 Poumon | 5 Poumon', '6 Os | 6 Os', '7 Foie | 7 Foie'];
  /** Waits for the page drawn again in `lang`, its header's button offering the other language. */
  const inLanguage = async (page: Page, lang: 'fr' | 'en') => {
    await page.waitForFunction(`document.documentElement.lang === '${lang}'`, { timeout: 10_000 });
    await expect.poll(() => textOf(page, '.app-header button.language')).toBe(lang === 'en' ? 'Français' : 'English');
    expect(await textOf(page, '.app-header button.sign-out')).toBe(lang === 'en' ? 'Sign out' : 'Se déconnecter');
  };

  it('puts the worklist and the reading page in English from the header, and the reading page back in French', async () => {
    expect((await stow(gw.dicomweb, sender, slices)).status).toBe(200);
    const { page, errors } = await signedInPage(`reader:${ON_CALL}`);
    try {
      const row = `tr.item[data-study="${study}"]`;
      await page.waitForSelector(row, { timeout: 20_000 });
      expect(await textOf(page, 'h1')).toBe('Liste de travail');

      // The worklist in English: its title, live badge, columns and buttons.
      await switchLanguage(page);
      await inLanguage(page, 'en');
      await expect.poll(() => textOf(page, 'h1')).toBe('Worklist');
      await page.waitForSelector(`.live[data-live="true"]`, { timeout: 10_000 });
      expect(await textOf(page, '.live')).toBe('Live');
      expect(await page.$$eval('thead th', (cells) => cells.map((cell) => cell.textContent))).toEqual(expect.arrayContaining(['Priority', 'Site', 'Territory', 'Status', 'Deadline']));
      await page.waitForSelector(row, { timeout: 10_000 });
      expect([await textOf(page, `${row} button.claim`), await textOf(page, `${row} button.open`)]).toEqual(['Claim', 'Open']);
      // A label and its value as English writes them: no space before the colon (French puts a narrow no-break one).
      expect((await worklistRows(page)).find((r) => r.study === study)).toMatchObject({ label: 'Urgent', title: 'Priority: Urgent' });
      expect(await textOf(page, 'select[name="modality"] option')).toBe('Modality: All');
      await screenshot(page, 'firefox-reading-14-english-worklist');

      // The reading page opened in English: tools, overlay, report panel.
      await page.locator(`${row} button.open`).click();
      await page.waitForFunction(`location.pathname === ${JSON.stringify(`/studies/${study}`)}`, { timeout: 10_000 });
      await page.waitForFunction(() => ((globalThis as unknown as PageGlobals).astreinteReading?.renders ?? 0) > 0, { timeout: 30_000 });
      await expect.poll(async () => (await canvasStats(page)).nonBlack, { timeout: 15_000, message: 'the slice is drawn' }).toBeGreaterThan(0.05);
      await inLanguage(page, 'en');
      expect(await textOf(page, 'button[data-tool="length"]')).toBe('Length');
      expect(await textOf(page, '.overlay.bottom-left')).toMatch(/^Series \d+ .*Slice \d\/4/);
      expect(await textOf(page, '.overlay.top-left')).toMatch(/\d+ years? · [MF]$/);
      expect(await presetLabels(page)).toEqual(ENGLISH_PRESETS);
      expect(await textOf(page, '.help p')).toBe('Mouse: left active tool, middle pan, right zoom, wheel slices.');
      await expect.poll(() => textOf(page, '.report-panel')).toContain('Claim the study from the worklist to write its report.');
      await screenshot(page, 'firefox-reading-15-english-reading');

      // Back in French from the reading page itself: drawn again, in French.
      await switchLanguage(page);
      await inLanguage(page, 'fr');
      await expect.poll(() => textOf(page, 'button[data-tool="length"]'), { timeout: 15_000 }).toBe('Longueur');
      await expect.poll(() => textOf(page, '.overlay.bottom-left'), { timeout: 15_000 }).toMatch(/^Série \d+ .*Coupe \d\/4/);
      expect(await textOf(page, '.overlay.top-left')).toMatch(/\d+ ans? · [MF]$/);
      expect(await presetLabels(page)).toEqual(FRENCH_PRESETS);
      expect(await textOf(page, '.help p')).toBe('Souris\u202f: gauche outil actif, milieu déplacer, droit zoom, molette coupes.');
      await expect.poll(() => textOf(page, '.report-panel')).toContain('Prenez l’examen depuis la liste de travail pour écrire son compte rendu.');
      await expect.poll(async () => (await canvasStats(page)).nonBlack, { timeout: 15_000, message: 'the slice is drawn again' }).toBeGreaterThan(0.05);
      await screenshot(page, 'firefox-reading-16-french-again');
      expect(errors).toEqual([]);
    } catch (error) {
      await screenshot(page, 'firefox-reading-english-failed').catch(() => undefined);
      throw error;
    } finally {
      // The choice is kept in the browser's storage: the other tests of this browser read French.
      await page.evaluate(`localStorage.removeItem('astreinte.language')`).catch(() => undefined);
      await page.close();
    }
  }, 60_000);
});
