/**
 * The reading web app in a real browser (Debian's Chromium, headless, Cornerstone's CPU rendering path) against a
 * real gateway on the Midi-Pyrénées region, Sunday 2026-11-22 02:10: the Ariège on-call radiologist signs in,
 * sees a head CT from CH Saint-Girons appear live, claims it, opens it, scrolls, changes the window, measures a
 * length; another reader is refused the study; compressed samples (JPEG 2000, JPEG-LS, RLE, JPEG baseline) draw.
 * Assertions are on the canvas's pixels, not only on the page's text. Screenshots: .tmp/screenshots/.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCtSeries, patientFor, SITES } from '../../test-data/generate-study.ts';
import {
  canvasStats,
  dragWithMouse,
  imageToClient,
  launchChromium,
  readingLayout,
  screenshot,
  sessionTokenOf,
  signedInContext,
  type CanvasStats,
  type PageGlobals,
} from '../support/browser.ts';
import { stow } from '../support/dicomweb-http.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { DICOM_SAMPLES } from '../support/shared-samples.ts';

const SAINT_GIRONS = '090000050';
const ON_CALL = '10009000011';
/** Dr Olivier Granier, PDSES Tarn: nothing from Ariège is routed to him. */
const NOT_ROUTED_READER = '10081000019';
const SUNDAY_0210 = '2026-11-22T02:10:00+01:00';
/** ct-head at 128 columns: a 230 mm field of view. */
const PIXEL_SPACING_MM = 230 / 128;
const SLICES = 12;

let gw: GatewayProcess;
let browser: Browser;
let sender: string;

function studyOf(file: Buffer): string {
  return dicomParser.parseDicom(file, { untilTag: 'x7fe00010' }).string('x0020000d')!;
}

async function waitForRenders(page: Page, above: number): Promise<number> {
  await page.waitForFunction((n) => ((globalThis as unknown as PageGlobals).astreinteReading?.renders ?? 0) > n, above, { timeout: 20_000 });
  return page.evaluate(() => (globalThis as unknown as PageGlobals).astreinteReading!.renders);
}

/** Waits until the canvas shows something other than `previous` (Cornerstone draws on the next frame). */
async function statsAfterChange(page: Page, previous: CanvasStats): Promise<CanvasStats> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const stats = await canvasStats(page);
    if (stats.digest !== previous.digest || Date.now() > deadline) return stats;
    await page.waitForTimeout(100);
  }
}

async function signInAs(page: Page, personId: string): Promise<void> {
  await page.goto(`${gw.url}/sign-in?rendering=cpu`);
  await page.locator(`button[data-person="${personId}"]`).click();
  await page.waitForURL(`${gw.url}/`);
}

beforeAll(async () => {
  gw = await startGateway({
    env: { ASTREINTE_NOW: SUNDAY_0210, ASTREINTE_STABILITY_SECONDS: '1', ASTREINTE_ADMIN_PATIENT_ACCESS: 'true' },
  });
  sender = await gw.token('--role', 'sender', '--site', SAINT_GIRONS);
  browser = await launchChromium('cpu');
});

afterAll(async () => {
  await browser?.close();
  await gw?.dispose();
});

