// DICOM C-STORE throughput: DCMTK's storescu sends a CT series over one association, then another series over 4
// associations in parallel, to each server's C-STORE SCP (both durable: each instance is on disk and indexed before
// its success status). The same files go to every server (fresh storage each), so the figures compare as ratios.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateCtSeries } from '../test-data/generate-study.ts';
import { sampleTreeRss } from './process-memory.ts';
import type { RunningServer } from './server-process.ts';
import type { Metric } from './workloads.ts';

export interface DimseWorkloadOptions {
  /** Where the series are written once and reused for every server. */
  dataDir: string;
  slices: number;
  matrix: number;
  log: (line: string) => void;
}

const PARALLEL = 4;

/** Writes (once) a series as Part 10 files in `folders` folders, slices dealt in turn. */
function seriesFolders(options: DimseWorkloadOptions, seed: string, folders: number): { dirs: string[]; bytes: number; count: number } {
  const root = path.join(options.dataDir, `${seed}-${folders}`);
  const dirs = Array.from({ length: folders }, (_, i) => path.join(root, String(i)));
  if (!existsSync(root)) {
    for (const dir of dirs) mkdirSync(dir, { recursive: true });
    let i = 0;
    for (const bytes of generateCtSeries({ kind: 'ct-chest', slices: options.slices, rows: options.matrix, columns: options.matrix, seed })) {
      writeFileSync(path.join(dirs[i % folders], `${String(i).padStart(5, '0')}.dcm`), bytes);
      i += 1;
    }
  }
  let bytes = 0;
  let count = 0;
  for (const dir of dirs) {
    for (const name of readdirSync(dir)) {
      bytes += statSync(path.join(dir, name)).size;
      count += 1;
    }
  }
  return { dirs, bytes, count };
}

function storescu(server: NonNullable<RunningServer['dimse']>, dir: string): Promise<{ stored: number; output: string }> {
  return new Promise((resolve) => {
    const args = ['-d', '+sd', '-R', '-xe', '-aet', server.callingAeTitle, '-aec', server.aeTitle, '127.0.0.1', String(server.port), dir];
    execFile('storescu', args, { maxBuffer: 256 << 20, timeout: 30 * 60_000 }, (_error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      const stored = [...output.matchAll(/DIMSE Status\s*:\s*0x0000/g)].length;
      resolve({ stored, output });
    });
  });
}

export async function dimseWorkloads(server: RunningServer, options: DimseWorkloadOptions): Promise<Metric[]> {
  const dimse = server.dimse;
  if (!dimse) throw new Error(`${server.name} has no DICOM C-STORE SCP`);
  const metrics: Metric[] = [];
  for (const associations of [1, PARALLEL]) {
    const series = seriesFolders(options, `dimse-bench-${associations}`, associations);
    options.log(`  storescu: ${series.count} instances over ${associations} association(s) to ${server.name}`);
    const memory = sampleTreeRss(() => [server.pid], 100);
    const started = performance.now();
    const runs = await Promise.all(series.dirs.map((dir) => storescu(dimse, dir)));
    const wallMs = performance.now() - started;
    const peakRss = memory.stop();
    const stored = runs.reduce((sum, r) => sum + r.stored, 0);
    if (stored !== series.count) {
      throw new Error(`${stored} of ${series.count} instances answered with success over ${associations} association(s): ${runs[0].output.slice(-800)}`);
    }
    const what = associations === 1 ? 'one association' : `${associations} associations in parallel`;
    const detail = `${series.count} CT slices ${options.matrix}², storescu`;
    metrics.push(
      { key: `dimse.${associations}.ips`, label: `C-STORE of a CT series over ${what}`, unit: 'inst/s', value: (series.count * 1000) / wallMs, higherIsBetter: true, detail },
      { key: `dimse.${associations}.mbps`, label: `C-STORE of a CT series over ${what}`, unit: 'MB/s', value: series.bytes / 1e6 / (wallMs / 1000), higherIsBetter: true, detail },
      { key: `dimse.${associations}.rss`, label: `Peak RSS of the server process during the C-STORE over ${what}`, unit: 'MB', value: peakRss / 1e6, higherIsBetter: false },
    );
  }
  return metrics;
}
