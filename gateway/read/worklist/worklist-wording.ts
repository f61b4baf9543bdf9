/**
 * Phrases shared by the worklist's answers and error messages: who a reader is and when something
 * happened, in the words a radiologist reads at 3 a.m. ("Dr Anne Roques (RPPS 10009000011) since 02:14").
 */
import type { RegionConfig } from '../../../config/region/region-config.ts';
import { formatInstant, localDateOf, sameLocalDate } from '../../../core/time/wall-time.ts';

export function readerLabel(config: RegionConfig, rpps: string): string {
  const name = config.readerByRpps.get(rpps)?.name;
  return name ? `${name} (RPPS ${rpps})` : `the reader with RPPS ${rpps}`;
}

/** The zone an item's times are shown in: its territory's, else the region's. */
export function timeZoneOf(config: RegionConfig, territory: string): string {
  return config.territoryById.get(territory)?.timezone ?? config.region.timezone;
}

/** "02:14" when `instant` is on the same local day as `now`, else "2026-11-21 23:50". */
export function wallClock(instant: Date, now: Date, timeZone: string): string {
  const text = formatInstant(instant, timeZone);
  const time = text.slice(11, 16);
  return sameLocalDate(localDateOf(instant, timeZone), localDateOf(now, timeZone)) ? time : `${text.slice(0, 10)} ${time}`;
}

export function poolLabel(config: RegionConfig, poolId: string): string {
  return config.poolById.get(poolId)?.name ?? poolId;
}
