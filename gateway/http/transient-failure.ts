/**
 * Which failures of a STOW step are worth retrying: the disk or the database is full, down or restarting. The
 * sender is told to come back (503 with Retry-After), not that its instance is unacceptable (409).
 */
import { FailureReason } from '../../core/dicom/dicom-status.ts';

/** Seconds a client is asked to wait (Retry-After) before trying again after a transient failure. */
export const RETRY_AFTER_SECONDS = 30;

/** Out of space: the instance is refused with 0xA700 (Refused: Out of Resources). */
const OUT_OF_SPACE = new Set(['ENOSPC', 'EDQUOT']);
/** The network or a server went away: connection refused, reset, timed out. */
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EMFILE', 'ENFILE']);
/**
 * PostgreSQL SQLSTATEs of a server that cannot serve now: 08 connection exceptions, 53 insufficient resources
 * (disk full, out of memory, too many connections), 57P01-57P05 shutdown and start-up, 40001/40P01 serialization
 * failure and deadlock (retrying the statement succeeds).
 */
const POSTGRES_TRANSIENT = /^(08...|53...|57P0[1-5]|40001|40P01)$/;
/** node-postgres reports a lost or unobtainable connection without a code. */
const PG_CLIENT_MESSAGES = ['Connection terminated', 'timeout exceeded when trying to connect', 'Client has encountered a connection error', 'Client was closed'];

export interface TransientFailure {
  failureReason: number;
  message: string;
}

/** The refusal to give for `error` when it is transient, or undefined for any other failure. */
export function transientFailure(error: unknown): TransientFailure | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  const text = error instanceof Error ? error.message : '';
  if (typeof code === 'string' && OUT_OF_SPACE.has(code)) {
    return {
      failureReason: FailureReason.OutOfResources,
      message: `the archive is out of storage space; this instance is not stored, send it again in ${RETRY_AFTER_SECONDS} s or later`,
    };
  }
  if (code === '53100') {
    return {
      failureReason: FailureReason.OutOfResources,
      message: `the archive's database is out of disk space; this instance is not stored, send it again in ${RETRY_AFTER_SECONDS} s or later`,
    };
  }
  const transient =
    (typeof code === 'string' && (NETWORK.has(code) || POSTGRES_TRANSIENT.test(code))) || PG_CLIENT_MESSAGES.some((m) => text.includes(m));
  if (!transient) return undefined;
  return {
    failureReason: FailureReason.ProcessingFailure,
    message: `the archive's database or storage is unavailable for a moment; this instance is not stored, send it again in ${RETRY_AFTER_SECONDS} s or later`,
  };
}
