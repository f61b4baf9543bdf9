/**
 * Routes one stable study: reads its facts from the index, refuses (and says why) an excluded modality, an
 * archive-only or unknown site, holds the study of a patient who objects, otherwise picks the rule, the pool
 * and the reader on call at clock.now(), and creates the worklist item, the routing decision, the events and
 * the notification in ONE transaction. Idempotent: a replayed job finds the decision and changes nothing (the
 * unique index on worklist_item makes a second reading item impossible anyway).
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { RegionConfig } from '../../config/region/region-config.ts';
import type { Database } from '../../storage/database/database.ts';
import { choosePool, poolsToNotify, type PoolChoice } from './choose-pool.ts';
import { escalationSchedule } from './escalation-plan.ts';
import { resolveOnCall } from '../../config/oncall/resolve-on-call.ts';
import type { Clock } from '../../core/time/clock.ts';
import { notifyWorklist } from '../../storage/worklist/notify-worklist.ts';
import { recordEvents, type NewWorklistEvent } from '../../storage/worklist/record-event.ts';
import type { RoutingDecision } from '../../storage/worklist/worklist-types.ts';
import { classifyExam, type StudyFacts } from './classify-exam.ts';
import { systemActor, type AuditEventInput } from '../../audit/audit-event.ts';
import type { AuditRecorder } from '../../audit/audit-trail.ts';
import { findPatientObjection } from './find-patient-objection.ts';
import { deadlineTimes, matchRule, type MatchedRule } from './match-rule.ts';
import { readStudyFacts, type IndexedStudy } from './read-study-facts.ts';

export interface RoutingContext {
  database: Database;
  config: RegionConfig;
  clock: Clock;
  /** The audit trail: each new decision is appended in the decision's own transaction. */
  audit?: AuditRecorder;
}

export interface RoutedItem {
  id: string;
  pool: string;
  assignee: string | null;
  warningAt: Date;
  deadline: Date;
  /** When the first escalation hop falls due (null: the rule has no escalation chain). */
  nextEscalationAt: Date | null;
}

export interface RouteOutcome {
  /** Null when the study is not in the index (yet): nothing was decided. */
  decision: RoutingDecision | null;
  item: RoutedItem | null;
  /** True when an earlier decision stood: a replayed job, another worker was first. */
  replay: boolean;
}

const SYSTEM = 'system';

export async function routeStudy(context: RoutingContext, studyInstanceUID: string): Promise<RouteOutcome> {
  return context.database.withTransaction(async (client) => {
    // One router per study at a time, whatever the number of workers; the others then see its decision.
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`astreinte:route:${studyInstanceUID}`]);
    const existing = await selectDecision(client, studyInstanceUID);
    if (existing && existing.decision !== 'held') {
      return { decision: existing, item: existing.itemId ? await selectItem(client, existing.itemId) : null, replay: true };
    }
    const study = await readStudyFacts(client, studyInstanceUID);
    if (!study) return { decision: existing, item: null, replay: existing !== null };
    const outcome = await decide(context, client, study, existing);
    // Last statement before COMMIT: the audit chain's head stays locked until the transaction ends.
    if (context.audit && outcome.decision && !outcome.replay) await context.audit.recordIn(client, routingAuditEvent(outcome.decision));
    return outcome;
  });
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

async function decide(
  context: RoutingContext,
  client: pg.PoolClient,
  study: IndexedStudy,
  existing: RoutingDecision | null,
): Promise<RouteOutcome> {
  const { config, clock } = context;
  const now = clock.now();
  if (!study.facts.site) {
    const decision = notRouted(
      study,
      'refused',
      'unknown-site',
      'the study was stored without a sending site (administrator import): it is archived and searchable, not routed; ' +
        'a site sends it with its own credentials to have it read',
      now,
      null,
    );
    await persistNotRouted(client, decision, '');
    return { decision, item: null, replay: false };
  }
  const facts = withDescriptionFlags(config, study.facts);
  const rule = matchRule(config, facts);
  if (rule.outcome === 'not-routed') {
    const decision = notRouted(study, 'refused', rule.code, rule.reason, now, rule.rule ?? null);
    await persistNotRouted(client, decision, study.facts.site);
    return { decision, item: null, replay: false };
  }
  const objection = await findPatientObjection(client, study.patientIds);
  if (objection) {
    if (existing) return { decision: existing, item: null, replay: true }; // still held: nothing new to record
    const decision = notRouted(
      study,
      'held',
      'patient-objection',
      `the patient objects to teleradiology (opposition registered ${objection.recordedAt.toISOString()} under an identifier` +
        `${objection.issuer ? ` issued by ${objection.issuer}` : ''}): the study is stored and searchable but not routed; ` +
        'it is routed if the opposition is lifted and the study is completed again',
      now,
      rule.rule.id,
    );
    await persistNotRouted(client, decision, study.facts.site);
    return { decision, item: null, replay: false };
  }
  return createItem(context, client, study, rule, now);
}

