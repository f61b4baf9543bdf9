import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { runMigrations, type AppliedMigration, type MigrationSource } from './migrate.ts';

const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

/** The DICOM index: patients, studies, series, instances (storage/index/migrations). */
export const DICOM_INDEX_MIGRATIONS: MigrationSource = {
  scope: 'dicom-index',
  directory: here('../index/migrations'),
};

/** Routing and worklists: study activity, routing decisions, items, events, incidents, oppositions. */
export const WORKLIST_MIGRATIONS: MigrationSource = {
  scope: 'worklist',
  directory: here('../worklist/migrations'),
};

/** Reports: signing keys, drafts, signed versions (immutable), deliveries, item step times (storage/report/migrations). */
export const REPORT_MIGRATIONS: MigrationSource = {
  scope: 'report',
  directory: here('../report/migrations'),
};

/** "Send this study to AE X": send requests and each instance's C-STORE status (storage/send/migrations). */
export const STUDY_SEND_MIGRATIONS: MigrationSource = {
  scope: 'study-send',
  directory: here('../send/migrations'),
};

/**
 * Every migration scope of the application, in dependency order (a scope may reference tables of the scopes
 * before it). Add a feature's scope here when it gets its own migrations directory.
 */
export const MIGRATION_SOURCES: readonly MigrationSource[] = [
  DICOM_INDEX_MIGRATIONS,
  WORKLIST_MIGRATIONS,
  { scope: 'audit', directory: here('../../audit/migrations') },
  REPORT_MIGRATIONS,
  STUDY_SEND_MIGRATIONS,
];

/** Applies every pending migration of the application (called once at start-up, safe to run concurrently). */
export function migrateAll(pool: pg.Pool): Promise<AppliedMigration[]> {
  return runMigrations(pool, [...MIGRATION_SOURCES]);
}
