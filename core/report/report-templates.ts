/**
 * Report templates per exam: the text a draft starts from. The reader edits everything; a template only saves
 * typing and reminds what the exam's report must say (dose for CT, the coded conclusion for TB screening).
 */
import { reportContentSchema, type DoseEntry, type ReportContent, type ReportTemplateId } from './report-content.ts';

export interface ReportTemplate {
  id: ReportTemplateId;
  label: string;
  start: Omit<ReportContent, 'template'>;
}

const empty = (): Omit<ReportContent, 'template'> => {
  const { template: _template, ...rest } = reportContentSchema.parse({});
  return rest;
};

export const REPORT_TEMPLATE_LIST: readonly ReportTemplate[] = [
  {
    id: 'ct-head-stroke',
    label: 'Scanner cérébral – alerte AVC',
    start: {
      ...empty(),
      indication: 'Alerte thrombolyse : déficit neurologique aigu. Heure de début des symptômes : ',
      technique: {
        equipment: '',
        protocol: 'Scanner cérébral sans injection, angioscanner des troncs supra-aortiques et du polygone de Willis, perfusion cérébrale',
        contrast: '',
        doses: [],
      },
      findings:
        "Parenchyme : pas d'hémorragie intracrânienne. Score ASPECTS : /10.\nOcclusion artérielle : \nPerfusion : \nAutres : ",
      conclusion: '',
    },
  },
  {
    id: 'ct-chest-abdomen',
    label: 'Scanner thoraco-abdomino-pelvien',
    start: {
      ...empty(),
      technique: { equipment: '', protocol: 'Acquisition thoraco-abdomino-pelvienne au temps portal', contrast: '', doses: [] },
      findings: 'Étage thoracique : \nÉtage abdominal : \nPelvis : \nOs : ',
    },
  },
  {
    id: 'cxr-tb-screening',
    label: 'Radiographie thoracique – dépistage de la tuberculose',
    start: {
      ...empty(),
      indication: 'Dépistage de la tuberculose (programme régional, CLAT).',
      technique: { equipment: '', protocol: 'Radiographie thoracique de face', contrast: '', doses: [] },
      findings: 'Parenchyme pulmonaire : \nMédiastin et hiles : \nPlèvre : ',
    },
  },
  { id: 'general', label: 'Compte rendu général', start: empty() },
];

/** The template for an exam of this category, modality and body part (the routing's classification). */
export function templateIdFor(exam: { category: string; modality: string; bodyPart: string | null }): ReportTemplateId {
  if (exam.category === 'stroke') return 'ct-head-stroke';
  if (exam.category === 'chest-tb-screening') return 'cxr-tb-screening';
  const part = (exam.bodyPart ?? '').toUpperCase();
  if (exam.modality === 'CT' && /CHEST|THORAX|ABDOMEN|PELVIS|TAP|CAP/.test(part)) return 'ct-chest-abdomen';
  return 'general';
}

/** A first draft: the template's text, with the doses found in the study filled in. */
export function startingContent(id: ReportTemplateId, doses: readonly DoseEntry[] = []): ReportContent {
  const template = REPORT_TEMPLATE_LIST.find((t) => t.id === id) ?? REPORT_TEMPLATE_LIST[REPORT_TEMPLATE_LIST.length - 1];
  return { ...structuredClone(template.start), template: template.id, technique: { ...template.start.technique, doses: [...doses] } };
}
