/**
 * Sends a stored study to a DICOM peer of the regional configuration, as an administrator asked
 * (POST /api/studies/{study}/send): one BullMQ job per request, carrying its id only; the request and its outcome
 * live in PostgreSQL (storage/send), and a sweep queues again requests whose job was lost. Every instance goes
 * over one association through the one C-STORE SCU (c-store-scu.ts), byte for byte: each object is copied from
 * the object store to a spool file first (on disk, never the study in memory), then read one at a time while sent.
 * A refused association or a broken connection is tried again with exponential backoff; instances the peer
 * refuses are listed on the request. Each outcome is audited as DICOM 110106 Export.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Job } from 'bullmq';
import type { Logger } from 'pino';
import { systemActor } from '../../audit/audit-event.ts';
import type { AuditRecorder } from '../../audit/audit-trail.ts';
import type { DicomPeer, RegionConfig } from '../../config/region/region-config.ts';
import type { Settings } from '../../config/settings.ts';
import type { Clock } from '../../core/time/clock.ts';
import type { Database } from '../../storage/database/database.ts';
import type { DicomIndex, StoredInstance } from '../../storage/index/dicom-index.ts';
import type { ObjectStore } from '../../storage/objects/object-store.ts';
import type { RefusedInstance, StudySend, StudySendStore } from '../../storage/send/study-send-store.ts';
import { openQueueStore, type JobData, type JobWorker } from '../queue/queue-store.ts';
import { CStoreScuError, isStored, sendInstances } from './c-store-scu.ts';

export const STUDY_SEND_QUEUE = 'astreinte-study-send';
const SEND_JOB = 'send-study';
/** A send left sending or retrying without news this long is queued again by the sweep. */
const STALE_MS = 10 * 60_000;

export interface StudySendWorkerDeps {
  settings: Pick<Settings, 'redisUrl' | 'delivery' | 'spoolDir'>;
  database: Database;
  sends: StudySendStore;
  index: DicomIndex;
  objects: ObjectStore;
  regionConfig: RegionConfig;
  clock: Clock;
  log: Logger;
  audit?: AuditRecorder;
  /** Run the jobs in this process (default true). */
  consume?: boolean;
  sweepIntervalMs?: number;
}

