/**
 * Deflated Explicit VR Little Endian (1.2.840.10008.1.2.1.99, issue 13) against a real gateway: files deflated by
 * DCMTK (dcmconv +td) from the shared samples and from a generated CT slice, stored by STOW-RS and by storescu
 * proposing the deflated syntax. Each is compared with its undeflated twin (dcmconv +te) stored under another SOP
 * Instance UID: the instance comes back byte-identical, its metadata, frames and rendering equal the twin's.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCtSeries, SITES } from '../../test-data/generate-study.ts';
import { sendInstances } from '../../worker/deliver/c-store-scu.ts';
import { runDcmtk, storeStatuses } from '../support/dcmtk.ts';
import { failureReasons, parseMultipart, referencedInstances, stow, type DicomJson } from '../support/dicomweb-http.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { DICOM_SAMPLES } from '../support/shared-samples.ts';

const run = promisify(execFile);
const SITE = '090781774'; // CH du Val d'Ariège, AE titles CHIVA_CT, CHIVA_MR, CHIVA_DX (midi-pyrenees.yaml)
const DEFLATED = '1.2.840.10008.1.2.1.99';

interface Pair {
  deflated: string;
  twin: string;
  uids: { study: string; series: string; deflatedSop: string; twinSop: string };
}

let gw: GatewayProcess;
let token: string;
let work: string;
const pairs: Record<string, Pair> = {};

async function dump(file: string, tag: string): Promise<string> {
  const { stdout } = await run('dcmdump', ['-q', '-Un', '+P', tag, file]);
  return /\[([^\]]*)\]/.exec(stdout)?.[1] ?? '';
}

/** A deflated copy of `source` and its explicit VR twin, each under a SOP Instance UID of its own. */
async function makePair(name: string, source: string, suffix: number): Promise<Pair> {
  const twin = path.join(work, `${name}-twin.dcm`);
  const deflated = path.join(work, `${name}-deflated.dcm`);
  const deflatedSop = `1.2.826.0.1.3680043.10.1077.${process.pid}.99${suffix}`;
  const twinSop = `1.2.826.0.1.3680043.10.1077.${process.pid}.98${suffix}`;
  await run('dcmconv', ['-q', '+te', source, twin]);
  await run('dcmodify', ['-q', '-nb', '-i', `(0008,0018)=${deflatedSop}`, twin]);
  await run('dcmconv', ['-q', '+td', twin, deflated]);
  await run('dcmodify', ['-q', '-nb', '-i', `(0008,0018)=${twinSop}`, twin]);
  expect(await dump(deflated, '0002,0010')).toBe(DEFLATED);
  return { deflated, twin, uids: { study: await dump(twin, '0020,000d'), series: await dump(twin, '0020,000e'), deflatedSop, twinSop } };
}

function instanceUrl(p: Pair, sop: string, tail = ''): string {
  return `${gw.dicomweb}/studies/${p.uids.study}/series/${p.uids.series}/instances/${sop}${tail}`;
}

async function get(target: string, accept: string): Promise<{ status: number; type: string; body: Buffer }> {
  const res = await fetch(target, { headers: { authorization: `Bearer ${token}`, accept } });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: Buffer.from(await res.arrayBuffer()) };
}

async function parts(target: string, accept: string): Promise<Buffer[]> {
  const res = await get(target, accept);
  expect(res.status, res.body.toString().slice(0, 300)).toBe(200);
  return parseMultipart(res.body, res.type).map((p) => p.body);
}

/** The metadata with the SOP Instance UID taken out of it, so that twins compare equal. */
async function metadataWithout(p: Pair, sop: string): Promise<string> {
  const res = await get(instanceUrl(p, sop, '/metadata'), 'application/dicom+json');
  expect(res.status).toBe(200);
  return res.body.toString().split(sop).join('<sop>');
}

function decodePng(bytes: Buffer): { width: number; height: number; data: Uint8Array } {
  const png = PNG.sync.read(bytes);
  return { width: png.width, height: png.height, data: png.data };
}

