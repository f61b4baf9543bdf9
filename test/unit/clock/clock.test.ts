import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../core/configuration-error.ts';
import { createClock as createClockOf, systemClock, TestClock } from '../../../core/time/clock.ts';
import { loadSettings } from '../../../config/settings.ts';

/** The clock the settings read from this environment give. */
const createClock = (env: NodeJS.ProcessEnv) => createClockOf(loadSettings(env).clockStart);

describe('clock', () => {
  it('uses the system clock when ASTREINTE_NOW is not set', () => {
    const clock = createClock({});
    expect(clock).toBe(systemClock);
    expect(Math.abs(clock.now().getTime() - Date.now())).toBeLessThan(1000);
  });

  it('starts at ASTREINTE_NOW and keeps running', async () => {
    const clock = createClock({ ASTREINTE_NOW: '2026-03-29T02:10:00+02:00' });
    const first = clock.now().getTime();
    expect(first - Date.parse('2026-03-29T00:10:00Z')).toBeLessThan(1000);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const elapsed = clock.now().getTime() - first;
    expect(elapsed).toBeGreaterThanOrEqual(25);
    expect(elapsed).toBeLessThan(1000);
  });

  it('reads an ASTREINTE_NOW without offset as Paris time', () => {
    const clock = createClock({ ASTREINTE_NOW: '2027-03-29T02:10' });
    expect(Math.abs(clock.now().getTime() - Date.parse('2027-03-29T00:10:00Z'))).toBeLessThan(1000);
  });

  it('refuses an ASTREINTE_NOW that is not a date and time, saying what to write', () => {
    expect(() => createClock({ ASTREINTE_NOW: 'sunday night' })).toThrow(ConfigurationError);
    expect(() => createClock({ ASTREINTE_NOW: 'sunday night' })).toThrow(/2027-03-29T02:10:00\+02:00/);
  });

  it('test clock moves only when told', () => {
    const clock = new TestClock('2026-07-14T10:00:00+02:00');
    expect(clock.now().toISOString()).toBe('2026-07-14T08:00:00.000Z');
    clock.advance(30 * 60_000);
    expect(clock.now().toISOString()).toBe('2026-07-14T08:30:00.000Z');
    clock.set(new Date('2027-01-01T00:00:00Z'));
    expect(clock.now().toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(() => clock.set('not a date')).toThrow(RangeError);
  });
});
