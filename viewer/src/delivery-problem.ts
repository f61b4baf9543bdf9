/**
 * A delivery that did not go through, told to a clinician: what failed and what happens next, in plain words. The
 * API gives the worker's technical message (`lastError`, e.g. "MLLP connection to ris.example:2575 failed:
 * getaddrinfo ENOTFOUND ris.example"); it is read here into a kind of failure, and kept as it is for the
 * coordinator. Without any browser API, so that Node's unit tests check the mapping.
 */
import { parisTime, type DeliveryStatus } from './report-content.ts';
import type { ReportMessageKey } from './report-words.ts';

export type DeliveryFailure =
  | 'configuration'
  | 'altered'
  | 'not-found'
  | 'connection-refused'
  | 'no-answer'
  | 'certificate'
  | 'connection-cut'
  | 'credentials'
  | 'report-refused'
  | 'other';

/** First match wins: the worker's own words first, then the system error codes Node puts in its messages. */
const FAILURE_PATTERNS: readonly [DeliveryFailure, RegExp][] = [
  ['configuration', /environment variable .* is not set|no longer in the regional configuration/],
  ['altered', /differs from the one signed/],
  ['not-found', /\b(ENOTFOUND|EAI_AGAIN|EAI_NONAME)\b/],
  ['connection-refused', /\bECONNREFUSED\b/],
  ['no-answer', /\b(ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)\b|timed? ?out|no MLLP answer/i],
  ['certificate', /certificate|\bCERT_|self[- ]signed|\bSSL\b|\bTLS\b/i],
  ['connection-cut', /\b(ECONNRESET|EPIPE)\b|socket hang up|closed the MLLP connection|other side closed/i],
  ['credentials', /answered 40[13]\b/],
  ['report-refused', /answered \d{3}|did not accept the report|association refused|rejected the association|C-STORE to \S+ refused/],
];

const FAILURE_WORDS: Record<DeliveryFailure, ReportMessageKey> = {
  configuration: 'fConfiguration',
  altered: 'fAltered',
  'not-found': 'fNotFound',
  'connection-refused': 'fConnectionRefused',
  'no-answer': 'fNoAnswer',
  certificate: 'fCertificate',
  'connection-cut': 'fConnectionCut',
  credentials: 'fCredentials',
  'report-refused': 'fReportRefused',
  other: 'fOther',
};

export function deliveryFailure(lastError: string): DeliveryFailure {
  return FAILURE_PATTERNS.find(([, pattern]) => pattern.test(lastError))?.[0] ?? 'other';
}

export interface DeliveryProblem {
  failure: DeliveryFailure;
  /** What failed, naming the hospital's system. */
  what: string;
  /** What happens next and what the reader may do. */
  next: string;
  /** The worker's message, for the coordinator. */
  technical: string;
}

/** The problem of a delivery still to be made or given up, in `words`' language; none once it is delivered. */
export function deliveryProblem(
  delivery: { kind: string; status: DeliveryStatus; lastError: string | null; nextAttemptAt?: string | null },
  words: Record<ReportMessageKey, string>,
): DeliveryProblem | undefined {
  if (!delivery.lastError || (delivery.status !== 'retrying' && delivery.status !== 'failed')) return undefined;
  const failure = deliveryFailure(delivery.lastError);
  const system = words[delivery.kind === 'hl7-mllp' ? 'dSystemRis' : 'dSystemPacs'];
  return {
    failure,
    what: capitalised(words[FAILURE_WORDS[failure]].replace('{system}', system)),
    next: delivery.status === 'failed' ? words.dNextGivenUp : nextTry(delivery.nextAttemptAt, words),
    technical: delivery.lastError,
  };
}

/** When the next try comes, in Paris time; the time unknown (or unreadable), that one will come. */
function nextTry(nextAttemptAt: string | null | undefined, words: Record<ReportMessageKey, string>): string {
  if (!nextAttemptAt || Number.isNaN(Date.parse(nextAttemptAt))) return words.dNextRetry;
  return words.dNextRetryAt.replace('{time}', parisTime(nextAttemptAt));
}

function capitalised(sentence: string): string {
  return sentence.charAt(0).toUpperCase() + sentence.slice(1);
}
