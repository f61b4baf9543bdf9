import { readFile } from 'node:fs/promises';
import net, { type Server, type Socket } from 'node:net';
import tls from 'node:tls';
import dcmjsDimse from 'dcmjs-dimse';
import type { Logger } from 'pino';
import type { AuditRecorder } from '../../../audit/audit-trail.ts';
import type { AuditEntity } from '../../../audit/audit-event.ts';
import { DEFAULT_SITE_ASSOCIATIONS, type RegionConfig, type Site } from '../../../config/region/region-config.ts';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../../../core/dicom/file-meta-information.ts';
import type { IngestDependencies } from '../ingest-instance.ts';
import { createAssociationPolicy } from './association-policy.ts';
import { ABORT_INVALID_PDU, MAX_PDATA_LENGTH, PduGuard } from './pdu-guard.ts';
import { StoreScp, type AssociationSummary, type DimseObserver, type StudyReception } from './store-scp.ts';

const { Implementation, log: libraryLog } = dcmjsDimse;

export interface DimseListenerOptions {
  host: string;
  /** 0 picks a free port (tests); the system does not start the listener at all when DIMSE_PORT is 0. */
  port: number;
  aeTitle: string;
  /** Concurrent associations, all sites together; each site also has its own limit (region file). */
  maxAssociations: number;
  tls?: { certFile: string; keyFile: string; caFile?: string };
  regionConfig: RegionConfig;
  ingest: IngestDependencies;
  spoolDir: string;
  audit?: AuditRecorder;
  log: Logger;
  onStudyActivity?: (studyInstanceUID: string, site: string) => void;
  /** Associations and C-STOREs, for /metrics. */
  observer?: DimseObserver;
}

export interface DimseListener {
  port: number;
  /** Stops accepting, ends every association and waits for the C-STOREs under way to finish. */
  close(): Promise<void>;
}

/**
 * The DICOM network entry (C-ECHO, C-STORE SCP) beside STOW-RS: associations are checked against the regional
 * configuration, and each received instance goes through the same ingest path as a STOW-RS part.
 */
export async function startDimseListener(options: DimseListenerOptions): Promise<DimseListener> {
  libraryLog.setLevel('silent'); // its per-PDU logging; what matters is logged here, through pino
  Implementation.setImplementationClassUid(IMPLEMENTATION_CLASS_UID);
  Implementation.setImplementationVersion(IMPLEMENTATION_VERSION_NAME);
  Implementation.setMaxPduLength(MAX_PDATA_LENGTH);

  const decide = createAssociationPolicy({ aeTitle: options.aeTitle, regionConfig: options.regionConfig, requireClientCertificate: Boolean(options.tls?.caFile) });
  const sockets = new Set<Socket>();
  const work = new Set<Promise<unknown>>();
  const log = options.log;

  const onAssociationEnd = (summary: AssociationSummary) => {
    if (!options.audit) return;
    const record = options.audit.record(auditEventOf(summary)).catch((error: unknown) => log.error({ err: error }, 'DIMSE audit event not recorded'));
    work.add(record);
    void record.finally(() => work.delete(record));
  };

  const recordReception = options.audit
    ? async (reception: StudyReception) => {
        await options.audit?.record(receptionEventOf(reception));
      }
    : undefined;

  const active = new Map<string, number>();
  let total = 0;
  const admit = (site: Site) => {
    const held = active.get(site.finess) ?? 0;
    if (total >= options.maxAssociations || held >= (site.dicomMaxAssociations ?? DEFAULT_SITE_ASSOCIATIONS)) return undefined;
    active.set(site.finess, held + 1);
    total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      total--;
      active.set(site.finess, (active.get(site.finess) ?? 1) - 1);
    };
  };

  const accept = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined); // reported by the library as a network error, and the socket closes
    socket.setNoDelay(true);
    const guard = new PduGuard();
    // Registered before the library's own listener: a bad PDU closes the connection before it is gathered.
    socket.on('data', (chunk: Buffer) => {
      const problem = guard.feed(chunk);
      if (problem && !socket.destroyed) {
        log.warn({ address: socket.remoteAddress, problem }, 'DICOM connection aborted: malformed PDU');
        socket.pause();
        socket.write(ABORT_INVALID_PDU, () => socket.destroy());
        setTimeout(() => socket.destroy(), 1000).unref();
      }
    });
    const scp = new StoreScp(socket, {
      decide,
      ...(options.observer ? { observer: options.observer } : {}),
      admit,
      ingest: options.ingest,
      spoolDir: options.spoolDir,
      log,
      onStudyActivity: options.onStudyActivity,
      onAssociationEnd,
      ...(recordReception ? { recordReception } : {}),
      track: (promise) => {
        work.add(promise);
        void promise.finally(() => work.delete(promise));
      },
    });
    scp.on('networkError', (error: Error) => {
      log.debug({ err: error, address: socket.remoteAddress }, 'DICOM connection error');
      socket.destroy();
    });
  };

  let server: Server;
  if (options.tls) {
    const [cert, key, ca] = await Promise.all([
      readFile(options.tls.certFile),
      readFile(options.tls.keyFile),
      options.tls.caFile ? readFile(options.tls.caFile) : Promise.resolve(undefined),
    ]);
    server = tls.createServer({ cert, key, ca, requestCert: Boolean(ca), rejectUnauthorized: Boolean(ca), minVersion: 'TLSv1.2' }, accept);
    server.on('tlsClientError', (error, socket) => {
      log.warn({ address: socket.remoteAddress, reason: error.message }, 'DICOM TLS connection refused');
    });
  } else {
    server = net.createServer(accept);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`DICOM port ${options.port} on ${options.host} is already in use: stop the other program, set DIMSE_PORT to a free port, or 0 to disable DICOM`)
          : error,
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;

  return {
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      while (work.size > 0) await Promise.allSettled([...work]);
    },
  };
}

