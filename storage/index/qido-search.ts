import {
  BULKDATA_ROOT_PLACEHOLDER,
  type DicomJsonAttribute,
  type DicomJsonDataset,
} from '../../core/dicom/parsed-instance.ts';
import type { QidoQuery, QidoResult, QueryLevel } from '../../core/query/qido-types.ts';
import type { Database } from '../database/database.ts';
import type { AccessScope } from './dicom-index.ts';
import { FROM_CLAUSE, ORDER_BY, SqlParameters, whereConditions } from './qido-sql.ts';

/** What searchQido needs from the database. */
export type QidoDatabase = Pick<Database, 'query'>;

/**
 * Runs a parsed QIDO-RS query (gateway/read/query/qido-query.ts) against the index and answers DICOM JSON with the
 * PS3.18 return attributes of the level (Table 10.6.3-3/4/5). Values come from indexed columns; computed
 * attributes (ModalitiesInStudy, NumberOf...Related...) are computed for the returned page only; attributes
 * asked with includefield that the index has no column for are read from the stored metadata of the
 * returned rows only (a study's or series' first instance stands for it).
 */
export async function searchQido(
  db: QidoDatabase,
  query: QidoQuery,
  scope: AccessScope,
  dicomwebRoot: string,
): Promise<QidoResult> {
  const selection = selectAttributes(query);
  const params = new SqlParameters();
  const conditions = whereConditions(query, scope, params);
  const level = query.level;
  const innerColumns = ['st.pk AS st_pk', ...(level !== 'study' ? ['se.pk AS se_pk'] : []), ...(level === 'instance' ? ['i.pk AS i_pk'] : [])];
  const sql = `SELECT ${outerColumns(level, selection).join(', ')}
    FROM (SELECT ${innerColumns.join(', ')}
            FROM ${FROM_CLAUSE[level]}
           ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
           ORDER BY ${ORDER_BY[level]}
           LIMIT ${params.add(query.limit + 1)} OFFSET ${params.add(query.offset)}) m
    JOIN study st ON st.pk = m.st_pk JOIN patient p ON p.pk = st.patient_pk
    ${level !== 'study' ? 'JOIN series se ON se.pk = m.se_pk' : ''}
    ${level === 'instance' ? 'JOIN instance i ON i.pk = m.i_pk' : ''}
    ${needsStudyAggregates(selection) ? STUDY_AGGREGATES_JOIN : ''}
    ORDER BY ${ORDER_BY[level]}`;
  const { rows } = await db.query<QidoRow>(sql, params.values);
  const truncated = rows.length > query.limit;
  const page = truncated ? rows.slice(0, query.limit) : rows;
  return { matches: page.map((row) => toDicomJson(row, level, selection, dicomwebRoot)), truncated };
}

/** One result row: index columns, computed values, and (when asked) the representative metadata text. */
export interface QidoRow {
  study_instance_uid: string;
  study_date: string | null;
  study_time: string | null;
  accession_number: string | null;
  study_description: string | null;
  referring_physician_name: string | null;
  institution_name: string | null;
  study_id: string | null;
  patient_id: string;
  issuer_of_patient_id: string;
  patient_name: string | null;
  birth_date: string | null;
  sex: string | null;
  series_instance_uid?: string;
  modality?: string | null;
  series_number?: number | null;
  series_description?: string | null;
  body_part_examined?: string | null;
  series_date?: string | null;
  sop_instance_uid?: string;
  sop_class_uid?: string;
  instance_number?: number | null;
  image_rows?: number | null;
  image_columns?: number | null;
  number_of_frames?: number;
  bits_allocated?: number | null;
  modalities?: string[] | null;
  n_study_series?: number;
  n_study_instances?: number;
  n_series_instances?: number;
  metadata?: string | null;
}

type Computed = 'modalities' | 'n_study_series' | 'n_study_instances' | 'n_series_instances';

interface ReturnAttribute {
  tag: string;
  vr: string;
  /** The level whose rows hold it: available at that query level and below. */
  level: QueryLevel;
  value(row: QidoRow, context: { level: QueryLevel; root: string }): unknown[] | undefined;
  computed?: Computed;
}

