import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { REPORT_TEMPLATES, TB_CONCLUSIONS as CORE_TB_CONCLUSIONS } from '../../../core/report/report-content.ts';
import { signatureFingerprint as pdfFingerprint } from '../../../core/report/signed-report.ts';
import { DELIVERY_STATUSES } from '../../../storage/report/report-store.ts';
import {
  DELIVERY_LABELS,
  parisIsoFromLocal,
  parisLocal,
  signatureFingerprint,
  TB_CONCLUSIONS,
  TEMPLATES,
} from '../../../viewer/src/report-content.ts';

describe("the page's copy of the report's shape", () => {
  it('offers exactly the templates, coded TB conclusions and delivery statuses the server knows', () => {
    expect(TEMPLATES.map((t) => t.id)).toEqual([...REPORT_TEMPLATES]);
    expect(TB_CONCLUSIONS.map((c) => c.id)).toEqual([...CORE_TB_CONCLUSIONS]);
    expect(Object.keys(DELIVERY_LABELS).sort()).toEqual([...DELIVERY_STATUSES].sort());
  });

  it('shows the same signature fingerprint as the PDF prints', async () => {
    for (let i = 0; i < 20; i++) {
      const signature = randomBytes(64).toString('base64url');
      expect(await signatureFingerprint(signature)).toBe(pdfFingerprint(signature));
    }
  });
});

describe('the critical-finding call time, typed in Paris wall time', () => {
  it('carries the offset of winter and of summer time', () => {
    expect(parisIsoFromLocal('2026-11-22T02:15')).toBe('2026-11-22T02:15:00+01:00');
    expect(parisIsoFromLocal('2026-07-14T23:40')).toBe('2026-07-14T23:40:00+02:00');
  });

  it('takes the offset of the true instant on both sides of the changes of time', () => {
    // 29 March 2026: 02:00 CET becomes 03:00 CEST; 25 October 2026: 03:00 CEST becomes 02:00 CET.
    expect(parisIsoFromLocal('2026-03-29T01:30')).toBe('2026-03-29T01:30:00+01:00');
    expect(parisIsoFromLocal('2026-03-29T03:30')).toBe('2026-03-29T03:30:00+02:00');
    expect(parisIsoFromLocal('2026-10-25T01:30')).toBe('2026-10-25T01:30:00+02:00');
    expect(parisIsoFromLocal('2026-10-25T03:30')).toBe('2026-10-25T03:30:00+01:00');
  });

  it('gives nothing for an incomplete value, and reads an instant back as Paris wall time', () => {
    expect(parisIsoFromLocal('')).toBeUndefined();
    expect(parisIsoFromLocal('2026-11-22')).toBeUndefined();
    expect(parisLocal('2026-11-22T01:15:00Z')).toBe('2026-11-22T02:15');
    expect(parisLocal('2026-07-14T21:40:00Z')).toBe('2026-07-14T23:40');
    for (const local of ['2026-11-22T02:15', '2026-07-14T23:40', '2026-03-29T03:30']) expect(parisLocal(parisIsoFromLocal(local)!)).toBe(local);
  });
});
