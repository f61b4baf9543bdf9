/**
 * Debian's Chromium driven by playwright-core, headless. Cornerstone's CPU path is reached by the page's own
 * setting (`?rendering=cpu`): Chromium on this kind of machine still gives WebGL 2 through SwiftShader even with
 * --disable-gpu (../shared/reference/cornerstone3d-viewer.md). The WebGL path uses SwiftShader explicitly.
 * Debian's Firefox ESR driven by puppeteer-core over WebDriver BiDi (Playwright only drives its own patched
 * Firefox build), headless: it has no WebGL on this kind of machine, so the app takes Cornerstone's CPU path itself.
 */
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import puppeteer, { type Browser as PuppeteerBrowser } from 'puppeteer-core';

const repoRoot = path.resolve(import.meta.dirname, '../..');
export const SCREENSHOT_DIR = path.join(repoRoot, '.tmp', 'screenshots');

export type RenderPath = 'cpu' | 'webgl';

/** What the reading page exposes for tests (viewer/src/reading-page.ts, ReadingProbe). */
export interface ReadingProbe {
  renders: number;
  firstImageMs?: number;
  imageIndex: number;
  imageCount: number;
  window?: { width: number; center: number };
  rendering: 'cpu' | 'webgl';
  seriesUid?: string;
  sopInstanceUid?: string;
  mpr: { open: boolean; renders: Record<string, number> };
  prior?: { study: string; renders: number; imageIndex: number };
  imageToClient(column: number, row: number): [number, number] | undefined;
  streamedFrames?: number;
  cachedCount(): number;
  annotationHandles(): { tool: string; points: [number, number][] }[];
  measurements(): { tool: string; points: [number, number][]; stats?: MeasurementStats; settled: boolean }[];
}

/** A tool's statistics as the probe gives them (viewer/src/reading-page.ts, StatsEntry). */
export interface MeasurementStats {
  length?: number;
  angle?: number;
  mean?: number;
  stdDev?: number;
  min?: number;
  max?: number;
  area?: number;
  unit?: string;
  areaUnit?: string;
  modalityUnit?: string;
}

/**
 * The page's globals, for functions run in the page with page.evaluate (the project's type-check has no DOM
 * library): `(globalThis as unknown as PageGlobals).astreinteReading`.
 */
export interface PageGlobals {
  astreinteReading?: ReadingProbe;
  /** The worklist page's: whether it has loaded and warmed the reading page up (viewer/src/main.ts). */
  astreinteWorklist?: { readingReady: boolean };
  sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void };
}

/** What the web app keeps in the tab's sessionStorage once signed in (viewer/src/session.ts). */
export interface TestSession {
  token: string;
  role: string;
  user: string;
  name: string;
}

/**
 * A browser context already signed in as `session` (the sign-in page itself is proven by its own tests), with
 * Cornerstone's CPU path chosen unless `rendering` says to let the app decide.
 */
export async function signedInContext(
  browser: Browser,
  session: TestSession,
  options: { viewport?: { width: number; height: number }; rendering?: 'cpu' | 'auto' } = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1400, height: 900 } });
  await context.addInitScript(
    ([stored, cpu]) => {
      const storage = (globalThis as unknown as PageGlobals).sessionStorage;
      storage.setItem('astreinte.session', stored);
      if (cpu) storage.setItem('astreinte.rendering', 'cpu');
    },
    [JSON.stringify(session), (options.rendering ?? 'cpu') === 'cpu'] as const,
  );
  return context;
}

/** The bearer token of the session the page holds (Playwright's page or Puppeteer's). */
export async function sessionTokenOf(page: EvaluatingPage): Promise<string> {
  return (await page.evaluate(`JSON.parse(sessionStorage.getItem('astreinte.session')).token`)) as string;
}

export async function launchChromium(renderPath: RenderPath): Promise<Browser> {
  const args =
    renderPath === 'cpu'
      ? ['--disable-gpu', '--no-sandbox']
      : ['--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--no-sandbox'];
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args });
}

export interface Firefox {
  browser: PuppeteerBrowser;
  /** Where the browser saves what it downloads, without asking. */
  downloads: string;
  /** Closes the browser and removes its private profile. */
  close(): Promise<void>;
}

/**
 * Debian's Firefox ESR (firefox-esr), headless, with a private profile under the system's temporary folder.
 * Runs as root as it is. Its background services (Remote Settings, telemetry, updates) are pointed nowhere.
 * Downloads go to `downloads` without a dialog (Puppeteer has no download event over WebDriver BiDi).
 */
