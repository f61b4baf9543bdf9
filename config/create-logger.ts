/**
 * The process logger (pino, JSON lines on stdout). Logs never carry patient data, and DICOM UIDs identify a
 * patient's study: errors are logged with the UIDs in their message, stack and file paths (object keys are
 * `studies/<study>/<series>/<sop>...`) replaced by `<uid>`, whatever code threw them, and so are logged request
 * paths.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * A DICOM UID: a root arc 0, 1 or 2 and at least four more numeric components (IPv4 addresses have three), or a
 * UUID-derived UID `2.25.<integer>` (PS3.5 B.2).
 */
const DICOM_UID = /\b[0-2](?:\.\d+){4,}\b|\b2\.25\.\d{6,}\b/g;

export function redactUids(text: string): string {
  return text.replace(DICOM_UID, '<uid>');
}

/** pino's error serializer, then every string field of the result with its UIDs masked. */
function errorWithoutUids(error: Error): Record<string, unknown> {
  const serialized = pino.stdSerializers.err(error) as unknown as Record<string, unknown>;
  return Object.fromEntries(Object.entries(serialized).map(([key, value]) => [key, typeof value === 'string' ? redactUids(value) : value]));
}

/** Request paths (`/dicomweb/studies/<uid>/...`) say which resource failed without saying whose. */
function pathWithoutUids(value: unknown): unknown {
  return typeof value === 'string' ? redactUids(value) : value;
}

/** `destination`: stdout unless given (tests). */
export function createLogger(options: { level: string; service: string }, destination?: DestinationStream): Logger {
  const serializers = { err: errorWithoutUids, error: errorWithoutUids, path: pathWithoutUids };
  const settings = { level: options.level, base: { service: options.service }, serializers };
  return destination ? pino(settings, destination) : pino(settings);
}
