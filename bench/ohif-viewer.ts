/**
 * OHIF's viewer, the prebuilt one the npm package `@ohif/app` ships in `dist/` (its `engines` asks for Node 24, but
 * nothing of it runs in Node: the files are served as they are), pointed at a gateway and timed in Chromium.
 * - `obtainOhif` fetches the pinned version with the npm client (`npm pack`, which checks the registry's integrity
 *   hash) into .tmp/ once, and unpacks it;
 * - `startOhif` serves those files from their own loopback origin (so its requests to the gateway are cross-origin,
 *   as in a deployment), with the shipped `app-config.js` followed by a DICOMweb data source for the gateway;
 * - `timeOhifOpens` opens a study by URL and reads OHIF's own STUDY_TO_FIRST_IMAGE timer (`console.timeEnd`
 *   "studyToFirstImage", started just before the series metadata is requested and ended by the first
 *   IMAGE_RENDERED), the definition bench/viewer-bench.ts uses for ours.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';

const run = promisify(execFile);

export const OHIF_VERSION = '3.13.2';

/** The unpacked `dist/` of `@ohif/app@OHIF_VERSION`, fetched once into `<repo>/.tmp/`. */
export async function obtainOhif(repoRoot: string): Promise<string> {
  const root = path.join(repoRoot, '.tmp', `ohif-app-${OHIF_VERSION}`);
  const dist = path.join(root, 'package', 'dist');
  if (existsSync(path.join(dist, 'index.html'))) return dist;
  const staging = `${root}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const { stdout } = await run('npm', ['pack', `@ohif/app@${OHIF_VERSION}`, '--pack-destination', staging, '--silent'], {
    cwd: staging,
    maxBuffer: 16 << 20,
  });
  const tarball = path.join(staging, stdout.trim().split('\n').pop() ?? '');
  await run('tar', ['-xzf', tarball, '-C', staging]);
  rmSync(tarball);
  if (!existsSync(path.join(staging, 'package', 'dist', 'index.html'))) {
    throw new Error(`@ohif/app@${OHIF_VERSION} has no prebuilt dist/index.html; the OHIF comparison cannot run`);
  }
  rmSync(root, { recursive: true, force: true });
  renameSync(staging, root);
  return dist;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

export interface OhifServer {
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves OHIF's files on 127.0.0.1 (uncompressed; content-hashed bundles cached as immutable, as a CDN would), any
 * path without a file answered with index.html (OHIF's single-page routes), and `app-config.js` ending with a data
 * source named `astreinte` for `dicomwebRoot`.
 */
export async function startOhif(dist: string, dicomwebRoot: string): Promise<OhifServer> {
  const appConfig = `${readFileSync(path.join(dist, 'app-config.js'), 'utf8')}\n${dataSourceConfig(dicomwebRoot)}`;
  const server = http.createServer((request, response) => {
    void answer(dist, appConfig, request.url ?? '/', response).catch((error: unknown) => {
      response.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function answer(dist: string, appConfig: string, url: string, response: http.ServerResponse): Promise<void> {
  const pathname = decodeURIComponent(new URL(url, 'http://x').pathname);
  if (pathname === '/app-config.js') {
    response.writeHead(200, { 'content-type': TYPES['.js'], 'cache-control': 'no-cache' }).end(appConfig);
    return;
  }
  const file = path.join(dist, path.normalize(pathname).replace(/^(\.\.[/\\])+/, ''));
  const found = file.startsWith(dist) && (await stat(file).catch(() => undefined))?.isFile();
  const served = found ? file : path.join(dist, 'index.html');
  const extension = path.extname(served);
  const hashed = /\.[0-9a-f]{16}\.(js|wasm)$|^[0-9a-f]{16}\.(wasm|woff2)$/.test(path.basename(served));
  response
    .writeHead(200, {
      'content-type': TYPES[extension] ?? 'application/octet-stream',
      'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    })
    .end(await readFile(served));
}

/** OHIF's DICOMweb data source for the gateway (the settings OHIF documents for a DICOMweb server with QIDO). */
function dataSourceConfig(dicomwebRoot: string): string {
  const source = {
    namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
    sourceName: 'astreinte',
    configuration: {
      friendlyName: 'Astreinte',
      name: 'astreinte',
      wadoUriRoot: dicomwebRoot,
      qidoRoot: dicomwebRoot,
      wadoRoot: dicomwebRoot,
      qidoSupportsIncludeField: true,
      imageRendering: 'wadors',
      thumbnailRendering: 'wadors',
      enableStudyLazyLoad: true,
      supportsFuzzyMatching: false,
      supportsWildcard: true,
      staticWado: false,
      singlepart: 'bulkdata,video',
      bulkDataURI: { enabled: true, relativeResolution: 'studies' },
      omitQuotationForMultipartRequest: true,
    },
  };
  return `// Astreinte bench: the gateway as the only data source.
window.config.dataSources = [${JSON.stringify(source)}];
window.config.defaultDataSourceName = 'astreinte';
window.config.showWarningMessageForCrossOrigin = false;
window.config.showCPUFallbackMessage = false;
`;
}

/**
 * Opens `/viewer?StudyInstanceUIDs=<study>` `opens` times (after one warm-up open, in the same browser context, so
 * OHIF's immutable files come from the cache as ours do) and returns OHIF's STUDY_TO_FIRST_IMAGE of each open,
 * milliseconds. The bearer token goes in OHIF's own `token` parameter, which OHIF removes from the address bar.
 */
export async function timeOhifOpens(browser: Browser, ohif: OhifServer, study: string, token: string, opens: number): Promise<number[]> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const times: number[] = [];
  try {
    for (let open = -1; open < opens; open++) {
      const page = await context.newPage();
      const failures: string[] = [];
      page.on('pageerror', (error) => failures.push(error.message));
      const firstImage = new Promise<number>((resolve) => {
        page.on('console', (message) => {
          const timed = /^studyToFirstImage: ([\d.]+) ms$/.exec(message.text());
          if (timed) resolve(Number(timed[1]));
        });
      });
      await page.goto(`${ohif.origin}/viewer?StudyInstanceUIDs=${study}&token=${encodeURIComponent(token)}`);
      let timer: NodeJS.Timeout | undefined;
      const ms = await Promise.race([
        firstImage,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`OHIF showed no image within 120 s (${failures.join('; ') || 'no page error'})`)), 120_000);
        }),
      ]).finally(() => clearTimeout(timer));
      if (open >= 0) times.push(ms);
      await page.close();
    }
  } finally {
    await context.close();
  }
  return times;
}
