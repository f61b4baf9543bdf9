import { beforeAll, describe, expect, it } from 'vitest';
import { loadRegionConfig } from '../../../config/region/load-region-config.ts';
import type { RegionConfig } from '../../../config/region/region-config.ts';
import { DEFAULT_REGION_CONFIG_PATH } from '../../../config/region/resolve-config-path.ts';
import { classifyExam, type StudyFacts } from '../../../worker/route/classify-exam.ts';

const SAINT_GIRONS = '090000050';
const SEYSSES = '310019351';
const CHU = '310781406';

let config: RegionConfig;
beforeAll(async () => {
  config = await loadRegionConfig(DEFAULT_REGION_CONFIG_PATH);
});

const category = (facts: Partial<StudyFacts>) => {
  const c = classifyExam(config, { site: SAINT_GIRONS, modalities: ['CT'], ...facts });
  return c.kind === 'classified' ? c.category : `excluded: ${c.reason}`;
};

describe('classifyExam', () => {
  it('excludes ultrasound, with the configured reason, even with a structured report', () => {
    const c = classifyExam(config, { site: SAINT_GIRONS, modalities: ['US', 'SR'], bodyPart: 'ABDOMEN' });
    expect(c).toEqual({
      kind: 'excluded',
      excludedModalities: ['US'],
      reason: "US: Ultrasound is excluded from teleradiology; it needs an operator at the patient's side.",
    });
    expect(category({ modalities: ['us'] })).toMatch(/^excluded/);
    // A CT in the same study can still be read remotely.
    expect(category({ modalities: ['CT', 'US'], bodyPart: 'HEAD' })).toBe('neuro');
  });

  it('stroke: flagged by the sender, or named in the description of a CT/MR', () => {
    expect(category({ priorityFlags: ['stroke'] })).toBe('stroke');
    expect(category({ studyDescription: 'TDM cérébrale - ALERTE THROMBOLYSE' })).toBe('stroke');
    expect(category({ modalities: ['MR'], requestedProcedure: 'IRM encéphale filière AVC' })).toBe('stroke');
    expect(category({ modalities: ['CR'], studyDescription: 'AVC ancien, radio thorax' })).toBe('general');
    // Whole words only: "cavc" is not "avc".
    expect(category({ studyDescription: 'CAVC abdominal' })).toBe('general');
  });

  it('chest radiographs from a prison health unit are TB screening', () => {
    expect(category({ site: SEYSSES, modalities: ['CR'], bodyPart: 'CHEST' })).toBe('chest-tb-screening');
    expect(category({ site: SEYSSES, modalities: ['DX'], studyDescription: 'Radio du thorax de face' })).toBe('chest-tb-screening');
    expect(category({ site: SEYSSES, modalities: ['DX'], bodyPart: 'HAND' })).toBe('general');
    // A chest radiograph from a hospital is not screening, unless TB is named.
    expect(category({ modalities: ['CR'], bodyPart: 'CHEST' })).toBe('general');
    expect(category({ modalities: ['CR'], studyDescription: 'Dépistage tuberculose' })).toBe('chest-tb-screening');
  });

  it('cardiac CT and MR', () => {
    expect(category({ site: CHU, bodyPart: 'HEART' })).toBe('cardiac');
    expect(category({ site: CHU, studyDescription: 'Coroscanner', bodyPart: 'CHEST' })).toBe('cardiac');
    expect(category({ site: CHU, modalities: ['MR'], studyDescription: 'IRM cardiaque' })).toBe('cardiac');
    expect(category({ site: CHU, modalities: ['CR'], studyDescription: 'Cœur-poumons' })).toBe('general');
    expect(category({ requestedExpertise: 'cardiovascular-imaging', bodyPart: 'CHEST' })).toBe('cardiac');
  });

  it('neuro: head body parts, neuro words, a neuroradiology or neurosurgery request', () => {
    expect(category({ bodyPart: 'head' })).toBe('neuro');
    expect(category({ studyDescription: 'Scanner cérébral sans injection' })).toBe('neuro');
    expect(category({ studyDescription: 'TDM crâne', modalities: ['CT', 'SR'] })).toBe('neuro');
    expect(category({ requestedExpertise: 'neurosurgery', bodyPart: 'CSPINE' })).toBe('neuro');
    expect(category({ bodyPart: 'ABDOMEN', studyDescription: 'TDM abdomino-pelvienne' })).toBe('general');
  });
});
