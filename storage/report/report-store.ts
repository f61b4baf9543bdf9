/**
 * The report store contract: drafts, signing keys, signed versions (immutable once written), deliveries and
 * item step times. One implementation (PostgreSQL, postgres-report-store.ts); calls taking a `Queryable` run
 * in the caller's transaction, so a signature, the item's completion and its deliveries commit together.
 */
import type { JsonWebKey } from 'node:crypto';
import type pg from 'pg';
import type { ReportContent } from '../../core/report/report-content.ts';
import type { SignedReportPayload } from '../../core/report/signed-report.ts';

export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

export interface ReportDraft {
  itemId: string;
  author: string;
  content: ReportContent;
  revision: number;
  updatedAt: Date;
}

export type DraftSave = { saved: ReportDraft } | { conflict: ReportDraft };

export interface SigningKeyRecord {
  kid: string;
  rpps: string;
  publicJwk: JsonWebKey;
  encryptedPrivateKey: Buffer;
  createdAt: Date;
  retiredAt: Date | null;
}

export interface StoredArtifact {
  seriesInstanceUID: string;
  sopInstanceUID: string;
  objectKey: string;
  sha256: string;
}

export interface SignedReportRecord {
  id: string;
  originalId: string | null;
  version: number;
  kind: 'report' | 'addendum';
  itemId: string;
  studyInstanceUID: string;
  site: string;
  territory: string;
  authorRpps: string;
  payload: SignedReportPayload;
  signature: string;
  keyId: string;
  signedAt: Date;
  sr: StoredArtifact;
  pdf: StoredArtifact & { documentSha256: string };
}

export const DELIVERY_STATUSES = ['pending', 'retrying', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface DeliveryRecord {
  id: string;
  reportId: string;
  destination: string;
  kind: string;
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  /** When the queue will try again: set while retrying and known, null otherwise. */
  nextAttemptAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  deliveredAt: Date | null;
}

export interface AttemptOutcome {
  ok: boolean;
  detail: string;
  status: DeliveryStatus;
  at: Date;
  /** When the queue will try again after this failed try (only while `retrying`); absent or null: no time known. */
  nextAttemptAt?: Date | null;
}

export type ItemStep = 'opened' | 'signed' | 'delivered';

export interface ReportStore {
  migrate(): Promise<void>;

  draft(itemId: string): Promise<ReportDraft | null>;
  /** Saves the draft; with `expectedRevision`, only over that revision (else `conflict` with the newer one). */
  saveDraft(itemId: string, author: string, content: ReportContent, at: Date, expectedRevision?: number): Promise<DraftSave>;

  activeKey(rpps: string): Promise<SigningKeyRecord | null>;
  /** Adds a reader's key unless one is active already (then returns that one: concurrent first signatures). */
  addKey(key: Omit<SigningKeyRecord, 'retiredAt'>): Promise<SigningKeyRecord>;
  publicKeys(): Promise<Pick<SigningKeyRecord, 'kid' | 'rpps' | 'publicJwk' | 'createdAt' | 'retiredAt'>[]>;
  publicKey(kid: string): Promise<JsonWebKey | null>;

  insertSignedReport(db: Queryable, record: SignedReportRecord): Promise<void>;
  signedReport(id: string): Promise<SignedReportRecord | null>;
  /** The report of an item and its addenda, in version order. */
  reportVersions(originalId: string): Promise<SignedReportRecord[]>;
  reportOfItem(itemId: string): Promise<SignedReportRecord | null>;
  /** Every signed version, oldest first, in pages (verification of the whole store). */
  allSignedReports(afterId?: string, limit?: number): Promise<SignedReportRecord[]>;

  createDeliveries(db: Queryable, reportId: string, destinations: { id: string; kind: string }[], at: Date): Promise<DeliveryRecord[]>;
  delivery(id: string): Promise<DeliveryRecord | null>;
  deliveriesOf(reportIds: string[]): Promise<DeliveryRecord[]>;
  /** Records one attempt and the delivery's new status; the next try's time replaces the one recorded before. */
  recordAttempt(deliveryId: string, outcome: AttemptOutcome): Promise<DeliveryRecord>;

  /** The first time a step happened on an item (later calls keep the first time). */
  recordStep(db: Queryable, itemId: string, step: ItemStep, at: Date): Promise<void>;
  steps(itemId: string): Promise<Partial<Record<ItemStep, Date>>>;
}
