import { describe, expect, it } from 'vitest';
import { DEFAULT_QIDO_LIMIT, MAX_QIDO_LIMIT, parseQidoQuery } from '../../../gateway/read/query/qido-query.ts';
import type { QueryLevel } from '../../../core/query/qido-types.ts';
import { BadRequest } from '../../../gateway/http/problem.ts';

const parse = (query: string, level: QueryLevel = 'study', path = {}) =>
  parseQidoQuery(level, new URLSearchParams(query), path);

function rejection(query: string, level: QueryLevel = 'study', path = {}): BadRequest {
  try {
    parse(query, level, path);
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequest);
    expect((error as BadRequest).status).toBe(400);
    return error as BadRequest;
  }
  throw new Error(`expected ${query} to be refused`);
}

describe('parseQidoQuery', () => {
  it('has defaults: no keys, no fuzzy matching, limit 1000, offset 0', () => {
    expect(parse('')).toEqual({
      level: 'study',
      studyInstanceUID: undefined,
      seriesInstanceUID: undefined,
      keys: [],
      fuzzyMatching: false,
      includeFields: [],
      limit: DEFAULT_QIDO_LIMIT,
      offset: 0,
    });
  });

  it('accepts keys by keyword (any case) or by tag', () => {
    expect(parse('PatientID=IPP-1').keys).toEqual([{ kind: 'single', tag: '00100020', value: 'IPP-1' }]);
    expect(parse('00100020=IPP-1').keys).toEqual([{ kind: 'single', tag: '00100020', value: 'IPP-1' }]);
    expect(parse('patientid=IPP-1').keys).toEqual([{ kind: 'single', tag: '00100020', value: 'IPP-1' }]);
    expect(parse('0020000d=1.2.3').keys).toEqual([{ kind: 'single', tag: '0020000D', value: '1.2.3' }]);
  });

  it('treats an empty value or a lone * as universal matching', () => {
    expect(parse('PatientName=&StudyDate=*').keys).toEqual([
      { kind: 'universal', tag: '00100010' },
      { kind: 'universal', tag: '00080020' },
    ]);
  });

  it('recognises wildcards in names, texts and codes', () => {
    expect(parse('PatientName=dup*').keys).toEqual([{ kind: 'wildcard', tag: '00100010', pattern: 'dup*' }]);
    expect(parse('StudyDescription=CT?THORAX').keys).toEqual([{ kind: 'wildcard', tag: '00081030', pattern: 'CT?THORAX' }]);
    expect(parse('ModalitiesInStudy=c*').keys).toEqual([{ kind: 'wildcard', tag: '00080061', pattern: 'C*' }]);
  });

  it('parses dates and the three forms of date ranges, including what OHIF sends', () => {
    expect(parse('StudyDate=20240115').keys).toEqual([{ kind: 'single', tag: '00080020', value: '20240115' }]);
    expect(parse('StudyDate=20240101-20240131').keys).toEqual([
      { kind: 'range', tag: '00080020', from: '20240101', to: '20240131' },
    ]);
    expect(parse('StudyDate=-20240131').keys).toEqual([{ kind: 'range', tag: '00080020', from: undefined, to: '20240131' }]);
    expect(parse('StudyDate=20240101-').keys).toEqual([{ kind: 'range', tag: '00080020', from: '20240101', to: undefined }]);
    expect(parse('StudyDate=19700102-20991231').keys[0]).toMatchObject({ kind: 'range', from: '19700102' });
  });

  it('refuses malformed dates, impossible dates and reversed ranges, naming the key', () => {
    expect(rejection('StudyDate=2024-01-01').message).toMatch(/StudyDate="2024-01-01".*YYYYMMDD/);
    expect(rejection('StudyDate=20240231').message).toMatch(/StudyDate/);
    expect(rejection('StudyDate=20240131-20240101').message).toMatch(/StudyDate=.*starts after it ends/);
    expect(rejection('StudyDate=2024-').message).toMatch(/StudyDate/);
    expect(rejection('StudyDate=-').message).toMatch(/StudyDate/);
  });

  it('does not echo patient data in errors', () => {
    const error = rejection('PatientBirthDate=1985-03-12');
    expect(error.message).toMatch(/PatientBirthDate/);
    expect(error.message).not.toMatch(/1985/);
  });

  it('parses times and time ranges', () => {
    expect(parse('StudyTime=1015').keys).toEqual([{ kind: 'single', tag: '00080030', value: '1015' }]);
    expect(parse('StudyTime=080000-120000.5').keys).toEqual([
      { kind: 'range', tag: '00080030', from: '080000', to: '120000.5' },
    ]);
    expect(rejection('StudyTime=25').message).toMatch(/StudyTime="25"/);
    expect(rejection('StudyTime=10h30').message).toMatch(/StudyTime/);
  });

  it('splits UID lists on backslash or comma and validates every UID', () => {
    expect(parse('StudyInstanceUID=1.2.3\\1.2.4,1.2.5').keys).toEqual([
      { kind: 'list', tag: '0020000D', values: ['1.2.3', '1.2.4', '1.2.5'] },
    ]);
    expect(rejection('StudyInstanceUID=1.2.abc').message).toMatch(/StudyInstanceUID=.*"1\.2\.abc" is not a valid UID/);
    expect(rejection('SOPInstanceUID=1..2', 'instance').message).toMatch(/SOPInstanceUID.*empty component/);
    expect(rejection('StudyInstanceUID=1.2.3,1.2.x').message).toMatch(/1\.2\.x/);
  });

  it('upper-cases codes and accepts code lists', () => {
    expect(parse('ModalitiesInStudy=CT\\mr').keys).toEqual([{ kind: 'list', tag: '00080061', values: ['CT', 'MR'] }]);
    expect(parse('ModalitiesInStudy=ct,MR').keys).toEqual([{ kind: 'list', tag: '00080061', values: ['CT', 'MR'] }]);
    expect(parse('PatientSex=f').keys).toEqual([{ kind: 'single', tag: '00100040', value: 'F' }]);
  });

  it('parses integers and integer lists', () => {
    expect(parse('SeriesNumber=2', 'series').keys).toEqual([{ kind: 'single', tag: '00200011', value: '2' }]);
    expect(parse('InstanceNumber=1,3', 'instance').keys).toEqual([{ kind: 'list', tag: '00200013', values: ['1', '3'] }]);
    expect(rejection('SeriesNumber=two', 'series').message).toMatch(/SeriesNumber="two".*not an integer/);
  });

  it('reads fuzzymatching', () => {
    expect(parse('fuzzymatching=true').fuzzyMatching).toBe(true);
    expect(parse('fuzzymatching=false').fuzzyMatching).toBe(false);
    expect(parse('FuzzyMatching=TRUE').fuzzyMatching).toBe(true);
    expect(rejection('fuzzymatching=yes').message).toMatch(/fuzzymatching="yes".*true or false/);
  });

  it('reads includefield: comma lists, repetitions, keywords, tags and all', () => {
    expect(parse('includefield=SliceThickness,00180088&includefield=PatientAge').includeFields).toEqual([
      '00180050',
      '00180088',
      '00101010',
    ]);
    expect(parse('includefield=all').includeFields).toBe('all');
    expect(parse('includefield=00180050&includefield=all').includeFields).toBe('all');
    expect(rejection('includefield=NoSuchKeyword').message).toMatch(/includefield="NoSuchKeyword"/);
  });

  it('reads limit and offset, lowers limits above the maximum, refuses bad ones', () => {
    expect(parse('limit=25&offset=50')).toMatchObject({ limit: 25, offset: 50 });
    expect(parse('limit=50000').limit).toBe(MAX_QIDO_LIMIT);
    expect(rejection('limit=0').message).toMatch(/limit="0"/);
    expect(rejection('limit=-1').message).toMatch(/limit/);
    expect(rejection('limit=ten').message).toMatch(/limit="ten"/);
    expect(rejection('offset=1.5').message).toMatch(/offset="1.5"/);
  });

  it('refuses unknown parameters, naming them', () => {
    expect(rejection('_=123').message).toMatch(/Unknown query parameter "_"/);
    expect(rejection('PatientNmae=X').message).toMatch(/Unknown query parameter "PatientNmae"/);
  });

  it('refuses DICOM attributes that are not matching keys, suggesting includefield', () => {
    expect(rejection('SliceThickness=5').message).toMatch(/"SliceThickness" is not a supported matching key.*includefield=SliceThickness/);
  });

  it('refuses keys of a lower level', () => {
    expect(rejection('Modality=CT').message).toMatch(/"Modality" is a series-level key.*\/studies/);
    expect(rejection('SOPInstanceUID=1.2.3', 'series').message).toMatch(/"SOPInstanceUID" is an instance-level key.*\/series/);
    expect(parse('PatientName=X&Modality=CT&SOPClassUID=1.2', 'instance').keys).toHaveLength(3);
    expect(parse('PatientName=X', 'series').keys).toHaveLength(1);
  });

  it('refuses a key given twice', () => {
    expect(rejection('PatientID=1&00100020=2').message).toMatch(/given twice/);
    expect(rejection('limit=1&limit=2').message).toMatch(/"limit" is given twice/);
  });

  it('takes and validates the UIDs of the path', () => {
    expect(parse('', 'instance', { studyInstanceUID: '1.2.3', seriesInstanceUID: '1.2.3.4' })).toMatchObject({
      studyInstanceUID: '1.2.3',
      seriesInstanceUID: '1.2.3.4',
    });
    expect(rejection('', 'series', { studyInstanceUID: 'abc' }).message).toMatch(/Study Instance UID "abc" in the URL/);
  });
});
