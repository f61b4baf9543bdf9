/** On-call answers as JSON, times in ISO 8601 with the pool zone's offset (2026-10-25T02:30:00+01:00). */
import { formatInstant } from '../../core/time/wall-time.ts';
import type { OnCallAnswer, ReaderRef, RotaEntryKind } from './resolve-on-call.ts';

export interface OnCallJson {
  pool: string;
  poolName: string;
  poolKind: OnCallAnswer['poolKind'];
  territory: string | null;
  at: string;
  covered: boolean;
  primary: ReaderRef | null;
  backup: ReaderRef | null;
  entry: {
    kind: RotaEntryKind;
    id: string;
    label: string;
    start: string;
    end: string;
    /** Real length of this occurrence in hours (13 or 15 instead of 14 on a DST night). */
    hours: number;
    startDate: string;
    turn?: number;
    holiday?: { date: string; id: string; name: string };
    reason?: string;
  } | null;
  note?: string;
}

export function onCallAnswerToJson(answer: OnCallAnswer): OnCallJson {
  const tz = answer.timezone;
  const e = answer.entry;
  return {
    pool: answer.pool,
    poolName: answer.poolName,
    poolKind: answer.poolKind,
    territory: answer.territory ?? null,
    at: formatInstant(answer.at, tz),
    covered: answer.covered,
    primary: answer.primary,
    backup: answer.backup,
    entry: e
      ? {
          kind: e.kind,
          id: e.id,
          label: e.label,
          start: formatInstant(e.start, tz),
          end: formatInstant(e.end, tz),
          hours: Math.round(((e.end.getTime() - e.start.getTime()) / 3_600_000) * 100) / 100,
          startDate: e.startDate,
          ...(e.turn === undefined ? {} : { turn: e.turn }),
          ...(e.holiday ? { holiday: e.holiday } : {}),
          ...(e.reason === undefined ? {} : { reason: e.reason }),
        }
      : null,
    ...(answer.note === undefined ? {} : { note: answer.note }),
  };
}
