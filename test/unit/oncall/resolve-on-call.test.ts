import { beforeAll, describe, expect, it } from 'vitest';
import { loadRegionConfig, parseRegionConfig } from '../../../config/region/load-region-config.ts';
import type { RegionConfig } from '../../../config/region/region-config.ts';
import { DEFAULT_REGION_CONFIG_PATH } from '../../../config/region/resolve-config-path.ts';
import { onCallAnswerToJson } from '../../../config/oncall/on-call-json.ts';
import {
  onCallAt,
  resolveOnCall,
  UnknownPoolError,
  UnknownTerritoryError,
} from '../../../config/oncall/resolve-on-call.ts';
import { parseInstant } from '../../../core/time/wall-time.ts';

const ROQUES = '10009000011';
const FAURE = '10009000029';
const SOULA = '10009000037';
const BOUSCATEL = '10012000014';
const VIDAL = '10012000022';

let config: RegionConfig;
beforeAll(async () => {
  config = await loadRegionConfig(DEFAULT_REGION_CONFIG_PATH);
});

/** Paris wall time or an instant with offset. */
const at = (text: string) => {
  const instant = parseInstant(text, 'Europe/Paris');
  if (!instant) throw new Error(`bad test instant ${text}`);
  return instant;
};

const who = (pool: string, when: string) => {
  const answer = onCallAnswerToJson(resolveOnCall(config, pool, at(when)));
  return {
    primary: answer.primary?.rpps ?? null,
    backup: answer.backup?.rpps ?? null,
    kind: answer.entry?.kind ?? null,
    id: answer.entry?.id ?? null,
    start: answer.entry?.start ?? null,
    end: answer.entry?.end ?? null,
    hours: answer.entry?.hours ?? null,
  };
};

