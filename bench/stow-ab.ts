// Interleaved A/B of STOW-RS throughput: on a noisy machine (±30% between runs) only servers measured in turns,
// on the same requests, can be compared. Starts every variant, then for each round generates a fresh 300-slice
// CT series and sends it to each server in turn (the order alternates between rounds), 4 clients by default.
//
//   npx tsx bench/stow-ab.ts
//   STOW_AB_VARIANTS='default;UV_THREADPOOL_SIZE=4;checkout=/tmp/old;orthanc;receiver'  (';'-separated)
//     default                 this checkout's gateway
//     NAME=value,...          this checkout's gateway with those environment variables
//     checkout=DIR,...        the gateway of another checkout (git worktree add DIR <rev>; node_modules linked)
//     orthanc                 Orthanc with its DICOMweb plugin (Debian packages)
//     receiver                the per-instance durable receiver (bench/loopback-server.ts /durable-instances)
//   STOW_AB_ROUNDS=5  STOW_AB_PER_REQUEST=10,50  STOW_AB_CLIENTS=4  STOW_AB_FRAME_PROBE=1 (frame reads during the ingest, by a viewer process)
//   STOW_AB_KEEP=1 keeps the temporary directory (a gateway's log shows why a variant failed)
//
// Prints, per variant and request shape, the median and every round of: MB/s; cores busy on the machine; CPU
// per instance of the server process and of all its processes (PostgreSQL included); device flushes per
// second (/proc/diskstats); frame read p50/p95 with the probe; for our gateway, from its /metrics, the mean
// time of each STOW step (spool, parse, store, index per instance; answer per request) and its event loop's
// utilization during the round.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { instanceUids, stow, stowBody, type DicomwebTarget } from './dicomweb-driver.ts';
import { startFrameViewer } from './frame-viewer.ts';
import { mintToken, startGateway } from './gateway-peer.ts';
import { expectStatus, keepAliveAgent, runPool, send } from './http-client.ts';
import { startLoopbackServer } from './machine-ceilings.ts';
import { startOrthanc } from './orthanc-peer.ts';
import { chunked } from './workloads.ts';
import { cpuByProcess, cpuUsedBetween } from './process-cpu.ts';
import { median } from './stats.ts';
import { collect, loadStudyGenerator } from './test-data-source.ts';

interface Variant {
  name: string;
  /** The server process. */
  pid: number;
  /** All the server's processes (roots of process trees): the embedded PostgreSQL is not a child of the gateway. */
  processes: () => number[];
  store: (instances: Buffer[]) => Promise<unknown>;
  target?: DicomwebTarget;
  /** Our gateway's STOW step timings and event loop utilization, from its /metrics. */
  scrapeSteps?: () => Promise<StepMetrics>;
  stop: () => Promise<void> | void;
}

/** Cumulative seconds and counts of each STOW step, and the event loop's utilization since the previous scrape. */
interface StepMetrics {
  steps: Map<string, { seconds: number; count: number }>;
  eventLoopUtilization: number;
}

const stepPattern = /^astreinte_stow_step_duration_seconds_(sum|count)\{step="(\w+)"\} (\S+)$/gm;

async function scrapeStepMetrics(origin: string, token: string): Promise<StepMetrics> {
  const response = await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  const text = await response.text();
  const steps = new Map<string, { seconds: number; count: number }>();
  for (const [, field, step, value] of text.matchAll(stepPattern)) {
    const entry = steps.get(step) ?? { seconds: 0, count: 0 };
    if (field === 'sum') entry.seconds = Number(value);
    else entry.count = Number(value);
    steps.set(step, entry);
  }
  return { steps, eventLoopUtilization: Number(/^astreinte_event_loop_utilization (\S+)$/m.exec(text)?.[1] ?? NaN) };
}

const variantSpecs = (process.env.STOW_AB_VARIANTS ?? 'default;orthanc;receiver').split(';').map((v) => v.trim()).filter(Boolean);
const rounds = Number(process.env.STOW_AB_ROUNDS ?? 5);
const perRequest = (process.env.STOW_AB_PER_REQUEST ?? '10,50').split(',').map(Number);
const frameProbe = process.env.STOW_AB_FRAME_PROBE === '1';
const clients = Number(process.env.STOW_AB_CLIENTS ?? 4);
const keep = process.env.STOW_AB_KEEP === '1';
const repoRoot = path.resolve(import.meta.dirname, '..');
const workDir = mkdtempSync(path.join(os.tmpdir(), 'astreinte-stow-ab-'));
chmodSync(workDir, 0o755); // the embedded PostgreSQL runs as another user when we are root

