/** DICOM status codes used in STOW-RS FailureReason (0008,1197) and WarningReason (0008,1196), PS3.4/PS3.18. */
export const FailureReason = {
  /** Refused: out of resources (storage full, request too large). */
  OutOfResources: 0xa700,
  /** Error: data set does not match SOP Class (missing or inconsistent attributes). */
  DataSetDoesNotMatchSopClass: 0xa900,
  /** Error: cannot understand (not DICOM, unreadable, truncated, malformed). */
  CannotUnderstand: 0xc000,
  /** Processing failure (our side: storage or index error). */
  ProcessingFailure: 0x0110,
  /** Duplicate SOP Instance: the UID is already stored with different content. */
  DuplicateSopInstance: 0x0111,
  /** Refused: SOP class not supported. */
  SopClassNotSupported: 0x0122,
  /** Refused: not authorized (e.g. the study belongs to another site). */
  NotAuthorized: 0x0124,
  /** The instance's Study Instance UID differs from the one in the request URL (PS3.18 10.5.3.1). */
  StudyInstanceUidMismatch: 0xa900,
} as const;

export const WarningReason = {
  /** Coercion of data elements. */
  CoercionOfDataElements: 0xb000,
  /** Data set does not match SOP class (stored anyway). */
  DataSetDoesNotMatchSopClass: 0xb007,
  /** Elements discarded. */
  ElementsDiscarded: 0xb006,
} as const;

/** A per-instance refusal: becomes one FailedSOPSequence item. */
export class DicomInstanceError extends Error {
  constructor(
    readonly failureReason: number,
    message: string,
    readonly sopClassUID?: string,
    readonly sopInstanceUID?: string,
  ) {
    super(message);
    this.name = 'DicomInstanceError';
  }
}