describe('resolveOnCall on the Midi-Pyrénées rota', () => {
  it('Sunday 02:10 in Ariège: the weekend line (Sat 08:30 -> Mon 08:30)', () => {
    // Weekend starting Sat 14 Nov 2026: 315 days = 45 weeks after the anchor, 45 mod 3 = turn 0 (Soula / Roques).
    const answer = resolveOnCall(config, 'pdses-ariege', at('2026-11-15T02:10'));
    expect(answer.covered).toBe(true);
    expect(answer.primary).toEqual({ rpps: SOULA, name: 'Dr Claire Soula' });
    expect(answer.backup).toEqual({ rpps: ROQUES, name: 'Dr Anne Roques' });
    expect(answer.entry).toMatchObject({ kind: 'weekly-pattern', id: 'weekend', turn: 0, startDate: '2026-11-14' });
    expect(onCallAnswerToJson(answer).entry).toMatchObject({
      start: '2026-11-14T08:30:00+01:00',
      end: '2026-11-16T08:30:00+01:00',
      hours: 48,
    });
  });

  it('weekday 18:29 is the day line, 18:30 and 18:31 the night line', () => {
    // Tuesday 17 Nov 2026: night shift of the week starting 16 Nov, 315 days = 45 weeks -> turn 0 (Roques / Fauré).
    const before = resolveOnCall(config, 'pdses-ariege', at('2026-11-17T18:29'));
    expect(before.covered).toBe(false);
    expect(before.note).toMatch(/no rota entry/);
    expect(who('jour-ariege', '2026-11-17T18:29')).toMatchObject({ kind: 'weekly-pattern', id: 'weekdays' });
    for (const time of ['2026-11-17T18:30', '2026-11-17T18:31']) {
      expect(who('pdses-ariege', time)).toMatchObject({
        primary: ROQUES,
        backup: FAURE,
        kind: 'weekly-pattern',
        id: 'weekday-nights',
        start: '2026-11-17T18:30:00+01:00',
        end: '2026-11-18T08:30:00+01:00',
      });
    }
    expect(resolveOnCall(config, 'jour-ariege', at('2026-11-17T18:31')).covered).toBe(false);
  });

  it('Easter Monday 2027 (29 March) uses the public-holiday rota for 24 h, after a 47 h DST weekend', () => {
    // Holiday turns count weeks from 2026-01-01: 452 days = 64 weeks, 64 mod 3 = 1 (Soula / Fauré).
    const holiday = resolveOnCall(config, 'pdses-ariege', at('2027-03-29T10:00'));
    expect(holiday.entry).toMatchObject({
      kind: 'public-holiday',
      holiday: { date: '2027-03-29', id: 'easter-monday', name: 'Lundi de Pâques' },
      turn: 1,
    });
    expect([holiday.primary?.rpps, holiday.backup?.rpps]).toEqual([SOULA, FAURE]);
    expect(who('pdses-ariege', '2027-03-29T23:00')).toMatchObject({
      kind: 'public-holiday',
      start: '2027-03-29T08:30:00+02:00',
      end: '2027-03-30T08:30:00+02:00',
      hours: 24,
    });
    // Before 08:30 the weekend still runs; it started Sat 27 March in winter time and ends in summer time.
    expect(who('pdses-ariege', '2027-03-29T08:29')).toMatchObject({
      id: 'weekend',
      primary: ROQUES,
      backup: FAURE,
      start: '2027-03-27T08:30:00+01:00',
      end: '2027-03-29T08:30:00+02:00',
      hours: 47,
    });
    const day = resolveOnCall(config, 'jour-ariege', at('2027-03-29T10:00'));
    expect(day.covered).toBe(false);
    expect(day.note).toMatch(/public holidays \(Lundi de Pâques, 2027-03-29\)/);
  });

  it('Whit Monday 2027 (17 May) and Ascension (6 May) are holidays', () => {
    expect(who('pdses-ariege', '2027-05-17T03:00')).toMatchObject({ id: 'weekend' });
    // 501 days after 2026-01-01 = 71 weeks, 71 mod 3 = 2 (Roques / Soula).
    const whit = resolveOnCall(config, 'pdses-ariege', at('2027-05-17T12:00'));
    expect(whit.entry?.holiday?.id).toBe('whit-monday');
    expect([whit.primary?.rpps, whit.backup?.rpps]).toEqual([ROQUES, SOULA]);
    expect(resolveOnCall(config, 'pdses-ariege', at('2027-05-06T11:00')).entry?.holiday?.id).toBe('ascension');
  });

  it('14 July: the night before is a weekday night, the day and the next night the holiday shift', () => {
    expect(who('pdses-ariege', '2026-07-14T07:00')).toMatchObject({ id: 'weekday-nights', primary: ROQUES });
    for (const time of ['2026-07-14T08:30', '2026-07-14T15:00', '2026-07-14T20:00', '2026-07-15T08:29']) {
      // 194 days after 2026-01-01 = 27 weeks, 27 mod 3 = 0 (Fauré / Roques).
      expect(who('pdses-ariege', time)).toMatchObject({ kind: 'public-holiday', primary: FAURE, backup: ROQUES });
    }
    expect(resolveOnCall(config, 'pdses-ariege', at('2026-07-15T08:30')).covered).toBe(false);
    expect(resolveOnCall(config, 'teleradiologie-regionale', at('2026-07-14T10:00')).covered).toBe(false);
  });

  it('DST nights of 2026 and 2027: the weekend lasts 47 h in March and 49 h in October', () => {
    expect(who('pdses-ariege', '2026-03-29T02:30Z')).toMatchObject({ id: 'weekend', hours: 47 });
    expect(who('pdses-ariege', '2027-03-28T03:30+02:00')).toMatchObject({ id: 'weekend', hours: 47 });
    expect(who('pdses-ariege', '2027-10-31T02:30+01:00')).toMatchObject({
      id: 'weekend',
      primary: FAURE,
      backup: SOULA,
      start: '2027-10-30T08:30:00+02:00',
      end: '2027-11-01T08:30:00+01:00',
      hours: 49,
    });
    // 02:30 happens twice on 25 Oct 2026; both instants are in the same weekend shift.
    const first = who('pdses-ariege', '2026-10-25T02:30+02:00');
    const second = who('pdses-ariege', '2026-10-25T02:30+01:00');
    expect(first).toEqual(second);
    expect(first).toMatchObject({ primary: SOULA, hours: 49 });
    // The neuroradiology pole's 24 h day is 23 h on the spring-forward day.
    expect(who('pole-neuroradiologie', '2026-03-29T02:10Z')).toMatchObject({
      id: 'daily-24h',
      start: '2026-03-28T08:30:00+01:00',
      end: '2026-03-29T08:30:00+02:00',
      hours: 23,
    });
  });

  it('a dated assignment overrides the weekly pattern, day and night', () => {
    // The weekly pattern would give Fauré / Soula on Wed 12 Aug 2026; the summer assignment gives Soula / Fauré.
    for (const time of ['2026-08-12T22:00', '2026-08-12T12:00', '2026-08-08T08:30']) {
      expect(who('pdses-ariege', time)).toMatchObject({
        kind: 'dated-assignment',
        id: 'ete-2026',
        primary: SOULA,
        backup: FAURE,
        start: '2026-08-08T08:30:00+02:00',
        end: '2026-08-17T08:30:00+02:00',
      });
    }
    const entry = resolveOnCall(config, 'pdses-ariege', at('2026-08-12T22:00')).entry;
    expect(entry?.reason).toMatch(/Congés/);
    expect(who('pdses-ariege', '2026-08-08T08:29')).toMatchObject({ kind: 'weekly-pattern', id: 'weekday-nights' });
    expect(resolveOnCall(config, 'pdses-ariege', at('2026-08-17T08:30')).covered).toBe(false);
  });

  it("a night shift crossing midnight on New Year's Eve stays the 31 December shift until 08:30", () => {
    // Aveyron: Thursday 31 Dec 2026 is 360 days = 51 weeks after the anchor, 51 mod 3 = 0 (Bouscatel / Vidal).
    for (const time of ['2026-12-31T18:30', '2026-12-31T23:59', '2027-01-01T00:30', '2027-01-01T08:29']) {
      expect(who('pdses-aveyron', time)).toMatchObject({
        kind: 'weekly-pattern',
        id: 'weekday-nights',
        primary: BOUSCATEL,
        backup: VIDAL,
        start: '2026-12-31T18:30:00+01:00',
        end: '2027-01-01T08:30:00+01:00',
      });
    }
    expect(who('pdses-aveyron', '2027-01-01T08:30')).toMatchObject({ kind: 'public-holiday', primary: BOUSCATEL });
    expect(who('pdses-aveyron', '2027-01-02T03:00')).toMatchObject({ kind: 'public-holiday' });
    expect(who('pdses-aveyron', '2027-01-02T09:00')).toMatchObject({ id: 'weekend' });
    // Ariège swapped that night with a dated assignment.
    expect(who('pdses-ariege', '2027-01-01T00:30')).toMatchObject({ id: 'saint-sylvestre-2026', primary: FAURE });
    expect(who('pdses-ariege', '2027-01-01T08:30')).toMatchObject({ kind: 'public-holiday', primary: SOULA });
  });

  it('onCallAt lists every pool, a territory with the regional pools, or one pool', () => {
    const instant = at('2026-11-15T02:10');
    expect(onCallAt(config, instant).map((a) => a.pool)).toEqual(config.pools.map((p) => p.id));
    expect(onCallAt(config, instant, { territory: 'ariege' }).map((a) => a.pool)).toEqual([
      'pdses-ariege',
      'pole-neuroradiologie',
      'pole-cardiovasculaire',
      'pneumologie-joseph-ducuing',
      'jour-ariege',
      'teleradiologie-regionale',
    ]);
    expect(onCallAt(config, instant, { pool: 'pdses-gers' })).toHaveLength(1);
    expect(() => onCallAt(config, instant, { territory: 'corse' })).toThrow(UnknownTerritoryError);
    expect(() => resolveOnCall(config, 'pdses-corse', instant)).toThrow(UnknownPoolError);
  });
});

