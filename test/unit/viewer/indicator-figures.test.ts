import { describe, expect, it } from 'vitest';
import { CSV_COLUMNS } from '../../../gateway/account/indicators-route.ts';
import { STEPS as SERVER_STEPS } from '../../../storage/indicators/programme-indicators.ts';
import { csvCell, FIGURE_COLUMNS, nextDay, previousDay, STEPS, type SiteFigures } from '../../../viewer/src/indicator-figures.ts';

const SITE: SiteFigures = {
  site: '090000050',
  name: 'CH Ariège Couserans, "Saint-Girons"',
  territory: 'ariege',
  membership: 'full',
  interpretations: { urgent: 3, nonUrgent: 4, total: 7 },
  hourly: Array.from({ length: 24 }, (_, h) => h * 2),
  archived: { studies: 5, instances: 812, bytes: 123_456_789_012 },
  expertOpinions: { asked: 2, answered: 1, transferAdvised: 1, transferAvoided: 0, thrombolysisIndicated: 1 },
  tbScreening: { read: 3, readDelayMedianMinutes: 42.5, readDelayP90Minutes: null },
  steps: Object.fromEntries(SERVER_STEPS.map((step, i) => [step, { count: i, medianSeconds: i === 0 ? null : i * 61.5, p90Seconds: i * 100 }])) as SiteFigures['steps'],
};

describe("the dashboard's copy of the indicators' CSV", () => {
  it('has every CSV column, in order, with the same value for a site', () => {
    expect(STEPS).toEqual(SERVER_STEPS);
    expect(FIGURE_COLUMNS.map((c) => c.csv)).toEqual(CSV_COLUMNS.map(([name]) => name));
    const server = CSV_COLUMNS.map(([, get]) => {
      const v = get(SITE);
      return v === null ? '' : csvCell(v);
    });
    expect(FIGURE_COLUMNS.map((c) => csvCell(c.value(SITE)))).toEqual(server);
  });

  it('turns the last day included of the picker into the exclusive end the API reads, across months and years', () => {
    expect(nextDay('2026-11-30')).toBe('2026-12-01');
    expect(nextDay('2026-12-31')).toBe('2027-01-01');
    expect(nextDay('2028-02-28')).toBe('2028-02-29');
    expect(previousDay('2026-03-01')).toBe('2026-02-28');
  });
});
