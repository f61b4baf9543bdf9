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

/** What to write in ASTREINTE_NOW, for the message of a bad value. */
export const CLOCK_START_HINT =
  'not an ISO 8601 date and time; write for example 2027-03-29T02:10:00+02:00 (or without offset, read as ' +
  'Europe/Paris local time), or unset it to use the real time';

/** ASTREINTE_NOW's text as an instant (no offset: Paris time), or undefined when it is not one. */
export function parseClockStart(text: string): Date | undefined {
  return parseInstant(text.trim(), DEFAULT_CLOCK_TIME_ZONE) ?? undefined;
}

/** The clock for this process (settings.clockStart): from that instant on when given, else the system clock. */
export function createClock(start?: Date): Clock {
  return start ? offsetClock(start) : systemClock;
}
