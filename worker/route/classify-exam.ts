/**
 * Classifies an exam from the facts the sender gives (site, modalities, body part, descriptions, flags,
 * requested expertise): excluded (ultrasound...) with the reason, or one category among stroke, neuro,
 * cardiac, chest-tb-screening, general. Pure: no I/O, no clock.
 */
import { normalizeWords } from '../../config/region/normalize-words.ts';
import type { ExamCategory, Expertise, PriorityFlag, RegionConfig } from '../../config/region/region-config.ts';

export interface StudyFacts {
  /** FINESS of the sending site. */
  site: string;
  /** Modalities in the study (0008,0061), e.g. ['CT'] or ['CR', 'SR']. */
  modalities: string[];
  /** Body Part Examined (0018,0015), e.g. HEAD, CHEST. */
  bodyPart?: string;
  /** Study Description (0008,1030). */
  studyDescription?: string;
  /** Requested Procedure Description (0032,1060). */
  requestedProcedure?: string;
  /** What the sender said: stroke (AVC) alert, urgent, scheduled. */
  priorityFlags?: PriorityFlag[];
  /** Expertise asked for by the sender (a second opinion from a pole). */
  requestedExpertise?: Expertise;
}

export type ExamClassification =
  | { kind: 'excluded'; reason: string; excludedModalities: string[] }
  | { kind: 'classified'; category: ExamCategory; because: string };

/** Objects that are not images: they never decide whether a study can be read remotely. */
const NON_IMAGE_MODALITIES = new Set(['SR', 'KO', 'PR', 'DOC', 'REG', 'SEG', 'FID', 'PLAN', 'RWV', 'AU', 'ECG']);
const CROSS_SECTIONAL = ['CT', 'MR'];
const RADIOGRAPHY = ['CR', 'DX'];

const STROKE_WORDS = [
  'avc',
  'stroke',
  'code stroke',
  'alerte thrombolyse',
  'thrombolyse',
  'thrombolysis',
  'thrombectomie',
  'thrombectomy',
  'filiere avc',
  'unv',
  'accident vasculaire cerebral',
];
const CHEST_WORDS = ['thorax', 'thoracique', 'pulmonaire', 'poumon', 'poumons', 'chest', 'lung', 'rp', 'radio pulmonaire'];
const TB_WORDS = ['tuberculose', 'tuberculosis', 'depistage tuberculose', 'depistage bk', 'bk', 'tb screening'];
const CARDIAC_WORDS = [
  'coroscanner',
  'coronaire',
  'coronaires',
  'coronarien',
  'coronary',
  'cardiaque',
  'cardiac',
  'coeur',
  'heart',
  'score calcique',
  'calcium score',
  'tavi',
  'cardio',
];
const NEURO_WORDS = [
  'crane',
  'cranien',
  'cranienne',
  'cerebral',
  'cerebrale',
  'encephale',
  'encephalique',
  'cerveau',
  'tete',
  'head',
  'brain',
  'skull',
  'neuro',
  'hypophyse',
  'polygone de willis',
];
const CHEST_PARTS = ['CHEST', 'THORAX', 'LUNG'];
const CARDIAC_PARTS = ['HEART', 'CARDIAC', 'CORONARY', 'CORONARYARTERY'];
const NEURO_PARTS = ['HEAD', 'BRAIN', 'SKULL', 'HEADNECK', 'ORBIT', 'IAC', 'SELLA'];

export function classifyExam(config: RegionConfig, facts: StudyFacts): ExamClassification {
  const modalities = [...new Set(facts.modalities.map((m) => m.trim().toUpperCase()).filter(Boolean))];
  const images = modalities.filter((m) => !NON_IMAGE_MODALITIES.has(m));
  const excluded = new Map(config.excludedModalities.map((e) => [e.modality, e.reason]));
  if (images.length > 0 && images.every((m) => excluded.has(m))) {
    return {
      kind: 'excluded',
      excludedModalities: images,
      reason: [...new Set(images.map((m) => `${m}: ${excluded.get(m)}`))].join(' '),
    };
  }

  const text = ` ${normalizeWords(`${facts.studyDescription ?? ''} ${facts.requestedProcedure ?? ''}`)} `;
  const word = (list: string[]) => list.find((w) => text.includes(` ${w} `));
  const part = normalizeBodyPart(facts.bodyPart);
  const has = (list: string[]) => images.some((m) => list.includes(m));
  const classified = (category: ExamCategory, because: string): ExamClassification => ({
    kind: 'classified',
    category,
    because,
  });
  const site = config.siteByFiness.get(facts.site);

  if (facts.priorityFlags?.includes('stroke')) return classified('stroke', 'the sender flagged a stroke (AVC) alert');
  switch (facts.requestedExpertise) {
    case 'neuroradiology':
    case 'neurosurgery':
      return classified('neuro', `the sender asked for ${facts.requestedExpertise} expertise`);
    case 'cardiovascular-imaging':
      return classified('cardiac', 'the sender asked for cardiovascular imaging expertise');
    case 'pneumology':
      if (has(RADIOGRAPHY)) return classified('chest-tb-screening', 'a radiograph sent for a pneumology reading');
      break;
  }
  const stroke = word(STROKE_WORDS);
  if (stroke && has(CROSS_SECTIONAL)) return classified('stroke', `the description mentions "${stroke}"`);

  if (has(RADIOGRAPHY)) {
    const tb = word(TB_WORDS);
    if (tb) return classified('chest-tb-screening', `a radiograph whose description mentions "${tb}"`);
    const chest = part !== undefined && CHEST_PARTS.includes(part) ? `body part ${part}` : word(CHEST_WORDS);
    if (chest && site?.kind === 'prison-health-unit') {
      return classified('chest-tb-screening', `chest radiograph (${chest.startsWith('body part') ? chest : `"${chest}"`}) from a prison health unit`);
    }
  }
  if (has(CROSS_SECTIONAL)) {
    if (part !== undefined && CARDIAC_PARTS.includes(part)) return classified('cardiac', `body part ${part}`);
    const cardiac = word(CARDIAC_WORDS);
    if (cardiac) return classified('cardiac', `the description mentions "${cardiac}"`);
  }
  if (part !== undefined && NEURO_PARTS.includes(part)) return classified('neuro', `body part ${part}`);
  const neuro = word(NEURO_WORDS);
  if (neuro && (images.length === 0 || has([...CROSS_SECTIONAL, ...RADIOGRAPHY, 'XA']))) {
    return classified('neuro', `the description mentions "${neuro}"`);
  }
  return classified('general', 'no stroke, neuro, cardiac or screening sign');
}

/** HEAD, "Head " and "head" are the same body part; DICOM writes it in capitals without spaces. */
export function normalizeBodyPart(bodyPart: string | undefined): string | undefined {
  const part = bodyPart?.toUpperCase().replace(/\s+/g, '');
  return part ? part : undefined;
}
