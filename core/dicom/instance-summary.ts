/** The patient / study / series / instance fields of a ParsedInstance, taken from its DICOM JSON metadata. */
import type { DicomJsonDataset, ParsedInstance, PersonIdentity } from './parsed-instance.ts';

type Summary = Pick<ParsedInstance, 'patient' | 'study' | 'series' | 'instance'>;

export function readInstanceSummary(metadata: DicomJsonDataset, numberOfFrames: number): Summary {
  const text = (tag: string) => firstText(metadata, tag);
  const num = (tag: string) => firstNumber(metadata, tag);
  return {
    patient: {
      id: text('00100020'),
      issuer: text('00100021'),
      name: personName(metadata, '00100010'),
      birthDate: text('00100030'),
      sex: text('00100040'),
      otherIds: otherPatientIds(metadata),
    },
    study: {
      date: text('00080020'),
      time: text('00080030'),
      accessionNumber: text('00080050'),
      description: text('00081030'),
      referringPhysicianName: personName(metadata, '00080090'),
      institutionName: text('00080080'),
      studyId: text('00200010'),
    },
    series: {
      modality: text('00080060'),
      number: num('00200011'),
      description: text('0008103E'),
      bodyPartExamined: text('00180015'),
      date: text('00080021'),
      time: text('00080031'),
    },
    instance: {
      number: num('00200013'),
      rows: num('00280010'),
      columns: num('00280011'),
      numberOfFrames,
    },
  };
}

function firstText(dataset: DicomJsonDataset, tag: string): string | undefined {
  const value = dataset[tag]?.Value?.[0];
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** IS values that are not valid integers stay strings in the metadata; here they are simply absent. */
function firstNumber(dataset: DicomJsonDataset, tag: string): number | undefined {
  const value = dataset[tag]?.Value?.[0];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The alphabetic component group of the first value, e.g. 'DUPONT^Jean'. */
function personName(dataset: DicomJsonDataset, tag: string): string | undefined {
  const value = dataset[tag]?.Value?.[0];
  if (value && typeof value === 'object' && 'Alphabetic' in value && typeof value.Alphabetic === 'string') {
    return value.Alphabetic;
  }
  return undefined;
}

/** Other Patient IDs Sequence (0010,1002): one identity per item with a Patient ID. */
function otherPatientIds(dataset: DicomJsonDataset): PersonIdentity[] {
  const items = dataset['00101002']?.Value ?? [];
  const ids: PersonIdentity[] = [];
  for (const item of items) {
    if (!item || typeof item !== 'object') continue;
    const itemDataset = item as DicomJsonDataset;
    const id = firstText(itemDataset, '00100020');
    if (!id) continue;
    const issuer = firstText(itemDataset, '00100021');
    ids.push(issuer ? { id, issuer } : { id });
  }
  return ids;
}
