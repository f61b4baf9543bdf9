import { createHash } from 'node:crypto';
import type pg from 'pg';
import { accessConditions } from './access-conditions.ts';
import type { FileSpan, ParsedInstance } from '../../core/dicom/parsed-instance.ts';
import { openDatabase, type Database, type DatabaseOptions, type DatabaseSettings } from '../database/database.ts';
import { GroupCommitter } from '../database/group-committer.ts';
import { migrateAll } from '../database/migration-sources.ts';
import type {
  AccessScope,
  DicomIndex,
  IndexOutcome,
  InstanceToIndex,
  StoredInstance,
  StudyOwnership,
} from './dicom-index.ts';
import { int32OrNull, textOrNull, timeBounds } from './dicom-values.ts';
import { personNameTokens, personNameUpper, personNameWords } from './person-name.ts';

export type InstanceFilter = { studyInstanceUID: string; seriesInstanceUID?: string; sopInstanceUID?: string };

/**
 * The same words whether the study (or the SOP instance) belongs to another site or was imported by an
 * administrator: the sender learns only that it cannot store there. The first sentence fits a C-STORE Error
 * Comment (64 characters).
 */
export const STUDY_NOT_STORABLE_HERE =
  'This site cannot store instances in this study. Nothing was stored: check the Study and SOP Instance UIDs; ' +
  'if these instances do belong to this study, ask an administrator to store them.';

/**
 * The DICOM index in PostgreSQL (schema: storage/index/migrations). Correct under concurrency: every row is
 * created with INSERT ... ON CONFLICT, so parallel transactions indexing the same new study, series or
 * instance converge on one row each and never surface a unique violation.
 */
export class PostgresDicomIndex implements DicomIndex {
  /** Instances indexed concurrently (parallel STOW requests and parts) share statements and commits. */
  private readonly indexWrites = new GroupCommitter<InstanceToIndex, IndexRow>((group) => this.writeIndexGroup(group), MAX_INDEX_GROUP);

  constructor(
    readonly db: Database,
    private readonly options: { ownsDatabase?: boolean } = {},
  ) {}

  /** Opens the database (starting the embedded server if so configured); close() closes it. */
  static async open(settings: DatabaseSettings, options?: DatabaseOptions): Promise<PostgresDicomIndex> {
    return new PostgresDicomIndex(await openDatabase(settings, options), { ownsDatabase: true });
  }

  /**
   * Applies every pending migration of the application (MIGRATION_SOURCES: the index first, then the
   * features that reference it), so that start-up has one migration step.
   */
  async migrate(): Promise<void> {
    await this.db.asOwner(migrateAll);
  }

  async indexInstance(instance: InstanceToIndex): Promise<IndexOutcome> {
    try {
      return outcomeOf(await this.indexWrites.submit(instance), instance);
    } catch (error) {
      const race = raceOf(error);
      if (race === undefined) throw error;
      return this.outcomeOfLostRace(race, instance);
    }
  }

  /**
   * One statement for the whole group: index_instance once per instance, in order, in one transaction. If any
   * call raises (a lost race), the statement rolls back entirely and the GroupCommitter indexes each instance on
   * its own, which decides the race per instance.
   */
  private async writeIndexGroup(group: InstanceToIndex[]): Promise<IndexRow[]> {
    const { rows } = await this.db.pool.query<IndexRow & { ord: number }>({
      name: `index-instance-group-${group.length}`,
      text: indexGroupSql(group.length),
      values: group.flatMap(indexInstanceValues),
    });
    const byOrder = new Map(rows.map((row) => [row.ord, row]));
    return group.map((_, index) => {
      const row = byOrder.get(index + 1);
      if (!row) throw new Error(`index_instance returned no row for item ${index + 1} of a group of ${group.length}`);
      return row;
    });
  }

  /** What to answer when a concurrent transaction won a race and index_instance rolled back what it wrote. */
  private async outcomeOfLostRace(race: string, instance: InstanceToIndex): Promise<IndexOutcome> {
    const parsed = instance.parsed;
    switch (race) {
      case 'forbidden':
        return { kind: 'forbidden', reason: STUDY_NOT_STORABLE_HERE };
      case 'series-in-another-study':
        return {
          kind: 'conflict',
          reason:
            `Series ${parsed.seriesInstanceUID} is already stored in another study than ${parsed.studyInstanceUID}: ` +
            'a series belongs to one study. Check the Study and Series Instance UIDs of the file.',
          existingSha256: '',
          existingObjectKey: '',
        };
      case 'instance-indexed-meanwhile': {
        const existing = await selectExistingInstance(this.db, parsed);
        if (!existing) throw new Error('an instance indexed meanwhile by a concurrent request vanished before it could be compared');
        return compareWithExisting(existing, instance);
      }
      default:
        throw new Error(`indexing an instance failed: ${race}`);
    }
  }

