/**
 * "Send this study to AE X" end to end, on loopback: a site stores a CT series (STOW-RS) in a real gateway; an
 * administrator sends it (POST /api/studies/{study}/send) to DICOM peers declared in the regional
 * configuration; DCMTK's storescp and Orthanc receive every instance with its data set byte for byte; a peer
 * that refuses the association ends `failed` after its tries, one that is down and then comes back ends `done`
 * after retries; the export is in the audit trail (110106).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureOrthancInstalled, startOrthanc } from '../../bench/orthanc-peer.ts';
import { generateCtSeries, patientFor, SITES } from '../../test-data/generate-study.ts';
import { runDcmtk } from '../support/dcmtk.ts';
import { multipartRequest } from '../support/dicomweb-http.ts';
import { freePort } from '../support/free-port.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const SLICES = 5;
let workDir: string;
let gateway: GatewayProcess;
let orthanc: Awaited<ReturnType<typeof startOrthanc>>;
const storescps: ChildProcess[] = [];
let storescpPort: number;
let latePort: number;
let admin: string;
let studyUid: string;
/** SOP Instance UID -> the data set (after the File Meta Information) the site sent. */
const sent = new Map<string, Buffer>();

interface SendAnswer {
  id: string;
  status: string;
  attempts: number;
  instances: { total: number; stored: number; failed: number };
  lastError: string | null;
  instanceResults?: { sopInstanceUID: string; status: string | null; stored: boolean }[];
}

/** The data set of a Part 10 file: after the preamble, DICM and the File Meta group (its length in (0002,0000)). */
function dataSetOf(file: Buffer): Buffer {
  expect(file.toString('latin1', 128, 132)).toBe('DICM');
  expect(file.readUInt16LE(132)).toBe(0x0002);
  expect(file.readUInt16LE(134)).toBe(0x0000);
  return file.subarray(144 + file.readUInt32LE(140));
}

/** The SOP Instance UID in a Part 10 file's File Meta (0002,0003). */
function sopInstanceOf(file: Buffer): string {
  let offset = 132;
  while (file.readUInt16LE(offset) === 0x0002) {
    const element = file.readUInt16LE(offset + 2);
    const vr = file.toString('latin1', offset + 4, offset + 6);
    const long = ['OB', 'OW', 'UN', 'SQ', 'UT'].includes(vr);
    const length = long ? file.readUInt32LE(offset + 8) : file.readUInt16LE(offset + 6);
    const start = offset + (long ? 12 : 8);
    if (element === 0x0003) return file.toString('latin1', start, start + length).replace(/[\0 ]+$/, '');
    offset = start + length;
  }
  throw new Error('no Media Storage SOP Instance UID');
}

function startStorescp(aeTitle: string, port: number, dir: string): ChildProcess {
  const child = spawn('storescp', ['--aetitle', aeTitle, '--output-directory', dir, '--filename-extension', '.dcm', '+xa', String(port)], { stdio: 'ignore' });
  storescps.push(child);
  return child;
}

async function waitForEcho(aeTitle: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await runDcmtk('echoscu', ['-aec', aeTitle, '127.0.0.1', String(port)], 5_000)).code === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`storescp ${aeTitle} did not answer on ${port}`);
}

