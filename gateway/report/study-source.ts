/**
 * What a report needs from the study it reports on, read from the index's stored DICOM JSON: one source
 * instance (its Patient and Study attributes are copied into the SR and the PDF), every instance as evidence,
 * the patient's identifiers (local id with its issuer, and the INS when the site sent it) and the dose figures.
 */
import { studyDoses, type JsonDataset } from '../../core/report/study-dose.ts';
import type { SourceInstanceRef } from '../../core/report/basic-text-sr.ts';
import type { DoseEntry } from '../../core/report/report-content.ts';
import type { DicomIndex } from '../../storage/index/dicom-index.ts';

/** OIDs of the INS (NIR, NIA, and the test NIR) as issuer of a patient id (ANS, référentiel INS). */
const INS_ISSUERS = new Set(['1.2.250.1.213.1.4.8', '1.2.250.1.213.1.4.9', '1.2.250.1.213.1.4.10', '1.2.250.1.213.1.4.11']);
/** SOP classes Astreinte writes for reports: never the source of another report. */
const REPORT_CLASSES = new Set(['1.2.840.10008.5.1.4.1.1.88.11', '1.2.840.10008.5.1.4.1.1.104.1']);

export interface StudySource {
  source: JsonDataset;
  evidence: SourceInstanceRef[];
  accessionNumber: string;
  patient: { id: string; issuer: string; ins: string | null };
  patientName: string;
  patientBirthDate: string;
  examDescription: string;
  doses: DoseEntry[];
}

const text = (ds: JsonDataset, tag: string): string => {
  const value = ds[tag]?.Value?.[0];
  if (value === undefined || value === null) return '';
  if (typeof value === 'object' && 'Alphabetic' in (value as object)) return String((value as { Alphabetic?: string }).Alphabetic ?? '');
  return String(value);
};

export async function loadStudySource(index: DicomIndex, studyInstanceUID: string): Promise<StudySource | null> {
  const texts = await index.findMetadata({ site: null }, { studyInstanceUID });
  const instances = texts.map((t) => JSON.parse(t) as JsonDataset);
  const sources = instances.filter((i) => !REPORT_CLASSES.has(text(i, '00080016')));
  const source = sources[0];
  if (!source) return null;
  return {
    source,
    evidence: sources.map((i) => ({ seriesInstanceUID: text(i, '0020000E'), sopClassUID: text(i, '00080016'), sopInstanceUID: text(i, '00080018') })),
    accessionNumber: text(source, '00080050'),
    patient: { id: text(source, '00100020'), issuer: text(source, '00100021'), ins: insOf(source) },
    patientName: text(source, '00100010'),
    patientBirthDate: text(source, '00100030'),
    examDescription: text(source, '00081030') || text(source, '0008103E') || text(source, '00080060'),
    doses: studyDoses(sources),
  };
}

/** The INS: the patient id itself when its issuer is an INS OID, else an Other Patient IDs item issued so. */
function insOf(ds: JsonDataset): string | null {
  const qualifiers = (ds['00100024']?.Value ?? []) as JsonDataset[];
  const universal = qualifiers.map((q) => text(q, '00400032')).find((u) => INS_ISSUERS.has(u));
  if (universal || INS_ISSUERS.has(text(ds, '00100021'))) return text(ds, '00100020') || null;
  for (const other of (ds['00101002']?.Value ?? []) as JsonDataset[]) {
    const issuer = text(other, '00100021');
    const otherUniversal = ((other['00100024']?.Value ?? []) as JsonDataset[]).map((q) => text(q, '00400032'));
    if (INS_ISSUERS.has(issuer) || otherUniversal.some((u) => INS_ISSUERS.has(u))) return text(other, '00100020') || null;
  }
  return null;
}
