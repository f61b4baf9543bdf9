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
import { EXPERTISES, PRIORITY_FLAGS, type Expertise, type PriorityFlag, type RegionConfig } from '../../../config/region/region-config.ts';
import type { Database } from '../../../storage/database/database.ts';
import type { Clock } from '../../../core/time/clock.ts';
import { formatInstant } from '../../../core/time/wall-time.ts';
import { principalOf } from '../../auth/authenticate.ts';
import type { Principal } from '../../../core/identity/roles.ts';
import { Forbidden, NotFound } from '../../http/problem.ts';
import { parseBody } from './parse-body.ts';
import type { StudyCompletionFlags, StudyRouting } from './study-routes.ts';
import { recordEvent, type Queryable } from './worklist-change.ts';

export interface OppositionDeps {
  database: Database;
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
    const now = deps.clock.now();
    const outcome = await deps.database.withTransaction(async (client) => {
      const inserted = await client.query<{ recorded_at: Date }>(
        `INSERT INTO patient_opposition (patient_id, issuer, recorded_by, recorded_at, reason) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (patient_id, issuer) DO UPDATE SET recorded_by = EXCLUDED.recorded_by, recorded_at = EXCLUDED.recorded_at,
           reason = EXCLUDED.reason, lifted_by = NULL, lifted_at = NULL
         WHERE patient_opposition.lifted_at IS NOT NULL
         RETURNING recorded_at`,
        [body.patientId, body.issuer, actor, now, body.reason ?? null],
      );
      if (inserted.rows.length === 0) {
        const existing = await client.query<{ recorded_at: Date }>(
          'SELECT recorded_at FROM patient_opposition WHERE patient_id = $1 AND issuer = $2',
          [body.patientId, body.issuer],
        );
        return { created: false, recordedAt: existing.rows[0].recorded_at };
      }
      const studies = await patientStudies(client, body.patientId, body.issuer);
      await auditOpposition(client, 'opposition-recorded', actor, now, body, studies.map((s) => s.study));
      return { created: true, recordedAt: now };
    });
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
    const held = await deps.database.withTransaction(async (client) => {
      const lifted = await client.query(
        `UPDATE patient_opposition SET lifted_by = $3, lifted_at = $4
         WHERE patient_id = $1 AND issuer = $2 AND lifted_at IS NULL RETURNING patient_id`,
        [patientId, issuer, actor, now],
      );
      if (lifted.rows.length === 0) {
        throw new NotFound('No active opposition is recorded for this Patient ID and issuer; check both values.', 'opposition-not-found');
      }
      const studies = await patientStudies(client, patientId, issuer);
      await auditOpposition(client, 'opposition-lifted', actor, now, { patientId, issuer }, studies.map((s) => s.study));
      return studies.filter((s) => s.held);
    });
    const rerouted: string[] = [];
    if (deps.routing) {
      for (const study of held) {
        try {
          await deps.routing.markStudyComplete(study.study, study.flags);
          rerouted.push(study.study);
        } catch (error) {
          deps.log.error({ err: error }, 'could not ask routing to route a study again after an opposition was lifted');
        }
      }
    }
    res.json({
      patientId,
      issuer,
      liftedAt: formatInstant(now, deps.regionConfig.region.timezone),
      heldStudies: held.map((s) => s.study),
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

interface PatientStudy {
  study: string;
  /** Held by routing because of an opposition: to route again once it is lifted. */
  held: boolean;
  flags: StudyCompletionFlags;
}

/** The stored studies of the patient, by Patient ID or by one of its Other Patient IDs (the INS...). */
async function patientStudies(client: Queryable, patientId: string, issuer: string): Promise<PatientStudy[]> {
  const result = await client.query<{ study_instance_uid: string; held: boolean; sender_flags: Record<string, unknown> | null }>(
    `SELECT s.study_instance_uid,
            COALESCE(rd.decision = 'held' AND rd.code = 'patient-objection', false) AS held,
            a.sender_flags
     FROM study s
     JOIN patient p ON p.pk = s.patient_pk
     LEFT JOIN routing_decision rd ON rd.study_instance_uid = s.study_instance_uid
     LEFT JOIN study_activity a ON a.study_instance_uid = s.study_instance_uid
     WHERE (p.patient_id = $1 AND p.issuer_of_patient_id = $2)
        OR EXISTS (SELECT 1 FROM patient_other_id o WHERE o.patient_pk = p.pk AND o.patient_id = $1 AND o.issuer = $2)
     ORDER BY s.study_instance_uid`,
    [patientId, issuer],
  );
  return result.rows.map((row) => ({ study: row.study_instance_uid, held: row.held, flags: storedFlags(row.sender_flags) }));
}

async function auditOpposition(
  client: Queryable,
  type: 'opposition-recorded' | 'opposition-lifted',
  actor: string,
  at: Date,
  detail: { patientId: string; issuer: string; reason?: string },
  studies: string[],
): Promise<void> {
  await recordEvent(client, { itemId: null, studyInstanceUID: '', type, actor, at, detail: { ...detail, studies: studies.length } });
  for (const study of studies) {
    await recordEvent(client, { itemId: null, studyInstanceUID: study, type, actor, at, detail: { issuer: detail.issuer } });
  }
}

/** The sender's flags kept with the study, so a re-routed study keeps its stroke or expertise flag. */
function storedFlags(value: Record<string, unknown> | null): StudyCompletionFlags {
  const flags: StudyCompletionFlags = {};
  if ((PRIORITY_FLAGS as readonly unknown[]).includes(value?.priority)) flags.priority = value?.priority as PriorityFlag;
  if ((EXPERTISES as readonly unknown[]).includes(value?.expertise)) flags.expertise = value?.expertise as Expertise;
  return flags;
}
