/**
 * An administrator sends a stored study to a DICOM peer of the regional configuration (`dicomPeers`):
 *   POST /api/studies/{study}/send { peer }   records the request (202) and queues it for the worker
 *   GET  /api/studies/{study}/sends           the study's sends and what became of each
 * The sending itself is the worker's (worker/deliver/study-send-worker.ts): C-STORE over one association.
 */
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { RegionConfig } from '../../config/region/region-config.ts';
import { isValidUid } from '../../core/dicom/uid.ts';
import type { Clock } from '../../core/time/clock.ts';
import { formatInstant } from '../../core/time/wall-time.ts';
import type { DicomIndex } from '../../storage/index/dicom-index.ts';
import type { StudySend, StudySendStore } from '../../storage/send/study-send-store.ts';
import { principalOf } from '../auth/authenticate.ts';
import { BadRequest, NotFound } from '../http/problem.ts';
import { jsonBody, parseBody } from '../read/worklist/parse-body.ts';

/** Queues a recorded send for the worker; without it the request waits for the worker's sweep. */
export interface StudySendDispatch {
  dispatch(sendId: string): Promise<void>;
}

export interface StudySendDeps {
  sends: StudySendStore;
  index: DicomIndex;
  regionConfig: RegionConfig;
  clock: Clock;
  log: Logger;
  dispatch?: StudySendDispatch;
}

export interface StudySendHandlers {
  send: RequestHandler<{ study: string }>[];
  list: RequestHandler<{ study: string }>;
}

const sendBody = z.strictObject({ peer: z.string({ error: 'name the DICOM peer (its id in the regional configuration)' }).trim().min(1).max(64) });

export function studySendHandlers(deps: StudySendDeps): StudySendHandlers {
  return {
    send: [jsonBody, (req, res) => requestSend(deps, req, res)],
    list: (req, res) => listSends(deps, req, res),
  };
}

async function requestSend(deps: StudySendDeps, req: Request<{ study: string }>, res: Response): Promise<void> {
  const study = studyOf(req);
  const { peer } = parseBody(sendBody, req.body, 'send the study');
  if (!deps.regionConfig.dicomPeerById.has(peer)) {
    const known = deps.regionConfig.dicomPeers.map((p) => p.id);
    throw new BadRequest(
      `No DICOM peer ${JSON.stringify(peer)} in the regional configuration; known peers: ${known.length > 0 ? known.join(', ') : '(none: add dicomPeers to the region file)'}.`,
      'unknown-peer',
    );
  }
  const instances = await deps.index.findInstances({ site: null }, { studyInstanceUID: study });
  if (instances.length === 0) throw new NotFound(`Study ${study} is not in the archive.`, 'study-not-found');
  const principal = principalOf(res);
  const send = await deps.sends.create({ id: randomUUID(), studyInstanceUID: study, peer, requestedBy: principal.userId, at: deps.clock.now() });
  // Recorded first: a dispatch lost here is queued again by the worker's sweep.
  await deps.dispatch?.dispatch(send.id).catch((error: unknown) => deps.log.warn({ err: error, send: send.id }, 'study send not queued yet; the sweep will'));
  res.status(202).location(`/api/studies/${study}/sends`).json(sendJson(send, deps.regionConfig));
}

async function listSends(deps: StudySendDeps, req: Request<{ study: string }>, res: Response): Promise<void> {
  const study = studyOf(req);
  const sends = await deps.sends.listForStudy(study);
  res.json({ sends: sends.map((s) => sendJson(s, deps.regionConfig)) });
}

function studyOf(req: Request<{ study: string }>): string {
  const study = req.params.study;
  if (!isValidUid(study)) throw new BadRequest(`The study UID in the URL is not a valid DICOM UID: ${JSON.stringify(study.slice(0, 80))}`);
  return study;
}

function sendJson(send: StudySend, config: RegionConfig) {
  const zone = config.region.timezone;
  const peer = config.dicomPeerById.get(send.peer);
  return {
    id: send.id,
    studyInstanceUID: send.studyInstanceUID,
    peer: { id: send.peer, ...(peer ? { name: peer.name, aeTitle: peer.aeTitle, host: peer.host, port: peer.port, tls: peer.tls } : {}) },
    requestedBy: send.requestedBy,
    requestedAt: formatInstant(send.requestedAt, zone),
    status: send.status,
    attempts: send.attempts,
    instances: send.instances,
    stored: send.stored,
    refused: send.refused.map((r) => ({ ...r, status: r.status === null ? null : `0x${r.status.toString(16).padStart(4, '0').toUpperCase()}` })),
    lastError: send.lastError,
    updatedAt: formatInstant(send.updatedAt, zone),
    finishedAt: send.finishedAt ? formatInstant(send.finishedAt, zone) : null,
  };
}
