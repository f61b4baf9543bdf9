/**
 * Reads one spooled DICOM Part 10 file (PS3.10) at ingest: validates it, builds its DICOM JSON metadata and finds
 * its frames, reading only the attributes before Pixel Data and the item headers of encapsulated pixel data.
 * A 1 GB multi-frame file costs a few kilobytes of reads.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { ByteWindow, NeedBytes } from './byte-window.ts';
import {
  DatasetParser,
  type ParsedDataset,
  type ParsedElement,
  type PixelDataHeader,
} from './dataset-parser.ts';
import { tagHex, tagLabel } from './dicom-dictionary.ts';
import {
  asciiValue,
  buildDicomJson,
  specificCharacterSetOf,
  TEXT_VALUE_MAX_CHARS,
  type TruncatedValue,
} from './dicom-json.ts';
import { DicomInstanceError, FailureReason } from './dicom-status.ts';
import { readInstanceSummary } from './instance-summary.ts';
import {
  BULKDATA_ROOT_PLACEHOLDER,
  type BulkDataElement,
  type DicomJsonDataset,
  type FileSpan,
  type ParsedInstance,
} from './parsed-instance.ts';
import {
  encapsulatedFrames,
  nativeFrames,
  type ExtendedOffsetTable,
  type ImagePixelAttributes,
  type PixelDataLayout,
} from './pixel-data-frames.ts';
import { PositionalReader, readFully } from './positional-reader.ts';
import { transferSyntax, unsupportedTransferSyntaxMessage, type TransferSyntax } from './transfer-syntax.ts';
import { describeUidProblem } from './uid.ts';
import { writeInflatedTwin } from './inflate-data-set.ts';

export interface ReadInstanceOptions {
  /** Most bytes read to parse the attributes (everything but bulk values); beyond, refused with 0xA700. */
  maxHeaderBytes?: number;
  /** First read from the start of the file. */
  initialReadBytes?: number;
  /** Most bytes a deflated data set may inflate to (a deflate bomb is refused with 0xA700). */
  maxInflatedBytes?: number;
}

export const DEFAULT_MAX_INFLATED_BYTES = 4 * 1024 * 1024 * 1024;

export const DEFAULT_MAX_HEADER_BYTES = 64 * 1024 * 1024;
const DEFAULT_INITIAL_READ = 64 * 1024;
/** A missing range this close after a segment extends it rather than starting a new one. */
const EXTEND_GAP = 256 * 1024;
const MIN_SEGMENT = 64 * 1024;

const PREAMBLE_LENGTH = 128;
const META_START = PREAMBLE_LENGTH + 4;

const TRANSFER_SYNTAX_UID = 0x00020010;
const MEDIA_STORAGE_SOP_CLASS_UID = 0x00020002;
const MEDIA_STORAGE_SOP_INSTANCE_UID = 0x00020003;
const SOP_CLASS_UID = 0x00080016;
const SOP_INSTANCE_UID = 0x00080018;
const STUDY_INSTANCE_UID = 0x0020000d;
const SERIES_INSTANCE_UID = 0x0020000e;
const EXTENDED_OFFSET_TABLE = 0x7fe00001;
const EXTENDED_OFFSET_TABLE_LENGTHS = 0x7fe00002;

export async function readInstanceFile(filePath: string, options: ReadInstanceOptions = {}): Promise<ParsedInstance> {
  // Synchronous I/O on purpose (see positional-reader.ts): a few page-cache reads of a freshly spooled file.
  let deflatedFrom: FileMeta;
  const fd = openSync(filePath, 'r');
  try {
    const reader = new InstanceFileReader(fd, fstatSync(fd).size, options);
    const meta = reader.readMeta();
    if (!meta.transferSyntax.deflated) return reader.read(meta);
    deflatedFrom = meta;
  } finally {
    closeSync(fd);
  }
  return readDeflatedInstanceFile(filePath, deflatedFrom, options);
}

