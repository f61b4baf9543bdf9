/**
 * A patient's objection to teleradiology (registry keyed by Patient ID + issuer, e.g. the INS with issuer
 * 1.2.250.1.213.1.4.8). POST /api/oppositions { patientId, issuer, reason? } records it; POST
 * /api/oppositions/lift { patientId, issuer } lifts it and asks routing to route the patient's held studies again.
 * The Patient ID (often the INS) travels in the body, never in the URL: proxies and access logs keep paths.
 * Coordinators and administrators only. An objection carries the territory of the coordinator who recorded it
 * (none when an administrator did); it holds the patient's studies in every territory, and only a coordinator of
 * that territory, or an administrator, may lift it. Every change is an audit event (patient level, with no study:
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
    const { actor, territory } = requireCoordinatorOrAdmin(principalOf(res));
    const body = parseBody(oppositionBody, req.body, 'record the opposition');
    const outcome = await deps.store.recordOpposition({ ...body, actor, territory, at: deps.clock.now() });
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
    const { actor, territory } = requireCoordinatorOrAdmin(principalOf(res));
    const { issuer, patientId } = parseBody(liftBody, req.body, 'lift the opposition');
    const now = deps.clock.now();
    const lift = await deps.store.liftOpposition({ patientId, issuer, actor, territory, at: now });
    if (lift.kind === 'not-found') {
      throw new NotFound('No active opposition is recorded for this Patient ID and issuer; check both values.', 'opposition-not-found');
    }
    if (lift.kind === 'other-territory') {
      throw new Forbidden(
        "Cette opposition a été enregistrée par la coordination d'un autre territoire : seule celle-ci, ou un administrateur, peut la lever. " +
          '(This objection was recorded by the coordination of another territory: only that coordination, or an administrator, can lift it.)',
        'opposition-other-territory',
      );
    }
    const studies = lift.studies;
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
    // Every held study is routed again, but a coordinator is told only of their own territory's studies.
    const visible = new Set(
      held
        .filter((s) => territory === null || (s.site !== null && deps.regionConfig.siteByFiness.get(s.site)?.territory === territory))
        .map((s) => s.studyInstanceUID),
    );
    res.json({
      patientId,
      issuer,
      liftedAt: formatInstant(now, deps.regionConfig.region.timezone),
      heldStudies: [...visible],
      reroutingRequested: rerouted.filter((uid) => visible.has(uid)),
    });
  };
}

/** The actor, and the territory a coordinator acts for (null for an administrator, who acts for the region). */
function requireCoordinatorOrAdmin(principal: Principal): { actor: string; territory: string | null } {
  if (principal.role === 'admin') return { actor: principal.userId, territory: null };
  if (principal.role !== 'coordinator') {
    throw new Forbidden('Only a coordinator or an administrator can record or lift a patient\'s opposition.', 'role-not-allowed');
  }
  if (principal.territory === undefined) {
    throw new Forbidden(
      "Votre jeton de coordinateur ne nomme pas votre territoire : demandez un nouveau jeton. (Your coordinator token names no territory; ask for a new one.)",
      'coordinator-without-territory',
    );
  }
  return { actor: principal.userId, territory: principal.territory };
}
