/**
 * An administrator sends a stored study to DICOM peers of the regional configuration (POST
 * /api/studies/{study}/send): the worker's C-STORE SCU delivers every instance, byte for byte, to peers nobody
 * here wrote (DCMTK's storescp, Orthanc's DICOM server); a peer refusing the association fails after its tries,
 * a peer down at first is reached when it comes back; each outcome is on GET /api/studies/{study}/sends and in
 * the audit trail (110106 Export).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureOrthancInstalled, startOrthanc } from '../../bench/orthanc-peer.ts';
import type { RunningServer } from '../../bench/server-process.ts';
import { generateCtSeries, SITES } from '../../test-data/generate-study.ts';
import { multipartRequest } from '../support/dicomweb-http.ts';
import { freePort } from '../support/free-port.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { startTestPostgres, type TestPostgres } from '../support/postgres.ts';
import { until } from '../support/until.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const SAINT_GIRONS = '090000050';

let workDir: string;
let postgres: TestPostgres;
let orthanc: RunningServer & { dicomPort: number };
let gateway: GatewayProcess;
const storescps: ChildProcess[] = [];
let storescpDir: string;
let latePort: number;
let lateDir: string;
let admin: string;
let sender: string;
let coordinator: string;
let study: { uid: string; slices: Buffer[] };

function startStorescp(aeTitle: string, port: number, dir: string): ChildProcess {
  const child = spawn('storescp', ['--aetitle', aeTitle, '--output-directory', dir, '--filename-extension', '.dcm', '+xa', String(port)], { stdio: 'ignore' });
  storescps.push(child);
  return child;
}

/** The data set of a Part 10 file: what follows its File Meta Information (group 0002, explicit VR little endian). */
function dataSetOf(file: Buffer): Buffer {
  let offset = 132;
  while (file.readUInt16LE(offset) === 0x0002) {
    const vr = file.toString('latin1', offset + 4, offset + 6);
    const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
    offset += long ? 12 + file.readUInt32LE(offset + 8) : 8 + file.readUInt16LE(offset + 6);
  }
  return file.subarray(offset);
}

