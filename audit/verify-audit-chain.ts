/**
 * Recomputes the audit chain from the stored rows, in seq order, one batch at a time, and stops at the first
 * event that does not hold: a missing seq (deleted events), content that does not match its hash (edited
 * event or forged hash), an event whose hash is right for another position (reordered events), a prev_hash
 * that is not the previous event's hash (broken link), or a head that disagrees with the last event (events
 * deleted at the end). Anchors (seq + hash kept outside the database, e.g. by the SIEM from the export)
 * also catch a chain rewritten from some point on by someone who recomputed every hash after it.
 */
import type pg from 'pg';
import { chainHash, eventHash, GENESIS_HASH } from './audit-hash.ts';
import { canonicalJson } from '../core/canonical-json.ts';
import { withAuditSnapshot, type AuditRow } from './read-audit-rows.ts';

export type AuditBreakKind = 'deleted' | 'edited' | 'reordered' | 'broken-link' | 'head-mismatch' | 'anchor-mismatch';

export interface AuditChainBreak {
  /** The first event that does not verify (for a deletion: the first missing seq). */
  seq: number;
  kind: AuditBreakKind;
  /** One sentence for the operator: which event and what is wrong. No event content. */
  message: string;
}

export interface AuditChainEnd {
  seq: number;
  recorded: string;
  hash: string;
}

export interface AuditChainReport {
  ok: boolean;
  /** Events verified (from `from` on). */
  count: number;
  first?: AuditChainEnd;
  last?: AuditChainEnd;
  /** The head row of the snapshot verified. */
  head?: { seq: number; hash: string };
  break?: AuditChainBreak;
}

export interface AuditAnchor {
  seq: number;
  hash: string;
}

export interface VerifyOptions {
  /** First seq to verify (default 1). The event before it is trusted as the starting link. */
  from?: number;
  anchors?: AuditAnchor[];
  batchSize?: number;
}

/** How far from its position a moved event is looked for. */
const REORDER_WINDOW = 1000;

export async function verifyAuditChain(pool: pg.Pool, options: VerifyOptions = {}): Promise<AuditChainReport> {
  const from = options.from ?? 1;
  if (!Number.isSafeInteger(from) || from < 1) throw new RangeError('from must be a positive integer');
  const anchors = new Map((options.anchors ?? []).map((a) => [a.seq, a.hash.toLowerCase()]));
  return withAuditSnapshot(
    pool,
    { where: 'WHERE seq >= $1 ORDER BY seq', values: [from - 1], batchSize: options.batchSize },
    async (snapshot) => {
      if (snapshot.head && from > snapshot.head.seq + 1) {
        throw new RangeError(`there is no event at seq ${from}: the trail ends at seq ${snapshot.head.seq}`);
      }
      const report: AuditChainReport = { ok: true, count: 0, head: snapshot.head };
      let expectedSeq = from === 1 ? 1 : from - 1;
      let expectedPrev: string | undefined = from === 1 ? GENESIS_HASH : undefined;
      const fail = (found: AuditChainBreak): AuditChainReport => ({ ...report, ok: false, break: found });

      for await (const batch of snapshot.rows()) {
        for (const row of batch) {
          // The event just before `from` only gives the link to start from.
          if (expectedPrev === undefined && row.seq === from - 1) {
            const anchorProblem = checkAnchor(row, anchors);
            if (anchorProblem) return fail(anchorProblem);
            expectedPrev = row.hash;
            expectedSeq = from;
            continue;
          }
          const problem = checkRow(row, expectedSeq, expectedPrev) ?? checkAnchor(row, anchors);
          if (problem) return fail(problem);
          const end = { seq: row.seq, recorded: row.event.recorded, hash: row.hash };
          report.first ??= end;
          report.last = end;
          report.count += 1;
          expectedSeq = row.seq + 1;
          expectedPrev = row.hash;
        }
      }

      const lastSeq = expectedSeq - 1;
      const lastHash = expectedPrev ?? report.last?.hash;
      const tail = checkHead(snapshot.head, lastSeq, lastHash);
      if (tail) return fail(tail);
      for (const [seq] of [...anchors].sort(([a], [b]) => a - b)) {
        if (seq > lastSeq) {
          return fail({
            seq: lastSeq + 1,
            kind: 'deleted',
            message: `the trail ends at seq ${lastSeq} but the anchor you gave names seq ${seq}: events ${lastSeq + 1}..${seq} or more were deleted`,
          });
        }
      }
      return report;
    },
  );
}

