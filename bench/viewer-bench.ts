/**
 * The reading web app, measured in Debian's Chromium (headless, WebGL through SwiftShader) against a real gateway
 * on loopback:
 * - time to first image the way OHIF measures it (STUDY_TO_FIRST_IMAGE: from the request for the series metadata
 *   to the first rendered image), and from the page's navigation to that image, over 20 opens of a CT series;
 * - the time until every slice of the series is cached (scrollable end to end without a request);
 * - the page's own JavaScript and CSS as served compressed, and the time the gateway takes to serve them.
 * `npm run bench:viewer` runs it alone; `npm run bench` runs it after the DICOMweb benchmarks (BENCH_VIEWER=0 skips).
 * - OHIF's prebuilt viewer (`@ohif/app`, bench/ohif-viewer.ts) on the same study in the same run, by its own
 *   STUDY_TO_FIRST_IMAGE timer; ours must be at most half of it (the ratio is printed, not enforced).
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generateCtSeries, SITES } from '../test-data/generate-study.ts';
import { launchChromium, type PageGlobals } from '../test/support/browser.ts';
import { instanceUids, stow } from './dicomweb-driver.ts';
import { mintToken, startGateway } from './gateway-peer.ts';
import { obtainOhif, OHIF_VERSION, startOhif, timeOhifOpens } from './ohif-viewer.ts';
import { formatNumber, percentile } from './stats.ts';

const run = promisify(execFile);
/** The Ariège on-call reader of config/examples/midi-pyrenees.yaml on Sunday night. */
const ON_CALL = '10009000011';

export interface ViewerRun {
  slices: number;
  rows: number;
  opens: number;
  renderPath: string;
  /** OHIF's STUDY_TO_FIRST_IMAGE, milliseconds. */
  firstImage: { p50: number; p95: number };
  /** OHIF's own viewer on the same study in the same run: its STUDY_TO_FIRST_IMAGE, milliseconds. */
  ohif: { version: string; firstImage: { p50: number; p95: number }; oursOverOhifP50: number; oursOverOhifP95: number };
  /** From the page's navigation start to the first image, milliseconds. */
  navigationToFirstImage: { p50: number; p95: number };
  /** From the click on the worklist item to the first image (the on-call reader's view), milliseconds. */
  clickToFirstImage: { p50: number; p95: number };
  /** From the worklist item shown to the reading page warmed up (Cornerstone started, shaders compiled). */
  warmUp: { p50: number; p95: number };
  /** The same click, once the page has warmed up. */
  warmClickToFirstImage: { p50: number; p95: number };
  /** From the series metadata request until every slice is cached, milliseconds. */
  wholeSeriesCached: { p50: number; p95: number; max: number };
  /** The app's own files, compressed as served (brotli), bytes. */
  bundle: { worklistPage: number; readingPage: number; decodeWorker: number; codecs: number };
  /** Serving the worklist page's script (brotli), milliseconds over 50 requests. */
  serveScript: { p50: number; p95: number };
  /** 1-minute load average when the run ended, and the CPUs: other work makes the figures noisy. */
  load: { average: number; cpus: number };
}

