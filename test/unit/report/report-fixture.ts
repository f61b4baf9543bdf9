import { generateKeyPairSync } from 'node:crypto';
import type { ReportObjectInput } from '../../../core/report/basic-text-sr.ts';
import { reportContentSchema, type ReportContent } from '../../../core/report/report-content.ts';
import type { SignedReportPayload } from '../../../core/report/signed-report.ts';
import type { JsonDataset } from '../../../core/report/study-dose.ts';

/** A source instance's DICOM JSON as the index stores it (French name, ISO_IR 100 source, INS in OtherPatientIDs). */
export const SOURCE: JsonDataset = {
  '00080005': { vr: 'CS', Value: ['ISO_IR 100'] },
  '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] },
  '00080018': { vr: 'UI', Value: ['1.2.826.0.1.3680043.8.498.1001'] },
  '00080020': { vr: 'DA', Value: ['20261205'] },
  '00080030': { vr: 'TM', Value: ['031500'] },
  '00080050': { vr: 'SH', Value: ['ACC-2026-0042'] },
  '00080060': { vr: 'CS', Value: ['CT'] },
  '00080090': { vr: 'PN', Value: [{ Alphabetic: 'Médecin^Urgentiste' }] },
  '00081030': { vr: 'LO', Value: ['Scanner cérébral'] },
  '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Dupré^Hélène^Marie' }] },
  '00100020': { vr: 'LO', Value: ['IPP123456'] },
  '00100021': { vr: 'LO', Value: ['CHSTG'] },
  '00100030': { vr: 'DA', Value: ['19470312'] },
  '00100040': { vr: 'CS', Value: ['F'] },
  '00101002': {
    vr: 'SQ',
    Value: [{ '00100020': { vr: 'LO', Value: ['247037512345678'] }, '00100022': { vr: 'CS', Value: ['TEXT'] }, '00100021': { vr: 'LO', Value: ['1.2.250.1.213.1.4.8'] } }],
  },
  '0020000D': { vr: 'UI', Value: ['1.2.826.0.1.3680043.8.498.1'] },
  '0020000E': { vr: 'UI', Value: ['1.2.826.0.1.3680043.8.498.10'] },
  '00200010': { vr: 'SH', Value: ['42'] },
};

export function content(overrides: Partial<ReportContent> = {}): ReportContent {
  return reportContentSchema.parse({
    template: 'ct-head-stroke',
    indication: 'Déficit brachio-facial gauche depuis 02h30. Alerte thrombolyse.',
    technique: {
      equipment: 'Scanner GE Revolution EVO',
      protocol: 'Scanner cérébral sans injection puis angioscanner',
      contrast: 'Iomeron 350, 60 mL',
      doses: [{ acquisition: 'Crâne sans injection', ctdiVolMGy: '52.3', dlpMGyCm: '845.1', source: 'dose-sr' }],
    },
    findings: "Pas d'hémorragie. Occlusion du segment M1 de l'artère cérébrale moyenne droite. ASPECTS 9/10.",
    conclusion: 'Occlusion M1 droite, pas de contre-indication radiologique à la thrombolyse.',
    criticalFinding: { flagged: true, calledWho: 'Dr Martin, urgentiste', calledAt: '2026-12-05T03:40:00+01:00', how: 'téléphone' },
    ...overrides,
  });
}

export function payload(overrides: Partial<SignedReportPayload> = {}): SignedReportPayload {
  return {
    reportId: '6f1c4c0e-6a43-4b8e-9a55-0c1d2e3f4a5b',
    version: 1,
    kind: 'report',
    originalReportId: null,
    worklistItemId: '0b7c2f7e-1111-4222-8333-944455556666',
    studyInstanceUID: '1.2.826.0.1.3680043.8.498.1',
    accessionNumber: 'ACC-2026-0042',
    patient: { id: 'IPP123456', issuer: 'CHSTG', ins: '247037512345678' },
    author: { rpps: '10009000011', name: 'Dr Anne Roques' },
    signedAt: '2026-12-05T02:45:00.000Z',
    content: content(),
    ...overrides,
  };
}

export function objectInput(p: SignedReportPayload = payload()): ReportObjectInput {
  return {
    payload: p,
    source: SOURCE,
    evidence: [{ seriesInstanceUID: '1.2.826.0.1.3680043.8.498.10', sopClassUID: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUID: '1.2.826.0.1.3680043.8.498.1001' }],
    organisation: 'Téléradiologie Occitanie',
    timeZone: 'Europe/Paris',
    seriesNumber: 9001,
  };
}

export function readerKeys() {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}
