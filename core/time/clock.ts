/**
 * The one clock all time logic reads. Production uses the system clock; `ASTREINTE_NOW=<ISO time>` starts
 * the clock at that instant and lets it run (rehearsing a night or a holiday rota, training, demos); tests
 * drive a TestClock directly.
 */
import { performance } from 'node:perf_hooks';
import { parseInstant } from './wall-time.ts';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = {
  now: () => new Date(),
};

/** A clock that reads `start` at the moment it is created and then runs at normal speed. */
export function offsetClock(start: Date): Clock {
  const startMs = start.getTime();
  const createdAt = performance.now();
  return {
    now: () => new Date(startMs + Math.floor(performance.now() - createdAt)),
  };
}

/** A clock that only moves when told to. */
export class TestClock implements Clock {
  private ms: number;

  constructor(start: Date | string | number = 0) {
    this.ms = toMs(start);
  }

  now(): Date {
    return new Date(this.ms);
  }

  set(instant: Date | string | number): this {
    this.ms = toMs(instant);
    return this;
  }

  advance(ms: number): this {
    if (!Number.isFinite(ms)) throw new RangeError('advance() needs a finite number of milliseconds');
    this.ms += ms;
    return this;
  }
}

function toMs(instant: Date | string | number): number {
  const ms =
    typeof instant === 'number'
      ? instant
      : typeof instant === 'string'
        ? (parseInstant(instant, DEFAULT_CLOCK_TIME_ZONE)?.getTime() ?? Number.NaN)
        : instant.getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`not an instant: ${String(instant)}`);
  return ms;
}

/** Time zone used to read an ASTREINTE_NOW written without offset (2027-03-29T02:10). */
export const DEFAULT_CLOCK_TIME_ZONE = 'Europe/Paris';

export class ClockConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClockConfigError';
  }
}

/** The clock for this process: offset from ASTREINTE_NOW when set, else the system clock. */
export function createClock(env: NodeJS.ProcessEnv = process.env): Clock {
  const text = env.ASTREINTE_NOW?.trim();
  if (!text) return systemClock;
  const start = parseInstant(text, DEFAULT_CLOCK_TIME_ZONE);
  if (!start) {
    throw new ClockConfigError(
      `ASTREINTE_NOW=${JSON.stringify(text)}: not an ISO 8601 date and time; write for example ` +
        '2027-03-29T02:10:00+02:00 (or without offset, read as Europe/Paris local time), or unset it to use the real time',
    );
  }
  return offsetClock(start);
}
