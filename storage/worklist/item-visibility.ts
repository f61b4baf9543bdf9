/**
 * Who may see which worklist items, and so which studies: the ONE definition, used by the worklist lists and
 * item requests, the live event stream, claims, routing explanations and the QIDO/WADO scoping of readers.
 * - a reader (or expert) sees the items assigned or offered to their RPPS, and those of their pools (the
 *   item's own pool, or a pool told about it); a study is theirs to read when one of its items is;
 * - once an item is COMPLETED, only its assignee keeps it (the report's signer is that assignee: signing needs
 *   the item held, and a closed item cannot be reassigned); those it was offered to and its pools lose it, at
 *   once or after the period ASTREINTE_POOL_ACCESS_AFTER_COMPLETION_HOURS (`poolsSeeCompletedSince`). The sending
 *   site keeps its studies through the site condition of the archive, not through items;
 * - a coordinator every item of their territory (never the images);
 * - an administrator everything.
 * Each rule is written once, as a TypeScript predicate and as its SQL twin, side by side: the check of an item
 * in memory and the WHERE of a statement are both derived from READER_RULES, so they cannot drift apart.
 */

export type WorklistViewer =
  | { kind: 'admin'; userId: string }
  | { kind: 'coordinator'; userId: string; territory: string | null }
  | { kind: 'reader'; role: 'reader' | 'expert'; rpps: string; pools: ReadonlySet<string>; poolsSeeCompletedSince?: Date };

/** What the reader rules need to know about the caller (a reader or expert, or the QIDO/WADO scope of one). */
export interface ReaderAudience {
  rpps: string;
  pools: ReadonlySet<string> | readonly string[];
  /**
   * Items completed at or after this instant are still seen through pools and offers (now minus the configured
   * period); undefined: a completed item is its assignee's only.
   */
  poolsSeeCompletedSince?: Date;
}

/** The fields of an item (or of a WorklistNotification) that decide who sees it. */
export interface ItemAudience {
  pool: string;
  assignee: string | null;
  territory: string;
  /** Readers an escalation hop offered the item to. */
  offeredTo?: readonly string[];
  /** Pools told about the item besides its own. */
  notifiedPools?: readonly string[];
  /** Undefined: a change notification, judged by who may hear of it (see worklist-events-stream.ts). */
  status?: string;
  completedAt?: Date | null;
}

/** A reader's own items (`mine`), their pools' items (`pools`), or both (no scope). */
export type ReaderScope = 'mine' | 'pools' | null;

/** Binds a value as a statement parameter and returns its placeholder ($n): values are never spliced into SQL. */
export type BindParameter = (value: unknown) => string;

interface ReaderParameters {
  rpps(): string;
  pools(): string;
  /** The SQL condition: the item is not completed, or completed within the pools' period. */
  open(alias: string): string;
}

interface ReaderRule {
  scope: Exclude<ReaderScope, null>;
  sees(reader: ReaderAudience, item: ItemAudience): boolean;
  sql(alias: string, bound: ReaderParameters): string;
}

const READER_RULES: readonly ReaderRule[] = [
  {
    scope: 'mine', // assigned to them (on call when routed, a hop's single reader, a reassignment, or their claim)
    sees: (reader, item) => item.assignee === reader.rpps,
    sql: (alias, bound) => `${alias}.assignee = ${bound.rpps()}`,
  },
  {
    scope: 'mine', // offered to them by an escalation hop (first to claim wins), until completed
    sees: (reader, item) => openToPools(reader, item) && (item.offeredTo?.includes(reader.rpps) ?? false),
    sql: (alias, bound) => `(${bound.rpps()} = ANY(${alias}.offered_to) AND ${bound.open(alias)})`,
  },
  {
    scope: 'pools', // in one of their pools, until completed
    sees: (reader, item) => openToPools(reader, item) && poolSet(reader).has(item.pool),
    sql: (alias, bound) => `(${alias}.pool = ANY(${bound.pools()}) AND ${bound.open(alias)})`,
  },
  {
    scope: 'pools', // told to one of their pools (a stroke: the neuroradiology pole), until completed
    sees: (reader, item) => openToPools(reader, item) && (item.notifiedPools?.some((pool) => poolSet(reader).has(pool)) ?? false),
    sql: (alias, bound) => `(${alias}.notified_pools && ${bound.pools()}::text[] AND ${bound.open(alias)})`,
  },
];

