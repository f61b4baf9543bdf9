/**
 * Escalation of an unclaimed item along its chain (backup reader, the territory's other readers, a
 * regional pole, the coordinator). The first hop falls at the warning point; the others share the time
 * left before the deadline evenly, so the last one still comes before the deadline. Who a step reaches is
 * resolved when the hop happens, since a shift may have changed meanwhile.
 */
import type { EscalationChain, EscalationStep, RegionConfig } from '../../config/region/region-config.ts';
import { resolveOnCall, type ReaderRef } from '../../config/oncall/resolve-on-call.ts';

export interface EscalationHop {
  /** Position in the chain, from 0. */
  index: number;
  step: EscalationStep;
  at: Date;
}

export function escalationSchedule(
  chain: EscalationChain | null,
  routedAt: Date,
  warningMs: number,
  deadlineMs: number,
): EscalationHop[] {
  if (!chain) return [];
  const start = routedAt.getTime() + warningMs;
  const spacing = (deadlineMs - warningMs) / chain.steps.length;
  return chain.steps.map((step, index) => ({ index, step, at: new Date(Math.round(start + index * spacing)) }));
}

export interface EscalationContext {
  /** Pool the item was routed to. */
  pool: string;
  territory: string;
  /** FINESS of the sending site: readers reached must be entitled to it (except through a pole). */
  site: string;
  /** RPPS already asked (primary, earlier hops): not asked again. */
  exclude?: readonly string[];
}

export interface EscalationTarget {
  step: EscalationStep;
  readers: ReaderRef[];
  /** Set when the hop hands the item to another pool. */
  pool?: string;
  coordinator: boolean;
  /** For the audit trail: who was reached, or why nobody was. */
  description: string;
}

export function resolveEscalationStep(
  config: RegionConfig,
  step: EscalationStep,
  context: EscalationContext,
  at: Date,
): EscalationTarget {
  const excluded = new Set(context.exclude ?? []);
  const ref = (rpps: string): ReaderRef => ({ rpps, name: config.readerByRpps.get(rpps)?.name ?? rpps });
  const entitled = (rpps: string) => config.readerByRpps.get(rpps)?.sites.includes(context.site) ?? false;
  const fresh = (list: Iterable<string>) => [...new Set(list)].filter((r) => !excluded.has(r)).map(ref);
  const target = (readers: ReaderRef[], description: string, pool?: string): EscalationTarget => ({
    step,
    readers,
    coordinator: false,
    ...(pool === undefined ? {} : { pool }),
    description: readers.length > 0 ? description : `${description}: nobody left to ask`,
  });

  switch (step.kind) {
    case 'backup': {
      const answer = resolveOnCall(config, context.pool, at);
      if (!answer.backup) return target([], `no backup on call in ${context.pool} (${answer.note ?? 'uncovered'})`);
      return target(fresh([answer.backup.rpps]), `backup reader of ${context.pool}`);
    }
    case 'pool-members':
      return target(fresh(config.poolById.get(context.pool)?.members ?? []), `other members of ${context.pool}`);
    case 'territory-readers': {
      const members = config.pools.filter((p) => p.territory === context.territory).flatMap((p) => p.members);
      return target(fresh(members.filter(entitled)), `readers of territory ${context.territory}`);
    }
    case 'pool': {
      const answer = resolveOnCall(config, step.pool, at);
      const readers = answer.primary ? [answer.primary.rpps] : (config.poolById.get(step.pool)?.members ?? []);
      return target(
        fresh(readers),
        answer.primary ? `on call in ${step.pool}` : `members of ${step.pool} (nobody on call there)`,
        step.pool,
      );
    }
    case 'reader':
      return target(fresh([step.reader]), `named reader ${step.reader}`);
    case 'coordinator':
      return { step, readers: [], coordinator: true, description: 'the coordinator is alerted' };
  }
}
