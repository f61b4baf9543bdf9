import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import dicomParser from 'dicom-parser';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendInstances } from '../../worker/deliver/c-store-scu.ts';
import { generateCtSeries } from '../../test-data/generate-study.ts';
import { runDcmtk, storeStatuses } from '../support/dcmtk.ts';
import { parseMultipart } from '../support/dicomweb-http.ts';
import { freePort } from '../support/free-port.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { startOrthanc, type OrthancProcess } from '../support/orthanc.ts';
import { DICOM_SAMPLES } from '../support/shared-samples.ts';

const SITE = '090781774'; // CH du Val d'Ariège, AE titles CHIVA_CT, CHIVA_MR, CHIVA_DX (midi-pyrenees.yaml)
const CALLING = 'CHIVA_CT';

interface Expectation {
  file: string;
  /** storescu's option proposing the file's own transfer syntax (it proposes uncompressed ones only by default). */
  propose: string;
  status: number;
}

// Sent in this order, as the STOW-RS samples test does: the first file of each shared SOP Instance UID wins, later
// different bytes are refused as duplicates (0x0111). rtdose.dcm's stale File Meta UID does not travel over DIMSE
// (storescu sends the data set's UID), so it is a plain success here.
const expectations: Expectation[] = [
  { file: 'CT_small.dcm', propose: '-xe', status: 0x0000 },
  { file: 'MR_small.dcm', propose: '-xe', status: 0x0000 },
  { file: 'MR_small_implicit.dcm', propose: '-xi', status: 0x0111 },
  { file: 'MR_small_bigendian.dcm', propose: '-xb', status: 0x0111 },
  { file: 'MR_small_RLE.dcm', propose: '-xr', status: 0x0111 },
  { file: 'MR_small_jp2klossless.dcm', propose: '-xv', status: 0x0111 },
  { file: 'MR_small_jpeg_ls_lossless.dcm', propose: '-xt', status: 0x0111 },
  { file: 'JPEG2000.dcm', propose: '-xw', status: 0x0000 },
  { file: 'JPEG-lossy.dcm', propose: '-xx', status: 0x0000 },
  { file: 'JPGExtended.dcm', propose: '-xx', status: 0x0111 },
  { file: 'SC_rgb_jpeg_dcmtk.dcm', propose: '-xy', status: 0x0000 },
  { file: 'SC_rgb_rle.dcm', propose: '-xr', status: 0x0000 },
  { file: 'rtdose.dcm', propose: '-xi', status: 0x0000 },
  { file: 'badVR.dcm', propose: '-xe', status: 0xa900 }, // Number of Frames "1A"
  { file: 'test-SR.dcm', propose: '-xe', status: 0x0000 },
  { file: 'chrFren.dcm', propose: '-xe', status: 0x0000 },
  { file: 'chrFrenMulti.dcm', propose: '-xe', status: 0x0111 },
];

function uidsOf(bytes: Buffer) {
  const ds = dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' });
  return { study: ds.string('x0020000d')!, series: ds.string('x0020000e')!, sop: ds.string('x00080018')! };
}

/** The data set of a Part 10 file: what DIMSE carries, after the File Meta Information. */
function datasetOf(bytes: Buffer): Buffer {
  return bytes.subarray(144 + bytes.readUInt32LE(140));
}

