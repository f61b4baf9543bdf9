/**
 * The facts routing decides on, read from the DICOM index (what the sender actually stored) and from what the
 * sender said when it declared the study complete: owning site, modalities, body part, descriptions, priority
 * flags, requested expertise, and the patient's identifiers for the opposition registry.
 */
import type pg from 'pg';
import { EXPERTISES, PRIORITY_FLAGS, type Expertise, type PriorityFlag } from '../../config/region/region-config.ts';
import type { StudyFacts } from './classify-exam.ts';

export interface PatientIdentifier {
  id: string;
  /** Issuer of Patient ID ('' when none): the local IPP's issuer, or an OID such as the INS 1.2.250.1.213.1.4.8. */
  issuer: string;
}

export interface IndexedStudy {
  studyInstanceUID: string;
  facts: StudyFacts;
  /** The local Patient ID with its issuer, then every Other Patient ID (INS...). */
  patientIds: PatientIdentifier[];
}

/** What a sender may say with `POST /api/studies/{study}/complete`. */
export interface CompletionFlags {
  priority?: PriorityFlag;
  expertise?: Expertise;
}

/** Objects that are not images: their body part or description never decides. */
const NON_IMAGE_MODALITIES = new Set(['SR', 'KO', 'PR', 'DOC', 'REG', 'SEG', 'FID', 'PLAN', 'RWV', 'AU', 'ECG']);
const REQUESTED_PROCEDURE_DESCRIPTION = '00321060';
const REQUEST_ATTRIBUTES_SEQUENCE = '00400275';
const REQUESTED_PROCEDURE_PRIORITY = '00401003';

interface StudyRow {
  pk: string;
  site: string | null;
  study_description: string | null;
  patient_pk: string;
  patient_id: string;
  issuer_of_patient_id: string;
  sender_flags: unknown;
}

interface SeriesRow {
  modality: string | null;
  body_part_examined: string | null;
  metadata: string | null;
}

/** Null when the study is not (yet) in the index. */
export async function readStudyFacts(client: pg.ClientBase, studyInstanceUID: string): Promise<IndexedStudy | null> {
  const study = await client.query<StudyRow>(
    `SELECT s.pk, COALESCE(s.site, a.site) AS site, s.study_description, p.pk AS patient_pk, p.patient_id,
            p.issuer_of_patient_id, a.sender_flags
       FROM study s
       JOIN patient p ON p.pk = s.patient_pk
       LEFT JOIN study_activity a ON a.study_instance_uid = s.study_instance_uid
      WHERE s.study_instance_uid = $1`,
    [studyInstanceUID],
  );
  const row = study.rows[0];
  if (!row) return null;
  const [series, others] = await Promise.all([
    client.query<SeriesRow>(
      `SELECT se.modality, se.body_part_examined,
              (SELECT i.metadata FROM instance i WHERE i.series_pk = se.pk
                ORDER BY i.instance_number NULLS LAST, i.pk LIMIT 1) AS metadata
         FROM series se
        WHERE se.study_pk = $1
        ORDER BY se.series_number NULLS LAST, se.pk`,
      [row.pk],
    ),
    client.query<{ patient_id: string; issuer: string }>(
      'SELECT patient_id, issuer FROM patient_other_id WHERE patient_pk = $1 ORDER BY patient_id, issuer',
      [row.patient_pk],
    ),
  ]);

  const modalities = unique(series.rows.map((s) => s.modality?.trim().toUpperCase() ?? '').filter(Boolean));
  const imageSeries = series.rows.filter((s) => !NON_IMAGE_MODALITIES.has(s.modality?.trim().toUpperCase() ?? ''));
  const bodyPart = imageSeries.map((s) => s.body_part_examined?.trim()).find((p): p is string => Boolean(p));
  const requested = imageSeries.map((s) => requestedProcedure(s.metadata)).find((r) => r.description || r.priority);
  const flags = senderFlags(row.sender_flags);

  const priorityFlags: PriorityFlag[] = [];
  if (flags.priority) priorityFlags.push(flags.priority);
  // Requested Procedure Priority STAT / HIGH from the order: an urgent exam even if the sender said nothing.
  if (requested?.priority && ['STAT', 'HIGH'].includes(requested.priority) && !priorityFlags.includes('urgent')) {
    priorityFlags.push('urgent');
  }

  const facts: StudyFacts = {
    site: row.site ?? '',
    modalities,
    ...(bodyPart ? { bodyPart } : {}),
    ...(row.study_description?.trim() ? { studyDescription: row.study_description.trim() } : {}),
    ...(requested?.description ? { requestedProcedure: requested.description } : {}),
    ...(priorityFlags.length > 0 ? { priorityFlags } : {}),
    ...(flags.expertise ? { requestedExpertise: flags.expertise } : {}),
  };
  const patientIds: PatientIdentifier[] = [];
  if (row.patient_id) patientIds.push({ id: row.patient_id, issuer: row.issuer_of_patient_id ?? '' });
  for (const other of others.rows) patientIds.push({ id: other.patient_id, issuer: other.issuer });
  return { studyInstanceUID, facts, patientIds };
}

/** The flags stored with a completion, keeping only values the region model knows. */
export function senderFlags(value: unknown): CompletionFlags {
  if (typeof value !== 'object' || value === null) return {};
  const record = value as Record<string, unknown>;
  const flags: CompletionFlags = {};
  if (typeof record.priority === 'string' && (PRIORITY_FLAGS as readonly string[]).includes(record.priority)) {
    flags.priority = record.priority as PriorityFlag;
  }
  if (typeof record.expertise === 'string' && (EXPERTISES as readonly string[]).includes(record.expertise)) {
    flags.expertise = record.expertise as Expertise;
  }
  return flags;
}

/** Requested Procedure Description and Priority, top level or in the Request Attributes Sequence. */
function requestedProcedure(metadata: string | null): { description?: string; priority?: string } {
  if (!metadata) return {};
  let dataset: unknown;
  try {
    dataset = JSON.parse(metadata);
  } catch {
    return {};
  }
  const top = dataset as DicomJson;
  const items = sequenceItems(top, REQUEST_ATTRIBUTES_SEQUENCE);
  const description = firstString(top, REQUESTED_PROCEDURE_DESCRIPTION) ?? items.map((i) => firstString(i, REQUESTED_PROCEDURE_DESCRIPTION)).find(Boolean);
  const priority = firstString(top, REQUESTED_PROCEDURE_PRIORITY) ?? items.map((i) => firstString(i, REQUESTED_PROCEDURE_PRIORITY)).find(Boolean);
  return {
    ...(description ? { description } : {}),
    ...(priority ? { priority: priority.trim().toUpperCase() } : {}),
  };
}

type DicomJson = Record<string, { vr?: string; Value?: unknown[] } | undefined>;

function firstString(dataset: DicomJson, tag: string): string | undefined {
  const value = dataset[tag]?.Value?.[0];
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

function sequenceItems(dataset: DicomJson, tag: string): DicomJson[] {
  const items = dataset[tag]?.Value ?? [];
  return items.filter((i): i is DicomJson => typeof i === 'object' && i !== null);
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