const one = (value: unknown): unknown[] | undefined => (value === null || value === undefined || value === '' ? undefined : [value]);
const personName = (value: string | null | undefined): unknown[] | undefined => {
  if (!value) return undefined;
  const [alphabetic, ideographic, phonetic] = value.split('=');
  const name: Record<string, string> = {};
  if (alphabetic) name.Alphabetic = alphabetic;
  if (ideographic) name.Ideographic = ideographic;
  if (phonetic) name.Phonetic = phonetic;
  return [name];
};

const RETURN_ATTRIBUTES: readonly ReturnAttribute[] = [
  { tag: '00080005', vr: 'CS', level: 'study', value: () => ['ISO_IR 192'] },
  { tag: '00080056', vr: 'CS', level: 'study', value: () => ['ONLINE'] },
  { tag: '00080020', vr: 'DA', level: 'study', value: (r) => one(r.study_date) },
  { tag: '00080030', vr: 'TM', level: 'study', value: (r) => one(r.study_time) },
  { tag: '00080050', vr: 'SH', level: 'study', value: (r) => one(r.accession_number) },
  { tag: '00080061', vr: 'CS', level: 'study', value: (r) => (r.modalities?.length ? r.modalities : undefined), computed: 'modalities' },
  { tag: '00080080', vr: 'LO', level: 'study', value: (r) => one(r.institution_name) },
  { tag: '00080090', vr: 'PN', level: 'study', value: (r) => personName(r.referring_physician_name) },
  { tag: '00081030', vr: 'LO', level: 'study', value: (r) => one(r.study_description) },
  { tag: '00100010', vr: 'PN', level: 'study', value: (r) => personName(r.patient_name) },
  { tag: '00100020', vr: 'LO', level: 'study', value: (r) => one(r.patient_id) },
  { tag: '00100021', vr: 'LO', level: 'study', value: (r) => one(r.issuer_of_patient_id) },
  { tag: '00100030', vr: 'DA', level: 'study', value: (r) => one(r.birth_date) },
  { tag: '00100040', vr: 'CS', level: 'study', value: (r) => one(r.sex) },
  { tag: '0020000D', vr: 'UI', level: 'study', value: (r) => one(r.study_instance_uid) },
  { tag: '00200010', vr: 'SH', level: 'study', value: (r) => one(r.study_id) },
  { tag: '00201206', vr: 'IS', level: 'study', value: (r) => one(r.n_study_series), computed: 'n_study_series' },
  { tag: '00201208', vr: 'IS', level: 'study', value: (r) => one(r.n_study_instances), computed: 'n_study_instances' },
  { tag: '00081190', vr: 'UR', level: 'study', value: (r, c) => [retrieveUrl(r, c.level, c.root)] },
  { tag: '00080021', vr: 'DA', level: 'series', value: (r) => one(r.series_date) },
  { tag: '00080060', vr: 'CS', level: 'series', value: (r) => one(r.modality) },
  { tag: '0008103E', vr: 'LO', level: 'series', value: (r) => one(r.series_description) },
  { tag: '00180015', vr: 'CS', level: 'series', value: (r) => one(r.body_part_examined) },
  { tag: '0020000E', vr: 'UI', level: 'series', value: (r) => one(r.series_instance_uid) },
  { tag: '00200011', vr: 'IS', level: 'series', value: (r) => one(r.series_number) },
  { tag: '00201209', vr: 'IS', level: 'series', value: (r) => one(r.n_series_instances), computed: 'n_series_instances' },
  { tag: '00080016', vr: 'UI', level: 'instance', value: (r) => one(r.sop_class_uid) },
  { tag: '00080018', vr: 'UI', level: 'instance', value: (r) => one(r.sop_instance_uid) },
  { tag: '00200013', vr: 'IS', level: 'instance', value: (r) => one(r.instance_number) },
  { tag: '00280008', vr: 'IS', level: 'instance', value: (r) => one(r.number_of_frames) },
  { tag: '00280010', vr: 'US', level: 'instance', value: (r) => one(r.image_rows) },
  { tag: '00280011', vr: 'US', level: 'instance', value: (r) => one(r.image_columns) },
  { tag: '00280100', vr: 'US', level: 'instance', value: (r) => one(r.bits_allocated) },
];
const ATTRIBUTE_BY_TAG = new Map(RETURN_ATTRIBUTES.map((a) => [a.tag, a]));

