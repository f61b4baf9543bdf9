import { describe, expect, it } from 'vitest';
import { parseQidoQuery } from '../../../gateway/read/query/qido-query.ts';
import { likePattern, SqlParameters, whereConditions } from '../../../storage/index/qido-sql.ts';

describe('QIDO SQL', () => {
  it('turns DICOM wildcards into LIKE patterns, escaping LIKE metacharacters', () => {
    expect(likePattern('DUP*')).toBe('DUP%');
    expect(likePattern('D?PONT')).toBe('D_PONT');
    expect(likePattern('100%_A\\B*')).toBe('100\\%\\_A\\\\B%');
  });

  it('binds every value as a parameter, never in the SQL text', () => {
    const query = parseQidoQuery(
      'instance',
      new URLSearchParams("PatientName=O'Brien*&StudyDate=20240101-&ModalitiesInStudy=CT\\MR&InstanceNumber=3&PatientID=x';DROP TABLE study;--"),
      { studyInstanceUID: '1.2.3' },
    );
    const params = new SqlParameters();
    const sql = whereConditions(query, { site: '750000001' }, params).join(' AND ');
    expect(sql).not.toMatch(/O'Brien|DROP|20240101|750000001|1\.2\.3/);
    expect(params.values).toEqual(
      expect.arrayContaining(['1.2.3', "O'BRIEN%", '20240101', ['CT', 'MR'], 3, "x';DROP TABLE study;--", '750000001']),
    );
  });
});
