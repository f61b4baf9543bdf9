/**
 * Checks that need the whole file: references between sections, duplicates, overlapping shifts and
 * assignments, qualifications and entitlements, and that every rule can reach a pool for every site it
 * may match. Each problem carries the path of the value to fix; the loader turns it into line:column.
 */
import {
  assignmentInstant,
  entitledSites,
  poolTargetOf,
  staffingOf,
  territoryTimezone,
  weeklyTimingOf,
} from './build-region-config.ts';
import { parseDuration, parseWarningPoint } from './duration.ts';
import { WEEKDAYS, type Expertise, type PoolKind, type Qualification, type Weekday } from './region-config.ts';
import type { RegionFile, RegionFileRota, RegionFileStaffing } from './region-schema.ts';
import type { ConfigPath } from './yaml-locator.ts';

export interface PathProblem {
  path: ConfigPath;
  message: string;
}

const RADIOLOGISTS: Qualification[] = ['radiologist', 'neuroradiologist', 'cardiovascular-imaging'];
const EXPERTISE_QUALIFICATION: Record<Expertise, Qualification> = {
  neuroradiology: 'neuroradiologist',
  'cardiovascular-imaging': 'cardiovascular-imaging',
  pneumology: 'pneumologist',
  neurosurgery: 'neurosurgeon',
};
const WEEK_MINUTES = 7 * 1440;

