/**
 * The signed report as an HL7 v2.5.1 ORU^R01 (ER7), the message the national teleradiology profile
 * (ansforge interop-ig-hl7v2-teleradiologie) uses to return the radiologist's answer to the requesting site's
 * RIS: identity as IHE PAM-FR (local id with its assigning authority, and the INS with the ANS OID), one OBX
 * per section (LOINC), the TB screening's coded conclusion, the study's UID and the PDF (ED, base64).
 * Hand-written: one message type and its escaping are small, and the HL7 libraries for Node checked need
 * Node 22.
 */
import { sectionTexts, TB_CONCLUSION_CODES } from '../../core/report/report-content.ts';
import type { SignedReportPayload } from '../../core/report/signed-report.ts';

export interface OruInput {
  payload: SignedReportPayload;
  controlId: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  /** The PDF document (not the DICOM object). */
  pdf: Buffer;
  patientName: string;
  patientBirthDate: string;
  patientSex: string;
  timeZone: string;
  now: Date;
}

/** HL7 escape sequences (the default delimiters |^~\&) and line breaks as \.br\. */
export function hl7Escape(text: string): string {
  return text
    .replace(/\\/g, '\\E\\')
    .replace(/\|/g, '\\F\\')
    .replace(/\^/g, '\\S\\')
    .replace(/&/g, '\\T\\')
    .replace(/~/g, '\\R\\')
    .replace(/\r\n|\r|\n/g, '\\.br\\');
}

/** HL7 DTM with offset in the zone: 20261205034500+0100. */
export function hl7DateTime(instant: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  const local = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  const offset = Math.round((local - Math.floor(instant.getTime() / 1000) * 1000) / 60_000);
  const abs = Math.abs(offset);
  return `${parts.year}${parts.month}${parts.day}${parts.hour}${parts.minute}${parts.second}${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
}

export function buildOruR01(input: OruInput): string {
  const p = input.payload;
  const e = hl7Escape;
  const signedAt = hl7DateTime(new Date(p.signedAt), input.timeZone);
  const [family = '', given = ''] = input.patientName.split('^');
  const [authorGiven, ...authorFamily] = p.author.name.replace(/^(Dr|Pr)\.?\s+/i, '').split(/\s+/);
  const identifiers = [`${e(p.patient.id)}^^^${e(p.patient.issuer)}^PI`];
  if (p.patient.ins) identifiers.push(`${e(p.patient.ins)}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS`);
  const author = `${e(p.author.rpps)}^${e(authorFamily.join(' '))}^${e(authorGiven ?? '')}^^^^^^ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO^D^^^RPPS`;
  const segments = [
    `MSH|^~\\&|ASTREINTE|${e(input.sendingFacility)}|${e(input.receivingApplication)}|${e(input.receivingFacility)}|${hl7DateTime(input.now, input.timeZone)}||ORU^R01^ORU_R01|${e(input.controlId)}|P|2.5.1|||AL|NE||UNICODE UTF-8|FRA`,
    `PID|1||${identifiers.join('~')}||${e(family)}^${e(given)}^^^^^L||${e(input.patientBirthDate)}|${e(input.patientSex)}`,
    `ORC|RE|${e(p.accessionNumber)}|${e(p.reportId)}||CM||||${signedAt}`,
    `OBR|1|${e(p.accessionNumber)}|${e(p.reportId)}|18748-4^Diagnostic imaging report^LN|||${signedAt}|||||||||||||||${signedAt}||RAD|F|||||||${author}`,
  ];
  let n = 0;
  const obx = (type: string, code: string, value: string) =>
    segments.push(`OBX|${++n}|${type}|${code}||${value}||||||F|||${signedAt}||${author}`);
  if (p.kind === 'addendum') obx('TX', '55107-7^Addendum^LN', e(`Addendum (version ${p.version}) au compte rendu ${p.originalReportId}${p.reason ? ` : ${p.reason}` : ''}`));
  for (const section of sectionTexts(p.content)) {
    if (section.text !== '') obx('TX', `${section.loinc}^${e(section.meaning)}^LN`, e(section.text));
  }
  if (p.content.tbConclusion) {
    const c = TB_CONCLUSION_CODES[p.content.tbConclusion];
    obx('CE', '121077^Conclusion^DCM', `${c.value}^${e(c.meaning)}^${c.scheme}`);
  }
  obx('ST', '110180^Study Instance UID^DCM', e(p.studyInstanceUID));
  obx('ED', '18748-4^Diagnostic imaging report^LN', `^AP^PDF^Base64^${input.pdf.toString('base64')}`);
  return segments.join('\r') + '\r';
}

/** The acknowledgment code (MSA-1) and text (MSA-3) of an ACK, and whether it answers this control id. */
export function parseAck(message: string, controlId: string): { code: string; text: string; matches: boolean } {
  const msa = message.split(/\r\n|\r|\n/).find((s) => s.startsWith('MSA|'));
  if (!msa) return { code: '', text: 'no MSA segment in the answer', matches: false };
  const fields = msa.split('|');
  return { code: fields[1] ?? '', text: fields[3] ?? '', matches: fields[2] === controlId };
}
