import { accessConditions } from './access-conditions.ts';
import type { MatchKey, QidoQuery, QueryLevel } from '../../core/query/qido-types.ts';
import type { AccessScope } from './dicom-index.ts';
import { timeBounds } from './dicom-values.ts';
import { fuzzyQueryWords, personNameUpper } from './person-name.ts';
import { matchingKeyByTag, type MatchingKeyDefinition } from '../../core/query/qido-attributes.ts';

/** Bound parameters: every value reaches PostgreSQL as $n, never inside the SQL text. */
export class SqlParameters {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** Indexed column of each matching key (PatientID, ModalitiesInStudy and fuzzy names have their own SQL). */
const COLUMN: Record<string, string> = {
  '00100020': 'p.patient_id',
  '00100021': 'p.issuer_of_patient_id',
  '00100010': 'p.patient_name_upper',
  '00100030': 'p.birth_date',
  '00100040': 'p.sex',
  '00080020': 'st.study_date',
  '00080030': 'st.study_time_key',
  '00080050': 'st.accession_number',
  '0020000D': 'st.study_instance_uid',
  '00081030': 'st.study_description',
  '00080090': 'st.referring_physician_name_upper',
  '00080080': 'st.institution_name',
  '00200010': 'st.study_id',
  '0020000E': 'se.series_instance_uid',
  '00080060': 'se.modality',
  '00200011': 'se.series_number',
  '0008103E': 'se.series_description',
  '00180015': 'se.body_part_examined',
  '00080021': 'se.series_date',
  '00080018': 'i.sop_instance_uid',
  '00080016': 'i.sop_class_uid',
  '00200013': 'i.instance_number',
};

export const FROM_CLAUSE: Record<QueryLevel, string> = {
  study: 'study st JOIN patient p ON p.pk = st.patient_pk',
  series: 'series se JOIN study st ON st.pk = se.study_pk JOIN patient p ON p.pk = st.patient_pk',
  instance:
    'instance i JOIN series se ON se.pk = i.series_pk JOIN study st ON st.pk = se.study_pk JOIN patient p ON p.pk = st.patient_pk',
};

/** Newest studies first; series and instances in number order within them. Ends with primary keys: stable pages. */
export const ORDER_BY: Record<QueryLevel, string> = {
  study: 'st.study_date DESC NULLS LAST, st.study_time_key DESC NULLS LAST, st.pk DESC',
  series: 'st.study_date DESC NULLS LAST, st.study_time_key DESC NULLS LAST, st.pk DESC, se.series_number NULLS LAST, se.pk',
  instance:
    'st.study_date DESC NULLS LAST, st.study_time_key DESC NULLS LAST, st.pk DESC, se.series_number NULLS LAST, se.pk, ' +
    'i.instance_number NULLS LAST, i.pk',
};

/** The WHERE conditions of a query: path UIDs, matching keys, and the caller's site. */
export function whereConditions(query: QidoQuery, scope: AccessScope, params: SqlParameters): string[] {
  const conditions: string[] = [];
  if (query.studyInstanceUID !== undefined) conditions.push(`st.study_instance_uid = ${params.add(query.studyInstanceUID)}`);
  if (query.seriesInstanceUID !== undefined) conditions.push(`se.series_instance_uid = ${params.add(query.seriesInstanceUID)}`);
  for (const key of query.keys) {
    const definition = matchingKeyByTag(key.tag);
    if (!definition) throw new Error(`no matching rule for tag ${key.tag}`);
    const condition = keyCondition(key, definition, query.fuzzyMatching, params);
    if (condition) conditions.push(condition);
  }
  conditions.push(...accessConditions(scope, (value) => params.add(value)));
  return conditions;
}

function keyCondition(
  key: MatchKey,
  definition: MatchingKeyDefinition,
  fuzzy: boolean,
  params: SqlParameters,
): string | undefined {
  if (key.kind === 'universal') return undefined;
  if (definition.rule === 'person-name' && fuzzy) return fuzzyNameCondition(key, definition.tag, params);
  switch (definition.tag) {
    case '00100020': {
      // The local Patient ID or any Other Patient ID (the INS among them).
      const match = (column: string) => valueCondition(column, key, definition, params);
      return `p.pk IN (SELECT pk FROM patient WHERE ${match('patient_id')}
                       UNION SELECT patient_pk FROM patient_other_id WHERE ${match('patient_id')})`;
    }
    case '00080061':
      return `EXISTS (SELECT 1 FROM series se_any WHERE se_any.study_pk = st.pk AND ${valueCondition('se_any.modality', key, definition, params)})`;
    default:
      return valueCondition(COLUMN[definition.tag], key, definition, params);
  }
}

function valueCondition(column: string, key: MatchKey, definition: MatchingKeyDefinition, params: SqlParameters): string {
  const rule = definition.rule;
  switch (key.kind) {
    case 'single':
      if (rule === 'integer') return `${column} = ${params.add(Number(key.value))}::int`;
      if (rule === 'person-name') return `${column} = ${params.add(personNameUpper(key.value))}`;
      if (rule === 'time') {
        const bounds = timeBounds(key.value)!;
        return `${column} BETWEEN ${params.add(bounds.from)} AND ${params.add(bounds.to)}`;
      }
      return `${column} = ${params.add(key.value)}`;
    case 'list':
      if (rule === 'integer') return `${column} = ANY(${params.add(key.values.map(Number))}::int[])`;
      return `${column} = ANY(${params.add(key.values)}::text[])`;
    case 'wildcard': {
      const pattern = rule === 'person-name' ? personNameUpper(key.pattern) : key.pattern;
      return `${column} LIKE ${params.add(likePattern(pattern))}`;
    }
    case 'range': {
      const parts: string[] = [];
      if (rule === 'time') {
        if (key.from) parts.push(`${column} >= ${params.add(timeBounds(key.from)!.from)}`);
        if (key.to) parts.push(`${column} <= ${params.add(timeBounds(key.to)!.to)}`);
      } else {
        if (key.from) parts.push(`${column} >= ${params.add(key.from)}`);
        if (key.to) parts.push(`${column} <= ${params.add(key.to)}`);
      }
      return parts.join(' AND ');
    }
    case 'universal':
      return 'TRUE';
  }
}

/**
 * Fuzzy person-name matching: accent- and case-insensitive, every word of the query must start a component
 * or word of the name ('dupre elo' finds 'DUPRÉ^Élodie').
 */
function fuzzyNameCondition(key: MatchKey, tag: string, params: SqlParameters): string | undefined {
  const text = key.kind === 'single' ? key.value : key.kind === 'wildcard' ? key.pattern : '';
  const words = fuzzyQueryWords(text);
  if (words.length === 0) return undefined;
  const conditions = words.map((word) =>
    tag === '00100010'
      ? `EXISTS (SELECT 1 FROM patient_name_token t WHERE t.patient_pk = p.pk AND t.token LIKE ${params.add(`${likePattern(word)}%`)})`
      : `st.referring_physician_name_words LIKE ${params.add(`% ${likePattern(word)}%`)}`,
  );
  return conditions.join(' AND ');
}

/** DICOM wildcards to LIKE: `*` -> `%`, `?` -> `_`; LIKE's own metacharacters escaped. */
export function likePattern(value: string): string {
  return value
    .replace(/[\\%_]/g, (c) => `\\${c}`)
    .replace(/\*/g, '%')
    .replace(/\?/g, '_');
}
