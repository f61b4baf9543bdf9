/**
 * Escalation of one worklist item, decided from the database and the clock alone (a job only says "look at
 * this item now"): every hop of its chain whose time has come while the item is still unclaimed is taken in
 * order (backup reader, a pole, the territory's other readers, the coordinator), each recorded as an event and
 * counted in escalation_level under a row lock, so a replayed or duplicated job never takes a hop twice. An
 * item still open at its deadline (claimed but not signed, or never claimed) alerts the coordinator once.
 */
import { systemActor } from '../../audit/audit-event.ts';
import type { AuditRecorder } from '../../audit/audit-trail.ts';
import type { EscalationChain, RegionConfig } from '../../config/region/region-config.ts';
import type { Clock } from '../../core/time/clock.ts';
import type { EscalationState, ItemEvent, WorklistStore } from '../../storage/worklist/worklist-store.ts';
import type { WorklistStatus } from '../../storage/worklist/worklist-types.ts';
import { escalationSchedule, resolveEscalationStep, type EscalationHop } from '../route/escalation-plan.ts';

export interface EscalationContext {
  store: WorklistStore;
  config: RegionConfig;
  clock: Clock;
  /** The audit trail: each hop and coordinator alert is appended in the change's own transaction. */
  audit?: AuditRecorder;
}

export interface HopTaken {
  /** 1 for the first hop of the chain. */
  hop: number;
  step: string;
  scheduledAt: Date;
  pool: string;
  assignee: string | null;
  readers: string[];
  coordinator: boolean;
  description: string;
}

export interface EscalationResult {
  itemId: string;
  /** Null when there is no such item. */
  status: WorklistStatus | null;
  hops: HopTaken[];
  deadlineAlerted: boolean;
  /** Hops taken so far (after this call). */
  escalationLevel: number;
  /** When the next hop falls due (null: chain exhausted or no chain). Only acted on while the item is unclaimed. */
  nextEscalationAt: Date | null;
  deadline: Date | null;
  /** True once the coordinator was told the deadline passed. */
  deadlineAlertDone: boolean;
}

const OPEN: readonly WorklistStatus[] = ['SCHEDULED', 'IN PROGRESS'];

export function escalateItem(context: EscalationContext, itemId: string): Promise<EscalationResult> {
  return context.store.escalateExclusively(itemId, async (tx, item) => {
    if (!item) {
      return { itemId, status: null, hops: [], deadlineAlerted: false, escalationLevel: 0, nextEscalationAt: null, deadline: null, deadlineAlertDone: false };
    }
    const now = context.clock.now();
    const hops = item.status === 'SCHEDULED' ? takeDueHops(context.config, item, now) : [];
    const alertDeadline = OPEN.includes(item.status) && item.deadlineAlertedAt === null && item.deadline.getTime() <= now.getTime();
    if (hops.length > 0 || alertDeadline) {
      const last = hops.at(-1);
      await tx.saveEscalation(
        item,
        alertDeadline ? now : null,
        [...hops.flatMap((hop) => hopEvents(item, hop, now)), ...(alertDeadline ? [deadlineEvent(item, now)] : [])],
        {
          type: 'item-updated',
          itemId: item.id,
          pool: item.pool,
          assignee: item.assignee,
          territory: item.territory,
          status: item.status,
          event: alertDeadline || last?.coordinator ? 'coordinator-alerted' : 'escalated',
          ...(last && last.readers.length > 0 ? { offeredTo: last.readers } : {}),
        },
      );
      // Last statement before COMMIT: the audit chain's head stays locked until the transaction ends.
      await context.audit?.recordIn(tx.client, {
        type: '110111',
        subtype: alertDeadline || last?.coordinator ? 'coordinator-alerted' : 'escalated',
        action: 'U',
        actor: systemActor('escalation'),
        outcomeDescription: last ? `hop ${last.hop} (${last.step})` : 'deadline passed',
        entities: [
          { kind: 'study', studyUid: item.studyInstanceUID },
          { kind: 'worklist-item', itemId: item.id },
        ],
      });
    }
    return {
      itemId,
      status: item.status,
      hops,
      deadlineAlerted: alertDeadline,
      escalationLevel: item.escalationLevel,
      nextEscalationAt: item.nextEscalationAt,
      deadline: item.deadline,
      deadlineAlertDone: alertDeadline || item.deadlineAlertedAt !== null,
    };
  });
}

