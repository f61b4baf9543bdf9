import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DicomJsonDataset } from '../../core/dicom/parsed-instance.ts';
import { parseQidoQuery } from '../../gateway/read/query/qido-query.ts';
import type { QueryLevel } from '../../core/query/qido-types.ts';
import { openDatabase, type Database } from '../../storage/database/database.ts';
import type { AccessScope } from '../../storage/index/dicom-index.ts';
import { PostgresDicomIndex } from '../../storage/index/postgres-dicom-index.ts';
import { searchQido } from '../../storage/index/qido-search.ts';
import { startTestPostgres, type TestPostgres } from '../support/postgres.ts';
import { buildParsedInstance, toIndex, type InstanceSpec } from '../unit/qido/parsed-instance-builder.ts';

const ROOT = 'https://pacs.example.fr/dicomweb';
const INS_ISSUER = '1.2.250.1.213.1.4.8';
const SITE_LYON = '690000002';
const SITE_PARIS = '750000001';
const CT = '1.2.840.10008.5.1.4.1.1.2';
const SR = '1.2.840.10008.5.1.4.1.1.88.33';

const A = '1.2.826.0.1.3680043.10.99.1';
const A1 = `${A}.1`;
const A2 = `${A}.2`;
const B = '1.2.826.0.1.3680043.10.99.2';
const B1 = `${B}.1`;
const C = '1.2.826.0.1.3680043.10.99.3';
const D = '1.2.826.0.1.3680043.10.99.4';

const studyA = {
  studyUID: A,
  patientId: 'IPP-1',
  issuer: 'CHU-LYON',
  patientName: 'DUPRÉ^Élodie',
  birthDate: '19850312',
  sex: 'F',
  otherIds: [{ id: '285037512345678', issuer: INS_ISSUER }],
  studyDate: '20240115',
  studyTime: '101530',
  accession: 'ACC-A',
  studyDescription: 'CT THORAX',
  referring: 'MARTIN^Jean',
  institution: 'CHU LYON',
  studyId: 'S-A',
};
const studyB = {
  studyUID: B,
  patientId: 'IPP-2',
  patientName: 'DUPONT^Jean',
  birthDate: '19500101',
  sex: 'M',
  studyDate: '20240201',
  studyTime: '0830',
  accession: 'ACC-B',
  studyDescription: 'IRM CEREBRALE',
  referring: 'LÉGER^Anne',
  institution: 'HOPITAL PARIS',
  studyId: 'S-B',
};
const studyC = {
  studyUID: C,
  patientId: 'IPP-3',
  patientName: 'LÉVÊQUE^Zoé',
  birthDate: '20010704',
  sex: 'F',
  studyDate: '20231120',
  studyTime: '163000',
  accession: 'ACC-C',
  studyDescription: 'ECHO ABDO',
  institution: 'CHU LYON',
};
const studyD = { studyUID: D, patientName: 'ANONYME' };

const instances: { spec: InstanceSpec; site: string | null }[] = [
  ...[1, 2, 3].map((n) => ({
    spec: {
      ...studyA,
      seriesUID: A1,
      sopUID: `${A1}.${n}`,
      modality: 'CT',
      seriesNumber: 1,
      seriesDescription: 'AXIAL 1mm',
      bodyPart: 'CHEST',
      instanceNumber: 4 - n,
      extra: { '00180050': { vr: 'DS', Value: [1.25] } },
    },
    site: SITE_LYON,
  })),
  {
    spec: { ...studyA, seriesUID: A2, sopUID: `${A2}.1`, sopClassUID: SR, modality: 'SR', seriesNumber: 2, seriesDescription: 'Rapport', instanceNumber: 1 },
    site: SITE_LYON,
  },
  ...[1, 2].map((n) => ({
    spec: {
      ...studyB,
      seriesUID: B1,
      sopUID: `${B1}.${n}`,
      modality: 'MR',
      seriesNumber: 3,
      seriesDescription: 'T1 SAG',
      bodyPart: 'HEAD',
      instanceNumber: n,
      rows: 256,
      columns: 192,
      numberOfFrames: n === 2 ? 20 : 1,
      extra: { '00180050': { vr: 'DS', Value: [5] } },
    },
    site: SITE_PARIS,
  })),
  { spec: { ...studyC, seriesUID: `${C}.1`, sopUID: `${C}.1.1`, modality: 'US', seriesNumber: 1, instanceNumber: 1 }, site: SITE_LYON },
  { spec: { ...studyD, seriesUID: `${D}.1`, sopUID: `${D}.1.1`, modality: 'OT' }, site: null },
];

