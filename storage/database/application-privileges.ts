import type pg from 'pg';

/**
 * What the application role (gateway and workers) may do, granted by the owner role after every migration.
 * Everything else (ALTER, DROP, TRUNCATE, TRIGGER, DISABLE TRIGGER, ownership) stays with the owner; the
 * application role is no superuser, so it cannot set session_replication_role either.
 */
const SCHEMAS = ['public', 'bullmq'] as const;

/**
 * Tables whose rows are never changed nor deleted: the application role gets only these privileges on them
 * (their triggers refuse the rest even to the owner, but an owner can disable triggers; this role cannot).
 * audit_head moves by UPDATE inside audit_append(), its trigger allows one step along the chain only.
 */
const RESTRICTED_TABLES: Readonly<Record<string, string>> = {
  audit_event: 'SELECT, INSERT',
  audit_head: 'SELECT, UPDATE',
  signed_report: 'SELECT, INSERT',
  schema_migrations: 'SELECT',
};

/** Serialises the grants of processes starting together (concurrent GRANTs on one object fail). */
const PRIVILEGES_LOCK_KEY = 7_325_190_041;

/** Grants `role` its privileges on every table and sequence of the application's schemas, idempotently. */
export async function grantApplicationPrivileges(ownerPool: pg.Pool, role: string): Promise<void> {
  const client = await ownerPool.connect();
  try {
    const grantee = client.escapeIdentifier(role);
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [PRIVILEGES_LOCK_KEY]);
    const { rows } = await client.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname = ANY($1)', [SCHEMAS]);
    for (const { nspname } of rows) {
      const schema = client.escapeIdentifier(nspname);
      await client.query(`GRANT USAGE ON SCHEMA ${schema} TO ${grantee}`);
      // BullMQ creates a job-id sequence per queue when it first adds a job there (next_job_id()); nothing but
      // jobs carrying ids lives in its schema, and creating objects gives no right on those of others.
      if (nspname === 'bullmq') await client.query(`GRANT CREATE ON SCHEMA ${schema} TO ${grantee}`);
      else await client.query(`REVOKE CREATE ON SCHEMA ${schema} FROM ${grantee}`);
      await client.query(`REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA ${schema} FROM ${grantee}`);
      await client.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${grantee}`);
      await client.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${grantee}`);
    }
    const restricted = await client.query<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname = ANY($1)`,
      [Object.keys(RESTRICTED_TABLES)],
    );
    for (const { relname } of restricted.rows) {
      const table = client.escapeIdentifier(relname);
      await client.query(`REVOKE ALL ON ${table} FROM ${grantee}`);
      await client.query(`GRANT ${RESTRICTED_TABLES[relname]} ON ${table} TO ${grantee}`);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
