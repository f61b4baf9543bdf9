/**
 * The routing decision for one stable study, as a pure function of its facts, what is already recorded, the
 * region configuration and the instant: refuse (and say why) an excluded modality, an archive-only or unknown
 * site; hold the study of a patient who objects; otherwise pick the rule, the pool and the reader on call, and
 * describe the reading item to create with its events. Nothing is written here: route-study.ts applies the
 * plan through the worklist store.
 */
import type { RegionConfig } from '../../config/region/region-config.ts';
import { resolveOnCall } from '../../config/oncall/resolve-on-call.ts';
import type { ItemEvent, NewReadItem, PatientObjection } from '../../storage/worklist/worklist-store.ts';
import type { RoutingDecision } from '../../storage/worklist/worklist-types.ts';
import { choosePool, poolsToNotify, type PoolChoice } from './choose-pool.ts';
import { classifyExam, type StudyFacts } from './classify-exam.ts';
import { escalationSchedule } from './escalation-plan.ts';
import { deadlineTimes, matchRule, type MatchedRule } from './match-rule.ts';
import type { IndexedStudy } from './study-facts.ts';

export interface RoutingFacts {
  study: IndexedStudy;
  /** The decision already recorded (only a 'held' one is decided again). */
  existing: RoutingDecision | null;
  /** An opposition in force under one of the patient's identifiers. */
  objection: PatientObjection | null;
}

export type RoutingPlan =
  /** The study stays held as recorded: nothing new to write. */
  | { kind: 'unchanged'; decision: RoutingDecision }
  /** Held or refused: the decision and its event are recorded, the study counts as decided. */
  | { kind: 'not-routed'; decision: RoutingDecision; site: string | null }
  /** A reading item to create; the store gives it its id, filled into the decision and the events. */
  | { kind: 'route'; item: NewReadItem; decision: Omit<RoutingDecision, 'itemId'>; events: ItemEvent[] };

const SYSTEM = 'system';

export function decideRouting(facts: RoutingFacts, config: RegionConfig, now: Date): RoutingPlan {
  const { study } = facts;
  if (!study.facts.site) {
    const reason =
      'the study was stored without a sending site (administrator import): it is archived and searchable, not routed; ' +
      'a site sends it with its own credentials to have it read';
    return { kind: 'not-routed', decision: notRouted(study, 'refused', 'unknown-site', reason, now, null), site: null };
  }
  const rule = matchRule(config, withDescriptionFlags(config, study.facts));
  if (rule.outcome === 'not-routed') {
    return { kind: 'not-routed', decision: notRouted(study, 'refused', rule.code, rule.reason, now, rule.rule ?? null), site: study.facts.site };
  }
  if (facts.objection) {
    if (facts.existing) return { kind: 'unchanged', decision: facts.existing }; // still held: nothing new to record
    const { objection } = facts;
    const reason =
      `the patient objects to teleradiology (opposition registered ${objection.recordedAt.toISOString()} under an identifier` +
      `${objection.issuer ? ` issued by ${objection.issuer}` : ''}): the study is stored and searchable but not routed; ` +
      'it is routed if the opposition is lifted and the study is completed again';
    return { kind: 'not-routed', decision: notRouted(study, 'held', 'patient-objection', reason, now, rule.rule.id), site: study.facts.site };
  }
  return routeToPool(config, study, rule, now);
}

/** A stroke named in the description of a CT/MR (AVC, thrombolyse...) counts as the sender's stroke flag. */
function withDescriptionFlags(config: RegionConfig, facts: StudyFacts): StudyFacts {
  if (facts.priorityFlags?.includes('stroke')) return facts;
  const classification = classifyExam(config, facts);
  if (classification.kind !== 'classified' || classification.category !== 'stroke') return facts;
  return { ...facts, priorityFlags: [...(facts.priorityFlags ?? []), 'stroke'] };
}

function routeToPool(config: RegionConfig, study: IndexedStudy, rule: MatchedRule, now: Date): RoutingPlan {
  const choice = choosePool(config, rule.candidates, now);
  const assignee = choice.held ? null : (choice.onCall.primary?.rpps ?? null);
  const { warningAt, deadline } = deadlineTimes(rule, now);
  const nextEscalationAt = escalationSchedule(rule.escalation, now, rule.warningMs, rule.deadlineMs)[0]?.at ?? null;
  const notify = poolsToNotify(rule.notify, choice);
  const reader = assignee ? config.readerByRpps.get(assignee) : undefined;
  const item: NewReadItem = {
    studyInstanceUID: study.studyInstanceUID,
    site: rule.site.finess,
    territory: rule.territory,
    modality: primaryModality(study.facts.modalities),
    bodyPart: study.facts.bodyPart ?? null,
    category: rule.category,
    priority: { id: rule.priority.id, rank: rule.priority.rank },
    pool: choice.pool,
    assignee,
    routedAt: now,
    warningAt,
    deadline,
    escalationChain: rule.escalation?.id ?? null,
    nextEscalationAt,
    notifiedPools: notify,
  };
  const decision: Omit<RoutingDecision, 'itemId'> = {
    studyInstanceUID: study.studyInstanceUID,
    decision: 'routed',
    code: choice.held ? 'no-one-on-call' : null,
    rule: rule.rule.id,
    pool: choice.pool,
    reader: assignee,
    reason: routedReason(rule, choice, reader?.name),
    decidedAt: now,
  };
  const events: ItemEvent[] = [
    {
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
    ...notify.map((pool): ItemEvent => {
      const onCall = resolveOnCall(config, pool, now);
      return {
        type: 'notified',
        actor: SYSTEM,
        at: now,
        detail: { pool, onCall: onCall.primary?.rpps ?? null, reason: `rule ${rule.rule.id} notifies ${pool}` },
      };
    }),
  ];
  return { kind: 'route', item, decision, events };
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

/** The modality shown on the worklist: the first image modality of the study (CT for CT + SR). */
function primaryModality(modalities: readonly string[]): string {
  const nonImage = new Set(['SR', 'KO', 'PR', 'DOC', 'REG', 'SEG']);
  return modalities.find((m) => !nonImage.has(m)) ?? modalities[0] ?? 'OT';
}
