/**
 * What ingest learns from one DICOM Part 10 file, read once when it arrives. Everything later
 * (index, QIDO, metadata, frame retrieval) is served from this, never by re-parsing the file.
 */

/** A byte span inside the stored Part 10 file. */
export interface FileSpan {
  offset: number;
  length: number;
  /**
   * Only for bit-packed frames (Bits Allocated 1) that do not start on a byte boundary: the bit (1-7, least
   * significant first) of the first byte where the frame starts; `length` then covers every byte the frame touches.
   */
  firstBit?: number;
}

/** A DICOM JSON data set (PS3.18 Annex F): keys are 8-digit upper-case hex tags. */
export type DicomJsonDataset = Record<string, DicomJsonAttribute>;
export interface DicomJsonAttribute {
  vr: string;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
}

/** Placeholder that starts every BulkDataURI in stored metadata; replaced by the DICOMweb root URL when served. */
export const BULKDATA_ROOT_PLACEHOLDER = '@@DICOMWEB_ROOT@@';

export interface BulkDataElement {
  /** Path of the element: tags and item indexes joined by '/', e.g. '7FE00010' or '00540016/0/00181078'. */
  path: string;
  vr: string;
  span: FileSpan;
}

export interface PersonIdentity {
  id?: string;
  issuer?: string;
}

export interface ParsedInstance {
  transferSyntaxUID: string;
  sopClassUID: string;
  sopInstanceUID: string;
  studyInstanceUID: string;
  seriesInstanceUID: string;
  specificCharacterSet?: string;
  patient: {
    id?: string;
    issuer?: string;
    /** DICOM PN string as decoded, e.g. 'DUPONT^Jean' (alphabetic group). */
    name?: string;
    birthDate?: string;
    sex?: string;
    /** Other Patient IDs Sequence (0010,1002) items, e.g. the INS with issuer 1.2.250.1.213.1.4.8. */
    otherIds: PersonIdentity[];
  };
  study: {
    date?: string;
    time?: string;
    accessionNumber?: string;
    description?: string;
    referringPhysicianName?: string;
    institutionName?: string;
    studyId?: string;
  };
  series: {
    modality?: string;
    number?: number;
    description?: string;
    bodyPartExamined?: string;
    date?: string;
    time?: string;
  };
  instance: {
    number?: number;
    rows?: number;
    columns?: number;
    numberOfFrames: number;
  };
  /** Per frame, the fragments (spans in the file) whose concatenation is that frame's pixel data. */
  frames: FileSpan[][];
  /** Values served by reference (Pixel Data and other large binary values). */
  bulkData: BulkDataElement[];
  /**
   * The complete instance metadata as DICOM JSON: every attribute (file meta excluded), bulk values replaced by
   * `{ "BulkDataURI": "@@DICOMWEB_ROOT@@/studies/<s>/series/<se>/instances/<i>/bulkdata/<path>" }`.
   */
  metadata: DicomJsonDataset;
  /** Things accepted but worth telling the sender (e.g. a stale File Meta Information SOP Instance UID). */
  warnings?: string[];
}
