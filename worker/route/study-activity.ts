/**
 * Study activity in PostgreSQL: when the last instance arrived, whether the sender declared the study complete
 * (with which flags). It is the durable record stability is judged from: the debounced job only saves waiting
 * for the sweep, so a job lost with Redis, or never queued, loses nothing.
 */
import type { Database } from '../../storage/database/database.ts';
import type { CompletionFlags } from './read-study-facts.ts';

export async function upsertStudyActivity(database: Database, studyInstanceUID: string, site: string | null, at: Date): Promise<void> {
  await database.query(
    `INSERT INTO study_activity (study_instance_uid, site, last_instance_at) VALUES ($1, $2, $3)
     ON CONFLICT (study_instance_uid) DO UPDATE
       SET last_instance_at = GREATEST(study_activity.last_instance_at, EXCLUDED.last_instance_at),
           site = COALESCE(study_activity.site, EXCLUDED.site)`,
    [studyInstanceUID, site, at],
  );
}

/** Records the sender's completion; false when the study is not in the index (nothing to complete). */
export async function recordCompletion(
  database: Database,
  studyInstanceUID: string,
  flags: CompletionFlags,
  at: Date,
): Promise<boolean> {
  const { rowCount } = await database.query(
    `INSERT INTO study_activity (study_instance_uid, site, last_instance_at, completed_by_sender_at, sender_flags)
     SELECT s.study_instance_uid, s.site, $2, $2, $3::jsonb FROM study s WHERE s.study_instance_uid = $1
     ON CONFLICT (study_instance_uid) DO UPDATE
       SET completed_by_sender_at = COALESCE(study_activity.completed_by_sender_at, EXCLUDED.completed_by_sender_at),
           sender_flags = study_activity.sender_flags || EXCLUDED.sender_flags`,
    [studyInstanceUID, at, JSON.stringify(flags)],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * Stable studies (no instance since `stableBefore`, or declared complete) that are in the index and have no
 * routing decision: their job was lost, never queued, or its worker died mid-routing. Also indexed studies
 * with no activity at all (the gateway records activity after answering the STOW: a crash in between), judged
 * by their instances' arrival, with 5 minutes of grace: the activity of a live gateway always comes first.
 */
export async function findStableUnrouted(database: Database, stableBefore: Date, limit: number): Promise<string[]> {
  const { rows } = await database.query<{ study_instance_uid: string }>(
    `(SELECT a.study_instance_uid, a.last_instance_at AS last_at
        FROM study_activity a
       WHERE a.stable_at IS NULL
         AND (a.last_instance_at <= $1 OR a.completed_by_sender_at IS NOT NULL)
         AND NOT EXISTS (SELECT 1 FROM routing_decision d WHERE d.study_instance_uid = a.study_instance_uid)
         AND EXISTS (SELECT 1 FROM study s WHERE s.study_instance_uid = a.study_instance_uid))
     UNION ALL
     (SELECT s.study_instance_uid, s.created_at AS last_at
        FROM study s
       WHERE s.created_at <= $1::timestamptz - interval '5 minutes'
         AND NOT EXISTS (SELECT 1 FROM study_activity a WHERE a.study_instance_uid = s.study_instance_uid)
         AND NOT EXISTS (SELECT 1 FROM routing_decision d WHERE d.study_instance_uid = s.study_instance_uid)
         AND NOT EXISTS (SELECT 1 FROM series se JOIN instance i ON i.series_pk = se.pk
                          WHERE se.study_pk = s.pk AND i.received_at > $1::timestamptz - interval '5 minutes'))
     ORDER BY last_at
     LIMIT $2`,
    [stableBefore, limit],
  );
  return rows.map((r) => r.study_instance_uid);
}
