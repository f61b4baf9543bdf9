import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseQidoQuery } from '../gateway/read/query/qido-query.ts';
import type { QueryLevel } from '../core/query/qido-types.ts';
import { openDatabase, type Database } from '../storage/database/database.ts';
import { PostgresDicomIndex } from '../storage/index/postgres-dicom-index.ts';
import { personNameTokens, personNameUpper } from '../storage/index/person-name.ts';
import { searchQido } from '../storage/index/qido-search.ts';
import { startTestPostgres, type TestPostgres } from '../test/support/postgres.ts';
import { buildParsedInstance, toIndex } from '../test/unit/qido/parsed-instance-builder.ts';

/**
 * Measures QIDO-RS and metadata latency on an index of 10,000 studies (30,000 series, 60,000 instances).
 * The bulk of the index is written with set-based SQL in the same shape indexInstance writes (seeding through
 * indexInstance would take minutes); the large series are indexed through indexInstance.
 * Prints p50/p95 per query; asserts generous bounds only (the machine is shared with other test runs).
 * Takes ~20 s: a measurement, not part of the test suite. Run it with: npx vitest run -c bench/vitest.perf.config.ts
 */
const enabled = true; // run on purpose: npx vitest run -c bench/vitest.perf.config.ts
const STUDIES = 10_000;
const SURNAMES = ['DUPONT', 'DUPRÉ', 'MARTIN', 'BERNARD', 'THOMAS', 'PETIT', 'ROBERT', 'RICHARD', 'DURAND', 'LÉVÊQUE', 'LEROY', 'MOREAU', 'SIMON', 'LAURENT', 'LEFÈBVRE', 'MICHEL', 'GARCIA', 'DAVID', 'BERTRAND', 'ROUX', 'VINCENT', 'FOURNIER', 'MOREL', 'GIRARD', 'ANDRÉ', 'MERCIER', 'BLANC', 'GUÉRIN', 'BOYER', 'GARNIER'];
const GIVEN = ['Élodie', 'Jean', 'Zoé', 'Hélène', 'François', 'Anaïs', 'Loïc', 'Marie', 'Noël', 'Chloé', 'Jérôme', 'Inès'];
const MODALITIES = ['CT', 'MR', 'US', 'CR', 'DX', 'MG', 'PT', 'NM', 'SR'];

let server: TestPostgres;
let db: Database;
let bigSeries: { study: string; series: string };
let bigMetadataSeries: { study: string; series: string };