  async findInstances(scope: AccessScope, where: InstanceFilter): Promise<StoredInstance[]> {
    const { sql, values } = instanceQuery(
      `o.study_instance_uid, o.series_instance_uid, i.sop_instance_uid, i.sop_class_uid, i.transfer_syntax_uid,
       i.object_key, i.size, i.sha256, i.number_of_frames, i.frames, i.bulk_data`,
      scope,
      where,
    );
    const { rows } = await this.db.pool.query<InstanceRow>(prepared('find-instances', sql, values));
    return rows.map(toStoredInstance);
  }

  async findMetadata(scope: AccessScope, where: InstanceFilter): Promise<string[]> {
    const { sql, values } = instanceQuery('i.metadata', scope, where);
    const { rows } = await this.db.pool.query<{ metadata: string }>(prepared('find-metadata', sql, values));
    return rows.map((r) => r.metadata);
  }

  async metadataVersion(scope: AccessScope, where: InstanceFilter): Promise<string | null> {
    const { sql, values } = instanceQuery('i.pk', scope, where);
    const { rows } = await this.db.pool.query<{ instances: number; newest: string | null }>(
      prepared('metadata-version', `SELECT count(*)::int AS instances, max(pk)::text AS newest FROM (${sql}) q`, values),
    );
    const { instances, newest } = rows[0];
    return instances === 0 ? null : `${instances}:${newest}`;
  }

  async studyOwnership(studyInstanceUID: string): Promise<StudyOwnership | null> {
    const { rows } = await this.db.query<{ site: string | null }>(
      'SELECT site FROM study WHERE study_instance_uid = $1',
      [studyInstanceUID],
    );
    return rows.length === 0 ? null : { studyInstanceUID, site: rows[0].site };
  }

  async hasObjectKey(objectKey: string): Promise<boolean> {
    const { rows } = await this.db.query<{ found: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM instance WHERE object_key = $1) AS found',
      [objectKey],
    );
    return rows[0].found;
  }

  async close(): Promise<void> {
    if (this.options.ownsDatabase) await this.db.close();
  }
}

/** SQLSTATE raised by index_instance when it lost a race and rolled back what it wrote (message: why). */
const LOST_RACE = 'AX001';

function raceOf(error: unknown): string | undefined {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === LOST_RACE && typeof message === 'string' ? message : undefined;
}

/** The arguments of index_instance (storage/index/migrations/004-index-instance-function.sql). */
const INDEX_INSTANCE_ARGUMENTS = 44;

/**
 * Most instances indexed by one statement (44 parameters each). One group is written at a time: two groups
 * upserting the same patients in opposite orders deadlock (measured: new one-instance studies sent 100 per
 * request went from about 430 to 200 instances/s with two).
 */
const MAX_INDEX_GROUP = 32;

const groupSql = new Map<number, string>();

/**
 * index_instance called for `size` instances in one statement. UNION ALL runs its branches one after the other
 * (index_instance is VOLATILE and PARALLEL UNSAFE), and each call sees what the earlier ones wrote, so two
 * instances of one new series in a group create it once.
 */
function indexGroupSql(size: number): string {
  let sql = groupSql.get(size);
  if (sql === undefined) {
    sql = Array.from({ length: size }, (_, item) => {
      const args = Array.from({ length: INDEX_INSTANCE_ARGUMENTS }, (_, i) => `$${item * INDEX_INSTANCE_ARGUMENTS + i + 1}`);
      return `SELECT ${item + 1} AS ord, outcome, existing_sha256, existing_object_key, same_place FROM index_instance(${args.join(', ')})`;
    }).join('\nUNION ALL ');
    groupSql.set(size, sql);
  }
  return sql;
}

interface IndexRow {
  outcome: 'stored' | 'forbidden' | 'existing';
  existing_sha256: string | null;
  existing_object_key: string | null;
  same_place: boolean | null;
}

function outcomeOf(row: IndexRow, instance: InstanceToIndex): IndexOutcome {
  switch (row.outcome) {
    case 'stored':
      return { kind: 'stored' };
    case 'forbidden':
      return { kind: 'forbidden', reason: STUDY_NOT_STORABLE_HERE };
    case 'existing':
      return compareWithExisting(
        { sha256: row.existing_sha256 ?? '', object_key: row.existing_object_key ?? '', samePlace: row.same_place === true },
        instance,
      );
  }
}