/**
 * A Deflated Explicit VR Little Endian file is read through its inflated twin (the File Meta Information, then the
 * data set inflated), written next to it as a stream and removed after: the twin is parsed like any explicit VR
 * little endian file, so frame and bulk data positions are positions in the inflated stream (where
 * `inflatedSpanReader` of retrieval finds them).
 */
async function readDeflatedInstanceFile(filePath: string, meta: FileMeta, options: ReadInstanceOptions): Promise<ParsedInstance> {
  const twin = `${filePath}.inflated`;
  try {
    await writeInflatedTwin(filePath, meta.end, twin, options.maxInflatedBytes ?? DEFAULT_MAX_INFLATED_BYTES).catch((error: unknown) => {
      throw inflateRefusal(error, meta);
    });
    const fd = openSync(twin, 'r');
    try {
      const reader = new InstanceFileReader(fd, fstatSync(fd).size, options);
      return reader.read(reader.readMeta());
    } finally {
      closeSync(fd);
    }
  } finally {
    await rm(twin, { force: true });
  }
}

/** A zlib error says the stream is damaged; anything else (disk full, the size limit) is passed on as it is. */
function inflateRefusal(error: unknown, meta: FileMeta): unknown {
  const detail = (error as NodeJS.ErrnoException | undefined)?.code;
  if (error instanceof DicomInstanceError || !detail?.startsWith('Z_')) return error;
  // 0xC000 (cannot understand): the bytes are not a deflate stream, the file is damaged, not of the wrong class.
  return new DicomInstanceError(
    FailureReason.CannotUnderstand,
    `the data set is declared Deflated Explicit VR Little Endian (1.2.840.10008.1.2.1.99) but is not a valid deflate ` +
      `stream (${detail}); the file is damaged: send it again, or uncompressed`,
    meta.sopClassUID,
    meta.sopInstanceUID,
  );
}

function cannotUnderstand(message: string, sopClassUID?: string, sopInstanceUID?: string): DicomInstanceError {
  return new DicomInstanceError(FailureReason.CannotUnderstand, message, sopClassUID, sopInstanceUID);
}

interface FileMeta {
  transferSyntax: TransferSyntax;
  sopClassUID: string;
  sopInstanceUID: string;
  end: number;
}

interface InstanceUids {
  sopClassUID: string;
  sopInstanceUID: string;
  studyInstanceUID: string;
  seriesInstanceUID: string;
}

class InstanceFileReader {
  private readonly win: ByteWindow;
  private readonly parser: DatasetParser;
  private readonly maxHeaderBytes: number;

  constructor(
    private readonly fd: number,
    private readonly size: number,
    private readonly options: ReadInstanceOptions,
  ) {
    this.win = new ByteWindow(size);
    this.parser = new DatasetParser(this.win);
    this.maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  }

  readMeta(): FileMeta {
    this.readSegment(0, Math.min(this.size, this.options.initialReadBytes ?? DEFAULT_INITIAL_READ));
    this.checkPreamble();
    return this.retrying(() => this.readFileMeta());
  }

