import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';

/**
 * Versioned SQL migrations.
 *
 * Each feature keeps its own migrations next to its code, in its own *scope* (an independent sequence):
 * `storage/index/migrations/001-dicom-index.sql` is version 1 of scope 'dicom-index'. Files are named
 * `NNN-what-it-does.sql` (NNN: a number, unique within the directory) and applied in number order, each in its
 * own transaction, recorded in `schema_migrations (scope, version)` with a checksum: a file changed after it
 * was applied stops start-up (add a new migration instead). A file whose first line is
 * `-- migrate: no-transaction` runs outside a transaction (for CREATE INDEX CONCURRENTLY).
 *
 * A session advisory lock serialises runners, so several processes may start at once: the first applies,
 * the others wait and then find nothing to do. Register new scopes in migration-sources.ts.
 */
export interface MigrationSource {
  /** Scope name recorded in schema_migrations, e.g. 'dicom-index', 'worklists'. */
  scope: string;
  /** Absolute path of the directory holding NNN-name.sql files. */
  directory: string;
}

export interface AppliedMigration {
  scope: string;
  version: number;
  name: string;
}

/** 'ASTREINT' as a big-endian int64: the advisory lock key of migration runners. */
const MIGRATION_LOCK_KEY = '4707866404396017236';
const FILE_PATTERN = /^(\d+)-([a-z0-9][a-z0-9_-]*)\.sql$/;
const NO_TRANSACTION = /^--\s*migrate:\s*no-transaction\b/;

interface MigrationFile {
  scope: string;
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** Applies the pending migrations of the given sources, in order; returns what it applied. */
export async function runMigrations(pool: pg.Pool, sources: MigrationSource[]): Promise<AppliedMigration[]> {
  const files = (await Promise.all(sources.map(readMigrations))).flat();
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        scope text NOT NULL,
        version integer NOT NULL,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, version)
      )`);
      const { rows } = await client.query<{ scope: string; version: number; checksum: string }>(
        'SELECT scope, version, checksum FROM schema_migrations',
      );
      const applied = new Map(rows.map((r) => [`${r.scope}/${r.version}`, r.checksum]));
      const done: AppliedMigration[] = [];
      for (const file of files) {
        const checksum = applied.get(`${file.scope}/${file.version}`);
        if (checksum !== undefined) {
          if (checksum !== file.checksum) {
            throw new Error(
              `Migration ${file.scope} ${file.version}-${file.name} was changed after it was applied to this ` +
                'database. Restore the original file and add a new migration for the change.',
            );
          }
          continue;
        }
        await applyMigration(client, file);
        done.push({ scope: file.scope, version: file.version, name: file.name });
      }
      return done;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}

async function applyMigration(client: pg.PoolClient, file: MigrationFile): Promise<void> {
  const record = () =>
    client.query('INSERT INTO schema_migrations (scope, version, name, checksum) VALUES ($1, $2, $3, $4)', [
      file.scope,
      file.version,
      file.name,
      file.checksum,
    ]);
  try {
    if (NO_TRANSACTION.test(file.sql)) {
      await client.query(file.sql);
      await record();
      return;
    }
    await client.query('BEGIN');
    try {
      await client.query(file.sql);
      await record();
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  } catch (error) {
    throw new Error(`Migration ${file.scope} ${file.version}-${file.name} failed: ${(error as Error).message}`);
  }
}

async function readMigrations(source: MigrationSource): Promise<MigrationFile[]> {
  const names = (await readdir(source.directory)).filter((n) => n.endsWith('.sql')).sort();
  const files: MigrationFile[] = [];
  const seen = new Map<number, string>();
  for (const fileName of names) {
    const match = FILE_PATTERN.exec(fileName);
    if (!match) {
      throw new Error(`${path.join(source.directory, fileName)}: migration files are named NNN-what-it-does.sql`);
    }
    const version = Number.parseInt(match[1], 10);
    const clash = seen.get(version);
    if (clash) throw new Error(`${source.directory}: ${clash} and ${fileName} share version ${version}`);
    seen.set(version, fileName);
    const sql = await readFile(path.join(source.directory, fileName), 'utf8');
    files.push({
      scope: source.scope,
      version,
      name: match[2],
      sql,
      checksum: createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex'),
    });
  }
  return files.sort((a, b) => a.version - b.version);
}