export function crossCheckRegion(file: RegionFile): PathProblem[] {
  const problems: PathProblem[] = [];
  const report = (path: ConfigPath, message: string) => problems.push({ path, message });

  const territories = uniqueIndex(file.territories, (t) => t.id, ['territories'], 'id', 'territory', report);
  const sites = uniqueIndex(file.sites, (s) => s.finess, ['sites'], 'finess', 'site', report);
  const readers = uniqueIndex(file.readers, (r) => r.rpps, ['readers'], 'rpps', 'reader', report);
  const pools = uniqueIndex(file.pools, (p) => p.id, ['pools'], 'id', 'pool', report);
  const priorities = uniqueIndex(file.priorities, (p) => p.id, ['priorities'], 'id', 'priority', report);
  const chains = uniqueIndex(file.escalationChains, (c) => c.id, ['escalationChains'], 'id', 'escalation chain', report);
  uniqueIndex(file.rules, (r) => r.id, ['rules'], 'id', 'rule', report);
  uniqueIndex(file.dicomPeers, (p) => p.id, ['dicomPeers'], 'id', 'DICOM peer', report);
  uniqueIndex(file.excludedModalities, (m) => m.modality, ['excludedModalities'], 'modality', 'excluded modality', report);

  const knownTerritory = (id: string, path: ConfigPath) => {
    if (!territories.has(id)) report(path, `unknown territory "${id}"; territories are: ${list(territories.keys())}`);
  };
  const knownSite = (finess: string, path: ConfigPath) => {
    if (!sites.has(finess)) report(path, `unknown site "${finess}": no site has this FINESS; add it under sites or fix the number`);
  };
  const knownPool = (id: string, path: ConfigPath) => {
    if (!pools.has(id)) report(path, `unknown pool "${id}"; pools are: ${list(pools.keys())}`);
  };

  const aeTitles = new Map<string, string>();
  file.sites.forEach((site, i) => {
    knownTerritory(site.territory, ['sites', i, 'territory']);
    site.aeTitles.forEach((ae, j) => {
      const key = ae.trim().toUpperCase();
      const owner = aeTitles.get(key);
      if (owner !== undefined) report(['sites', i, 'aeTitles', j], `AE title ${ae} is already used by site ${owner}; each AE title identifies one site`);
      else aeTitles.set(key, site.finess);
    });
    const destinationIds = new Set<string>();
    site.reportDestinations.forEach((d, j) => {
      const id = d.id ?? `${d.kind}-${j + 1}`;
      if (destinationIds.has(id)) report(['sites', i, 'reportDestinations', j, 'id'], `destination id ${id} is used twice for this site; give each destination its own id`);
      destinationIds.add(id);
    });
  });

  file.readers.forEach((reader, i) => {
    reader.sites.forEach((s, j) => knownSite(s, ['readers', i, 'sites', j]));
    reader.territories.forEach((t, j) => knownTerritory(t, ['readers', i, 'territories', j]));
    if (reader.sites.length === 0 && reader.territories.length === 0) {
      report(['readers', i], `reader ${reader.rpps} (${reader.name}) is entitled to no site: list FINESS numbers under sites or territory ids under territories`);
    }
  });

  const pdsesByTerritory = new Map<string, string>();
  file.pools.forEach((pool, i) => {
    if (pool.territory !== undefined) knownTerritory(pool.territory, ['pools', i, 'territory']);
    if (pool.kind === 'pdses') {
      if (pool.territory === undefined) report(['pools', i], `PDSES pool ${pool.id} needs a territory: the on-call line belongs to one territory`);
      else if (pdsesByTerritory.has(pool.territory)) {
        report(['pools', i, 'territory'], `territory ${pool.territory} already has the PDSES pool ${pdsesByTerritory.get(pool.territory)}; a territory has one PDSES line`);
      } else pdsesByTerritory.set(pool.territory, pool.id);
    }
    if (pool.kind === 'expertise-pole' && pool.expertise === undefined) {
      report(['pools', i], `expertise pole ${pool.id} needs expertise: one of neuroradiology, cardiovascular-imaging, neurosurgery, pneumology`);
    }
    if (pool.kind !== 'expertise-pole' && pool.expertise !== undefined) {
      report(['pools', i, 'expertise'], `only expertise-pole pools take an expertise; remove it or change the kind`);
    }
    const needed: Qualification[] =
      pool.kind === 'pdses' || pool.kind === 'daytime-backup'
        ? RADIOLOGISTS
        : pool.kind === 'pneumology'
          ? ['pneumologist']
          : pool.expertise
            ? [EXPERTISE_QUALIFICATION[pool.expertise]]
            : [];
    const seen = new Set<string>();
    pool.members.forEach((rpps, j) => {
      if (seen.has(rpps)) report(['pools', i, 'members', j], `reader ${rpps} is listed twice in pool ${pool.id}`);
      seen.add(rpps);
      const reader = readers.get(rpps);
      if (!reader) report(['pools', i, 'members', j], `unknown reader ${rpps}: no reader has this RPPS; add them under readers`);
      else if (needed.length > 0 && !reader.qualifications.some((q) => needed.includes(q))) {
        report(['pools', i, 'members', j], `${reader.name} (${rpps}) cannot sit in ${pool.kind} pool ${pool.id}: it needs one of the qualifications ${needed.join(', ')}`);
      }
    });
  });

  const rotaPools = new Map<string, number>();
  file.rotas.forEach((rota, i) => {
    const base: ConfigPath = ['rotas', i];
    if (rotaPools.has(rota.pool)) report([...base, 'pool'], `pool ${rota.pool} already has a rota (rotas[${rotaPools.get(rota.pool)}]); merge them`);
    rotaPools.set(rota.pool, i);
    knownPool(rota.pool, [...base, 'pool']);
    const pool = pools.get(rota.pool);
    checkRota(file, rota, base, pool, report);
  });
  file.pools.forEach((pool, i) => {
    if (pool.kind === 'pdses' && !rotaPools.has(pool.id)) {
      report(['pools', i], `PDSES pool ${pool.id} has no rota: add one under rotas with pool: ${pool.id}`);
    }
  });

  file.priorities.forEach((p, i) => {
    const deadline = parseDuration(p.deadline);
    if (deadline !== null && parseWarningPoint(p.warningAt, deadline) === null) {
      report(['priorities', i, 'warningAt'], `warning point ${p.warningAt} must fall within the deadline (${p.deadline}): use a share such as 50% or a shorter duration`);
    }
  });

  file.escalationChains.forEach((chain, i) => {
    const seen = new Set<string>();
    chain.steps.forEach((step, j) => {
      const key = JSON.stringify(step);
      if (seen.has(key)) report(['escalationChains', i, 'steps', j], `this step already appears earlier in chain ${chain.id}`);
      seen.add(key);
      if (typeof step === 'object' && 'pool' in step) knownPool(step.pool, ['escalationChains', i, 'steps', j, 'pool']);
      if (typeof step === 'object' && 'reader' in step && !readers.has(step.reader)) {
        report(['escalationChains', i, 'steps', j, 'reader'], `unknown reader ${step.reader}: no reader has this RPPS`);
      }
    });
  });

  file.rules.forEach((rule, i) => {
    const base: ConfigPath = ['rules', i];
    rule.match.sites?.forEach((s, j) => knownSite(s, [...base, 'match', 'sites', j]));
    rule.match.territories?.forEach((t, j) => knownTerritory(t, [...base, 'match', 'territories', j]));
    if (rule.match.pattern !== undefined) {
      try {
        new RegExp(rule.match.pattern, 'iu');
      } catch (error) {
        report([...base, 'match', 'pattern'], `not a valid regular expression (${(error as Error).message}); matching is case-insensitive, no need for (?i)`);
      }
    }
    rule.route.pools.forEach((t, j) => {
      const target = poolTargetOf(t);
      if (!target) report([...base, 'route', 'pools', j], `${t}: after territory: write a pool kind (pdses, daytime-backup, expertise-pole, pneumology)`);
      else if (target.kind === 'pool') knownPool(target.pool, [...base, 'route', 'pools', j]);
    });
    rule.route.notify.forEach((p, j) => knownPool(p, [...base, 'route', 'notify', j]));
    if (!priorities.has(rule.route.priority)) {
      report([...base, 'route', 'priority'], `unknown priority "${rule.route.priority}"; priorities are: ${list(priorities.keys())}`);
    }
    if (rule.route.escalation !== undefined && !chains.has(rule.route.escalation)) {
      report([...base, 'route', 'escalation'], `unknown escalation chain "${rule.route.escalation}"; chains are: ${list(chains.keys())}`);
    }
    const deadline = rule.route.deadline === undefined ? priorityDeadline(file, rule.route.priority) : parseDuration(rule.route.deadline);
    if (rule.route.warningAt !== undefined && deadline !== null && parseWarningPoint(rule.route.warningAt, deadline) === null) {
      report([...base, 'route', 'warningAt'], `warning point ${rule.route.warningAt} must fall within the rule's deadline`);
    }
  });

  if (problems.length === 0) checkRuleReach(file, report);
  return problems;
}