/** PS3.18 Table 10.6.3-3 (study), -4 (series), -5 (instance) return attributes, RetrieveURL included. */
const STUDY_DEFAULTS = [
  '00080005', '00080056', '00080020', '00080030', '00080050', '00080061', '00080080', '00080090', '00081030',
  '00100010', '00100020', '00100021', '00100030', '00100040', '0020000D', '00200010', '00201206', '00201208',
];
const SERIES_DEFAULTS = ['00080005', '00080056', '00080021', '00080060', '0008103E', '00180015', '0020000D', '0020000E', '00200011', '00201209'];
const INSTANCE_DEFAULTS = [
  '00080005', '00080056', '00080016', '00080018', '0020000D', '0020000E', '00200013', '00280008', '00280010', '00280011', '00280100',
];
const RETRIEVE_URL = '00081190';

/**
 * With includefield=all, what the stored metadata adds at study and series level: the Patient module
 * (group 0010) and the General Study / Patient Study modules; the General Series and Equipment modules.
 * At instance level, every attribute but bulk data.
 */
const STUDY_METADATA_TAGS = new Set([
  '00080020', '00080030', '00080050', '00080051', '00080080', '00080081', '00080090', '00080096', '00081030', '00081032',
  '00081040', '00081048', '00081049', '00081060', '00081062', '00081080', '00081084', '0020000D', '00200010', '00321032',
  '00321033', '00321060', '00321064', '00401012',
]);
const SERIES_METADATA_TAGS = new Set([
  '00080021', '00080031', '00080060', '00080070', '00081010', '00081050', '00081052', '00081070', '00081090', '0008103E',
  '00081111', '00180015', '00181030', '00185100', '0020000E', '00200011', '00200052', '00200060', '00400244', '00400245',
  '00400253', '00400254', '00400260', '00400275',
]);

const DEPTH: Record<QueryLevel, number> = { study: 0, series: 1, instance: 2 };

interface Selection {
  /** Attributes answered from columns (or computed), in tag order. */
  columns: ReturnAttribute[];
  /** Attributes read from the stored metadata: listed tags, or every attribute of the level ('all'). */
  metadata: Set<string> | 'all' | undefined;
}

function selectAttributes(query: QidoQuery): Selection {
  const level = query.level;
  const tags = new Set<string>([RETRIEVE_URL]);
  const add = (list: string[]) => list.forEach((t) => tags.add(t));
  if (level === 'study') add(STUDY_DEFAULTS);
  if (level === 'series') {
    add(SERIES_DEFAULTS);
    if (query.studyInstanceUID === undefined) add(STUDY_DEFAULTS);
  }
  if (level === 'instance') {
    add(INSTANCE_DEFAULTS);
    if (query.seriesInstanceUID === undefined) add(SERIES_DEFAULTS);
    if (query.studyInstanceUID === undefined) add(STUDY_DEFAULTS);
  }
  for (const key of query.keys) tags.add(key.tag);

  const available = (tag: string) => {
    const attribute = ATTRIBUTE_BY_TAG.get(tag);
    return attribute !== undefined && DEPTH[attribute.level] <= DEPTH[level];
  };
  let metadata: Selection['metadata'];
  if (query.includeFields === 'all') {
    for (const attribute of RETURN_ATTRIBUTES) if (available(attribute.tag)) tags.add(attribute.tag);
    metadata = 'all';
  } else {
    const fromMetadata = new Set<string>();
    for (const tag of query.includeFields) {
      if (available(tag)) tags.add(tag);
      // An indexed attribute of a lower level (Modality asked of a study, as OHIF does: it reads
      // ModalitiesInStudy) is not an attribute of this level: it is not returned, rather than read from the
      // first instance's metadata of every match.
      else if (!ATTRIBUTE_BY_TAG.has(tag)) fromMetadata.add(tag);
    }
    metadata = fromMetadata.size > 0 ? fromMetadata : undefined;
  }
  const columns = [...tags]
    .filter(available)
    .sort()
    .map((tag) => ATTRIBUTE_BY_TAG.get(tag)!);
  return { columns, metadata };
}

/** ModalitiesInStudy and the study's series and instance counts, in one pass over its series. */
const STUDY_AGGREGATES_JOIN = `CROSS JOIN LATERAL (
      SELECT count(*)::int AS n_study_series,
             COALESCE(sum(n.instances), 0)::int AS n_study_instances,
             array_agg(DISTINCT c.modality) FILTER (WHERE c.modality IS NOT NULL) AS modalities
        FROM series c CROSS JOIN LATERAL (SELECT count(*) AS instances FROM instance ci WHERE ci.series_pk = c.pk) n
       WHERE c.study_pk = st.pk) sa`;

