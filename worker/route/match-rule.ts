/**
 * Picks the routing rule for an exam: the first rule of the region file whose conditions all hold. Gives
 * the candidate pools (territory targets resolved for the study's territory), the pools to notify, the
 * priority, the reading deadline and warning point, and the escalation chain, with a sentence saying
 * why. Pure: who is on call is decided afterwards by choosePool (worker/route/choose-pool.ts).
 */
import { normalizeWords } from '../../config/region/normalize-words.ts';
import type {
  EscalationChain,
  ExamCategory,
  Priority,
  RegionConfig,
  RoutingRule,
  Site,
} from '../../config/region/region-config.ts';
import { classifyExam, normalizeBodyPart, type ExamClassification, type StudyFacts } from './classify-exam.ts';

export type NotRoutedCode = 'unknown-site' | 'archive-only' | 'excluded-modality' | 'no-matching-rule' | 'no-pool';

export interface MatchedRule {
  outcome: 'matched';
  site: Site;
  territory: string;
  category: ExamCategory;
  rule: { id: string; description: string };
  /** Pool ids in order of preference; the first with someone on call should get the item. Never empty. */
  candidates: string[];
  /** Pools told about the item as well (e.g. the neuroradiology pole for a stroke); see poolsToNotify. */
  notify: string[];
  priority: Priority;
  deadlineMs: number;
  warningMs: number;
  escalation: EscalationChain | null;
  /** For the routing explanation: which rule and why it matched. */
  why: string;
}

export interface NotRouted {
  outcome: 'not-routed';
  code: NotRoutedCode;
  /** For the routing explanation and the audit trail; never contains patient data. */
  reason: string;
  site?: Site;
  category?: ExamCategory;
  rule?: string;
}

export type RuleDecision = MatchedRule | NotRouted;

export function matchRule(
  config: RegionConfig,
  facts: StudyFacts,
  classification: ExamClassification = classifyExam(config, facts),
): RuleDecision {
  const site = config.siteByFiness.get(facts.site);
  if (!site) {
    return {
      outcome: 'not-routed',
      code: 'unknown-site',
      reason: `no site with FINESS ${facts.site} in the region configuration; add it under sites to route its studies`,
    };
  }
  if (site.membership === 'archive-only') {
    return {
      outcome: 'not-routed',
      code: 'archive-only',
      site,
      reason: `${site.name} is an archive-only member of the shared PACS: its studies are stored and searchable, never routed`,
    };
  }
  if (classification.kind === 'excluded') {
    return { outcome: 'not-routed', code: 'excluded-modality', site, reason: classification.reason };
  }
  const category = classification.category;
  const rule = config.rules.find((r) => ruleMatches(r, site, category, facts));
  if (!rule) {
    return {
      outcome: 'not-routed',
      code: 'no-matching-rule',
      site,
      category,
      reason: `no routing rule matches a ${category} exam from ${site.name}; add a rule (a last rule without match catches everything)`,
    };
  }
  const candidates = candidatePools(config, rule, site.territory);
  if (candidates.length === 0) {
    return {
      outcome: 'not-routed',
      code: 'no-pool',
      site,
      category,
      rule: rule.id,
      reason: `rule ${rule.id} names no pool that exists for territory ${site.territory}`,
    };
  }
  const priority = config.priorityById.get(rule.route.priority) as Priority;
  const deadlineMs = rule.route.deadlineMs ?? priority.deadlineMs;
  return {
    outcome: 'matched',
    site,
    territory: site.territory,
    category,
    rule: { id: rule.id, description: rule.description },
    candidates,
    notify: rule.route.notify,
    priority,
    deadlineMs,
    warningMs: rule.route.warningMs ?? Math.min(priority.warningMs, deadlineMs),
    escalation: rule.route.escalation === undefined ? null : (config.chainById.get(rule.route.escalation) ?? null),
    why: `rule ${rule.id} (${rule.description}): ${category} exam (${classification.because}) from ${site.name}`,
  };
}

function ruleMatches(rule: RoutingRule, site: Site, category: ExamCategory, facts: StudyFacts): boolean {
  const m = rule.match;
  if (m.categories && !m.categories.includes(category)) return false;
  if (m.siteKinds && !m.siteKinds.includes(site.kind)) return false;
  if (m.sites && !m.sites.includes(site.finess)) return false;
  if (m.territories && !m.territories.includes(site.territory)) return false;
  if (m.modalities && !facts.modalities.some((x) => m.modalities?.includes(x.trim().toUpperCase()))) return false;
  if (m.bodyParts) {
    const part = normalizeBodyPart(facts.bodyPart);
    if (part === undefined || !m.bodyParts.includes(part)) return false;
  }
  if (m.flags && !(facts.priorityFlags ?? []).some((f) => m.flags?.includes(f))) return false;
  if (m.expertise && (facts.requestedExpertise === undefined || !m.expertise.includes(facts.requestedExpertise))) {
    return false;
  }
  const texts = [facts.studyDescription, facts.requestedProcedure].filter((t): t is string => Boolean(t));
  if (m.keywords) {
    const words = ` ${normalizeWords(texts.join(' '))} `;
    if (!m.keywords.some((k) => words.includes(` ${k} `))) return false;
  }
  if (m.pattern && !texts.some((t) => (m.pattern as RegExp).test(t))) return false;
  return true;
}

/** The rule's pools for this territory, in order, without duplicates or territory pools that do not exist. */
export function candidatePools(config: RegionConfig, rule: RoutingRule, territory: string): string[] {
  const pools: string[] = [];
  for (const target of rule.route.pools) {
    const id =
      target.kind === 'pool'
        ? target.pool
        : config.pools.find((p) => p.kind === target.poolKind && p.territory === territory)?.id;
    if (id !== undefined && !pools.includes(id)) pools.push(id);
  }
  return pools;
}

/** When the item escalates if unclaimed, and when it must be read. */
export function deadlineTimes(decision: MatchedRule, routedAt: Date): { warningAt: Date; deadline: Date } {
  return {
    warningAt: new Date(routedAt.getTime() + decision.warningMs),
    deadline: new Date(routedAt.getTime() + decision.deadlineMs),
  };
}
