/**
 * What the two report objects share: the source study's Patient and Study attributes copied exactly (a PACS
 * refuses, or splits the patient, when a derived object's patient attributes differ), new UIDs, and the Part 10
 * writing through dcmjs (which writes text as UTF-8: the objects declare ISO_IR 192).
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

/** Writes a Part 10 file: the naturalized attributes of the new object, plus copied DICOM JSON attributes. */
export function writePart10(natural: DcmjsNaturalDataset, copied: DcmjsJsonDataset): Buffer {
  const { DicomMetaDictionary, DicomDict } = dcmjs.data;
  const dict = { ...DicomMetaDictionary.denaturalizeDataset(natural), ...copied };
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
  return Buffer.from(file.write());
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
