import { describe, expect, it } from 'vitest';
import { BULKDATA_ROOT_PLACEHOLDER } from '../../../core/dicom/parsed-instance.ts';
import { metadataDocument } from '../../../gateway/read/retrieve/metadata-document.ts';

const P = BULKDATA_ROOT_PLACEHOLDER;
const root = 'https://pacs.example/dicomweb';

/** What the route answered before: one string, joined and replaced. */
const reference = (texts: string[], base: string) => `[${texts.join(',')}]`.replaceAll(P, base);

describe('metadataDocument', () => {
  it('joins the stored texts into one JSON array and puts the DICOMweb root in every BulkDataURI', () => {
    const texts = [
      JSON.stringify({ '7FE00010': { vr: 'OW', BulkDataURI: `${P}/studies/1/series/2/instances/3/bulkdata/7FE00010` } }),
      JSON.stringify({ '00100010': { vr: 'PN', Value: [{ Alphabetic: 'DUPR\\u00c9^\\u00c9lodie' }] } }),
      JSON.stringify({ a: `${P}${P}`, b: `x${P}` }),
    ];
    const document = metadataDocument(texts, root);
    expect(document.toString('utf8')).toBe(reference(texts, root));
    const parsed = JSON.parse(document.toString('utf8')) as Record<string, { BulkDataURI?: string }>[];
    expect(parsed).toHaveLength(3);
    expect(parsed[0]['7FE00010'].BulkDataURI).toBe(`${root}/studies/1/series/2/instances/3/bulkdata/7FE00010`);
  });

  it('keeps texts that are not ASCII byte for byte (UTF-8), and an empty list is []', () => {
    const texts = [JSON.stringify({ name: 'DUPRÉ^Élodie', uri: `${P}/x` }), JSON.stringify({ kanji: '山田^太郎' })];
    expect(metadataDocument(texts, 'http://hôte/dicomweb').toString('utf8')).toBe(reference(texts, 'http://hôte/dicomweb'));
    expect(metadataDocument([], root).toString('utf8')).toBe('[]');
    expect(metadataDocument(['{}'], root).toString('utf8')).toBe('[{}]');
  });
});
