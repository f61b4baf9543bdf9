/**
 * Cumulative bucket counts of the time each reading item spent in each step (first instance received → stable →
 * routed → claimed → opened → signed → delivered) and of its whole turnaround (received → delivered), grouped by
 * territory, site, priority and exam category: what `/metrics` exposes as Prometheus histograms. Computed from
 * PostgreSQL so that steps recorded by any process (gateway or worker) count. Aggregates only: no item or study
 * identifier leaves this query.
 */
import type { Queryable } from '../report/report-store.ts';

export const TURNAROUND_STEPS = [
  'receivedToStable',
  'stableToRouted',
  'routedToClaimed',
  'claimedToOpened',
  'openedToSigned',
  'signedToDelivered',
  'receivedToDelivered',
] as const;
export type TurnaroundStep = (typeof TURNAROUND_STEPS)[number];

export interface TurnaroundGroup {
  territory: string;
  site: string;
  priority: string;
  category: string;
  step: TurnaroundStep;
  count: number;
  sumSeconds: number;
  /** Items whose duration is at most each bound of `buckets` (same order): cumulative, as Prometheus wants. */
  cumulative: number[];
}

const REPORT_CLASSES = ['1.2.840.10008.5.1.4.1.1.88.11', '1.2.840.10008.5.1.4.1.1.104.1'];

/** One row per (labels, step) that has at least one measured duration; negative durations (clock skew) are left out. */
export async function turnaroundHistograms(db: Queryable, buckets: readonly number[]): Promise<TurnaroundGroup[]> {
  const bucketColumns = buckets.map((_, i) => `count(*) FILTER (WHERE s <= ($2::float8[])[${i + 1}])::int`).join(', ');
  const result = await db.query<{
    territory: string;
    site: string;
    priority: string;
    category: string;
    step: TurnaroundStep;
    n: number;
    total: number;
    cumulative: number[];
  }>(
    `WITH items AS (
       SELECT i.territory, i.site, i.priority, i.category, i.routed_at, i.claimed_at, sa.stable_at,
              (SELECT min(ins.received_at) FROM instance ins JOIN series se ON se.pk = ins.series_pk JOIN study st ON st.pk = se.study_pk
                WHERE st.study_instance_uid = i.study_instance_uid AND NOT (ins.sop_class_uid = ANY($1))) AS received_at,
              opened.at AS opened_at, signed.at AS signed_at, delivered.at AS delivered_at
       FROM worklist_item i
       LEFT JOIN study_activity sa ON sa.study_instance_uid = i.study_instance_uid
       LEFT JOIN item_step opened ON opened.item_id = i.id AND opened.step = 'opened'
       LEFT JOIN item_step signed ON signed.item_id = i.id AND signed.step = 'signed'
       LEFT JOIN item_step delivered ON delivered.item_id = i.id AND delivered.step = 'delivered'
       WHERE i.kind = 'read'
     ), durations AS (
       SELECT territory, site, priority, category, 'receivedToStable' AS step, extract(epoch FROM stable_at - received_at)::float8 AS s FROM items
       UNION ALL SELECT territory, site, priority, category, 'stableToRouted', extract(epoch FROM routed_at - stable_at)::float8 FROM items
       UNION ALL SELECT territory, site, priority, category, 'routedToClaimed', extract(epoch FROM claimed_at - routed_at)::float8 FROM items
       UNION ALL SELECT territory, site, priority, category, 'claimedToOpened', extract(epoch FROM opened_at - claimed_at)::float8 FROM items
       UNION ALL SELECT territory, site, priority, category, 'openedToSigned', extract(epoch FROM signed_at - opened_at)::float8 FROM items
       UNION ALL SELECT territory, site, priority, category, 'signedToDelivered', extract(epoch FROM delivered_at - signed_at)::float8 FROM items
       UNION ALL SELECT territory, site, priority, category, 'receivedToDelivered', extract(epoch FROM delivered_at - received_at)::float8 FROM items
     )
     SELECT territory, site, priority, category, step, count(*)::int AS n, sum(s)::float8 AS total, ARRAY[${bucketColumns}] AS cumulative
     FROM durations WHERE s IS NOT NULL AND s >= 0 GROUP BY territory, site, priority, category, step`,
    [REPORT_CLASSES, buckets],
  );
  return result.rows.map((r) => ({
    territory: r.territory,
    site: r.site,
    priority: r.priority,
    category: r.category,
    step: r.step,
    count: r.n,
    sumSeconds: Number(r.total),
    cumulative: r.cumulative.map(Number),
  }));
}