function priorityDeadline(file: RegionFile, id: string): number | null {
  const p = file.priorities.find((x) => x.id === id);
  return p ? parseDuration(p.deadline) : null;
}

type Report = (path: ConfigPath, message: string) => void;

function checkRota(
  file: RegionFile,
  rota: RegionFileRota,
  base: ConfigPath,
  pool: RegionFile['pools'][number] | undefined,
  report: Report,
): void {
  const members = new Set(pool?.members ?? []);
  const checkPair = (reader: string, backup: string, path: ConfigPath) => {
    for (const [role, rpps] of [
      ['reader', reader],
      ['backup', backup],
    ] as const) {
      if (pool && !members.has(rpps)) {
        report([...path, role], `${rpps} is not a member of pool ${pool.id}: add them to its members or choose a member`);
      }
    }
    if (reader === backup) report([...path, 'backup'], `the backup must be someone other than the reader on call`);
  };
  const checkStaffing = (raw: RegionFileStaffing, path: ConfigPath) => {
    const staffing = staffingOf(raw);
    if (!staffing) {
      report(path, 'give either reader + backup (RPPS numbers) or a rotation { anchor, every, turns: [{ reader, backup }, ...] }, not both');
      return;
    }
    if (staffing.kind === 'fixed') checkPair(staffing.reader, staffing.backup, path);
    else staffing.turns.forEach((t, k) => checkPair(t.reader, t.backup, [...path, 'rotation', 'turns', k]));
  };

  if (rota.weekly.length === 0 && rota.publicHolidays === undefined && rota.assignments.length === 0) {
    report(base, `the rota of ${rota.pool} is empty: add weekly shifts, publicHolidays or dated assignments`);
  }
  if (rota.publicHolidays !== undefined && rota.closedOnPublicHolidays) {
    report([...base, 'closedOnPublicHolidays'], 'a rota either has a publicHolidays shift or is closed on public holidays, not both');
  }

  const occurrences: { shift: string; day: Weekday; start: number; length: number; index: number }[] = [];
  const shiftIds = new Set<string>();
  rota.weekly.forEach((shift, j) => {
    const path: ConfigPath = [...base, 'weekly', j];
    if (shiftIds.has(shift.id)) report([...path, 'id'], `shift id ${shift.id} is used twice in this rota`);
    shiftIds.add(shift.id);
    checkStaffing(shift, path);
    const timing = weeklyTimingOf(shift);
    if (typeof timing === 'string') {
      report(path, timing);
      return;
    }
    const length = timing.spanDays * 1440 + timing.end - timing.start;
    for (const day of timing.startDays) {
      occurrences.push({ shift: shift.id, day, start: WEEKDAYS.indexOf(day) * 1440 + timing.start, length, index: j });
    }
  });
  for (let a = 0; a < occurrences.length; a++) {
    for (let b = a + 1; b < occurrences.length; b++) {
      const x = occurrences[a];
      const y = occurrences[b];
      const overlap =
        (y.start - x.start + WEEK_MINUTES) % WEEK_MINUTES < x.length ||
        (x.start - y.start + WEEK_MINUTES) % WEEK_MINUTES < y.length;
      if (overlap) {
        report(
          [...base, 'weekly', y.index],
          `shift ${y.shift} starting ${y.day} overlaps shift ${x.shift} starting ${x.day}: at any time at most one weekly shift may run (use dated assignments for exceptions)`,
        );
      }
    }
  }

  if (rota.publicHolidays !== undefined) checkStaffing(rota.publicHolidays, [...base, 'publicHolidays']);

  const timezone = territoryTimezone(file, pool?.territory);
  const spans = rota.assignments.map((a, j) => {
    const path: ConfigPath = [...base, 'assignments', j];
    checkPair(a.reader, a.backup, path);
    const from = assignmentInstant(a.from, timezone).getTime();
    const to = assignmentInstant(a.to, timezone).getTime();
    if (to <= from) report([...path, 'to'], `the assignment ends (${a.to}) before it starts (${a.from})`);
    return { from, to, j };
  });
  spans.sort((p, q) => p.from - q.from);
  for (let k = 1; k < spans.length; k++) {
    const previous = spans[k - 1];
    if (spans[k].from < previous.to) {
      report(
        [...base, 'assignments', spans[k].j, 'from'],
        `this dated assignment overlaps assignments[${previous.j}] (${rota.assignments[previous.j].from} -> ${rota.assignments[previous.j].to}) in pool ${rota.pool}; dated assignments of a pool may not overlap`,
      );
    }
  }

  if (pool?.kind === 'pdses' && pool.territory !== undefined) {
    const territorySites = file.sites.filter((s) => s.territory === pool.territory && s.membership === 'full');
    const rotaReaders = new Map<string, ConfigPath>();
    const note = (rpps: string, path: ConfigPath) => {
      if (!rotaReaders.has(rpps)) rotaReaders.set(rpps, path);
    };
    rota.weekly.forEach((shift, j) => staffingReaders(shift).forEach((r) => note(r, [...base, 'weekly', j])));
    if (rota.publicHolidays) staffingReaders(rota.publicHolidays).forEach((r) => note(r, [...base, 'publicHolidays']));
    rota.assignments.forEach((a, j) => [a.reader, a.backup].forEach((r) => note(r, [...base, 'assignments', j])));
    for (const [rpps, path] of rotaReaders) {
      const reader = file.readers.find((r) => r.rpps === rpps);
      if (!reader) continue;
      const entitled = entitledSites(file, reader);
      const missing = territorySites.filter((s) => !entitled.has(s.finess));
      if (missing.length > 0) {
        report(
          path,
          `${reader.name} (${rpps}) is on the PDSES rota of ${pool.territory} but is not entitled to read for ${missing.map((s) => `${s.name} (${s.finess})`).join(', ')}: add these sites (or the territory) to the reader's entitlements`,
        );
      }
    }
  }
}

