/**
 * "Send this study to AE X": the send requests an administrator made and what each C-STORE answered. PostgreSQL
 * holds every request (the job queue carries its id only); the worker (worker/send/) moves it through
 * pending -> sending -> done | partly-failed | failed, back to pending while it retries.
 */
import type { Database } from '../database/database.ts';

export const STUDY_SEND_STATUSES = ['pending', 'sending', 'done', 'partly-failed', 'failed'] as const;
export type StudySendStatus = (typeof STUDY_SEND_STATUSES)[number];

export interface StudySendRecord {
  id: string;
  studyInstanceUID: string;
  /** Id of the peer in the regional configuration (dicomPeers). */
  peer: string;
  requestedBy: string;
  status: StudySendStatus;
  attempts: number;
  instances: { total: number; stored: number; failed: number };
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export interface InstanceSendResult {
  sopInstanceUID: string;
  /** The peer's C-STORE status, null when not sent. */
  status: number | null;
  comment?: string;
  stored: boolean;
}

interface SendRow {
  id: string;
  study_uid: string;
  peer: string;
  requested_by: string;
  status: StudySendStatus;
  attempts: number;
  instances_total: number;
  instances_stored: number;
  instances_failed: number;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

const COLUMNS = `id::text AS id, study_uid, peer, requested_by, status, attempts, instances_total, instances_stored,
  instances_failed, last_error, created_at, updated_at, finished_at`;

export class StudySendStore {
  constructor(private readonly database: Database) {}

  async create(request: { studyInstanceUID: string; peer: string; requestedBy: string; at: Date }): Promise<StudySendRecord> {
    const { rows } = await this.database.query<SendRow>(
      `INSERT INTO study_send (study_uid, peer, requested_by, status, created_at, updated_at)
       VALUES ($1, $2, $3, 'pending', $4, $4) RETURNING ${COLUMNS}`,
      [request.studyInstanceUID, request.peer, request.requestedBy, request.at],
    );
    return recordOf(rows[0]!);
  }

  async find(id: string): Promise<StudySendRecord | null> {
    if (!/^\d{1,18}$/.test(id)) return null;
    const { rows } = await this.database.query<SendRow>(`SELECT ${COLUMNS} FROM study_send WHERE id = $1`, [id]);
    return rows[0] ? recordOf(rows[0]) : null;
  }

  /** The sends of a study, newest first. */
  async ofStudy(studyInstanceUID: string): Promise<StudySendRecord[]> {
    const { rows } = await this.database.query<SendRow>(`SELECT ${COLUMNS} FROM study_send WHERE study_uid = $1 ORDER BY id DESC LIMIT 200`, [studyInstanceUID]);
    return rows.map(recordOf);
  }

  /** Each instance's last C-STORE answer. */
  async instancesOf(id: string): Promise<InstanceSendResult[]> {
    const { rows } = await this.database.query<{ sop_instance_uid: string; status: number | null; comment: string | null }>(
      'SELECT sop_instance_uid, status, comment FROM study_send_instance WHERE send_id = $1 ORDER BY sop_instance_uid',
      [id],
    );
    return rows.map((r) => ({ sopInstanceUID: r.sop_instance_uid, status: r.status, ...(r.comment ? { comment: r.comment } : {}), stored: isStoredStatus(r.status) }));
  }

  /** A try starts: counts it; null when the send is already finished (or unknown). */
  async begin(id: string, total: number, at: Date): Promise<StudySendRecord | null> {
    const { rows } = await this.database.query<SendRow>(
      `UPDATE study_send SET status = 'sending', attempts = attempts + 1, instances_total = $2, updated_at = $3
       WHERE id = $1 AND status IN ('pending', 'sending') RETURNING ${COLUMNS}`,
      [id, total, at],
    );
    return rows[0] ? recordOf(rows[0]) : null;
  }

  /** The association ended: every instance's answer, and the send's status from them. */
  async finish(id: string, results: readonly InstanceSendResult[], at: Date): Promise<StudySendRecord> {
    return this.database.withTransaction(async (client) => {
      for (const r of results) {
        await client.query(
          `INSERT INTO study_send_instance (send_id, sop_instance_uid, status, comment) VALUES ($1, $2, $3, $4)
           ON CONFLICT (send_id, sop_instance_uid) DO UPDATE SET status = EXCLUDED.status, comment = EXCLUDED.comment`,
          [id, r.sopInstanceUID, r.status, r.comment?.slice(0, 500) ?? null],
        );
      }
      const stored = results.filter((r) => r.stored).length;
      const failed = results.length - stored;
      const status: StudySendStatus = failed === 0 ? 'done' : stored === 0 ? 'failed' : 'partly-failed';
      const firstFailure = results.find((r) => !r.stored);
      const lastError = firstFailure ? `${failed} instance(s) refused, e.g. ${describeResult(firstFailure)}` : null;
      const { rows } = await client.query<SendRow>(
        `UPDATE study_send SET status = $2, instances_total = $3, instances_stored = $4, instances_failed = $5,
           last_error = COALESCE($6, last_error), updated_at = $7, finished_at = $7 WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, status, results.length, stored, failed, lastError, at],
      );
      return recordOf(rows[0]!);
    });
  }

  /** A try failed (association refused, peer down): pending again until the last try, then failed. */
  async recordFailure(id: string, error: string, final: boolean, at: Date): Promise<StudySendRecord | null> {
    const { rows } = await this.database.query<SendRow>(
      `UPDATE study_send SET status = $2::text, last_error = $3, updated_at = $4::timestamptz,
         finished_at = CASE WHEN $2::text = 'failed' THEN $4::timestamptz ELSE NULL END
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, final ? 'failed' : 'pending', error.slice(0, 1000), at],
    );
    return rows[0] ? recordOf(rows[0]) : null;
  }

  /** Sends to queue again: pending ones, and ones left `sending` by a worker that stopped (10 minutes idle). */
  async unfinished(): Promise<string[]> {
    const { rows } = await this.database.query<{ id: string }>(
      `SELECT id::text AS id FROM study_send
       WHERE status = 'pending' OR (status = 'sending' AND updated_at < now() - interval '10 minutes') ORDER BY id LIMIT 1000`,
    );
    return rows.map((r) => r.id);
  }
}

/** Success, or stored with a warning (0xBxxx), as PS3.4 B.2.3 says. */
export function isStoredStatus(status: number | null): boolean {
  return status !== null && (status === 0 || (status & 0xf000) === 0xb000);
}

function describeResult(r: InstanceSendResult): string {
  const status = r.status === null ? 'not sent' : `status 0x${r.status.toString(16).padStart(4, '0')}`;
  return `${r.sopInstanceUID}: ${status}${r.comment ? ` (${r.comment})` : ''}`;
}

function recordOf(row: SendRow): StudySendRecord {
  return {
    id: row.id,
    studyInstanceUID: row.study_uid,
    peer: row.peer,
    requestedBy: row.requested_by,
    status: row.status,
    attempts: row.attempts,
    instances: { total: row.instances_total, stored: row.instances_stored, failed: row.instances_failed },
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}