export interface StudySendWorker {
  dispatch(sendId: string): Promise<void>;
  /** Queues every unfinished send again; returns how many. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

export async function startStudySendWorker(deps: StudySendWorkerDeps): Promise<StudySendWorker> {
  const store = await openQueueStore({ redisUrl: deps.settings.redisUrl, database: deps.database });
  const queue = store.queue(STUDY_SEND_QUEUE);
  await queue.waitUntilReady();
  const { attempts, backoffMs } = deps.settings.delivery;
  const workers: JobWorker[] = [];

  const dispatch = async (sendId: string) => {
    // The job id names the request: a request already queued is not queued twice.
    await queue.add(SEND_JOB, { sendId }, { jobId: `study-send-${sendId}`, attempts, backoff: { type: 'exponential', delay: backoffMs }, removeOnComplete: true, removeOnFail: true });
  };
  const sweep = async () => {
    const ids = await deps.sends.findUnfinished(new Date(deps.clock.now().getTime() - STALE_MS), 1000);
    for (const id of ids) await dispatch(id);
    return ids.length;
  };

  if (deps.consume !== false) {
    const worker = store.worker(
      STUDY_SEND_QUEUE,
      async (job: Job<JobData>) => {
        if (job.name !== SEND_JOB) return;
        await sendStudy(deps, String(job.data.sendId), attempts);
      },
      { concurrency: 2 },
    );
    worker.on('error', (error) => deps.log.error({ err: error }, 'study send worker error'));
    worker.on('failed', (job, error) => deps.log.warn({ err: error, job: job?.id }, 'study send attempt failed'));
    await worker.waitUntilReady();
    workers.push(worker);
    await sweep();
  }
  const timer = deps.sweepIntervalMs ? setInterval(() => void sweep().catch((error: unknown) => deps.log.error({ err: error }, 'study send sweep failed')), deps.sweepIntervalMs) : undefined;
  timer?.unref();

  let stopped: Promise<void> | undefined;
  return {
    dispatch,
    sweep,
    stop: () =>
      (stopped ??= (async () => {
        if (timer) clearInterval(timer);
        await Promise.allSettled(workers.map((w) => w.close()));
        await queue.close();
        await store.close();
      })()),
  };
}

/** One try of one send; throws to have BullMQ try again. */
export async function sendStudy(deps: StudySendWorkerDeps, sendId: string, maxAttempts: number): Promise<void> {
  const send = await deps.sends.startAttempt(sendId, deps.clock.now());
  if (!send) return;
  const peer = deps.regionConfig.dicomPeerById.get(send.peer);
  if (!peer) return fail(deps, send, `the DICOM peer ${send.peer} is no longer in the regional configuration`);
  const instances = await deps.index.findInstances({ site: null }, { studyInstanceUID: send.studyInstanceUID });
  if (instances.length === 0) return fail(deps, send, `study ${send.studyInstanceUID} is no longer in the archive`);
  let refused: RefusedInstance[];
  try {
    const results = await sendThroughSpool(deps, peer, instances);
    refused = results.filter((r) => !isStored(r.status));
  } catch (error) {
    const message = (error as Error).message;
    const transient = error instanceof CStoreScuError && error.kind !== 'file';
    if (transient && send.attempts < maxAttempts) {
      await deps.sends.finishAttempt(send.id, { status: 'retrying', error: message, at: deps.clock.now() });
      throw error;
    }
    return fail(deps, send, `${message} (after ${send.attempts} tries)`);
  }
  const stored = instances.length - refused.length;
  const status = refused.length === 0 ? 'done' : stored > 0 ? 'partly-failed' : 'failed';
  await deps.sends.finishAttempt(send.id, { status, instances: instances.length, stored, refused, at: deps.clock.now() });
  await deps.audit?.record({
    type: '110106',
    subtype: 'study-sent',
    action: 'E',
    ...(status === 'done' ? {} : { outcome: 4 as const }),
    actor: systemActor('study-send'),
    outcomeDescription: `C-STORE to ${peer.id} (${peer.aeTitle}@${peer.host}:${peer.port}) asked by ${send.requestedBy}: ${stored} of ${instances.length} instances stored`,
    entities: [{ kind: 'study', studyUid: send.studyInstanceUID, instanceCount: stored }],
  });
  deps.log.info({ send: send.id, peer: peer.id, stored, refused: refused.length }, 'study sent');
}

async function sendThroughSpool(deps: StudySendWorkerDeps, peer: DicomPeer, instances: readonly StoredInstance[]) {
  await mkdir(deps.settings.spoolDir, { recursive: true });
  const dir = await mkdtemp(path.join(deps.settings.spoolDir, 'send-'));
  try {
    const files: string[] = [];
    for (const instance of instances) {
      const file = path.join(dir, `${randomUUID()}.dcm`);
      await pipeline(await deps.objects.read(instance.objectKey), createWriteStream(file));
      files.push(file);
    }
    return await sendInstances(files, {
      host: peer.host,
      port: peer.port,
      callingAeTitle: peer.callingAeTitle,
      calledAeTitle: peer.aeTitle,
      ...(peer.tls ? { tls: {} } : {}),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function fail(deps: StudySendWorkerDeps, send: StudySend, error: string): Promise<void> {
  await deps.sends.finishAttempt(send.id, { status: 'failed', error, at: deps.clock.now() });
  await deps.audit?.record({
    type: '110106',
    subtype: 'study-send-failed',
    action: 'E',
    outcome: 8,
    actor: systemActor('study-send'),
    outcomeDescription: `send to ${send.peer} asked by ${send.requestedBy} failed: ${error}`.slice(0, 500),
    entities: [{ kind: 'study', studyUid: send.studyInstanceUID }],
  });
  deps.log.warn({ send: send.id, peer: send.peer, error }, 'study send failed');
}