  read(meta: FileMeta): ParsedInstance {
    const syntax = meta.transferSyntax;
    const top = this.retrying(() => this.parser.parseTopLevel(meta.end, syntax, true), meta);
    const warnings: string[] = [];
    const uids = this.checkUids(top.elements, meta, warnings);

    const characterSet = specificCharacterSetOf(top.elements, this.win);
    const bulkData: BulkDataElement[] = [];
    const bulkDataUriBase =
      `${BULKDATA_ROOT_PLACEHOLDER}/studies/${uids.studyInstanceUID}/series/${uids.seriesInstanceUID}` +
      `/instances/${uids.sopInstanceUID}/bulkdata`;
    const truncated: TruncatedValue[] = [];
    let metadata: DicomJsonDataset = buildDicomJson(top.elements, { win: this.win, bulkDataUriBase, bulkData, truncated });
    let frames: FileSpan[][] = [];
    let numberOfFrames = 0;

    if (top.pixelData) {
      const attrs = pixelAttributes(metadata, uids);
      const layout = this.locateFrames(top.pixelData, syntax, attrs, top.elements, uids);
      frames = layout.frames;
      numberOfFrames = attrs.numberOfFrames;
      const rest: ParsedDataset = [pixelDataElement(top.pixelData, syntax, layout.span)];
      if (layout.end < this.size) {
        // Attributes after Pixel Data are rare (e.g. Digital Signatures Sequence) but are attributes all the same.
        const tail = this.retrying(() => this.parser.parseTopLevel(layout.end, syntax, false), meta);
        rest.push(...tail.elements.filter((e) => !(tagHex(e.tag) in metadata) && e.tag !== top.pixelData?.tag));
      }
      metadata = { ...metadata, ...buildDicomJson(rest, { win: this.win, bulkDataUriBase, bulkData, characterSet, truncated }) };
    }
    if (truncated.length > 0) warnings.push(truncationWarning(truncated));

    return {
      transferSyntaxUID: syntax.uid,
      ...uids,
      specificCharacterSet: characterSet.length > 0 ? characterSet.join('\\') : undefined,
      ...readInstanceSummary(metadata, numberOfFrames),
      frames,
      bulkData,
      metadata,
      warnings,
    };
  }

  private checkPreamble(): void {
    if (this.size < META_START) {
      throw cannotUnderstand(
        `not a DICOM Part 10 file: it is only ${this.size} bytes long (a Part 10 file starts with a 128-byte preamble and "DICM")`,
      );
    }
    const magic = this.win.bytes(PREAMBLE_LENGTH, 4, 'the DICM prefix').toString('latin1');
    if (magic !== 'DICM') {
      throw cannotUnderstand(
        'not a DICOM Part 10 file: there is no "DICM" prefix after the 128-byte preamble (PS3.10 7.1). A bare data set ' +
          'without File Meta Information is not accepted; send the file as written by a DICOM application (Part 10 format)',
      );
    }
  }

  private readFileMeta(): FileMeta {
    const { elements, end } = this.parser.parseFileMeta(META_START);
    const value = (tag: number, name: string) => {
      const element = elements.find((e) => e.tag === tag);
      const text = element ? asciiValue(this.win, element) : '';
      if (!text) throw cannotUnderstand(`the File Meta Information has no ${name} ${tagLabel(tag)} (PS3.10 7.1)`);
      return text;
    };
    const tsUid = value(TRANSFER_SYNTAX_UID, 'Transfer Syntax UID');
    const sopClassUID = value(MEDIA_STORAGE_SOP_CLASS_UID, 'Media Storage SOP Class UID');
    const sopInstanceUID = value(MEDIA_STORAGE_SOP_INSTANCE_UID, 'Media Storage SOP Instance UID');
    const ts = transferSyntax(tsUid);
    if (!ts) throw cannotUnderstand(unsupportedTransferSyntaxMessage(tsUid), sopClassUID, sopInstanceUID);
    return { transferSyntax: ts, sopClassUID, sopInstanceUID, end };
  }

