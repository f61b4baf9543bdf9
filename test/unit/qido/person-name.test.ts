import { describe, expect, it } from 'vitest';
import { foldAccents, fuzzyQueryWords, personNameTokens, personNameUpper, personNameWords } from '../../../storage/index/person-name.ts';
import { isDicomDate, timeBounds } from '../../../storage/index/dicom-values.ts';

describe('person name forms', () => {
  it('upper-cases and drops trailing empty components and groups', () => {
    expect(personNameUpper('Dupré^Élodie^^^')).toBe('DUPRÉ^ÉLODIE');
    expect(personNameUpper('Yamada^Tarou=山田^太郎=')).toBe('YAMADA^TAROU=山田^太郎');
  });

  it('folds accents and ligatures', () => {
    expect(foldAccents('Dupré Élodie Lévêque Noël Françoise Cœur Ærø')).toBe('DUPRE ELODIE LEVEQUE NOEL FRANCOISE COEUR AERO');
  });

  it('tokenises components and words, with joined forms', () => {
    expect(personNameTokens("D'Artagnan^Jean-Pierre")).toEqual(['DARTAGNAN', 'D', 'ARTAGNAN', 'JEANPIERRE', 'JEAN', 'PIERRE']);
    expect(personNameTokens('DUPRÉ^Élodie')).toEqual(['DUPRE', 'ELODIE']);
    expect(personNameWords('MARTIN^Jean')).toBe(' MARTIN JEAN ');
  });

  it('splits fuzzy queries into folded words, keeping wildcards', () => {
    expect(fuzzyQueryWords('dupré^élo*')).toEqual(['DUPRE', 'ELO*']);
    expect(fuzzyQueryWords('jean-pierre')).toEqual(['JEAN', 'PIERRE']);
    expect(fuzzyQueryWords('*')).toEqual([]);
  });
});

describe('DICOM values', () => {
  it('gives the bounds of partial times', () => {
    expect(timeBounds('1015')).toEqual({ from: '101500.000000', to: '101559.999999' });
    expect(timeBounds('101530.25')).toEqual({ from: '101530.250000', to: '101530.259999' });
    expect(timeBounds('10:15:30')).toEqual({ from: '101530.000000', to: '101530.999999' });
    expect(timeBounds('2500')).toBeUndefined();
    expect(timeBounds('abc')).toBeUndefined();
  });

  it('recognises real calendar dates only', () => {
    expect(isDicomDate('20240229')).toBe(true);
    expect(isDicomDate('20230229')).toBe(false);
    expect(isDicomDate('2024-01-01')).toBe(false);
  });
});
