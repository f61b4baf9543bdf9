/**
 * The signed report as a DICOM Basic Text SR (PS3.3 A.35.1) following TID 2000 "Basic Diagnostic Imaging
 * Report": a root container titled with LOINC 18748-4, the language (French), the author as observer
 * context, one container per section (LOINC codes of CID 7001) holding its text, the TB screening's coded
 * conclusion, and the SR Document General module of a signed report: CompletionFlag COMPLETE,
 * VerificationFlag VERIFIED with its verifying observer (identified by RPPS; DCMTK's dsrdump checks that
 * VerifyingObserverIdentificationCodeSequence is there), PreliminaryFlag FINAL. Patient and study
 * attributes are the source study's, copied exactly; the source instances are listed as evidence.
 */
import type { DcmjsNaturalDataset } from 'dcmjs';
import { code, copiedStudyAttributes, dicomDateTime, newUid, writePart10 } from './report-dicom.ts';
import { sectionTexts, TB_CONCLUSION_CODES } from './report-content.ts';
import type { SignedReportPayload } from './signed-report.ts';
import type { JsonDataset } from './study-dose.ts';

export const BASIC_TEXT_SR = '1.2.840.10008.5.1.4.1.1.88.11';

export interface SourceInstanceRef {
  seriesInstanceUID: string;
  sopClassUID: string;
  sopInstanceUID: string;
}

export interface ReportObjectInput {
  payload: SignedReportPayload;
  /** DICOM JSON of one instance of the source study (patient and study attributes are copied from it). */
  source: JsonDataset;
  /** The source study's instances, listed as the report's evidence. */
  evidence: readonly SourceInstanceRef[];
  /** The reading organisation (e.g. the regional teleradiology network). */
  organisation: string;
  /** Zone of the report's dates and times. */
  timeZone: string;
  seriesNumber: number;
  /** For an addendum: the SR it corrects. */
  predecessor?: SourceInstanceRef;
}

export interface BuiltObject {
  sopClassUID: string;
  sopInstanceUID: string;
  seriesInstanceUID: string;
  bytes: Buffer;
}

const container = (concept: ReturnType<typeof code>, children: DcmjsNaturalDataset[]): DcmjsNaturalDataset => ({
  RelationshipType: 'CONTAINS',
  ValueType: 'CONTAINER',
  ConceptNameCodeSequence: [concept],
  ContinuityOfContent: 'SEPARATE',
  ContentSequence: children,
});

const textItem = (concept: ReturnType<typeof code>, value: string): DcmjsNaturalDataset => ({
  RelationshipType: 'CONTAINS',
  ValueType: 'TEXT',
  ConceptNameCodeSequence: [concept],
  TextValue: value,
});

const FINDING = code('121071', 'DCM', 'Finding');
const IMPRESSION = code('121073', 'DCM', 'Impression');
const CONCLUSION = code('121077', 'DCM', 'Conclusion');

