/**
 * Appends audit events to the hash-chained trail in PostgreSQL (tables and audit_append() in
 * migrations/001-audit.sql).
 *
 * - `record(input)`: its own transaction, committed (durably) when the promise resolves. Concurrent calls are
 *   grouped: while one append is in flight, the events recorded meanwhile wait and then go together in one
 *   statement, one lock, one commit (group commit: the head lock is held across the commit's WAL flush, so
 *   one append at a time would cap the rate at one fsync per event).
 * - `recordIn(client, input)`: inside the caller's transaction, so that a change of state and its event
 *   commit (or roll back) together. The append locks the chain's head row until that transaction ends: every
 *   other append waits meanwhile. Call it as the LAST statement before COMMIT, and keep such transactions
 *   short (no network calls after it).
 *
 * Nothing here logs: event contents include patient identifiers.
 */
import os from 'node:os';
import type pg from 'pg';
import { systemClock, type Clock } from '../core/time/clock.ts';
import { buildAuditEvent, splitAuditInput, type AuditEvent, type AuditEventInput } from './audit-event.ts';
import { canonicalJson } from '../core/canonical-json.ts';

export interface AuditReceipt {
  seq: number;
  hash: string;
  /** The event's time (ISO 8601 UTC). */
  recorded: string;
}

/** What routes, the worker and the middleware need: a test may pass any implementation. */
export interface AuditRecorder {
  record(input: AuditEventInput): Promise<AuditReceipt>;
  recordIn(client: pg.ClientBase, input: AuditEventInput): Promise<AuditReceipt>;
}

export interface AuditTrailOptions {
  /** Source of the events' time. Default: the system clock. */
  clock?: Clock;
  /** Which instance writes (stored in each event). Default: the host name. */
  observer?: string;
}

export interface AuditHead {
  /** 0 while the trail is empty. */
  seq: number;
  hash: string;
}

/** An append that did not happen. The message never contains the event's content. */
export class AuditTrailError extends Error {
  /** PostgreSQL SQLSTATE when the database refused (e.g. 42883: audit migrations not applied). */
  readonly sqlState?: string;

  constructor(message: string, options: { cause?: unknown; sqlState?: string } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AuditTrailError';
    this.sqlState = options.sqlState;
  }
}

interface Pending {
  text: string;
  recorded: string;
  resolve(receipt: AuditReceipt): void;
  reject(error: unknown): void;
}

/** Events appended together at most (one statement). */
const MAX_BATCH = 500;

export class AuditTrail implements AuditRecorder {
  private readonly clock: Clock;
  private readonly observer: string;
  private readonly queue: Pending[] = [];
  private flushing = false;

  constructor(
    private readonly pool: pg.Pool,
    options: AuditTrailOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.observer = options.observer ?? os.hostname();
  }

  /**
   * Validates and time-stamps the event now, appends it with whatever else is waiting. An input with more
   * entities than one event holds is appended as consecutive parts in the same statement (all or none); the
   * receipt is the last part's.
   */
  record(input: AuditEventInput): Promise<AuditReceipt> {
    let events: AuditEvent[];
    try {
      events = this.buildAll(input);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const settled = { count: 0, failed: false };
      events.forEach((event, i) => {
        const last = i === events.length - 1;
        this.queue.push({
          text: canonicalJson(event),
          recorded: event.recorded,
          resolve: (receipt) => {
            if (last && !settled.failed) resolve(receipt);
          },
          reject: (error) => {
            if (settled.failed) return;
            settled.failed = true;
            reject(error);
          },
        });
      });
      void this.flush();
    });
  }

  async recordIn(client: pg.ClientBase, input: AuditEventInput): Promise<AuditReceipt> {
    const events = this.buildAll(input);
    const receipts = await append(client, events.map(canonicalJson));
    return { ...receipts[receipts.length - 1], recorded: events[events.length - 1].recorded };
  }

  /** The last appended event (seq 0 and the genesis hash while the trail is empty). */
  async head(): Promise<AuditHead> {
    const { rows } = await this.pool.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_head WHERE singleton');
    if (rows.length === 0) throw new AuditTrailError('audit_head has no row: the audit trail was tampered with or not migrated');
    return { seq: Number(rows[0].seq), hash: rows[0].hash };
  }

  private buildAll(input: AuditEventInput): AuditEvent[] {
    const now = this.clock.now();
    return splitAuditInput(input).map((part) => buildAuditEvent(part, now, this.observer));
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          const receipts = await append(
            this.pool,
            batch.map((p) => p.text),
          );
          batch.forEach((p, i) => p.resolve({ ...receipts[i], recorded: p.recorded }));
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}

async function append(db: pg.Pool | pg.ClientBase, texts: string[]): Promise<Omit<AuditReceipt, 'recorded'>[]> {
  try {
    // Named: parsed and planned once per connection (one append per request that touches patient data).
    const { rows } = await db.query<{ appended_seq: string; appended_hash: string }>({
      name: 'audit-append',
      text: 'SELECT * FROM audit_append($1::text[])',
      values: [texts],
    });
    if (rows.length !== texts.length) throw new Error(`audit_append() returned ${rows.length} rows for ${texts.length} events`);
    return rows.map((row) => ({ seq: Number(row.appended_seq), hash: row.appended_hash }));
  } catch (error) {
    throw appendError(error);
  }
}

function appendError(error: unknown): AuditTrailError {
  const e = error as Error & { code?: unknown };
  const sqlState = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
  if (sqlState === '42883' || sqlState === '42P01') {
    return new AuditTrailError(
      'The audit trail tables are missing: apply the migrations (the gateway does at start; scope "audit").',
      { cause: error, sqlState },
    );
  }
  // PostgreSQL's message (not its DETAIL, which may quote input) names the failure, not the event.
  return new AuditTrailError(`The audit event could not be appended: ${e.message ?? String(error)}`, { cause: error, sqlState });
}
