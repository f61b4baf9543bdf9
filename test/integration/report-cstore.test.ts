/**
 * C-STORE delivery of a report's SR and PDF (worker/deliver/dicom-cstore-sender.ts, dcmjs-dimse's client) to
 * peers nobody here wrote, on loopback: DCMTK's storescp (then dsrdump reads the SR it wrote) and Orthanc's
 * DICOM server; a wrong called AE title is refused with a clear message.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureOrthancInstalled, startOrthanc } from '../../bench/orthanc-peer.ts';
import { buildBasicTextSr } from '../../core/report/basic-text-sr.ts';
import { buildEncapsulatedPdf, renderReportPdf } from '../../core/report/encapsulated-pdf.ts';
import { cStoreInstances } from '../../worker/deliver/dicom-cstore-sender.ts';
import { objectInput } from '../unit/report/report-fixture.ts';
import { freePort } from '../support/free-port.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');
let workDir: string;
let storescp: ChildProcess;
let storescpPort: number;
let orthanc: Awaited<ReturnType<typeof startOrthanc>>;
let sr: ReturnType<typeof buildBasicTextSr>;
let pdf: ReturnType<typeof buildEncapsulatedPdf>;

beforeAll(async () => {
  const missing = ensureOrthancInstalled(repoRoot);
  if (missing) throw new Error(missing);
  workDir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-cstore-'));
  storescpPort = await freePort();
  storescp = spawn('storescp', ['--aetitle', 'SG_PACS', '--output-directory', workDir, '--filename-extension', '.dcm', '+xa', String(storescpPort)], { stdio: 'ignore' });
  orthanc = await startOrthanc(path.join(workDir, 'orthanc'), 1, { dicomServer: true });
  const input = objectInput();
  sr = buildBasicTextSr(input);
  const document = await renderReportPdf({ ...input, signature: 'c2ln', keyId: 'kid', hospital: 'CH Saint-Girons', patientName: 'Dupré^Hélène', patientBirthDate: '19470312', examDescription: 'Scanner' });
  pdf = buildEncapsulatedPdf(input, document, 'Compte rendu');
  // storescp listens once its process is up: wait for the port.
  for (let i = 0; i < 50; i++) {
    try {
      await cStoreEcho();
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}, 60_000);

async function cStoreEcho(): Promise<void> {
  await run('echoscu', ['-aec', 'SG_PACS', '127.0.0.1', String(storescpPort)]);
}

afterAll(async () => {
  storescp?.kill('SIGTERM');
  await orthanc?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('C-STORE delivery', () => {
  it('stores the SR and the PDF into DCMTK storescp; dsrdump reads the SR it received', async () => {
    const result = await cStoreInstances({ host: '127.0.0.1', port: storescpPort, aeTitle: 'SG_PACS', callingAeTitle: 'ASTREINTE', tls: false }, [sr.bytes, pdf.bytes]);
    expect(result).toBe(`C-STORE to SG_PACS@127.0.0.1:${storescpPort}: 2 instances stored`);
    const received = (await readdir(workDir)).filter((f) => f.endsWith('.dcm'));
    expect(received).toHaveLength(2);
    const srFile = received.find((f) => f.startsWith('SR'))!;
    const dumped = await run('dsrdump', ['+Pc', path.join(workDir, srFile)], { encoding: 'latin1' });
    expect(dumped.stderr).toBe(''); // Latin-1 (ISO_IR 100): no warning
    expect(dumped.stdout).toContain('Verification Flag   : VERIFIED');
    const docFile = received.find((f) => f.startsWith('DOC') || f.startsWith('OT') || !f.startsWith('SR'))!;
    expect((await readFile(path.join(workDir, docFile))).includes(Buffer.from('%PDF-'))).toBe(true);
  });

  it('stores them into Orthanc, which serves the PDF back unchanged', async () => {
    await cStoreInstances({ host: '127.0.0.1', port: orthanc.dicomPort, aeTitle: 'ORTHANC', callingAeTitle: 'ASTREINTE', tls: false }, [sr.bytes, pdf.bytes]);
    const origin = orthanc.target.root.replace(/\/dicom-web$/, '');
    const instances = (await (await fetch(`${origin}/instances?expand`)).json()) as { ID: string; MainDicomTags: { SOPInstanceUID: string } }[];
    expect(instances.map((i) => i.MainDicomTags.SOPInstanceUID).sort()).toEqual([sr.sopInstanceUID, pdf.sopInstanceUID].sort());
    const stored = instances.find((i) => i.MainDicomTags.SOPInstanceUID === pdf.sopInstanceUID)!;
    const served = Buffer.from(await (await fetch(`${origin}/instances/${stored.ID}/pdf`)).arrayBuffer());
    expect(served.subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('says so when the PACS refuses the association (wrong called AE title) or is not there', async () => {
    await expect(
      cStoreInstances({ host: '127.0.0.1', port: orthanc.dicomPort, aeTitle: 'NOT_ORTHANC', callingAeTitle: 'ASTREINTE', tls: false }, [sr.bytes]),
    ).rejects.toThrow(/association refused by NOT_ORTHANC@127\.0\.0\.1/);
    const closed = await freePort();
    await expect(
      cStoreInstances({ host: '127.0.0.1', port: closed, aeTitle: 'X', callingAeTitle: 'ASTREINTE', tls: false }, [sr.bytes]),
    ).rejects.toThrow(/C-STORE to X@127\.0\.0\.1:\d+ failed/);
  });
});
