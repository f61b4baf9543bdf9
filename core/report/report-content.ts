/**
 * What a radiologist writes: the sections French regulation asks of an imaging report (arrêté of 22/09/2006:
 * justification, procedure, equipment, dose with its units) in the order of the national framework's
 * "compte rendu d'imagerie" (CI-SIS: Indication, Technique, Résultats, Conclusion), a critical-finding
 * communication record, and for tuberculosis screening a coded conclusion with the recommendation for the
 * CLAT (centre de lutte antituberculeuse).
 */
import { z } from 'zod';

export const REPORT_TEMPLATES = ['ct-head-stroke', 'ct-chest-abdomen', 'cxr-tb-screening', 'general'] as const;
export type ReportTemplateId = (typeof REPORT_TEMPLATES)[number];

export const TB_CONCLUSIONS = ['normal', 'suggestive-of-tb', 'other-finding'] as const;
export type TbConclusion = (typeof TB_CONCLUSIONS)[number];

/** Doses are kept as the decimal text read or typed (DICOM DS), so the signed text never depends on float printing. */
const decimal = z.string().trim().regex(/^\d{1,7}(\.\d{1,4})?$/, { error: 'un nombre décimal positif, ex. 12.5' });

export const doseEntrySchema = z.strictObject({
  acquisition: z.string().trim().min(1).max(200),
  /** CTDIvol in mGy. */
  ctdiVolMGy: decimal.optional(),
  /** DLP in mGy·cm. */
  dlpMGyCm: decimal.optional(),
  /** Where the figures were read: dose SR, image headers, or typed by the reader. */
  source: z.enum(['dose-sr', 'image-headers', 'typed']).default('typed'),
});
export type DoseEntry = z.infer<typeof doseEntrySchema>;

const text = (max: number) => z.string().max(max, { error: `au plus ${max} caractères` });

export const criticalFindingSchema = z.strictObject({
  flagged: z.boolean(),
  /** Who was called (name and function), when (ISO 8601 with offset) and how (telephone, in person...). */
  calledWho: text(300).optional(),
  calledAt: z.iso.datetime({ offset: true, error: 'une date et heure ISO 8601 avec décalage, ex. 2026-12-05T03:12:00+01:00' }).optional(),
  how: text(300).optional(),
});
export type CriticalFinding = z.infer<typeof criticalFindingSchema>;

export const reportContentSchema = z.strictObject({
  template: z.enum(REPORT_TEMPLATES).default('general'),
  indication: text(4000).default(''),
  technique: z
    .strictObject({
      equipment: text(500).default(''),
      protocol: text(2000).default(''),
      contrast: text(1000).default(''),
      doses: z.array(doseEntrySchema).max(50).default([]),
    })
    .default({ equipment: '', protocol: '', contrast: '', doses: [] }),
  findings: text(20000).default(''),
  conclusion: text(4000).default(''),
  tbConclusion: z.enum(TB_CONCLUSIONS).optional(),
  recommendation: text(2000).optional(),
  criticalFinding: criticalFindingSchema.optional(),
});
export type ReportContent = z.infer<typeof reportContentSchema>;

/** LOINC section codes (CID 7001 / CI-SIS) and their French titles, in reading order. */
export const REPORT_SECTIONS = [
  { key: 'indication', loinc: '18785-6', meaning: 'Indications for procedure', title: 'Indication' },
  { key: 'technique', loinc: '55111-9', meaning: 'Current imaging procedure descriptions', title: 'Technique' },
  { key: 'findings', loinc: '59776-5', meaning: 'Procedure Findings', title: 'Résultats' },
  { key: 'conclusion', loinc: '19005-8', meaning: 'Impressions', title: 'Conclusion' },
] as const;

/** Coded conclusions of TB screening (a local coding scheme: no national value set exists for them). */
export const TB_CONCLUSION_CODES: Record<TbConclusion, { value: string; scheme: '99ASTREINTE'; meaning: string; label: string }> = {
  normal: { value: 'TB-NORMAL', scheme: '99ASTREINTE', meaning: 'Normal chest radiograph', label: 'Radiographie normale' },
  'suggestive-of-tb': {
    value: 'TB-SUGGESTIVE',
    scheme: '99ASTREINTE',
    meaning: 'Findings suggestive of tuberculosis',
    label: 'Anomalies évocatrices de tuberculose',
  },
  'other-finding': { value: 'TB-OTHER', scheme: '99ASTREINTE', meaning: 'Other finding', label: 'Autre anomalie' },
};