/** The arguments of index_instance, in its order. */
function indexInstanceValues(instance: InstanceToIndex): unknown[] {
  const parsed = instance.parsed;
  const { patient, study, series } = parsed;
  const patientId = textOrNull(patient.id) ?? '';
  const issuer = textOrNull(patient.issuer) ?? '';
  const identityKey = JSON.stringify(
    patientId === '' ? ['no-patient-id', parsed.studyInstanceUID] : [instance.site ?? '', issuer, patientId],
  );
  const name = personNameOrNull(patient.name);
  const others = patient.otherIds
    .map((o) => ({ id: textOrNull(o.id), issuer: textOrNull(o.issuer) ?? '' }))
    .filter((o): o is { id: string; issuer: string } => o.id !== null);
  const referring = personNameOrNull(study.referringPhysicianName);
  const time = textOrNull(study.time);
  const bitsAllocated = parsed.metadata['00280100']?.Value?.[0];
  return [
    instance.site,
    identityKey,
    patientId,
    issuer,
    name,
    name === null ? null : personNameUpper(name),
    textOrNull(patient.birthDate),
    textOrNull(patient.sex),
    name === null ? [] : personNameTokens(name),
    others.map((o) => o.id),
    others.map((o) => o.issuer),
    parsed.studyInstanceUID,
    textOrNull(study.date),
    time,
    time === null ? null : (timeBounds(time)?.from ?? null),
    textOrNull(study.accessionNumber),
    textOrNull(study.description),
    referring,
    referring === null ? null : personNameUpper(referring),
    referring === null ? null : personNameWords(referring),
    textOrNull(study.institutionName),
    textOrNull(study.studyId),
    parsed.seriesInstanceUID,
    textOrNull(series.modality),
    int32OrNull(series.number),
    textOrNull(series.description),
    textOrNull(series.bodyPartExamined),
    textOrNull(series.date),
    textOrNull(series.time),
    parsed.sopInstanceUID,
    parsed.sopClassUID,
    parsed.transferSyntaxUID,
    int32OrNull(parsed.instance.number),
    int32OrNull(parsed.instance.rows),
    int32OrNull(parsed.instance.columns),
    typeof bitsAllocated === 'number' ? int32OrNull(bitsAllocated) : null,
    parsed.instance.numberOfFrames,
    instance.objectKey,
    instance.size,
    instance.sha256,
    instance.receivedAt,
    JSON.stringify(parsed.frames.map((fragments) => fragments.map(spanTuple))),
    JSON.stringify(parsed.bulkData.map((b) => [b.path, b.vr, b.span.offset, b.span.length])),
    asciiJson(parsed.metadata),
  ];
}

/** A PN with at least one non-empty component ('^^^^' is an empty name), trimmed; else null. */
function personNameOrNull(value: string | undefined): string | null {
  const name = textOrNull(value);
  return name !== null && personNameUpper(name).replace(/[\^=\s]/g, '') !== '' ? name : null;
}

interface ExistingInstance {
  sha256: string;
  object_key: string;
  /** Stored in the same study and series as the instance being indexed. */
  samePlace: boolean;
}

async function selectExistingInstance(db: Database, parsed: ParsedInstance): Promise<ExistingInstance | undefined> {
  const { rows } = await db.query<ExistingInstance>(
    `SELECT i.sha256, i.object_key, st.study_instance_uid = $2 AND se.series_instance_uid = $3 AS "samePlace"
       FROM instance i JOIN series se ON se.pk = i.series_pk JOIN study st ON st.pk = se.study_pk
      WHERE i.sop_instance_uid = $1`,
    [parsed.sopInstanceUID, parsed.studyInstanceUID, parsed.seriesInstanceUID],
  );
  return rows[0];
}

function compareWithExisting(existing: ExistingInstance, instance: InstanceToIndex): IndexOutcome {
  if (existing.samePlace && existing.sha256 === instance.sha256) return { kind: 'identical' };
  const reason = existing.samePlace
    ? 'An instance with this SOP Instance UID is already stored with different content. A changed object needs a ' +
      'new SOP Instance UID; to replace the stored one, ask an administrator to delete it first.'
    : 'An instance with this SOP Instance UID is already stored in another study or series. Each object needs ' +
      'its own SOP Instance UID: check how the sending system generates UIDs.';
  return { kind: 'conflict', reason, existingSha256: existing.sha256, existingObjectKey: existing.object_key };
}

const preparedNames = new Map<string, string>();

