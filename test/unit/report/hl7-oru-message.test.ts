import { describe, expect, it } from 'vitest';
import { buildOruR01, hl7DateTime, hl7Escape, parseAck } from '../../../worker/deliver/hl7-oru-message.ts';
import { content, payload } from './report-fixture.ts';

describe('ORU^R01 v2.5.1', () => {
  const message = buildOruR01({
    payload: payload({ content: content({ template: 'cxr-tb-screening', tbConclusion: 'suggestive-of-tb', recommendation: 'CLAT 31 | sous 48 h' }) }),
    controlId: 'CTRL0001',
    sendingFacility: 'midi-pyrenees',
    receivingApplication: 'XPLORE',
    receivingFacility: '090000050',
    pdf: Buffer.from('%PDF-1.3 test'),
    patientName: 'Dupré^Hélène^Marie',
    patientBirthDate: '19470312',
    patientSex: 'F',
    timeZone: 'Europe/Paris',
    now: new Date('2026-12-05T02:46:00Z'),
  });
  const segments = message.split('\r').filter(Boolean);
  const fields = (name: string) => segments.filter((s) => s.startsWith(`${name}|`)).map((s) => s.split('|'));

  it('has the header, the identity with the INS and the author by RPPS', () => {
    expect(segments[0]).toBe('MSH|^~\\&|ASTREINTE|midi-pyrenees|XPLORE|090000050|20261205034600+0100||ORU^R01^ORU_R01|CTRL0001|P|2.5.1|||AL|NE||UNICODE UTF-8|FRA');
    expect(fields('PID')[0][3]).toBe('IPP123456^^^CHSTG^PI~247037512345678^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS');
    expect(fields('PID')[0][5]).toBe('Dupré^Hélène^^^^^L');
    const obr = fields('OBR')[0];
    expect(obr[4]).toBe('18748-4^Diagnostic imaging report^LN');
    expect([obr[7], obr[22], obr[24], obr[25]]).toEqual(['20261205034500+0100', '20261205034500+0100', 'RAD', 'F']);
    expect(fields('OBR')[0][32]).toBe('10009000011^Roques^Anne^^^^^^ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO^D^^^RPPS');
  });

  it('carries each section (escaped), the coded conclusion, the study and the PDF', () => {
    const obx = fields('OBX');
    expect(obx.map((f) => f[3].split('^')[0])).toEqual(['18785-6', '55111-9', '59776-5', '19005-8', '121077', '110180', '18748-4']);
    expect(obx[3][5]).toContain('Recommandation pour le CLAT : CLAT 31 \\F\\ sous 48 h');
    expect(obx[1][5]).toContain('\\.br\\');
    expect(obx[4][5]).toBe('TB-SUGGESTIVE^Findings suggestive of tuberculosis^99ASTREINTE');
    expect(obx[6][5]).toBe(`^AP^PDF^Base64^${Buffer.from('%PDF-1.3 test').toString('base64')}`);
    expect(obx.every((f) => f[11] === 'F')).toBe(true);
  });

  it('escapes the delimiters and reads ACKs', () => {
    expect(hl7Escape('a|b^c&d~e\\f\ng')).toBe('a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\g');
    expect(hl7DateTime(new Date('2026-07-01T10:00:00Z'), 'Europe/Paris')).toBe('20260701120000+0200');
    expect(parseAck('MSH|^~\\&|RIS\rMSA|AE|CTRL0001|busy\r', 'CTRL0001')).toEqual({ code: 'AE', text: 'busy', matches: true });
    expect(parseAck('MSH|^~\\&|RIS\rMSA|AA|OTHER\r', 'CTRL0001').matches).toBe(false);
    expect(parseAck('MSH|^~\\&|RIS\r', 'CTRL0001').code).toBe('');
  });
});
