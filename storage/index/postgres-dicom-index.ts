import type pg from 'pg';
import { accessConditions } from './access-conditions.ts';
import type { FileSpan, ParsedInstance } from '../../gateway/dicom/parsed-instance.ts';
import { openDatabase, type Database, type DatabaseOptions, type DatabaseSettings } from '../database/database.ts';
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

/** An outcome that must not leave anything behind: thrown out of the transaction to roll it back. */
class RolledBack extends Error {
  constructor(readonly outcome: IndexOutcome) {
    super(outcome.kind);
  }
}

const STUDY_OWNED_ELSEWHERE =
  'This study belongs to another site: only the site that sent it first may add instances to it. ' +
  'Check the Study Instance UID, or ask an administrator to send it.';

/**
 * The DICOM index in PostgreSQL (schema: storage/index/migrations). Correct under concurrency: every row is
 * created with INSERT ... ON CONFLICT, so parallel transactions indexing the same new study, series or
 * instance converge on one row each and never surface a unique violation.
 */
export class PostgresDicomIndex implements DicomIndex {
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
    await migrateAll(this.db.pool);
  }

  async indexInstance(instance: InstanceToIndex, options: { beforeCommit?: () => Promise<void> } = {}): Promise<IndexOutcome> {
    try {
      return await this.db.withTransaction(async (client) => {
        const outcome = await indexInTransaction(client, instance);
        if (outcome.kind === 'stored' && options.beforeCommit) await options.beforeCommit();
        return outcome;
      });
    } catch (error) {
      if (error instanceof RolledBack) return error.outcome;
      throw error;
    }
  }

  async findInstances(scope: AccessScope, where: InstanceFilter): Promise<StoredInstance[]> {
    const { sql, values } = instanceQuery(
      `o.study_instance_uid, o.series_instance_uid, i.sop_instance_uid, i.sop_class_uid, i.transfer_syntax_uid,
       i.object_key, i.size, i.sha256, i.number_of_frames, i.frames, i.bulk_data`,
      scope,
      where,
    );
    const { rows } = await this.db.query<InstanceRow>(sql, values);
    return rows.map(toStoredInstance);
  }

  async findMetadata(scope: AccessScope, where: InstanceFilter): Promise<string[]> {
    const { sql, values } = instanceQuery('i.metadata', scope, where);
    const { rows } = await this.db.query<{ metadata: string }>(sql, values);
    return rows.map((r) => r.metadata);
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

async function indexInTransaction(client: pg.PoolClient, instance: InstanceToIndex): Promise<IndexOutcome> {
  const parsed = instance.parsed;
  let study = await selectStudy(client, parsed.studyInstanceUID);
  if (study && ownedElsewhere(study.site, instance.site)) return { kind: 'forbidden', reason: STUDY_OWNED_ELSEWHERE };

  const existing = await selectExistingInstance(client, parsed.sopInstanceUID);
  if (existing) return compareWithExisting(existing, instance);

  if (!study) {
    const patientPk = await upsertPatient(client, instance);
    study = await insertStudy(client, patientPk, instance);
    if (ownedElsewhere(study.site, instance.site)) throw new RolledBack({ kind: 'forbidden', reason: STUDY_OWNED_ELSEWHERE });
  }

  const series = await findOrCreateSeries(client, study.pk, parsed);
  if (series.studyPk !== study.pk) {
    throw new RolledBack({
      kind: 'conflict',
      reason:
        `Series ${parsed.seriesInstanceUID} is already stored in another study than ${parsed.studyInstanceUID}: ` +
        'a series belongs to one study. Check the Study and Series Instance UIDs of the file.',
      existingSha256: '',
      existingObjectKey: '',
    });
  }

  const inserted = await insertInstance(client, series.pk, instance);
  if (!inserted) {
    // Indexed meanwhile by a concurrent transaction: compare with what it stored.
    const concurrent = await selectExistingInstance(client, parsed.sopInstanceUID);
    if (!concurrent) throw new Error(`instance ${parsed.sopInstanceUID} vanished while being indexed`);
    throw new RolledBack(compareWithExisting(concurrent, instance));
  }
  return { kind: 'stored' };
}

/** A PN with at least one non-empty component ('^^^^' is an empty name), trimmed; else null. */
function personNameOrNull(value: string | undefined): string | null {
  const name = textOrNull(value);
  return name !== null && personNameUpper(name).replace(/[\^=\s]/g, '') !== '' ? name : null;
}

function ownedElsewhere(studySite: string | null, senderSite: string | null): boolean {
  return studySite !== null && senderSite !== null && studySite !== senderSite;
}

interface ExistingInstance {
  sha256: string;
  object_key: string;
  study_instance_uid: string;
  series_instance_uid: string;
}

async function selectExistingInstance(client: pg.PoolClient, sopInstanceUID: string): Promise<ExistingInstance | undefined> {
  const { rows } = await client.query<ExistingInstance>(
    `SELECT i.sha256, i.object_key, st.study_instance_uid, se.series_instance_uid
       FROM instance i JOIN series se ON se.pk = i.series_pk JOIN study st ON st.pk = se.study_pk
      WHERE i.sop_instance_uid = $1`,
    [sopInstanceUID],
  );
  return rows[0];
}

function compareWithExisting(existing: ExistingInstance, instance: InstanceToIndex): IndexOutcome {
  const parsed = instance.parsed;
  const samePlace =
    existing.study_instance_uid === parsed.studyInstanceUID && existing.series_instance_uid === parsed.seriesInstanceUID;
  if (samePlace && existing.sha256 === instance.sha256) return { kind: 'identical' };
  const reason = samePlace
    ? 'An instance with this SOP Instance UID is already stored with different content. A changed object needs a ' +
      'new SOP Instance UID; to replace the stored one, ask an administrator to delete it first.'
    : 'An instance with this SOP Instance UID is already stored in another study or series. Each object needs ' +
      'its own SOP Instance UID: check how the sending system generates UIDs.';
  return { kind: 'conflict', reason, existingSha256: existing.sha256, existingObjectKey: existing.object_key };
}

interface StudyRef {
  pk: string;
  site: string | null;
}

async function selectStudy(client: pg.PoolClient, studyInstanceUID: string): Promise<StudyRef | undefined> {
  const { rows } = await client.query<StudyRef>('SELECT pk, site FROM study WHERE study_instance_uid = $1', [
    studyInstanceUID,
  ]);
  return rows[0];
}

/** The patient of a new study: created, or updated with the newest demographics. */
async function upsertPatient(client: pg.PoolClient, instance: InstanceToIndex): Promise<string> {
  const { patient } = instance.parsed;
  const patientId = textOrNull(patient.id) ?? '';
  const issuer = textOrNull(patient.issuer) ?? '';
  const identityKey = JSON.stringify(
    patientId === '' ? ['no-patient-id', instance.parsed.studyInstanceUID] : [instance.site ?? '', issuer, patientId],
  );
  const name = personNameOrNull(patient.name);
  const { rows } = await client.query<{ pk: string; patient_name: string | null }>(
    `INSERT INTO patient (identity_key, site, patient_id, issuer_of_patient_id, patient_name, patient_name_upper, birth_date, sex)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (identity_key) DO UPDATE SET
       patient_name = COALESCE(EXCLUDED.patient_name, patient.patient_name),
       patient_name_upper = COALESCE(EXCLUDED.patient_name_upper, patient.patient_name_upper),
       birth_date = COALESCE(EXCLUDED.birth_date, patient.birth_date),
       sex = COALESCE(EXCLUDED.sex, patient.sex),
       updated_at = now()
     RETURNING pk, patient_name`,
    [
      identityKey,
      instance.site,
      patientId,
      issuer,
      name,
      name === null ? null : personNameUpper(name),
      textOrNull(patient.birthDate),
      textOrNull(patient.sex),
    ],
  );
  const { pk, patient_name: storedName } = rows[0];
  await client.query('DELETE FROM patient_name_token WHERE patient_pk = $1', [pk]);
  if (storedName) {
    await client.query(
      'INSERT INTO patient_name_token (token, patient_pk) SELECT unnest($2::text[]), $1 ON CONFLICT DO NOTHING',
      [pk, personNameTokens(storedName)],
    );
  }
  const others = patient.otherIds
    .map((o) => ({ id: textOrNull(o.id), issuer: textOrNull(o.issuer) ?? '' }))
    .filter((o): o is { id: string; issuer: string } => o.id !== null);
  if (others.length > 0) {
    await client.query(
      `INSERT INTO patient_other_id (patient_pk, patient_id, issuer)
       SELECT $1, id, issuer FROM unnest($2::text[], $3::text[]) AS o (id, issuer)
       ON CONFLICT DO NOTHING`,
      [pk, others.map((o) => o.id), others.map((o) => o.issuer)],
    );
  }
  return pk;
}

async function insertStudy(client: pg.PoolClient, patientPk: string, instance: InstanceToIndex): Promise<StudyRef> {
  const { study } = instance.parsed;
  const referring = personNameOrNull(study.referringPhysicianName);
  const time = textOrNull(study.time);
  const { rows } = await client.query<StudyRef>(
    `INSERT INTO study (study_instance_uid, patient_pk, study_date, study_time, study_time_key, accession_number,
                        study_description, referring_physician_name, referring_physician_name_upper,
                        referring_physician_name_words, institution_name, study_id, site)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT (study_instance_uid) DO NOTHING
     RETURNING pk, site`,
    [
      instance.parsed.studyInstanceUID,
      patientPk,
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
      instance.site,
    ],
  );
  if (rows[0]) return rows[0];
  const concurrent = await selectStudy(client, instance.parsed.studyInstanceUID);
  if (!concurrent) throw new Error(`study ${instance.parsed.studyInstanceUID} vanished while being indexed`);
  return concurrent;
}

async function findOrCreateSeries(
  client: pg.PoolClient,
  studyPk: string,
  parsed: ParsedInstance,
): Promise<{ pk: string; studyPk: string }> {
  const select = async () =>
    (
      await client.query<{ pk: string; study_pk: string }>(
        'SELECT pk, study_pk FROM series WHERE series_instance_uid = $1',
        [parsed.seriesInstanceUID],
      )
    ).rows[0];
  let row = await select();
  if (!row) {
    const { series } = parsed;
    const inserted = await client.query<{ pk: string; study_pk: string }>(
      `INSERT INTO series (series_instance_uid, study_pk, modality, series_number, series_description,
                           body_part_examined, series_date, series_time)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (series_instance_uid) DO NOTHING
       RETURNING pk, study_pk`,
      [
        parsed.seriesInstanceUID,
        studyPk,
        textOrNull(series.modality),
        int32OrNull(series.number),
        textOrNull(series.description),
        textOrNull(series.bodyPartExamined),
        textOrNull(series.date),
        textOrNull(series.time),
      ],
    );
    row = inserted.rows[0] ?? (await select());
    if (!row) throw new Error(`series ${parsed.seriesInstanceUID} vanished while being indexed`);
  }
  return { pk: row.pk, studyPk: row.study_pk };
}

async function insertInstance(client: pg.PoolClient, seriesPk: string, instance: InstanceToIndex): Promise<boolean> {
  const parsed = instance.parsed;
  const bitsAllocated = parsed.metadata['00280100']?.Value?.[0];
  const { rowCount } = await client.query(
    `INSERT INTO instance (sop_instance_uid, series_pk, sop_class_uid, transfer_syntax_uid, instance_number,
                           image_rows, image_columns, bits_allocated, number_of_frames, object_key, size, sha256,
                           site, received_at, frames, bulk_data, metadata)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
     ON CONFLICT (sop_instance_uid) DO NOTHING`,
    [
      parsed.sopInstanceUID,
      seriesPk,
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
      instance.site,
      instance.receivedAt,
      JSON.stringify(parsed.frames.map((fragments) => fragments.map(spanTuple))),
      JSON.stringify(parsed.bulkData.map((b) => [b.path, b.vr, b.span.offset, b.span.length])),
      asciiJson(parsed.metadata),
    ],
  );
  return rowCount === 1;
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
