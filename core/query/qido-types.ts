import type { DicomJsonDataset } from '../dicom/parsed-instance.ts';

export type QueryLevel = 'study' | 'series' | 'instance';

/** One matching key of a QIDO-RS request, already validated (PS3.4 C.2.2.2 matching types). */
export type MatchKey =
  | { kind: 'single'; tag: string; value: string }
  | { kind: 'wildcard'; tag: string; pattern: string }
  | { kind: 'list'; tag: string; values: string[] }
  | { kind: 'range'; tag: string; from?: string; to?: string }
  /** Present but empty: "return this attribute" (universal matching). */
  | { kind: 'universal'; tag: string };

export interface QidoQuery {
  level: QueryLevel;
  /** From the path: /studies/{study}/series, /studies/{study}/series/{series}/instances, ... */
  studyInstanceUID?: string;
  seriesInstanceUID?: string;
  keys: MatchKey[];
  fuzzyMatching: boolean;
  /** Extra attributes to return: tags (8 hex digits), or 'all'. */
  includeFields: string[] | 'all';
  limit: number;
  offset: number;
}

export interface QidoResult {
  matches: DicomJsonDataset[];
  /** True when more matches exist beyond limit (sets a Warning header per PS3.18). */
  truncated: boolean;
}
