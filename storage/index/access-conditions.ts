import { readerSeesStudySql } from '../worklist/item-visibility.ts';
import type { AccessScope } from './dicom-index.ts';

/**
 * SQL conditions (on the alias `st` of the study table) restricting a query to what an AccessScope may see:
 * a sender's own site, a reader's studies as the worklist's visibility rules define them.
 * `add` binds a value and returns its placeholder: values are never spliced into the SQL.
 */
export function accessConditions(scope: AccessScope, add: (value: unknown) => string): string[] {
  const conditions: string[] = [];
  if (scope.site !== null) conditions.push(`st.site = ${add(scope.site)}`);
  if (scope.reader) conditions.push(readerSeesStudySql(scope.reader, 'st', add));
  return conditions;
}
