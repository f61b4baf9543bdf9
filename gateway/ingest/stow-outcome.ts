/** What happened to one part of a STOW-RS request. */
export type InstanceOutcome =
  | {
      kind: 'stored' | 'identical';
      sopClassUID: string;
      sopInstanceUID: string;
      studyInstanceUID: string;
      seriesInstanceUID: string;
      part: number;
      /** Local patient id and its issuer, for the audit trail. */
      patient: { id?: string; issuer?: string };
      /** Accepted, but the sender should know (e.g. a stale File Meta Information UID). */
      warnings: string[];
    }
  | {
      kind: 'failed';
      /** 1-based position of the part in the request, to name it in messages. */
      part: number;
      failureReason: number;
      message: string;
      /** The failure is transient (disk full, database down): the same instance may be sent again later. */
      retryable?: boolean;
      sopClassUID?: string;
      sopInstanceUID?: string;
    };