/** Not completed, or completed within the period the pools keep access for. */
function openToPools(reader: ReaderAudience, item: ItemAudience): boolean {
  if (item.status !== 'COMPLETED') return true;
  const since = reader.poolsSeeCompletedSince;
  return since !== undefined && item.completedAt != null && item.completedAt.getTime() >= since.getTime();
}

function poolSet(reader: ReaderAudience): ReadonlySet<string> {
  return reader.pools instanceof Set ? reader.pools : new Set(reader.pools);
}

export function readerSeesItem(reader: ReaderAudience, item: ItemAudience, scope: ReaderScope = null): boolean {
  return READER_RULES.some((rule) => (scope === null || rule.scope === scope) && rule.sees(reader, item));
}

/** The SQL twin of readerSeesItem on the worklist_item alias `alias`; each value is bound once, when first used. */
export function readerSeesItemSql(reader: ReaderAudience, alias: string, bind: BindParameter, scope: ReaderScope = null): string {
  let rpps: string | undefined;
  let pools: string | undefined;
  let since: string | undefined;
  const bound: ReaderParameters = {
    rpps: () => (rpps ??= bind(reader.rpps)),
    pools: () => (pools ??= bind([...reader.pools])),
    open: (at) =>
      reader.poolsSeeCompletedSince === undefined
        ? `${at}.status <> 'COMPLETED'`
        : `(${at}.status <> 'COMPLETED' OR ${at}.completed_at >= ${(since ??= bind(reader.poolsSeeCompletedSince))})`,
  };
  const conditions = READER_RULES.filter((rule) => scope === null || rule.scope === scope).map((rule) => rule.sql(alias, bound));
  return `(${conditions.join(' OR ')})`;
}

export function canSeeItem(viewer: WorklistViewer, item: ItemAudience): boolean {
  switch (viewer.kind) {
    case 'admin':
      return true;
    case 'coordinator':
      return viewer.territory !== null && viewer.territory === item.territory;
    case 'reader':
      return readerSeesItem(viewer, item);
  }
}

/**
 * Whether a viewer may see a study's routing: a reader when they see one of its items, a coordinator when the
 * study is of their territory (its reading item's, else its site's), an administrator always.
 */
export function canSeeStudy(viewer: WorklistViewer, study: { territory: string | null; items: readonly ItemAudience[] }): boolean {
  switch (viewer.kind) {
    case 'admin':
      return true;
    case 'coordinator':
      return viewer.territory !== null && viewer.territory === study.territory;
    case 'reader':
      return study.items.some((item) => readerSeesItem(viewer, item));
  }
}

/**
 * What a list asks to see: a reader's scope, a coordinator's territory (always theirs), an administrator's
 * optional territory. Checking that the scope is the caller's own is the API's job (with its error messages).
 */
export interface ItemVisibilityQuery {
  scope: ReaderScope | 'territory';
  territory: string | null;
}

/** The SQL condition (on the worklist_item alias `alias`) selecting what `viewer` sees in the scope asked. */
export function itemVisibilitySql(viewer: WorklistViewer, query: ItemVisibilityQuery, alias: string, bind: BindParameter): string {
  switch (viewer.kind) {
    case 'reader':
      return readerSeesItemSql(viewer, alias, bind, query.scope === 'territory' ? null : query.scope);
    case 'coordinator':
      return viewer.territory === null ? 'FALSE' : `${alias}.territory = ${bind(viewer.territory)}`;
    case 'admin':
      return query.territory === null ? 'TRUE' : `${alias}.territory = ${bind(query.territory)}`;
  }
}

/**
 * The SQL condition (on the study alias `studyAlias`) restricting the archive to the studies a reader may read:
 * those with at least one worklist item the reader sees, whatever its status.
 */
export function readerSeesStudySql(reader: ReaderAudience, studyAlias: string, bind: BindParameter): string {
  return `EXISTS (SELECT 1 FROM worklist_item wi WHERE wi.study_instance_uid = ${studyAlias}.study_instance_uid
                 AND ${readerSeesItemSql(reader, 'wi', bind)})`;
}

/** `$1, $2...` numbering over an array of values, for statements built from the functions above. */
export function parameterList(values: unknown[] = []): { values: unknown[]; bind: BindParameter } {
  return {
    values,
    bind: (value) => {
      values.push(value);
      return `$${values.length}`;
    },
  };
}
