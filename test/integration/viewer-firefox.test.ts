/**
 * The reading web app in Firefox (Debian's firefox-esr, headless, driven by puppeteer-core over WebDriver BiDi)
 * against a real gateway on the Midi-Pyrénées region, Sunday 2026-11-22 02:10: the Ariège on-call radiologist
 * signs in on the embedded sign-in page, sees a head CT from CH Saint-Girons routed to her, opens it, changes
 * the window and scrolls. Headless Firefox has no WebGL on this kind of machine: the app falls back to
 * Cornerstone's CPU rendering by itself (viewer/src/cornerstone-setup.ts), without `?rendering=cpu`.
 * Assertions are on the canvas's pixels. Screenshots: .tmp/screenshots/firefox-*.png.
 */
import dicomParser from 'dicom-parser';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCtSeries, SITES } from '../../test-data/generate-study.ts';
import { canvasStats, launchFirefox, screenshot, type CanvasStats, type Firefox, type PageGlobals } from '../support/browser.ts';
import { stow } from '../support/dicomweb-http.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const SAINT_GIRONS = '090000050';
const ON_CALL = '10009000011';
const SUNDAY_0210 = '2026-11-22T02:10:00+01:00';
const SLICES = 12;

let gw: GatewayProcess;
let firefox: Firefox;
let sender: string;

function studyOf(file: Buffer): string {
  return dicomParser.parseDicom(file, { untilTag: 'x7fe00010' }).string('x0020000d')!;
}

/** Waits until the canvas shows something other than `previous` (Cornerstone draws on the next frame). */
async function statsAfterChange(page: Page, previous: CanvasStats): Promise<CanvasStats> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const stats = await canvasStats(page);
    if (stats.digest !== previous.digest || Date.now() > deadline) return stats;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function probe(page: Page) {
  return page.evaluate(() => {
    const reading = (globalThis as unknown as PageGlobals).astreinteReading!;
    return { renders: reading.renders, imageIndex: reading.imageIndex, imageCount: reading.imageCount, window: reading.window, rendering: reading.rendering };
  });
}

beforeAll(async () => {
  gw = await startGateway({ env: { ASTREINTE_NOW: SUNDAY_0210, ASTREINTE_STABILITY_SECONDS: '1' } });
  sender = await gw.token('--role', 'sender', '--site', SAINT_GIRONS);
  firefox = await launchFirefox();
});

afterAll(async () => {
  await firefox?.close();
  await gw?.dispose();
});

describe('the reading web app in Firefox (WebDriver BiDi)', () => {
  const slices = [...generateCtSeries({ kind: 'ct-head', slices: SLICES, rows: 128, columns: 128, seed: 'viewer-firefox', site: SITES['saint-girons'] })];
  const study = studyOf(slices[0]);

  it('signs the on-call reader in, lists the routed study, opens it and draws it (CPU rendering without WebGL), windows and scrolls', async () => {
    expect((await stow(gw.dicomweb, sender, slices)).status).toBe(200);
    const page = await firefox.browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error instanceof Error ? error.message : String(error)));
    try {
      // What this Firefox offers: no WebGL headless here, hence Cornerstone's CPU path.
      await page.goto(`${gw.url}/sign-in`);
      const webgl = await page.evaluate(`Boolean(document.createElement('canvas').getContext('webgl2'))`);
      const userAgent = String(await page.evaluate('navigator.userAgent'));
      expect(userAgent).toMatch(/Firefox\/\d+/);

      // The embedded sign-in page: a click on the on-call reader.
      await page.locator(`button[data-person="reader:${ON_CALL}"]`).click();
      await page.waitForFunction(`location.pathname === '/'`, { timeout: 10_000 });
      await page.waitForSelector('.live[data-live="true"]', { timeout: 10_000 });

      // Routed within a second or two of the last instance (stability 1 s): it appears in the worklist.
      const row = `tr.item[data-study="${study}"]`;
      await page.waitForSelector(row, { timeout: 20_000 });
      await screenshot(page, 'firefox-01-worklist');

      await page.locator(`${row} button.open`).click();
      await page.waitForFunction(`location.pathname === ${JSON.stringify(`/studies/${study}`)}`, { timeout: 10_000 });
      await page.waitForFunction(() => ((globalThis as unknown as PageGlobals).astreinteReading?.renders ?? 0) > 0, { timeout: 30_000 });
      const opened = await probe(page);
      expect(opened.rendering).toBe(webgl ? 'webgl' : 'cpu');
      console.log(`Firefox ${userAgent}: WebGL 2 ${webgl ? 'available' : 'missing'}, the reading page drew with ${opened.rendering}`);
      expect(opened.imageCount).toBe(SLICES);
      await expect.poll(async () => (await canvasStats(page)).nonBlack, { timeout: 10_000, message: 'the slice is drawn' }).toBeGreaterThan(0.05);
      const first = await canvasStats(page);
      expect(first.width).toBeGreaterThan(100);
      expect(await page.$eval('.overlay.bottom-left', (element) => element.textContent)).toMatch(new RegExp(`Coupe ${SLICES / 2 + 1}/${SLICES}`));
      await screenshot(page, 'firefox-02-reading-first-image');

      // Window presets: brain (1) then lung (5) give different pictures.
      await page.locator('.viewport:not(.prior)').click({ button: 'middle' });
      await page.keyboard.press('1');
      await expect.poll(async () => (await probe(page)).window).toEqual({ width: 80, center: 40 });
      const brain = await statsAfterChange(page, first);
      await page.keyboard.press('5');
      await expect.poll(async () => (await probe(page)).window).toEqual({ width: 1500, center: -600 });
      const lung = await statsAfterChange(page, brain);
      expect(lung.digest, 'the lung window changes the picture').not.toBe(brain.digest);
      expect(Math.abs(lung.mean - brain.mean), 'the window changes the brightness').toBeGreaterThan(3);
      expect(await page.$eval('.overlay.bottom-right', (element) => element.textContent)).toMatch(/W 1500 L -600/);
      await screenshot(page, 'firefox-03-reading-lung-window');

      // Scrolling to another slice changes what is drawn.
      const indexBefore = (await probe(page)).imageIndex;
      for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
      await expect.poll(async () => (await probe(page)).imageIndex).toBe(indexBefore + 3);
      const scrolled = await statsAfterChange(page, lung);
      expect(scrolled.digest, 'another slice is drawn').not.toBe(lung.digest);
      expect(scrolled.nonBlack).toBeGreaterThan(0.05);
      await screenshot(page, 'firefox-04-reading-scrolled');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
