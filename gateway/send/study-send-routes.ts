/**
 * "Send this study to AE X" (administrators): POST /api/studies/{study}/send { peer } records the request in
 * PostgreSQL and queues it on the worker (worker/send/study-send-worker.ts); GET /api/studies/{study}/sends shows
 * each request's status and counts, GET /api/sends/{id} one request with each instance's C-STORE status.
 * The peers are the regional configuration's `dicomPeers`: nobody can send a study to an address of their choice.
 */
import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { RegionConfig } from '../../config/region/region-config.ts';
import { isValidUid } from '../../core/dicom/uid.ts';
import type { Clock } from '../../core/time/clock.ts';
import type { DicomIndex } from '../../storage/index/dicom-index.ts';
import type { StudySendRecord, StudySendStore } from '../../storage/send/study-send-store.ts';
import { principalOf } from '../auth/authenticate.ts';
import { Forbidden, NotFound } from '../http/problem.ts';
import { parseBody } from '../read/worklist/parse-body.ts';
import type { Logger } from 'pino';

/** Queues a recorded send (the worker's dispatch fits it); a lost dispatch is found again by the worker's sweep. */
export interface StudySendDispatch {
  dispatch(sendId: string): Promise<void>;
}

export interface StudySendHandlers {
  send: RequestHandler<{ study: string }>;
  sendsOfStudy: RequestHandler<{ study: string }>;
  sendDetail: RequestHandler<{ id: string }>;
}

export interface StudySendDeps {
  sends: StudySendStore;
  index: DicomIndex;
  regionConfig: RegionConfig;
  clock: Clock;
  log: Logger;
  dispatch?: StudySendDispatch;
}

const sendBody = z.object({ peer: z.string({ error: 'peer: the id of a DICOM peer of the regional configuration (dicomPeers)' }).min(1).max(64) }).strict();

export function studySendHandlers(deps: StudySendDeps): StudySendHandlers {
  const adminOnly = (res: Response) => {
    if (principalOf(res).role !== 'admin') throw new Forbidden('Seul un administrateur peut envoyer une étude à un pair DICOM. (Only an administrator can send a study to a DICOM peer.)', 'role-not-allowed');
  };
  const knownStudy = async (study: string) => {
    if (!isValidUid(study) || !(await deps.index.studyOwnership(study))) {
      throw new NotFound(`Aucune étude ${study} n'est archivée ici. (No study ${study} is stored here; check the Study Instance UID.)`, 'study-not-found');
    }
  };
  return {
    send: async (req: Request<{ study: string }>, res: Response) => {
      adminOnly(res);
      const { peer } = parseBody(sendBody, req.body, 'send the study');
      const study = req.params.study;
      await knownStudy(study);
      const target = deps.regionConfig.dicomPeers.find((p) => p.id === peer);
      if (!target) {
        const known = deps.regionConfig.dicomPeers.map((p) => p.id).join(', ') || '(aucun / none)';
        throw new NotFound(`Le pair DICOM « ${peer} » n'est pas déclaré dans la configuration régionale ; pairs déclarés : ${known}. (Unknown DICOM peer ${peer}; add it under dicomPeers or pick one of: ${known}.)`, 'peer-not-found');
      }
      const record = await deps.sends.create({ studyInstanceUID: study, peer, requestedBy: principalOf(res).userId, at: deps.clock.now() });
      // Committed first: a dispatch lost here is queued again by the worker's sweep of pending sends.
      await deps.dispatch?.dispatch(record.id).catch((error: unknown) => deps.log.warn({ err: error, send: record.id }, 'study send not queued yet; the sweep will'));
      res.status(202).location(`/api/sends/${record.id}`).json(sendJson(record, deps.regionConfig));
    },
    sendsOfStudy: async (req: Request<{ study: string }>, res: Response) => {
      adminOnly(res);
      await knownStudy(req.params.study);
      const sends = await deps.sends.ofStudy(req.params.study);
      res.json({ studyInstanceUID: req.params.study, sends: sends.map((s) => sendJson(s, deps.regionConfig)) });
    },
    sendDetail: async (req: Request<{ id: string }>, res: Response) => {
      adminOnly(res);
      const record = await deps.sends.find(req.params.id);
      if (!record) throw new NotFound(`Aucun envoi ${req.params.id}. (No study send ${req.params.id}.)`, 'send-not-found');
      const instances = await deps.sends.instancesOf(record.id);
      res.json({
        ...sendJson(record, deps.regionConfig),
        instanceResults: instances.map((i) => ({ sopInstanceUID: i.sopInstanceUID, status: i.status === null ? null : hexStatus(i.status), stored: i.stored, ...(i.comment ? { comment: i.comment } : {}) })),
      });
    },
  };
}

function sendJson(s: StudySendRecord, config: RegionConfig) {
  const peer = config.dicomPeers.find((p) => p.id === s.peer);
  return {
    id: s.id,
    studyInstanceUID: s.studyInstanceUID,
    peer: { id: s.peer, ...(peer ? { name: peer.name, aeTitle: peer.aeTitle, host: peer.host, port: peer.port, tls: peer.tls } : {}) },
    status: s.status,
    attempts: s.attempts,
    instances: s.instances,
    lastError: s.lastError,
    requestedBy: s.requestedBy,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    finishedAt: s.finishedAt?.toISOString() ?? null,
  };
}

function hexStatus(status: number): string {
  return `0x${status.toString(16).toUpperCase().padStart(4, '0')}`;
}
