/**
 * Streams rows of audit_event in batches through a server-side cursor, inside one REPEATABLE READ, READ ONLY
 * transaction: the whole read sees one snapshot (the head and the events agree) without loading the table.
 */
import type pg from 'pg';
import type { AuditEvent, RecordedAuditEvent } from './audit-event.ts';

export interface AuditRow extends RecordedAuditEvent {
  /** The recorded_at and type_code columns, kept apart from the hashed event to check that they agree. */
  recordedAt: Date;
  typeCode: string;
}

export interface AuditSnapshot {
  /** The head row as seen by this snapshot, or undefined when it is missing. */
  head: { seq: number; hash: string } | undefined;
  /** Rows of the query, in its order, `batchSize` at a time. */
  rows(): AsyncGenerator<AuditRow[]>;
}

interface RawRow {
  seq: string;
  recorded_at: Date;
  type_code: string;
  event: AuditEvent;
  prev_hash: string;
  hash: string;
}

export const AUDIT_COLUMNS = 'seq, recorded_at, type_code, event, prev_hash, hash';

/**
 * Runs `use` with a snapshot whose rows come from `SELECT <AUDIT_COLUMNS> FROM audit_event <where>`; `where`
 * holds the filter and ORDER BY, with $1.. bound to `values`.
 */
export async function withAuditSnapshot<T>(
  pool: pg.Pool,
  query: { where: string; values: unknown[]; batchSize?: number },
  use: (snapshot: AuditSnapshot) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows: heads } = await client.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_head WHERE singleton');
    const head = heads[0] ? { seq: Number(heads[0].seq), hash: heads[0].hash } : undefined;
    await client.query(`DECLARE audit_rows NO SCROLL CURSOR FOR SELECT ${AUDIT_COLUMNS} FROM audit_event ${query.where}`, query.values);
    const batchSize = query.batchSize ?? 1000;
    const result = await use({
      head,
      async *rows() {
        for (;;) {
          const { rows } = await client.query<RawRow>(`FETCH FORWARD ${batchSize} FROM audit_rows`);
          if (rows.length === 0) return;
          yield rows.map(toAuditRow);
          if (rows.length < batchSize) return;
        }
      },
    });
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

function toAuditRow(row: RawRow): AuditRow {
  return {
    seq: Number(row.seq),
    prevHash: row.prev_hash,
    hash: row.hash,
    event: row.event,
    recordedAt: row.recorded_at,
    typeCode: row.type_code,
  };
}