/** Takes, in order, every hop due at `now`, updating `item` in place (the caller writes it back). */
function takeDueHops(config: RegionConfig, item: EscalationState, now: Date): HopTaken[] {
  const chain: EscalationChain | null = item.escalationChain ? (config.chainById.get(item.escalationChain) ?? null) : null;
  const schedule: EscalationHop[] = escalationSchedule(
    chain,
    item.routedAt,
    item.warningAt.getTime() - item.routedAt.getTime(),
    item.deadline.getTime() - item.routedAt.getTime(),
  );
  const taken: HopTaken[] = [];
  while (item.nextEscalationAt !== null && item.nextEscalationAt.getTime() <= now.getTime()) {
    const hop = schedule[item.escalationLevel];
    if (!hop) {
      item.nextEscalationAt = null; // the chain changed in the configuration and is shorter now
      break;
    }
    const exclude = [item.routedReader, item.assignee, ...item.offeredTo].filter((r): r is string => Boolean(r));
    const target = resolveEscalationStep(
      config,
      hop.step,
      { pool: item.routedPool ?? item.pool, territory: item.territory, site: item.site, exclude },
      now,
    );
    const readers = target.readers.map((r) => r.rpps);
    if (!target.coordinator && readers.length > 0) {
      if (target.pool) item.pool = target.pool;
      // One reader reached: it is theirs. Several: open to all of them (first to claim wins).
      item.assignee = readers.length === 1 ? readers[0] : null;
      item.offeredTo = [...new Set([...item.offeredTo, ...readers])];
    }
    item.escalationLevel += 1;
    item.nextEscalationAt = schedule[item.escalationLevel]?.at ?? null;
    taken.push({
      hop: hop.index + 1,
      step: hop.step.kind,
      scheduledAt: hop.at,
      pool: item.pool,
      assignee: item.assignee,
      readers,
      coordinator: target.coordinator,
      description: target.description,
    });
  }
  return taken;
}

function hopEvents(item: EscalationState, hop: HopTaken, now: Date): ItemEvent[] {
  const detail = {
    hop: hop.hop,
    step: hop.step,
    scheduledAt: hop.scheduledAt.toISOString(),
    pool: hop.pool,
    assignee: hop.assignee,
    readers: hop.readers,
    description: hop.description,
  };
  const base = { actor: 'system', at: now };
  const events: ItemEvent[] = [{ ...base, type: 'escalated', detail }];
  if (hop.coordinator) {
    events.push({ ...base, type: 'coordinator-alerted', detail: { reason: 'unclaimed', hop: hop.hop, deadline: item.deadline.toISOString() } });
  }
  return events;
}

function deadlineEvent(item: EscalationState, now: Date): ItemEvent {
  return {
    type: 'coordinator-alerted',
    actor: 'system',
    at: now,
    detail: {
      reason: item.status === 'IN PROGRESS' ? 'claimed-not-completed-by-deadline' : 'unclaimed-at-deadline',
      status: item.status,
      assignee: item.assignee,
      deadline: item.deadline.toISOString(),
    },
  };
}

/** Sweep: takes every due hop and deadline alert at clock.now(); returns what happened. */
export async function escalateDue(context: EscalationContext): Promise<EscalationResult[]> {
  const ids = await context.store.findDueItems(context.clock.now(), 500);
  const results: EscalationResult[] = [];
  for (const id of ids) {
    const result = await escalateItem(context, id);
    if (result.hops.length > 0 || result.deadlineAlerted) results.push(result);
  }
  return results;
}