function staffingReaders(raw: RegionFileStaffing): string[] {
  const staffing = staffingOf(raw);
  if (!staffing) return [];
  return staffing.kind === 'fixed' ? [staffing.reader, staffing.backup] : staffing.turns.flatMap((t) => [t.reader, t.backup]);
}

/** Every full site a rule may match must resolve at least one of the rule's pools. */
function checkRuleReach(file: RegionFile, report: Report): void {
  file.rules.forEach((rule, i) => {
    const reachable = file.sites.filter(
      (s) =>
        s.membership === 'full' &&
        (rule.match.siteKinds?.includes(s.kind) ?? true) &&
        (rule.match.sites?.includes(s.finess) ?? true) &&
        (rule.match.territories?.includes(s.territory) ?? true),
    );
    const stranded = reachable.filter(
      (site) =>
        !rule.route.pools.some((t) => {
          const target = poolTargetOf(t);
          if (!target) return false;
          if (target.kind === 'pool') return true;
          return file.pools.some((p) => p.kind === (target.poolKind as PoolKind) && p.territory === site.territory);
        }),
    );
    if (stranded.length > 0) {
      report(
        ['rules', i, 'route', 'pools'],
        `rule ${rule.id} can match ${stranded.map((s) => `${s.name} (territory ${s.territory})`).join(', ')} but none of its pools exists there: add the territory's pool or a regional pool id after the territory: targets`,
      );
    }
  });
}

function uniqueIndex<T>(
  items: T[],
  key: (item: T) => string,
  base: ConfigPath,
  field: string,
  what: string,
  report: Report,
): Map<string, T> {
  const index = new Map<string, T>();
  items.forEach((item, i) => {
    const k = key(item);
    if (index.has(k)) report([...base, i, field], `${what} ${k} is defined twice; ${field} values must be unique`);
    else index.set(k, item);
  });
  return index;
}

function list(keys: Iterable<string>): string {
  const all = [...keys];
  return all.length === 0 ? '(none defined)' : all.join(', ');
}
