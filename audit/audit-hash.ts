/**
 * The chain: hash(n) = SHA-256 over "astreinte-audit-v1\n<seq>\n<hash(n-1)>\n<canonical JSON of the event>",
 * lower-case hex; the event before the first one has {@link GENESIS_HASH}. The database computes the same
 * value when it appends (audit_append() in migrations/001-audit.sql): keep both in step.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.ts';

export const HASH_DOMAIN = 'astreinte-audit-v1';
export const GENESIS_HASH = '0'.repeat(64);
export const HASH_PATTERN = /^[0-9a-f]{64}$/;

export function chainHash(seq: number, prevHash: string, canonicalEvent: string): string {
  return createHash('sha256').update(`${HASH_DOMAIN}\n${seq}\n${prevHash}\n${canonicalEvent}`, 'utf8').digest('hex');
}

/** The hash of a stored event, recomputed from its content. */
export function eventHash(seq: number, prevHash: string, event: unknown): string {
  return chainHash(seq, prevHash, canonicalJson(event));
}