let server: TestPostgres;
let db: Database;

beforeAll(async () => {
  server = await startTestPostgres();
  db = await openDatabase({ kind: 'external', url: server.url });
  const index = new PostgresDicomIndex(db);
  await index.migrate();
  for (const { spec, site } of instances) {
    const outcome = await index.indexInstance(toIndex(buildParsedInstance(spec), { site }));
    expect(outcome.kind).toBe('stored');
  }
});
afterAll(async () => {
  await db?.close();
  await server?.stop();
});

const everyone: AccessScope = { site: null };

async function search(
  level: QueryLevel,
  query: string,
  path: { studyInstanceUID?: string; seriesInstanceUID?: string } = {},
  scope: AccessScope = everyone,
) {
  return searchQido(db, parseQidoQuery(level, new URLSearchParams(query), path), scope, ROOT);
}

const value = (dataset: DicomJsonDataset, tag: string) => dataset[tag]?.Value;
const studyUIDs = async (query: string, scope: AccessScope = everyone) =>
  (await search('study', query, {}, scope)).matches.map((m) => value(m, '0020000D')?.[0]);

describe('QIDO-RS study search', () => {
  it('returns every study, newest first, studies without date last', async () => {
    expect(await studyUIDs('')).toEqual([B, A, C, D]);
  });

  it('answers the PS3.18 study attributes with computed ModalitiesInStudy and counts', async () => {
    const [match] = (await search('study', `StudyInstanceUID=${A}`)).matches;
    expect(match).toEqual({
      '00080005': { vr: 'CS', Value: ['ISO_IR 192'] },
      '00080020': { vr: 'DA', Value: ['20240115'] },
      '00080030': { vr: 'TM', Value: ['101530'] },
      '00080050': { vr: 'SH', Value: ['ACC-A'] },
      '00080056': { vr: 'CS', Value: ['ONLINE'] },
      '00080061': { vr: 'CS', Value: ['CT', 'SR'] },
      '00080080': { vr: 'LO', Value: ['CHU LYON'] },
      '00080090': { vr: 'PN', Value: [{ Alphabetic: 'MARTIN^Jean' }] },
      '00081030': { vr: 'LO', Value: ['CT THORAX'] },
      '00081190': { vr: 'UR', Value: [`${ROOT}/studies/${A}`] },
      '00100010': { vr: 'PN', Value: [{ Alphabetic: 'DUPRÉ^Élodie' }] },
      '00100020': { vr: 'LO', Value: ['IPP-1'] },
      '00100021': { vr: 'LO', Value: ['CHU-LYON'] },
      '00100030': { vr: 'DA', Value: ['19850312'] },
      '00100040': { vr: 'CS', Value: ['F'] },
      '0020000D': { vr: 'UI', Value: [A] },
      '00200010': { vr: 'SH', Value: ['S-A'] },
      '00201206': { vr: 'IS', Value: [2] },
      '00201208': { vr: 'IS', Value: [4] },
    });
  });

  it('returns empty required attributes without a Value', async () => {
    const [match] = (await search('study', `StudyInstanceUID=${D}`)).matches;
    expect(match['00080020']).toEqual({ vr: 'DA' });
    expect(match['00100020']).toEqual({ vr: 'LO' });
    expect(match['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'ANONYME' }] });
  });

  it('matches PatientID on the local ID and on the INS, with wildcards', async () => {
    expect(await studyUIDs('PatientID=IPP-1')).toEqual([A]);
    expect(await studyUIDs('PatientID=285037512345678')).toEqual([A]);
    expect(await studyUIDs('00100020=IPP-*')).toEqual([B, A, C]);
    expect(await studyUIDs('PatientID=ipp-1')).toEqual([]);
    expect(await studyUIDs('IssuerOfPatientID=CHU-LYON')).toEqual([A]);
  });

  it('matches PatientName case-insensitively, exactly or with wildcards', async () => {
    expect(await studyUIDs('PatientName=dupré^élodie')).toEqual([A]);
    expect(await studyUIDs('PatientName=DUPRE^ELODIE')).toEqual([]);
    expect(await studyUIDs('PatientName=DUP*')).toEqual([B, A]);
    expect(await studyUIDs('PatientName=*ont*')).toEqual([B]);
    expect(await studyUIDs('PatientName=l?v?que*')).toEqual([C]);
    expect(await studyUIDs('PatientName=DUPR')).toEqual([]);
  });

  it('matches PatientName fuzzily: accents ignored, the start of any name component', async () => {
    expect(await studyUIDs('PatientName=dupre&fuzzymatching=true')).toEqual([A]);
    expect(await studyUIDs('PatientName=elo&fuzzymatching=true')).toEqual([A]);
    expect(await studyUIDs('PatientName=zoe&fuzzymatching=true')).toEqual([C]);
    expect(await studyUIDs('PatientName=LEVEQUE^ZOE&fuzzymatching=true')).toEqual([C]);
    expect(await studyUIDs('PatientName=dup&fuzzymatching=true')).toEqual([B, A]);
    expect(await studyUIDs('PatientName=dupre jean&fuzzymatching=true')).toEqual([]);
    expect(await studyUIDs('PatientName=dup*^j&fuzzymatching=true')).toEqual([B]);
    expect(await studyUIDs('PatientName=lodie&fuzzymatching=true')).toEqual([]);
    expect(await studyUIDs('PatientName=dupre&fuzzymatching=false')).toEqual([]);
  });

  it('matches ReferringPhysicianName, fuzzily too', async () => {
    expect(await studyUIDs('ReferringPhysicianName=martin^jean')).toEqual([A]);
    expect(await studyUIDs('ReferringPhysicianName=LEGER&fuzzymatching=true')).toEqual([B]);
    expect(await studyUIDs('ReferringPhysicianName=jea&fuzzymatching=true')).toEqual([A]);
  });

  it('matches birth date, sex, accession number, description, institution and study ID', async () => {
    expect(await studyUIDs('PatientBirthDate=-19600101')).toEqual([B]);
    expect(await studyUIDs('PatientSex=F')).toEqual([A, C]);
    expect(await studyUIDs('AccessionNumber=ACC-B')).toEqual([B]);
    expect(await studyUIDs('StudyDescription=CT*')).toEqual([A]);
    expect(await studyUIDs('StudyDescription=ct*')).toEqual([]);
    expect(await studyUIDs('InstitutionName=CHU LYON')).toEqual([A, C]);
    expect(await studyUIDs('StudyID=S-B')).toEqual([B]);
  });

  it('matches StudyDate values and ranges of each form', async () => {
    expect(await studyUIDs('StudyDate=20240115')).toEqual([A]);
    expect(await studyUIDs('StudyDate=20240101-20240131')).toEqual([A]);
    expect(await studyUIDs('StudyDate=-20240115')).toEqual([A, C]);
    expect(await studyUIDs('StudyDate=20240115-')).toEqual([B, A]);
    expect(await studyUIDs('StudyDate=19700102-20991231')).toEqual([B, A, C]);
  });

  it('matches StudyTime values and ranges', async () => {
    expect(await studyUIDs('StudyTime=1015')).toEqual([A]);
    expect(await studyUIDs('StudyTime=08-12')).toEqual([B, A]);
    expect(await studyUIDs('StudyTime=1600-')).toEqual([C]);
  });

  it('matches StudyInstanceUID lists and ModalitiesInStudy values, lists and wildcards', async () => {
    expect(await studyUIDs(`StudyInstanceUID=${A}\\${C}`)).toEqual([A, C]);
    expect(await studyUIDs('ModalitiesInStudy=SR')).toEqual([A]);
    expect(await studyUIDs('ModalitiesInStudy=MR\\US')).toEqual([B, C]);
    expect(await studyUIDs('ModalitiesInStudy=ct,mr')).toEqual([B, A]);
    expect(await studyUIDs('ModalitiesInStudy=M*')).toEqual([B]);
  });

  it('combines keys with AND', async () => {
    expect(await studyUIDs('PatientSex=F&ModalitiesInStudy=US')).toEqual([C]);
    expect(await studyUIDs('PatientSex=M&ModalitiesInStudy=US')).toEqual([]);
  });

  it('shows a site only its studies', async () => {
    expect(await studyUIDs('', { site: SITE_LYON })).toEqual([A, C]);
    expect(await studyUIDs('', { site: SITE_PARIS })).toEqual([B]);
    expect(await studyUIDs('PatientID=IPP-2', { site: SITE_LYON })).toEqual([]);
    expect((await search('instance', '', { studyInstanceUID: B }, { site: SITE_LYON })).matches).toEqual([]);
  });

  it('pages with limit and offset and says when more matches exist', async () => {
    const first = await search('study', 'limit=2');
    expect(first.truncated).toBe(true);
    expect(first.matches.map((m) => value(m, '0020000D')?.[0])).toEqual([B, A]);
    const second = await search('study', 'limit=2&offset=2');
    expect(second.truncated).toBe(false);
    expect(second.matches.map((m) => value(m, '0020000D')?.[0])).toEqual([C, D]);
    const exact = await search('study', 'limit=4');
    expect(exact.truncated).toBe(false);
    expect((await search('study', 'offset=10')).matches).toEqual([]);
  });

  it('adds includefield attributes from the stored metadata of the first instance', async () => {
    const [byKeyword] = (await search('study', `StudyInstanceUID=${A}&includefield=SliceThickness`)).matches;
    expect(byKeyword['00180050']).toEqual({ vr: 'DS', Value: [1.25] });
    const [byTag] = (await search('study', `StudyInstanceUID=${B}&includefield=00180050,00101002`)).matches;
    expect(byTag['00180050']).toEqual({ vr: 'DS', Value: [5] });
    expect(byTag['00101002']).toBeUndefined(); // B has no other IDs
  });

  it('includefield=all at study level adds patient and study attributes, not image attributes', async () => {
    const [match] = (await search('study', `StudyInstanceUID=${A}&includefield=all`)).matches;
    expect(match['00101002']).toEqual({
      vr: 'SQ',
      Value: [{ '00100020': { vr: 'LO', Value: ['285037512345678'] }, '00100021': { vr: 'LO', Value: [INS_ISSUER] } }],
    });
    expect(match['00201208']).toEqual({ vr: 'IS', Value: [4] });
    expect(match['00080018']).toBeUndefined();
    expect(match['00280010']).toBeUndefined();
    expect(match['7FE00010']).toBeUndefined();
  });
});

describe('QIDO-RS series search', () => {
  it('lists the series of a study in number order with their attributes', async () => {
    const { matches } = await search('series', '', { studyInstanceUID: A });
    expect(matches.map((m) => value(m, '0020000E')?.[0])).toEqual([A1, A2]);
    expect(matches[0]).toEqual({
      '00080005': { vr: 'CS', Value: ['ISO_IR 192'] },
      '00080021': { vr: 'DA' },
      '00080056': { vr: 'CS', Value: ['ONLINE'] },
      '00080060': { vr: 'CS', Value: ['CT'] },
      '0008103E': { vr: 'LO', Value: ['AXIAL 1mm'] },
      '00081190': { vr: 'UR', Value: [`${ROOT}/studies/${A}/series/${A1}`] },
      '00180015': { vr: 'CS', Value: ['CHEST'] },
      '0020000D': { vr: 'UI', Value: [A] },
      '0020000E': { vr: 'UI', Value: [A1] },
      '00200011': { vr: 'IS', Value: [1] },
      '00201209': { vr: 'IS', Value: [3] },
    });
  });

  it('matches series keys', async () => {
    const uids = async (query: string, path = {}) =>
      (await search('series', query, path)).matches.map((m) => value(m, '0020000E')?.[0]);
    expect(await uids('Modality=SR', { studyInstanceUID: A })).toEqual([A2]);
    expect(await uids('SeriesNumber=3')).toEqual([B1]);
    expect(await uids('SeriesDescription=T1*')).toEqual([B1]);
    expect(await uids('BodyPartExamined=CHEST')).toEqual([A1]);
    expect(await uids(`SeriesInstanceUID=${A2},${B1}`)).toEqual([B1, A2]);
    expect(await uids('Modality=CT', { studyInstanceUID: B })).toEqual([]);
  });

  it('across studies, returns the study attributes too and accepts study keys', async () => {
    const { matches } = await search('series', 'PatientName=dupré*');
    expect(matches.map((m) => value(m, '0020000E')?.[0])).toEqual([A1, A2]);
    expect(matches[0]['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'DUPRÉ^Élodie' }] });
    expect(matches[0]['00201206']).toEqual({ vr: 'IS', Value: [2] });
  });

  it('returns the attribute of a universal matching key', async () => {
    const { matches } = await search('series', 'PatientName=', { studyInstanceUID: A });
    expect(matches[0]['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'DUPRÉ^Élodie' }] });
    expect(matches[0]['00100020']).toBeUndefined();
  });
});

describe('QIDO-RS instance search', () => {
  it('lists the instances of a series in instance-number order with image attributes', async () => {
    const { matches } = await search('instance', '', { studyInstanceUID: A, seriesInstanceUID: A1 });
    expect(matches.map((m) => value(m, '00080018')?.[0])).toEqual([`${A1}.3`, `${A1}.2`, `${A1}.1`]);
    expect(matches[0]).toEqual({
      '00080005': { vr: 'CS', Value: ['ISO_IR 192'] },
      '00080016': { vr: 'UI', Value: [CT] },
      '00080018': { vr: 'UI', Value: [`${A1}.3`] },
      '00080056': { vr: 'CS', Value: ['ONLINE'] },
      '00081190': { vr: 'UR', Value: [`${ROOT}/studies/${A}/series/${A1}/instances/${A1}.3`] },
      '0020000D': { vr: 'UI', Value: [A] },
      '0020000E': { vr: 'UI', Value: [A1] },
      '00200013': { vr: 'IS', Value: [1] },
      '00280008': { vr: 'IS', Value: [1] },
      '00280010': { vr: 'US', Value: [512] },
      '00280011': { vr: 'US', Value: [512] },
      '00280100': { vr: 'US', Value: [16] },
    });
  });

  it('of a study, adds the series attributes; across studies, the study attributes', async () => {
    const ofStudy = await search('instance', '', { studyInstanceUID: B });
    expect(ofStudy.matches).toHaveLength(2);
    expect(ofStudy.matches[1]['00080060']).toEqual({ vr: 'CS', Value: ['MR'] });
    expect(ofStudy.matches[1]['00280008']).toEqual({ vr: 'IS', Value: [20] });
    expect(ofStudy.matches[1]['00100010']).toBeUndefined();
    const all = await search('instance', 'SOPClassUID=1.2.840.10008.5.1.4.1.1.88.33');
    expect(all.matches.map((m) => value(m, '00080018')?.[0])).toEqual([`${A2}.1`]);
    expect(all.matches[0]['00100020']).toEqual({ vr: 'LO', Value: ['IPP-1'] });
  });

  it('matches SOPInstanceUID and InstanceNumber, and instance keys mixed with study keys', async () => {
    const uids = async (query: string, path = {}) =>
      (await search('instance', query, path)).matches.map((m) => value(m, '00080018')?.[0]);
    expect(await uids(`SOPInstanceUID=${B1}.2`)).toEqual([`${B1}.2`]);
    expect(await uids('InstanceNumber=2', { studyInstanceUID: A })).toEqual([`${A1}.2`]);
    expect(await uids('InstanceNumber=1\\2&PatientID=IPP-2')).toEqual([`${B1}.1`, `${B1}.2`]);
  });

  it('includefield=all at instance level returns the stored attributes except bulk data', async () => {
    const { matches } = await search('instance', `SOPInstanceUID=${B1}.2&includefield=all`);
    expect(matches[0]['00180050']).toEqual({ vr: 'DS', Value: [5] });
    expect(matches[0]['00080060']).toEqual({ vr: 'CS', Value: ['MR'] });
    expect(matches[0]['00201209']).toEqual({ vr: 'IS', Value: [2] });
    expect(matches[0]['7FE00010']).toBeUndefined();
  });
});
