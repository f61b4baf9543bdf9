/**
 * What the handlers of the worklist API need, built once: the API itself (mounted at /api behind authenticate(),
 * what readers, experts and coordinators do to the items the routing worker creates; UPS-RS semantics: claim =
 * IN PROGRESS under a transaction UID) is declared in the route table, gateway/app/route-table.ts.
 */
import type { Logger } from 'pino';
import type { RegionConfig } from '../../../config/region/region-config.ts';
import type { Database } from '../../../storage/database/database.ts';
import type { Clock } from '../../../core/time/clock.ts';
import { PostgresWorklistStore } from '../../../storage/worklist/postgres-worklist-store.ts';
import type { WorklistStore } from '../../../storage/worklist/worklist-store.ts';
import type { ItemActionDeps } from './claim-release.ts';
import type { OppositionDeps } from './opposition-routes.ts';
import type { StudyRouting } from './study-routes.ts';
import { createWorklistNotificationHub, type WorklistNotificationHub } from './worklist-notification-hub.ts';

export type { StudyRouting } from './study-routes.ts';

export interface WorklistRouteDeps {
  /** The LISTEN connection of the live streams; and the worklist store, unless `store` is given. */
  database: Database;
  store?: WorklistStore;
  regionConfig: RegionConfig;
  clock: Clock;
  /** How long pools keep a completed item (settings.worklist); absent: not at all. */
  poolAccessAfterCompletionMs?: number;
  log: Logger;
  /** The routing worker's entry point; without it, /complete answers 503 and lifting an opposition re-routes nothing. */
  routing?: StudyRouting;
  /**
   * The process's shared LISTEN connection for /worklist/events. Pass one to close it at shutdown
   * (hub.close() also ends the open streams, which would otherwise keep server.close() waiting); when absent
   * worklistServices makes its own, which closes when the last stream ends.
   */
  notifications?: WorklistNotificationHub;
}

export interface WorklistServices {
  /** The items' handlers: list, detail, claim, release, reassign, second opinions, incidents, routing explanations. */
  items: ItemActionDeps;
  /** Live events of the caller's items. */
  hub: WorklistNotificationHub;
  /** The sending site's "study complete". */
  completion: { store: WorklistStore; routing?: StudyRouting };
  oppositions: OppositionDeps;
}

export function worklistServices(deps: WorklistRouteDeps): WorklistServices {
  const store = deps.store ?? new PostgresWorklistStore(deps.database);
  const items = { store, regionConfig: deps.regionConfig, clock: deps.clock, poolAccessAfterCompletionMs: deps.poolAccessAfterCompletionMs };
  return {
    items,
    hub: deps.notifications ?? createWorklistNotificationHub(deps.database, deps.log),
    completion: { store, routing: deps.routing },
    oppositions: { ...items, log: deps.log, routing: deps.routing },
  };
}
