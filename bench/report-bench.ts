// Reports: signing throughput and sign -> delivered latency on loopback. A real gateway delivers each signed
// report to a private Orthanc (STOW-RS of the SR and the PDF) and to an MLLP listener that acknowledges (AA).
// The peer figure, in the same run: the same two objects sent to the same Orthanc by this client directly.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort } from '../test/support/free-port.ts';
import { startGateway } from '../test/support/gateway-process.ts';
import { startTestPostgres } from '../test/support/postgres.ts';
import { generateCtSeries, patientFor, SITES } from '../test-data/generate-study.ts';
import { multipartRequest, parseMultipart } from '../test/support/dicomweb-http.ts';
import { startOrthanc } from './orthanc-peer.ts';
import { percentile } from './stats.ts';

export interface ReportBenchResult {
  reports: number;
  /** Reports signed per second, signing one after the other (each: SR, PDF, two instances stored, one transaction). */
  signedPerSecond: number;
  signP50: number;
  signP95: number;
  /** From the sign response to both deliveries seen delivered (STOW-RS to Orthanc and ORU^R01 over MLLP). */
  deliveredP50: number;
  deliveredP95: number;
  /** The peer: the same SR and PDF sent by STOW-RS to the same Orthanc directly, p50 / p95. */
  directStowP50: number;
  directStowP95: number;
}

const SAINT_GIRONS = '090000050';
const READER = '10009000011';

