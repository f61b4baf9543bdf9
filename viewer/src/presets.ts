/**
 * CT window presets on keys 1–7 (width/center in HU), the usual CT head windows first. Language-neutral: `label` and
 * `short` are message keys of i18n.ts, looked up by the page (this module is also imported by Node's unit tests,
 * which have no browser storage to read the language from).
 */
export interface WindowPreset {
  label: string;
  /** Shown on its toolbar button beside its key; the full label is the button's title. */
  short: string;
  width: number;
  center: number;
}

export const PRESETS = [
  { label: 'presetBrain', short: 'presetBrainShort', width: 80, center: 40 },
  { label: 'presetStroke', short: 'presetStrokeShort', width: 40, center: 40 },
  { label: 'presetSubdural', short: 'presetSubduralShort', width: 200, center: 75 },
  { label: 'presetSoftTissue', short: 'presetSoftTissueShort', width: 400, center: 40 },
  { label: 'presetLung', short: 'presetLungShort', width: 1500, center: -600 },
  { label: 'presetBone', short: 'presetBoneShort', width: 2500, center: 480 },
  { label: 'presetLiver', short: 'presetLiverShort', width: 150, center: 90 },
] as const satisfies readonly WindowPreset[];
