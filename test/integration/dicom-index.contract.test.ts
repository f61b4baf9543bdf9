import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../storage/database/database.ts';
import { PostgresDicomIndex } from '../../storage/index/postgres-dicom-index.ts';
import { freePort } from '../support/free-port.ts';
import { startTestPostgres } from '../support/postgres.ts';
import { buildParsedInstance, toIndex, type InstanceSpec } from '../unit/qido/parsed-instance-builder.ts';

interface Backend {
  name: string;
  open(): Promise<{ db: Database; cleanup(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'embedded server (openDatabase kind embedded)',
    async open() {
      const root = await mkdtemp(path.join(os.tmpdir(), 'astreinte-index-'));
      await chmod(root, 0o755);
      const db = await openDatabase(
        { kind: 'embedded', dir: path.join(root, 'postgres'), port: await freePort() },
        { embeddedServerSettings: { shared_buffers: '32MB' } },
      );
      return { db, cleanup: () => rm(root, { recursive: true, force: true }) };
    },
  },
  {
    name: 'external server (openDatabase kind external, DATABASE_URL)',
    async open() {
      const server = await startTestPostgres();
      const db = await openDatabase({ kind: 'external', url: server.url });
      return { db, cleanup: () => server.stop() };
    },
  },
];

let counter = 0;
const uid = (prefix: string) => `1.2.826.0.1.3680043.10.1234.${prefix}.${++counter}`;

describe.each(backends)('DicomIndex contract: $name', (backend) => {
  let db: Database;
  let cleanup: () => Promise<void>;
  let index: PostgresDicomIndex;

  beforeAll(async () => {
    ({ db, cleanup } = await backend.open());
    index = new PostgresDicomIndex(db);
    await index.migrate();
  });
  afterAll(async () => {
    await index?.close();
    await db?.close();
    await cleanup?.();
  });

  function spec(overrides: Partial<InstanceSpec> = {}): InstanceSpec {
    return {
      studyUID: uid('1'),
      seriesUID: uid('2'),
      sopUID: uid('3'),
      patientId: 'PAT-1',
      patientName: 'DUPRÉ^Élodie',
      ...overrides,
    };
  }

  it('migrates idempotently and records the applied version', async () => {
    await index.migrate();
    await index.migrate();
    const { rows } = await db.query<{ scope: string; version: number }>(
      "SELECT scope, version FROM schema_migrations WHERE scope = 'dicom-index' ORDER BY version",
    );
    expect(rows).toEqual([
      { scope: 'dicom-index', version: 1 },
      { scope: 'dicom-index', version: 2 },
      { scope: 'dicom-index', version: 3 },
      { scope: 'dicom-index', version: 4 },
      { scope: 'dicom-index', version: 5 },
      { scope: 'dicom-index', version: 6 },
    ]);
  });

  it("serves OHIF's *fragment* name searches from a trigram index, not by reading every patient", async () => {
    const { rows } = await db.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE indexname = 'patient_name_upper_trgm_idx'`);
    expect(rows[0]?.indexdef).toMatch(/USING gin \(patient_name_upper gin_trgm_ops\)/);
    // With a handful of rows the planner rightly prefers a scan; forbidding it shows the index serves the shape.
    const plan = await db.withTransaction(async (client) => {
      await client.query('SET LOCAL enable_seqscan = off');
      const explained = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT pk FROM patient WHERE patient_name_upper LIKE '%UPR%'`);
      return explained.rows.map((row) => row['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('patient_name_upper_trgm_idx');
  });

  it('stores an instance and serves it back in hierarchy order, with frames, bulk data and metadata', async () => {
    const studyUID = uid('s');
    const seriesA = uid('se');
    const seriesB = uid('se');
    const specs: InstanceSpec[] = [
      spec({ studyUID, seriesUID: seriesB, sopUID: uid('i'), seriesNumber: 2, instanceNumber: 1 }),
      spec({ studyUID, seriesUID: seriesA, sopUID: uid('i'), seriesNumber: 1, instanceNumber: 2, numberOfFrames: 3 }),
      spec({ studyUID, seriesUID: seriesA, sopUID: uid('i'), seriesNumber: 1, instanceNumber: 1 }),
    ];
    for (const s of specs) {
      expect(await index.indexInstance(toIndex(buildParsedInstance(s), { site: '750000001' }))).toEqual({ kind: 'stored' });
    }
    const found = await index.findInstances({ site: null }, { studyInstanceUID: studyUID });
    expect(found.map((i) => i.sopInstanceUID)).toEqual([specs[2].sopUID, specs[1].sopUID, specs[0].sopUID]);
    const multiFrame = found[1];
    const parsed = buildParsedInstance(specs[1]);
    const expectedInput = toIndex(parsed);
    expect(multiFrame).toEqual({
      studyInstanceUID: studyUID,
      seriesInstanceUID: seriesA,
      sopInstanceUID: specs[1].sopUID,
      sopClassUID: parsed.sopClassUID,
      transferSyntaxUID: parsed.transferSyntaxUID,
      objectKey: expectedInput.objectKey,
      size: expectedInput.size,
      sha256: expectedInput.sha256,
      numberOfFrames: 3,
      frames: parsed.frames,
      bulkData: parsed.bulkData,
    });

    const series = await index.findInstances({ site: null }, { studyInstanceUID: studyUID, seriesInstanceUID: seriesA });
    expect(series.map((i) => i.sopInstanceUID)).toEqual([specs[2].sopUID, specs[1].sopUID]);
    const one = await index.findInstances(
      { site: null },
      { studyInstanceUID: studyUID, seriesInstanceUID: seriesB, sopInstanceUID: specs[0].sopUID },
    );
    expect(one).toHaveLength(1);

    const metadata = await index.findMetadata({ site: null }, { studyInstanceUID: studyUID, seriesInstanceUID: seriesA });
    expect(metadata.map((m) => JSON.parse(m))).toEqual([buildParsedInstance(specs[2]).metadata, parsed.metadata]);
    // Stored as ASCII-only JSON text (non-ASCII characters escaped): same value, faster to read.
    expect(metadata[0]).toMatch(/^[\x20-\x7e]*$/);
    expect(metadata[0]).toContain('DUPR\\u00c9^\\u00c9lodie');
  });

  it('keeps the first bit of bit-packed frames', async () => {
    const parsed = buildParsedInstance(spec({ numberOfFrames: 2 }));
    parsed.frames = [[{ offset: 1024, length: 3 }], [{ offset: 1026, length: 3, firstBit: 4 }]];
    await index.indexInstance(toIndex(parsed));
    const [stored] = await index.findInstances({ site: null }, { studyInstanceUID: parsed.studyInstanceUID });
    expect(stored.frames).toEqual(parsed.frames);
  });

  it('answers identical for the same bytes and conflict for other bytes, keeping the first', async () => {
    const s = spec();
    const first = toIndex(buildParsedInstance(s), { content: 'bytes-1' });
    expect(await index.indexInstance(first)).toEqual({ kind: 'stored' });
    expect(await index.indexInstance(toIndex(buildParsedInstance(s), { content: 'bytes-1' }))).toEqual({ kind: 'identical' });
    const other = await index.indexInstance(toIndex(buildParsedInstance(s), { content: 'bytes-2' }));
    expect(other).toMatchObject({ kind: 'conflict', existingSha256: first.sha256, existingObjectKey: first.objectKey });
    if (other.kind === 'conflict') expect(other.reason).toMatch(/different content/);
    const stored = await index.findInstances({ site: null }, { studyInstanceUID: s.studyUID });
    expect(stored.map((i) => i.sha256)).toEqual([first.sha256]);
  });

  it('refuses a SOP Instance UID already stored in another series or study, leaving nothing behind', async () => {
    const s = spec();
    const first = toIndex(buildParsedInstance(s));
    await index.indexInstance(first);
    const elsewhere = { ...s, studyUID: uid('other-study'), seriesUID: uid('other-series') };
    const outcome = await index.indexInstance(toIndex(buildParsedInstance(elsewhere)));
    expect(outcome).toMatchObject({ kind: 'conflict', existingObjectKey: first.objectKey });
    if (outcome.kind === 'conflict') expect(outcome.reason).toMatch(/another study or series/);
    expect(await index.studyOwnership(elsewhere.studyUID)).toBeNull();
    const otherSeries = await index.indexInstance(toIndex(buildParsedInstance({ ...s, seriesUID: uid('x') })));
    expect(otherSeries.kind).toBe('conflict');
  });

  it('refuses a series that already belongs to another study, without creating the study', async () => {
    const s = spec();
    await index.indexInstance(toIndex(buildParsedInstance(s)));
    const moved = { ...s, studyUID: uid('moved'), sopUID: uid('i') };
    const outcome = await index.indexInstance(toIndex(buildParsedInstance(moved)));
    expect(outcome.kind).toBe('conflict');
    if (outcome.kind === 'conflict') expect(outcome.reason).toMatch(/already stored in another study/);
    expect(await index.studyOwnership(moved.studyUID)).toBeNull();
  });

  it('keeps a study to the site that sent it first; unbound ingest may add to it', async () => {
    const s = spec();
    await index.indexInstance(toIndex(buildParsedInstance(s), { site: '750000001' }));
    expect(await index.studyOwnership(s.studyUID)).toEqual({ studyInstanceUID: s.studyUID, site: '750000001' });

    const intruder = { ...s, sopUID: uid('i') };
    const refused = await index.indexInstance(toIndex(buildParsedInstance(intruder), { site: '690000002' }));
    expect(refused.kind).toBe('forbidden');
    if (refused.kind === 'forbidden') expect(refused.reason).toMatch(/^This site cannot store instances in this study/);
    // Even an identical re-send from another site is refused (it must not learn the instance exists).
    expect((await index.indexInstance(toIndex(buildParsedInstance(s), { site: '690000002' }))).kind).toBe('forbidden');

    expect(await index.indexInstance(toIndex(buildParsedInstance({ ...s, sopUID: uid('i') }), { site: null }))).toEqual({
      kind: 'stored',
    });
    expect(await index.indexInstance(toIndex(buildParsedInstance({ ...s, sopUID: uid('i') }), { site: '750000001' }))).toEqual({
      kind: 'stored',
    });
    expect(await index.studyOwnership(s.studyUID)).toEqual({ studyInstanceUID: s.studyUID, site: '750000001' });
  });

  it('shows a site only its own studies (null scope sees everything)', async () => {
    const s = spec();
    await index.indexInstance(toIndex(buildParsedInstance(s), { site: '750000001' }));
    const where = { studyInstanceUID: s.studyUID };
    expect(await index.findInstances({ site: '750000001' }, where)).toHaveLength(1);
    expect(await index.findInstances({ site: '690000002' }, where)).toHaveLength(0);
    expect(await index.findInstances({ site: null }, where)).toHaveLength(1);
    expect(await index.findMetadata({ site: '690000002' }, where)).toEqual([]);
    expect(await index.findMetadata({ site: '750000001' }, where)).toHaveLength(1);
  });

  it('knows which object keys it references', async () => {
    const input = toIndex(buildParsedInstance(spec()));
    expect(await index.hasObjectKey(input.objectKey)).toBe(false);
    await index.indexInstance(input);
    expect(await index.hasObjectKey(input.objectKey)).toBe(true);
    expect(await index.studyOwnership(uid('unknown'))).toBeNull();
  });

  it('records the patient, its other IDs (INS) and the study attributes', async () => {
    const s = spec({
      patientId: 'IPP-42',
      issuer: 'CHU-LYON',
      otherIds: [{ id: '279035121518989', issuer: '1.2.250.1.213.1.4.8' }],
      studyDate: '20240215',
      studyTime: '101530.25',
      accession: 'ACC-1',
    });
    await index.indexInstance(toIndex(buildParsedInstance(s), { site: '690000002' }));
    const { rows } = await db.query(
      `SELECT p.patient_id, p.issuer_of_patient_id, p.patient_name_upper, o.patient_id AS ins, o.issuer AS ins_issuer,
              st.study_date, st.study_time_key, st.accession_number
         FROM study st JOIN patient p ON p.pk = st.patient_pk JOIN patient_other_id o ON o.patient_pk = p.pk
        WHERE st.study_instance_uid = $1`,
      [s.studyUID],
    );
    expect(rows).toEqual([
      {
        patient_id: 'IPP-42',
        issuer_of_patient_id: 'CHU-LYON',
        patient_name_upper: 'DUPRÉ^ÉLODIE',
        ins: '279035121518989',
        ins_issuer: '1.2.250.1.213.1.4.8',
        study_date: '20240215',
        study_time_key: '101530.250000',
        accession_number: 'ACC-1',
      },
    ]);
  });

  it('indexes 50 instances of one new study concurrently: one study, one series, one patient, no error', async () => {
    const studyUID = uid('concurrent');
    const seriesUID = uid('concurrent-series');
    const patientId = `PAT-${uid('p')}`;
    const inputs = Array.from({ length: 50 }, (_, i) =>
      toIndex(buildParsedInstance(spec({ studyUID, seriesUID, sopUID: uid('ci'), patientId, instanceNumber: i + 1 })), {
        site: '750000001',
      }),
    );
    const outcomes = await Promise.all(inputs.map((input) => index.indexInstance(input)));
    expect(outcomes.every((o) => o.kind === 'stored')).toBe(true);
    const { rows } = await db.query<{ studies: number; series: number; patients: number; instances: number }>(
      `SELECT (SELECT count(*)::int FROM study WHERE study_instance_uid = $1) AS studies,
              (SELECT count(*)::int FROM series WHERE series_instance_uid = $2) AS series,
              (SELECT count(*)::int FROM patient WHERE patient_id = $3) AS patients,
              (SELECT count(*)::int FROM instance i JOIN series se ON se.pk = i.series_pk
                WHERE se.series_instance_uid = $2) AS instances`,
      [studyUID, seriesUID, patientId],
    );
    expect(rows[0]).toEqual({ studies: 1, series: 1, patients: 1, instances: 50 });
    const found = await index.findInstances({ site: null }, { studyInstanceUID: studyUID });
    expect(found.map((f) => f.sopInstanceUID)).toEqual(inputs.map((i) => i.parsed.sopInstanceUID));
  });

  it('indexes the same new instance 10 times concurrently: stored once, identical otherwise', async () => {
    const input = toIndex(buildParsedInstance(spec({ patientId: `PAT-${uid('p')}` })));
    // Half through a second index on the same database (another gateway process): its groups of writes race
    // with ours in separate transactions.
    const other = new PostgresDicomIndex(db);
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? index : other).indexInstance(input)));
    expect(outcomes.filter((o) => o.kind === 'stored')).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'identical')).toHaveLength(9);
  });

  it('lets one of two sites creating the same new study at once win; the other is refused and leaves nothing', async () => {
    for (let round = 0; round < 5; round++) {
      const studyUID = uid('race');
      const seriesUID = uid('race-series');
      const bySite = (site: string) =>
        Array.from({ length: 6 }, () =>
          toIndex(buildParsedInstance(spec({ studyUID, seriesUID, sopUID: uid('ri'), patientId: `PAT-${round}-${site}` })), { site }),
        );
      const inputs = [...bySite('750000001'), ...bySite('690000002')].sort(() => Math.random() - 0.5);
      // Each site through its own index (two gateway processes): the loser's group of writes raises, rolls back
      // whole, and is indexed again one instance at a time.
      const indexes = new Map([['750000001', index], ['690000002', new PostgresDicomIndex(db)]]);
      const outcomes = await Promise.all(inputs.map((input) => (indexes.get(input.site ?? '') as PostgresDicomIndex).indexInstance(input)));
      const owner = (await index.studyOwnership(studyUID))?.site;
      outcomes.forEach((outcome, i) => expect(outcome.kind).toBe(inputs[i].site === owner ? 'stored' : 'forbidden'));
      const { rows } = await db.query<{ patients: number; instances: number }>(
        `SELECT (SELECT count(*)::int FROM patient WHERE patient_id = ANY($2)) AS patients,
                (SELECT count(*)::int FROM instance i JOIN series se ON se.pk = i.series_pk
                  WHERE se.series_instance_uid = $1) AS instances`,
        [seriesUID, [`PAT-${round}-750000001`, `PAT-${round}-690000002`]],
      );
      // The loser's patient row never survives: it was written in the statement that was rolled back.
      expect(rows[0]).toEqual({ patients: 1, instances: 6 });
    }
  });

  it('refuses a sender in a study an administrator imported (site NULL), with the same words as another site’s', async () => {
    const s = spec();
    await index.indexInstance(toIndex(buildParsedInstance(s), { site: null }));
    const refused = await index.indexInstance(toIndex(buildParsedInstance({ ...s, sopUID: uid('i') }), { site: '750000001' }));
    expect(refused.kind).toBe('forbidden');
    if (refused.kind === 'forbidden') expect(refused.reason).toMatch(/^This site cannot store instances in this study/);
    expect(await index.studyOwnership(s.studyUID)).toEqual({ studyInstanceUID: s.studyUID, site: null });
    expect(await index.findInstances({ site: null }, { studyInstanceUID: s.studyUID })).toHaveLength(1);
  });

  it('refuses a sender a SOP Instance UID stored in another site’s study as forbidden, not as a conflict that says it exists', async () => {
    const s = spec();
    await index.indexInstance(toIndex(buildParsedInstance(s), { site: '750000001' }));
    const elsewhere = { ...s, studyUID: uid('elsewhere'), seriesUID: uid('elsewhere-series') };
    expect((await index.indexInstance(toIndex(buildParsedInstance(elsewhere), { site: '690000002' }))).kind).toBe('forbidden');
    expect(await index.studyOwnership(elsewhere.studyUID)).toBeNull();
  });

  it('indexes a group with instances of two sites and a duplicate: each gets its own outcome', async () => {
    const owned = spec({ patientId: `PAT-${uid('p')}` });
    await index.indexInstance(toIndex(buildParsedInstance(owned), { site: '750000001' }));
    const fresh = spec({ patientId: `PAT-${uid('p')}` });
    // Submitted together: they are written in groups (one statement for several instances).
    const outcomes = await Promise.all([
      index.indexInstance(toIndex(buildParsedInstance(fresh), { site: '690000002' })),
      index.indexInstance(toIndex(buildParsedInstance({ ...owned, sopUID: uid('intruder') }), { site: '690000002' })),
      index.indexInstance(toIndex(buildParsedInstance(owned), { site: '750000001' })),
      index.indexInstance(toIndex(buildParsedInstance(owned), { site: '750000001', content: 'other bytes' })),
      index.indexInstance(toIndex(buildParsedInstance({ ...fresh, sopUID: uid('second') }), { site: '690000002' })),
    ]);
    expect(outcomes.map((o) => o.kind)).toEqual(['stored', 'forbidden', 'identical', 'conflict', 'stored']);
    const found = await index.findInstances({ site: '690000002' }, { studyInstanceUID: fresh.studyUID });
    expect(found).toHaveLength(2);
  });

  it('keeps the stored name and its fuzzy-match tokens when a later study of the patient has no name', async () => {
    const patientId = `PAT-${uid('p')}`;
    await index.indexInstance(toIndex(buildParsedInstance(spec({ patientId, patientName: 'DUPRÉ^Élodie' }))));
    await index.indexInstance(toIndex(buildParsedInstance(spec({ patientId, patientName: undefined }))));
    const tokens = async () =>
      (
        await db.query<{ token: string; patient_name: string }>(
          `SELECT t.token, p.patient_name FROM patient p JOIN patient_name_token t ON t.patient_pk = p.pk
            WHERE p.patient_id = $1 ORDER BY t.token`,
          [patientId],
        )
      ).rows;
    expect(await tokens()).toEqual([
      { token: 'DUPRE', patient_name: 'DUPRÉ^Élodie' },
      { token: 'ELODIE', patient_name: 'DUPRÉ^Élodie' },
    ]);
    await index.indexInstance(toIndex(buildParsedInstance(spec({ patientId, patientName: 'DUPRÉ-MARTIN^Élodie' }))));
    expect((await tokens()).map((t) => t.token)).toEqual(['DUPRE', 'DUPREMARTIN', 'ELODIE', 'MARTIN']);
  });

  it('versions what findMetadata answers: changed by a new instance, null when nothing may be seen', async () => {
    const s = spec();
    await index.indexInstance(toIndex(buildParsedInstance(s), { site: '750000001' }));
    const series = { studyInstanceUID: s.studyUID, seriesInstanceUID: s.seriesUID };
    const first = await index.metadataVersion({ site: null }, series);
    expect(first).not.toBeNull();
    expect(await index.metadataVersion({ site: null }, series)).toBe(first);
    expect(await index.metadataVersion({ site: '690000002' }, series)).toBeNull();
    expect(await index.metadataVersion({ site: null }, { studyInstanceUID: uid('none') })).toBeNull();
    await index.indexInstance(toIndex(buildParsedInstance({ ...s, sopUID: uid('i') }), { site: '750000001' }));
    const second = await index.metadataVersion({ site: null }, series);
    expect(second).not.toBe(first);
    expect(await index.metadataVersion({ site: '750000001' }, { studyInstanceUID: s.studyUID })).toBe(second);
  });

  it('keeps studies without Patient ID apart, and patients of two sites apart', async () => {
    const a = spec({ patientId: undefined, patientName: 'ANONYME^A' });
    const b = spec({ patientId: undefined, patientName: 'ANONYME^B' });
    await index.indexInstance(toIndex(buildParsedInstance(a)));
    await index.indexInstance(toIndex(buildParsedInstance(b)));
    const sameId = `PAT-${uid('p')}`;
    await index.indexInstance(toIndex(buildParsedInstance(spec({ patientId: sameId, patientName: 'MARTIN^Paul' })), { site: '750000001' }));
    await index.indexInstance(toIndex(buildParsedInstance(spec({ patientId: sameId, patientName: 'DURAND^Lea' })), { site: '690000002' }));
    const { rows } = await db.query<{ patient_name: string }>(
      `SELECT p.patient_name FROM study st JOIN patient p ON p.pk = st.patient_pk
        WHERE st.study_instance_uid = ANY($1) OR p.patient_id = $2 ORDER BY p.patient_name`,
      [[a.studyUID, b.studyUID], sameId],
    );
    expect(rows.map((r) => r.patient_name)).toEqual(['ANONYME^A', 'ANONYME^B', 'DURAND^Lea', 'MARTIN^Paul']);
  });
});