export async function benchReports(repoRoot: string, count: number, log: (line: string) => void): Promise<ReportBenchResult> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-bench-reports-'));
  const postgres = await startTestPostgres();
  const orthanc = await startOrthanc(path.join(workDir, 'orthanc'), 2);
  const ris = net.createServer((socket) => {
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf(Buffer.from([0x1c, 0x0d]));
      if (end < 0) return;
      const controlId = buffer.subarray(1, end).toString('utf8').split('\r')[0].split('|')[9];
      buffer = buffer.subarray(end + 2);
      socket.write(Buffer.from(`\x0bMSH|^~\\&|RIS|SG|ASTREINTE|R|20261122||ACK|a|P|2.5.1\rMSA|AA|${controlId}\r\x1c\r`, 'binary'));
    });
  });
  const risPort = await freePort();
  await new Promise<void>((resolve) => ris.listen(risPort, '127.0.0.1', resolve));
  const example = await readFile(path.join(repoRoot, 'config/examples/midi-pyrenees.yaml'), 'utf8');
  const configFile = path.join(workDir, 'region.yaml');
  await writeFile(
    configFile,
    example.replace(
      'reportDestinations: [{ kind: hl7-mllp, target: "mllp://sih.ch-saint-girons.example:2575" }]',
      `reportDestinations:\n      - { id: pacs, kind: dicomweb, target: "${orthanc.target.root}" }\n      - { id: ris, kind: hl7-mllp, target: "mllp://127.0.0.1:${risPort}" }`,
    ),
  );
  const gateway = await startGateway({
    env: { DATABASE_URL: postgres.url, ASTREINTE_CONFIG: configFile, ASTREINTE_NOW: '2026-11-22T02:10:00+01:00', ASTREINTE_STABILITY_SECONDS: '1', ASTREINTE_ROUTING_SWEEP_SECONDS: '1', RATE_LIMIT_RPS: '0', LOG_LEVEL: 'error' },
  });
  try {
    const sender = await gateway.token('--role', 'sender', '--site', SAINT_GIRONS);
    const reader = await gateway.token('--role', 'reader', '--user', READER, '--rpps', READER);
    const api = async (token: string, method: string, route: string, body?: unknown) => {
      const response = await fetch(`${gateway.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      if (response.status >= 300) throw new Error(`${method} ${route}: ${response.status} ${text.slice(0, 300)}`);
      return text ? JSON.parse(text) : undefined;
    };
    log(`reports: storing and routing ${count} studies`);
    const parts = Array.from({ length: count }, (_, i) => generateCtSeries({ kind: 'ct-head', slices: 1, rows: 64, columns: 64, seed: `bench-report-${i}`, site: SITES['saint-girons'], patient: patientFor(`bench-report-${i}`) }).next().value as Buffer);
    const { body, contentType } = multipartRequest(parts);
    const stored = await fetch(`${gateway.dicomweb}/studies`, { method: 'POST', headers: { authorization: `Bearer ${sender}`, 'content-type': contentType }, body });
    if (stored.status !== 200) throw new Error(`storing the bench studies answered ${stored.status}`);
    let items: { id: string }[] = [];
    const deadline = Date.now() + 120_000;
    while (items.length < count && Date.now() < deadline) {
      items = ((await api(reader, 'GET', '/api/worklist?scope=mine&limit=2000')) as { items: { id: string; status: string }[] }).items.filter((i) => i.status === 'SCHEDULED');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    if (items.length < count) throw new Error(`only ${items.length} of ${count} studies were routed`);
    for (const item of items) await api(reader, 'POST', `/api/worklist/${item.id}/claim`);

    const content = { template: 'general', indication: 'Céphalées brutales.', findings: "Pas d'hémorragie.", conclusion: 'Examen normal.' };
    const signMs: number[] = [];
    const signed: { id: string; at: number }[] = [];
    const delivered = new Map<string, number>();
    let watching = true;
    const watcher = (async () => {
      while (watching || delivered.size < signed.length) {
        for (const s of signed.filter((x) => !delivered.has(x.id))) {
          const r = (await api(sender, 'GET', `/api/reports/${s.id}`)) as { versions: { deliveries: { status: string }[] }[] };
          if (r.versions[0].deliveries.every((d) => d.status === 'delivered')) delivered.set(s.id, performance.now() - s.at);
          if (r.versions[0].deliveries.some((d) => d.status === 'failed')) throw new Error(`report ${s.id} could not be delivered`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    log(`reports: signing ${count} reports one after the other`);
    const started = performance.now();
    for (const item of items) {
      const t0 = performance.now();
      const report = (await api(reader, 'POST', `/api/worklist/${item.id}/report/sign`, { content })) as { id: string };
      const t1 = performance.now();
      signMs.push(t1 - t0);
      signed.push({ id: report.id, at: t1 });
    }
    const signingMs = performance.now() - started;
    watching = false;
    await watcher;
    const deliveredMs = [...delivered.values()];

    // The peer: this client sends one report's SR and PDF to Orthanc directly, as many times.
    const first = (await api(sender, 'GET', `/api/reports/${signed[0].id}`)) as {
      studyInstanceUID: string;
      versions: { objects: Record<'sr' | 'pdf', { seriesInstanceUID: string; sopInstanceUID: string }> }[];
    };
    const objects: Buffer[] = [];
    for (const o of Object.values(first.versions[0].objects)) {
      const r = await fetch(`${gateway.dicomweb}/studies/${first.studyInstanceUID}/series/${o.seriesInstanceUID}/instances/${o.sopInstanceUID}`, { headers: { authorization: `Bearer ${sender}` } });
      objects.push(parseMultipart(Buffer.from(await r.arrayBuffer()), r.headers.get('content-type')!)[0].body);
    }
    const direct: number[] = [];
    for (let i = 0; i < count; i++) {
      const request = multipartRequest(objects);
      const t0 = performance.now();
      const r = await fetch(`${orthanc.target.root}/studies`, { method: 'POST', headers: { 'content-type': request.contentType }, body: request.body });
      await r.arrayBuffer();
      direct.push(performance.now() - t0);
    }
    return {
      reports: count,
      signedPerSecond: (count * 1000) / signingMs,
      signP50: percentile(signMs, 50),
      signP95: percentile(signMs, 95),
      deliveredP50: percentile(deliveredMs, 50),
      deliveredP95: percentile(deliveredMs, 95),
      directStowP50: percentile(direct, 50),
      directStowP95: percentile(direct, 95),
    };
  } finally {
    await gateway.dispose();
    await orthanc.stop();
    await new Promise((resolve) => ris.close(resolve));
    await postgres.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

export function reportBenchLines(r: ReportBenchResult): string[] {
  return [
    `${r.reports} reports signed one after the other: ${r.signedPerSecond.toFixed(1)} reports/s (sign p50 ${r.signP50.toFixed(0)} ms, p95 ${r.signP95.toFixed(0)} ms)`,
    `sign -> delivered to Orthanc (STOW-RS) and to an MLLP RIS (ORU^R01): p50 ${r.deliveredP50.toFixed(0)} ms, p95 ${r.deliveredP95.toFixed(0)} ms ` +
      `(peer: the same SR and PDF sent to Orthanc directly, p50 ${r.directStowP50.toFixed(0)} ms, p95 ${r.directStowP95.toFixed(0)} ms; ` +
      `${(r.deliveredP95 / r.directStowP95).toFixed(1)}x at p95)`,
  ];
}
