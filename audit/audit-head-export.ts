/**
 * Exports the audit chain's head (seq and hash) outside the database, periodically and at shutdown: to an
 * append-only JSON-lines file (fsynced), to syslog (RFC 5424 over UDP, or TCP with octet counting, RFC 6587)
 * or by HTTP POST. Whoever rewrites the chain in the database and recomputes every hash and the head cannot
 * rewrite what was exported: `astreinte audit verify` checks the chain against the latest exported head.
 */
import dgram from 'node:dgram';
import { mkdir, open } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import type { AuditHeadSink } from '../config/settings.ts';
import { HASH_PATTERN } from './audit-hash.ts';

export interface ExportedAuditHead {
  type: 'astreinte-audit-head';
  seq: number;
  hash: string;
  /** When it was exported (ISO 8601, UTC). */
  exported: string;
  /** The host that exported it. */
  host: string;
}

export interface AuditHeadExporter {
  /** Reads the head and sends it if it moved since the last successful export (always when `force`). */
  exportNow(force?: boolean): Promise<ExportedAuditHead | undefined>;
  /** Stops the schedule and exports the head one last time. */
  stop(): Promise<void>;
}

/** Facility 13 (log audit), severity 5 (notice). */
const SYSLOG_PRIORITY = 13 * 8 + 5;
const SEND_TIMEOUT_MS = 10_000;
/** The tail read to find the last record of a head file (records are about 150 bytes). */
const TAIL_BYTES = 4096;

export function startAuditHeadExport(
  pool: pg.Pool,
  options: { sink: AuditHeadSink; intervalMs: number; onError: (error: Error) => void },
): AuditHeadExporter {
  let last: { seq: number; hash: string } | undefined;
  let running: Promise<ExportedAuditHead | undefined> = Promise.resolve(undefined);
  const exportNow = (force = false): Promise<ExportedAuditHead | undefined> => {
    running = running.catch(() => undefined).then(async () => {
      if (options.sink.kind === 'off') return undefined;
      const { rows } = await pool.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_head WHERE singleton');
      if (!rows[0]) return undefined;
      const head = { seq: Number(rows[0].seq), hash: rows[0].hash };
      if (!force && last && last.seq === head.seq && last.hash === head.hash) return undefined;
      const record: ExportedAuditHead = { type: 'astreinte-audit-head', ...head, exported: new Date().toISOString(), host: os.hostname() };
      await sendAuditHead(options.sink, record);
      last = head;
      return record;
    });
    return running;
  };
  const tick = () => void exportNow().catch((error: Error) => options.onError(error));
  tick();
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return {
    exportNow,
    async stop() {
      clearInterval(timer);
      await exportNow().catch((error: Error) => options.onError(error));
    },
  };
}

export async function sendAuditHead(sink: AuditHeadSink, record: ExportedAuditHead): Promise<void> {
  const json = JSON.stringify(record);
  switch (sink.kind) {
    case 'file':
      return appendLine(sink.path, json);
    case 'syslog':
      return sendSyslog(sink, syslogMessage(json, record.exported));
    case 'http':
      return postJson(sink.url, json);
    case 'off':
      return;
  }
}

/** The last record of a head file; undefined when there is none. A torn last line is skipped. */
export async function readLatestExportedHead(file: string): Promise<ExportedAuditHead | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n').reverse();
    for (const line of lines) {
      const record = parseRecord(line);
      if (record) return record;
    }
    return undefined;
  } finally {
    await handle.close();
  }
}

function parseRecord(line: string): ExportedAuditHead | undefined {
  try {
    const value = JSON.parse(line) as Partial<ExportedAuditHead>;
    if (value.type !== 'astreinte-audit-head' || !Number.isSafeInteger(value.seq) || typeof value.hash !== 'string') return undefined;
    if (!HASH_PATTERN.test(value.hash)) return undefined;
    return value as ExportedAuditHead;
  } catch {
    return undefined;
  }
}

async function appendLine(file: string, line: string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const handle = await open(file, 'a', 0o600);
  try {
    const created = (await handle.stat()).size === 0;
    await handle.write(`${line}\n`);
    await handle.sync();
    if (created) await syncDirectory(dir);
  } finally {
    await handle.close();
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** RFC 5424: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG. */
function syslogMessage(json: string, timestamp: string): string {
  const host = os.hostname().replace(/[^\x21-\x7e]/g, '').slice(0, 255) || '-';
  return `<${SYSLOG_PRIORITY}>1 ${timestamp} ${host} astreinte ${process.pid} audit-head - ${json}`;
}

function sendSyslog(sink: Extract<AuditHeadSink, { kind: 'syslog' }>, message: string): Promise<void> {
  return sink.transport === 'udp' ? sendUdp(sink.host, sink.port, message) : sendTcp(sink.host, sink.port, message);
}

function sendUdp(host: string, port: number, message: string): Promise<void> {
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  return new Promise<void>((resolve, reject) => {
    socket.send(Buffer.from(message, 'utf8'), port, host, (error) => {
      socket.close();
      if (error) reject(error);
      else resolve();
    });
  });
}

function sendTcp(host: string, port: number, message: string): Promise<void> {
  const frame = `${Buffer.byteLength(message, 'utf8')} ${message}`;
  return new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(SEND_TIMEOUT_MS, () => socket.destroy(new Error(`syslog server ${host}:${port} did not answer in time`)));
    socket.once('error', reject);
    socket.once('connect', () => socket.end(frame));
    socket.once('close', (hadError) => {
      if (!hadError) resolve();
    });
  });
}

async function postJson(url: string, json: string): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: json,
    signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
  });
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new Error(`the audit head receiver ${new URL(url).origin} answered ${response.status}`);
}