async function startVariant(spec: string, index: number): Promise<Variant> {
  const dir = path.join(workDir, String(index));
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  if (spec === 'orthanc') {
    const server = await startOrthanc(dir, 4);
    return { name: spec, pid: server.pid, processes: server.processes, target: server.target, store: (batch) => stow(server.target, batch), stop: server.stop };
  }
  if (spec === 'receiver') {
    const server = await startLoopbackServer(dir);
    const agent = keepAliveAgent(4);
    const url = `http://127.0.0.1:${server.port}/durable-instances`;
    const store = async (batch: Buffer[]) => {
      const body = stowBody(batch);
      expectStatus(await send(agent, { method: 'POST', url, body: body.chunks, headers: { 'content-type': body.contentType }, keepBody: true }), [200], url);
    };
    return { name: spec, pid: server.pid, processes: () => [server.pid], store, stop: () => (agent.destroy(), server.stop()) };
  }
  const settings = spec === 'default' ? [] : spec.split(',').map((pair): [string, string] => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]);
  const checkout = settings.find(([key]) => key === 'checkout')?.[1] ?? repoRoot;
  const saved = { ...process.env };
  for (const [key, value] of settings) if (key !== 'checkout') process.env[key] = value;
  try {
    const server = await startGateway(checkout, path.join(dir, 'data'), 4);
    const origin = new URL(server.target.root).origin;
    // Checkouts older than the step metrics (2026-12-04) have none: their rows are simply missing.
    const admin = await mintToken(checkout, path.join(dir, 'data'), '--role', 'admin');
    return {
      name: spec,
      pid: server.pid,
      processes: server.processes,
      target: server.target,
      store: (batch) => stow(server.target, batch),
      scrapeSteps: () => scrapeStepMetrics(origin, admin),
      stop: server.stop,
    };
  } finally {
    process.env = saved;
  }
}

function cpuTimes(): { idle: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { idle: fields[3] + fields[4], total: fields.reduce((sum, value) => sum + value, 0) };
}

/** Flush requests completed by the machine's disks (field 18 of /proc/diskstats, Linux >= 5.5). */
function deviceFlushes(): number {
  const disks = new Set(readdirSync('/sys/block').filter((name) => !/^(loop|ram|zram)/.test(name)));
  return readFileSync('/proc/diskstats', 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => disks.has(fields[2]) && fields.length >= 20)
    .reduce((sum, fields) => sum + Number(fields[19]), 0);
}

const results = new Map<string, number[]>();
const note = (key: string, value: number) => results.set(key, [...(results.get(key) ?? []), value]);

const generator = await loadStudyGenerator();
const variants: Variant[] = [];
try {
  for (const [index, spec] of variantSpecs.entries()) variants.push(await startVariant(spec, index));
  const warmUp = await collect(generator.generateCtSeries({ kind: 'ct-chest', slices: 60, rows: 512, columns: 512, seed: 99 }));
  for (const variant of variants) await runPool(chunked(warmUp, 10), 4, (batch) => variant.store(batch));
  for (let round = 0; round < rounds; round++) {
    for (const per of perRequest) {
      const series = await collect(generator.generateCtSeries({ kind: 'ct-chest', slices: 300, rows: 512, columns: 512, seed: 1000 + round * 100 + per }));
      const bytes = series.reduce((sum, instance) => sum + instance.length, 0);
      for (const variant of round % 2 ? [...variants].reverse() : variants) {
        const key = `${variant.name} | ${per} per request`;
        // A viewer in its own process, as a radiologist's is on another machine: the bench's loop is busy sending.
        const viewer = frameProbe && variant.target ? await startFrameViewer(variant.target, warmUp.map(instanceUids)) : undefined;
        const steps0 = await variant.scrapeSteps?.();
        const process0 = cpuByProcess(variant.processes());
        const cpu0 = cpuTimes();
        const flushes0 = deviceFlushes();
        const started = performance.now();
        await runPool(chunked(series, per), clients, (batch) => variant.store(batch));
        const ms = performance.now() - started;
        const cpu1 = cpuTimes();
        const process1 = cpuByProcess(variant.processes());
        const frameMs = (await viewer?.stop()) ?? [];
        note(`${key} | MB/s`, bytes / 1e3 / ms);
        note(`${key} | cores busy`, os.cpus().length * (1 - (cpu1.idle - cpu0.idle) / (cpu1.total - cpu0.total)));
        note(`${key} | CPU ms per instance, server process`, (cpuUsedBetween(process0, process1, variant.pid) * 1000) / series.length);
        note(`${key} | CPU ms per instance, all its processes`, (cpuUsedBetween(process0, process1) * 1000) / series.length);
        note(`${key} | device flushes/s`, ((deviceFlushes() - flushes0) / ms) * 1000);
        const steps1 = await variant.scrapeSteps?.();
        if (steps0 && steps1) {
          note(`${key} | event loop utilization`, steps1.eventLoopUtilization);
          for (const [step, after] of steps1.steps) {
            const before = steps0.steps.get(step) ?? { seconds: 0, count: 0 };
            if (after.count > before.count) note(`${key} | step ${step} ms mean`, ((after.seconds - before.seconds) / (after.count - before.count)) * 1000);
          }
        }
        if (frameMs.length > 0) {
          frameMs.sort((a, b) => a - b);
          note(`${key} | frame p50 ms`, frameMs[frameMs.length >> 1]);
          note(`${key} | frame p95 ms`, frameMs[Math.floor(frameMs.length * 0.95)]);
        }
      }
    }
    console.log(`round ${round + 1} of ${rounds}: ${[...results].filter(([k]) => k.endsWith('MB/s')).map(([k, v]) => `${k.replace(' | MB/s', '')} ${v.at(-1)!.toFixed(0)}`).join(', ')}`);
  }
} finally {
  for (const variant of variants) await variant.stop();
  if (keep) console.log(`kept ${workDir} (each variant's data directory and log)`);
  else rmSync(workDir, { recursive: true, force: true });
}
const digits = (key: string) => (key.endsWith('cores busy') || key.includes('per instance') || key.endsWith('utilization') ? 2 : key.includes('| step ') ? 1 : 0);
for (const [key, values] of [...results].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`${key.padEnd(60)} median ${median(values).toFixed(digits(key)).padStart(6)}   rounds ${values.map((v) => v.toFixed(digits(key))).join(' ')}`);
}
