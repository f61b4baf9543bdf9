import type { BulkDataElement, FileSpan, ParsedInstance } from '../../core/dicom/parsed-instance.ts';
import type { ReaderAudience } from '../worklist/item-visibility.ts';

/** What the index records about one stored instance, beyond what was parsed. */
export interface InstanceToIndex {
  parsed: ParsedInstance;
  objectKey: string;
  size: number;
  sha256: string;
  /** FINESS of the sending site (sender tokens), or null for admin/other ingest paths. */
  site: string | null;
  receivedAt: Date;
}

export type IndexOutcome =
  | { kind: 'stored' }
  /** Same SOP Instance UID, same bytes (sha256): nothing changed, success. */
  | { kind: 'identical' }
  /** Same SOP Instance UID already stored with other bytes (or in another study/series): refused. */
  | { kind: 'conflict'; reason: string; existingSha256: string; existingObjectKey: string }
  /**
   * A sender's instance in a study (or with a SOP Instance UID) that is not its site's: another site's, or an
   * administrator's import. Refused.
   */
  | { kind: 'forbidden'; reason: string };

/** Everything retrieval needs to serve an instance without touching the file except for the bytes asked for. */
export interface StoredInstance {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  sopInstanceUID: string;
  sopClassUID: string;
  transferSyntaxUID: string;
  objectKey: string;
  size: number;
  sha256: string;
  numberOfFrames: number;
  frames: FileSpan[][];
  bulkData: BulkDataElement[];
}

/** Who is asking: the index filters what they may see. `null` site = no site restriction. */
export interface AccessScope {
  site: string | null;
  /**
   * A reader (or expert) sees only the studies of worklist items they may see (storage/worklist/item-visibility.ts):
   * assigned or offered to this RPPS, or in (or notified to) one of these pools, whatever the item's status.
   */
  reader?: ReaderAudience;
}

export interface StudyOwnership {
  studyInstanceUID: string;
  site: string | null;
}

/** The PostgreSQL index contract. One implementation; the contract suite runs against embedded and external servers. */
export interface DicomIndex {
  /** Applies pending migrations. */
  migrate(): Promise<void>;
  /**
   * Indexes one instance atomically (patient, study, series, instance rows in one transaction), once its
   * object is durable: ingest calls it after the object store's put. Concurrent calls may share a transaction.
   */
  indexInstance(instance: InstanceToIndex): Promise<IndexOutcome>;
  /** Instances of a study / series / one instance, ordered by series number, instance number, UID. */
  findInstances(
    scope: AccessScope,
    where: { studyInstanceUID: string; seriesInstanceUID?: string; sopInstanceUID?: string },
  ): Promise<StoredInstance[]>;
  /**
   * Stored DICOM JSON metadata texts (one JSON object text per instance, BulkDataURI placeholders intact),
   * same filter and order as findInstances. Served by concatenation, never re-parsed.
   */
  findMetadata(
    scope: AccessScope,
    where: { studyInstanceUID: string; seriesInstanceUID?: string; sopInstanceUID?: string },
  ): Promise<string[]>;
  /**
   * A value that changes whenever findMetadata's answer for the same arguments would change (instances are
   * only ever added or removed, never rewritten), or null when nothing matches for this scope. One small
   * look-up: lets retrieval reuse a metadata answer it already built.
   */
  metadataVersion(
    scope: AccessScope,
    where: { studyInstanceUID: string; seriesInstanceUID?: string; sopInstanceUID?: string },
  ): Promise<string | null>;
  studyOwnership(studyInstanceUID: string): Promise<StudyOwnership | null>;
  /** Object keys referenced by the index (for orphan sweeps), streamed. */
  hasObjectKey(objectKey: string): Promise<boolean>;
  close(): Promise<void>;
}