describe('the DICOM network entry (C-ECHO, C-STORE SCP) with DCMTK and Orthanc as peers', () => {
  let gw: GatewayProcess;
  let dimsePort: string;
  let sender: string;
  let orthanc: OrthancProcess | undefined;
  let orthancDir: string | undefined;

  beforeAll(async () => {
    gw = await startGateway();
    dimsePort = gw.env.DIMSE_PORT!;
    sender = await gw.token('--role', 'sender', '--site', SITE);
  }, 90_000);
  afterAll(async () => {
    await orthanc?.stop();
    if (orthancDir) await rm(orthancDir, { recursive: true, force: true });
    await gw?.dispose();
  });

  const retrieve = async (bytes: Buffer) => {
    const { study, series, sop } = uidsOf(bytes);
    const res = await fetch(`${gw.dicomweb}/studies/${study}/series/${series}/instances/${sop}`, {
      headers: { authorization: `Bearer ${sender}`, accept: 'multipart/related; type="application/dicom"' },
    });
    if (res.status !== 200) return { status: res.status, parts: [] };
    return { status: res.status, parts: parseMultipart(Buffer.from(await res.arrayBuffer()), res.headers.get('content-type')!) };
  };

  it('answers C-ECHO to a site AE title calling ours', async () => {
    const run = await runDcmtk('echoscu', ['-aet', CALLING, '-aec', 'ASTREINTE', '127.0.0.1', dimsePort]);
    expect(run.code, run.output).toBe(0);
  });

  it('rejects at association an unknown calling AE title and a wrong called AE title, with the standard reasons', async () => {
    const unknown = await runDcmtk('echoscu', ['-aet', 'NOBODY', '-aec', 'ASTREINTE', '127.0.0.1', dimsePort]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.output).toMatch(/Rejected Permanent, Source: Service User/);
    expect(unknown.output).toMatch(/Calling AE Title Not Recognized/);
    const wrongCalled = await runDcmtk('echoscu', ['-aet', CALLING, '-aec', 'SOMEONE_ELSE', '127.0.0.1', dimsePort]);
    expect(wrongCalled.code).not.toBe(0);
    expect(wrongCalled.output).toMatch(/Called AE Title Not Recognized/);
  });

  it('accepts no presentation context for a service it does not provide (Modality Worklist C-FIND)', async () => {
    const run = await runDcmtk('findscu', ['-W', '-aet', CALLING, '-aec', 'ASTREINTE', '127.0.0.1', dimsePort, '-k', 'PatientName']);
    expect(run.output).toMatch(/No Acceptable Presentation Contexts/);
  });

  it('stores every valid sample sent by storescu (data set retrieved byte-identical) and refuses each broken one with its status', async () => {
    for (const { file, propose, status } of expectations) {
      const source = path.join(DICOM_SAMPLES, file);
      const run = await runDcmtk('storescu', ['-d', '-R', propose, '-aet', CALLING, '-aec', 'ASTREINTE', '127.0.0.1', dimsePort, source]);
      expect(storeStatuses(run.output), `${file}\n${run.output.slice(-2000)}`).toEqual([status]);
    }
    // The ingest counters of /metrics: each accepted instance once, under DIMSE and the sending site.
    const analyst = await gw.token('--role', 'analyst', '--user', 'analyst');
    const metrics = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${analyst}` } })).text();
    const counted = (outcome: string) =>
      Number(metrics.match(new RegExp(`^astreinte_ingest_instances_total\\{transport="dimse",site="${SITE}",outcome="${outcome}"\\} (\\d+)$`, 'm'))?.[1] ?? 0);
    expect(counted('stored') + counted('identical')).toBe(expectations.filter((e) => e.status === 0).length);
    expect(metrics).not.toMatch(/^astreinte_ingest_instances_total\{transport="stow"/m);
    // What storescu puts on the wire is not always the file's data set byte for byte (DCMTK drops Data Set Trailing
    // Padding and group lengths): the reference is what DCMTK's own storescp writes in bit-preserving mode (+B).
    const wire = await wireDatasets(expectations.filter((e) => e.status === 0));
    for (const { file, status } of expectations) {
      const bytes = await readFile(path.join(DICOM_SAMPLES, file));
      const { status: httpStatus, parts } = await retrieve(bytes);
      if (status !== 0) {
        // Refused: what is retrievable under this UID (a first, different instance, or nothing) is not this file.
        for (const part of parts) expect(Buffer.compare(datasetOf(part.body), datasetOf(bytes)), file).not.toBe(0);
        continue;
      }
      expect(httpStatus, file).toBe(200);
      expect(parts, file).toHaveLength(1);
      expect(Buffer.compare(datasetOf(parts[0].body), wire.get(uidsOf(bytes).sop)!), file).toBe(0);
      // The File Meta Information is ours: the source AE title is the calling one.
      const meta = dicomParser.parseDicom(parts[0].body, { untilTag: 'x00020016' });
      expect(meta.string('x00020016')).toBe(CALLING);
    }
    // badVR.dcm shares its SOP Instance UID with rtdose.dcm, stored before it: the stored instance is rtdose.
    const rtdose = await readFile(path.join(DICOM_SAMPLES, 'rtdose.dcm'));
    expect(Buffer.compare(datasetOf((await retrieve(rtdose)).parts[0].body), wire.get(uidsOf(rtdose).sop)!)).toBe(0);
  }, 180_000);

  it("refuses with 0x0124 an instance of a study that belongs to another site, as STOW-RS does", async () => {
    // CT_small's study was sent by CHIVA (above); CH Saint-Girons' CT may not add to it.
    const run = await runDcmtk('storescu', ['-d', '-R', '-xe', '-aet', 'STGIRONS_CT', '-aec', 'ASTREINTE', '127.0.0.1', dimsePort, path.join(DICOM_SAMPLES, 'CT_small.dcm')]);
    expect(storeStatuses(run.output)).toEqual([0x0124]);
    // The Error Comment says only that this site cannot store there, as STOW-RS does; the refusal is a Security Alert.
    expect(run.output).toContain('This site cannot store instances in this study.');
    expect(run.output).not.toMatch(/another site/i);
    const exported = await runNodeCli(gw, ['audit', 'export', '--from', '2000-01-01T00:00:00Z', '--to', '2100-01-01T00:00:00Z']);
    const alerts = exported.split('\n').filter((line) => line.includes('store-into-foreign-study'));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toContain('110113');
    expect(alerts[0]).toContain('dicom:STGIRONS_CT');
  });

  it('acknowledges no instance whose reception the audit trail cannot record: 0xA700, then stored once appends work again', async () => {
    // A real fault on the real server: the application role loses the right to append to the audit trail.
    const password = (await readFile(path.join(gw.dataDir, 'postgres', 'astreinte.password'), 'utf8')).trim();
    const owner = new pg.Client({ connectionString: `postgresql://astreinte:${encodeURIComponent(password)}@127.0.0.1:${gw.env.EMBEDDED_PG_PORT}/astreinte` });
    await owner.connect();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-dimse-audit-'));
    try {
      const file = path.join(dir, 'slice.dcm');
      const slice = (await generateCtSeries({ kind: 'ct-head', slices: 1, rows: 32, columns: 32, seed: 'dimse-audit-closed' }).next()).value as Buffer;
      await writeFile(file, slice);
      const study = uidsOf(slice).study;
      const send = async () => storeStatuses((await runDcmtk('storescu', ['-d', '-R', '-xe', '-aet', CALLING, '-aec', 'ASTREINTE', '127.0.0.1', dimsePort, file])).output);
      const receptions = async () =>
        (await runNodeCli(gw, ['audit', 'export', '--from', '2000-01-01T00:00:00Z', '--to', '2100-01-01T00:00:00Z']))
          .split('\n')
          .filter((line) => line.includes('c-store-study') && line.includes(study));

      await owner.query('REVOKE INSERT ON audit_event FROM astreinte_app');
      try {
        expect(await send()).toEqual([0xa700]);
      } finally {
        await owner.query('GRANT INSERT ON audit_event TO astreinte_app');
      }
      expect(await receptions()).toHaveLength(0);
      // The sender tries again: the reception is recorded first, then acknowledged.
      expect(await send()).toEqual([0x0000]);
      const recorded = await receptions();
      expect(recorded).toHaveLength(1);
      expect(recorded[0]).toContain('dicom:CHIVA_CT');
    } finally {
      await owner.end();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses a data set cut in its pixel data with 0xC000 and keeps nothing of it', async () => {
    // storescu will not send a truncated file; our own C-STORE SCU sends its bytes as they are.
    const file = path.join(DICOM_SAMPLES, 'MR_truncated.dcm');
    const results = await sendInstances([file], { host: '127.0.0.1', port: Number(dimsePort), callingAeTitle: CALLING, calledAeTitle: 'ASTREINTE' });
    expect(results.map((r) => r.status)).toEqual([0xc000]);
    const spool = await readdir(path.join(gw.dataDir, 'spool'));
    expect(spool).toEqual([]);
  });

  it('lists DIMSE arrivals like STOW arrivals: QIDO finds the study for the sending site, and the audit trail has the transfer', async () => {
    const ct = uidsOf(await readFile(path.join(DICOM_SAMPLES, 'CT_small.dcm')));
    const res = await fetch(`${gw.dicomweb}/studies?StudyInstanceUID=${ct.study}`, { headers: { authorization: `Bearer ${sender}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as unknown[]).length).toBe(1);
    const other = await gw.token('--role', 'sender', '--site', '310780010');
    const hidden = await fetch(`${gw.dicomweb}/studies?StudyInstanceUID=${ct.study}`, { headers: { authorization: `Bearer ${other}` } });
    expect(hidden.status === 204 || ((await hidden.json()) as unknown[]).length === 0).toBe(true);
    const exported = await runNodeCli(gw, ['audit', 'export', '--from', '2000-01-01T00:00:00Z', '--to', '2100-01-01T00:00:00Z']);
    expect(exported).toContain('c-store');
    expect(exported).toContain(ct.study);
    // The search is recorded with the patient it returned (by reference: Patient ID and issuer), not only the query.
    const patientId = dicomParser.parseDicom(await readFile(path.join(DICOM_SAMPLES, 'CT_small.dcm')), { untilTag: 'x7fe00010' }).string('x00100020')!;
    const searches = exported.split('\n').filter((line) => line.includes('"qido"') || line.includes('qido'));
    expect(searches.some((line) => line.includes(patientId))).toBe(true);
  });

  it('receives what Orthanc sends through its REST API (/modalities/{id}/store), and sends back to Orthanc and to storescp', async () => {
    orthancDir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-orthanc-'));
    orthanc = await startOrthanc(orthancDir, { aeTitle: 'CHIVA_MR', modalities: { astreinte: ['ASTREINTE', '127.0.0.1', Number(dimsePort)] } });
    const mr = await readFile(path.join(DICOM_SAMPLES, 'SC_rgb_jpeg_dcmtk.dcm'));
    const mrUids = uidsOf(mr);
    // A CT slice nobody sent us yet, forwarded by Orthanc (its DICOM toolkit re-encodes what it sends: the samples
    // stored above would be different bytes under the same UID, refused as 0x0111).
    const fresh = (await generateCtSeries({ kind: 'ct-head', slices: 1, rows: 64, columns: 64, seed: 'dimse-orthanc' }).next()).value as Buffer;
    const uploaded = (await (await fetch(`${orthanc.url}/instances`, { method: 'POST', body: fresh })).json()) as { ID: string };
    const store = await fetch(`${orthanc.url}/modalities/astreinte/store`, { method: 'POST', body: JSON.stringify({ Resources: [uploaded.ID], Synchronous: true }) });
    expect(store.status, await store.clone().text()).toBe(200);
    const answer = (await store.json()) as { FailedInstancesCount: number; InstancesCount: number };
    expect(answer).toMatchObject({ FailedInstancesCount: 0, InstancesCount: 1 });
    const freshUids = uidsOf(fresh);
    const got = await retrieve(fresh);
    expect(got.status).toBe(200);
    expect(uidsOf(got.parts[0].body)).toEqual(freshUids);
    const viaOrthanc = dicomParser.parseDicom(got.parts[0].body, { untilTag: 'x00020016' });
    expect(viaOrthanc.string('x00020016')).toBe('CHIVA_MR');

    // Our C-STORE SCU: the stored JPEG secondary capture, byte for byte, to Orthanc and to DCMTK's storescp.
    const stored = (await retrieve(mr)).parts[0].body;
    const storedFile = path.join(orthancDir, 'to-send.dcm');
    await writeFile(storedFile, stored);
    const toOrthanc = await sendInstances([storedFile], { host: '127.0.0.1', port: orthanc.dicomPort, callingAeTitle: 'ASTREINTE', calledAeTitle: orthanc.aeTitle });
    expect(toOrthanc.map((r) => r.status)).toEqual([0]);
    const found = (await (await fetch(`${orthanc.url}/tools/lookup`, { method: 'POST', body: mrUids.sop })).json()) as { ID: string }[];
    expect(found).toHaveLength(1);
    const fromOrthanc = Buffer.from(await (await fetch(`${orthanc.url}/instances/${found[0].ID}/file`)).arrayBuffer());
    expect(Buffer.compare(datasetOf(fromOrthanc), datasetOf(mr))).toBe(0);

    const outDir = path.join(orthancDir, 'storescp');
    await mkdir(outDir);
    const port = await freePort();
    const scp = spawn('storescp', ['-aet', 'STORESCP', '+xa', '-od', outDir, String(port)], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 500));
      const toDcmtk = await sendInstances([storedFile], { host: '127.0.0.1', port, callingAeTitle: 'ASTREINTE', calledAeTitle: 'STORESCP' });
      expect(toDcmtk.map((r) => r.status)).toEqual([0]);
      const written = await readdir(outDir);
      expect(written).toHaveLength(1);
      expect(Buffer.compare(datasetOf(await readFile(path.join(outDir, written[0]))), datasetOf(mr))).toBe(0);
    } finally {
      scp.kill('SIGTERM');
    }
  }, 120_000);
});

/** The data sets storescu sends for these files, as DCMTK's storescp receives them (bit-preserving), by SOP UID. */
async function wireDatasets(files: Expectation[]): Promise<Map<string, Buffer>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-storescp-'));
  const port = await freePort();
  const scp = spawn('storescp', ['+B', '+xa', '-aet', 'STORESCP', '-od', dir, String(port)], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 500));
    for (const { file, propose } of files) {
      const run = await runDcmtk('storescu', ['-R', propose, '-aet', CALLING, '-aec', 'STORESCP', '127.0.0.1', String(port), path.join(DICOM_SAMPLES, file)]);
      expect(run.code, run.output).toBe(0);
    }
    const result = new Map<string, Buffer>();
    for (const name of await readdir(dir)) {
      const bytes = await readFile(path.join(dir, name));
      result.set(uidsOf(bytes).sop, datasetOf(bytes));
    }
    return result;
  } finally {
    scp.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

async function runNodeCli(gw: GatewayProcess, args: string[]): Promise<string> {
  const { execFile } = await import('node:child_process');
  const repoRoot = path.resolve(import.meta.dirname, '../..');
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [path.join(repoRoot, 'bin/astreinte.cjs'), ...args], { cwd: repoRoot, env: gw.env, maxBuffer: 64 << 20 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    ),
  );
}
