/**
 * Chooses, among a rule's candidate pools, the one that gets the item at an instant: the first with
 * someone on call. When none has (a scheduled exam at night on daytime lines), the item is held in the
 * first candidate's list without an assignee until someone claims it or escalation moves it.
 */
import type { RegionConfig } from '../../config/region/region-config.ts';
import { resolveOnCall, type OnCallAnswer } from '../../config/oncall/resolve-on-call.ts';

export interface PoolChoice {
  pool: string;
  /** Who is on call in `pool` at that instant (covered false when held). */
  onCall: OnCallAnswer;
  /** Every candidate looked at, in order, and whether someone was on call there. */
  considered: { pool: string; covered: boolean; note?: string }[];
  /** True when no candidate had anyone on call: the item waits in `pool` without an assignee. */
  held: boolean;
}

export function choosePool(config: RegionConfig, candidates: readonly string[], at: Date): PoolChoice {
  if (candidates.length === 0) throw new RangeError('choosePool needs at least one candidate pool');
  const considered: PoolChoice['considered'] = [];
  let first: OnCallAnswer | undefined;
  for (const pool of candidates) {
    const answer = resolveOnCall(config, pool, at);
    first ??= answer;
    considered.push({ pool, covered: answer.covered, ...(answer.note === undefined ? {} : { note: answer.note }) });
    if (answer.covered) return { pool, onCall: answer, considered, held: false };
  }
  const holder = first as OnCallAnswer;
  return { pool: holder.pool, onCall: holder, considered, held: true };
}

/** The rule's notified pools other than the one that got the item. */
export function poolsToNotify(notify: readonly string[], choice: PoolChoice): string[] {
  return notify.filter((p) => p !== choice.pool);
}
