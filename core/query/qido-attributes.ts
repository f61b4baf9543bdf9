import type { QueryLevel } from './qido-types.ts';

/** How values of a matching key are matched (PS3.4 C.2.2.2), by VR. */
export type MatchingRule =
  /** UI: single value or list (`\` or `,` separated). */
  | 'uid'
  /** DA: single date or range. */
  | 'date'
  /** TM: single time or range. */
  | 'time'
  /** PN: case-insensitive single value or wildcard; fuzzy matching on demand. */
  | 'person-name'
  /** CS: single value, wildcard or list; upper-cased (CS values are upper case). */
  | 'code'
  /** LO/SH: case-sensitive single value or wildcard. */
  | 'text'
  /** IS: single integer or list. */
  | 'integer';

export interface MatchingKeyDefinition {
  tag: string;
  keyword: string;
  vr: string;
  level: QueryLevel;
  rule: MatchingRule;
}

/**
 * The QIDO-RS matching keys we support. A key of a level is valid at that level and below (study keys may
 * be used to search series and instances across studies, PS3.18 10.6.1.2).
 * PatientID matches the local Patient ID and every Other Patient ID (0010,1002), so the INS finds the patient.
 */
export const MATCHING_KEYS: readonly MatchingKeyDefinition[] = [
  { tag: '00100020', keyword: 'PatientID', vr: 'LO', level: 'study', rule: 'text' },
  { tag: '00100021', keyword: 'IssuerOfPatientID', vr: 'LO', level: 'study', rule: 'text' },
  { tag: '00100010', keyword: 'PatientName', vr: 'PN', level: 'study', rule: 'person-name' },
  { tag: '00100030', keyword: 'PatientBirthDate', vr: 'DA', level: 'study', rule: 'date' },
  { tag: '00100040', keyword: 'PatientSex', vr: 'CS', level: 'study', rule: 'code' },
  { tag: '00080020', keyword: 'StudyDate', vr: 'DA', level: 'study', rule: 'date' },
  { tag: '00080030', keyword: 'StudyTime', vr: 'TM', level: 'study', rule: 'time' },
  { tag: '00080050', keyword: 'AccessionNumber', vr: 'SH', level: 'study', rule: 'text' },
  { tag: '00080061', keyword: 'ModalitiesInStudy', vr: 'CS', level: 'study', rule: 'code' },
  { tag: '0020000D', keyword: 'StudyInstanceUID', vr: 'UI', level: 'study', rule: 'uid' },
  { tag: '00081030', keyword: 'StudyDescription', vr: 'LO', level: 'study', rule: 'text' },
  { tag: '00080090', keyword: 'ReferringPhysicianName', vr: 'PN', level: 'study', rule: 'person-name' },
  { tag: '00080080', keyword: 'InstitutionName', vr: 'LO', level: 'study', rule: 'text' },
  { tag: '00200010', keyword: 'StudyID', vr: 'SH', level: 'study', rule: 'text' },
  { tag: '0020000E', keyword: 'SeriesInstanceUID', vr: 'UI', level: 'series', rule: 'uid' },
  { tag: '00080060', keyword: 'Modality', vr: 'CS', level: 'series', rule: 'code' },
  { tag: '00200011', keyword: 'SeriesNumber', vr: 'IS', level: 'series', rule: 'integer' },
  { tag: '0008103E', keyword: 'SeriesDescription', vr: 'LO', level: 'series', rule: 'text' },
  { tag: '00180015', keyword: 'BodyPartExamined', vr: 'CS', level: 'series', rule: 'code' },
  { tag: '00080021', keyword: 'SeriesDate', vr: 'DA', level: 'series', rule: 'date' },
  { tag: '00080018', keyword: 'SOPInstanceUID', vr: 'UI', level: 'instance', rule: 'uid' },
  { tag: '00080016', keyword: 'SOPClassUID', vr: 'UI', level: 'instance', rule: 'uid' },
  { tag: '00200013', keyword: 'InstanceNumber', vr: 'IS', level: 'instance', rule: 'integer' },
];

const byTag = new Map(MATCHING_KEYS.map((k) => [k.tag, k]));
const byKeyword = new Map(MATCHING_KEYS.map((k) => [k.keyword.toLowerCase(), k]));

/** A matching key by keyword (case-insensitive) or 8-hex tag (either case). */
export function findMatchingKey(name: string): MatchingKeyDefinition | undefined {
  return byKeyword.get(name.toLowerCase()) ?? byTag.get(name.toUpperCase());
}

export function matchingKeyByTag(tag: string): MatchingKeyDefinition | undefined {
  return byTag.get(tag);
}

const LEVEL_DEPTH: Record<QueryLevel, number> = { study: 0, series: 1, instance: 2 };

/** Study keys are valid everywhere, series keys at series and instance level, instance keys at instance level. */
export function isKeyValidAt(key: MatchingKeyDefinition, level: QueryLevel): boolean {
  return LEVEL_DEPTH[key.level] <= LEVEL_DEPTH[level];
}