/** A stroke named in the description of a CT/MR (AVC, thrombolyse...) counts as the sender's stroke flag. */
function withDescriptionFlags(config: RegionConfig, facts: StudyFacts): StudyFacts {
  if (facts.priorityFlags?.includes('stroke')) return facts;
  const classification = classifyExam(config, facts);
  if (classification.kind !== 'classified' || classification.category !== 'stroke') return facts;
  return { ...facts, priorityFlags: [...(facts.priorityFlags ?? []), 'stroke'] };
}

async function createItem(
  context: RoutingContext,
  client: pg.PoolClient,
  study: IndexedStudy,
  rule: MatchedRule,
  now: Date,
): Promise<RouteOutcome> {
  const { config } = context;
  const choice = choosePool(config, rule.candidates, now);
  const assignee = choice.held ? null : (choice.onCall.primary?.rpps ?? null);
  const { warningAt, deadline } = deadlineTimes(rule, now);
  const nextEscalationAt = escalationSchedule(rule.escalation, now, rule.warningMs, rule.deadlineMs)[0]?.at ?? null;
  const notify = poolsToNotify(rule.notify, choice);
  const modality = primaryModality(study.facts.modalities);

  const inserted = await client.query<{ id: string }>(
    `INSERT INTO worklist_item (id, kind, study_instance_uid, site, territory, modality, body_part, category, priority,
       priority_rank, status, pool, assignee, routed_at, warning_at, deadline, escalation_chain, next_escalation_at,
       notified_pools)
     VALUES ($1, 'read', $2, $3, $4, $5, $6, $7, $8, $9, 'SCHEDULED', $10, $11, $12, $13, $14, $15, $16, $17)
     ON CONFLICT (study_instance_uid) WHERE kind = 'read' DO NOTHING
     RETURNING id`,
    [
      randomUUID(),
      study.studyInstanceUID,
      rule.site.finess,
      rule.territory,
      modality,
      study.facts.bodyPart ?? null,
      rule.category,
      rule.priority.id,
      rule.priority.rank,
      choice.pool,
      assignee,
      now,
      warningAt,
      deadline,
      rule.escalation?.id ?? null,
      nextEscalationAt,
      notify,
    ],
  );
  const itemId = inserted.rows[0]?.id;
  if (!itemId) {
    // The item exists without a decision (only possible after manual edits): keep it, record nothing new.
    const { rows } = await client.query<{ id: string }>(
      "SELECT id FROM worklist_item WHERE study_instance_uid = $1 AND kind = 'read'",
      [study.studyInstanceUID],
    );
    const item = await selectItem(client, rows[0].id);
    return { decision: await selectDecision(client, study.studyInstanceUID), item, replay: true };
  }

  const reader = assignee ? config.readerByRpps.get(assignee) : undefined;
  const decision: RoutingDecision = {
    studyInstanceUID: study.studyInstanceUID,
    decision: 'routed',
    code: choice.held ? 'no-one-on-call' : null,
    rule: rule.rule.id,
    pool: choice.pool,
    reader: assignee,
    reason: routedReason(rule, choice, reader?.name),
    decidedAt: now,
    itemId,
  };
  await upsertDecision(client, decision);
  const events: NewWorklistEvent[] = [
    {
      itemId,
      studyInstanceUID: study.studyInstanceUID,
      type: 'routed',
      actor: SYSTEM,
      at: now,
      detail: {
        rule: rule.rule.id,
        category: rule.category,
        priority: rule.priority.id,
        pool: choice.pool,
        reader: assignee,
        rotaEntry: choice.onCall.entry ? { kind: choice.onCall.entry.kind, id: choice.onCall.entry.id, label: choice.onCall.entry.label } : null,
        considered: choice.considered,
        warningAt: warningAt.toISOString(),
        deadline: deadline.toISOString(),
        escalationChain: rule.escalation?.id ?? null,
        nextEscalationAt: nextEscalationAt?.toISOString() ?? null,
      },
    },
    ...notify.map((pool): NewWorklistEvent => {
      const onCall = resolveOnCall(config, pool, now);
      return {
        itemId,
        studyInstanceUID: study.studyInstanceUID,
        type: 'notified',
        actor: SYSTEM,
        at: now,
        detail: { pool, onCall: onCall.primary?.rpps ?? null, reason: `rule ${rule.rule.id} notifies ${pool}` },
      };
    }),
  ];
  await recordEvents(client, events);
  await markStable(client, study.studyInstanceUID, rule.site.finess, now);
  await notifyWorklist(client, {
    type: 'item-created',
    itemId,
    pool: choice.pool,
    assignee,
    territory: rule.territory,
    status: 'SCHEDULED',
    event: 'routed',
    ...(notify.length > 0 ? { notifiedPools: notify } : {}),
  });
  return { decision, item: { id: itemId, pool: choice.pool, assignee, warningAt, deadline, nextEscalationAt }, replay: false };
}

