import { describe, expect, it } from 'vitest';
import { keywordForTag, normalizeTag, tagForKeyword, vrForTag } from '../../../core/dicom/dicom-dictionary.ts';

describe('dicom-dictionary', () => {
  it('keyword -> tag', () => {
    expect(tagForKeyword('PatientName')).toBe('00100010');
    expect(tagForKeyword('StudyInstanceUID')).toBe('0020000D');
    expect(tagForKeyword('ModalitiesInStudy')).toBe('00080061');
    expect(tagForKeyword('OtherPatientIDs')).toBe('00101000'); // retired, found by its plain keyword
    expect(tagForKeyword('RETIRED_OtherPatientIDs')).toBeUndefined();
    expect(tagForKeyword('patientname')).toBeUndefined();
    expect(tagForKeyword('NoSuchKeyword')).toBeUndefined();
  });

  it('tag -> keyword', () => {
    expect(keywordForTag('00100010')).toBe('PatientName');
    expect(keywordForTag('0020000d')).toBe('StudyInstanceUID');
    expect(keywordForTag('(0008,0050)')).toBe('AccessionNumber');
    expect(keywordForTag('00101000')).toBe('OtherPatientIDs');
    expect(keywordForTag('00091010')).toBeUndefined();
    expect(keywordForTag('nonsense')).toBeUndefined();
  });

  it('tag -> VR, pseudo-VRs resolved', () => {
    expect(vrForTag('00100010')).toBe('PN');
    expect(vrForTag('00080020')).toBe('DA');
    expect(vrForTag('00101002')).toBe('SQ');
    expect(vrForTag('7FE00010')).toBe('OW');
    expect(vrForTag('00280106')).toBe('US');
    expect(vrForTag('00283006')).toBe('OW');
    expect(vrForTag('60003000')).toBe('OW');
    expect(vrForTag('00080000')).toBe('UL');
    expect(vrForTag('00090010')).toBe('LO');
    expect(vrForTag('00091010')).toBeUndefined();
    expect(vrForTag('FFFEE000')).toBeUndefined();
  });

  it('normalizes tags', () => {
    expect(normalizeTag('(0010,0010)')).toBe('00100010');
    expect(normalizeTag('0010,0010')).toBe('00100010');
    expect(normalizeTag('7fe00010')).toBe('7FE00010');
    expect(normalizeTag('PatientName')).toBeUndefined();
  });
});