/** "DICOM Instances Transferred" begun: a study of a patient arrives, recorded before its first acknowledgement. */
function receptionEventOf(reception: StudyReception) {
  const entities: AuditEntity[] = [{ kind: 'study', studyUid: reception.studyInstanceUID }];
  if (reception.patient.id) entities.push({ kind: 'patient', patientId: reception.patient.id, issuer: reception.patient.issuer });
  return {
    type: '110104' as const,
    subtype: 'c-store-study',
    action: 'C' as const,
    outcomeDescription: 'reception begun: recorded before the first instance is acknowledged; the association event gives the totals',
    actor: { userId: `dicom:${reception.callingAeTitle}`, role: 'sender' as const, site: reception.site.finess },
    network: { address: reception.remoteAddress, userAgent: `DICOM AE ${reception.callingAeTitle}` },
    entities,
  };
}

/** One "DICOM Instances Transferred" event per association, as STOW-RS records one per request. */
function auditEventOf(summary: AssociationSummary) {
  const studies = new Map<string, { count: number; patients: Map<string, { patientId: string; issuer?: string }> }>();
  for (const o of summary.outcomes) {
    if (o.kind === 'failed') continue;
    const entry = studies.get(o.studyInstanceUID) ?? { count: 0, patients: new Map() };
    entry.count += 1;
    if (o.patient.id) entry.patients.set(`${o.patient.issuer ?? ''}|${o.patient.id}`, { patientId: o.patient.id, issuer: o.patient.issuer });
    studies.set(o.studyInstanceUID, entry);
  }
  const stored = [...studies.values()].reduce((sum, s) => sum + s.count, 0);
  const failed = summary.outcomes.length - stored;
  const entities: AuditEntity[] = [...studies].flatMap(([studyUid, s]) => [
    { kind: 'study' as const, studyUid, instanceCount: s.count },
    ...[...s.patients.values()].map((p) => ({ kind: 'patient' as const, ...p })),
  ]);
  return {
    type: '110104' as const,
    subtype: 'c-store',
    action: 'C' as const,
    ...(failed > 0 ? { outcome: 4 as const, outcomeDescription: `${failed} of ${summary.outcomes.length} instances refused` } : {}),
    actor: { userId: `dicom:${summary.callingAeTitle}`, role: 'sender' as const, site: summary.site.finess },
    network: { address: summary.remoteAddress, userAgent: `DICOM AE ${summary.callingAeTitle}` },
    entities,
  };
}
