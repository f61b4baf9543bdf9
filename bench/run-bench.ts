// `npm run bench`: measures our gateway against a private Orthanc on the same machine, in the same run.
//   BENCH_QUICK=1             1–2 minute smoke run with small sizes (does not rewrite docs/benchmarks.md)
//   BENCH_SERVERS=orthanc     only some servers (comma list of astreinte, orthanc)
//   BENCH_ROUTING=0           skip the routing latency measurement (PostgreSQL and Redis queues)
//   BENCH_REPORTS=0           skip the report signing and delivery measurement
//   BENCH_WRITE_DOCS=1|0      force or forbid rewriting docs/benchmarks.md
//   BENCH_KEEP=1              keep the temporary directory (server logs, storage)
// `tsx bench/run-bench.ts --render bench/results/<file>.json` rewrites docs/benchmarks.md from a saved run.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { consoleTable, markdownReport, type BenchReport, type MachineInfo, type ServerRun } from './bench-report.ts';
import { gatewayUnavailable, startGateway } from './gateway-peer.ts';
import { benchRoutingBackends, type RoutingRun } from './routing-bench.ts';
import { benchViewer, viewerMarkdown } from './viewer-bench.ts';
import { benchReports, type ReportBenchResult } from './report-bench.ts';
import { bestCeilings, measureCeilings, type StowRequestSample } from './machine-ceilings.ts';
import { dimseWorkloads } from './dimse-workload.ts';
import { ensureOrthancInstalled, startOrthanc } from './orthanc-peer.ts';
import type { RunningServer } from './server-process.ts';
import { stowBody } from './dicomweb-driver.ts';
import { collect, loadStudyGenerator } from './test-data-source.ts';
import { memoryWorkload, queryKeysOf, queryWorkloads, retrieveWorkloads, stowWorkloads, type BenchData, type Metric, type WorkloadOptions } from './workloads.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = path.join(repoRoot, 'bench/results');
const quick = process.env.BENCH_QUICK === '1';
const concurrency = 4;

const sizes = quick
  ? { warmUpSlices: 20, seriesSlices: 100, series600Matrix: 128, chestXrays: 1, smallStudies: 1000, stages: [1000], bigSlices: 200, diskBytes: 128 << 20, httpBytes: 128 << 20, tinyRequests: 1000 }
  : { warmUpSlices: 60, seriesSlices: 300, series600Matrix: 512, chestXrays: 3, smallStudies: 10_000, stages: [1000, 10_000], bigSlices: 2000, diskBytes: 512 << 20, httpBytes: 300 << 20, tinyRequests: 4000 };

const workloadOptions: WorkloadOptions = {
  concurrency,
  indexStages: sizes.stages,
  growthBudgetMs: quick ? 60_000 : 240_000,
  queryRepetitions: quick ? 10 : 60,
  retrieveRepetitions: quick ? 2 : 3,
  framePasses: quick ? 1 : 2,
  log,
};

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

function machineInfo(): MachineInfo {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: os.release(),
  };
}

async function generateData(): Promise<{ data: BenchData; source: string }> {
  const generator = await loadStudyGenerator();
  log(`generating test data with ${generator.source}`);
  const ct = (seed: number, slices: number, matrix = 512) =>
    collect(generator.generateCtSeries({ kind: 'ct-chest', slices, rows: matrix, columns: matrix, seed }));
  const chestXrays: Buffer[] = [];
  for (let index = 0; index < sizes.chestXrays; index++) chestXrays.push(await generator.generateChestXray({ seed: 40 + index }));
  const smallStudies = await collect(generator.generateStudies(sizes.smallStudies, { seed: 50 }));
  const data: BenchData = {
    warmUpSeries: await ct(15, sizes.warmUpSlices),
    seriesA: await ct(11, sizes.seriesSlices),
    seriesB: await ct(12, sizes.seriesSlices),
    seriesC: await ct(16, sizes.seriesSlices),
    seriesD: await ct(17, 2 * sizes.seriesSlices), // long enough for about a hundred frame reads
    series600: await ct(13, 600, sizes.series600Matrix),
    chestXrays,
    smallStudies,
    smallKeys: smallStudies.map(queryKeysOf),
    bigStudy: await ct(14, sizes.bigSlices),
  };
  return { data, source: generator.source };
}

