import { describe, expect, it } from 'vitest';
import { redactedQuery } from '../../../audit/redact-query.ts';

describe('redactedQuery', () => {
  it('keeps identifiers and hides names and birth dates, by keyword or tag', () => {
    expect(
      redactedQuery('/dicomweb/studies?PatientName=DUPONT%5EJEANNE*&PatientID=123&00100030=19800101&ModalitiesInStudy=CT&fuzzymatching=true'),
    ).toBe('/dicomweb/studies?PatientName=(redacted)&PatientID=123&00100030=(redacted)&ModalitiesInStudy=CT&fuzzymatching=true');
  });

  it('hides nested paths through a redacted attribute and extra names, case-insensitively', () => {
    expect(redactedQuery('/api/worklist?q=martin&00101002.00100020=INS1&otherpatientnames=X', { alsoRedact: ['Q'] })).toBe(
      '/api/worklist?q=(redacted)&00101002.00100020=INS1&otherpatientnames=(redacted)',
    );
  });

  it('keeps repeated parameters and a query-less path', () => {
    expect(redactedQuery('/dicomweb/studies?includefield=PatientName&includefield=00080020')).toBe(
      '/dicomweb/studies?includefield=PatientName&includefield=00080020',
    );
    expect(redactedQuery('/dicomweb/studies/1.2.3/series')).toBe('/dicomweb/studies/1.2.3/series');
  });
});
