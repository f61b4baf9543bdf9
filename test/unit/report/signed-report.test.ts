import { describe, expect, it } from 'vitest';
import { reportContentSchema, signingProblems } from '../../../core/report/report-content.ts';
import { canonicalText, jwkThumbprint, signPayload, verifyPayload } from '../../../core/report/signed-report.ts';
import { studyDoses } from '../../../core/report/study-dose.ts';
import { startingContent, templateIdFor } from '../../../core/report/report-templates.ts';
import { content, payload, readerKeys } from './report-fixture.ts';

describe('report signature (ECDSA P-256 over the canonical text)', () => {
  it('verifies with the public JWK, and fails when any signed field changes', () => {
    const { privateKey, publicKey } = readerKeys();
    const jwk = publicKey.export({ format: 'jwk' });
    const p = payload();
    const signature = signPayload(p, privateKey);
    expect(Buffer.from(signature, 'base64url')).toHaveLength(64);
    expect(verifyPayload(p, signature, jwk)).toBe(true);
    // Key order (as jsonb gives it back) does not matter; content does.
    const { content: signedContent, ...rest } = p;
    const reordered = JSON.parse(JSON.stringify({ content: signedContent, ...rest }));
    expect(verifyPayload(reordered, signature, jwk)).toBe(true);
    expect(verifyPayload({ ...p, content: { ...p.content, conclusion: 'Normal.' } }, signature, jwk)).toBe(false);
    expect(verifyPayload({ ...p, patient: { ...p.patient, ins: null } }, signature, jwk)).toBe(false);
    expect(verifyPayload(p, signPayload(p, readerKeys().privateKey), jwk)).toBe(false);
    expect(jwkThumbprint(jwk)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses floats in the canonical text (doses are decimal text)', () => {
    expect(() => canonicalText({ dose: 12.5 })).toThrow(/safe integers only/);
    expect(canonicalText({ b: 1, a: ['x', null] })).toBe('{"a":["x",null],"b":1}');
  });
});

describe('what a report needs before signing', () => {
  it('a critical finding needs who was called, when and how', () => {
    const c = content({ criticalFinding: { flagged: true, calledWho: 'Dr Martin' } });
    expect(signingProblems(c)).toEqual(['résultat critique signalé : indiquez quand, comment (appel du correspondant)']);
    expect(signingProblems(content())).toEqual([]);
  });

  it('TB screening needs its coded conclusion, and a CLAT recommendation when TB is suggested', () => {
    const tb = content({ template: 'cxr-tb-screening', criticalFinding: undefined });
    expect(signingProblems(tb)[0]).toMatch(/conclusion codée/);
    expect(signingProblems({ ...tb, tbConclusion: 'suggestive-of-tb' })).toEqual(['une image évocatrice de tuberculose demande une recommandation pour le CLAT']);
    expect(signingProblems({ ...tb, tbConclusion: 'normal' })).toEqual([]);
    expect(signingProblems(reportContentSchema.parse({}))).toEqual(["l'indication est vide", 'la conclusion est vide']);
  });

  it('templates follow the exam, and a draft starts with the doses found', () => {
    expect(templateIdFor({ category: 'stroke', modality: 'CT', bodyPart: 'HEAD' })).toBe('ct-head-stroke');
    expect(templateIdFor({ category: 'chest-tb-screening', modality: 'CR', bodyPart: 'CHEST' })).toBe('cxr-tb-screening');
    expect(templateIdFor({ category: 'general', modality: 'CT', bodyPart: 'ABDOMEN' })).toBe('ct-chest-abdomen');
    const start = startingContent('ct-head-stroke', [{ acquisition: 'Crâne', ctdiVolMGy: '50', source: 'image-headers' }]);
    expect(start.technique.doses).toHaveLength(1);
    expect(start.findings).toContain('ASPECTS');
  });
});

describe('dose from the study', () => {
  const ct = (series: string, ctdi: number) => ({
    '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] },
    '00080060': { vr: 'CS', Value: ['CT'] },
    '0020000E': { vr: 'UI', Value: [series] },
    '0008103E': { vr: 'LO', Value: [`Série ${series}`] },
    '00189345': { vr: 'FD', Value: [ctdi] },
  });
  const num = (codeValue: string, value: string) => ({
    '0040A043': { vr: 'SQ', Value: [{ '00080100': { vr: 'SH', Value: [codeValue] } }] },
    '0040A300': { vr: 'SQ', Value: [{ '0040A30A': { vr: 'DS', Value: [value] } }] },
  });
  it('reads CTDIvol per series from image headers', () => {
    expect(studyDoses([ct('1', 52.345), ct('1', 52.345), ct('2', 10)])).toEqual([
      { acquisition: 'Série 1', ctdiVolMGy: '52.35', source: 'image-headers' },
      { acquisition: 'Série 2', ctdiVolMGy: '10', source: 'image-headers' },
    ]);
  });
  it('prefers the dose SR: CTDIvol and DLP of each CT acquisition', () => {
    const sr = {
      '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.88.67'] },
      '0040A730': {
        vr: 'SQ',
        Value: [
          {
            '0040A043': { vr: 'SQ', Value: [{ '00080100': { vr: 'SH', Value: ['113819'] } }] },
            '0040A730': {
              vr: 'SQ',
              Value: [
                { '0040A043': { vr: 'SQ', Value: [{ '00080100': { vr: 'SH', Value: ['125203'] } }] }, '0040A160': { vr: 'UT', Value: ['Head 5mm'] } },
                { '0040A730': { vr: 'SQ', Value: [num('113830', '48.7'), num('113838', '812.04')] } },
              ],
            },
          },
        ],
      },
    };
    expect(studyDoses([ct('1', 52), sr])).toEqual([{ acquisition: 'Head 5mm', ctdiVolMGy: '48.7', dlpMGyCm: '812.04', source: 'dose-sr' }]);
  });
});
