/**
 * "Send this study to AE X": one BullMQ job per send request (the job carries its id only; the request is in
 * PostgreSQL, storage/send/). A try copies the study's stored instances to a private temporary directory, one
 * stream at a time, then sends them all over one association with the one C-STORE SCU (c-store-scu.ts), which
 * holds one instance in memory at a time, and records each instance's status. A refused association or an
 * unreachable peer is tried again with exponential backoff (the report delivery settings: ASTREINTE_DELIVERY_*);
 * a sweep re-queues requests whose job was lost. Audited as 110106 Export with the study and the peer.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { systemActor, type AuditEntity } from '../../audit/audit-event.ts';
import type { AuditRecorder } from '../../audit/audit-trail.ts';
import type { DicomPeer, RegionConfig } from '../../config/region/region-config.ts';
import type { Settings } from '../../config/settings.ts';
import type { Clock } from '../../core/time/clock.ts';
import type { Database } from '../../storage/database/database.ts';
import type { DicomIndex } from '../../storage/index/dicom-index.ts';
import type { ObjectStore } from '../../storage/objects/object-store.ts';
import { StudySendStore, type StudySendRecord } from '../../storage/send/study-send-store.ts';
import { startSweptJobQueue } from '../queue/swept-job-queue.ts';
import { CStoreScuError, isStored, sendInstances } from '../deliver/c-store-scu.ts';

export const STUDY_SEND_QUEUE = 'astreinte-study-send';
const SEND_JOB = 'send-study';

export interface StudySendWorkerDeps {
  settings: Pick<Settings, 'redisUrl' | 'delivery'>;
  database: Database;
  index: DicomIndex;
  objects: ObjectStore;
  regionConfig: RegionConfig;
  clock: Clock;
  log: Logger;
  audit?: AuditRecorder;
  /** Run the jobs in this process (default true). */
  consume?: boolean;
  sweepIntervalMs?: number;
  /** Per-association timeouts of the C-STORE SCU (default 60 s). */
  timeoutMs?: number;
}

export interface StudySendDispatch {
  dispatch(sendId: string): Promise<void>;
}

export interface StudySendWorker extends StudySendDispatch {
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

export async function startStudySendWorker(deps: StudySendWorkerDeps): Promise<StudySendWorker> {
  const sends = new StudySendStore(deps.database);
  const { attempts, backoffMs } = deps.settings.delivery;
  return startSweptJobQueue({
    redisUrl: deps.settings.redisUrl,
    database: deps.database,
    queueName: STUDY_SEND_QUEUE,
    jobName: SEND_JOB,
    idField: 'sendId',
    jobIdPrefix: 'study-send',
    attempts,
    backoffMs,
    consume: deps.consume,
    // Each send holds one association and one instance in memory.
    concurrency: 2,
    sweepIntervalMs: deps.sweepIntervalMs,
    label: 'study send',
    log: deps.log,
    unfinished: () => sends.unfinished(),
    run: (id) => sendStudy(deps, sends, id, attempts),
  });
}

/** One try of one send; throws to have BullMQ try again (UnrecoverableError: never again). */
export async function sendStudy(deps: StudySendWorkerDeps, sends: StudySendStore, sendId: string, maxAttempts: number): Promise<void> {
  const request = await sends.find(sendId);
  if (!request || (request.status !== 'pending' && request.status !== 'sending')) return;
  const peer = deps.regionConfig.dicomPeers.find((p) => p.id === request.peer);
  const instances = await deps.index.findInstances({ site: null }, { studyInstanceUID: request.studyInstanceUID });
  const started = await sends.begin(sendId, instances.length, deps.clock.now());
  if (!started) return;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-send-'));
  try {
    if (!peer) throw new UnrecoverableError(`the DICOM peer ${request.peer} is no longer in the regional configuration (dicomPeers)`);
    if (instances.length === 0) throw new UnrecoverableError(`the study ${request.studyInstanceUID} has no stored instance`);
    const files: string[] = [];
    for (const [i, instance] of instances.entries()) {
      const file = path.join(dir, `${i}.dcm`);
      await pipeline(await deps.objects.read(instance.objectKey), createWriteStream(file, { mode: 0o600 }));
      files.push(file);
    }
    const results = await sendInstances(files, {
      host: peer.host,
      port: peer.port,
      callingAeTitle: peer.callingAeTitle,
      calledAeTitle: peer.aeTitle,
      timeoutMs: deps.timeoutMs ?? 60_000,
      ...(peer.tls ? { tls: {} } : {}),
    });
    const finished = await sends.finish(sendId, results.map((r) => ({ ...r, stored: isStored(r.status) })), deps.clock.now());
    await audit(deps, finished, peer, instances.map((i) => i.sopInstanceUID));
    deps.log.info({ send: sendId, peer: peer.id, status: finished.status, ...finished.instances }, 'study sent');
  } catch (error) {
    const permanent = error instanceof UnrecoverableError || (error instanceof CStoreScuError && error.kind === 'file');
    const message = describeFailure(error as Error, peer);
    const final = permanent || started.attempts >= maxAttempts;
    const failed = await sends.recordFailure(sendId, message, final, deps.clock.now());
    if (final && failed) await audit(deps, failed, peer, []);
    throw permanent ? new UnrecoverableError(message) : new Error(message);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function describeFailure(error: Error, peer: DicomPeer | undefined): string {
  const where = peer ? `${peer.aeTitle}@${peer.host}:${peer.port}` : 'the peer';
  if (error instanceof CStoreScuError && error.kind === 'rejected') return `association refused by ${where}: ${error.message}`;
  if (error instanceof CStoreScuError && error.kind === 'network') return `C-STORE to ${where} failed: ${error.message}`;
  return error.message;
}

async function audit(deps: StudySendWorkerDeps, send: StudySendRecord, peer: DicomPeer | undefined, sopInstanceUids: string[]): Promise<void> {
  const entities: AuditEntity[] = [
    { kind: 'study', studyUid: send.studyInstanceUID, instanceCount: send.instances.stored, ...(sopInstanceUids.length > 0 && sopInstanceUids.length <= 1000 ? { sopInstanceUids } : {}) },
    { kind: 'record', recordType: 'dicom-peer', id: send.peer, ...(peer ? { description: `${peer.aeTitle}@${peer.host}:${peer.port}` } : {}) },
    { kind: 'record', recordType: 'study-send', id: send.id },
  ];
  await deps.audit?.record({
    type: '110106',
    subtype: send.status === 'done' ? 'study-sent' : 'study-send-failed',
    action: 'R',
    ...(send.status === 'done' ? {} : { outcome: send.status === 'failed' ? 8 : 4 }),
    actor: systemActor('study-send'),
    outcomeDescription: `${send.status}: ${send.instances.stored}/${send.instances.total} instances stored by ${send.peer}${send.lastError ? `; ${send.lastError}` : ''}`.slice(0, 500),
    entities,
  });
}
