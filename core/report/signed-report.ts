/**
 * The signed content of a report and its signature. What is signed is a canonical JSON text of the payload
 * (keys sorted, no whitespace, strings and safe integers only), so the same report always gives the same
 * bytes, also when read back from a PostgreSQL jsonb column; the signature is ECDSA P-256 over SHA-256 in
 * the JWS ES256 form (r||s, base64url), verifiable with the reader's public key from GET /api/keys.
 */
import { canonicalJson } from '../canonical-json.ts';
import { createHash, createPublicKey, sign, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { ReportContent } from './report-content.ts';

export interface SignedReportPayload {
  reportId: string;
  /** 1 for a report; an addendum is version n+1 of the report it corrects. */
  version: number;
  kind: 'report' | 'addendum';
  /** The first signed version this one corrects (addenda), else null. */
  originalReportId: string | null;
  worklistItemId: string;
  studyInstanceUID: string;
  accessionNumber: string;
  patient: { id: string; issuer: string; ins: string | null };
  author: { rpps: string; name: string };
  /** ISO 8601 UTC. */
  signedAt: string;
  content: ReportContent;
  /** Addenda: what the correction is about (absent from reports). */
  reason?: string;
}

/** The signed bytes' text: canonical JSON (keys sorted, no whitespace); doses travel as decimal text. */
export function canonicalText(value: unknown): string {
  return canonicalJson(value);
}

export function signPayload(payload: SignedReportPayload, privateKey: KeyObject): string {
  return sign('sha256', Buffer.from(canonicalText(payload), 'utf8'), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
}

export function verifyPayload(payload: SignedReportPayload, signature: string, publicJwk: JsonWebKey): boolean {
  const key = createPublicKey({ key: publicJwk, format: 'jwk' });
  return verify('sha256', Buffer.from(canonicalText(payload), 'utf8'), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
}

/** RFC 7638 thumbprint of an EC public key: its key id. */
export function jwkThumbprint(jwk: JsonWebKey): string {
  const text = `{"crv":${JSON.stringify(jwk.crv)},"kty":"EC","x":${JSON.stringify(jwk.x)},"y":${JSON.stringify(jwk.y)}}`;
  return createHash('sha256').update(text).digest('base64url');
}

/** What the PDF shows of a signature: the first 16 bytes of its SHA-256, in hex pairs ("3F:A2:..."). */
export function signatureFingerprint(signature: string): string {
  const hex = createHash('sha256').update(Buffer.from(signature, 'base64url')).digest('hex').slice(0, 32).toUpperCase();
  return hex.match(/../g)!.join(':');
}
