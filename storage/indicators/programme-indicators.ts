/**
 * The regional programme's indicators, by period and site, aggregates only (no patient data): interpretations
 * (signed reports) urgent and not, their distribution by hour of the day, exams and volume archived, expert
 * opinions and their outcomes, TB screening read delays, and the median and 90th percentile of each step of an
 * item. Each figure counts rows the audit trail also records (report-signed, second-opinion answers), which is
 * what lets a test reconcile the two.
 */
import type { Queryable } from '../report/report-store.ts';

export interface IndicatorQuery {
  from: Date;
  to: Date;
  /** FINESS numbers to report on (the caller's visible sites). */
  sites: string[];
  /** Priorities counted as urgent (deadline of an hour or less). */
  urgentPriorities: string[];
  timeZone: string;
}

export interface StepFigures {
  count: number;
  medianSeconds: number | null;
  p90Seconds: number | null;
}

export const STEPS = ['receivedToStable', 'stableToRouted', 'routedToClaimed', 'claimedToSigned', 'signedToDelivered', 'routedToSigned'] as const;
export type StepName = (typeof STEPS)[number];

export interface SiteIndicators {
  site: string;
  interpretations: { urgent: number; nonUrgent: number; total: number };
  /** Signed reports by hour of the day (0–23) in the region's zone. */
  hourly: number[];
  archived: { studies: number; instances: number; bytes: number };
  expertOpinions: { asked: number; answered: number; transferAdvised: number; transferAvoided: number; thrombolysisIndicated: number };
  tbScreening: { read: number; readDelayMedianMinutes: number | null; readDelayP90Minutes: number | null };
  steps: Record<StepName, StepFigures>;
}

const REPORT_CLASSES = ['1.2.840.10008.5.1.4.1.1.88.11', '1.2.840.10008.5.1.4.1.1.104.1'];

