/**
 * A report from claim to the requesting hospital, against peers nobody here wrote, all on loopback: a real
 * gateway process (its delivery worker on the PostgreSQL queue), Orthanc from Debian standing for the
 * hospital's PACS (receives the SR and the PDF by STOW-RS), an MLLP listener standing for its RIS (refuses the
 * first ORU^R01 with AE, accepts the retry with AA), DCMTK reading the objects back from WADO-RS, and
 * `astreinte report verify` finding each kind of tampering.
 */
import { until } from '../support/until.ts';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureOrthancInstalled, startOrthanc } from '../../bench/orthanc-peer.ts';
import type { RunningServer } from '../../bench/server-process.ts';
import { generateCtSeries, INS_ISSUER_OID, patientFor, SITES } from '../../test-data/generate-study.ts';
import { multipartRequest, parseMultipart } from '../support/dicomweb-http.ts';
import { freePort } from '../support/free-port.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { startTestPostgres, type TestPostgres } from '../support/postgres.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');
const SUNDAY_0210 = '2026-11-22T02:10:00+01:00';
const SAINT_GIRONS = '090000050';
const ROQUES = '10009000011';
/** The delivery queue's first wait between tries (doubled at each try of a job). */
// Long enough that a loaded machine's pick-up delay stays well under one backoff: a try late by a whole backoff
// is a wait of the wrong power of two.
const BACKOFF_MS = 1_000;

let workDir: string;
let postgres: TestPostgres;
let orthanc: RunningServer;
let orthancOrigin: string;
let gateway: GatewayProcess;
let ris: net.Server;
let deadPort: number;
const risMessages: string[] = [];
let tokens: Record<'sender' | 'otherSender' | 'foix' | 'reader' | 'coordinator' | 'analyst', string>;

beforeAll(async () => {
  const missing = ensureOrthancInstalled(repoRoot);
  if (missing) throw new Error(missing);
  workDir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-report-delivery-'));
  postgres = await startTestPostgres();
  orthanc = await startOrthanc(path.join(workDir, 'orthanc'), 2);
  orthancOrigin = orthanc.target.root.replace(/\/dicom-web$/, '');

  // The RIS: AE to the first ORU, AA afterwards (MSA-2 echoes MSH-10).
  ris = net.createServer((socket) => {
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf(Buffer.from([0x1c, 0x0d]));
      if (buffer[0] !== 0x0b || end < 0) return;
      const message = buffer.subarray(1, end).toString('utf8');
      buffer = buffer.subarray(end + 2);
      risMessages.push(message);
      const controlId = message.split('\r')[0].split('|')[9];
      const code = risMessages.length === 1 ? 'AE' : 'AA';
      const ack = `MSH|^~\\&|RIS|CHSTG|ASTREINTE|midi-pyrenees|20261122021500||ACK^R01^ACK|ack-${risMessages.length}|P|2.5.1\rMSA|${code}|${controlId}|${code === 'AE' ? 'Base de données occupée' : ''}\r`;
      socket.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from(ack), Buffer.from([0x1c, 0x0d])]));
    });
  });
  const risPort = await freePort();
  await new Promise<void>((resolve) => ris.listen(risPort, '127.0.0.1', resolve));

  // The example region, with Saint-Girons delivering to this Orthanc and this RIS.
  const example = await readFile(path.join(repoRoot, 'config/examples/midi-pyrenees.yaml'), 'utf8');
  const configFile = path.join(workDir, 'region.yaml');
  const destinations = `reportDestinations:\n      - { id: pacs, kind: dicomweb, target: "${orthanc.target.root}" }\n      - { id: ris, kind: hl7-mllp, target: "mllp://127.0.0.1:${risPort}", receivingApplication: XPLORE }`;
  // CHIVA (Foix, same territory and on-call line): a PACS that never answers, for the failure path.
  deadPort = await freePort();
  const chiva = `reportDestinations:\n      - { id: pacs, kind: dicomweb, target: "http://127.0.0.1:${deadPort}/dicomweb" }`;
  const replaced = example
    .replace('reportDestinations: [{ kind: hl7-mllp, target: "mllp://sih.ch-saint-girons.example:2575" }]', destinations)
    .replace(/reportDestinations:\n      - \{ id: pacs, kind: dicomweb, target: "https:\/\/pacs\.chiva\.example\/dicomweb".*\n.*\n/, `${chiva}\n`);
  expect(replaced).toContain(destinations);
  expect(replaced).toContain(chiva);
  await writeFile(configFile, replaced);

  gateway = await startGateway({
    env: {
      DATABASE_URL: postgres.url,
      ASTREINTE_CONFIG: configFile,
      ASTREINTE_NOW: SUNDAY_0210,
      ASTREINTE_STABILITY_SECONDS: '1',
      ASTREINTE_ROUTING_SWEEP_SECONDS: '1',
      ASTREINTE_DELIVERY_ATTEMPTS: '3',
      ASTREINTE_DELIVERY_BACKOFF_SECONDS: String(BACKOFF_MS / 1000),
    },
  });
  tokens = {
    sender: await gateway.token('--role', 'sender', '--site', SAINT_GIRONS),
    otherSender: await gateway.token('--role', 'sender', '--site', '810000448'),
    foix: await gateway.token('--role', 'sender', '--site', '090781774'),
    reader: await gateway.token('--role', 'reader', '--user', ROQUES, '--rpps', ROQUES),
    coordinator: await gateway.token('--role', 'coordinator', '--user', 'coord-ariege', '--territory', 'ariege'),
    analyst: await gateway.token('--role', 'analyst', '--user', 'analyst'),
  };
}, 120_000);

