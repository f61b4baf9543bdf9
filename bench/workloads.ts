// The workloads run against each server, identical for every server, each yielding named metrics.
import dicomParser from 'dicom-parser';
import { getJsonList, instanceUids, retrieveFrame, retrieveRenderedFrame, retrieveSeries, seriesMetadata, stow, type DicomwebTarget, type InstanceUids } from './dicomweb-driver.ts';
import { startFrameViewer } from './frame-viewer.ts';
import { runPool } from './http-client.ts';
import { waitUntilIdle } from './process-cpu.ts';
import { readMemory, resetPeak, sampleTreeRss } from './process-memory.ts';
import { megabytesPerSecond, median, perSecond, percentile } from './stats.ts';

/** Which ceiling a throughput is compared with (machine-ceilings.ts); durable* are per request shape. */
export type CeilingKind = 'loopbackPostToDisk' | 'loopbackGet' | 'durableOne' | 'durableTen' | 'durableFifty';

export interface Metric {
  key: string;
  label: string;
  unit: string;
  value: number;
  higherIsBetter: boolean;
  ceiling?: CeilingKind;
  /** Context printed next to the figure (e.g. how many studies were indexed). */
  detail?: string;
}

export interface QueryKeys {
  patientId: string;
  familyName: string;
  studyDate: string;
}

export interface BenchData {
  /** A short CT series each server stores first, untimed: the STOW figures are those of a running server. */
  warmUpSeries: Buffer[];
  /** 300-slice CT stored one instance per request, then retrieved. */
  seriesA: Buffer[];
  /** Another 300-slice CT stored 10 instances per request. */
  seriesB: Buffer[];
  /** A third one stored 10 instances per request by a single client, as a modality or a site's router sends. */
  seriesC: Buffer[];
  /** A fourth one, twice as long, stored 10 instances per request while a viewer reads frames of series A. */
  seriesD: Buffer[];
  /** A 600-slice series for the metadata target. */
  series600: Buffer[];
  chestXrays: Buffer[];
  /** Small one-instance studies that grow the index, with their query keys. */
  smallStudies: Buffer[];
  smallKeys: QueryKeys[];
  /** ~1 GB study ingested while the server's memory is watched. */
  bigStudy: Buffer[];
}

export interface WorkloadOptions {
  concurrency: number;
  /** Index sizes (number of small studies) at which QIDO is measured. */
  indexStages: number[];
  /** Stop growing the index after this long; later stages are then skipped. */
  growthBudgetMs: number;
  queryRepetitions: number;
  retrieveRepetitions: number;
  framePasses: number;
  log: (line: string) => void;
}