export async function programmeIndicators(db: Queryable, q: IndicatorQuery): Promise<SiteIndicators[]> {
  const args = [q.from, q.to, q.sites];
  const [reads, hours, archived, opinions, tb, steps] = await Promise.all([
    db.query<{ site: string; urgent: number; total: number }>(
      `SELECT r.site, count(*) FILTER (WHERE i.priority = ANY($4))::int AS urgent, count(*)::int AS total
       FROM signed_report r JOIN worklist_item i ON i.id = r.item_id
       WHERE r.kind = 'report' AND r.signed_at >= $1 AND r.signed_at < $2 AND r.site = ANY($3) GROUP BY r.site`,
      [...args, q.urgentPriorities],
    ),
    db.query<{ site: string; hour: number; n: number }>(
      `SELECT site, extract(hour FROM signed_at AT TIME ZONE $4)::int AS hour, count(*)::int AS n
       FROM signed_report WHERE kind = 'report' AND signed_at >= $1 AND signed_at < $2 AND site = ANY($3) GROUP BY 1, 2`,
      [...args, q.timeZone],
    ),
    db.query<{ site: string; studies: number; instances: number; bytes: string }>(
      `SELECT i.site, count(DISTINCT s.study_pk)::int AS studies, count(*)::int AS instances, sum(i.size)::text AS bytes
       FROM instance i JOIN series s ON s.pk = i.series_pk
       WHERE i.received_at >= $1 AND i.received_at < $2 AND i.site = ANY($3) AND NOT (i.sop_class_uid = ANY($4)) GROUP BY i.site`,
      [...args, REPORT_CLASSES],
    ),
    db.query<{ site: string; asked: number; answered: number; advised: number; avoided: number; thrombolysis: number }>(
      `SELECT site, count(*)::int AS asked,
         count(*) FILTER (WHERE status = 'COMPLETED' AND outcome IS NOT NULL)::int AS answered,
         count(*) FILTER (WHERE (outcome->>'transferAdvised')::boolean IS TRUE)::int AS advised,
         count(*) FILTER (WHERE (outcome->>'transferAdvised')::boolean IS FALSE)::int AS avoided,
         count(*) FILTER (WHERE (outcome->>'thrombolysisIndicated')::boolean IS TRUE)::int AS thrombolysis
       FROM worklist_item WHERE kind = 'second-opinion' AND routed_at >= $1 AND routed_at < $2 AND site = ANY($3) GROUP BY site`,
      args,
    ),
    db.query<{ site: string; n: number; median: number | null; p90: number | null }>(
      `SELECT i.site, count(*)::int AS n,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.signed_at - i.routed_at)) / 60 AS median,
         percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM r.signed_at - i.routed_at)) / 60 AS p90
       FROM signed_report r JOIN worklist_item i ON i.id = r.item_id
       WHERE r.kind = 'report' AND i.category = 'chest-tb-screening' AND r.signed_at >= $1 AND r.signed_at < $2 AND r.site = ANY($3)
       GROUP BY i.site`,
      args,
    ),
    db.query<{ site: string; step: StepName; n: number; median: number | null; p90: number | null }>(
      `WITH items AS (
         SELECT i.site, i.routed_at, i.claimed_at, sa.stable_at,
                (SELECT min(ins.received_at) FROM instance ins JOIN series se ON se.pk = ins.series_pk JOIN study st ON st.pk = se.study_pk
                  WHERE st.study_instance_uid = i.study_instance_uid AND NOT (ins.sop_class_uid = ANY($4))) AS received_at,
                signed.at AS signed_at, delivered.at AS delivered_at
         FROM worklist_item i
         LEFT JOIN study_activity sa ON sa.study_instance_uid = i.study_instance_uid
         LEFT JOIN item_step signed ON signed.item_id = i.id AND signed.step = 'signed'
         LEFT JOIN item_step delivered ON delivered.item_id = i.id AND delivered.step = 'delivered'
         WHERE i.kind = 'read' AND i.routed_at >= $1 AND i.routed_at < $2 AND i.site = ANY($3)
       ), durations AS (
         SELECT site, 'receivedToStable' AS step, extract(epoch FROM stable_at - received_at) AS s FROM items
         UNION ALL SELECT site, 'stableToRouted', extract(epoch FROM routed_at - stable_at) FROM items
         UNION ALL SELECT site, 'routedToClaimed', extract(epoch FROM claimed_at - routed_at) FROM items
         UNION ALL SELECT site, 'claimedToSigned', extract(epoch FROM signed_at - claimed_at) FROM items
         UNION ALL SELECT site, 'signedToDelivered', extract(epoch FROM delivered_at - signed_at) FROM items
         UNION ALL SELECT site, 'routedToSigned', extract(epoch FROM signed_at - routed_at) FROM items
       )
       SELECT site, step, count(s)::int AS n,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS median, percentile_cont(0.9) WITHIN GROUP (ORDER BY s) AS p90
       FROM durations WHERE s IS NOT NULL AND s >= 0 GROUP BY site, step`,
      [...args, REPORT_CLASSES],
    ),
  ]);
  const round = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? null : Math.round(Number(v) * 10 ** digits) / 10 ** digits);
  return q.sites.map((site) => {
    const read = reads.rows.find((r) => r.site === site);
    const hourly = Array.from({ length: 24 }, (_, h) => hours.rows.find((r) => r.site === site && r.hour === h)?.n ?? 0);
    const stored = archived.rows.find((r) => r.site === site);
    const opinion = opinions.rows.find((r) => r.site === site);
    const screening = tb.rows.find((r) => r.site === site);
    const stepFigures = Object.fromEntries(
      STEPS.map((step) => {
        const row = steps.rows.find((r) => r.site === site && r.step === step);
        return [step, { count: row?.n ?? 0, medianSeconds: round(row?.median), p90Seconds: round(row?.p90) }];
      }),
    ) as Record<StepName, StepFigures>;
    return {
      site,
      interpretations: { urgent: read?.urgent ?? 0, nonUrgent: (read?.total ?? 0) - (read?.urgent ?? 0), total: read?.total ?? 0 },
      hourly,
      archived: { studies: stored?.studies ?? 0, instances: stored?.instances ?? 0, bytes: Number(stored?.bytes ?? 0) },
      expertOpinions: {
        asked: opinion?.asked ?? 0,
        answered: opinion?.answered ?? 0,
        transferAdvised: opinion?.advised ?? 0,
        transferAvoided: opinion?.avoided ?? 0,
        thrombolysisIndicated: opinion?.thrombolysis ?? 0,
      },
      tbScreening: { read: screening?.n ?? 0, readDelayMedianMinutes: round(screening?.median), readDelayP90Minutes: round(screening?.p90) },
      steps: stepFigures,
    };
  });
}
