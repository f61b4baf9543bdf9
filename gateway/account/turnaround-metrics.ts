/**
 * The turnaround histograms of `/metrics`, read from PostgreSQL at scrape time (storage/indicators/
 * turnaround-histograms.ts): routing and delivery may run in a worker process that serves no `/metrics`, and the
 * steps are durable rows there anyway, so every gateway answers the same whole-region figures and a restart loses
 * nothing. Labels are mapped onto the regional configuration (unknown values become `other`): bounded cardinality.
 */
import type { Metric, MetricValueWithName, Registry } from 'prom-client';
import type { RegionConfig } from '../../config/region/region-config.ts';
import { EXAM_CATEGORIES } from '../../config/region/region-config.ts';
import { turnaroundHistograms, type TurnaroundGroup } from '../../storage/indicators/turnaround-histograms.ts';
import type { Queryable } from '../../storage/report/report-store.ts';

/** Seconds: 10 s to 2 days (an urgent read is due within the hour, a scheduled one within days). */
export const TURNAROUND_BUCKETS = [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400, 172_800] as const;

type Labels = { territory: string; site: string; priority: string; category: string; step?: string };

export function registerTurnaroundMetrics(registry: Registry, database: Queryable, config: RegionConfig): void {
  let pending: { at: number; groups: Promise<TurnaroundGroup[]> } | undefined;
  // One query per scrape serves both metrics.
  const groups = () => {
    const now = Date.now();
    if (!pending || now - pending.at > 1000) pending = { at: now, groups: turnaroundHistograms(database, TURNAROUND_BUCKETS) };
    return pending.groups;
  };
  const metric = (name: string, help: string, pick: (g: TurnaroundGroup) => boolean, withStep: boolean): Metric<string> => {
    const shape = {
      name,
      help,
      type: 'histogram',
      aggregator: 'omit',
      async get() {
        const values: MetricValueWithName<string>[] = [];
        for (const g of merged((await groups()).filter(pick), config)) {
          const labels: Labels = { territory: g.territory, site: g.site, priority: g.priority, category: g.category };
          if (withStep) labels.step = g.step;
          TURNAROUND_BUCKETS.forEach((le, i) => values.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: g.cumulative[i] }));
          values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: g.count });
          values.push({ metricName: `${name}_sum`, labels, value: g.sumSeconds });
          values.push({ metricName: `${name}_count`, labels, value: g.count });
        }
        return { name, help, type: 'histogram', aggregator: 'omit', values };
      },
    };
    return shape as unknown as Metric<string>;
  };
  registry.registerMetric(
    metric(
      'astreinte_item_step_duration_seconds',
      'Time a reading item spent in each step (receivedToStable, stableToRouted, routedToClaimed, claimedToOpened, ' +
        'openedToSigned, signedToDelivered), by territory, site (FINESS), priority and exam category; whole region, from the database',
      (g) => g.step !== 'receivedToDelivered',
      true,
    ),
  );
  registry.registerMetric(
    metric(
      'astreinte_item_turnaround_seconds',
      'Whole turnaround of a reading item, first instance received to signed report delivered, by territory, site, priority and exam category',
      (g) => g.step === 'receivedToDelivered',
      false,
    ),
  );
}

/** Groups whose labels map to the same bounded values (`other`) are added up: one series per label set. */
function merged(groups: TurnaroundGroup[], config: RegionConfig): TurnaroundGroup[] {
  const byKey = new Map<string, TurnaroundGroup>();
  for (const g of groups) {
    const bounded = { ...g, ...boundedLabels(g, config) };
    const key = [bounded.territory, bounded.site, bounded.priority, bounded.category, bounded.step].join('\u0000');
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, { ...bounded, cumulative: [...bounded.cumulative] });
    else {
      seen.count += g.count;
      seen.sumSeconds += g.sumSeconds;
      seen.cumulative = seen.cumulative.map((n, i) => n + g.cumulative[i]);
    }
  }
  return [...byKey.values()];
}

function boundedLabels(g: TurnaroundGroup, config: RegionConfig): Omit<Labels, 'step'> {
  const site = config.siteByFiness.get(g.site);
  return {
    territory: config.territoryById.has(g.territory) ? g.territory : 'other',
    site: site ? site.finess : 'other',
    priority: config.priorityById.has(g.priority) ? g.priority : 'other',
    category: (EXAM_CATEGORIES as readonly string[]).includes(g.category) ? g.category : 'other',
  };
}
