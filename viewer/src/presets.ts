/** CT window presets on keys 1–7 (width/center in HU), the usual CT head windows first. */
export interface WindowPreset {
  label: string;
  /** Shown on its toolbar button beside its key; the full label is the button's title. */
  short: string;
  width: number;
  center: number;
}

export const PRESETS: readonly WindowPreset[] = [
  { label: 'Cerveau', short: 'Cerveau', width: 80, center: 40 },
  { label: 'AVC', short: 'AVC', width: 40, center: 40 },
  { label: 'Sous-dural', short: 'S-dural', width: 200, center: 75 },
  { label: 'Tissus mous', short: 'Mous', width: 400, center: 40 },
  { label: 'Poumon', short: 'Poumon', width: 1500, center: -600 },
  { label: 'Os', short: 'Os', width: 2500, center: 480 },
  { label: 'Foie', short: 'Foie', width: 150, center: 90 },
];
