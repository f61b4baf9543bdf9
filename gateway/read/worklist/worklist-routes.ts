/**
 * The worklist API, mounted at /api behind authenticate(): what readers, experts and coordinators do to the
 * items the routing worker creates (UPS-RS semantics: claim = IN PROGRESS under a transaction UID).
 *
 *   GET  /worklist                      list (scope=mine|pools|territory, status, priority, territory, limit)
 *   GET  /worklist/events               server-sent events of the caller's items
 *   GET  /worklist/{id}                 one item, its history, incidents and second opinions
 *   POST /worklist/{id}/claim|release|reassign|second-opinion|answer|incidents
 *   POST /studies/{study}/complete      the sending site says the study is complete
 *   GET  /studies/{study}/routing       where the study went and why
 *   POST /oppositions, DELETE /oppositions/{issuer}/{patientId}
 */
import express, { type Router } from 'express';
import type { Logger } from 'pino';
import type { RegionConfig } from '../../../config/region/region-config.ts';
import type { Database } from '../../../storage/database/database.ts';
import type { Clock } from '../../../core/time/clock.ts';
import { claimHandler, releaseHandler } from './claim-release.ts';
import { itemDetailHandler } from './item-detail.ts';
import { listWorklistHandler } from './list-worklist.ts';
import { liftOppositionHandler, recordOppositionHandler } from './opposition-routes.ts';
import { jsonBody } from './parse-body.ts';
import { reassignHandler } from './reassign-item.ts';
import { reportIncidentHandler } from './report-incident.ts';
import { answerSecondOpinionHandler, requestSecondOpinionHandler } from './second-opinion.ts';
import { completeStudyHandler, routingExplanationHandler, type StudyRouting } from './study-routes.ts';
import { worklistEventsHandler } from './worklist-events-stream.ts';
import { createWorklistNotificationHub, type WorklistNotificationHub } from './worklist-notification-hub.ts';

export type { StudyRouting } from './study-routes.ts';

export interface WorklistRouteDeps {
  database: Database;
  regionConfig: RegionConfig;
  clock: Clock;
  log: Logger;
  /** The routing worker's entry point; without it, /complete answers 503 and lifting an opposition re-routes nothing. */
  routing?: StudyRouting;
  /**
   * The process's shared LISTEN connection for /worklist/events. Pass one to close it at shutdown
   * (hub.close() also ends the open streams, which would otherwise keep server.close() waiting); when absent
   * the router makes its own, which closes when the last stream ends.
   */
  notifications?: WorklistNotificationHub;
}

export function worklistRoutes(deps: WorklistRouteDeps): Router {
  const router = express.Router();
  const hub = deps.notifications ?? createWorklistNotificationHub(deps.database, deps.log);
  const items = { database: deps.database, regionConfig: deps.regionConfig, clock: deps.clock };

  // The system's instant, so that a page counts down to deadlines on the server's clock (ASTREINTE_NOW rehearsals,
  // a laptop whose clock is off), not the browser's.
  router.get('/worklist', (_req, res, next) => {
    res.set('Astreinte-Now', deps.clock.now().toISOString());
    next();
  });
  router.get('/worklist', listWorklistHandler(items));
  router.get('/worklist/events', worklistEventsHandler({ regionConfig: deps.regionConfig, hub }));
  router.get('/worklist/:id', itemDetailHandler(items));
  router.post('/worklist/:id/claim', jsonBody, claimHandler(items));
  router.post('/worklist/:id/release', jsonBody, releaseHandler(items));
  router.post('/worklist/:id/reassign', jsonBody, reassignHandler(items));
  router.post('/worklist/:id/second-opinion', jsonBody, requestSecondOpinionHandler(items));
  router.post('/worklist/:id/answer', jsonBody, answerSecondOpinionHandler(items));
  router.post('/worklist/:id/incidents', jsonBody, reportIncidentHandler(items));

  router.post('/studies/:study/complete', jsonBody, completeStudyHandler({ database: deps.database, routing: deps.routing }));
  router.get('/studies/:study/routing', routingExplanationHandler(items));

  router.post('/oppositions', jsonBody, recordOppositionHandler(deps));
  router.delete('/oppositions/:issuer/:patientId', liftOppositionHandler(deps));
  return router;
}