/** The exact request bodies of the one- and ten-per-request STOW workloads and of the large study, for the durable receiver ceiling. */
function stowSamplesOf(data: BenchData): StowRequestSample[] {
  const batches = (instances: Buffer[], perRequest: number) => {
    const requests = [];
    for (let start = 0; start < instances.length; start += perRequest) requests.push(stowBody(instances.slice(start, start + perRequest)));
    return requests;
  };
  return [
    { shape: 'one', requests: batches(data.seriesA, 1) },
    { shape: 'ten', requests: batches(data.seriesB, 10) },
    { shape: 'fifty', requests: batches(data.bigStudy, 50) },
  ];
}

async function runPhase(name: string, errors: string[], task: () => Promise<Metric[]>): Promise<Metric[]> {
  log(` ${name}`);
  try {
    return await task();
  } catch (error) {
    const message = `${name}: ${(error as Error).message}`;
    log(`  FAILED ${message}`);
    errors.push(message);
    return [];
  }
}

let running: RunningServer | undefined;
let workDir: string | undefined;

async function benchServer(start: () => Promise<RunningServer>, data: BenchData, label: string): Promise<ServerRun> {
  const started = performance.now();
  log(`starting ${label}`);
  let server: RunningServer;
  try {
    server = await start();
  } catch (error) {
    return { name: label, version: label, metrics: [], error: `could not start: ${(error as Error).message}`, durationMs: performance.now() - started };
  }
  running = server;
  log(`${server.version} ready (pid ${server.pid})`);
  const errors: string[] = [];
  const metrics: Metric[] = [];
  const phases: [string, () => Promise<Metric[]>][] = [
    ['STOW-RS', () => stowWorkloads(server.target, data, workloadOptions)],
    ['WADO-RS and series QIDO', () => retrieveWorkloads(server.target, data, workloadOptions)],
    ['QIDO-RS on a growing index', () => queryWorkloads(server.target, server.processes, data, workloadOptions)],
    ['memory while ingesting a large study', () => memoryWorkload(server.target, server.pid, server.processes, data, workloadOptions)],
    ['DICOM C-STORE (storescu)', () => dimseWorkloads(server, { dataDir: path.join(workDir as string, 'dimse-data'), slices: sizes.seriesSlices, matrix: sizes.series600Matrix, log })],
  ];
  try {
    for (const [name, task] of phases) {
      if (server.ended()) break;
      metrics.push(...(await runPhase(name, errors, task)));
    }
  } finally {
    const ended = server.ended();
    if (ended) errors.push(`the server process ended during the run (${ended})`);
    log(`stopping ${server.name}`);
    server.target.agent.destroy();
    await server.stop();
    running = undefined;
  }
  let error: string | undefined;
  if (errors.length > 0) {
    const keptLog = path.join(resultsDir, `${server.name}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
    mkdirSync(resultsDir, { recursive: true });
    if (existsSync(server.logFile)) copyFileSync(server.logFile, keptLog);
    error = `${errors.join(' | ')} (server log: ${path.relative(repoRoot, keptLog)})`;
  }
  return { name: server.name, version: server.version, metrics, error, durationMs: performance.now() - started };
}

function requestedServers(): string[] {
  return (process.env.BENCH_SERVERS ?? 'orthanc,astreinte').split(',').map((name) => name.trim()).filter(Boolean);
}

async function main(): Promise<void> {
  const runStarted = performance.now();
  workDir = mkdtempSync(path.join(os.tmpdir(), 'astreinte-bench-'));
  // Run as root, the embedded PostgreSQL runs as the postgres user, which must traverse this directory.
  chmodSync(workDir, 0o755);
  const notes: string[] = [];
  const servers: ServerRun[] = [];
  const loadBefore = os.loadavg()[0];
  try {
    const { data, source } = await generateData();
    const ceilingOptions = { ...sizes, stowSamples: stowSamplesOf(data) };
    log(`measuring machine ceilings in ${workDir}`);
    const ceilingsBefore = await measureCeilings(workDir, ceilingOptions);
    for (const name of requestedServers()) {
      const serverDir = path.join(workDir as string, name);
      mkdirSync(serverDir, { recursive: true });
      if (name === 'orthanc') {
        const missing = ensureOrthancInstalled(repoRoot);
        if (missing) {
          notes.push(`Orthanc not measured: ${missing}`);
          continue;
        }
        servers.push(await benchServer(() => startOrthanc(serverDir, concurrency, { dicomServer: true }), data, 'orthanc'));
      } else if (name === 'astreinte') {
        const missing = gatewayUnavailable(repoRoot);
        if (missing) {
          notes.push(`Astreinte not measured: ${missing}`);
          continue;
        }
        servers.push(await benchServer(() => startGateway(repoRoot, path.join(serverDir, 'data'), concurrency), data, 'astreinte'));
      } else {
        notes.push(`unknown server "${name}" in BENCH_SERVERS (expected astreinte, orthanc)`);
      }
      if (process.env.BENCH_KEEP !== '1') rmSync(serverDir, { recursive: true, force: true });
    }
    let routing: RoutingRun[] | undefined;
    if (process.env.BENCH_ROUTING !== '0') {
      log('measuring routing latency on PostgreSQL and Redis queues');
      routing = await benchRoutingBackends(quick ? 100 : 500, 50);
    }
    if (process.env.BENCH_VIEWER !== '0') {
      log('measuring the reading web app in Chromium (time to first image, whole series cached, bundle)');
      try {
        const viewer = await benchViewer(repoRoot, workDir as string, quick);
        const writeDocs = process.env.BENCH_WRITE_DOCS === undefined ? !quick : process.env.BENCH_WRITE_DOCS === '1';
        if (writeDocs) writeFileSync(path.join(repoRoot, 'docs/benchmarks-viewer.md'), viewerMarkdown(viewer, new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC'));
        log(`viewer: first image p50 ${viewer.firstImage.p50.toFixed(0)} ms, p95 ${viewer.firstImage.p95.toFixed(0)} ms; every slice cached p95 ${viewer.wholeSeriesCached.p95.toFixed(0)} ms`);
      } catch (error) {
        notes.push(`Reading web app not measured: ${(error as Error).message}`);
      }
    }
    let reports: ReportBenchResult | { error: string } | undefined;
    if (process.env.BENCH_REPORTS !== '0') {
      log('measuring report signing and delivery');
      reports = await benchReports(repoRoot, quick ? 20 : 100, log).catch((error: unknown) => ({ error: (error as Error).message }));
    }
    log('measuring machine ceilings again');
    const ceilingsAfter = await measureCeilings(workDir as string, ceilingOptions);
    const ceilings = bestCeilings(ceilingsBefore, ceilingsAfter);
    const busiest = Math.max(loadBefore, os.loadavg()[0]);
    if (busiest > os.availableParallelism() * 0.75) {
      notes.push(`Other work was running on the machine (1-minute load average up to ${busiest.toFixed(1)} on ${os.availableParallelism()} CPUs): absolute figures are noisy; compare ratios, and rerun for confirmation.`);
    }
    const smallStudies = data.smallStudies.length;
    if (smallStudies < 10_000) notes.push(`QIDO measured on ${smallStudies.toLocaleString('en-US')} small studies at most (quick run).`);
    const report: BenchReport = {
      date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
      quick,
      machine: machineInfo(),
      generator: source,
      ceilings,
      ceilingRuns: [ceilingsBefore, ceilingsAfter],
      servers,
      routing,
      reports,
      notes,
      durationMs: performance.now() - runStarted,
    };
    writeOutputs(report);
  } finally {
    if (process.env.BENCH_KEEP === '1') log(`kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}

function writeOutputs(report: BenchReport): void {
  process.stdout.write(`\n${consoleTable(report)}\n`);
  mkdirSync(resultsDir, { recursive: true });
  const jsonFile = path.join(resultsDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}${report.quick ? '-quick' : ''}.json`);
  writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  log(`results written to ${path.relative(repoRoot, jsonFile)}`);
  const writeDocs = process.env.BENCH_WRITE_DOCS === undefined ? !report.quick : process.env.BENCH_WRITE_DOCS === '1';
  if (writeDocs) {
    const docsFile = path.join(repoRoot, 'docs/benchmarks.md');
    writeFileSync(docsFile, markdownReport(report));
    log(`report written to docs/benchmarks.md`);
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    void (running?.stop() ?? Promise.resolve()).finally(() => {
      if (workDir && process.env.BENCH_KEEP !== '1') rmSync(workDir, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

const renderIndex = process.argv.indexOf('--render');
if (renderIndex !== -1) {
  const report = JSON.parse(readFileSync(process.argv[renderIndex + 1], 'utf8')) as BenchReport;
  process.stdout.write(`${consoleTable(report)}\n`);
  writeFileSync(path.join(repoRoot, 'docs/benchmarks.md'), markdownReport(report));
  log('report written to docs/benchmarks.md');
} else {
  await main();
}