  private checkUids(elements: ParsedDataset, meta: FileMeta, warnings: string[]): InstanceUids {
    const fail = (message: string) =>
      new DicomInstanceError(FailureReason.DataSetDoesNotMatchSopClass, message, meta.sopClassUID, meta.sopInstanceUID);
    const uid = (tag: number, name: string) => {
      const element = elements.find((e) => e.tag === tag);
      const text = element ? asciiValue(this.win, element) : '';
      if (!text) throw fail(`${name} ${tagLabel(tag)} is missing or empty`);
      const problem = describeUidProblem(text);
      if (problem) throw fail(`${name} ${tagLabel(tag)} "${printable(text)}" is not a valid UID: ${problem} (PS3.5 9.1)`);
      return text;
    };
    const sopClassUID = uid(SOP_CLASS_UID, 'SOP Class UID');
    const sopInstanceUID = uid(SOP_INSTANCE_UID, 'SOP Instance UID');
    const studyInstanceUID = uid(STUDY_INSTANCE_UID, 'Study Instance UID');
    const seriesInstanceUID = uid(SERIES_INSTANCE_UID, 'Series Instance UID');
    // The data set is the instance; the File Meta Information only wraps it for interchange. Real modalities and
    // anonymisers leave a stale (0002,0003) behind (pydicom's rtdose.dcm): keep the instance, index it under the
    // data set's UID, and say so rather than refuse a valid image.
    if (sopInstanceUID !== meta.sopInstanceUID) {
      warnings.push(
        `SOP Instance UID (0008,0018) ${sopInstanceUID} differs from Media Storage SOP Instance UID (0002,0003) ` +
          `${printable(meta.sopInstanceUID)} in the File Meta Information; stored and indexed under the data set's UID, bytes unchanged`,
      );
    }
    return { sopClassUID, sopInstanceUID, studyInstanceUID, seriesInstanceUID };
  }

  private locateFrames(
    header: PixelDataHeader,
    syntax: TransferSyntax,
    attrs: ImagePixelAttributes,
    elements: ParsedDataset,
    uids: InstanceUids,
  ): PixelDataLayout {
    try {
      if (!syntax.encapsulated) return nativeFrames(header, attrs, this.size);
      const reader = new PositionalReader(this.fd, this.win);
      const eot = readExtendedOffsetTable(reader, elements);
      return encapsulatedFrames(reader, header, syntax, attrs, eot);
    } catch (error) {
      if (error instanceof DicomInstanceError && !error.sopInstanceUID) {
        throw new DicomInstanceError(error.failureReason, error.message, uids.sopClassUID, uids.sopInstanceUID);
      }
      throw error;
    }
  }

  /** Runs a parse, reading the bytes it asks for until it has them all. */
  private retrying<T>(parse: () => T, meta?: FileMeta): T {
    for (;;) {
      try {
        return parse();
      } catch (error) {
        if (error instanceof NeedBytes) {
          this.fetch(error.offset, error.length, meta);
          continue;
        }
        if (error instanceof DicomInstanceError && meta && !error.sopInstanceUID) {
          throw new DicomInstanceError(error.failureReason, error.message, meta.sopClassUID, meta.sopInstanceUID);
        }
        throw error;
      }
    }
  }

  private fetch(offset: number, length: number, meta?: FileMeta): void {
    const near = this.win.segmentList.find((s) => offset >= s.offset && offset <= s.offset + s.bytes.length + EXTEND_GAP);
    let start: number;
    let end: number;
    if (near) {
      start = near.offset;
      end = Math.max(near.offset + 2 * near.bytes.length, offset + length);
    } else {
      // Sized like everything held so far, so that headers with many large values need few re-parses.
      start = offset;
      end = offset + Math.max(length, MIN_SEGMENT, this.win.heldBytes);
    }
    end = Math.min(end, this.size);
    const held = this.win.heldBytes - (near ? near.bytes.length : 0) + (end - start);
    if (held > this.maxHeaderBytes) {
      throw new DicomInstanceError(
        FailureReason.OutOfResources,
        `the attributes of this instance (everything but Pixel Data and other large binary values) take more than ` +
          `${formatBytes(this.maxHeaderBytes)}; the archive does not accept such headers`,
        meta?.sopClassUID,
        meta?.sopInstanceUID,
      );
    }
    if (near) this.win.remove(near);
    this.readSegment(start, end - start);
  }

