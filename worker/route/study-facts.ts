/**
 * The facts routing decides on, read from the DICOM index (what the sender actually stored) and from what the
 * sender said when it declared the study complete: owning site, modalities, body part, descriptions, priority
 * flags, requested expertise, and the patient's identifiers for the opposition registry.
 */
import type { PriorityFlag } from '../../config/region/region-config.ts';
import type { PatientIdentifier, StudyRecord } from '../../storage/worklist/worklist-store.ts';
import type { StudyFacts } from './classify-exam.ts';

export interface IndexedStudy {
  studyInstanceUID: string;
  facts: StudyFacts;
  /** The local Patient ID with its issuer, then every Other Patient ID (INS...). */
  patientIds: PatientIdentifier[];
}

/** Objects that are not images: their body part or description never decides. */
const NON_IMAGE_MODALITIES = new Set(['SR', 'KO', 'PR', 'DOC', 'REG', 'SEG', 'FID', 'PLAN', 'RWV', 'AU', 'ECG']);
const REQUESTED_PROCEDURE_DESCRIPTION = '00321060';
const REQUEST_ATTRIBUTES_SEQUENCE = '00400275';
const REQUESTED_PROCEDURE_PRIORITY = '00401003';

/** The facts of a study as routing decides on them, from what the store read of it. */
export function studyFacts(record: StudyRecord): IndexedStudy {
  const series = record.series;
  const modalities = unique(series.map((s) => s.modality?.trim().toUpperCase() ?? '').filter(Boolean));
  const imageSeries = series.filter((s) => !NON_IMAGE_MODALITIES.has(s.modality?.trim().toUpperCase() ?? ''));
  const bodyPart = imageSeries.map((s) => s.bodyPartExamined?.trim()).find((p): p is string => Boolean(p));
  const requested = imageSeries.map((s) => requestedProcedure(s.firstInstanceMetadata)).find((r) => r.description || r.priority);
  const flags = record.senderFlags;

  const priorityFlags: PriorityFlag[] = [];
  if (flags.priority) priorityFlags.push(flags.priority);
  // Requested Procedure Priority STAT / HIGH from the order: an urgent exam even if the sender said nothing.
  if (requested?.priority && ['STAT', 'HIGH'].includes(requested.priority) && !priorityFlags.includes('urgent')) {
    priorityFlags.push('urgent');
  }

  const facts: StudyFacts = {
    site: record.site ?? '',
    modalities,
    ...(bodyPart ? { bodyPart } : {}),
    ...(record.studyDescription?.trim() ? { studyDescription: record.studyDescription.trim() } : {}),
    ...(requested?.description ? { requestedProcedure: requested.description } : {}),
    ...(priorityFlags.length > 0 ? { priorityFlags } : {}),
    ...(flags.expertise ? { requestedExpertise: flags.expertise } : {}),
  };
  return { studyInstanceUID: record.studyInstanceUID, facts, patientIds: record.patientIds };
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