/**
 * A named (prepared) statement for the WADO-RS look-ups, which run once per frame a viewer asks for: PostgreSQL
 * then parses and plans each of their few shapes (per access scope and filter) once per connection instead of
 * at every call, which halved its CPU per frame request (1.2-1.5 ms -> 0.7 ms). Their values are unique keys,
 * so a generic plan is as good as a custom one. The name is derived from the text: the same text, the same name.
 */
function prepared(kind: string, text: string, values: unknown[]): pg.QueryConfig {
  let name = preparedNames.get(text);
  if (name === undefined) {
    name = `${kind}-${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    preparedNames.set(text, name);
  }
  return { name, text, values };
}

/**
 * Instances of a study, series or one instance, in order. Sorting happens on narrow rows only: within a series
 * the index (series_pk, instance_number, sop_instance_uid) gives the order; across a study the keys are sorted
 * first and the wide rows (metadata, frames) joined after, in that order.
 * In `columns`, `o.study_instance_uid` and `o.series_instance_uid` name the instance's study and series.
 */
function instanceQuery(columns: string, scope: AccessScope, where: InstanceFilter): { sql: string; values: unknown[] } {
  const values: unknown[] = [];
  const add = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  const study = add(where.studyInstanceUID);
  const site = accessConditions(scope, add)
    .map((condition) => `AND ${condition}`)
    .join(' ');
  const sop = where.sopInstanceUID === undefined ? '' : `AND i.sop_instance_uid = ${add(where.sopInstanceUID)}`;
  if (where.seriesInstanceUID !== undefined) {
    const series = add(where.seriesInstanceUID);
    const sql = `SELECT ${columns}
        FROM instance i CROSS JOIN (SELECT ${study}::text AS study_instance_uid, ${series}::text AS series_instance_uid) o
       WHERE i.series_pk = (SELECT se.pk FROM series se JOIN study st ON st.pk = se.study_pk
                             WHERE se.series_instance_uid = ${series} AND st.study_instance_uid = ${study} ${site})
         ${sop}
       ORDER BY i.instance_number, i.sop_instance_uid`;
    return { sql, values };
  }
  const sql = `SELECT ${columns}
      FROM (SELECT i.pk, st.study_instance_uid, se.series_instance_uid, se.series_number, i.instance_number, i.sop_instance_uid
              FROM study st JOIN series se ON se.study_pk = st.pk JOIN instance i ON i.series_pk = se.pk
             WHERE st.study_instance_uid = ${study} ${site} ${sop}
             ORDER BY se.series_number NULLS LAST, se.series_instance_uid, i.instance_number NULLS LAST, i.sop_instance_uid) o
      JOIN instance i ON i.pk = o.pk
     ORDER BY o.series_number NULLS LAST, o.series_instance_uid, o.instance_number NULLS LAST, o.sop_instance_uid`;
  return { sql, values };
}

interface InstanceRow {
  study_instance_uid: string;
  series_instance_uid: string;
  sop_instance_uid: string;
  sop_class_uid: string;
  transfer_syntax_uid: string;
  object_key: string;
  size: string;
  sha256: string;
  number_of_frames: number;
  frames: SpanTuple[][];
  bulk_data: [string, string, number, number][];
}

function toStoredInstance(row: InstanceRow): StoredInstance {
  return {
    studyInstanceUID: row.study_instance_uid,
    seriesInstanceUID: row.series_instance_uid,
    sopInstanceUID: row.sop_instance_uid,
    sopClassUID: row.sop_class_uid,
    transferSyntaxUID: row.transfer_syntax_uid,
    objectKey: row.object_key,
    size: Number(row.size),
    sha256: row.sha256,
    numberOfFrames: row.number_of_frames,
    frames: row.frames.map((fragments) => fragments.map(spanFromTuple)),
    bulkData: row.bulk_data.map(([path, vr, offset, length]) => ({ path, vr, span: { offset, length } })),
  };
}

/**
 * JSON text in ASCII only, non-ASCII characters written as \uXXXX escapes (same JSON value). node-postgres
 * decodes every text it receives from UTF-8; pure ASCII decodes about five times faster, and one accented
 * patient name per instance otherwise makes a 600-instance series' metadata 10 ms slower to read.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A frame fragment stored compactly: [offset, length] or, for bit-packed frames, [offset, length, firstBit]. */
type SpanTuple = [number, number] | [number, number, number];

function spanTuple(span: FileSpan): SpanTuple {
  return span.firstBit === undefined ? [span.offset, span.length] : [span.offset, span.length, span.firstBit];
}

function spanFromTuple([offset, length, firstBit]: SpanTuple): FileSpan {
  return firstBit === undefined ? { offset, length } : { offset, length, firstBit };
}
