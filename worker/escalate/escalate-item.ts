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
import type { Database } from '../../storage/database/database.ts';
import { escalationSchedule, resolveEscalationStep, type EscalationHop } from '../route/escalation-plan.ts';
import type { Clock } from '../../core/time/clock.ts';
import { notifyWorklist } from '../../storage/worklist/notify-worklist.ts';
import { recordEvents, type NewWorklistEvent } from '../../storage/worklist/record-event.ts';
import type { WorklistStatus } from '../../storage/worklist/worklist-types.ts';

export interface EscalationContext {
  database: Database;
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

interface ItemRow {
  id: string;
  study_instance_uid: string;
  site: string;
  territory: string;
  status: WorklistStatus;
  pool: string;
  assignee: string | null;
  routed_at: Date;
  warning_at: Date;
  deadline: Date;
  escalation_level: number;
  escalation_chain: string | null;
  next_escalation_at: Date | null;
  offered_to: string[];
  deadline_alerted_at: Date | null;
  routed_pool: string | null;
  routed_reader: string | null;
}

const OPEN: readonly WorklistStatus[] = ['SCHEDULED', 'IN PROGRESS'];

export async function escalateItem(context: EscalationContext, itemId: string): Promise<EscalationResult> {
  return context.database.withTransaction(async (client) => {
    const { rows } = await client.query<ItemRow>(
      `SELECT i.id, i.study_instance_uid, i.site, i.territory, i.status, i.pool, i.assignee, i.routed_at, i.warning_at,
              i.deadline, i.escalation_level, i.escalation_chain, i.next_escalation_at, i.offered_to,
              i.deadline_alerted_at, d.pool AS routed_pool, d.reader AS routed_reader
         FROM worklist_item i
         LEFT JOIN routing_decision d ON d.item_id = i.id
        WHERE i.id = $1
          FOR UPDATE OF i`,
      [itemId],
    );
    const item = rows[0];
    if (!item) {
      return { itemId, status: null, hops: [], deadlineAlerted: false, escalationLevel: 0, nextEscalationAt: null, deadline: null, deadlineAlertDone: false };
    }
    const now = context.clock.now();
    const hops = item.status === 'SCHEDULED' ? takeDueHops(context.config, item, now) : [];
    const alertDeadline = OPEN.includes(item.status) && item.deadline_alerted_at === null && item.deadline.getTime() <= now.getTime();
    if (hops.length > 0 || alertDeadline) {
      await client.query(
        `UPDATE worklist_item SET pool = $2, assignee = $3, escalation_level = $4, next_escalation_at = $5, offered_to = $6,
                deadline_alerted_at = CASE WHEN $7 THEN $8::timestamptz ELSE deadline_alerted_at END, version = version + 1
          WHERE id = $1`,
        [item.id, item.pool, item.assignee, item.escalation_level, item.next_escalation_at, item.offered_to, alertDeadline, now],
      );
      await recordEvents(client, [
        ...hops.flatMap((hop) => hopEvents(item, hop, now)),
        ...(alertDeadline ? [deadlineEvent(item, now)] : []),
      ]);
      const last = hops.at(-1);
      await notifyWorklist(client, {
        type: 'item-updated',
        itemId: item.id,
        pool: item.pool,
        assignee: item.assignee,
        territory: item.territory,
        status: item.status,
        event: alertDeadline || last?.coordinator ? 'coordinator-alerted' : 'escalated',
        ...(last && last.readers.length > 0 ? { offeredTo: last.readers } : {}),
      });
      // Last statement before COMMIT: the audit chain's head stays locked until the transaction ends.
      await context.audit?.recordIn(client, {
        type: '110111',
        subtype: alertDeadline || last?.coordinator ? 'coordinator-alerted' : 'escalated',
        action: 'U',
        actor: systemActor('escalation'),
        outcomeDescription: hops.length > 0 ? `hop ${hops.at(-1)!.hop} (${hops.at(-1)!.step})` : 'deadline passed',
        entities: [
          { kind: 'study', studyUid: item.study_instance_uid },
          { kind: 'worklist-item', itemId: item.id },
        ],
      });
    }
    return {
      itemId,
      status: item.status,
      hops,
      deadlineAlerted: alertDeadline,
      escalationLevel: item.escalation_level,
      nextEscalationAt: item.next_escalation_at,
      deadline: item.deadline,
      deadlineAlertDone: alertDeadline || item.deadline_alerted_at !== null,
    };
  });
}

/** Takes, in order, every hop due at `now`, updating `item` in place (the caller writes it back). */
function takeDueHops(config: RegionConfig, item: ItemRow, now: Date): HopTaken[] {
  const chain: EscalationChain | null = item.escalation_chain ? (config.chainById.get(item.escalation_chain) ?? null) : null;
  const schedule: EscalationHop[] = escalationSchedule(
    chain,
    item.routed_at,
    item.warning_at.getTime() - item.routed_at.getTime(),
    item.deadline.getTime() - item.routed_at.getTime(),
  );
  const taken: HopTaken[] = [];
  while (item.next_escalation_at !== null && item.next_escalation_at.getTime() <= now.getTime()) {
    const hop = schedule[item.escalation_level];
    if (!hop) {
      item.next_escalation_at = null; // the chain changed in the configuration and is shorter now
      break;
    }
    const exclude = [item.routed_reader, item.assignee, ...item.offered_to].filter((r): r is string => Boolean(r));
    const target = resolveEscalationStep(
      config,
      hop.step,
      { pool: item.routed_pool ?? item.pool, territory: item.territory, site: item.site, exclude },
      now,
    );
    const readers = target.readers.map((r) => r.rpps);
    if (!target.coordinator && readers.length > 0) {
      if (target.pool) item.pool = target.pool;
      // One reader reached: it is theirs. Several: open to all of them (first to claim wins).
      item.assignee = readers.length === 1 ? readers[0] : null;
      item.offered_to = [...new Set([...item.offered_to, ...readers])];
    }
    item.escalation_level += 1;
    item.next_escalation_at = schedule[item.escalation_level]?.at ?? null;
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

function hopEvents(item: ItemRow, hop: HopTaken, now: Date): NewWorklistEvent[] {
  const detail = {
    hop: hop.hop,
    step: hop.step,
    scheduledAt: hop.scheduledAt.toISOString(),
    pool: hop.pool,
    assignee: hop.assignee,
    readers: hop.readers,
    description: hop.description,
  };
  const base = { itemId: item.id, studyInstanceUID: item.study_instance_uid, actor: 'system', at: now };
  const events: NewWorklistEvent[] = [{ ...base, type: 'escalated', detail }];
  if (hop.coordinator) {
    events.push({ ...base, type: 'coordinator-alerted', detail: { reason: 'unclaimed', hop: hop.hop, deadline: item.deadline.toISOString() } });
  }
  return events;
}

function deadlineEvent(item: ItemRow, now: Date): NewWorklistEvent {
  return {
    itemId: item.id,
    studyInstanceUID: item.study_instance_uid,
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

/** Items with a hop due or a deadline passed unreported at `now` (the sweep's work list). */
export async function findDueItems(database: Database, now: Date, limit = 500): Promise<string[]> {
  const { rows } = await database.query<{ id: string }>(
    `SELECT id FROM worklist_item WHERE status = 'SCHEDULED' AND next_escalation_at <= $1
     UNION
     SELECT id FROM worklist_item WHERE deadline_alerted_at IS NULL AND status IN ('SCHEDULED', 'IN PROGRESS') AND deadline <= $1
     LIMIT $2`,
    [now, limit],
  );
  return rows.map((r) => r.id);
}

/** Sweep: takes every due hop and deadline alert at clock.now(); returns what happened. */
export async function escalateDue(context: EscalationContext): Promise<EscalationResult[]> {
  const ids = await findDueItems(context.database, context.clock.now());
  const results: EscalationResult[] = [];
  for (const id of ids) {
    const result = await escalateItem(context, id);
    if (result.hops.length > 0 || result.deadlineAlerted) results.push(result);
  }
  return results;
}