async function call(method: string, route: string, body?: unknown, token = admin): Promise<{ status: number; json: SendAnswer & { sends: SendAnswer[] } & { detail?: string } }> {
  const response = await fetch(`${gateway.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as SendAnswer & { sends: SendAnswer[] } };
}

async function sendAndWait(peer: string, until: (a: SendAnswer) => boolean = (a) => !['pending', 'sending'].includes(a.status), timeoutMs = 40_000): Promise<SendAnswer> {
  const requested = await call('POST', `/api/studies/${studyUid}/send`, { peer });
  expect(requested.status).toBe(202);
  expect(requested.json.status).toBe('pending');
  const deadline = Date.now() + timeoutMs;
  let answer = requested.json as SendAnswer;
  while (!until(answer) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    answer = (await call('GET', `/api/sends/${requested.json.id}`)).json;
  }
  return (await call('GET', `/api/sends/${requested.json.id}`)).json;
}

beforeAll(async () => {
  const missing = ensureOrthancInstalled(repoRoot);
  if (missing) throw new Error(missing);
  workDir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-study-send-'));
  await mkdir(path.join(workDir, 'scp'));
  storescpPort = await freePort();
  latePort = await freePort();
  startStorescp('SEND_SCP', storescpPort, path.join(workDir, 'scp'));
  orthanc = await startOrthanc(path.join(workDir, 'orthanc'), 1, { dicomServer: true });
  await waitForEcho('SEND_SCP', storescpPort);

  const example = await readFile(path.join(repoRoot, 'config/examples/midi-pyrenees.yaml'), 'utf8');
  const peers = [
    `  - { id: pacs-dcmtk, name: PACS DCMTK, aeTitle: SEND_SCP, target: "dicom://127.0.0.1:${storescpPort}" }`,
    `  - { id: pacs-orthanc, aeTitle: ORTHANC, target: "dicom://127.0.0.1:${orthanc.dicomPort}", callingAeTitle: ASTREINTE_TEST }`,
    `  - { id: wrong-ae, aeTitle: NOT_ORTHANC, target: "dicom://127.0.0.1:${orthanc.dicomPort}" }`,
    `  - { id: late-peer, aeTitle: LATE_SCP, target: "dicom://127.0.0.1:${latePort}" }`,
  ].join('\n');
  const configFile = path.join(workDir, 'region.yaml');
  expect(example).toContain('\ndicomPeers:\n');
  await writeFile(configFile, example.replace('\ndicomPeers:\n', `\ndicomPeers:\n${peers}\n`));
  gateway = await startGateway({
    env: { ASTREINTE_CONFIG: configFile, ASTREINTE_DELIVERY_ATTEMPTS: '5', ASTREINTE_DELIVERY_BACKOFF_SECONDS: '0.5' },
  });
  admin = await gateway.token('--role', 'admin');

  const instances = [...generateCtSeries({ kind: 'ct-head', slices: SLICES, rows: 64, columns: 64, seed: 'study-send', site: SITES['saint-girons'], patient: patientFor('study-send') })];
  for (const file of instances) sent.set(sopInstanceOf(file), dataSetOf(file));
  const sender = await gateway.token('--role', 'sender', '--site', '090000050');
  const { body, contentType } = multipartRequest(instances);
  const stored = await fetch(`${gateway.dicomweb}/studies`, { method: 'POST', headers: { authorization: `Bearer ${sender}`, 'content-type': contentType }, body });
  expect(stored.status).toBe(200);
  const answer = (await stored.json()) as { '00081190'?: { Value: string[] } };
  studyUid = /studies\/([0-9.]+)/.exec(answer['00081190']!.Value[0])![1];
}, 180_000);

afterAll(async () => {
  await gateway?.dispose();
  for (const child of storescps) child.kill('SIGTERM');
  await orthanc?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('send a study to a DICOM peer', () => {
  it('DCMTK storescp receives every instance, its data set byte for byte, over one association', async () => {
    const result = await sendAndWait('pacs-dcmtk');
    expect(result).toMatchObject({ status: 'done', attempts: 1, instances: { total: SLICES, stored: SLICES, failed: 0 }, lastError: null });
    expect(result.instanceResults).toHaveLength(SLICES);
    expect(result.instanceResults!.every((r) => r.status === '0x0000' && r.stored)).toBe(true);
    const files = (await readdir(path.join(workDir, 'scp'))).filter((f) => f.endsWith('.dcm'));
    expect(files).toHaveLength(SLICES);
    for (const name of files) {
      const file = await readFile(path.join(workDir, 'scp', name));
      const expected = sent.get(sopInstanceOf(file));
      expect(expected).toBeDefined();
      expect(dataSetOf(file).equals(expected!)).toBe(true);
    }
    const listed = await call('GET', `/api/studies/${studyUid}/sends`);
    expect(listed.status).toBe(200);
    expect(listed.json.sends.map((s) => [s.id, s.status])).toContainEqual([result.id, 'done']);
  }, 60_000);

  it('Orthanc receives the whole study and serves back the same data sets', async () => {
    const result = await sendAndWait('pacs-orthanc');
    expect(result).toMatchObject({ status: 'done', instances: { total: SLICES, stored: SLICES, failed: 0 } });
    const origin = orthanc.target.root.replace(/\/dicom-web$/, '');
    const instances = (await (await fetch(`${origin}/studies/${await orthancStudyId(origin)}/instances`)).json()) as { ID: string }[];
    expect(instances).toHaveLength(SLICES);
    for (const instance of instances) {
      const file = Buffer.from(await (await fetch(`${origin}/instances/${instance.ID}/file`)).arrayBuffer());
      expect(dataSetOf(file).equals(sent.get(sopInstanceOf(file))!)).toBe(true);
    }
  }, 60_000);

  it('a peer refusing the association: failed after every try, with the reason', async () => {
    const result = await sendAndWait('wrong-ae');
    expect(result.status).toBe('failed');
    expect(result.attempts).toBe(5);
    expect(result.instances.stored).toBe(0);
    expect(result.lastError).toMatch(/^association refused by NOT_ORTHANC@127\.0\.0\.1:\d+: .*rejected the association \(result 1, source 1, reason 7\)/);
  }, 60_000);

  it('a peer that is down, then comes back: retried, then done', async () => {
    const dir = path.join(workDir, 'late');
    await mkdir(dir);
    const result = await sendAndWait('late-peer', (a) => a.attempts >= 2 && a.status === 'pending');
    expect(result.status).toBe('pending');
    expect(result.lastError).toMatch(/^C-STORE to LATE_SCP@127\.0\.0\.1:\d+ failed: DICOM connection to 127\.0\.0\.1:\d+ failed/);
    startStorescp('LATE_SCP', latePort, dir);
    await waitForEcho('LATE_SCP', latePort);
    const deadline = Date.now() + 30_000;
    let answer = result;
    while (answer.status !== 'done' && answer.status !== 'failed' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      answer = (await call('GET', `/api/sends/${result.id}`)).json;
    }
    expect(answer).toMatchObject({ status: 'done', instances: { total: SLICES, stored: SLICES, failed: 0 } });
    expect(answer.attempts).toBeGreaterThanOrEqual(3);
    expect((await readdir(dir)).filter((f) => f.endsWith('.dcm'))).toHaveLength(SLICES);
  }, 90_000);

  it('refuses an unknown peer, an unknown study and a non-administrator', async () => {
    const unknownPeer = await call('POST', `/api/studies/${studyUid}/send`, { peer: 'nowhere' });
    expect(unknownPeer.status).toBe(404);
    expect(unknownPeer.json.detail).toContain('pacs-dcmtk, pacs-orthanc, wrong-ae, late-peer, pacs-chu-purpan');
    expect((await call('POST', '/api/studies/1.2.3.4/send', { peer: 'pacs-dcmtk' })).status).toBe(404);
    expect((await call('POST', `/api/studies/${studyUid}/send`, {})).status).toBe(400);
    const coordinator = await gateway.token('--role', 'coordinator', '--territory', 'ariege');
    expect((await call('POST', `/api/studies/${studyUid}/send`, { peer: 'pacs-dcmtk' }, coordinator)).status).toBe(403);
  });

  it('records the export in the audit trail (110106) with the study and the peer', async () => {
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const exported = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [path.join(repoRoot, 'bin/astreinte.cjs'), 'audit', 'export', '--from', from, '--to', to], { cwd: repoRoot, env: gateway.env, maxBuffer: 64 * 1024 * 1024 }, (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out))),
    );
    const exports = exported.split('\n').filter((line) => line.includes('110106') && line.includes(studyUid));
    expect(exports.some((line) => line.includes('study-send-requested') && line.includes('pacs-dcmtk'))).toBe(true);
    expect(exports.some((line) => line.includes('study-sent') && line.includes('pacs-dcmtk'))).toBe(true);
    expect(exports.some((line) => line.includes('study-send-failed') && line.includes('wrong-ae'))).toBe(true);
  }, 60_000);
});

async function orthancStudyId(origin: string): Promise<string> {
  const found = (await (await fetch(`${origin}/tools/find`, { method: 'POST', body: JSON.stringify({ Level: 'Study', Query: { StudyInstanceUID: studyUid } }) })).json()) as string[];
  expect(found).toHaveLength(1);
  return found[0];
}
