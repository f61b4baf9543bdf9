import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { runMigrations, type AppliedMigration, type MigrationSource } from '../storage/database/migrate.ts';

/** The audit trail's tables (also listed in storage/database/migration-sources.ts with the same scope). */
export const AUDIT_MIGRATIONS: MigrationSource = {
  scope: 'audit',
  directory: fileURLToPath(new URL('./migrations', import.meta.url)),
};

/** Applies the audit scope only (tests, tools); the application applies it with every other scope. */
export function migrateAudit(pool: pg.Pool): Promise<AppliedMigration[]> {
  return runMigrations(pool, [AUDIT_MIGRATIONS]);
}