describe('resolveOnCall across DST on a 20:00-06:00 night line', () => {
  const yaml = `
version: 1
region: { id: test, name: Test }
territories: [{ id: t, name: T }]
sites:
  - { finess: "310000001", name: Site, kind: hospital, territory: t, membership: full }
readers:
  - { rpps: "10000000001", name: Dr A, qualifications: [radiologist], territories: [t] }
  - { rpps: "10000000002", name: Dr B, qualifications: [radiologist], territories: [t] }
pools:
  - { id: nights, name: Nights, kind: pdses, territory: t, members: ["10000000001", "10000000002"] }
  - { id: early, name: Early, kind: daytime-backup, territory: t, members: ["10000000001", "10000000002"] }
rotas:
  - pool: nights
    weekly:
      - id: night
        days: [mon, tue, wed, thu, fri, sat, sun]
        start: "20:00"
        end: "06:00"
        rotation:
          anchor: 2026-03-01
          every: day
          turns:
            - { reader: "10000000001", backup: "10000000002" }
            - { reader: "10000000002", backup: "10000000001" }
  - pool: early
    weekly:
      - { id: sunday-small-hours, days: [sun], start: "02:30", end: "05:00", reader: "10000000001", backup: "10000000002" }
      - { id: saturday-late, days: [sat], start: "22:00", end: "02:30", reader: "10000000002", backup: "10000000001" }
priorities: [{ id: urgent, rank: 1, deadline: 1h }]
`;
  const nightConfig = parseRegionConfig(yaml, 'nights.yaml');
  const night = (instant: string, pool = 'nights') => onCallAnswerToJson(resolveOnCall(nightConfig, pool, new Date(instant)));

  it('the spring-forward night has 9 real hours, the fall-back night 11', () => {
    expect(night('2026-03-29T00:59:59Z').entry).toMatchObject({
      start: '2026-03-28T20:00:00+01:00',
      end: '2026-03-29T06:00:00+02:00',
      hours: 9,
    });
    // 01:00Z is 03:00 CEST, the first instant after the skipped hour: same shift.
    expect(night('2026-03-29T01:00:00Z').entry?.start).toBe('2026-03-28T20:00:00+01:00');
    expect(night('2026-03-29T03:59:59Z').covered).toBe(true);
    expect(night('2026-03-29T04:00:00Z').covered).toBe(false);
    expect(night('2026-10-25T00:30:00Z').entry).toMatchObject({
      start: '2026-10-24T20:00:00+02:00',
      end: '2026-10-25T06:00:00+01:00',
      hours: 11,
    });
    expect(night('2026-10-25T01:30:00Z').entry?.hours).toBe(11);
    expect(night('2027-03-28T01:00:00Z').entry?.hours).toBe(9);
    expect(night('2027-10-31T01:00:00Z').entry?.hours).toBe(11);
    expect(night('2026-04-01T23:00:00Z').entry?.hours).toBe(10);
  });

  it('rotates daily by the local date the shift started on', () => {
    // 28 March is 27 days after 1 March (turn 1), 29 March 28 days (turn 0).
    expect(night('2026-03-29T00:30:00Z').primary?.rpps).toBe('10000000002');
    expect(night('2026-03-29T19:00:00Z').primary?.rpps).toBe('10000000001');
  });

  it('a shift starting in the skipped hour starts when the clocks read 03:30, when the one before ends', () => {
    expect(night('2026-03-29T01:20:00Z', 'early').entry).toMatchObject({
      id: 'saturday-late',
      end: '2026-03-29T03:30:00+02:00',
    });
    expect(night('2026-03-29T01:30:00Z', 'early').entry).toMatchObject({
      start: '2026-03-29T03:30:00+02:00',
      end: '2026-03-29T05:00:00+02:00',
    });
  });

  it('a shift ending in the repeated hour ends at its first occurrence', () => {
    expect(night('2026-10-25T00:29:00Z', 'early').entry).toMatchObject({ id: 'saturday-late', end: '2026-10-25T02:30:00+02:00' });
    expect(night('2026-10-25T00:30:00Z', 'early').entry).toMatchObject({ id: 'sunday-small-hours', start: '2026-10-25T02:30:00+02:00' });
    expect(night('2026-10-25T03:59:00Z', 'early').entry).toMatchObject({ id: 'sunday-small-hours', end: '2026-10-25T05:00:00+01:00' });
    expect(night('2026-10-25T04:00:00Z', 'early').covered).toBe(false);
  });
});
