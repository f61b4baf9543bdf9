import { runMigrations } from '../database/migrate.ts';
import { STUDY_SEND_MIGRATIONS } from '../database/migration-sources.ts';
import type { Database } from '../database/database.ts';
import type { RefusedInstance, SendOutcome, StudySend, StudySendStatus, StudySendStore } from './study-send-store.ts';

interface SendRow {
  id: string;
  study_instance_uid: string;
  peer: string;
  requested_by: string;
  requested_at: Date;
  status: StudySendStatus;
  attempts: number;
  instances: number | null;
  stored: number | null;
  refused: RefusedInstance[];
  last_error: string | null;
  updated_at: Date;
  finished_at: Date | null;
}

const COLUMNS = 'id, study_instance_uid, peer, requested_by, requested_at, status, attempts, instances, stored, refused, last_error, updated_at, finished_at';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const sendOf = (r: SendRow): StudySend => ({
  id: r.id,
  studyInstanceUID: r.study_instance_uid,
  peer: r.peer,
  requestedBy: r.requested_by,
  requestedAt: r.requested_at,
  status: r.status,
  attempts: r.attempts,
  instances: r.instances,
  stored: r.stored,
  refused: r.refused,
  lastError: r.last_error,
  updatedAt: r.updated_at,
  finishedAt: r.finished_at,
});

export class PostgresStudySendStore implements StudySendStore {
  constructor(private readonly database: Database) {}

  async migrate(): Promise<void> {
    await this.database.asOwner((pool) => runMigrations(pool, [STUDY_SEND_MIGRATIONS]));
  }

  async create(request: { id: string; studyInstanceUID: string; peer: string; requestedBy: string; at: Date }): Promise<StudySend> {
    const result = await this.database.query<SendRow>(
      `INSERT INTO study_send (id, study_instance_uid, peer, requested_by, requested_at, status, updated_at)
       VALUES ($1, $2, $3, $4, $5, 'pending', $5) RETURNING ${COLUMNS}`,
      [request.id, request.studyInstanceUID, request.peer, request.requestedBy, request.at],
    );
    return sendOf(result.rows[0]);
  }

  async find(id: string): Promise<StudySend | null> {
    if (!UUID.test(id)) return null;
    const result = await this.database.query<SendRow>(`SELECT ${COLUMNS} FROM study_send WHERE id = $1`, [id]);
    return result.rows[0] ? sendOf(result.rows[0]) : null;
  }

  async listForStudy(studyInstanceUID: string): Promise<StudySend[]> {
    const result = await this.database.query<SendRow>(
      `SELECT ${COLUMNS} FROM study_send WHERE study_instance_uid = $1 ORDER BY requested_at DESC, id LIMIT 100`,
      [studyInstanceUID],
    );
    return result.rows.map(sendOf);
  }

  async startAttempt(id: string, at: Date): Promise<StudySend | null> {
    const result = await this.database.query<SendRow>(
      `UPDATE study_send SET status = 'sending', attempts = attempts + 1, updated_at = $2
       WHERE id = $1 AND status IN ('pending', 'sending', 'retrying') RETURNING ${COLUMNS}`,
      [id, at],
    );
    return result.rows[0] ? sendOf(result.rows[0]) : null;
  }

  async finishAttempt(id: string, outcome: SendOutcome): Promise<void> {
    const final = outcome.status !== 'retrying';
    await this.database.query(
      `UPDATE study_send SET status = $2, instances = COALESCE($3, instances), stored = COALESCE($4, stored),
         refused = COALESCE($5::jsonb, refused), last_error = $6, updated_at = $7::timestamptz,
         finished_at = CASE WHEN $8::boolean THEN $7::timestamptz ELSE NULL END
       WHERE id = $1`,
      [
        id,
        outcome.status,
        outcome.instances ?? null,
        outcome.stored ?? null,
        outcome.refused ? JSON.stringify(outcome.refused) : null,
        outcome.error ?? null,
        outcome.at,
        final,
      ],
    );
  }

  async findUnfinished(staleBefore: Date, limit: number): Promise<string[]> {
    const result = await this.database.query<{ id: string }>(
      `SELECT id FROM study_send
       WHERE status = 'pending' OR (status IN ('sending', 'retrying') AND updated_at < $1)
       ORDER BY requested_at LIMIT $2`,
      [staleBefore, limit],
    );
    return result.rows.map((r) => r.id);
  }
}
