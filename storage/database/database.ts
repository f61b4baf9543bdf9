import { ConfigurationError } from '../../core/configuration-error.ts';
import { redactUrl } from '../../core/redact-url.ts';
import pg from 'pg';
import type { Settings } from '../../config/settings.ts';
import { grantApplicationPrivileges } from './application-privileges.ts';
import { EmbeddedPostgresServer } from './embedded-postgres-server.ts';

export type DatabaseSettings = Settings['database'];

export interface DatabaseOptions {
  /** Pool size. Default 20 (the embedded server allows 100 connections). */
  maxConnections?: number;
  /** Idle-client and embedded server events (a dropped idle connection, an orphan server stopped, ...). */
  onEvent?: (message: string) => void;
  /** Embedded server settings overriding the defaults (see DEFAULT_SERVER_SETTINGS). */
  embeddedServerSettings?: Record<string, string | number>;
}

/**
 * One driver (node-postgres), one code path: the embedded server is started first and then reached by URL
 * exactly like an external DATABASE_URL server.
 */
export interface Database {
  readonly kind: DatabaseSettings['kind'];
  readonly pool: pg.Pool;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /**
   * Runs fn (migrations) on a pool of the owner role, then grants the application role its privileges
   * (storage/database/application-privileges.ts). Without a separate owner (DATABASE_URL alone), fn gets the
   * application pool.
   */
  asOwner<T>(fn: (pool: pg.Pool) => Promise<T>): Promise<T>;
  /** True when the application connects as a role of its own, apart from the owner role that migrates. */
  readonly leastPrivilege: boolean;
  /** Runs fn in BEGIN ... COMMIT on one connection; ROLLBACK if it throws (the error is rethrown). */
  withTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** Ends the pool, then stops the embedded server if this Database started it. */
  close(): Promise<void>;
}

/** PostgreSQL cannot be reached or started: the message says which server and what to check. */
export class DatabaseUnavailableError extends ConfigurationError {
  constructor(message: string) {
    super([message], message);
    this.name = 'DatabaseUnavailableError';
  }
}

export async function openDatabase(settings: DatabaseSettings, options: DatabaseOptions = {}): Promise<Database> {
  let server: EmbeddedPostgresServer | undefined;
  let url: string;
  let ownerUrl: string | undefined;
  if (settings.kind === 'embedded') {
    server = new EmbeddedPostgresServer({
      dir: settings.dir,
      port: settings.port,
      settings: options.embeddedServerSettings,
      onEvent: options.onEvent,
    });
    try {
      ownerUrl = await server.start();
      url = server.applicationUrl!;
      server.supervise();
    } catch (error) {
      throw new DatabaseUnavailableError(
        `The embedded PostgreSQL server could not start: ${(error as Error).message}\n` +
          'To use an existing PostgreSQL server instead, set DATABASE_URL=postgresql://user:password@host:5432/database.',
      );
    }
  } else {
    url = settings.url;
    ownerUrl = settings.ownerUrl;
    if (!ownerUrl) {
      options.onEvent?.(
        'DATABASE_OWNER_URL is not set: migrations run as the role of DATABASE_URL, which therefore owns the tables ' +
          'and could alter them, disable the audit triggers and rewrite audit events. Set DATABASE_OWNER_URL to the ' +
          'owner role and give DATABASE_URL a role of its own (docs/operations.md, "PostgreSQL roles").',
      );
    }
  }

  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 20,
    application_name: 'astreinte',
    // A new PostgreSQL backend plans and runs its first queries several times slower (cold catalog caches:
    // measured 25 ms against 4 ms for a QIDO study search): keep connections through quiet hours rather than
    // the driver's default 10 s, and a few of them for good.
    idleTimeoutMillis: 15 * 60_000,
    min: Math.min(4, options.maxConnections ?? 20),
  });
  // An idle connection dropped by the server must not crash the process; the pool replaces it.
  pool.on('error', (error) => options.onEvent?.(`idle database connection lost: ${error.message}`));
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    const where = settings.kind === 'external' ? `DATABASE_URL (${redactUrl(url)})` : `the embedded server (${redactUrl(url)})`;
    throw new DatabaseUnavailableError(
      `Cannot connect to PostgreSQL at ${where}: ${(error as Error).message}. ` +
        (settings.kind === 'external'
          ? 'Check that the server is running and that DATABASE_URL has the right host, port, user, password and database, or unset DATABASE_URL to use the embedded server.'
          : 'Set DATABASE_URL to use an external PostgreSQL server instead.'),
    );
  }

  const applicationRole = decodeURIComponent(new URL(url).username);
  const separateOwner = ownerUrl !== undefined && decodeURIComponent(new URL(ownerUrl).username) !== applicationRole;
  let closed = false;
  return {
    kind: settings.kind,
    pool,
    leastPrivilege: separateOwner,
    asOwner: (fn) => (separateOwner ? runAsOwner(ownerUrl!, applicationRole, fn) : fn(pool)),
    query: (text, values) => pool.query(text, values),
    withTransaction: (fn) => withTransaction(pool, fn),
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
      await server?.stop();
    },
  };
}

async function runAsOwner<T>(ownerUrl: string, applicationRole: string, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const owner = new pg.Pool({ connectionString: ownerUrl, max: 2, application_name: 'astreinte-migrate' });
  owner.on('error', () => undefined);
  try {
    await owner.query('SELECT 1').catch((error: Error) => {
      throw new DatabaseUnavailableError(
        `Cannot connect to PostgreSQL as the owner role (${redactUrl(ownerUrl)}): ${error.message}. ` +
          'Check DATABASE_OWNER_URL (user, password, host, database).',
      );
    });
    const result = await fn(owner);
    await grantApplicationPrivileges(owner, applicationRole);
    return result;
  } finally {
    await owner.end();
  }
}

export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
      client.release();
    } catch (rollbackError) {
      // The connection is unusable: destroy it instead of returning it to the pool.
      client.release(rollbackError as Error);
    }
    throw error;
  }
}