async function api(token: string, method: string, route: string, body?: unknown) {
  const response = await fetch(`${gateway.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

interface SendJson {
  id: string;
  status: string;
  attempts: number;
  instances: number | null;
  stored: number | null;
  lastError: string | null;
  peer: { id: string };
}

async function finished(id: string): Promise<SendJson> {
  return until(`send ${id} finished`, async () => {
    const sends = (await api(admin, 'GET', `/api/studies/${study.uid}/sends`)).json.sends as SendJson[];
    const send = sends.find((s) => s.id === id);
    return send && ['done', 'partly-failed', 'failed'].includes(send.status) ? send : undefined;
  }, 60_000).catch(async (error: unknown) => {
    console.log(JSON.stringify((await api(admin, 'GET', `/api/studies/${study.uid}/sends`)).json), gateway.output().split('\n').filter((l) => /send|error|Error/i.test(l)).slice(-30).join('\n'));
    throw error;
  });
}

beforeAll(async () => {
  const missing = ensureOrthancInstalled(repoRoot);
  if (missing) throw new Error(missing);
  workDir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-study-send-'));
  postgres = await startTestPostgres();
  orthanc = await startOrthanc(path.join(workDir, 'orthanc'), 1, { dicomServer: true });
  storescpDir = path.join(workDir, 'storescp');
  lateDir = path.join(workDir, 'late');
  await mkdir(storescpDir);
  await mkdir(lateDir);
  const storescpPort = await freePort();
  startStorescp('SEND_PACS', storescpPort, storescpDir);
  latePort = await freePort();

  const example = await readFile(path.join(repoRoot, 'config/examples/midi-pyrenees.yaml'), 'utf8');
  const peers = [
    'dicomPeers:',
    `  - { id: archive, aeTitle: SEND_PACS, target: "dicom://127.0.0.1:${storescpPort}" }`,
    `  - { id: orthanc, aeTitle: ORTHANC, target: "dicom://127.0.0.1:${orthanc.dicomPort}" }`,
    `  - { id: refusing, aeTitle: NOT_ORTHANC, target: "dicom://127.0.0.1:${orthanc.dicomPort}" }`,
    `  - { id: late, aeTitle: LATE_PACS, target: "dicom://127.0.0.1:${latePort}" }`,
  ].join('\n');
  const configFile = path.join(workDir, 'region.yaml');
  await writeFile(configFile, `${example.slice(0, example.indexOf('dicomPeers:'))}${peers}\n`);

  gateway = await startGateway({
    env: {
      DATABASE_URL: postgres.url,
      ASTREINTE_CONFIG: configFile,
      ASTREINTE_DELIVERY_ATTEMPTS: '4',
      ASTREINTE_DELIVERY_BACKOFF_SECONDS: '0.5',
      ASTREINTE_ROUTING_SWEEP_SECONDS: '1',
    },
  });
  admin = await gateway.token('--role', 'admin', '--user', 'admin-region');
  sender = await gateway.token('--role', 'sender', '--site', SAINT_GIRONS);
  coordinator = await gateway.token('--role', 'coordinator', '--user', 'coord-ariege', '--territory', 'ariege');

  const slices = [...generateCtSeries({ kind: 'ct-head', slices: 6, rows: 64, columns: 64, seed: 'study-send', site: SITES['saint-girons'] })];
  const { body, contentType } = multipartRequest(slices);
  const stored = await fetch(`${gateway.dicomweb}/studies`, { method: 'POST', headers: { authorization: `Bearer ${sender}`, 'content-type': contentType }, body });
  expect(stored.status).toBe(200);
  const metadata = (await stored.json()) as { '00081190': { Value: string[] } };
  study = { uid: metadata['00081190'].Value[0].split('/studies/')[1], slices };
}, 120_000);

afterAll(async () => {
  await gateway?.dispose();
  for (const child of storescps) child.kill('SIGTERM');
  await orthanc?.stop();
  await postgres?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('sending a study to a DICOM peer', () => {
  it('delivers every instance to storescp, data sets byte-identical, and says so', async () => {
    const requested = await api(admin, 'POST', `/api/studies/${study.uid}/send`, { peer: 'archive' });
    expect(requested.status).toBe(202);
    expect(requested.json).toMatchObject({ status: 'pending', peer: { id: 'archive', aeTitle: 'SEND_PACS' }, requestedBy: 'admin-region' });
    const send = await finished(requested.json.id);
    expect(send).toMatchObject({ status: 'done', instances: 6, stored: 6, attempts: 1, lastError: null });
    const received = (await readdir(storescpDir)).filter((f) => f.endsWith('.dcm'));
    expect(received).toHaveLength(6);
    const sent = new Set(study.slices.map((s) => dataSetOf(s).toString('base64')));
    for (const file of received) expect(sent.has(dataSetOf(await readFile(path.join(storescpDir, file))).toString('base64'))).toBe(true);
  });

  it("delivers it to Orthanc's DICOM server, which serves the same data sets back", async () => {
    const requested = await api(admin, 'POST', `/api/studies/${study.uid}/send`, { peer: 'orthanc' });
    expect((await finished(requested.json.id)).status).toBe('done');
    const origin = orthanc.target.root.replace(/\/dicom-web$/, '');
    const instances = (await (await fetch(`${origin}/instances`)).json()) as string[];
    expect(instances).toHaveLength(6);
    const sent = new Set(study.slices.map((s) => dataSetOf(s).toString('base64')));
    for (const id of instances) {
      const file = Buffer.from(await (await fetch(`${origin}/instances/${id}/file`)).arrayBuffer());
      expect(sent.has(dataSetOf(file).toString('base64'))).toBe(true);
    }
  });

  it('fails after its tries when the peer refuses the association, naming why', async () => {
    const requested = await api(admin, 'POST', `/api/studies/${study.uid}/send`, { peer: 'refusing' });
    const send = await finished(requested.json.id);
    expect(send.status).toBe('failed');
    expect(send.attempts).toBe(4);
    expect(send.lastError).toMatch(/NOT_ORTHANC rejected the association/);
  });

  it('reaches a peer that was down when it comes back', async () => {
    const requested = await api(admin, 'POST', `/api/studies/${study.uid}/send`, { peer: 'late' });
    await until('a failed try', async () => {
      const sends = (await api(admin, 'GET', `/api/studies/${study.uid}/sends`)).json.sends as SendJson[];
      const send = sends.find((s) => s.id === requested.json.id);
      return send?.status === 'retrying' ? send : undefined;
    });
    startStorescp('LATE_PACS', latePort, lateDir);
    const send = await finished(requested.json.id);
    expect(send).toMatchObject({ status: 'done', stored: 6 });
    expect(send.attempts).toBeGreaterThan(1);
    expect((await readdir(lateDir)).filter((f) => f.endsWith('.dcm'))).toHaveLength(6);
  });

  it('refuses an unknown peer, a study not in the archive, and anyone but an administrator', async () => {
    const unknown = await api(admin, 'POST', `/api/studies/${study.uid}/send`, { peer: 'nowhere' });
    expect(unknown.status).toBe(400);
    expect(unknown.json.detail).toContain('known peers: archive, orthanc, refusing, late');
    expect((await api(admin, 'POST', '/api/studies/1.2.3.4.5/send', { peer: 'archive' })).status).toBe(404);
    for (const token of [sender, coordinator]) {
      const refused = await api(token, 'POST', `/api/studies/${study.uid}/send`, { peer: 'archive' });
      expect(refused.status).toBe(403);
      expect(refused.json.detail).toBe('Only an administrator can send a study to a DICOM peer.');
      expect((await api(token, 'GET', `/api/studies/${study.uid}/sends`)).status).toBe(403);
    }
  });

  it('records each outcome in the audit trail as an export of the study', async () => {
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const events = await client.query<{ event: { subtype: string; outcome: number; entities: { studyUid?: string }[] } }>(
        "SELECT event FROM audit_event WHERE type_code = '110106' AND event->>'subtype' IN ('study-sent', 'study-send-failed') ORDER BY seq",
      );
      expect(events.rows.map((r) => r.event.subtype)).toEqual(['study-sent', 'study-sent', 'study-send-failed', 'study-sent']);
      for (const row of events.rows) expect(row.event.entities[0].studyUid).toBe(study.uid);
    } finally {
      await client.end();
    }
  });
});