  private readSegment(offset: number, length: number): void {
    const bytes = Buffer.allocUnsafe(length);
    readFully(this.fd, bytes, offset);
    this.win.add({ offset, bytes });
  }
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${Math.round(n / (1024 * 1024))} MiB` : `${Math.round(n / 1024)} KiB`;
}

function printable(text: string): string {
  const cleaned = text.replace(/[^\x20-\x7e]/g, '?');
  return cleaned.length > 80 ? `${cleaned.slice(0, 80)}...` : cleaned;
}

function firstNumber(json: DicomJsonDataset, tag: string): number | undefined {
  const v = json[tag]?.Value?.[0];
  return typeof v === 'number' ? v : undefined;
}

/** Largest Integer String value (PS3.5 6.2: IS is a 32-bit signed integer). */
const MAX_IS = 2_147_483_647;

function pixelAttributes(json: DicomJsonDataset, uids: InstanceUids): ImagePixelAttributes {
  const frames = json['00280008']?.Value?.[0];
  let numberOfFrames = 1;
  if (frames !== undefined && frames !== null) {
    if (typeof frames !== 'number' || !Number.isInteger(frames) || frames < 1 || frames > MAX_IS) {
      // Deliberate: frame positions are computed from it, so a malformed value (e.g. badVR.dcm's "1A") is refused;
      // so is one past the IS range, which no index column holds (a video syntax locates no frame to check it).
      throw new DicomInstanceError(
        FailureReason.DataSetDoesNotMatchSopClass,
        `Number of Frames (0028,0008) is "${printable(String(frames))}", which is not a positive integer of at most ${MAX_IS} (PS3.5 IS)`,
        uids.sopClassUID,
        uids.sopInstanceUID,
      );
    }
    numberOfFrames = frames;
  }
  const photometric = json['00280004']?.Value?.[0];
  return {
    rows: firstNumber(json, '00280010'),
    columns: firstNumber(json, '00280011'),
    samplesPerPixel: firstNumber(json, '00280002'),
    bitsAllocated: firstNumber(json, '00280100'),
    numberOfFrames,
    photometricInterpretation: typeof photometric === 'string' ? photometric : undefined,
  };
}

function pixelDataElement(header: PixelDataHeader, syntax: TransferSyntax, span: FileSpan): ParsedElement {
  return {
    tag: header.tag,
    vr: syntax.encapsulated ? 'OB' : header.vr,
    offset: span.offset,
    length: span.length,
    littleEndian: syntax.littleEndian,
    encapsulated: syntax.encapsulated,
    alwaysBulk: true,
  };
}

function readExtendedOffsetTable(reader: PositionalReader, elements: ParsedDataset): ExtendedOffsetTable | undefined {
  const table = elements.find((e) => e.tag === EXTENDED_OFFSET_TABLE);
  if (!table || table.length === 0) return undefined;
  const offsets = readUint64s(reader, table);
  const lengthsElement = elements.find((e) => e.tag === EXTENDED_OFFSET_TABLE_LENGTHS);
  const lengths = lengthsElement ? readUint64s(reader, lengthsElement) : undefined;
  return { offsets, lengths };
}

function readUint64s(reader: PositionalReader, element: ParsedElement): number[] {
  const bytes = reader.bytes(element.offset, element.length - (element.length % 8), element.tag);
  const values: number[] = [];
  for (let at = 0; at < bytes.length; at += 8) values.push(Number(bytes.readBigUInt64LE(at)));
  return values;
}

/** Names the elements (never their values: they may be patient data) whose values were cut to their VR's bound. */
function truncationWarning(truncated: TruncatedValue[]): string {
  const shown = truncated
    .slice(0, 5)
    .map((t) => `${tagLabel(parseInt(t.tag, 16))} ${t.vr} of ${t.length} characters (at most ${TEXT_VALUE_MAX_CHARS[t.vr]})`);
  const more = truncated.length > shown.length ? ` and ${truncated.length - shown.length} more` : '';
  return (
    `values longer than PS3.5 allows were truncated in the metadata and the index, the stored bytes are unchanged: ` +
    `${shown.join(', ')}${more}`
  );
}