function needsStudyAggregates(selection: Selection): boolean {
  return selection.columns.some(
    (a) => a.computed === 'modalities' || a.computed === 'n_study_series' || a.computed === 'n_study_instances',
  );
}

function outerColumns(level: QueryLevel, selection: Selection): string[] {
  const columns = [
    'st.study_instance_uid', 'st.study_date', 'st.study_time', 'st.accession_number', 'st.study_description',
    'st.referring_physician_name', 'st.institution_name', 'st.study_id', 'p.patient_id', 'p.issuer_of_patient_id',
    'p.patient_name', 'p.birth_date', 'p.sex',
  ];
  if (level !== 'study') {
    columns.push('se.series_instance_uid', 'se.modality', 'se.series_number', 'se.series_description', 'se.body_part_examined', 'se.series_date');
  }
  if (level === 'instance') {
    columns.push('i.sop_instance_uid', 'i.sop_class_uid', 'i.instance_number', 'i.image_rows', 'i.image_columns', 'i.number_of_frames', 'i.bits_allocated');
  }
  if (needsStudyAggregates(selection)) columns.push('sa.modalities', 'sa.n_study_series', 'sa.n_study_instances');
  if (selection.columns.some((a) => a.computed === 'n_series_instances')) columns.push('(SELECT count(*)::int FROM instance ci WHERE ci.series_pk = se.pk) AS n_series_instances');
  if (selection.metadata !== undefined) {
    columns.push(
      level === 'instance'
        ? 'i.metadata'
        : level === 'series'
          ? '(SELECT ci.metadata FROM instance ci WHERE ci.series_pk = se.pk ORDER BY ci.instance_number NULLS LAST, ci.pk LIMIT 1) AS metadata'
          : `(SELECT ci.metadata FROM instance ci
               WHERE ci.series_pk = (SELECT c.pk FROM series c WHERE c.study_pk = st.pk ORDER BY c.series_number NULLS LAST, c.pk LIMIT 1)
               ORDER BY ci.instance_number NULLS LAST, ci.pk LIMIT 1) AS metadata`,
    );
  }
  return columns;
}

function toDicomJson(row: QidoRow, level: QueryLevel, selection: Selection, root: string): DicomJsonDataset {
  const attributes = new Map<string, DicomJsonAttribute>();
  if (selection.metadata !== undefined && row.metadata) {
    const stored = JSON.parse(row.metadata.replaceAll(BULKDATA_ROOT_PLACEHOLDER, root)) as DicomJsonDataset;
    for (const [tag, attribute] of Object.entries(stored)) {
      if (wantedFromMetadata(tag, attribute, level, selection.metadata)) attributes.set(tag, attribute);
    }
  }
  // Columns win over the stored metadata (computed and current values).
  for (const attribute of selection.columns) {
    const value = attribute.value(row, { level, root });
    attributes.set(attribute.tag, value === undefined ? { vr: attribute.vr } : { vr: attribute.vr, Value: value });
  }
  const dataset: DicomJsonDataset = {};
  for (const tag of [...attributes.keys()].sort()) dataset[tag] = attributes.get(tag)!;
  return dataset;
}

function wantedFromMetadata(
  tag: string,
  attribute: DicomJsonAttribute,
  level: QueryLevel,
  wanted: Set<string> | 'all',
): boolean {
  if (wanted !== 'all') return wanted.has(tag);
  if (attribute.BulkDataURI !== undefined || tag.startsWith('7FE0')) return false;
  if (level === 'instance') return true;
  const studyLevel = tag.startsWith('0010') || STUDY_METADATA_TAGS.has(tag);
  return level === 'study' ? studyLevel : studyLevel || SERIES_METADATA_TAGS.has(tag);
}

function retrieveUrl(row: QidoRow, level: QueryLevel, root: string): string {
  const study = `${root}/studies/${row.study_instance_uid}`;
  if (level === 'study') return study;
  const series = `${study}/series/${row.series_instance_uid}`;
  return level === 'series' ? series : `${series}/instances/${row.sop_instance_uid}`;
}
