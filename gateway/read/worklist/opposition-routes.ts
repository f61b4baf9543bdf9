/**
 * A patient's objection to teleradiology (registry keyed by Patient ID + issuer, e.g. the INS with issuer
 * 1.2.250.1.213.1.4.8). POST /api/oppositions { patientId, issuer, reason? } records it; POST
 * /api/oppositions/lift { patientId, issuer } lifts it and asks routing to route the patient's held studies again.
 * The Patient ID (often the INS) travels in the body, never in the URL: proxies and access logs keep paths.
 * Coordinators and administrators only; every change is an audit event (patient level, with no study:
 * study_instance_uid '', plus one per stored study of the patient).
 */
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { RegionConfig } from '../../../config/region/region-config.ts';
import type { Clock } from '../../../core/time/clock.ts';
import type { WorklistStore } from '../../../storage/worklist/worklist-store.ts';
import { formatInstant } from '../../../core/time/wall-time.ts';
import { principalOf } from '../../auth/authenticate.ts';
import type { Principal } from '../../../core/identity/roles.ts';
import { Forbidden, NotFound } from '../../http/problem.ts';
import { parseBody } from './parse-body.ts';
import type { StudyRouting } from './study-routes.ts';

export interface OppositionDeps {
  store: WorklistStore;
  regionConfig: RegionConfig;
  clock: Clock;
  log: Logger;
  routing?: StudyRouting;
}

const oppositionBody = z.object({
  patientId: z.string({ error: 'the Patient ID is required' }).trim().min(1, { error: 'the Patient ID is required' }).max(64),
  issuer: z
    .string({ error: 'the issuer of the Patient ID is required (e.g. 1.2.250.1.213.1.4.8 for the INS)' })
    .trim()
    .min(1, { error: 'the issuer of the Patient ID is required (e.g. 1.2.250.1.213.1.4.8 for the INS)' })
    .max(128),
  reason: z.string().trim().max(2000, { error: 'at most 2000 characters' }).optional(),
});

const liftBody = oppositionBody.pick({ patientId: true, issuer: true });

export function recordOppositionHandler(deps: OppositionDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const actor = requireCoordinatorOrAdmin(principalOf(res));
    const body = parseBody(oppositionBody, req.body, 'record the opposition');
    const outcome = await deps.store.recordOpposition({ ...body, actor, at: deps.clock.now() });
    res.status(outcome.created ? 201 : 200).json({
      patientId: body.patientId,
      issuer: body.issuer,
      recordedAt: formatInstant(outcome.recordedAt, deps.regionConfig.region.timezone),
      alreadyRecorded: !outcome.created,
    });
  };
}

export function liftOppositionHandler(deps: OppositionDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const actor = requireCoordinatorOrAdmin(principalOf(res));
    const { issuer, patientId } = parseBody(liftBody, req.body, 'lift the opposition');
    const now = deps.clock.now();
    const studies = await deps.store.liftOpposition({ patientId, issuer, actor, at: now });
    if (studies === null) {
      throw new NotFound('No active opposition is recorded for this Patient ID and issuer; check both values.', 'opposition-not-found');
    }
    const held = studies.filter((s) => s.held);
    const rerouted: string[] = [];
    if (deps.routing) {
      for (const study of held) {
        try {
          await deps.routing.markStudyComplete(study.studyInstanceUID, study.flags);
          rerouted.push(study.studyInstanceUID);
        } catch (error) {
          deps.log.error({ err: error }, 'could not ask routing to route a study again after an opposition was lifted');
        }
      }
    }
    res.json({
      patientId,
      issuer,
      liftedAt: formatInstant(now, deps.regionConfig.region.timezone),
      heldStudies: held.map((s) => s.studyInstanceUID),
      reroutingRequested: rerouted,
    });
  };
}

function requireCoordinatorOrAdmin(principal: Principal): string {
  if (principal.role !== 'coordinator' && principal.role !== 'admin') {
    throw new Forbidden('Only a coordinator or an administrator can record or lift a patient\'s opposition.', 'role-not-allowed');
  }
  return principal.userId;
}