function checkRow(row: AuditRow, expectedSeq: number, expectedPrev: string | undefined): AuditChainBreak | undefined {
  if (row.seq > expectedSeq) {
    const missing = row.seq - 1 > expectedSeq ? `events ${expectedSeq}..${row.seq - 1} are` : `event ${expectedSeq} is`;
    return {
      seq: expectedSeq,
      kind: 'deleted',
      message: `seq ${expectedSeq}: ${missing} missing, the chain jumps from seq ${expectedSeq - 1} to seq ${row.seq} (deleted events)`,
    };
  }
  let recomputed: string | undefined;
  try {
    recomputed = eventHash(row.seq, row.prevHash, row.event);
  } catch {
    recomputed = undefined; // content no longer serialisable as we write it: edited
  }
  if (recomputed !== row.hash) {
    const writtenAs = recomputed === undefined ? undefined : originalPosition(row);
    if (writtenAs !== undefined) {
      return {
        seq: row.seq,
        kind: 'reordered',
        message: `seq ${row.seq}: this event was written as seq ${writtenAs} (events reordered)`,
      };
    }
    return {
      seq: row.seq,
      kind: 'edited',
      message: `seq ${row.seq}: the event's content does not match its hash (the event or its hash was edited)`,
    };
  }
  if (row.typeCode !== row.event.type || row.recordedAt.getTime() !== Date.parse(row.event.recorded)) {
    return {
      seq: row.seq,
      kind: 'edited',
      message: `seq ${row.seq}: the recorded_at or type_code column differs from the hashed event (edited)`,
    };
  }
  if (expectedPrev !== undefined && row.prevHash !== expectedPrev) {
    return {
      seq: row.seq,
      kind: 'broken-link',
      message:
        `seq ${row.seq}: its prev_hash is not the hash of seq ${row.seq - 1} (broken link: seq ${row.seq - 1} was ` +
        `replaced with a recomputed hash, or seq ${row.seq} was)`,
    };
  }
  return undefined;
}

/** The seq this event was hashed under, when it is another one near its position. */
function originalPosition(row: AuditRow): number | undefined {
  const text = canonicalJson(row.event);
  for (let distance = 1; distance <= REORDER_WINDOW; distance += 1) {
    for (const seq of [row.seq - distance, row.seq + distance]) {
      if (seq >= 1 && chainHash(seq, row.prevHash, text) === row.hash) return seq;
    }
  }
  return undefined;
}

function checkAnchor(row: AuditRow, anchors: Map<number, string>): AuditChainBreak | undefined {
  const expected = anchors.get(row.seq);
  if (expected === undefined || expected === row.hash) return undefined;
  return {
    seq: row.seq,
    kind: 'anchor-mismatch',
    message: `seq ${row.seq}: its hash differs from the anchor you gave (the chain was rewritten up to or after this event)`,
  };
}

function checkHead(
  head: { seq: number; hash: string } | undefined,
  lastSeq: number,
  lastHash: string | undefined,
): AuditChainBreak | undefined {
  if (!head) {
    return { seq: lastSeq + 1, kind: 'head-mismatch', message: 'the audit_head row is missing (deleted)' };
  }
  if (head.seq > lastSeq) {
    const missing = head.seq > lastSeq + 1 ? `events ${lastSeq + 1}..${head.seq} are` : `event ${head.seq} is`;
    return {
      seq: lastSeq + 1,
      kind: 'deleted',
      message: `seq ${lastSeq + 1}: ${missing} missing, the trail ends at seq ${lastSeq} but its head records seq ${head.seq} (events deleted at the end)`,
    };
  }
  if (head.seq < lastSeq) {
    return {
      seq: head.seq + 1,
      kind: 'head-mismatch',
      message: `seq ${head.seq + 1}: the head records seq ${head.seq} but events go on to seq ${lastSeq} (the head was moved back, or events were added around audit_append())`,
    };
  }
  if (lastSeq > 0 && lastHash !== undefined && head.hash !== lastHash) {
    return {
      seq: lastSeq,
      kind: 'head-mismatch',
      message: `seq ${lastSeq}: the head's hash is not the hash of the last event (the last event was replaced)`,
    };
  }
  return undefined;
}
