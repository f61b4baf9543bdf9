import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParsedInstance } from '../../core/dicom/parsed-instance.ts';
import { readInstanceFile } from '../../core/dicom/read-instance-file.ts';
import { parseQidoQuery } from '../../gateway/read/query/qido-query.ts';
import type { QueryLevel } from '../../core/query/qido-types.ts';
import { openDatabase, type Database } from '../../storage/database/database.ts';
import { PostgresDicomIndex } from '../../storage/index/postgres-dicom-index.ts';
import { searchQido } from '../../storage/index/qido-search.ts';
import { startTestPostgres, type TestPostgres } from '../support/postgres.ts';
import { DICOM_SAMPLES } from '../support/shared-samples.ts';

/** Real files, parsed by the ingest reader, indexed and searched: what the index gets in production. */
const SAMPLES = DICOM_SAMPLES;
const ROOT = 'http://localhost/dicomweb';
const FILES = ['CT_small.dcm', 'MR_small.dcm', 'JPEG2000.dcm', 'chrFren.dcm', 'test-SR.dcm', 'rtdose.dcm'];

let server: TestPostgres;
let db: Database;
let index: PostgresDicomIndex;
const parsed = new Map<string, ParsedInstance>();

beforeAll(async () => {
  server = await startTestPostgres();
  db = await openDatabase({ kind: 'external', url: server.url });
  index = new PostgresDicomIndex(db);
  await index.migrate();
  for (const file of FILES) {
    const filePath = path.join(SAMPLES, file);
    let instance: ParsedInstance;
    try {
      instance = await readInstanceFile(filePath);
    } catch {
      continue; // refused by the reader (its own tests say why): not indexable
    }
    const sha256 = createHash('sha256').update(await readFile(filePath)).digest('hex');
    const outcome = await index.indexInstance({
      parsed: instance,
      objectKey: `samples/${file}`,
      size: (await stat(filePath)).size,
      sha256,
      site: '690000002',
      receivedAt: new Date(),
    });
    expect(outcome.kind, file).toBe('stored');
    parsed.set(file, instance);
  }
});
afterAll(async () => {
  await db?.close();
  await server?.stop();
});

const search = (level: QueryLevel, query: string, path = {}) =>
  searchQido(db, parseQidoQuery(level, new URLSearchParams(query), path), { site: null }, ROOT);

describe('QIDO-RS on real samples', () => {
  it('indexed the readable samples', () => {
    expect(parsed.has('CT_small.dcm')).toBe(true);
    expect(parsed.has('chrFren.dcm')).toBe(true);
  });

  it('finds the French patient name decoded from ISO_IR 100, exactly and fuzzily', async () => {
    const fr = parsed.get('chrFren.dcm')!;
    const exact = await search('study', `PatientName=${encodeURIComponent(fr.patient.name!)}`);
    expect(exact.matches.map((m) => m['0020000D'].Value)).toEqual([[fr.studyInstanceUID]]);
    expect(exact.matches[0]['00100010'].Value).toEqual([{ Alphabetic: 'Buc^Jérôme' }]);
    const fuzzy = await search('study', 'PatientName=jerome&fuzzymatching=true');
    expect(fuzzy.matches.map((m) => m['0020000D'].Value?.[0])).toEqual([fr.studyInstanceUID]);
    // An empty Referring Physician's Name ('^^^^') is empty, not a name made of carets.
    expect(exact.matches[0]['00080090']).toEqual({ vr: 'PN' });
  });

  it('matches studies by date and modality, and series by modality', async () => {
    const ct = parsed.get('CT_small.dcm')!;
    const byDate = await search('study', 'StudyDate=20040119');
    expect(byDate.matches.map((m) => m['0020000D'].Value?.[0])).toEqual([ct.studyInstanceUID]);
    const byModality = await search('study', 'ModalitiesInStudy=CT');
    expect(byModality.matches.map((m) => m['0020000D'].Value?.[0])).toEqual([ct.studyInstanceUID]);
    const series = await search('series', 'Modality=CT');
    expect(series.matches.map((m) => m['0020000E'].Value?.[0])).toEqual([ct.seriesInstanceUID]);
  });

  it('answers instance attributes and includefield values from the stored metadata', async () => {
    const ct = parsed.get('CT_small.dcm')!;
    const { matches } = await search('instance', 'includefield=SliceThickness,00280030', {
      studyInstanceUID: ct.studyInstanceUID,
      seriesInstanceUID: ct.seriesInstanceUID,
    });
    expect(matches).toHaveLength(1);
    expect(matches[0]['00080018'].Value).toEqual([ct.sopInstanceUID]);
    expect(matches[0]['00280010'].Value).toEqual([128]);
    expect(matches[0]['00180050']).toEqual(ct.metadata['00180050']);
    expect(matches[0]['00280030']).toEqual(ct.metadata['00280030']);
  });

  it('serves the stored metadata as ASCII JSON text with the parsed values', async () => {
    for (const [file, instance] of parsed) {
      const texts = await index.findMetadata({ site: null }, { studyInstanceUID: instance.studyInstanceUID, sopInstanceUID: instance.sopInstanceUID });
      expect(texts, file).toHaveLength(1);
      expect(JSON.parse(texts[0]), file).toEqual(instance.metadata);
      expect(texts[0], file).toMatch(/^[\x20-\x7e]*$/);
      const [stored] = await index.findInstances({ site: null }, { studyInstanceUID: instance.studyInstanceUID, sopInstanceUID: instance.sopInstanceUID });
      expect(stored.frames, file).toEqual(instance.frames);
      expect(stored.bulkData, file).toEqual(instance.bulkData);
    }
  });
});