const bytesOf = (instances: readonly Buffer[]): number => instances.reduce((sum, instance) => sum + instance.length, 0);
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(bytes < 10e6 ? 2 : 0)} MB`;

/** `items` in consecutive groups of `size` (the instances of each request). */
export function chunked<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let index = 0; index < items.length; index += size) chunks.push(items.slice(index, index + size));
  return chunks;
}

/** A string attribute decoded as its Specific Character Set says (UTF-8 or, by default, Latin-1). */
function decodedString(dataSet: dicomParser.DataSet, tag: string, utf8: boolean): string {
  const element = dataSet.elements[tag];
  if (!element) return '';
  const bytes = Buffer.from(dataSet.byteArray.buffer, dataSet.byteArray.byteOffset + element.dataOffset, element.length);
  return bytes.toString(utf8 ? 'utf8' : 'latin1').replace(/[\0 ]+$/, '');
}

export function queryKeysOf(part10: Buffer): QueryKeys {
  const dataSet = dicomParser.parseDicom(part10, { untilTag: 'x00280000' });
  const utf8 = (dataSet.string('x00080005') ?? '').includes('ISO_IR 192');
  return {
    patientId: decodedString(dataSet, 'x00100020', utf8),
    familyName: decodedString(dataSet, 'x00100010', utf8).split('^')[0],
    studyDate: decodedString(dataSet, 'x00080020', utf8),
  };
}

async function stowBatches(target: DicomwebTarget, instances: readonly Buffer[], perRequest: number, concurrency: number) {
  const started = performance.now();
  const timings = await runPool(chunked(instances, perRequest), concurrency, (batch) => stow(target, batch));
  const wallMs = performance.now() - started;
  return { wallMs, bytes: bytesOf(instances), latencies: timings.map((timing) => timing.ms) };
}

export async function stowWorkloads(target: DicomwebTarget, data: BenchData, options: WorkloadOptions): Promise<Metric[]> {
  // Steady state, as for the queries: a server that just started has cold caches (and, for ours, a cold JIT).
  const half = Math.ceil(data.warmUpSeries.length / 2);
  await stowBatches(target, data.warmUpSeries.slice(0, half), 1, options.concurrency);
  await stowBatches(target, data.warmUpSeries.slice(half), 10, options.concurrency);
  const single = await stowBatches(target, data.seriesA, 1, options.concurrency);
  options.log(`  STOW one per request: ${single.wallMs.toFixed(0)} ms`);
  const ten = await stowBatches(target, data.seriesB, 10, options.concurrency);
  options.log(`  STOW 10 per request: ${ten.wallMs.toFixed(0)} ms`);
  // One sending client: Orthanc stores a request's parts one after the other, we store them at once.
  const tenOneClient = await stowBatches(target, data.seriesC, 10, 1);
  options.log(`  STOW 10 per request, one client: ${tenOneClient.wallMs.toFixed(0)} ms`);
  const xrays: number[] = [];
  for (const xray of data.chestXrays) {
    const timing = await stow(target, [xray]);
    xrays.push(megabytesPerSecond(timing.bytes, timing.ms));
  }
  const large = await stowBatches(target, data.series600, 50, options.concurrency);
  options.log(`  STOW 600-slice series: ${large.wallMs.toFixed(0)} ms`);
  const reading = await framesWhileStoring(target, data.seriesA.map(instanceUids), data.seriesD, options.concurrency);
  // A quick run's short series leaves too few frames for a p95: the two figures are then left out.
  const readingMetrics: Metric[] =
    reading.length < MIN_FRAMES_WHILE_STORING
      ? []
      : [
          { key: 'wado.frames.ingest.p50', label: 'WADO-RS frame while a study arrives, p50', unit: 'ms', value: median(reading), higherIsBetter: false, detail: `${reading.length} frames, one at a time, while ${data.seriesD.length} CT slices are stored 10 per request by ${options.concurrency} clients` },
          { key: 'wado.frames.ingest.p95', label: 'WADO-RS frame while a study arrives, p95', unit: 'ms', value: percentile(reading, 95), higherIsBetter: false },
        ];
  options.log(`  frames while storing: ${reading.length} frames, p50 ${median(reading).toFixed(0)} ms, p95 ${percentile(reading, 95).toFixed(0)} ms`);
  const series = `${data.seriesA.length} × ${mb(data.seriesA[0].length)} CT, ${options.concurrency} clients`;
  return [
    { key: 'stow1.mbps', label: 'STOW-RS, one instance per request', unit: 'MB/s', value: megabytesPerSecond(single.bytes, single.wallMs), higherIsBetter: true, ceiling: 'durableOne', detail: series },
    { key: 'stow1.ips', label: 'STOW-RS, one instance per request', unit: 'instances/s', value: perSecond(data.seriesA.length, single.wallMs), higherIsBetter: true },
    { key: 'stow1.p95', label: 'STOW-RS, one instance per request, p95', unit: 'ms', value: percentile(single.latencies, 95), higherIsBetter: false },
    { key: 'stow10.mbps', label: 'STOW-RS, 10 instances per request', unit: 'MB/s', value: megabytesPerSecond(ten.bytes, ten.wallMs), higherIsBetter: true, ceiling: 'durableTen' },
    { key: 'stow10c1.mbps', label: 'STOW-RS, 10 instances per request, one client', unit: 'MB/s', value: megabytesPerSecond(tenOneClient.bytes, tenOneClient.wallMs), higherIsBetter: true, detail: `${data.seriesC.length} × ${mb(data.seriesC[0].length)} CT` },
    { key: 'stowDx.mbps', label: `STOW-RS, one ${mb(data.chestXrays[0].length)} DX`, unit: 'MB/s', value: median(xrays), higherIsBetter: true, ceiling: 'loopbackPostToDisk', detail: `median of ${xrays.length}` },
    { key: 'stow50.mbps', label: `STOW-RS, 50 instances per request (${data.series600.length} slices)`, unit: 'MB/s', value: megabytesPerSecond(large.bytes, large.wallMs), higherIsBetter: true, ceiling: 'durableFifty' },
    ...readingMetrics,
  ];
}

const MIN_FRAMES_WHILE_STORING = 40;

/**
 * A radiologist reading while another study arrives: a viewer in its own process (frame-viewer.ts) asks for frames
 * of a stored series one at a time, 10 ms apart, for as long as `arriving` is being stored. Returns each frame's
 * latency in ms.
 */
async function framesWhileStoring(target: DicomwebTarget, stored: InstanceUids[], arriving: Buffer[], concurrency: number): Promise<number[]> {
  const viewer = await startFrameViewer(target, stored);
  let latencies: number[] = [];
  try {
    await stowBatches(target, arriving, 10, concurrency);
  } finally {
    latencies = await viewer.stop();
  }
  return latencies;
}

async function repeat<T>(times: number, task: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let index = 0; index < times; index++) results.push(await task());
  return results;
}

function expectCount(what: string, actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`${what}: expected ${expected}, got ${actual}`);
}

export async function retrieveWorkloads(target: DicomwebTarget, data: BenchData, options: WorkloadOptions): Promise<Metric[]> {
  const uidsA = data.seriesA.map(instanceUids);
  const seriesA = { study: uidsA[0].study, series: uidsA[0].series };
  const first600 = instanceUids(data.series600[0]);
  const series600 = { study: first600.study, series: first600.series };

  const instances = await repeat(options.queryRepetitions, () => getJsonList(target, `/studies/${seriesA.study}/series/${seriesA.series}/instances`));
  instances.forEach((result) => expectCount('QIDO-RS instances of the series', result.count, uidsA.length));

  const metadata = await repeat(options.retrieveRepetitions + 1, () => seriesMetadata(target, seriesA));
  metadata.forEach((result) => expectCount('series metadata entries', result.count, uidsA.length));
  const metadata600 = await repeat(options.retrieveRepetitions + 1, () => seriesMetadata(target, series600));
  metadata600.forEach((result) => expectCount('600-instance series metadata entries', result.count, data.series600.length));
  options.log(`  metadata: ${median(metadata.slice(1).map((result) => result.ms)).toFixed(0)} ms, 600: ${median(metadata600.slice(1).map((result) => result.ms)).toFixed(0)} ms`);

  const retrieves = await repeat(options.retrieveRepetitions, () => retrieveSeries(target, seriesA));
  retrieves.forEach((result) => expectCount('instances in the retrieved series', result.parts, uidsA.length));

  const frameRequests = Array.from({ length: options.framePasses }, () => uidsA).flat();
  const started = performance.now();
  const frames = await runPool(frameRequests, options.concurrency, (uids: InstanceUids) => retrieveFrame(target, uids));
  const framesMs = performance.now() - started;
  const frameBytes = frames.reduce((sum, frame) => sum + frame.bytes, 0);

  // Rendered frames: the same CT slices decoded, windowed and encoded as JPEG by the server (thumbnails, key images).
  const renderedStarted = performance.now();
  const rendered = await runPool(uidsA, options.concurrency, (uids: InstanceUids) => retrieveRenderedFrame(target, uids));
  const renderedMs = performance.now() - renderedStarted;

  const seriesBytes = median(retrieves.map((result) => result.bytes));
  return [
    { key: 'wado.series.mbps', label: 'WADO-RS series retrieve', unit: 'MB/s', value: median(retrieves.map((result) => megabytesPerSecond(result.bytes, result.ms))), higherIsBetter: true, ceiling: 'loopbackGet', detail: `${mb(seriesBytes)}, median of ${retrieves.length}` },
    { key: 'wado.series.ttfb', label: 'WADO-RS series retrieve, first byte', unit: 'ms', value: median(retrieves.map((result) => result.firstByteMs)), higherIsBetter: false },
    { key: 'wado.frames.fps', label: 'WADO-RS frames, one per request', unit: 'frames/s', value: perSecond(frames.length, framesMs), higherIsBetter: true, detail: `${frames.length} frames, ${options.concurrency} clients` },
    { key: 'wado.frames.mbps', label: 'WADO-RS frames, one per request', unit: 'MB/s', value: megabytesPerSecond(frameBytes, framesMs), higherIsBetter: true, ceiling: 'loopbackGet' },
    { key: 'wado.frames.p50', label: 'WADO-RS frames, one per request, p50', unit: 'ms', value: median(frames.map((frame) => frame.ms)), higherIsBetter: false },
    { key: 'wado.rendered.fps', label: 'WADO-RS rendered frames (JPEG), one per request', unit: 'frames/s', value: perSecond(rendered.length, renderedMs), higherIsBetter: true, detail: `${rendered.length} 512x512 CT slices, ${options.concurrency} clients` },
    { key: 'wado.rendered.p50', label: 'WADO-RS rendered frames (JPEG), p50', unit: 'ms', value: median(rendered.map((frame) => frame.ms)), higherIsBetter: false },
    { key: 'metadata.300', label: `WADO-RS series metadata, ${uidsA.length} instances`, unit: 'ms', value: median(metadata.slice(1).map((result) => result.ms)), higherIsBetter: false, detail: `first call ${metadata[0].ms.toFixed(0)} ms` },
    { key: 'metadata.600', label: `WADO-RS series metadata, ${data.series600.length} instances`, unit: 'ms', value: median(metadata600.slice(1).map((result) => result.ms)), higherIsBetter: false, detail: `first call ${metadata600[0].ms.toFixed(0)} ms` },
    { key: 'qido.instances', label: `QIDO-RS instances of the ${uidsA.length}-slice series, p50`, unit: 'ms', value: median(instances.map((result) => result.ms)), higherIsBetter: false },
  ];
}

/** mulberry32: the same pseudo-random query picks for every server. */
function picker(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * below);
  };
}

function monthRange(date: string): string {
  const year = Number(date.slice(0, 4));
  const month = Number(date.slice(4, 6));
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return `${date.slice(0, 6)}01-${date.slice(0, 6)}${String(lastDay).padStart(2, '0')}`;
}

/**
 * A fragment of a family name for a "contains" match, as OHIF sends it (*fragment*): the longest run of
 * ASCII letters (at most 6), so that servers are not compared on how they fold accents; undefined when
 * the name has no run of 3 such letters.
 */
export function nameFragment(familyName: string): string | undefined {
  const runs = familyName.match(/[A-Za-z]+/g) ?? [];
  const longest = runs.reduce((best, run) => (run.length > best.length ? run : best), '');
  return longest.length >= 3 ? longest.slice(0, 6) : undefined;
}

const OHIF_LIST = 'limit=101&offset=0&fuzzymatching=false&includefield=00081030,00080060';

export function studyQueries(keys: readonly QueryKeys[], loaded: number, repetitions: number, seed: number) {
  const pick = picker(seed);
  const chosen = Array.from({ length: repetitions }, () => keys[pick(loaded)]);
  const fragments = Array.from({ length: repetitions }, () => {
    for (let attempt = 0; attempt < 100; attempt++) {
      const fragment = nameFragment(keys[pick(loaded)].familyName);
      if (fragment) return fragment;
    }
    return keys[pick(loaded)].familyName;
  });
  return {
    studyDate: chosen.map((key) => `/studies?StudyDate=${monthRange(key.studyDate)}&${OHIF_LIST}`),
    patientId: chosen.map((key) => `/studies?PatientID=${encodeURIComponent(key.patientId)}`),
    patientName: fragments.map((fragment) => `/studies?PatientName=${encodeURIComponent(`*${fragment}*`)}&${OHIF_LIST}`),
  };
}

async function timeQueries(target: DicomwebTarget, paths: readonly string[], requireMatch: boolean) {
  const results = await runPool(paths, 1, (path) => getJsonList(target, path));
  if (requireMatch) {
    const empty = results.findIndex((result) => result.count === 0);
    if (empty !== -1) throw new Error(`${target.name}: ${paths[empty]} matched nothing`);
  }
  return { latencies: results.map((result) => result.ms), matches: median(results.map((result) => result.count)) };
}

export async function queryWorkloads(target: DicomwebTarget, processes: () => number[], data: BenchData, options: WorkloadOptions): Promise<Metric[]> {
  const metrics: Metric[] = [];
  let loaded = 0;
  const growthStarted = performance.now();
  for (const stage of options.indexStages) {
    const growStarted = performance.now();
    const pending = data.smallStudies.slice(loaded, stage);
    const batches = chunked(pending, 100);
    let stored = 0;
    await runPool(batches, options.concurrency, async (batch) => {
      if (performance.now() - growthStarted > options.growthBudgetMs) return;
      await stow(target, batch);
      stored += batch.length;
    });
    loaded += stored;
    const growMs = performance.now() - growStarted;
    if (loaded < stage) {
      options.log(`  index growth stopped at ${loaded} studies (time budget of ${options.growthBudgetMs / 1000} s spent)`);
      metrics.push({ key: `index.reached`, label: 'Small studies indexed before the time budget ran out', unit: 'studies', value: loaded, higherIsBetter: true });
      break;
    }
    options.log(`  index at ${stage.toLocaleString('en-US')} studies (+${pending.length} in ${(growMs / 1000).toFixed(1)} s)`);
    // Queries are measured on a server that finished digesting what it was sent: ours routes each new study
    // once no instance came for ASTREINTE_STABILITY_SECONDS (10 s), so it must stay idle for longer than that.
    // The growth rate above includes none of this wait.
    const quiet = await waitUntilIdle(processes, { quietSeconds: 12, maxMs: 300_000 });
    options.log(`  server ${quiet.idle ? 'idle' : 'still busy'} after ${(quiet.waitedMs / 1000).toFixed(0)} s`);
    metrics.push({ key: `index.${stage}.ips`, label: `Index growth to ${stage.toLocaleString('en-US')} one-instance studies, 100 per request`, unit: 'instances/s', value: perSecond(pending.length, growMs), higherIsBetter: true });
    // Steady state: a few queries of each kind first, not timed (plans, caches and JIT warm on either server).
    const warmUp = studyQueries(data.smallKeys, loaded, 5, stage + 1);
    for (const paths of [warmUp.studyDate, warmUp.patientId, warmUp.patientName]) await timeQueries(target, paths, false);
    const queries = studyQueries(data.smallKeys, loaded, options.queryRepetitions, stage);
    const byDate = await timeQueries(target, queries.studyDate, true);
    const byId = await timeQueries(target, queries.patientId, true);
    const byName = await timeQueries(target, queries.patientName, true);
    const started = performance.now();
    const concurrent = await runPool([...queries.patientId, ...queries.patientId], options.concurrency, (path) => getJsonList(target, path));
    const concurrentRate = perSecond(concurrent.length, performance.now() - started);
    const at = `${stage.toLocaleString('en-US')} studies`;
    metrics.push(
      { key: `qido.${stage}.date.p50`, label: `QIDO-RS StudyDate month range, ${at}, p50`, unit: 'ms', value: median(byDate.latencies), higherIsBetter: false, detail: `~${byDate.matches} matches, limit 101` },
      { key: `qido.${stage}.date.p95`, label: `QIDO-RS StudyDate month range, ${at}, p95`, unit: 'ms', value: percentile(byDate.latencies, 95), higherIsBetter: false },
      { key: `qido.${stage}.pid.p50`, label: `QIDO-RS by PatientID, ${at}, p50`, unit: 'ms', value: median(byId.latencies), higherIsBetter: false },
      { key: `qido.${stage}.pid.p95`, label: `QIDO-RS by PatientID, ${at}, p95`, unit: 'ms', value: percentile(byId.latencies, 95), higherIsBetter: false },
      { key: `qido.${stage}.pid.rps`, label: `QIDO-RS by PatientID, ${at}, ${options.concurrency} clients`, unit: 'requests/s', value: concurrentRate, higherIsBetter: true },
      { key: `qido.${stage}.name.p50`, label: `QIDO-RS PatientName *wildcard*, ${at}, p50`, unit: 'ms', value: median(byName.latencies), higherIsBetter: false, detail: `~${byName.matches} matches` },
      { key: `qido.${stage}.name.p95`, label: `QIDO-RS PatientName *wildcard*, ${at}, p95`, unit: 'ms', value: percentile(byName.latencies, 95), higherIsBetter: false },
    );
  }
  return metrics;
}

/**
 * Ingests the ~1 GB study (50 instances per request) while sampling the server's memory; the peak of
 * the server process is reset first, so VmHWM afterwards is the peak during this ingest.
 */
export async function memoryWorkload(target: DicomwebTarget, pid: number, processes: () => number[], data: BenchData, options: WorkloadOptions): Promise<Metric[]> {
  // Ingest throughput is measured alone, not against the routing of the studies the index phase sent.
  const quiet = await waitUntilIdle(processes, { quietSeconds: 3, maxMs: 300_000 });
  options.log(`  server ${quiet.idle ? 'idle' : 'still busy'} after ${(quiet.waitedMs / 1000).toFixed(0)} s`);
  const before = readMemory(pid);
  const resettable = resetPeak(pid);
  const sampler = sampleTreeRss(processes, 200);
  const ingest = await stowBatches(target, data.bigStudy, 50, options.concurrency);
  const treePeak = sampler.stop();
  const after = readMemory(pid);
  const duringPeak = resettable ? after.peak : Number.NaN;
  const size = mb(ingest.bytes);
  options.log(`  ${size} study ingested in ${(ingest.wallMs / 1000).toFixed(1)} s`);
  return [
    { key: 'big.mbps', label: `STOW-RS of a ${size} study, 50 instances per request`, unit: 'MB/s', value: megabytesPerSecond(ingest.bytes, ingest.wallMs), higherIsBetter: true, ceiling: 'durableFifty', detail: `${data.bigStudy.length} slices` },
    { key: 'rss.big', label: `Peak RSS of the server process while ingesting ${size}`, unit: 'MB', value: duringPeak / 1e6, higherIsBetter: false },
    { key: 'pss.big.tree', label: `Peak memory of all the server's processes, its database included (PSS), while ingesting ${size}`, unit: 'MB', value: treePeak / 1e6, higherIsBetter: false, detail: 'sampled every 200 ms' },
    { key: 'rss.overall', label: 'Peak RSS of the server process over the whole run', unit: 'MB', value: Math.max(before.peak, after.peak) / 1e6, higherIsBetter: false },
  ];
}