afterAll(async () => {
  await gateway?.dispose();
  await orthanc?.stop();
  await new Promise((resolve) => (ris ? ris.close(resolve) : resolve(undefined)));
  await postgres?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function api(token: string, method: string, route: string, body?: unknown) {
  const response = await fetch(`${gateway.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

interface ReportJson {
  id: string;
  versions: {
    id: string;
    version: number;
    kind: string;
    payload: { patient: { id: string; ins: string | null }; accessionNumber: string; content: { conclusion: string } };
    signature: { kid: string; value: string };
    objects: { sr: { seriesInstanceUID: string; sopInstanceUID: string }; pdf: { seriesInstanceUID: string; sopInstanceUID: string } };
    deliveries: { destination: string; status: string; attempts: number; lastError: string | null; nextAttemptAt: string | null }[];
  }[];
  steps: Record<string, string | null>;
}

const content = {
  template: 'ct-head-stroke',
  indication: 'Déficit brachio-facial gauche brutal à 01h30. Alerte thrombolyse.',
  technique: { equipment: 'Scanner Saint-Girons', protocol: 'Scanner cérébral sans injection', contrast: '', doses: [{ acquisition: 'Crâne', ctdiVolMGy: '52.3', dlpMGyCm: '845.1', source: 'typed' }] },
  findings: "Pas d'hémorragie intracrânienne. ASPECTS 10/10.",
  conclusion: 'Pas de contre-indication radiologique à la thrombolyse.',
  criticalFinding: { flagged: true, calledWho: 'Dr Martin, urgentiste' },
};

async function signedStudy(sender: string, site: keyof typeof SITES, seed: string) {
  const parts = generateCtSeries({ kind: 'ct-head', slices: 1, rows: 32, columns: 32, seed, site: SITES[site], patient: patientFor(seed) });
  const { body, contentType } = multipartRequest([...parts]);
  const stored = await fetch(`${gateway.dicomweb}/studies`, { method: 'POST', headers: { authorization: `Bearer ${sender}`, 'content-type': contentType }, body });
  expect(stored.status).toBe(200);
  const stowed = (await stored.json()) as { '00081199': { Value: { '00081190': { Value: string[] } }[] } };
  const study = stowed['00081199'].Value[0]['00081190'].Value[0].match(/studies\/([\d.]+)/)![1];
  expect((await api(sender, 'POST', `/api/studies/${study}/complete`, { priority: 'stroke' })).status).toBe(202);
  const item = await until('the study to be routed to the reader on call', async () => {
    const list = await api(tokens.reader, 'GET', '/api/worklist?scope=mine');
    return (list.json.items as { id: string; studyInstanceUID: string }[]).find((i) => i.studyInstanceUID === study);
  });
  expect((await api(tokens.reader, 'POST', `/api/worklist/${item.id}/claim`)).status).toBe(200);
  const done = { ...content, criticalFinding: undefined };
  const signed = await api(tokens.reader, 'POST', `/api/worklist/${item.id}/report/sign`, { content: done });
  expect(signed.status).toBe(201);
  return { study, itemId: item.id, report: signed.json as ReportJson };
}

interface AttemptRow {
  at: Date;
  ok: boolean;
  next_attempt_at: Date | null;
}

/** Each try of a delivery as recorded, with the next try it planned; and the delivery's own planned next try. */
async function recordedTries(reportId: string, destination: string): Promise<{ tries: AttemptRow[]; nextAttemptAt: Date | null }> {
  const db = new pg.Client({ connectionString: postgres.url });
  await db.connect();
  try {
    const delivery = await db.query<{ id: string; next_attempt_at: Date | null }>(
      'SELECT id, next_attempt_at FROM report_delivery WHERE report_id = $1 AND destination = $2',
      [reportId, destination],
    );
    const tries = await db.query<AttemptRow>('SELECT at, ok, next_attempt_at FROM report_delivery_attempt WHERE delivery_id = $1 ORDER BY id', [delivery.rows[0].id]);
    return { tries: tries.rows, nextAttemptAt: delivery.rows[0].next_attempt_at };
  } finally {
    await db.end();
  }
}

/** Each failed try but the last planned the next at its time plus the job's backoff (2^k × BACKOFF_MS), and the queue kept to it. */
function expectTriesFollowTheBackoff(tries: AttemptRow[]) {
  tries.slice(0, -1).forEach((attempt, k) => {
    expect(attempt.ok).toBe(false);
    expect(attempt.next_attempt_at!.getTime() - attempt.at.getTime()).toBe(BACKOFF_MS * 2 ** k);
    const late = tries[k + 1].at.getTime() - attempt.next_attempt_at!.getTime();
    // Never before the planned time; after it by the queue's pick-up and the try's own time only (~10 ms here),
    // far less than a wait of the wrong power of two would make it.
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(BACKOFF_MS);
  });
  expect(tries.at(-1)!.next_attempt_at).toBeNull();
}

describe('a delivery that keeps failing', () => {
  it('is retried with backoff, then fails: a technical incident on the item alerts the territory coordinator', async () => {
    const { itemId, report } = await signedStudy(tokens.foix, 'foix', 'report-delivery-dead-pacs');
    // Polled faster than `until` does: the retrying windows last 1 and 2 s.
    const retrying: ReportJson['versions'][number]['deliveries'][number][] = [];
    let failed: ReportJson['versions'][number]['deliveries'][number] | undefined;
    for (const deadline = Date.now() + 30_000; !failed && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 25))) {
      const delivery = ((await api(tokens.foix, 'GET', `/api/reports/${report.id}`)).json as ReportJson).versions[0].deliveries[0];
      if (delivery.status === 'retrying') retrying.push(delivery);
      if (delivery.status === 'failed') failed = delivery;
    }
    if (!failed) throw new Error('timed out waiting for the delivery to fail after its tries');
    expect(failed.attempts).toBe(3);
    expect(failed.lastError).toMatch(/fetch failed|ECONNREFUSED/);
    expect(failed.nextAttemptAt).toBeNull();

    const recorded = await recordedTries(report.id, 'pacs');
    expect(recorded.tries).toHaveLength(3);
    expectTriesFollowTheBackoff(recorded.tries);
    expect(recorded.nextAttemptAt).toBeNull();
    // While retrying, the API gave the planned time (ISO 8601 with its offset).
    const planned = recorded.tries.map((t) => t.next_attempt_at?.getTime());
    expect(retrying.length).toBeGreaterThan(0);
    for (const r of retrying) {
      expect(r.nextAttemptAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$/);
      expect(planned).toContain(Date.parse(r.nextAttemptAt!));
    }
    const detail = await api(tokens.coordinator, 'GET', `/api/worklist/${itemId}`);
    expect(detail.json.incidents).toEqual([expect.objectContaining({ category: 'report-delivery-failed' })]);
    expect(detail.json.incidents[0].description).toContain("n'a pas pu être remis à pacs (dicomweb) après 3 essai(s)");
    expect(detail.json.history.map((h: { type: string }) => h.type)).toContain('coordinator-alerted');
  }, 60_000);
});

describe('a signed report goes back to the requesting hospital', () => {
  let study: string;
  let itemId: string;
  let report: ReportJson;

  it('is written, refused while the critical-finding call is not recorded, then signed by the holder', async () => {
    const patient = { ...patientFor('report-delivery'), ins: '247037512345678' };
    const parts = generateCtSeries({ kind: 'ct-head', slices: 2, rows: 32, columns: 32, seed: 'report-delivery', site: SITES['saint-girons'], patient });
    const { body, contentType } = multipartRequest([...parts]);
    const stored = await fetch(`${gateway.dicomweb}/studies`, { method: 'POST', headers: { authorization: `Bearer ${tokens.sender}`, 'content-type': contentType }, body });
    expect(stored.status).toBe(200);
    const stowed = (await stored.json()) as { '00081199': { Value: { '00081190': { Value: string[] } }[] } };
    study = stowed['00081199'].Value[0]['00081190'].Value[0].match(/studies\/([\d.]+)/)![1];
    expect((await api(tokens.sender, 'POST', `/api/studies/${study}/complete`, { priority: 'stroke' })).status).toBe(202);

    const item = await until('the study to be routed to the reader on call', async () => {
      const list = await api(tokens.reader, 'GET', '/api/worklist?scope=mine');
      return (list.json.items as { id: string; studyInstanceUID: string }[]).find((i) => i.studyInstanceUID === study);
    });
    itemId = item.id;

    // Before the claim the draft may be read (template, study's doses) but not written.
    const draft = await api(tokens.reader, 'GET', `/api/worklist/${itemId}/report`);
    expect(draft.status).toBe(200);
    expect(draft.json.draft.content.template).toBe('ct-head-stroke');
    expect((await api(tokens.reader, 'POST', `/api/worklist/${itemId}/report`, { content })).status).toBe(403);
    expect((await api(tokens.reader, 'POST', `/api/worklist/${itemId}/claim`)).status).toBe(200);

    const saved = await api(tokens.reader, 'POST', `/api/worklist/${itemId}/report`, { content });
    expect(saved.status).toBe(200);
    expect(saved.json.revision).toBe(1);
    // A reload gives the draft back as typed.
    const reloaded = await api(tokens.reader, 'GET', `/api/worklist/${itemId}/report`);
    expect(reloaded.json.draft.content.findings).toBe(content.findings);
    expect(reloaded.json.draft.revision).toBe(1);
    // A stale tab cannot overwrite it.
    expect((await api(tokens.reader, 'POST', `/api/worklist/${itemId}/report`, { content, revision: 0 + 3 })).status).toBe(409);

    const refused = await api(tokens.reader, 'POST', `/api/worklist/${itemId}/report/sign`, {});
    expect(refused.status).toBe(400);
    expect(refused.json.detail).toContain('résultat critique signalé : indiquez quand, comment');
    // Refused with the content in the body: nothing saved, the editor's revision still holds.
    const refusedWithContent = await api(tokens.reader, 'POST', `/api/worklist/${itemId}/report/sign`, { content: { ...content, findings: 'changé' }, revision: 1 });
    expect(refusedWithContent.status).toBe(400);
    const unchanged = await api(tokens.reader, 'GET', `/api/worklist/${itemId}/report`);
    expect(unchanged.json.draft.revision).toBe(1);
    expect(unchanged.json.draft.content.findings).toBe(content.findings);

    const complete = { ...content, criticalFinding: { ...content.criticalFinding, calledAt: '2026-11-22T02:20:00+01:00', how: 'téléphone' } };
    const signed = await api(tokens.reader, 'POST', `/api/worklist/${itemId}/report/sign`, { content: complete });
    expect(signed.status).toBe(201);
    report = signed.json as ReportJson;
    expect(report.versions[0].payload.patient).toMatchObject({ ins: '247037512345678' });
    expect(report.versions[0].payload.accessionNumber).not.toBe('');

    const item2 = await api(tokens.reader, 'GET', `/api/worklist/${itemId}`);
    expect(item2.json.item.status).toBe('COMPLETED');
    // Signed means immutable: a second signature is refused, a draft too.
    expect((await api(tokens.reader, 'POST', `/api/worklist/${itemId}/report/sign`, {})).status).toBe(409);
  }, 90_000);

  it('reaches the PACS by STOW-RS and the RIS by ORU^R01 (the AE is retried), and the report says so', async () => {
    const delivered = await until('both deliveries', async () => {
      const got = await api(tokens.sender, 'GET', `/api/reports/${report.id}`);
      expect(got.status).toBe(200);
      const deliveries = (got.json as ReportJson).versions[0].deliveries;
      return deliveries.every((d) => d.status === 'delivered') ? (got.json as ReportJson) : undefined;
    });
    const byId = Object.fromEntries(delivered.versions[0].deliveries.map((d) => [d.destination, d]));
    expect(byId.pacs.attempts).toBe(1);
    expect(byId.ris.attempts).toBe(2);
    expect(byId.ris.lastError).toContain('MSA-1 AE');
    expect(byId.ris.nextAttemptAt).toBeNull();
    const ris = await recordedTries(delivered.versions[0].id, 'ris');
    expect(ris.tries.map((t) => t.ok)).toEqual([false, true]);
    expectTriesFollowTheBackoff(ris.tries);
    expect(ris.nextAttemptAt).toBeNull();
    expect(delivered.steps.signed).not.toBeNull();
    expect(delivered.steps.delivered).not.toBeNull();
    expect(delivered.steps.claimed).not.toBeNull();

    // The RIS got the same ORU twice (new control id), with the sections, the INS and the PDF.
    expect(risMessages).toHaveLength(2);
    const oru = risMessages[1].split('\r');
    expect(oru[0]).toMatch(/^MSH\|\^~\\&\|ASTREINTE\|midi-pyrenees\|XPLORE\|090000050\|\d{14}[+-]\d{4}\|\|ORU\^R01\^ORU_R01\|[^|]+\|P\|2\.5\.1\|/);
    expect(oru.find((s) => s.startsWith('PID|'))).toContain(`247037512345678^^^ASIP-SANTE-INS-NIR&${INS_ISSUER_OID}&ISO^INS`);
    expect(oru.find((s) => s.includes('|19005-8^Impressions^LN|'))).toContain('Résultat critique communiqué à Dr Martin, urgentiste');
    expect(oru.find((s) => s.includes('|55111-9^'))).toContain('CTDIvol 52.3 mGy, PDL 845.1 mGy·cm');
    const ed = oru.find((s) => s.startsWith('OBX|') && s.split('|')[2] === 'ED')!;
    const pdfFromRis = Buffer.from(ed.split('|')[5].split('^')[4], 'base64');
    expect(pdfFromRis.subarray(0, 5).toString()).toBe('%PDF-');

    // Orthanc holds both objects in the hospital's study, with the patient exactly as the hospital sent it.
    const instances = (await (await fetch(`${orthancOrigin}/instances?expand`)).json()) as { ID: string; MainDicomTags: Record<string, string> }[];
    const sopUids = instances.map((i) => i.MainDicomTags.SOPInstanceUID);
    expect(sopUids).toEqual(expect.arrayContaining([report.versions[0].objects.sr.sopInstanceUID, report.versions[0].objects.pdf.sopInstanceUID]));
    const pdfInstance = instances.find((i) => i.MainDicomTags.SOPInstanceUID === report.versions[0].objects.pdf.sopInstanceUID)!;
    const pdfFromOrthanc = Buffer.from(await (await fetch(`${orthancOrigin}/instances/${pdfInstance.ID}/pdf`)).arrayBuffer());
    expect(pdfFromOrthanc.equals(pdfFromRis)).toBe(true);
    const studies = (await (await fetch(`${orthancOrigin}/studies?expand`)).json()) as { MainDicomTags: Record<string, string>; PatientMainDicomTags: Record<string, string> }[];
    expect(studies).toHaveLength(1);
    expect(studies[0].MainDicomTags.StudyInstanceUID).toBe(study);
    const patientMeta = (await api(tokens.sender, 'GET', `/dicomweb/studies/${study}/metadata`)).json as Record<string, { Value?: unknown[] }>[];
    const source = patientMeta.find((m) => m['00080060']?.Value?.[0] === 'CT')!;
    expect(studies[0].PatientMainDicomTags.PatientID).toBe(source['00100020'].Value![0]);
  }, 60_000);

  it('is in the study for WADO-RS like any instance; DCMTK reads the SR and the PDF', async () => {
    const v = report.versions[0];
    for (const [kind, object] of [['sr', v.objects.sr], ['pdf', v.objects.pdf]] as const) {
      const response = await fetch(`${gateway.dicomweb}/studies/${study}/series/${object.seriesInstanceUID}/instances/${object.sopInstanceUID}`, {
        headers: { authorization: `Bearer ${tokens.sender}`, accept: 'multipart/related; type="application/dicom"' },
      });
      expect(response.status).toBe(200);
      const [part] = parseMultipart(Buffer.from(await response.arrayBuffer()), response.headers.get('content-type')!);
      const file = path.join(workDir, `${kind}.dcm`);
      await writeFile(file, part.body);
      if (kind === 'sr') {
        // French text in Latin-1 (ISO_IR 100): DCMTK checks every value and has nothing to say.
        const dumped = await run('dsrdump', ['+Pc', '+Pl', file], { encoding: 'latin1' });
        expect(dumped.stderr).toBe('');
        expect(dumped.stdout).toContain("Pas d'hémorragie intracrânienne. ASPECTS 10/10.");
        expect(dumped.stdout).toContain('Verification Flag   : VERIFIED');
        expect(dumped.stdout).toContain('Completion Flag     : COMPLETE');
        expect(dumped.stdout).toContain(`(${ROQUES},99RPPS,"RPPS")`);
      } else {
        const dumped = await run('dcmdump', [file]);
        expect(dumped.stdout).toContain('(0008,0060) CS [DOC]');
        expect(dumped.stdout).toContain(`(0020,000d) UI [${study}]`);
      }
    }
  });

  it('is read by the sending site, its reader and coordinator, not by another site nor an analyst', async () => {
    expect((await api(tokens.coordinator, 'GET', `/api/reports/${report.id}`)).status).toBe(200);
    expect((await api(tokens.reader, 'GET', `/api/reports/${report.id}`)).status).toBe(200);
    const other = await api(tokens.otherSender, 'GET', `/api/reports/${report.id}`);
    expect(other.status).toBe(404);
    expect((await api(tokens.otherSender, 'GET', '/api/reports/00000000-0000-4000-8000-000000000000')).json.detail).toBe(
      other.json.detail.replace(report.id, '00000000-0000-4000-8000-000000000000'),
    );
    expect((await api(tokens.analyst, 'GET', `/api/reports/${report.id}`)).status).toBe(403);
    const keys = await api(tokens.otherSender, 'GET', '/api/keys');
    expect(keys.json.keys).toEqual([expect.objectContaining({ kty: 'EC', crv: 'P-256', alg: 'ES256', kid: report.versions[0].signature.kid, 'x-rpps': ROQUES })]);
    expect(JSON.stringify(keys.json)).not.toMatch(/"d"/);
  });

  it('is corrected by an addendum: version 2, linked to the original, delivered too', async () => {
    const corrected = { ...content, conclusion: 'Pas de contre-indication radiologique à la thrombolyse. Addendum : lacune ancienne capsulaire droite.', criticalFinding: undefined };
    const added = await api(tokens.reader, 'POST', `/api/reports/${report.id}/addenda`, { content: corrected, reason: 'lacune ancienne non décrite' });
    expect(added.status).toBe(201);
    const full = await until('the addendum delivered', async () => {
      const got = (await api(tokens.sender, 'GET', `/api/reports/${report.id}`)).json as ReportJson;
      return got.versions.length === 2 && got.versions[1].deliveries.every((d) => d.status === 'delivered') ? got : undefined;
    });
    expect(full.versions.map((v) => [v.version, v.kind])).toEqual([[1, 'report'], [2, 'addendum']]);
    expect(risMessages.at(-1)).toContain('55107-7^Addendum^LN');
    expect(risMessages.at(-1)).toContain(': lacune ancienne non décrite');
  }, 60_000);

  it('is checked by `astreinte report verify`, which names what was altered', async () => {
    const verify = async () => {
      try {
        const { stdout } = await run(process.execPath, [path.join(repoRoot, 'bin/astreinte.cjs'), 'report', 'verify', '--all'], { cwd: repoRoot, env: gateway.env });
        return { code: 0, stdout, stderr: '' };
      } catch (error) {
        const e = error as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    };
    const clean = await verify();
    expect(clean).toMatchObject({ code: 0 });
    expect(clean.stdout).toContain('3 signed report versions verified'); // Saint-Girons' report and addendum, Foix's report

    const db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
    try {
      // Every delivery is in the audit trail (110106 Export), the failed one too.
      const exported = await db.query<{ subtype: string; n: number }>(
        "SELECT event->>'subtype' AS subtype, count(*)::int AS n FROM audit_event WHERE type_code = '110106' GROUP BY 1 ORDER BY 1",
      );
      expect(exported.rows).toEqual([
        { subtype: 'report-delivered', n: 4 },
        { subtype: 'report-delivery-failed', n: 1 },
      ]);
      const signedEvents = await db.query("SELECT 1 FROM audit_event WHERE event->>'subtype' = 'report-signed'");
      expect(signedEvents.rows.length).toBeGreaterThanOrEqual(2);
      // The table refuses changes by itself.
      await expect(db.query("UPDATE signed_report SET signature = 'x'")).rejects.toThrow(/cannot be changed or deleted/);
      await expect(db.query('DELETE FROM signed_report')).rejects.toThrow(/cannot be changed or deleted/);
      const v1 = report.versions[0];
      const tamper = async (sql: string, values: unknown[]) => {
        await db.query('BEGIN');
        await db.query('ALTER TABLE signed_report DISABLE TRIGGER signed_report_no_update');
        await db.query(sql, values);
        await db.query('ALTER TABLE signed_report ENABLE TRIGGER signed_report_no_update');
        await db.query('COMMIT');
      };
      const original = (await db.query<{ payload: unknown; signature: string }>('SELECT payload, signature FROM signed_report WHERE id = $1', [v1.id])).rows[0];

      await tamper("UPDATE signed_report SET payload = jsonb_set(payload, '{content,conclusion}', '\"Normal.\"') WHERE id = $1", [v1.id]);
      let result = await verify();
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`report ${v1.id} version 1 ALTERED: report content altered`);

      await tamper('UPDATE signed_report SET payload = $2, signature = $3 WHERE id = $1', [v1.id, JSON.stringify(original.payload), `${original.signature.slice(0, -4)}AAAA`]);
      result = await verify();
      expect(result.stderr).toContain(`report ${v1.id} version 1 ALTERED: signature altered`);
      await tamper('UPDATE signed_report SET signature = $2 WHERE id = $1', [v1.id, original.signature]);
      expect((await verify()).code).toBe(0);

      // The stored objects (filesystem object store of the gateway).
      const keys = (await db.query<{ sr_object_key: string; pdf_object_key: string }>('SELECT sr_object_key, pdf_object_key FROM signed_report WHERE id = $1', [v1.id])).rows[0];
      for (const [what, key, label] of [['SR', keys.sr_object_key, 'SR altered'], ['PDF', keys.pdf_object_key, 'PDF altered: the document inside']] as const) {
        const file = path.join(gateway.dataDir, 'objects', key);
        const bytes = await readFile(file);
        const altered = Buffer.from(bytes);
        // Flip one byte near the end: inside the PDF document, or the SR's last text value.
        altered[altered.length - 40] ^= 0x01;
        await writeFile(file, altered);
        result = await verify();
        expect(result.code, what).toBe(1);
        expect(result.stderr).toContain(`report ${v1.id} version 1 ALTERED: ${label}`);
        await writeFile(file, bytes);
        expect(sha256(await readFile(file))).toBe(sha256(bytes));
      }
      expect((await verify()).code).toBe(0);
    } finally {
      await db.end();
    }
  }, 120_000);
});

describe('/metrics', () => {
  it('shows the delivered item in the right bucket of each step and of the turnaround, labelled by territory, site, priority and category', async () => {
    const scrape = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${tokens.analyst}` } });
    expect(scrape.status).toBe(200);
    const text = await scrape.text();
    const sample = (name: string, labels: Record<string, string>) => {
      const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      const lines = text.split('\n').filter((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
      expect(lines, `${name} ${JSON.stringify(labels)}`).toHaveLength(1);
      return Number(lines[0].split(' ').at(-1));
    };
    // The item's own timestamps, read from the database: the durations the histograms must have bucketed.
    const db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
    let at: Record<string, Date>;
    let bytes: { n: number; bytes: string };
    try {
      const item = await db.query<Record<string, Date>>(
        `SELECT i.routed_at AS routed, i.claimed_at AS claimed, sa.stable_at AS stable,
                (SELECT min(ins.received_at) FROM instance ins JOIN series se ON se.pk = ins.series_pk JOIN study st ON st.pk = se.study_pk
                  WHERE st.study_instance_uid = i.study_instance_uid AND ins.sop_class_uid NOT IN ('1.2.840.10008.5.1.4.1.1.88.11', '1.2.840.10008.5.1.4.1.1.104.1')) AS received,
                (SELECT at FROM item_step WHERE item_id = i.id AND step = 'opened') AS opened,
                (SELECT at FROM item_step WHERE item_id = i.id AND step = 'signed') AS signed,
                (SELECT at FROM item_step WHERE item_id = i.id AND step = 'delivered') AS delivered
         FROM worklist_item i JOIN study_activity sa ON sa.study_instance_uid = i.study_instance_uid
         WHERE i.kind = 'read' AND i.site = $1`,
        [SAINT_GIRONS],
      );
      expect(item.rows).toHaveLength(1);
      at = item.rows[0];
      const sent = await db.query<{ n: number; bytes: string }>(
        `SELECT count(*)::int AS n, sum(size)::text AS bytes FROM instance
          WHERE site = $1 AND sop_class_uid NOT IN ('1.2.840.10008.5.1.4.1.1.88.11', '1.2.840.10008.5.1.4.1.1.104.1')`,
        [SAINT_GIRONS],
      );
      bytes = sent.rows[0];
    } finally {
      await db.end();
    }
    for (const name of ['received', 'stable', 'routed', 'claimed', 'opened', 'signed', 'delivered']) expect(at[name], name).toBeInstanceOf(Date);
    const seconds = (from: string, to: string) => (at[to].getTime() - at[from].getTime()) / 1000;
    const labels = { territory: 'ariege', site: SAINT_GIRONS, priority: 'stat', category: 'stroke' };
    const buckets = [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800];
    const expectBucketed = (name: string, extra: Record<string, string>, duration: number) => {
      expect(duration, `${name} ${JSON.stringify(extra)}`).toBeGreaterThanOrEqual(0);
      for (const le of buckets) expect(sample(`${name}_bucket`, { ...labels, ...extra, le: String(le) }), `le=${le}`).toBe(duration <= le ? 1 : 0);
      expect(sample(`${name}_bucket`, { ...labels, ...extra, le: '+Inf' })).toBe(1);
      expect(sample(`${name}_count`, { ...labels, ...extra })).toBe(1);
      expect(sample(`${name}_sum`, { ...labels, ...extra })).toBeCloseTo(duration, 3);
    };
    const steps: [string, string, string][] = [
      ['receivedToStable', 'received', 'stable'],
      ['stableToRouted', 'stable', 'routed'],
      ['routedToClaimed', 'routed', 'claimed'],
      ['claimedToOpened', 'claimed', 'opened'],
      ['openedToSigned', 'opened', 'signed'],
      ['signedToDelivered', 'signed', 'delivered'],
    ];
    for (const [step, from, to] of steps) expectBucketed('astreinte_item_step_duration_seconds', { step }, seconds(from, to));
    expectBucketed('astreinte_item_turnaround_seconds', {}, seconds('received', 'delivered'));
    // Foix's item was signed but never delivered: its signedToDelivered and turnaround are not counted.
    expect(text).not.toMatch(/astreinte_item_turnaround_seconds_count\{[^}]*site="090781774"/);
    expect(text).toMatch(/astreinte_item_step_duration_seconds_count\{[^}]*site="090781774"[^}]*step="routedToClaimed"\} 1/);

    // Ingest counters per site: what Saint-Girons sent by STOW-RS (the report objects are not ingest).
    expect(sample('astreinte_ingest_instances_total', { transport: 'stow', site: SAINT_GIRONS, outcome: 'stored' })).toBe(bytes.n);
    expect(sample('astreinte_ingest_bytes_total', { transport: 'stow', site: SAINT_GIRONS, outcome: 'stored' })).toBe(Number(bytes.bytes));
    // No patient data in any label: only the bounded label names.
    const labelNames = new Set([...text.matchAll(/^astreinte_(?:item|ingest)_\w+\{([^}]*)\}/gm)].flatMap((m) => m[1].split(',').map((p) => p.split('=')[0])));
    expect([...labelNames].sort()).toEqual(['category', 'le', 'outcome', 'priority', 'site', 'step', 'territory', 'transport'].sort());
    expect((await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${tokens.reader}` } })).status).toBe(403);
  });
});

describe("the programme's indicators", () => {
  it('count the interpretations, hours, archive and steps per site, the same in JSON and CSV, and reconcile with the audit trail', async () => {
    // Every step follows ASTREINTE_NOW (Sunday 22 November), ingest included.
    const period = 'from=2026-11-01&to=2027-01-01';
    const json = await api(tokens.analyst, 'GET', `/api/indicators?${period}`);
    expect(json.status).toBe(200);
    type Site = {
      site: string;
      interpretations: { urgent: number; nonUrgent: number; total: number };
      hourly: number[];
      archived: { studies: number; instances: number; bytes: number };
      steps: Record<string, { count: number; medianSeconds: number | null; p90Seconds: number | null }>;
    };
    const sites = json.json.sites as Site[];
    const sg = sites.find((s) => s.site === SAINT_GIRONS)!;
    const foix = sites.find((s) => s.site === '090781774')!;
    expect(sg.interpretations).toEqual({ urgent: 1, nonUrgent: 0, total: 1 }); // a stroke: priority stat
    expect(foix.interpretations.total).toBe(1);
    expect(sg.hourly.reduce((a, b) => a + b, 0)).toBe(1);
    expect(sg.archived).toMatchObject({ studies: 1, instances: 2 }); // the CT, not the report objects
    for (const step of ['routedToClaimed', 'claimedToSigned', 'signedToDelivered', 'routedToSigned']) {
      expect(sg.steps[step].count, step).toBe(1);
      expect(sg.steps[step].medianSeconds, step).toBeGreaterThanOrEqual(0);
    }
    expect(foix.steps.signedToDelivered.count).toBe(0); // never delivered

    // The CSV holds the same figures.
    const csv = await fetch(`${gateway.url}/api/indicators?${period}&format=csv`, { headers: { authorization: `Bearer ${tokens.analyst}` } });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const [header, ...lines] = (await csv.text()).trim().split('\r\n');
    const columns = header.split(',');
    const row = lines.map((l) => l.split(',')).find((cells) => cells[0] === SAINT_GIRONS)!;
    const value = (name: string) => row[columns.indexOf(name)];
    expect(lines).toHaveLength(sites.length);
    expect(value('interpretations_urgent')).toBe('1');
    expect(value('archived_bytes')).toBe(String(sg.archived.bytes));
    expect(value('claimedToSigned_median_s')).toBe(String(sg.steps.claimedToSigned.medianSeconds));
    expect(columns.filter((c) => /^h\d\d$/.test(c)).map((c) => Number(value(c)))).toEqual(sg.hourly);

    // Reconciliation: each interpretation is a successful report-signed event of the audit trail, per site.
    const db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
    try {
      const audited = await db.query<{ site: string; n: number }>(
        `SELECT i.site, count(*)::int AS n FROM audit_event e
           CROSS JOIN LATERAL jsonb_array_elements(e.event->'entities') AS entity
           JOIN worklist_item i ON i.id = (entity->>'itemId')::uuid
         WHERE e.event->>'subtype' = 'report-signed' AND (e.event->>'outcome')::int = 0 AND entity->>'kind' = 'worklist-item'
         GROUP BY i.site`,
      );
      const fromIndicators = sites.filter((s) => s.interpretations.total > 0).map((s) => ({ site: s.site, n: s.interpretations.total }));
      expect(audited.rows.sort((a, b) => a.site.localeCompare(b.site))).toEqual(fromIndicators.sort((a, b) => a.site.localeCompare(b.site)));
    } finally {
      await db.end();
    }

    // A coordinator sees their territory's sites only; readers none.
    const coordinator = await api(tokens.coordinator, 'GET', `/api/indicators?${period}`);
    expect((coordinator.json.sites as Site[]).every((s) => ['090000050', '090781774', '090000043', '090001356'].includes(s.site) || s.site.startsWith('09'))).toBe(true);
    expect((await api(tokens.coordinator, 'GET', `/api/indicators?${period}&site=810000448`)).status).toBe(403);
    expect((await api(tokens.reader, 'GET', `/api/indicators?${period}`)).status).toBe(403);
    expect((await api(tokens.analyst, 'GET', '/api/indicators?from=2026-13-01')).status).toBe(400);
  });
});