beforeAll(async () => {
  gw = await startGateway();
  token = await gw.token('--role', 'sender', '--site', SITE);
  work = await mkdtemp(path.join(os.tmpdir(), 'astreinte-deflated-'));
  const [slice] = generateCtSeries({ kind: 'ct-head', slices: 1, rows: 64, columns: 64, seed: 'deflated', site: SITES['saint-girons'] });
  const generated = path.join(work, 'generated-ct.dcm');
  await writeFile(generated, slice);
  pairs.ct = await makePair('ct', path.join(DICOM_SAMPLES, 'CT_small.dcm'), 1);
  pairs.dose = await makePair('dose', path.join(DICOM_SAMPLES, 'rtdose.dcm'), 2);
  pairs.generated = await makePair('generated', generated, 3);
  pairs.scu = await makePair('scu', path.join(DICOM_SAMPLES, 'MR_small.dcm'), 4);
  for (const name of ['ct', 'dose', 'generated']) {
    const p = pairs[name];
    for (const [file, sop] of [[p.deflated, p.uids.deflatedSop], [p.twin, p.uids.twinSop]]) {
      const result = await stow(gw.dicomweb, token, [await readFile(file)]);
      expect(referencedInstances(result.body), `${name}: ${result.warnings.join(' ')}`).toEqual([sop]);
    }
  }
}, 180_000);
afterAll(async () => {
  await gw?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('Deflated Explicit VR Little Endian', () => {
  it.each(['ct', 'dose', 'generated'])('%s: retrieved byte-identical, metadata equal to the twin', async (name) => {
    const p = pairs[name];
    const [instance] = await parts(instanceUrl(p, p.uids.deflatedSop), 'multipart/related; type="application/dicom"');
    expect(instance.equals(await readFile(p.deflated))).toBe(true);
    expect(await metadataWithout(p, p.uids.deflatedSop)).toBe(await metadataWithout(p, p.uids.twinSop));
  });

  it.each(['ct', 'dose', 'generated'])('%s: every frame equals the twin frame', async (name) => {
    const p = pairs[name];
    const accept = 'multipart/related; type="application/octet-stream"';
    const twinFrames = await parts(instanceUrl(p, p.uids.twinSop, '/frames/1'), accept);
    const frames = name === 'dose' ? '/frames/1,3,5' : '/frames/1';
    const ours = await parts(instanceUrl(p, p.uids.deflatedSop, frames), accept);
    const theirs = await parts(instanceUrl(p, p.uids.twinSop, frames), accept);
    expect(twinFrames[0].length).toBeGreaterThan(0);
    expect(ours.length).toBe(theirs.length);
    ours.forEach((frame, i) => expect(frame.equals(theirs[i]), `frame part ${i + 1}`).toBe(true));
    // All of its frames at once (the Pixel Data resource) equal the twin's, inflated the same way.
    const allOurs = await parts(instanceUrl(p, p.uids.deflatedSop, '/pixeldata'), accept);
    const allTheirs = await parts(instanceUrl(p, p.uids.twinSop, '/pixeldata'), accept);
    expect(allOurs.length).toBe(allTheirs.length);
    allOurs.forEach((frame, i) => expect(frame.equals(allTheirs[i]), `pixel data part ${i + 1}`).toBe(true));
  });

  it('the rendered CT equals dcmj2pnm of the twin; thumbnails are served', async () => {
    const p = pairs.ct;
    const res = await get(instanceUrl(p, p.uids.deflatedSop, '/rendered?window=40,400,linear'), 'image/png');
    expect(res.status, res.body.toString().slice(0, 300)).toBe(200);
    const ours = decodePng(res.body);
    const out = path.join(work, 'ct-twin.png');
    await run('dcmj2pnm', ['-q', '+on', '+Ww', '40', '400', p.twin, out]);
    const reference = decodePng(await readFile(out));
    expect([ours.width, ours.height]).toEqual([reference.width, reference.height]);
    let max = 0;
    for (let i = 0; i < ours.data.length; i++) if (i % 4 !== 3) max = Math.max(max, Math.abs(ours.data[i] - reference.data[i]));
    expect(max).toBeLessThanOrEqual(1);
    const thumbnail = await get(instanceUrl(p, p.uids.deflatedSop, '/thumbnail?viewport=32,32'), 'image/png');
    expect(thumbnail.status).toBe(200);
    expect(decodePng(thumbnail.body).width).toBe(32);
  });

  it('storescu proposing the deflated syntax stores the instance; metadata and frames equal the twin', async () => {
    const p = pairs.scu;
    const sent = await runDcmtk('storescu', ['-d', '-R', '-xd', '-aet', 'CHIVA_MR', '-aec', 'ASTREINTE', '127.0.0.1', gw.env.DIMSE_PORT!, p.deflated]);
    expect(storeStatuses(sent.output), sent.output.slice(-2000)).toEqual([0x0000]);
    expect((await stow(gw.dicomweb, token, [await readFile(p.twin)])).status).toBe(200);
    const [instance] = await parts(instanceUrl(p, p.uids.deflatedSop), 'multipart/related; type="application/dicom"');
    expect(await dump(await writeTemp('scu-retrieved.dcm', instance), '0002,0010')).toBe(DEFLATED);
    expect(await metadataWithout(p, p.uids.deflatedSop)).toBe(await metadataWithout(p, p.uids.twinSop));
    const accept = 'multipart/related; type="application/octet-stream"';
    const [ours] = await parts(instanceUrl(p, p.uids.deflatedSop, '/frames/1'), accept);
    const [theirs] = await parts(instanceUrl(p, p.uids.twinSop, '/frames/1'), accept);
    expect(ours.equals(theirs)).toBe(true);
  });

  it('our C-STORE SCU sends a deflated instance as it is: the data set stored is the one in the file, byte for byte', async () => {
    const p = await makePair('own-scu', path.join(DICOM_SAMPLES, 'CT_small.dcm'), 6);
    const results = await sendInstances([p.deflated], { host: '127.0.0.1', port: Number(gw.env.DIMSE_PORT), callingAeTitle: 'CHIVA_CT', calledAeTitle: 'ASTREINTE' });
    expect(results.map((r) => r.status)).toEqual([0x0000]);
    const [instance] = await parts(instanceUrl(p, p.uids.deflatedSop), 'multipart/related; type="application/dicom"');
    expect(datasetOf(instance).equals(datasetOf(await readFile(p.deflated)))).toBe(true);
    expect(await readdir(path.join(gw.dataDir, 'spool')), 'no inflated twin left behind').toEqual([]);
  });

  it('a damaged deflate stream is refused with 0xC000, saying so, and nothing is stored', async () => {
    const p = await makePair('damaged', path.join(DICOM_SAMPLES, 'CT_small.dcm'), 5);
    const bytes = await readFile(p.deflated);
    const metaEnd = 144 + bytes.readUInt32LE(140);
    const damaged = Buffer.from(bytes);
    damaged.fill(0xff, metaEnd, metaEnd + 64); // a block of reserved type 3, which no deflate stream has
    const result = await stow(gw.dicomweb, token, [damaged]);
    expect(result.status).toBe(409);
    expect(failureReasons(result.body as DicomJson)).toEqual([0xc000]);
    expect(result.warnings.join(' ')).toMatch(/not a valid deflate stream/);
    expect((await get(instanceUrl(p, p.uids.deflatedSop), 'multipart/related; type="application/dicom"')).status).toBe(404);
    expect(await readdir(path.join(gw.dataDir, 'spool')), 'no inflated twin left behind').toEqual([]);
  });
});

/** The data set of a Part 10 file: what follows its File Meta Information. */
function datasetOf(bytes: Buffer): Buffer {
  return bytes.subarray(144 + bytes.readUInt32LE(140));
}

async function writeTemp(name: string, bytes: Buffer): Promise<string> {
  const file = path.join(work, name);
  await writeFile(file, bytes);
  return file;
}
