// `npm run bench:dimse`: only the DICOM C-STORE workload of `npm run bench` (bench/dimse-workload.ts), our gateway
// and Orthanc in turns on the same files, with the ratios. BENCH_QUICK=1: 100 slices of 128², else 300 of 512²;
// BENCH_DIMSE_SLICES=2000 sends a study of about 1 GB (the memory goal: flat while it arrives).
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dimseWorkloads } from './dimse-workload.ts';
import { startGateway } from './gateway-peer.ts';
import { ensureOrthancInstalled, startOrthanc } from './orthanc-peer.ts';
import type { RunningServer } from './server-process.ts';
import type { Metric } from './workloads.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.env.BENCH_QUICK === '1';
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

const workDir = mkdtempSync(path.join(os.tmpdir(), 'astreinte-dimse-bench-'));
chmodSync(workDir, 0o755);
const results = new Map<string, Metric[]>();
try {
  const missing = ensureOrthancInstalled(repoRoot);
  if (missing) throw new Error(missing);
  const options = { dataDir: path.join(workDir, 'data'), slices: Number(process.env.BENCH_DIMSE_SLICES) || (quick ? 100 : 300), matrix: quick ? 128 : 512, log };
  const starts: [string, () => Promise<RunningServer>][] = [
    ['astreinte', () => startGateway(repoRoot, path.join(workDir, 'astreinte', 'data'), 4)],
    ['orthanc', () => startOrthanc(path.join(workDir, 'orthanc'), 4, { dicomServer: true })],
  ];
  for (const [name, start] of starts) {
    mkdirSync(path.join(workDir, name), { recursive: true });
    log(`starting ${name}`);
    const server = await start();
    try {
      results.set(name, await dimseWorkloads(server, options));
    } finally {
      server.target.agent.destroy();
      await server.stop();
    }
  }
  const ours = results.get('astreinte')!;
  const peer = results.get('orthanc')!;
  for (const metric of ours) {
    const other = peer.find((m) => m.key === metric.key)!;
    const ratio = metric.higherIsBetter ? metric.value / other.value : other.value / metric.value;
    process.stdout.write(
      `${metric.label.padEnd(72)} astreinte ${metric.value.toFixed(1).padStart(8)} ${metric.unit.padEnd(6)} orthanc ${other.value.toFixed(1).padStart(8)}  ×${ratio.toFixed(2)}${metric.higherIsBetter ? '' : ' (lower is better)'}\n`,
    );
  }
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