/** The reasons a report cannot be signed yet, in French (the clinician reads them); empty when it can. */
export function signingProblems(content: ReportContent): string[] {
  const problems: string[] = [];
  if (content.indication.trim() === '') problems.push("l'indication est vide");
  if (content.conclusion.trim() === '') problems.push('la conclusion est vide');
  if (content.template === 'cxr-tb-screening') {
    if (!content.tbConclusion) problems.push('le dépistage de la tuberculose demande une conclusion codée (normal, évocateur de tuberculose, autre anomalie)');
    if (content.tbConclusion === 'suggestive-of-tb' && !content.recommendation?.trim()) {
      problems.push('une image évocatrice de tuberculose demande une recommandation pour le CLAT');
    }
  } else if (content.tbConclusion) {
    problems.push('la conclusion codée de tuberculose ne vaut que pour le modèle de dépistage de la tuberculose');
  }
  const critical = content.criticalFinding;
  if (critical?.flagged) {
    const missing = [
      critical.calledWho?.trim() ? undefined : 'qui a été appelé',
      critical.calledAt ? undefined : 'quand',
      critical.how?.trim() ? undefined : 'comment',
    ].filter((m): m is string => m !== undefined);
    if (missing.length > 0) problems.push(`résultat critique signalé : indiquez ${missing.join(', ')} (appel du correspondant)`);
  }
  return problems;
}

/** The technique section as text: equipment, protocol, contrast and each acquisition's dose with units. */
export function techniqueText(content: ReportContent): string {
  const t = content.technique;
  const lines = [
    t.equipment.trim() && `Équipement : ${t.equipment.trim()}`,
    t.protocol.trim() && `Protocole : ${t.protocol.trim()}`,
    t.contrast.trim() && `Produit de contraste : ${t.contrast.trim()}`,
    ...t.doses.map((d) => {
      const figures = [d.ctdiVolMGy && `CTDIvol ${d.ctdiVolMGy} mGy`, d.dlpMGyCm && `PDL ${d.dlpMGyCm} mGy·cm`].filter(Boolean).join(', ');
      // No dash: every character of the generated text is Latin-1, so that French reports are written as ISO_IR 100.
      return `Dose (${d.acquisition}) : ${figures || 'non renseignée'}`;
    }),
  ].filter((line): line is string => Boolean(line));
  return lines.join('\n');
}

/** The conclusion section as text, with the coded TB conclusion, the CLAT recommendation and the critical-finding call. */
export function conclusionText(content: ReportContent): string {
  const lines = [content.conclusion.trim()];
  if (content.tbConclusion) lines.push(`Conclusion codée : ${TB_CONCLUSION_CODES[content.tbConclusion].label}`);
  if (content.recommendation?.trim()) lines.push(`Recommandation pour le CLAT : ${content.recommendation.trim()}`);
  const critical = content.criticalFinding;
  if (critical?.flagged) {
    lines.push(`Résultat critique communiqué à ${critical.calledWho?.trim()} le ${critical.calledAt} (${critical.how?.trim()}).`);
  }
  return lines.filter((l) => l !== '').join('\n');
}

/** Each section's text, in order. */
export function sectionTexts(content: ReportContent): { key: string; loinc: string; meaning: string; title: string; text: string }[] {
  const texts: Record<string, string> = {
    indication: content.indication.trim(),
    technique: techniqueText(content),
    findings: content.findings.trim(),
    conclusion: conclusionText(content),
  };
  return REPORT_SECTIONS.map((s) => ({ ...s, text: texts[s.key] }));
}

/** The whole report as plain text (HL7 OBX, logs of verification). */
export function reportPlainText(content: ReportContent): string {
  return sectionTexts(content)
    .map((s) => `${s.title.toUpperCase()}\n${s.text || '—'}`)
    .join('\n\n');
}
