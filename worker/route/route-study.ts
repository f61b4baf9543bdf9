/**
 * Routes one stable study: reads what the store holds about it, lets decideRouting (pure) decide, and applies
 * the decision through the worklist store: the item, the routing decision, the events, the notification and the
 * audit event in ONE transaction, under the study's routing lock. Idempotent: a replayed job finds the decision
 * and changes nothing (the store never creates a second reading item anyway).
 */
import { systemActor, type AuditEventInput } from '../../audit/audit-event.ts';
import type { AuditRecorder } from '../../audit/audit-trail.ts';
import type { RegionConfig } from '../../config/region/region-config.ts';
import type { Clock } from '../../core/time/clock.ts';
import type { RoutedItem, RoutingTransaction, WorklistStore } from '../../storage/worklist/worklist-store.ts';
import type { RoutingDecision } from '../../storage/worklist/worklist-types.ts';
import { decideRouting, type RoutingPlan } from './decide-routing.ts';
import { studyFacts } from './study-facts.ts';

export type { RoutedItem } from '../../storage/worklist/worklist-store.ts';

export interface RoutingContext {
  store: WorklistStore;
  config: RegionConfig;
  clock: Clock;
  /** The audit trail: each new decision is appended in the decision's own transaction. */
  audit?: AuditRecorder;
}

export interface RouteOutcome {
  /** Null when the study is not in the index (yet): nothing was decided. */
  decision: RoutingDecision | null;
  item: RoutedItem | null;
  /** True when an earlier decision stood: a replayed job, another worker was first. */
  replay: boolean;
}

export function routeStudy(context: RoutingContext, studyInstanceUID: string): Promise<RouteOutcome> {
  return context.store.routeExclusively(studyInstanceUID, async (tx) => {
    const existing = await tx.decision();
    if (existing && existing.decision !== 'held') {
      return { decision: existing, item: existing.itemId ? await tx.routedItem(existing.itemId) : null, replay: true };
    }
    const record = await tx.studyRecord();
    if (!record) return { decision: existing, item: null, replay: existing !== null };
    const study = studyFacts(record);
    const objection = await tx.patientObjection(study.patientIds);
    const plan = decideRouting({ study, existing, objection }, context.config, context.clock.now());
    const outcome = await applyRouting(tx, plan);
    // Last statement before COMMIT: the audit chain's head stays locked until the transaction ends.
    if (context.audit && outcome.decision && !outcome.replay) await context.audit.recordIn(tx.client, routingAuditEvent(outcome.decision));
    return outcome;
  });
}

async function applyRouting(tx: RoutingTransaction, plan: RoutingPlan): Promise<RouteOutcome> {
  switch (plan.kind) {
    case 'unchanged':
      return { decision: plan.decision, item: null, replay: true };
    case 'not-routed':
      await tx.recordNotRouted(plan.decision, plan.site);
      return { decision: plan.decision, item: null, replay: false };
    case 'route': {
      const created = await tx.createReadItem(plan.item, plan.decision, plan.events);
      return { decision: created.decision, item: created.item, replay: !created.created };
    }
  }
}

/** 110111 Procedure Record, created by the routing worker: routed to a worklist, held, or refused, and why. */
function routingAuditEvent(decision: RoutingDecision): AuditEventInput {
  return {
    type: '110111',
    subtype: `routing-${decision.decision}`,
    action: 'C',
    actor: systemActor('routing'),
    outcomeDescription: decision.code ?? undefined,
    entities: [
      { kind: 'study', studyUid: decision.studyInstanceUID },
      ...(decision.itemId ? [{ kind: 'worklist-item' as const, itemId: decision.itemId }] : []),
    ],
  };
}
