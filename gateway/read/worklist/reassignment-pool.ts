/**
 * Which pool a reassigned item may go to: giving an item to a pool gives that pool's readers its images, so a
 * reassignment may not carry a study out of the places routing could have sent it.
 * - a territorial pool (pdses, territorial daytime backup) only of the item's own territory;
 * - a regional pool (expertise pole, pneumology, regional daytime backup) only when a routing rule that may apply
 *   to the item's site names it (as a candidate, a pool told, or an escalation step of the rule's chain). Rules
 *   are read for their territory, site and site-kind conditions only: a coordinator reassigns precisely when the
 *   exam turned out to need other hands than its category said (a "neuro" CT that needs the neuroradiology pole);
 * - and the pool must contain the new assignee (a member, or for an expertise pole a reader qualified for it).
 */
import type { RegionConfig, RoutingRule } from '../../../config/region/region-config.ts';
import { poolsOf } from './worklist-viewer.ts';

export interface ReassignedItem {
  site: string;
  territory: string;
}

/** Why the pool cannot take the item with this assignee (French then English, for the coordinator), or undefined. */
export function reassignmentPoolProblem(config: RegionConfig, item: ReassignedItem, poolId: string, assignee: string): string | undefined {
  const pool = config.poolById.get(poolId);
  if (!pool) return `Pool inconnu ${JSON.stringify(poolId)}. (Unknown pool.)`;
  if (pool.territory !== undefined && pool.territory !== item.territory) {
    return (
      `${pool.name} est une ligne d'un autre territoire : l'examen reste dans son territoire ou va à un pôle régional que les règles de routage prévoient pour lui. ` +
      `(${pool.id} belongs to another territory; choose a pool of the exam's territory or a regional pool the routing rules allow for it.)`
    );
  }
  if (pool.territory === undefined && !config.rules.some((rule) => ruleMayApply(config, rule, item) && rulePools(config, rule).has(pool.id))) {
    return (
      `Aucune règle de routage n'envoie les examens de ce site à ${pool.name}. ` +
      `(No routing rule sends this site's exams to ${pool.id}; choose a pool the rules allow for it.)`
    );
  }
  if (!poolsOf(config, assignee, true).has(pool.id)) {
    return (
      `Ce lecteur n'appartient pas à ${pool.name} : choisissez un lecteur de ce pool, ou un autre pool. ` +
      `(The reader is not a member of ${pool.id}; choose one of its readers, or another pool.)`
    );
  }
  return undefined;
}

function ruleMayApply(config: RegionConfig, rule: RoutingRule, item: ReassignedItem): boolean {
  const { territories, sites, siteKinds } = rule.match;
  const siteKind = config.siteByFiness.get(item.site)?.kind;
  return (
    (territories === undefined || territories.includes(item.territory)) &&
    (sites === undefined || sites.includes(item.site)) &&
    (siteKinds === undefined || (siteKind !== undefined && siteKinds.includes(siteKind)))
  );
}

/** The regional pools a rule may send to: its named candidates, the pools it tells, its escalation chain's pools. */
function rulePools(config: RegionConfig, rule: RoutingRule): Set<string> {
  const pools = new Set<string>(rule.route.notify);
  for (const target of rule.route.pools) if (target.kind === 'pool') pools.add(target.pool);
  const chain = rule.route.escalation === undefined ? undefined : config.chainById.get(rule.route.escalation);
  for (const step of chain?.steps ?? []) if (step.kind === 'pool') pools.add(step.pool);
  return pools;
}