function routedReason(rule: MatchedRule, choice: PoolChoice, readerName: string | undefined): string {
  const skipped = choice.considered.filter((c) => c.pool !== choice.pool && !c.covered).map((c) => c.pool);
  const before = skipped.length > 0 ? ` (nobody on call in ${skipped.join(', ')})` : '';
  if (choice.held) {
    return `${rule.why}; nobody is on call in ${choice.considered.map((c) => c.pool).join(', ')} at this time: the item waits unassigned in ${choice.pool} until a reader claims it or escalation moves it`;
  }
  const entry = choice.onCall.entry;
  const shift = entry ? ` under ${entry.kind} ${entry.id}${entry.label ? ` (${entry.label})` : ''}` : '';
  return `${rule.why}; ${choice.pool}${before}: ${readerName ?? 'the reader'} on call${shift}`;
}

function notRouted(
  study: IndexedStudy,
  decision: 'held' | 'refused',
  code: string,
  reason: string,
  now: Date,
  rule: string | null,
): RoutingDecision {
  return { studyInstanceUID: study.studyInstanceUID, decision, code, rule, pool: null, reader: null, reason, decidedAt: now, itemId: null };
}

async function persistNotRouted(client: pg.PoolClient, decision: RoutingDecision, site: string): Promise<void> {
  await upsertDecision(client, decision);
  await recordEvents(client, [
    {
      itemId: null,
      studyInstanceUID: decision.studyInstanceUID,
      type: decision.decision,
      actor: SYSTEM,
      at: decision.decidedAt,
      detail: { code: decision.code, reason: decision.reason },
    },
  ]);
  await markStable(client, decision.studyInstanceUID, site || null, decision.decidedAt);
}

async function upsertDecision(client: pg.PoolClient, d: RoutingDecision): Promise<void> {
  await client.query(
    `INSERT INTO routing_decision (study_instance_uid, decision, code, rule, pool, reader, reason, decided_at, item_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (study_instance_uid) DO UPDATE SET decision = EXCLUDED.decision, code = EXCLUDED.code,
       rule = EXCLUDED.rule, pool = EXCLUDED.pool, reader = EXCLUDED.reader, reason = EXCLUDED.reason,
       decided_at = EXCLUDED.decided_at, item_id = EXCLUDED.item_id`,
    [d.studyInstanceUID, d.decision, d.code, d.rule, d.pool, d.reader, d.reason, d.decidedAt, d.itemId],
  );
}

/** The study is decided: reconciliation no longer looks at it. */
async function markStable(client: pg.PoolClient, studyInstanceUID: string, site: string | null, now: Date): Promise<void> {
  await client.query(
    `INSERT INTO study_activity (study_instance_uid, site, last_instance_at, stable_at) VALUES ($1, $2, $3, $3)
     ON CONFLICT (study_instance_uid) DO UPDATE SET stable_at = COALESCE(study_activity.stable_at, EXCLUDED.stable_at)`,
    [studyInstanceUID, site, now],
  );
}

interface DecisionRow {
  study_instance_uid: string;
  decision: RoutingDecision['decision'];
  code: string | null;
  rule: string | null;
  pool: string | null;
  reader: string | null;
  reason: string;
  decided_at: Date;
  item_id: string | null;
}

export async function selectDecision(client: pg.ClientBase | pg.Pool, studyInstanceUID: string): Promise<RoutingDecision | null> {
  const { rows } = await client.query<DecisionRow>('SELECT * FROM routing_decision WHERE study_instance_uid = $1', [studyInstanceUID]);
  const r = rows[0];
  if (!r) return null;
  return {
    studyInstanceUID: r.study_instance_uid,
    decision: r.decision,
    code: r.code,
    rule: r.rule,
    pool: r.pool,
    reader: r.reader,
    reason: r.reason,
    decidedAt: r.decided_at,
    itemId: r.item_id,
  };
}

async function selectItem(client: pg.ClientBase, itemId: string): Promise<RoutedItem | null> {
  const { rows } = await client.query<{
    id: string;
    pool: string;
    assignee: string | null;
    warning_at: Date;
    deadline: Date;
    next_escalation_at: Date | null;
  }>('SELECT id, pool, assignee, warning_at, deadline, next_escalation_at FROM worklist_item WHERE id = $1', [itemId]);
  const r = rows[0];
  return r
    ? { id: r.id, pool: r.pool, assignee: r.assignee, warningAt: r.warning_at, deadline: r.deadline, nextEscalationAt: r.next_escalation_at }
    : null;
}

/** The modality shown on the worklist: the first image modality of the study (CT for CT + SR). */
function primaryModality(modalities: readonly string[]): string {
  const nonImage = new Set(['SR', 'KO', 'PR', 'DOC', 'REG', 'SEG']);
  return modalities.find((m) => !nonImage.has(m)) ?? modalities[0] ?? 'OT';
}
