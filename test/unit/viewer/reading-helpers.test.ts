import { describe, expect, it } from 'vitest';
import { dicomDate, dicomTime, personName } from '../../../viewer/src/dicom-json.ts';
import { orientationMarkers } from '../../../viewer/src/orientation.ts';
import { PRESETS } from '../../../viewer/src/presets.ts';

describe('orientation letters at the edges of a view', () => {
  it('reads an axial slice as on the films: patient right on the left, anterior at the top', () => {
    // Cornerstone's axial camera: view up is anterior (-y in LPS), looking from the feet (+z normal).
    expect(orientationMarkers([0, -1, 0], [0, 0, -1])).toEqual({ left: 'R', right: 'L', top: 'A', bottom: 'P' });
  });

  it('moves the letters with a horizontal flip', () => {
    expect(orientationMarkers([0, -1, 0], [0, 0, 1])).toEqual({ left: 'L', right: 'R', top: 'A', bottom: 'P' });
  });

  it('names both axes of an oblique direction, the stronger first', () => {
    const s = Math.SQRT1_2;
    expect(orientationMarkers([0, -s, s], [1, 0, 0]).top).toBe('AH');
  });
});

describe('overlay text', () => {
  it('writes the family name in capitals and the given names capitalised, accents included', () => {
    expect(personName('SOUM^RAPHAËL')).toBe('SOUM Raphaël');
    expect(personName('dupré^jean-éric')).toBe('DUPRÉ Jean-Éric');
  });

  it('writes DICOM dates and times the French way', () => {
    expect(dicomDate('20261122')).toBe('22/11/2026');
    expect(dicomTime('021000.000')).toBe('02:10');
  });
});

it('keeps the seven CT presets of the reading page on keys 1-7 in the documented order', () => {
  expect(PRESETS.map((p) => [p.width, p.center])).toEqual([
    [80, 40],
    [40, 40],
    [200, 75],
    [400, 40],
    [1500, -600],
    [2500, 480],
    [150, 90],
  ]);
});
