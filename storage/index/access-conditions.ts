import type { AccessScope } from './dicom-index.ts';

/**
 * SQL conditions (on the alias `st` of the study table) restricting a query to what an AccessScope may see.
 * `add` binds a value and returns its placeholder: values are never spliced into the SQL.
 */
export function accessConditions(scope: AccessScope, add: (value: unknown) => string): string[] {
  const conditions: string[] = [];
  if (scope.site !== null) conditions.push(`st.site = ${add(scope.site)}`);
  if (scope.reader) {
    const rpps = add(scope.reader.rpps);
    const pools = `${add(scope.reader.pools)}::text[]`;
    conditions.push(
      `EXISTS (SELECT 1 FROM worklist_item wi WHERE wi.study_instance_uid = st.study_instance_uid
                 AND (wi.assignee = ${rpps} OR wi.pool = ANY(${pools}) OR ${rpps} = ANY(wi.offered_to)
                      OR wi.notified_pools && ${pools}))`,
    );
  }
  return conditions;
}
