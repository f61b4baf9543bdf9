import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseUnavailableError, openDatabase, type Database } from '../../storage/database/database.ts';
import { runMigrations, type MigrationSource } from '../../storage/database/migrate.ts';
import { DICOM_INDEX_MIGRATIONS } from '../../storage/database/migration-sources.ts';
import { freePort } from '../support/free-port.ts';
import { createTestDatabase, startTestPostgres, type TestPostgres } from '../support/postgres.ts';

let server: TestPostgres;
let tmp: string;

beforeAll(async () => {
  server = await startTestPostgres();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'astreinte-migrations-'));
});
afterAll(async () => {
  await server?.stop();
  await rm(tmp, { recursive: true, force: true });
});

async function freshDatabase(): Promise<Database> {
  return openDatabase({ kind: 'external', url: await createTestDatabase(server.url) });
}

let dirCounter = 0;
async function migrationDir(files: Record<string, string>): Promise<string> {
  const dir = path.join(tmp, `m${++dirCounter}`);
  await mkdir(dir);
  for (const [name, sql] of Object.entries(files)) await writeFile(path.join(dir, name), sql);
  return dir;
}

describe('openDatabase', () => {
  it('names DATABASE_URL, without its password, when the external server cannot be reached', async () => {
    const url = `postgresql://astreinte:s3cret-pass@127.0.0.1:${await freePort()}/astreinte`;
    const error = await openDatabase({ kind: 'external', url }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as Error).message).toMatch(/DATABASE_URL/);
    expect((error as Error).message).toMatch(/127\.0\.0\.1/);
    expect((error as Error).message).not.toMatch(/s3cret-pass/);
  });

  it('rolls a transaction back when its function throws, and commits otherwise', async () => {
    const db = await freshDatabase();
    try {
      await db.query('CREATE TABLE t (v int)');
      await expect(
        db.withTransaction(async (client) => {
          await client.query('INSERT INTO t VALUES (1)');
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      await db.withTransaction((client) => client.query('INSERT INTO t VALUES (2)'));
      expect((await db.query<{ v: number }>('SELECT v FROM t')).rows).toEqual([{ v: 2 }]);
    } finally {
      await db.close();
    }
  });
});

describe('runMigrations', () => {
  it('applies scopes in order, each version once, and records them', async () => {
    const db = await freshDatabase();
    try {
      const base: MigrationSource = {
        scope: 'base',
        directory: await migrationDir({
          '001-create.sql': 'CREATE TABLE a (id int PRIMARY KEY);',
          '002-more.sql': 'ALTER TABLE a ADD COLUMN label text;',
        }),
      };
      const feature: MigrationSource = {
        scope: 'feature',
        directory: await migrationDir({ '001-refs.sql': 'CREATE TABLE b (a_id int REFERENCES a (id));' }),
      };
      const applied = await runMigrations(db.pool, [base, feature]);
      expect(applied).toEqual([
        { scope: 'base', version: 1, name: 'create' },
        { scope: 'base', version: 2, name: 'more' },
        { scope: 'feature', version: 1, name: 'refs' },
      ]);
      expect(await runMigrations(db.pool, [base, feature])).toEqual([]);
      await writeFile(path.join(base.directory, '003-later.sql'), 'CREATE INDEX a_label ON a (label);');
      expect(await runMigrations(db.pool, [base, feature])).toEqual([{ scope: 'base', version: 3, name: 'later' }]);
    } finally {
      await db.close();
    }
  });

  it('lets several processes start at once: the advisory lock makes one apply, the others wait', async () => {
    const url = await createTestDatabase(server.url);
    const source: MigrationSource = {
      scope: 'concurrent',
      directory: await migrationDir({
        '001-slow.sql': 'SELECT pg_sleep(0.3); CREATE TABLE c (id int);',
        '002-next.sql': 'ALTER TABLE c ADD COLUMN v int;',
      }),
    };
    const dbs = await Promise.all(Array.from({ length: 4 }, () => openDatabase({ kind: 'external', url })));
    try {
      const results = await Promise.all(dbs.map((db) => runMigrations(db.pool, [source])));
      expect(results.flat()).toHaveLength(2);
      const { rows } = await dbs[0].query('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows).toEqual([{ version: 1 }, { version: 2 }]);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });

  it('rolls a failed migration back and names it; it applies once fixed', async () => {
    const db = await freshDatabase();
    try {
      const source: MigrationSource = {
        scope: 'broken',
        directory: await migrationDir({ '001-half.sql': 'CREATE TABLE half (id int); SELECT no_such_function();' }),
      };
      await expect(runMigrations(db.pool, [source])).rejects.toThrow(/broken 1-half failed: .*no_such_function/);
      expect((await db.query("SELECT to_regclass('half') AS t")).rows[0].t).toBeNull();
      await writeFile(path.join(source.directory, '001-half.sql'), 'CREATE TABLE half (id int);');
      expect(await runMigrations(db.pool, [source])).toHaveLength(1);
    } finally {
      await db.close();
    }
  });

  it('refuses to start when an applied migration was edited', async () => {
    const db = await freshDatabase();
    try {
      const source: MigrationSource = { scope: 'edited', directory: await migrationDir({ '001-x.sql': 'CREATE TABLE x (id int);' }) };
      await runMigrations(db.pool, [source]);
      await writeFile(path.join(source.directory, '001-x.sql'), 'CREATE TABLE x (id bigint);');
      await expect(runMigrations(db.pool, [source])).rejects.toThrow(/edited 1-x was changed after it was applied/);
    } finally {
      await db.close();
    }
  });

  it('runs a no-transaction migration outside a transaction (CREATE INDEX CONCURRENTLY)', async () => {
    const db = await freshDatabase();
    try {
      const source: MigrationSource = {
        scope: 'concurrently',
        directory: await migrationDir({
          '001-table.sql': 'CREATE TABLE y (id int);',
          '002-index.sql': '-- migrate: no-transaction\nCREATE INDEX CONCURRENTLY y_id ON y (id);',
        }),
      };
      expect(await runMigrations(db.pool, [source])).toHaveLength(2);
    } finally {
      await db.close();
    }
  });

  it('applies the index on a server that refuses the pg_trgm extension: name searches still work, without the trigram index', async () => {
    // A role owning its database but without CREATE on it, as on a managed server that refuses extensions.
    const admin = await openDatabase({ kind: 'external', url: server.url });
    const url = new URL(await createTestDatabase(server.url));
    const database = url.pathname.slice(1);
    const role = `owner_${database}`;
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'owner-password'`);
      await admin.query(`ALTER DATABASE ${database} OWNER TO ${role}`);
      await admin.query(`REVOKE CREATE ON DATABASE ${database} FROM ${role}, PUBLIC`);
    } finally {
      await admin.close();
    }
    url.username = role;
    url.password = 'owner-password';
    const db = await openDatabase({ kind: 'external', url: url.toString() });
    try {
      expect(await runMigrations(db.pool, [DICOM_INDEX_MIGRATIONS])).toContainEqual({ scope: 'dicom-index', version: 5, name: 'patient-name-trigram-index' });
      expect((await db.query(`SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'`)).rowCount).toBe(0);
      expect((await db.query(`SELECT 1 FROM pg_indexes WHERE indexname = 'patient_name_upper_trgm_idx'`)).rowCount).toBe(0);
      await db.query(`INSERT INTO patient (identity_key, patient_name, patient_name_upper) VALUES ('k1', 'DUPRÉ^Élodie', 'DUPRÉ^ÉLODIE')`);
      const { rows } = await db.query<{ patient_name: string }>(`SELECT patient_name FROM patient WHERE patient_name_upper LIKE '%UPR%'`);
      expect(rows).toEqual([{ patient_name: 'DUPRÉ^Élodie' }]);
    } finally {
      await db.close();
    }
  });

  it('refuses badly named files and duplicate versions', async () => {
    const db = await freshDatabase();
    try {
      const badName = { scope: 'bad', directory: await migrationDir({ 'create.sql': 'SELECT 1;' }) };
      await expect(runMigrations(db.pool, [badName])).rejects.toThrow(/NNN-what-it-does\.sql/);
      const duplicate = { scope: 'dup', directory: await migrationDir({ '001-a.sql': 'SELECT 1;', '1-b.sql': 'SELECT 1;' }) };
      await expect(runMigrations(db.pool, [duplicate])).rejects.toThrow(/share version 1/);
    } finally {
      await db.close();
    }
  });
});