describe('the reading web app (CPU rendering)', () => {
  const slices = [...generateCtSeries({ kind: 'ct-head', slices: SLICES, rows: 128, columns: 128, seed: 'viewer-night', site: SITES['saint-girons'] })];
  const study = studyOf(slices[0]);

  it('serves its pages without a token, and its files compressed from the gateway itself', async () => {
    for (const page of ['/', '/sign-in', `/studies/${study}`]) {
      const res = await fetch(`${gw.url}${page}`);
      expect(res.status, page).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toMatch(/<script type="module"[^>]* src="\/assets\/index-[\w-]+\.js"/);
    }
    const html = await (await fetch(`${gw.url}/`)).text();
    const script = /src="(\/assets\/index-[\w-]+\.js)"/.exec(html)![1];
    const res = await fetch(`${gw.url}${script}`, { headers: { 'accept-encoding': 'br, gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-encoding')).toBe('br');
    expect(res.headers.get('cache-control')).toMatch(/immutable/);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self' 'wasm-unsafe-eval'/);
    // The APIs still want a token.
    expect((await fetch(`${gw.url}/api/worklist`)).status).toBe(401);
  });

  it('lets the on-call reader sign in, see the study arrive live, claim it, open it, scroll, window and measure', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // What the browser's console calls errors: a resource refused (a 401 for a favicon never declared) included.
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console: ${message.text()} (${message.location().url})`);
    });
    const requested: string[] = [];
    page.on('request', (request) => requested.push(new URL(request.url()).pathname + new URL(request.url()).search));
    try {
      await signInAs(page, `reader:${ON_CALL}`);
      await page.locator('.live[data-live="true"]').waitFor({ timeout: 10_000 });
      await screenshot(page, '01-worklist-empty');

      // The study is stored and routed while the page is open: it appears without a reload.
      const stored = await stow(gw.dicomweb, sender, slices);
      expect(stored.status).toBe(200);
      const row = page.locator(`tr.item[data-study="${study}"]`);
      await row.waitFor({ timeout: 15_000 });
      // Counted on the gateway's clock (Sunday 02:10 here), not the browser's: not overdue.
      await expect.poll(() => row.locator('td.countdown').textContent()).toMatch(/^(\d+ h )?\d+ min \d\d s$/);
      const countdownBefore = await row.locator('td.countdown').textContent();
      await expect.poll(() => row.locator('td.countdown').textContent(), { timeout: 5_000, message: 'the countdown runs' }).not.toBe(countdownBefore);
      expect(requested.some((p) => p.startsWith(`/dicomweb/studies/${study}/thumbnail`)), 'the thumbnail is asked for').toBe(true);
      await screenshot(page, '02-worklist-study-arrived');

      // Its priority badge says it in words (and a shape), not by colour alone.
      expect((await row.locator('td .badge').first().textContent())?.trim()).toMatch(/\p{L}{3,}/u);
      // The text filter hides what does not match and gives it back when cleared.
      const textFilter = page.locator('input[name="text"]');
      await textFilter.fill('aucun-site-de-ce-nom');
      await expect.poll(() => row.count()).toBe(0);
      await textFilter.fill('');
      await row.waitFor({ timeout: 5_000 });
      // Claimed with the keyboard: the first item is selected, `c` claims it.
      await page.evaluate('document.activeElement && document.activeElement.blur()');
      await page.keyboard.press('c');
      await expect.poll(() => row.locator('td.item-status').textContent(), { timeout: 10_000 }).toMatch(/En cours/);
      const token = await sessionTokenOf(page);
      const { items } = (await (await fetch(`${gw.url}/api/worklist`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        items: { studyInstanceUID: string; status: string; assignee: string }[];
      };
      expect(items.find((i) => i.studyInstanceUID === study)).toMatchObject({ status: 'IN PROGRESS', assignee: ON_CALL });
      await screenshot(page, '03-worklist-claimed');

      await row.locator('button.open').click();
      await page.waitForURL(`${gw.url}/studies/${study}`);
      await waitForRenders(page, 0);
      expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).astreinteReading!.rendering)).toBe('cpu');
      await expect.poll(async () => (await canvasStats(page)).nonBlack, { timeout: 10_000, message: 'the slice is drawn' }).toBeGreaterThan(0.05);
      const first = await canvasStats(page);
      // Claiming it got it ready (viewer/src/study-prefetch.ts): its series and metadata were asked for then, once.
      const metadataRequests = requested.filter((p) => p.startsWith(`/dicomweb/studies/${study}/series/`) && p.endsWith('/metadata'));
      expect(metadataRequests, 'the series metadata is asked for once').toHaveLength(1);
      // The other slices come in one Pixel Data request, read off the main thread, all cached for scrolling.
      await expect
        .poll(() => page.evaluate(() => (globalThis as unknown as PageGlobals).astreinteReading!.cachedCount()), { timeout: 20_000, message: 'every slice is cached' })
        .toBe(SLICES);
      const streamed = await page.evaluate(() => (globalThis as unknown as PageGlobals).astreinteReading!.streamedFrames);
      const frameRequests = requested.filter((p) => p.startsWith(`/dicomweb/studies/${study}/`) && p.includes('/frames/'));
      expect(streamed, 'frames that came in the series request').toBe(SLICES - frameRequests.length);
      expect(frameRequests.length, 'frames asked for one by one (the first slice shown)').toBeLessThanOrEqual(2);
      expect(await page.locator('.overlay.top-left').textContent()).toMatch(/ID /);
      expect(await page.locator('.overlay.bottom-left').textContent()).toMatch(new RegExp(`Coupe ${SLICES / 2 + 1}/${SLICES}`));
      await screenshot(page, '04-reading-first-image');

      // Scrolling changes the slice and what is drawn.
      const indexBefore = await page.evaluate(() => (globalThis as unknown as PageGlobals).astreinteReading!.imageIndex);
      await page.locator('.viewport:not(.prior)').click({ button: 'middle' });
      for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
      await expect.poll(() => page.evaluate(() => (globalThis as unknown as PageGlobals).astreinteReading!.imageIndex)).toBe(indexBefore + 3);
      const scrolled = await statsAfterChange(page, first);
      // `?` lists the shortcuts (every key the page answers, in French), `?` again or Escape hides the list.
      const help = page.locator('.help[role="dialog"]');
      expect(await help.isVisible()).toBe(false);
      await page.keyboard.press('?');
      await help.waitFor({ state: 'visible', timeout: 5_000 });
      expect(await help.locator('h2').textContent()).toBe('Raccourcis clavier');
      const keys = await help.locator('tbody th kbd').allTextContents();
      expect(keys).toEqual(expect.arrayContaining(['1–7', 'Home / End', 'I', 'Espace', 'H / V', 'R', 'C', 'M', 'P', 'T', '?']));
      await page.keyboard.press('Escape');
      await help.waitFor({ state: 'hidden', timeout: 5_000 });
      expect(scrolled.digest, 'another slice is drawn').not.toBe(first.digest);
      expect(scrolled.nonBlack).toBeGreaterThan(0.05);
      await screenshot(page, '05-reading-scrolled');

      // Presets: brain (1) then lung (5) give different pictures and the W/L shown.
      await page.keyboard.press('1');
      await expect.poll(() => page.evaluate(() => (globalThis as unknown as PageGlobals).astreinteReading!.window)).toEqual({ width: 80, center: 40 });
      const brain = await statsAfterChange(page, scrolled);
      await page.keyboard.press('5');
      await expect.poll(() => page.evaluate(() => (globalThis as unknown as PageGlobals).astreinteReading!.window)).toEqual({ width: 1500, center: -600 });
      const lung = await statsAfterChange(page, brain);
      expect(lung.digest).not.toBe(brain.digest);
      expect(Math.abs(lung.mean - brain.mean), 'the window changes the brightness').toBeGreaterThan(3);
      expect(await page.locator('.overlay.bottom-right').textContent()).toMatch(/W 1500 L -600/);
      expect((await readingLayout(page)).overlaps, 'overlay texts that overlap').toEqual([]);
      await screenshot(page, '06-reading-lung-window');

      // A length across 80 columns of known spacing.
      await page.keyboard.press('l');
      await dragWithMouse(page, await imageToClient(page, 20, 64), await imageToClient(page, 100, 64));
      const measurement = page.locator('.measurement').first();
      await measurement.waitFor({ timeout: 10_000 });
      const expected = 80 * PIXEL_SPACING_MM;
      const shown = async () => Number(/([\d.]+) mm/.exec((await measurement.textContent()) ?? '')?.[1]);
      await expect
        .poll(async () => Math.abs((await shown()) - expected), {
          timeout: 5_000,
          message: `${await measurement.textContent()}; handles ${JSON.stringify(
            await page.evaluate(() => (globalThis as unknown as PageGlobals).astreinteReading!.annotationHandles()),
          )}`,
        })
        .toBeLessThan(0.5); // under a third of a pixel: where the mouse lands is rounded
      await screenshot(page, '07-reading-length');

      // Sign-out forgets the token, and the study's decoded images with the document they were in.
      await page.locator('button.sign-out').click();
      await page.waitForURL(`${gw.url}/sign-in`);
      await page.locator('button[data-person]').first().waitFor();
      expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).sessionStorage.getItem('astreinte.session'))).toBeNull();
      expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).astreinteReading === undefined), 'a new document').toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('opens the same patient\'s prior side by side, scrolled together, and keeps the stack view where MPR needs WebGL', async () => {
    const prior = [
      ...generateCtSeries({ kind: 'ct-head', slices: SLICES, rows: 128, columns: 128, seed: 'viewer-night-prior', patient: patientFor('viewer-night'), site: SITES['saint-girons'] }),
    ];
    const priorStudy = studyOf(prior[0]);
    // The study itself was stored by the test above; sent again (identical bytes: stored already) so that this test stands alone.
    expect((await stow(gw.dicomweb, sender, slices)).status).toBe(200);
    expect((await stow(gw.dicomweb, sender, prior)).status).toBe(200);
    const reader = await gw.token('--role', 'reader', '--user', ON_CALL, '--rpps', ON_CALL);
    for (const uid of [study, priorStudy]) {
      await expect
        .poll(async () => {
          const res = await fetch(`${gw.dicomweb}/studies/${uid}/series`, { headers: { authorization: `Bearer ${reader}` } });
          return res.status === 200 ? ((await res.json()) as unknown[]).length : 0;
        }, { timeout: 15_000, message: 'both studies are routed to the on-call reader' })
        .toBe(1);
    }
    const context = await signedInContext(browser, { token: reader, role: 'reader', user: '10009000011', name: 'Dr Anne Roques' });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const probe = () => page.evaluate(() => (globalThis as unknown as PageGlobals).astreinteReading!);
    try {
      await page.goto(`${gw.url}/studies/${study}`);
      await waitForRenders(page, 0);
      await page.keyboard.press('p');
      await page
        .waitForFunction(() => ((globalThis as unknown as PageGlobals).astreinteReading?.prior?.renders ?? 0) > 0, undefined, { timeout: 20_000 })
        .catch(async (error: Error) => {
          throw new Error(`${error.message}; the page says: ${await page.locator('.status').first().textContent()}`);
        });
      expect((await probe()).prior!.study).toBe(priorStudy);
      await expect
        .poll(async () => (await canvasStats(page, '.viewport.prior canvas')).nonBlack, { timeout: 10_000, message: 'the prior is drawn' })
        .toBeGreaterThan(0.05);
      const before = (await probe()).prior!.imageIndex;
      for (let i = 0; i < 2; i++) await page.keyboard.press('ArrowUp');
      await expect.poll(async () => (await probe()).prior!.imageIndex, { timeout: 5_000, message: 'the prior scrolls with the study' }).toBe(before - 2);
      await screenshot(page, '08-reading-prior-side-by-side');
      // Side by side, every overlay text stays readable (none covers another) and the toolbar leaves the images their
      // height, on this screen, a laptop's, a desktop's and a narrow window's.
      for (const [width, height] of [[1400, 900], [1280, 800], [1920, 1080], [1024, 768]]) {
        if (width !== 1400) {
          const renders = (await probe()).renders;
          await page.setViewportSize({ width, height });
          await waitForRenders(page, renders);
          await screenshot(page, `08-reading-prior-side-by-side-${width}x${height}`);
        }
        const layout = await readingLayout(page);
        expect(layout.overlaps, `${width}×${height}: overlay texts that overlap`).toEqual([]);
        expect(layout.outside, `${width}×${height}: overlay texts outside their image`).toEqual([]);
        expect(layout.toolbarRows, `${width}×${height}: toolbar rows`).toBeLessThanOrEqual(width >= 1920 ? 1 : width >= 1280 ? 2 : 3);
        expect(layout.smallestButton, `${width}×${height}: toolbar buttons' height`).toBeGreaterThanOrEqual(32);
        if (width === 1280) {
          // A laptop: the images have half the width beside the report, nearly all of it with the report folded (T).
          expect(layout.stageWidth, '1280×800: the images\' width beside the report').toBeGreaterThanOrEqual(620);
          const renders = (await probe()).renders;
          await page.keyboard.press('t');
          await waitForRenders(page, renders);
          await screenshot(page, '08-reading-prior-side-by-side-1280x800-report-folded');
          const folded = await readingLayout(page);
          expect(folded.stageWidth, '1280×800: the images\' width, the report folded').toBeGreaterThanOrEqual(1000);
          expect(folded.overlaps, '1280×800 folded: overlay texts that overlap').toEqual([]);
          await page.keyboard.press('t');
          await expect.poll(async () => (await readingLayout(page)).stageWidth, { message: 'the report unfolded' }).toBe(layout.stageWidth);
        }
      }
      await page.setViewportSize({ width: 1400, height: 900 });
      await page.keyboard.press('p');
      await expect.poll(async () => (await probe()).prior).toBeUndefined();

      // Without WebGL there is no MPR: the page says why and the stack view stays.
      await page.keyboard.press('m');
      await expect.poll(() => page.locator('.reader .status').textContent()).toMatch(/WebGL/);
      expect((await probe()).mpr.open).toBe(false);
      // Closing the prior resized the study's viewport: it is drawn again on the next frame.
      await expect.poll(async () => (await canvasStats(page)).nonBlack, { timeout: 5_000, message: 'the study is drawn full width again' }).toBeGreaterThan(0.05);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('tells a reader the study is not theirs, and the APIs refuse it', async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    const page = await context.newPage();
    try {
      await signInAs(page, `reader:${NOT_ROUTED_READER}`);
      expect(await page.locator(`tr.item[data-study="${study}"]`).count()).toBe(0);
      await page.goto(`${gw.url}/studies/${study}`);
      const refusal = page.locator('.refusal');
      await refusal.waitFor({ timeout: 10_000 });
      expect(await refusal.textContent()).toMatch(/ne pouvez pas ouvrir cet examen/);
      await screenshot(page, '09-reading-refused');
      const token = await sessionTokenOf(page);
      const headers = { authorization: `Bearer ${token}` };
      const search = await fetch(`${gw.dicomweb}/studies/${study}/series`, { headers });
      expect([200, 204]).toContain(search.status);
      expect(search.status === 204 ? [] : await search.json(), 'a search leaves the study out').toEqual([]);
      expect((await fetch(`${gw.dicomweb}/studies/${study}/metadata`, { headers })).status).toBe(404);
    } finally {
      await context.close();
    }
  });

  it('draws compressed series: JPEG 2000, JPEG-LS, RLE and JPEG baseline', async () => {
    const admin = await gw.token('--role', 'admin', '--user', 'admin-test');
    const samples = ['JPEG2000.dcm', 'MR_small_jpeg_ls_lossless.dcm', 'SC_rgb_rle.dcm', 'SC_rgb_jpeg_dcmtk.dcm'];
    const files = await Promise.all(samples.map((name) => readFile(path.join(DICOM_SAMPLES, name))));
    const stored = await stow(gw.dicomweb, admin, files);
    expect(stored.status).toBe(200);
    const context = await signedInContext(browser, { token: admin, role: 'admin', user: 'admin-test', name: 'Admin' }, { viewport: { width: 1200, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    try {
      for (const [index, file] of files.entries()) {
        const studyUid = studyOf(file);
        const sop = dicomParser.parseDicom(file, { untilTag: 'x7fe00010' }).string('x00080018')!;
        await page.goto(`${gw.url}/studies/${studyUid}`);
        const seriesUid = dicomParser.parseDicom(file, { untilTag: 'x7fe00010' }).string('x0020000e')!;
        await page.waitForFunction(() => ((globalThis as unknown as PageGlobals).astreinteReading?.renders ?? 0) > 0, undefined, { timeout: 20_000 });
        if ((await page.evaluate(() => (globalThis as unknown as PageGlobals).astreinteReading!.seriesUid)) !== seriesUid) {
          const before = await page.evaluate(() => (globalThis as unknown as PageGlobals).astreinteReading!.renders);
          await page.locator(`li[data-series="${seriesUid}"] button`).click();
          await page.waitForFunction((uid) => (globalThis as unknown as PageGlobals).astreinteReading?.seriesUid === uid, seriesUid);
          await waitForRenders(page, before);
        }
        await expect
          .poll(async () => (await canvasStats(page)).nonBlack, { timeout: 10_000, message: `${samples[index]} (${sop}) is drawn` })
          .toBeGreaterThan(0.02);
        await screenshot(page, `10-compressed-${samples[index].replace(/\.dcm$/, '')}`);
      }
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe('the reading web app (WebGL through SwiftShader)', () => {
  let webgl: Browser;
  const slices = [...generateCtSeries({ kind: 'ct-head', slices: SLICES, rows: 128, columns: 128, seed: 'viewer-webgl', site: SITES['saint-girons'] })];
  const study = studyOf(slices[0]);

  beforeAll(async () => {
    webgl = await launchChromium('webgl');
    expect((await stow(gw.dicomweb, sender, slices)).status).toBe(200);
  });
  afterAll(async () => {
    await webgl?.close();
  });

  it('draws the stack with WebGL, plays cine, and opens MPR with three reformats', async () => {
    const reader = await gw.token('--role', 'reader', '--user', ON_CALL, '--rpps', ON_CALL);
    // Routed within a second or two of the last instance (stability 1 s).
    await expect
      .poll(async () => {
        const res = await fetch(`${gw.dicomweb}/studies/${study}/series`, { headers: { authorization: `Bearer ${reader}` } });
        return res.status === 200 ? ((await res.json()) as unknown[]).length : 0;
      }, { timeout: 15_000 })
      .toBe(1);
    const context = await signedInContext(webgl, { token: reader, role: 'reader', user: '10009000011', name: 'Dr Anne Roques' }, { rendering: 'auto' });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    try {
      await page.goto(`${gw.url}/studies/${study}?rendering=webgl`);
      await waitForRenders(page, 0);
      expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).astreinteReading!.rendering)).toBe('webgl');
      await expect.poll(async () => (await canvasStats(page)).nonBlack, { timeout: 10_000, message: 'the slice is drawn' }).toBeGreaterThan(0.05);
      const first = await canvasStats(page);
      await page.keyboard.press('5');
      const lung = await statsAfterChange(page, first);
      expect(lung.digest, 'the lung window changes the picture').not.toBe(first.digest);
      await screenshot(page, '11-webgl-stack-lung');

      const index = await page.evaluate(() => (globalThis as unknown as PageGlobals).astreinteReading!.imageIndex);
      await page.keyboard.press('c');
      await expect.poll(() => page.evaluate(() => (globalThis as unknown as PageGlobals).astreinteReading!.imageIndex), { timeout: 5_000, message: 'cine scrolls' }).not.toBe(index);
      await page.keyboard.press('c');

      await openMprDrawn(page);
      await screenshot(page, '12-webgl-mpr');
      await page.keyboard.press('m');
      await expect.poll(async () => (await canvasStats(page)).nonBlack, { timeout: 10_000, message: 'back to the stack' }).toBeGreaterThan(0.05);

      // Back to the worklist and into the study again: the tab's one rendering engine (kept warm between studies)
      // draws the stack and the reformats a second time; the warm-up's hidden viewport is gone.
      await page.locator('a.back').click();
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).astreinteWorklist?.readingReady === true, undefined, { timeout: 15_000 });
      await page.locator(`tr.item[data-study="${study}"] button.open`).click();
      await page.waitForFunction(() => ((globalThis as unknown as PageGlobals).astreinteReading?.firstImageMs ?? -1) >= 0, undefined, { timeout: 15_000 });
      await expect.poll(async () => (await canvasStats(page)).nonBlack, { timeout: 10_000, message: 'the study is drawn again' }).toBeGreaterThan(0.05);
      expect(await page.locator('[data-viewport="warm-up"]').count()).toBe(0);
      await openMprDrawn(page);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

/** Presses M and waits until the three reformats have rendered and each canvas shows the volume. */
async function openMprDrawn(page: Page): Promise<void> {
  await page.keyboard.press('m');
  await page.waitForFunction(
    () => {
      const mpr = (globalThis as unknown as PageGlobals).astreinteReading?.mpr;
      return Boolean(mpr?.open && ['mpr-axial', 'mpr-coronal', 'mpr-sagittal'].every((id) => (mpr.renders[id] ?? 0) > 0));
    },
    undefined,
    { timeout: 30_000 },
  );
  for (const id of ['mpr-axial', 'mpr-coronal', 'mpr-sagittal']) {
    await expect
      .poll(async () => (await canvasStats(page, `.mpr-viewport[data-viewport="${id}"] canvas`)).nonBlack, { timeout: 15_000, message: `${id} is drawn` })
      .toBeGreaterThan(0.02);
  }
}