async function seed(): Promise<void> {
  const rng = mulberry32(42);
  const pick = <T>(list: T[]) => list[Math.floor(rng() * list.length)];
  const patients = { key: [] as string[], site: [] as string[], id: [] as string[], name: [] as string[], upper: [] as string[], birth: [] as string[], sex: [] as string[] };
  const tokens = { token: [] as string[], patient: [] as number[] };
  const studies = { uid: [] as string[], patient: [] as number[], date: [] as string[], time: [] as string[], accession: [] as string[], site: [] as string[] };
  for (let s = 1; s <= STUDIES; s++) {
    const name = `${pick(SURNAMES)}^${pick(GIVEN)}`;
    const site = s % 3 === 0 ? '690000002' : '750000001';
    patients.key.push(JSON.stringify([site, '', `IPP${s}`]));
    patients.site.push(site);
    patients.id.push(`IPP${s}`);
    patients.name.push(name);
    patients.upper.push(personNameUpper(name));
    patients.birth.push(`19${String(30 + Math.floor(rng() * 70)).padStart(2, '0')}0${1 + Math.floor(rng() * 9)}1${Math.floor(rng() * 9)}`);
    patients.sex.push(rng() < 0.5 ? 'F' : 'M');
    for (const token of personNameTokens(name)) {
      tokens.token.push(token);
      tokens.patient.push(s);
    }
    const day = new Date(Date.UTC(2015, 0, 1) + Math.floor(rng() * 3650) * 86_400_000);
    studies.uid.push(`1.2.826.0.1.3680043.10.777.${s}`);
    studies.patient.push(s);
    studies.date.push(day.toISOString().slice(0, 10).replace(/-/g, ''));
    studies.time.push(`${String(Math.floor(rng() * 24)).padStart(2, '0')}${String(Math.floor(rng() * 60)).padStart(2, '0')}00`);
    studies.accession.push(`ACC${s}`);
    studies.site.push(site);
  }
  // Patients and studies get pk = s (fresh identity columns).
  await db.query(
    `INSERT INTO patient (identity_key, site, patient_id, patient_name, patient_name_upper, birth_date, sex)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
    [patients.key, patients.site, patients.id, patients.name, patients.upper, patients.birth, patients.sex],
  );
  await db.query(
    'INSERT INTO patient_name_token (token, patient_pk) SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING',
    [tokens.token, tokens.patient],
  );
  await db.query(
    `INSERT INTO study (study_instance_uid, patient_pk, study_date, study_time, study_time_key, accession_number, study_description, site)
     SELECT uid, patient, date, time, time || '.000000', accession, 'EXAMEN', site
       FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) AS t (uid, patient, date, time, accession, site)`,
    [studies.uid, studies.patient, studies.date, studies.time, studies.accession, studies.site],
  );
  const modality = MODALITIES.map((m) => `'${m}'`).join(',');
  await db.query(
    `INSERT INTO series (series_instance_uid, study_pk, modality, series_number, series_description)
     SELECT st.study_instance_uid || '.' || n, st.pk, (ARRAY[${modality}])[1 + ((st.pk * 7 + n * 3) % 9)], n, 'SERIE ' || n
       FROM study st CROSS JOIN generate_series(1, 3) n`,
  );
  const metadata = JSON.stringify(buildParsedInstance({ studyUID: '1.2.3', seriesUID: '1.2.3.4', sopUID: '1.2.3.4.5' }).metadata);
  await db.query(
    `INSERT INTO instance (sop_instance_uid, series_pk, sop_class_uid, transfer_syntax_uid, instance_number, image_rows,
                           image_columns, number_of_frames, object_key, size, sha256, received_at, frames, bulk_data, metadata)
     SELECT se.series_instance_uid || '.' || n, se.pk, '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.1.2.1', n, 512, 512, 1,
            'k/' || se.pk || '/' || n, 525312, md5(se.pk || '/' || n), now(), '[[[1024, 524288]]]', '[]', $1
       FROM series se CROSS JOIN generate_series(1, 2) n`,
    [metadata],
  );
  // Steady state: autovacuum has set the visibility map of what was ingested a while ago.
  await db.query('VACUUM ANALYZE');
}

/** Indexes a series of `count` instances through indexInstance (8 at a time); returns instances per second. */
async function indexSeries(index: PostgresDicomIndex, study: string, series: string, count: number, extra: number): Promise<number> {
  const extraAttributes = Object.fromEntries(
    Array.from({ length: extra }, (_, k) => [`0019${(0x1000 + k).toString(16).toUpperCase()}`, { vr: 'LO', Value: [`valeur privée ${k} `.repeat(3)] }]),
  );
  const inputs = Array.from({ length: count }, (_, n) =>
    toIndex(
      buildParsedInstance({
        studyUID: study,
        seriesUID: series,
        sopUID: `${series}.${n + 1}`,
        patientId: 'IPP-BIG',
        patientName: 'GRANDE^Série',
        studyDate: '20240301',
        modality: 'CT',
        seriesNumber: 1,
        instanceNumber: n + 1,
        extra: extraAttributes,
      }),
    ),
  );
  const started = performance.now();
  for (let i = 0; i < inputs.length; i += 8) {
    const outcomes = await Promise.all(inputs.slice(i, i + 8).map((input) => index.indexInstance(input)));
    expect(outcomes.every((o) => o.kind === 'stored')).toBe(true);
  }
  return count / ((performance.now() - started) / 1000);
}

async function measure(label: string, runs: number, fn: () => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < 3; i++) await fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const p50 = times[Math.floor(runs * 0.5)];
  const p95 = times[Math.min(runs - 1, Math.ceil(runs * 0.95) - 1)];
  console.log(`${label.padEnd(58)} p50 ${p50.toFixed(2).padStart(6)} ms   p95 ${p95.toFixed(2).padStart(6)} ms`);
  return { p50, p95 };
}

const qido = (level: QueryLevel, query: string, path = {}) => () =>
  searchQido(db, parseQidoQuery(level, new URLSearchParams(query), path), { site: null }, 'http://localhost/dicomweb');

beforeAll(async () => {
  if (!enabled) return;
  server = await startTestPostgres();
  db = await openDatabase({ kind: 'external', url: server.url });
  const index = new PostgresDicomIndex(db);
  await index.migrate();
  let started = performance.now();
  await seed();
  console.log(`seeded ${STUDIES} studies, ${STUDIES * 3} series, ${STUDIES * 6} instances in ${(performance.now() - started).toFixed(0)} ms`);
  bigSeries = { study: '1.2.826.0.1.3680043.10.778.1', series: '1.2.826.0.1.3680043.10.778.1.1' };
  bigMetadataSeries = { study: '1.2.826.0.1.3680043.10.778.2', series: '1.2.826.0.1.3680043.10.778.2.1' };
  started = performance.now();
  const rate = await indexSeries(index, bigSeries.study, bigSeries.series, 300, 0);
  console.log(`indexInstance: 300 instances in ${(performance.now() - started).toFixed(0)} ms (${rate.toFixed(0)} instances/s, 8 concurrent)`);
  await indexSeries(index, bigMetadataSeries.study, bigMetadataSeries.series, 600, 60);
  await db.query('VACUUM ANALYZE');
}, 300_000);

afterAll(async () => {
  await db?.close();
  await server?.stop();
});

describe(`QIDO-RS latency with ${STUDIES} studies`, () => {
  it('answers study searches quickly', async () => {
    const results = [
      await measure('studies?PatientID=IPP4242', 50, qido('study', 'PatientID=IPP4242')),
      await measure('studies?PatientName=GAR*&limit=101', 50, qido('study', 'PatientName=GAR*&limit=101')),
      await measure('studies?PatientName=*ARN*&limit=101 (OHIF list)', 50, qido('study', 'PatientName=*ARN*&limit=101&offset=0&fuzzymatching=false&includefield=00081030,00080060')),
      await measure('studies?PatientName=*UIL*&limit=101 (rare)', 50, qido('study', 'PatientName=*UIL*&limit=101&offset=0&fuzzymatching=false&includefield=00081030,00080060')),
      await measure('studies?PatientName=lev&fuzzymatching=true&limit=101', 50, qido('study', 'PatientName=lev&fuzzymatching=true&limit=101')),
      await measure('studies?StudyDate=20240101-20240131', 50, qido('study', 'StudyDate=20240101-20240131')),
      await measure('studies?ModalitiesInStudy=MG&limit=101', 50, qido('study', 'ModalitiesInStudy=MG&limit=101')),
      await measure('studies?limit=101 (worklist of the newest)', 50, qido('study', 'limit=101')),
      await measure('studies?StudyDate=20200101-&limit=1000 (full page)', 20, qido('study', 'StudyDate=20200101-&limit=1000')),
    ];
    for (const { p95 } of results.slice(0, 6)) expect(p95).toBeLessThan(100);
  });

  it('answers series and instance searches of a study quickly', async () => {
    const study = '1.2.826.0.1.3680043.10.777.4242';
    const results = [
      await measure('studies/{study}/series', 50, qido('series', '', { studyInstanceUID: study })),
      await measure('studies/{study}/series/{series}/instances (300)', 50, qido('instance', '', { studyInstanceUID: bigSeries.study, seriesInstanceUID: bigSeries.series })),
    ];
    const { matches } = await qido('instance', '', { studyInstanceUID: bigSeries.study, seriesInstanceUID: bigSeries.series })();
    expect(matches).toHaveLength(300);
    for (const { p95 } of results) expect(p95).toBeLessThan(100);
  });

  it('serves the metadata of a 600-instance series in one query', async () => {
    const index = new PostgresDicomIndex(db);
    const texts = await index.findMetadata({ site: null }, { studyInstanceUID: bigMetadataSeries.study, seriesInstanceUID: bigMetadataSeries.series });
    expect(texts).toHaveLength(600);
    const bytes = texts.reduce((sum, t) => sum + t.length, 0);
    const { p95 } = await measure(`findMetadata 600 instances (${(bytes / 600 / 1024).toFixed(1)} KiB each)`, 30, () =>
      index.findMetadata({ site: null }, { studyInstanceUID: bigMetadataSeries.study, seriesInstanceUID: bigMetadataSeries.series }),
    );
    await measure('findInstances 600 instances (frames, bulk data)', 30, () =>
      index.findInstances({ site: null }, { studyInstanceUID: bigMetadataSeries.study, seriesInstanceUID: bigMetadataSeries.series }),
    );
    expect(p95).toBeLessThan(200);
  });
});

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
