/** CT window presets on keys 1–7 (width/center in HU), the usual CT head windows first. */
export interface WindowPreset {
  label: string;
  width: number;
  center: number;
}

export const PRESETS: readonly WindowPreset[] = [
  { label: 'Cerveau', width: 80, center: 40 },
  { label: 'AVC', width: 40, center: 40 },
  { label: 'Sous-dural', width: 200, center: 75 },
  { label: 'Tissus mous', width: 400, center: 40 },
  { label: 'Poumon', width: 1500, center: -600 },
  { label: 'Os', width: 2500, center: 480 },
  { label: 'Foie', width: 150, center: 90 },
];