export function buildBasicTextSr(input: ReportObjectInput): BuiltObject {
  const { payload } = input;
  const signed = dicomDateTime(new Date(payload.signedAt), input.timeZone);
  const sopInstanceUID = newUid();
  const seriesInstanceUID = newUid();

  const sections = sectionTexts(payload.content)
    .filter((s) => s.text !== '')
    .map((s) => {
      const children: DcmjsNaturalDataset[] = [textItem(s.key === 'conclusion' ? IMPRESSION : FINDING, s.text)];
      if (s.key === 'conclusion' && payload.content.tbConclusion) {
        const coded = TB_CONCLUSION_CODES[payload.content.tbConclusion];
        children.push({
          RelationshipType: 'CONTAINS',
          ValueType: 'CODE',
          ConceptNameCodeSequence: [CONCLUSION],
          ConceptCodeSequence: [code(coded.value, coded.scheme, coded.meaning)],
        });
      }
      return container(code(s.loinc, 'LN', s.meaning), children);
    });
  if (payload.kind === 'addendum') {
    sections.unshift(container(code('55107-7', 'LN', 'Addendum'), [textItem(FINDING, `Addendum au compte rendu ${payload.originalReportId}${payload.reason ? ` : ${payload.reason}` : ''}`)]));
  }

  const natural: DcmjsNaturalDataset = {
    InstanceCreationDate: signed.date,
    InstanceCreationTime: signed.time,
    TimezoneOffsetFromUTC: signed.offset,
    SOPClassUID: BASIC_TEXT_SR,
    SOPInstanceUID: sopInstanceUID,
    Modality: 'SR',
    SeriesInstanceUID: seriesInstanceUID,
    SeriesNumber: String(input.seriesNumber),
    SeriesDescription: 'Compte rendu signé',
    ReferencedPerformedProcedureStepSequence: [],
    Manufacturer: 'Astreinte',
    InstanceNumber: String(payload.version),
    ContentDate: signed.date,
    ContentTime: signed.time,
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [code('18748-4', 'LN', 'Diagnostic imaging report')],
    ContinuityOfContent: 'SEPARATE',
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '2000' }],
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'VERIFIED',
    PreliminaryFlag: 'FINAL',
    VerifyingObserverSequence: [
      {
        VerifyingObserverName: [{ Alphabetic: personName(payload.author.name) }],
        VerifyingObserverIdentificationCodeSequence: [code(payload.author.rpps, '99RPPS', 'RPPS')],
        VerifyingOrganization: input.organisation,
        VerificationDateTime: `${signed.date}${signed.time}${signed.offset}`,
      },
    ],
    PerformedProcedureCodeSequence: [],
    CurrentRequestedProcedureEvidenceSequence: evidenceSequence(payload.studyInstanceUID, input.evidence),
    ...(input.predecessor
      ? { PredecessorDocumentsSequence: evidenceSequence(payload.studyInstanceUID, [input.predecessor]) }
      : {}),
    ContentSequence: [
      {
        RelationshipType: 'HAS CONCEPT MOD',
        ValueType: 'CODE',
        ConceptNameCodeSequence: [code('121049', 'DCM', 'Language of Content Item and Descendants')],
        ConceptCodeSequence: [code('fr', 'RFC5646', 'French')],
      },
      {
        RelationshipType: 'HAS OBS CONTEXT',
        ValueType: 'CODE',
        ConceptNameCodeSequence: [code('121005', 'DCM', 'Observer Type')],
        ConceptCodeSequence: [code('121006', 'DCM', 'Person')],
      },
      {
        RelationshipType: 'HAS OBS CONTEXT',
        ValueType: 'PNAME',
        ConceptNameCodeSequence: [code('121008', 'DCM', 'Person Observer Name')],
        PersonName: [{ Alphabetic: personName(payload.author.name) }],
      },
      ...sections,
    ],
  };
  return { sopClassUID: BASIC_TEXT_SR, sopInstanceUID, seriesInstanceUID, bytes: writePart10(natural, copiedStudyAttributes(input.source)) };
}

function evidenceSequence(studyInstanceUID: string, refs: readonly SourceInstanceRef[]): DcmjsNaturalDataset[] {
  const bySeries = new Map<string, SourceInstanceRef[]>();
  for (const ref of refs) bySeries.set(ref.seriesInstanceUID, [...(bySeries.get(ref.seriesInstanceUID) ?? []), ref]);
  if (bySeries.size === 0) return [];
  return [
    {
      StudyInstanceUID: studyInstanceUID,
      ReferencedSeriesSequence: [...bySeries].map(([series, instances]) => ({
        SeriesInstanceUID: series,
        ReferencedSOPSequence: instances.map((i) => ({ ReferencedSOPClassUID: i.sopClassUID, ReferencedSOPInstanceUID: i.sopInstanceUID })),
      })),
    },
  ];
}

/** "Dr Anne Roques" -> "Roques^Anne" (family^given), for person name values. */
export function personName(displayName: string): string {
  const words = displayName.replace(/^(Dr|Pr|Docteur|Professeur)\.?\s+/i, '').trim().split(/\s+/);
  if (words.length < 2) return words.join('');
  return `${words.slice(1).join(' ')}^${words[0]}`;
}
