/** Reading values out of DICOM JSON (PS3.18 F.2) as the gateway's QIDO and /metadata answer it. */
export interface DicomAttribute {
  vr: string;
  Value?: unknown[];
  BulkDataURI?: string;
  InlineBinary?: string;
}

export type DicomJson = Record<string, DicomAttribute>;

export function text(dataset: DicomJson, tag: string): string {
  const value = dataset[tag]?.Value?.[0];
  if (value === undefined || value === null) return '';
  if (typeof value === 'object' && 'Alphabetic' in (value as Record<string, unknown>)) {
    return String((value as { Alphabetic?: string }).Alphabetic ?? '');
  }
  return String(value);
}

export function numbers(dataset: DicomJson, tag: string): number[] {
  return (dataset[tag]?.Value ?? []).map(Number);
}

export function number(dataset: DicomJson, tag: string): number | undefined {
  const [value] = numbers(dataset, tag);
  return Number.isFinite(value) ? value : undefined;
}

/** DUPONT^JEAN -> DUPONT Jean */
export function personName(value: string): string {
  const [family = '', given = ''] = value.split('^');
  const capitalised = given
    .toLowerCase()
    .replace(/(^|[\s'-])(\p{L})/gu, (_match, before: string, letter: string) => before + letter.toUpperCase());
  return [family.toUpperCase(), capitalised].filter(Boolean).join(' ');
}

/** 20261122 -> 22/11/2026 and 021000 -> 02:10 */
export function dicomDate(value: string): string {
  return /^\d{8}$/.test(value) ? `${value.slice(6, 8)}/${value.slice(4, 6)}/${value.slice(0, 4)}` : value;
}

export function dicomTime(value: string): string {
  return /^\d{4}/.test(value) ? `${value.slice(0, 2)}:${value.slice(2, 4)}` : value;
}

export const TAGS = {
  patientName: '00100010',
  patientId: '00100020',
  patientBirthDate: '00100030',
  patientSex: '00100040',
  patientAge: '00101010',
  studyDate: '00080020',
  studyTime: '00080030',
  studyDescription: '00081030',
  institutionName: '00080080',
  modality: '00080060',
  seriesInstanceUid: '0020000E',
  seriesNumber: '00200011',
  seriesDescription: '0008103E',
  sopInstanceUid: '00080018',
  instanceNumber: '00200013',
  numberOfFrames: '00280008',
  imagePositionPatient: '00200032',
  imageOrientationPatient: '00200037',
  sliceLocation: '00201041',
  numberOfSeriesRelatedInstances: '00201209',
  studyInstanceUid: '0020000D',
  issuerOfPatientId: '00100021',
} as const;