export async function benchViewer(repoRoot: string, workDir: string, quick: boolean): Promise<ViewerRun> {
  await run(process.execPath, [path.join(repoRoot, 'scripts/build-viewer.mjs'), '--if-stale'], { cwd: repoRoot });
  const slices = quick ? 60 : 300;
  const rows = 512;
  const opens = quick ? 5 : 20;
  // Sunday 02:10 on the example region: a study from CH Saint-Girons (the bench's sending site) goes to the Ariège
  // on-call reader a second after its last instance, so the worklist can be measured too.
  const saved = { now: process.env.ASTREINTE_NOW, stability: process.env.ASTREINTE_STABILITY_SECONDS };
  process.env.ASTREINTE_NOW = '2026-11-22T02:10:00+01:00';
  process.env.ASTREINTE_STABILITY_SECONDS = '1';
  const dataDir = path.join(workDir, 'viewer-gateway');
  const server = await startGateway(repoRoot, dataDir, 4).finally(() => {
    for (const [name, value] of [['ASTREINTE_NOW', saved.now], ['ASTREINTE_STABILITY_SECONDS', saved.stability]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  const ohifDist = await obtainOhif(repoRoot);
  const browser = await launchChromium('webgl');
  try {
    const instances = [...generateCtSeries({ kind: 'ct-head', slices, rows, columns: rows, seed: 'viewer-bench', site: SITES['saint-girons'] })];
    for (let i = 0; i < instances.length; i += 25) {
      await stow(server.target, instances.slice(i, i + 25)); // throws unless every instance is stored
    }
    const { study } = instanceUids(instances[0]);
    const origin = server.target.root.replace(/\/dicomweb$/, '');
    const token = (server.target.headers.authorization ?? '').replace(/^Bearer /, '');
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.addInitScript((value) => {
      (globalThis as unknown as PageGlobals).sessionStorage.setItem('astreinte.session', JSON.stringify({ token: value, role: 'sender', user: 'bench', name: 'Bench' }));
    }, token);
    const firstImage: number[] = [];
    const navigation: number[] = [];
    const cached: number[] = [];
    // One warm-up open (the browser's cache of the app's immutable files fills, as for a reader's second study).
    for (let open = -1; open < opens; open++) {
      const page = await context.newPage();
      await page.goto(`${origin}/studies/${study}`);
      await page.waitForFunction(() => (globalThis as unknown as PageGlobals).astreinteReading?.firstImageMs !== undefined, undefined, { timeout: 60_000 });
      await page.waitForFunction(
        (count) => (globalThis as unknown as PageGlobals).astreinteReading?.cachedCount() === count,
        slices,
        { timeout: 120_000, polling: 20 },
      );
      const timing = (await page.evaluate(`(() => {
        const probe = globalThis.astreinteReading;
        return { first: probe.firstImageMs, requested: probe.metadataRequestedAt, now: performance.now() };
      })()`)) as { first: number; requested: number; now: number };
      if (open >= 0) {
        firstImage.push(timing.first);
        navigation.push(timing.requested + timing.first);
        cached.push(timing.now - timing.requested);
      }
      await page.close();
    }
    await context.close();

    // The on-call reader's path: the worklist, a click on the study, its first slice.
    const reader = await mintToken(repoRoot, dataDir, '--role', 'reader', '--user', ON_CALL, '--rpps', ON_CALL);
    const readerContext = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await readerContext.addInitScript((value) => {
      (globalThis as unknown as PageGlobals).sessionStorage.setItem('astreinte.session', JSON.stringify({ token: value, role: 'reader', user: 'bench', name: 'Bench' }));
    }, reader);
    // Clicked as soon as the button shows (the reading page's code still arriving and starting), then as a reader
    // does who reads the list for a moment: once the page has warmed the reading page up (main.ts).
    const clicks: number[] = [];
    const warmClicks: number[] = [];
    const warmUps: number[] = [];
    for (let open = -1; open < opens; open++) {
      for (const warm of [false, true]) {
        const page = await readerContext.newPage();
        await page.goto(`${origin}/`);
        const openButton = page.locator(`tr.item[data-study="${study}"] button.open`);
        await openButton.waitFor({ timeout: 60_000 });
        const listedAt = (await page.evaluate('performance.now()')) as number;
        if (warm) {
          await page.waitForFunction(() => (globalThis as unknown as PageGlobals).astreinteWorklist?.readingReady === true, undefined, { timeout: 60_000, polling: 10 });
        }
        const clickedAt = (await page.evaluate('performance.now()')) as number;
        await openButton.click();
        await page.waitForFunction(() => (globalThis as unknown as PageGlobals).astreinteReading?.firstImageMs !== undefined, undefined, { timeout: 60_000 });
        const shownAt = (await page.evaluate('globalThis.astreinteReading.metadataRequestedAt + globalThis.astreinteReading.firstImageMs')) as number;
        if (open >= 0) {
          (warm ? warmClicks : clicks).push(shownAt - clickedAt);
          if (warm) warmUps.push(clickedAt - listedAt);
        }
        await page.close();
      }
    }
    await readerContext.close();

    // OHIF's viewer, the same study, the same principal, the same browser.
    const ohif = await startOhif(ohifDist, server.target.root);
    const ohifTimes = await timeOhifOpens(browser, ohif, study, token, opens).finally(() => ohif.close());
    const ohifFirst = { p50: percentile(ohifTimes, 50), p95: percentile(ohifTimes, 95) };

    const html = await (await fetch(`${origin}/`)).text();
    const script = /src="(\/assets\/index-[\w-]+\.js)"/.exec(html)?.[1];
    if (!script) throw new Error('no script in the served page');
    const serve: number[] = [];
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      const res = await fetch(`${origin}${script}`, { headers: { 'accept-encoding': 'br' } });
      await res.arrayBuffer();
      serve.push(performance.now() - started);
    }
    return {
      slices,
      rows,
      opens,
      renderPath: 'WebGL (SwiftShader, headless Chromium)',
      firstImage: { p50: percentile(firstImage, 50), p95: percentile(firstImage, 95) },
      ohif: {
        version: OHIF_VERSION,
        firstImage: ohifFirst,
        oursOverOhifP50: percentile(firstImage, 50) / ohifFirst.p50,
        oursOverOhifP95: percentile(firstImage, 95) / ohifFirst.p95,
      },
      navigationToFirstImage: { p50: percentile(navigation, 50), p95: percentile(navigation, 95) },
      clickToFirstImage: { p50: percentile(clicks, 50), p95: percentile(clicks, 95) },
      warmUp: { p50: percentile(warmUps, 50), p95: percentile(warmUps, 95) },
      warmClickToFirstImage: { p50: percentile(warmClicks, 50), p95: percentile(warmClicks, 95) },
      wholeSeriesCached: { p50: percentile(cached, 50), p95: percentile(cached, 95), max: Math.max(...cached) },
      bundle: bundleSizes(path.join(repoRoot, 'viewer/dist/assets')),
      serveScript: { p50: percentile(serve, 50), p95: percentile(serve, 95) },
      load: { average: os.loadavg()[0], cpus: os.availableParallelism() },
    };
  } finally {
    await browser.close();
    await server.stop();
  }
}

function bundleSizes(assets: string): ViewerRun['bundle'] {
  const size = (pattern: RegExp) =>
    readdirSync(assets)
      .filter((name) => pattern.test(name))
      .reduce((sum, name) => sum + statSync(path.join(assets, name)).size, 0);
  return {
    worklistPage: size(/^index-.*\.(js|css)\.br$/),
    // The reading page and Cornerstone3D (its own chunk: the worklist starts it when the reader points at a study).
    readingPage: size(/^(reading-page|cornerstone-setup)-.*\.(js|css)\.br$/),
    decodeWorker: size(/^decodeImageFrameWorker-.*\.js\.br$/),
    codecs: size(/\.wasm\.br$/),
  };
}

export function viewerMarkdown(result: ViewerRun, date: string): string {
  const ms = (value: number) => `${formatNumber(value)} ms`;
  const kb = (bytes: number) => `${formatNumber(bytes / 1000)} kB`;
  return `# Benchmarks: the reading web app

Run of ${date} by \`npm run bench\` (or \`npm run bench:viewer\`), bench/viewer-bench.ts. ${result.renderPath};
a ${result.slices}-slice CT series of ${result.rows}×${result.rows} (uncompressed) on loopback, opened ${result.opens} times
(after one warm-up open); 1-minute load average ${result.load.average.toFixed(1)} on ${result.load.cpus} CPUs at the end.
OHIF ${result.ohif.version} (the prebuilt viewer of the npm package \`@ohif/app\`, served as is from its own loopback
origin, uncompressed, DICOMweb data source on the gateway, same study, same token, same browser) in the same run.

| measure | p50 | p95 |
| --- | --- | --- |
| time to first image (OHIF's STUDY_TO_FIRST_IMAGE: series metadata request → first rendered image) | ${ms(result.firstImage.p50)} | ${ms(result.firstImage.p95)} |
| OHIF ${result.ohif.version}, same measure by its own timer | ${ms(result.ohif.firstImage.p50)} | ${ms(result.ohif.firstImage.p95)} |
| ours ÷ OHIF (goal: at most 0.5) | ${result.ohif.oursOverOhifP50.toFixed(2)} | ${result.ohif.oursOverOhifP95.toFixed(2)} |
| page navigation → first image | ${ms(result.navigationToFirstImage.p50)} | ${ms(result.navigationToFirstImage.p95)} |
| click on the worklist item → first image, clicked as soon as it shows | ${ms(result.clickToFirstImage.p50)} | ${ms(result.clickToFirstImage.p95)} |
| worklist item shown → reading page warmed up (Cornerstone started, a slice drawn out of sight) | ${ms(result.warmUp.p50)} | ${ms(result.warmUp.p95)} |
| click on the worklist item → first image, clicked once warmed up (on-call reader reading the list) | ${ms(result.warmClickToFirstImage.p50)} | ${ms(result.warmClickToFirstImage.p95)} |
| series metadata request → every slice cached (scrollable end to end) | ${ms(result.wholeSeriesCached.p50)} | ${ms(result.wholeSeriesCached.p95)} |
| serving the worklist page's script (brotli, 50 requests) | ${ms(result.serveScript.p50)} | ${ms(result.serveScript.p95)} |

OHIF's timer starts just before it asks for the study's series (QIDO, then each series' metadata: its lazy study
loading) and stops at its first IMAGE_RENDERED; ours from the series metadata request to our first rendered image.
A load average far above the CPU count (other work on the machine) makes every figure here noisy.

The app's own files as served (brotli): worklist page (script and styles) ${kb(result.bundle.worklistPage)}; the reading
page and Cornerstone3D, loaded once the worklist is drawn (or when a study's address is opened), ${kb(result.bundle.readingPage)}; the decode worker
${kb(result.bundle.decodeWorker)}; the codecs' WebAssembly, loaded only for compressed frames, ${kb(result.bundle.codecs)}.
`;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const quick = process.env.BENCH_QUICK === '1';
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'astreinte-viewer-bench-'));
  chmodSync(workDir, 0o755);
  try {
    const result = await benchViewer(repoRoot, workDir, quick);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    if (!quick || process.env.BENCH_WRITE_DOCS === '1') {
      writeFileSync(path.join(repoRoot, 'docs/benchmarks-viewer.md'), viewerMarkdown(result, new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC'));
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
