/**
 * The signed report as a readable PDF (pdfkit: no browser; its standard Helvetica covers French accents in
 * WinAnsi), wrapped in a DICOM Encapsulated PDF (PS3.3 A.45.1) as DCMTK's pdf2dcm writes one: modality DOC,
 * ConversionType WSD, MIMETypeOfEncapsulatedDocument application/pdf, the type 2 attributes present even
 * if empty, the document padded to an even length with one 0x00 and its true length in
 * EncapsulatedDocumentLength.
 */
import PDFDocument from 'pdfkit';
import type { DcmjsNaturalDataset } from 'dcmjs';
import { code, copiedStudyAttributes, dicomDateTime, newUid, writePart10 } from './report-dicom.ts';
import { sectionTexts } from './report-content.ts';
import type { BuiltObject, ReportObjectInput } from './basic-text-sr.ts';
import { signatureFingerprint } from './signed-report.ts';

export const ENCAPSULATED_PDF = '1.2.840.10008.5.1.4.1.1.104.1';

export interface PdfInput extends ReportObjectInput {
  signature: string;
  keyId: string;
  /** The requesting hospital's name. */
  hospital: string;
  /** Patient name as "Family^Given" (DICOM), for the header. */
  patientName: string;
  patientBirthDate: string;
  examDescription: string;
}

/** The readable report: hospital, patient, exam, sections, author, signature fingerprint. */
export async function renderReportPdf(input: PdfInput): Promise<Buffer> {
  const { payload } = input;
  const doc = new PDFDocument({
    size: 'A4',
    margin: 56,
    info: { Title: `Compte rendu ${payload.reportId}`, Author: payload.author.name, Creator: 'Astreinte', CreationDate: new Date(payload.signedAt) },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    doc.on('end', resolve);
    doc.on('error', reject);
  });
  const when = new Intl.DateTimeFormat('fr-FR', { timeZone: input.timeZone, dateStyle: 'long', timeStyle: 'short' }).format(new Date(payload.signedAt));

  doc.font('Helvetica-Bold').fontSize(15).text(payload.kind === 'addendum' ? "Addendum au compte rendu d'imagerie" : "Compte rendu d'imagerie");
  doc.moveDown(0.3).font('Helvetica').fontSize(10);
  doc.text(`Établissement demandeur : ${input.hospital}`);
  doc.text(`Patient : ${input.patientName.replace(/\^/g, ' ').trim()} – né(e) le ${frenchDate(input.patientBirthDate)} – IPP ${payload.patient.id}${payload.patient.ins ? ` – INS ${payload.patient.ins}` : ''}`);
  doc.text(`Examen : ${input.examDescription} – n° d'examen ${payload.accessionNumber || '—'}`);
  doc.text(`Étude : ${payload.studyInstanceUID}`);
  if (payload.kind === 'addendum') {
    doc.text(`Corrige le compte rendu ${payload.originalReportId} (version ${payload.version})${payload.reason ? ` : ${payload.reason}` : ''}`);
  }
  doc.moveDown();
  for (const section of sectionTexts(payload.content)) {
    doc.font('Helvetica-Bold').fontSize(11).text(section.title);
    doc.font('Helvetica').fontSize(10).text(section.text || '—');
    doc.moveDown(0.6);
  }
  doc.moveDown();
  doc.font('Helvetica-Bold').fontSize(10).text(`Signé électroniquement par ${payload.author.name} (RPPS ${payload.author.rpps}), ${input.organisation}, le ${when}.`);
  doc.font('Helvetica').fontSize(8).text(`Empreinte de la signature (ECDSA P-256, clé ${input.keyId}) : ${signatureFingerprint(input.signature)}`);
  doc.text(`Compte rendu ${payload.reportId}, version ${payload.version}. Ce document ne doit pas être modifié par le système destinataire.`);
  doc.end();
  await ended;
  return Buffer.concat(chunks);
}

function frenchDate(da: string): string {
  return /^\d{8}$/.test(da) ? `${da.slice(6, 8)}/${da.slice(4, 6)}/${da.slice(0, 4)}` : '—';
}

/** The PDF as a DICOM Encapsulated PDF instance in a new series of the source study. */
export function buildEncapsulatedPdf(input: ReportObjectInput, pdf: Buffer, title: string): BuiltObject {
  const signed = dicomDateTime(new Date(input.payload.signedAt), input.timeZone);
  const sopInstanceUID = newUid();
  const seriesInstanceUID = newUid();
  const padded = pdf.length % 2 === 0 ? pdf : Buffer.concat([pdf, Buffer.alloc(1)]);
  const natural: DcmjsNaturalDataset = {
    InstanceCreationDate: signed.date,
    InstanceCreationTime: signed.time,
    TimezoneOffsetFromUTC: signed.offset,
    SOPClassUID: ENCAPSULATED_PDF,
    SOPInstanceUID: sopInstanceUID,
    Modality: 'DOC',
    SeriesInstanceUID: seriesInstanceUID,
    SeriesNumber: String(input.seriesNumber),
    SeriesDescription: 'Compte rendu signé (PDF)',
    Manufacturer: 'Astreinte',
    ConversionType: 'WSD',
    InstanceNumber: String(input.payload.version),
    ContentDate: signed.date,
    ContentTime: signed.time,
    AcquisitionDateTime: `${signed.date}${signed.time}${signed.offset}`,
    BurnedInAnnotation: 'YES',
    DocumentTitle: title,
    ConceptNameCodeSequence: [code('18748-4', 'LN', 'Diagnostic imaging report')],
    MIMETypeOfEncapsulatedDocument: 'application/pdf',
    EncapsulatedDocument: toArrayBuffer(padded),
    EncapsulatedDocumentLength: pdf.length,
  };
  return { sopClassUID: ENCAPSULATED_PDF, sopInstanceUID, seriesInstanceUID, bytes: writePart10(natural, copiedStudyAttributes(input.source)) };
}

function toArrayBuffer(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
