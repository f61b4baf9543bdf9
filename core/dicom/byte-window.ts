/**
 * The bytes of a file that have been read so far: a few segments at known file offsets. Parsing code asks for
 * byte ranges; a range past the end of the file is a truncation, a range inside the file but not yet read
 * throws NeedBytes so that the caller reads it and parses again.
 */
import { tagLabel } from './dicom-dictionary.ts';
import { DicomInstanceError, FailureReason } from './dicom-status.ts';

/** What a byte range holds, for the truncation message: a tag (an element's value) or words. */
export type Subject = number | string;

export function describeSubject(what: Subject): string {
  return typeof what === 'number' ? `element ${tagLabel(what)}` : what;
}

export interface Segment {
  offset: number;
  bytes: Buffer;
}

/** Thrown (not an error) when parsing needs bytes of the file that have not been read yet. */
export class NeedBytes {
  constructor(
    readonly offset: number,
    readonly length: number,
  ) {}
}

export class ByteWindow {
  private readonly segments: Segment[] = [];

  constructor(readonly fileSize: number) {}

  add(segment: Segment): void {
    this.segments.push(segment);
  }

  remove(segment: Segment): void {
    const index = this.segments.indexOf(segment);
    if (index >= 0) this.segments.splice(index, 1);
  }

  get segmentList(): readonly Segment[] {
    return this.segments;
  }

  /** Total bytes held. */
  get heldBytes(): number {
    return this.segments.reduce((sum, s) => sum + s.bytes.length, 0);
  }

  /**
   * The file bytes [offset, offset + length). `what` names the data for the truncation message (no closure:
   * this is called for every element).
   * The returned buffer shares memory with the window.
   */
  bytes(offset: number, length: number, what: Subject): Buffer {
    this.ensureInFile(offset, length, what);
    for (const s of this.segments) {
      if (offset >= s.offset && offset + length <= s.offset + s.bytes.length) {
        return s.bytes.subarray(offset - s.offset, offset - s.offset + length);
      }
    }
    throw new NeedBytes(offset, length);
  }

  /** Throws the truncation error when [offset, offset + length) goes past the end of the file. */
  ensureInFile(offset: number, length: number, what: Subject): void {
    if (offset + length > this.fileSize) {
      throw new DicomInstanceError(
        FailureReason.CannotUnderstand,
        `truncated: ${describeSubject(what)} needs ${length} bytes from byte ${offset}, but the file ends after ${this.fileSize} bytes`,
      );
    }
  }
}
