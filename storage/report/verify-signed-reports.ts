/**
 * Checks every stored report version against its signature and its stored SR and PDF, naming what was
 * altered: the signed content (it no longer matches its signature nor the SR written when it was signed), the
 * signature alone (the content still matches the SR but not the signature), the SR object, the PDF object or
 * the PDF document inside it (hashes recorded at signing), or the report's row itself (ids differing from the
 * payload). A fresh system verifies clean.
 */
import { createHash, randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import dcmjs from 'dcmjs';
import { readInstanceFile } from '../../core/dicom/read-instance-file.ts';
import { sectionTexts } from '../../core/report/report-content.ts';
import { verifyPayload } from '../../core/report/signed-report.ts';
import type { ObjectStore } from '../objects/object-store.ts';
import type { ReportStore, SignedReportRecord } from './report-store.ts';

export interface ReportFinding {
  reportId: string;
  version: number;
  problems: string[];
}

type JsonDataset = Record<string, { Value?: unknown[] } | undefined>;

export async function verifySignedReports(store: ReportStore, objects: ObjectStore, only?: string): Promise<{ checked: number; altered: ReportFinding[] }> {
  const altered: ReportFinding[] = [];
  let checked = 0;
  const check = async (report: SignedReportRecord) => {
    checked++;
    const problems = await verifyOne(store, objects, report);
    if (problems.length > 0) altered.push({ reportId: report.id, version: report.version, problems });
  };
  if (only) {
    const report = await store.signedReport(only);
    if (!report) throw new Error(`there is no signed report ${only}`);
    for (const version of await store.reportVersions(report.originalId ?? report.id)) await check(version);
    return { checked, altered };
  }
  let after: string | undefined;
  for (;;) {
    const page = await store.allSignedReports(after);
    for (const report of page) await check(report);
    if (page.length === 0) return { checked, altered };
    after = page[page.length - 1].id;
  }
}

async function verifyOne(store: ReportStore, objects: ObjectStore, r: SignedReportRecord): Promise<string[]> {
  const problems: string[] = [];
  const p = r.payload;
  if (p.reportId !== r.id || p.studyInstanceUID !== r.studyInstanceUID || p.version !== r.version || p.author.rpps !== r.authorRpps || p.worklistItemId !== r.itemId) {
    problems.push('report row altered: its ids, version or author differ from the signed content');
  }
  const jwk = await store.publicKey(r.keyId);
  const signatureValid = jwk ? safeVerify(r, jwk) : false;
  if (!jwk) problems.push(`signature key ${r.keyId} missing from the key store`);

  const sr = await readObject(objects, r.sr.objectKey);
  let contentMatchesSr: boolean | undefined;
  if (!sr) problems.push(`SR object missing (${r.sr.objectKey})`);
  else if (sha256(sr) !== r.sr.sha256) problems.push(`SR altered: object ${r.sr.sopInstanceUID} differs from the one stored at signing`);
  else contentMatchesSr = sameText(await srTexts(sr), expectedTexts(r));

  if (jwk && !signatureValid) {
    problems.push(
      contentMatchesSr === true
        ? 'signature altered: it does not verify although the content still matches the signed SR'
        : 'report content altered: the signed content no longer matches its signature',
    );
  } else if (contentMatchesSr === false) {
    problems.push('report content altered: the signed content differs from the SR written at signing');
  }

  const pdf = await readObject(objects, r.pdf.objectKey);
  if (!pdf) problems.push(`PDF object missing (${r.pdf.objectKey})`);
  else if (sha256(pdf) !== r.pdf.sha256) {
    const document = pdfDocument(pdf);
    problems.push(
      document && sha256(document) !== r.pdf.documentSha256
        ? `PDF altered: the document inside ${r.pdf.sopInstanceUID} differs from the one signed`
        : `PDF altered: object ${r.pdf.sopInstanceUID} differs from the one stored at signing`,
    );
  }
  return problems;
}

function safeVerify(r: SignedReportRecord, jwk: Parameters<typeof verifyPayload>[2]): boolean {
  try {
    return verifyPayload(r.payload, r.signature, jwk);
  } catch {
    return false;
  }
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function readObject(objects: ObjectStore, key: string): Promise<Buffer | null> {
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of await objects.read(key)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } catch {
    return null;
  }
}

function expectedTexts(r: SignedReportRecord): string[] {
  return sectionTexts(r.payload.content)
    .map((s) => s.text)
    .filter((t) => t !== '');
}

/** The TEXT values of the SR's section containers, decoded with its character set. */
async function srTexts(bytes: Buffer): Promise<string[]> {
  const file = path.join(os.tmpdir(), `astreinte-verify-${randomUUID()}.dcm`);
  try {
    await writeFile(file, bytes);
    const metadata = (await readInstanceFile(file)).metadata as JsonDataset;
    const texts: string[] = [];
    for (const section of (metadata['0040A730']?.Value ?? []) as JsonDataset[]) {
      if (section['0040A040']?.Value?.[0] !== 'CONTAINER') continue;
      const code = ((section['0040A043']?.Value?.[0] ?? {}) as JsonDataset)['00080100']?.Value?.[0];
      if (code === '55107-7') continue; // the addendum heading
      for (const item of (section['0040A730']?.Value ?? []) as JsonDataset[]) {
        if (item['0040A040']?.Value?.[0] === 'TEXT') texts.push(String(item['0040A160']?.Value?.[0] ?? ''));
      }
    }
    return texts;
  } catch {
    return [];
  } finally {
    await rm(file, { force: true });
  }
}

function sameText(a: string[], b: string[]): boolean {
  // DICOM pads text values to an even length with a space.
  const norm = (list: string[]) => list.map((t) => t.replace(/ +$/, ''));
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

function pdfDocument(part10: Buffer): Buffer | null {
  try {
    const file = dcmjs.data.DicomMessage.readFile(part10.buffer.slice(part10.byteOffset, part10.byteOffset + part10.byteLength) as ArrayBuffer);
    const value = file.dict['00420011']?.Value?.[0];
    const length = Number(file.dict['00420015']?.Value?.[0]);
    return value instanceof ArrayBuffer && Number.isInteger(length) ? Buffer.from(value).subarray(0, length) : null;
  } catch {
    return null;
  }
}