export async function launchFirefox(): Promise<Firefox> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'astreinte-firefox-'));
  const downloads = path.join(profile, 'downloads');
  try {
    await mkdir(downloads);
    const browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr',
      headless: true,
      protocol: 'webDriverBiDi',
      userDataDir: profile,
      extraPrefsFirefox: {
        'services.settings.server': 'http://127.0.0.1:9/',
        'app.update.disabledForTesting': true,
        'toolkit.telemetry.enabled': false,
        'datareporting.healthreport.uploadEnabled': false,
        'network.captive-portal-service.enabled': false,
        'network.connectivity-service.enabled': false,
        'browser.download.folderList': 2,
        'browser.download.dir': downloads,
        'browser.download.useDownloadDir': true,
        'browser.download.start_downloads_in_tmp_dir': false,
        'browser.download.always_ask_before_handling_new_types': false,
        'browser.helperApps.neverAsk.saveToDisk': 'text/csv',
      },
    });
    return {
      browser,
      downloads,
      async close() {
        await browser.close().catch(() => undefined);
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}

/** What the helpers below need of a page: Playwright's and Puppeteer's both fit. */
export interface ScreenshotPage {
  screenshot(options: { path: string; fullPage?: boolean }): Promise<unknown>;
}
export interface EvaluatingPage {
  evaluate(expression: string): Promise<unknown>;
}
export interface MousePage extends EvaluatingPage {
  mouse: { move(x: number, y: number, options?: { steps?: number }): Promise<void>; down(): Promise<void>; up(): Promise<void> };
}

/** Where the reading page draws the image pixel (column, row) of its main viewport, in client coordinates. */
export async function imageToClient(page: EvaluatingPage, column: number, row: number): Promise<[number, number]> {
  const point = (await page.evaluate(`globalThis.astreinteReading.imageToClient(${column}, ${row})`)) as [number, number] | undefined;
  if (!point) throw new Error(`image point ${column},${row} is not on screen`);
  return point;
}

/** Presses the left button at `from`, moves to `to` in steps (as a hand would), releases. */
export async function dragWithMouse(page: MousePage, from: [number, number], to: [number, number]): Promise<void> {
  await page.mouse.move(...from);
  await page.mouse.down();
  await page.mouse.move((from[0] + to[0]) / 2, (from[1] + to[1]) / 2, { steps: 5 });
  await page.mouse.move(...to, { steps: 5 });
  await page.mouse.up();
}

export interface Measurement {
  tool: string;
  points: [number, number][];
  stats: MeasurementStats;
}

/** The latest annotation of `tool` once drawn to the end and its `key` computed from its final handles. */
export async function settledMeasurement(page: EvaluatingPage, tool: string, key: keyof MeasurementStats): Promise<Measurement> {
  let last: { tool: string; points: [number, number][]; stats?: MeasurementStats; settled: boolean } | undefined;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const all = (await page.evaluate('globalThis.astreinteReading.measurements()')) as NonNullable<typeof last>[];
    last = all.filter((m) => m.tool === tool).at(-1);
    const value = last?.stats?.[key];
    if (last?.settled && typeof value === 'number' && Number.isFinite(value)) return last as Measurement;
    if (Date.now() > deadline) throw new Error(`${tool} is not completed with its ${key} computed: ${JSON.stringify(last)}; all: ${JSON.stringify(all)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What the report panel exposes for tests (viewer/src/report-panel.ts, ReportProbe). */
export interface ReportProbe {
  itemId?: string;
  revision: number;
  saves: number;
  state: 'none' | 'claim-first' | 'draft' | 'signed';
}

export async function reportProbe(page: EvaluatingPage): Promise<ReportProbe | undefined> {
  return (await page.evaluate('globalThis.astreinteReport')) as ReportProbe | undefined;
}

/** Saves a screenshot of the page as a test artifact (.tmp/screenshots/<name>.png) and returns its path. */
export async function screenshot(page: ScreenshotPage, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: options.fullPage ?? false });
  return file;
}

export interface CanvasStats {
  width: number;
  height: number;
  /** Share of pixels brighter than near-black. */
  nonBlack: number;
  /** Mean luminance 0-255. */
  mean: number;
  /** FNV-1a of the pixels: two different images give different digests. */
  digest: string;
}

export interface ReadingLayout {
  /** Pairs of the stage's overlay texts (corners, orientation markers, the prior's label) whose boxes intersect. */
  overlaps: string[];
  /** Overlay texts not inside their viewport's box (the prior's label in the prior's, the others in the study's). */
  outside: string[];
  toolbarRows: number;
  toolbarHeight: number;
  /** Height of the toolbar's smallest button, px. */
  smallestButton: number;
  /** Width of the images' area (both viewports when the prior is beside the study), px. */
  stageWidth: number;
}

/** The reading page's layout as drawn: what a reader could not read, and how much height the toolbar takes. */
export async function readingLayout(page: EvaluatingPage): Promise<ReadingLayout> {
  return (await page.evaluate(`(() => {
    const shown = [...document.querySelectorAll('.stage .overlay, .stage .marker')].filter((e) => e.getClientRects().length > 0 && e.textContent.trim());
    const name = (e) => e.className.replace(/\b(overlay|marker) /, '');
    const boxes = shown.map((e) => ({ name: name(e), box: e.getBoundingClientRect(), prior: e.classList.contains('prior-label') }));
    const overlaps = [];
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) {
        if (a.box.left < b.box.right && b.box.left < a.box.right && a.box.top < b.box.bottom && b.box.top < a.box.bottom) overlaps.push(a.name + ' × ' + b.name);
      }
    }
    const main = document.querySelector('.viewport:not(.prior)').getBoundingClientRect();
    const prior = document.querySelector('.viewport.prior')?.getBoundingClientRect();
    const inside = (box, around) => box.left >= around.left - 0.5 && box.right <= around.right + 0.5 && box.top >= around.top - 0.5 && box.bottom <= around.bottom + 0.5;
    const outside = boxes.filter((b) => !inside(b.box, b.prior ? prior : main)).map((b) => b.name);
    const buttons = [...document.querySelectorAll('.tools button')].map((b) => b.getBoundingClientRect());
    return {
      overlaps,
      outside,
      toolbarRows: new Set(buttons.map((b) => Math.round(b.top))).size,
      toolbarHeight: Math.round(document.querySelector('.tools').getBoundingClientRect().height),
      smallestButton: Math.min(...buttons.map((b) => b.height)),
      stageWidth: Math.round(document.querySelector('.stage').getBoundingClientRect().width),
    };
  })()`)) as ReadingLayout;
}

/** How many pixels of the focused field the report panel's sticky sign bar covers (0: none, or no bar). */
export async function focusedUnderSignBar(page: EvaluatingPage): Promise<number> {
  return (await page.evaluate(`(() => {
    const bar = [...document.querySelectorAll('.report-panel .sign-bar')].at(-1);
    const field = document.activeElement;
    if (!bar || !field || bar.contains(field)) return 0;
    return Math.max(0, Math.round(field.getBoundingClientRect().bottom - bar.getBoundingClientRect().top));
  })()`)) as number;
}

/** What the viewport's canvas holds, read from its pixels in the page. */
export async function canvasStats(page: EvaluatingPage, selector = '.viewport:not(.prior) canvas'): Promise<CanvasStats> {
  // A string, run in the page: the DOM's types are not the project's (Node) types.
  return (await page.evaluate(`(() => {
    const canvas = document.querySelector(${JSON.stringify(selector)});
    if (!canvas) throw new Error('no canvas at ' + ${JSON.stringify(selector)});
    const copy = document.createElement('canvas');
    copy.width = canvas.width;
    copy.height = canvas.height;
    const context = copy.getContext('2d');
    context.drawImage(canvas, 0, 0);
    const data = context.getImageData(0, 0, copy.width, copy.height).data;
    let nonBlack = 0;
    let sum = 0;
    let hash = 0x811c9dc5;
    for (let i = 0; i < data.length; i += 4) {
      const luminance = (data[i] + data[i + 1] + data[i + 2]) / 3;
      sum += luminance;
      if (luminance > 8) nonBlack += 1;
      hash = Math.imul(hash ^ data[i], 0x01000193) >>> 0;
      hash = Math.imul(hash ^ data[i + 1], 0x01000193) >>> 0;
      hash = Math.imul(hash ^ data[i + 2], 0x01000193) >>> 0;
    }
    const pixels = data.length / 4;
    return { width: copy.width, height: copy.height, nonBlack: nonBlack / pixels, mean: sum / pixels, digest: hash.toString(16) };
  })()`)) as CanvasStats;
}

/** The text of the file `name` once the browser has finished downloading it into `folder` (no `.part` left). */
export async function downloadedText(folder: string, name: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const files = await readdir(folder);
    if (files.includes(name) && !files.some((f) => f.endsWith('.part'))) return readFile(path.join(folder, name), 'utf8');
    if (Date.now() > deadline) throw new Error(`${name} not downloaded into ${folder}: ${files.join(', ') || 'nothing'}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
