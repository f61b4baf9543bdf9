/**
 * What the two report objects share: the source study's Patient and Study attributes copied exactly (a PACS
 * refuses, or splits the patient, when a derived object's patient attributes differ), new UIDs, and the Part 10
 * writing through dcmjs. The character set is ISO_IR 100 (Latin-1) whenever every character of the object fits in
 * it (French text almost always does; œ/Œ do not), else ISO_IR 192 (UTF-8): DCMTK 3.6.7 cannot check UTF-8 text
 * and warns on it, while Latin-1 is checked and read everywhere.
 */
import { offsetMsAt, wallTimeAt } from '../time/wall-time.ts';
import { randomUUID } from 'node:crypto';
import dcmjs, { type DcmjsJsonDataset, type DcmjsNaturalDataset } from 'dcmjs';
import type { JsonDataset } from './study-dose.ts';

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** The implementation class of the objects Astreinte writes (a UUID-derived UID, PS3.5 B.2). */
export const IMPLEMENTATION_CLASS_UID = '2.25.208870413218574829373462375120925410187';
export const IMPLEMENTATION_VERSION = 'ASTREINTE_01';

/** Patient, Patient Study and General Study attributes: copied exactly; the type 2 ones present even if empty. */
const COPIED = [
  ['00100010', 'PN', true], // PatientName
  ['00100020', 'LO', true], // PatientID
  ['00100021', 'LO', false], // IssuerOfPatientID
  ['00100024', 'SQ', false], // IssuerOfPatientIDQualifiersSequence
  ['00100030', 'DA', true], // PatientBirthDate
  ['00100032', 'TM', false], // PatientBirthTime
  ['00100040', 'CS', true], // PatientSex
  ['00101002', 'SQ', false], // OtherPatientIDsSequence
  ['00101010', 'AS', false], // PatientAge
  ['00101020', 'DS', false], // PatientSize
  ['00101030', 'DS', false], // PatientWeight
  ['0020000D', 'UI', true], // StudyInstanceUID
  ['00080020', 'DA', true], // StudyDate
  ['00080030', 'TM', true], // StudyTime
  ['00080090', 'PN', true], // ReferringPhysicianName
  ['00200010', 'SH', true], // StudyID
  ['00080050', 'SH', true], // AccessionNumber
  ['00080051', 'SQ', false], // IssuerOfAccessionNumberSequence
  ['00081030', 'LO', false], // StudyDescription
] as const;

/** The source study's patient and study attributes, in DICOM JSON, ready to merge into a new object. */
export function copiedStudyAttributes(source: JsonDataset): DcmjsJsonDataset {
  const out: DcmjsJsonDataset = {};
  for (const [tag, vr, type2] of COPIED) {
    const attribute = source[tag];
    if (attribute) out[tag] = structuredClone(attribute) as DcmjsJsonDataset[string];
    else if (type2) out[tag] = { vr };
  }
  return out;
}

/** A new UID under 2.25 (PS3.5 B.2: a UUID as a decimal integer). */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString(10)}`;
}

/** DICOM DA and TM of an instant in a time zone (the report's wall time). */
export function dicomDateTime(instant: Date, timeZone: string): { date: string; time: string; offset: string } {
  const wall = wallTimeAt(instant, timeZone);
  const offsetMinutes = Math.round(offsetMsAt(instant, timeZone) / 60_000);
  const two = (n: number) => String(n).padStart(2, '0');
  const abs = Math.abs(offsetMinutes);
  return {
    date: `${String(wall.year).padStart(4, '0')}${two(wall.month)}${two(wall.day)}`,
    time: `${two(wall.hour)}${two(wall.minute)}${two(wall.second)}`,
    offset: `${offsetMinutes < 0 ? '-' : '+'}${two(Math.floor(abs / 60))}${two(abs % 60)}`,
  };
}

export type ReportCharacterSet = 'ISO_IR 100' | 'ISO_IR 192';

/** ISO_IR 100 when every character of every string in the values is in Latin-1 (U+0000–U+00FF), else ISO_IR 192. */
export function characterSetFor(...values: unknown[]): ReportCharacterSet {
  return values.every(fitsLatin1) ? 'ISO_IR 100' : 'ISO_IR 192';
}

function fitsLatin1(value: unknown): boolean {
  if (typeof value === 'string') return !/[^\u0000-\u00ff]/.test(value);
  if (value === null || typeof value !== 'object' || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return true;
  return Object.values(value).every(fitsLatin1);
}

/**
 * Writes a Part 10 file: the naturalized attributes of the new object, plus copied DICOM JSON attributes, in the
 * character set `characterSetFor` chooses (its SpecificCharacterSet is set here).
 */
export function writePart10(natural: DcmjsNaturalDataset, copied: DcmjsJsonDataset): Buffer {
  const { DicomMetaDictionary, DicomDict } = dcmjs.data;
  const { SpecificCharacterSet: _declared, ...rest } = natural;
  const characterSet = characterSetFor(rest, copied);
  const dict = { ...DicomMetaDictionary.denaturalizeDataset({ ...rest, SpecificCharacterSet: characterSet }), ...copied };
  const meta = DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: natural.SOPClassUID,
    MediaStorageSOPInstanceUID: natural.SOPInstanceUID,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION,
  });
  const file = new DicomDict(meta);
  file.dict = sortByTag(dict);
  return Buffer.from(characterSet === 'ISO_IR 100' ? writingLatin1(() => file.write()) : file.write());
}

interface TextStream {
  writeUTF8String(value: string): number;
  writeAsciiString(value: string): number;
}

/**
 * dcmjs 0.51 encodes every text VR as UTF-8 (WriteBufferStream.writeUTF8String), whatever the character set.
 * For the duration of one synchronous write, text is written one byte a character instead: exactly ISO 8859-1
 * for strings `fitsLatin1` accepted. Restored before returning, so no other write is affected.
 */
function writingLatin1<T>(write: () => T): T {
  const prototype = (dcmjs.data as unknown as { WriteBufferStream: { prototype: TextStream } }).WriteBufferStream.prototype;
  const own = Object.getOwnPropertyDescriptor(prototype, 'writeUTF8String');
  prototype.writeUTF8String = function latin1(this: TextStream, value: string) {
    return this.writeAsciiString(value);
  };
  try {
    return write();
  } finally {
    if (own) Object.defineProperty(prototype, 'writeUTF8String', own);
    else delete (prototype as Partial<TextStream>).writeUTF8String;
  }
}

function sortByTag(dataset: DcmjsJsonDataset): DcmjsJsonDataset {
  return Object.fromEntries(Object.entries(dataset).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export interface CodedConcept {
  CodeValue: string;
  CodingSchemeDesignator: string;
  CodeMeaning: string;
}

export const code = (value: string, scheme: string, meaning: string): CodedConcept => ({
  CodeValue: value,
  CodingSchemeDesignator: scheme,
  CodeMeaning: meaning,
});
