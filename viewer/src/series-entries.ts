import { number, text, TAGS, type DicomJson } from './dicom-json.ts';

/** Modalities whose series are shown as images (reports, SR, documents are not). */
const IMAGE_MODALITIES = new Set(['CT', 'CR', 'DX', 'MR', 'NM', 'PT', 'XA', 'RF', 'MG', 'US', 'OT', 'SC', 'PX', 'IO', 'RG']);

export interface SeriesEntry {
  uid: string;
  modality: string;
  number: string;
  description: string;
  count: number;
}

/** The QIDO-RS search for a study's series, with what the reading page shows of each. */
export function seriesSearchPath(study: string): string {
  return `/dicomweb/studies/${study}/series?includefield=00201209&includefield=0008103E&includefield=00200011`;
}

/** The image series of a QIDO-RS answer, by series number: the first is the one the reading page opens. */
export function seriesEntries(seriesJson: DicomJson[]): SeriesEntry[] {
  return seriesJson
    .map((s) => ({
      uid: text(s, TAGS.seriesInstanceUid),
      modality: text(s, TAGS.modality),
      number: text(s, TAGS.seriesNumber),
      description: text(s, TAGS.seriesDescription),
      count: number(s, TAGS.numberOfSeriesRelatedInstances) ?? 0,
    }))
    .filter((s) => IMAGE_MODALITIES.has(s.modality))
    .sort((a, b) => Number(a.number || 0) - Number(b.number || 0));
}
