/**
 * A DICOM data set parser (PS3.5 7) over a ByteWindow. It records where every value is in the file rather than
 * decoding it; values are decoded later (dicom-json.ts). Large binary values are not even read: only their
 * position is kept, so they can be served by reference.
 */
import { ByteWindow } from './byte-window.ts';
import { dictionaryVr, tagLabel } from './dicom-dictionary.ts';
import { DicomInstanceError, FailureReason } from './dicom-status.ts';

export interface Syntax {
  explicitVr: boolean;
  littleEndian: boolean;
}

export const IMPLICIT_LITTLE: Syntax = { explicitVr: false, littleEndian: true };
export const EXPLICIT_LITTLE: Syntax = { explicitVr: true, littleEndian: true };

export interface ParsedElement {
  /** (group << 16 | element) >>> 0 */
  tag: number;
  vr: string;
  /** Absolute file offset of the value (for an encapsulated value: of its first item). */
  offset: number;
  /** Value length in bytes (for undefined-length values: up to, not including, the delimitation item). */
  length: number;
  /** Byte order of the value (a UN sequence is always little endian, whatever the transfer syntax). */
  littleEndian: boolean;
  /** Sequence items. */
  items?: ParsedDataset[];
  /** Pixel Data stored as fragments (PS3.5 A.4). */
  encapsulated?: boolean;
  /** Always served by reference, whatever its size (the top-level Pixel Data). */
  alwaysBulk?: boolean;
}

export type ParsedDataset = ParsedElement[];

/** Binary values longer than this are not read during parsing: they go to BulkDataURI. */
export const INLINE_BINARY_MAX = 1024;

export const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

const VALID_VRS = new Set([
  'AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW',
  'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV',
]);

/** VRs whose explicit VR header has 2 reserved bytes and a 4-byte length (PS3.5 7.1.2). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);

const UNDEFINED_LENGTH = 0xffffffff;
export const ITEM = 0xfffee000;
export const ITEM_DELIMITATION = 0xfffee00d;
export const SEQUENCE_DELIMITATION = 0xfffee0dd;
export const PIXEL_DATA = 0x7fe00010;
export const FLOAT_PIXEL_DATA = 0x7fe00008;
export const DOUBLE_FLOAT_PIXEL_DATA = 0x7fe00009;
const PIXEL_REPRESENTATION = 0x00280103;
const MAX_DEPTH = 32;
/** Far more than any real instance (an RT structure set has tens of thousands); protects memory. */
export const MAX_ELEMENTS = 1_000_000;

export function isPixelDataTag(tag: number): boolean {
  return tag === PIXEL_DATA || tag === FLOAT_PIXEL_DATA || tag === DOUBLE_FLOAT_PIXEL_DATA;
}

/** The header of the top-level Pixel Data element, where top-level parsing stops. */
export interface PixelDataHeader {
  tag: number;
  vr: string;
  /** File offset of the element's tag. */
  headerOffset: number;
  valueOffset: number;
  /** undefined for an undefined length (encapsulated). */
  length: number | undefined;
}

export interface TopLevelResult {
  elements: ParsedDataset;
  /** Set when parsing stopped at the top-level Pixel Data element. */
  pixelData?: PixelDataHeader;
}

function cannotUnderstand(message: string): DicomInstanceError {
  return new DicomInstanceError(FailureReason.CannotUnderstand, message);
}

export class DatasetParser {
  private elementCount = 0;

  constructor(private readonly win: ByteWindow) {}

  /**
   * Parses top-level elements from `start` to the end of the file, or until the first Pixel Data element
   * when `stopAtPixelData` (its header is returned, its value is not parsed).
   */
  parseTopLevel(start: number, syntax: Syntax, stopAtPixelData: boolean): TopLevelResult {
    this.elementCount = 0;
    const elements: ParsedDataset = [];
    let pos = start;
    let pixelRepresentation = 0;
    while (pos < this.win.fileSize) {
      const tag = this.readTag(pos, syntax);
      if (stopAtPixelData && isPixelDataTag(tag)) {
        const header = this.readHeader(pos, tag, syntax, pixelRepresentation);
        return {
          elements,
          pixelData: {
            tag,
            vr: header.vr === 'UN' ? implicitVr(tag, pixelRepresentation, header.length) : header.vr,
            headerOffset: pos,
            valueOffset: pos + header.headerLength,
            length: header.length === UNDEFINED_LENGTH ? undefined : header.length,
          },
        };
      }
      const result = this.parseElement(pos, tag, syntax, 0, pixelRepresentation);
      pos = result.next;
      if (result.element) {
        elements.push(result.element);
        if (result.element.tag === PIXEL_REPRESENTATION) pixelRepresentation = this.readPixelRepresentation(result.element);
      }
    }
    return { elements };
  }

  /**
   * Parses the File Meta Information (always Explicit VR Little Endian, PS3.10 7.1): the group 0002 elements
   * from `start`. Its end is where group 0002 ends, which is more robust than trusting the group length.
   */
  parseFileMeta(start: number): { elements: ParsedDataset; end: number } {
    const elements: ParsedDataset = [];
    let pos = start;
    while (pos + 4 <= this.win.fileSize) {
      const tag = this.readTag(pos, EXPLICIT_LITTLE);
      if (tag >>> 16 !== 0x0002) break;
      const result = this.parseElement(pos, tag, EXPLICIT_LITTLE, 0, 0);
      pos = result.next;
      if (result.element) elements.push(result.element);
    }
    return { elements, end: pos };
  }

  /** Parses the elements of an item from `start`; `end` undefined means up to the item delimitation. */
  private parseItem(start: number, end: number | undefined, syntax: Syntax, depth: number): { dataset: ParsedDataset; next: number } {
    if (depth > MAX_DEPTH) throw cannotUnderstand(`sequences are nested more than ${MAX_DEPTH} levels deep`);
    const dataset: ParsedDataset = [];
    let pos = start;
    let pixelRepresentation = 0;
    while (end === undefined || pos < end) {
      if (end === undefined && pos >= this.win.fileSize) {
        throw cannotUnderstand(`truncated: a sequence item starting at byte ${start} has no end (item delimitation missing)`);
      }
      const tag = this.readTag(pos, syntax);
      if (tag === ITEM_DELIMITATION) {
        return { dataset, next: pos + 8 };
      }
      const result = this.parseElement(pos, tag, syntax, depth, pixelRepresentation);
      if (end !== undefined && result.next > end) {
        throw cannotUnderstand(`malformed sequence item: element ${tagLabel(tag)} at byte ${pos} runs past the end of its item (byte ${end})`);
      }
      pos = result.next;
      if (result.element) {
        dataset.push(result.element);
        if (result.element.tag === PIXEL_REPRESENTATION) pixelRepresentation = this.readPixelRepresentation(result.element);
      }
    }
    return { dataset, next: pos };
  }

  private parseElement(
    pos: number,
    tag: number,
    syntax: Syntax,
    depth: number,
    pixelRepresentation: number,
  ): { element?: ParsedElement; next: number } {
    if (tag === SEQUENCE_DELIMITATION || tag === ITEM_DELIMITATION) {
      // A stray delimiter outside any undefined-length value: skip it, as dcmtk and pydicom do.
      return { next: pos + 8 };
    }
    if (tag === ITEM) {
      throw cannotUnderstand(`malformed data set: a sequence item (FFFE,E000) at byte ${pos} is outside any sequence`);
    }
    if (++this.elementCount > MAX_ELEMENTS) {
      throw new DicomInstanceError(
        FailureReason.OutOfResources,
        `the instance has more than ${MAX_ELEMENTS} attributes (counting those in sequences); the archive does not accept it`,
      );
    }
    const header = this.readHeader(pos, tag, syntax, pixelRepresentation);
    const valueOffset = pos + header.headerLength;
    const { vr } = header;

    if (header.length === UNDEFINED_LENGTH) {
      if (vr === 'SQ') return this.parseSequence(tag, 'SQ', valueOffset, undefined, syntax, depth);
      // PS3.5 6.2.2: an undefined-length UN value is a sequence encoded in Implicit VR Little Endian.
      if (vr === 'UN') return this.parseSequence(tag, 'SQ', valueOffset, undefined, IMPLICIT_LITTLE, depth);
      if (vr === 'OB' || vr === 'OW') return this.skipEncapsulated(tag, valueOffset, syntax);
      throw cannotUnderstand(`malformed element ${tagLabel(tag)} at byte ${pos}: undefined length is not allowed for VR ${vr}`);
    }

    const what = tag;
    if (vr === 'UN') {
      const reinterpreted = this.reinterpretUnknown(tag, valueOffset, header.length, syntax, depth, pixelRepresentation);
      if (reinterpreted) return reinterpreted;
    }
    if (vr === 'SQ') {
      this.win.ensureInFile(valueOffset, header.length, what);
      return this.parseSequence(tag, vr, valueOffset, header.length, syntax, depth);
    }
    if (BINARY_VRS.has(vr) && header.length > INLINE_BINARY_MAX) {
      this.win.ensureInFile(valueOffset, header.length, what);
    } else {
      this.win.bytes(valueOffset, header.length, what);
    }
    return {
      element: { tag, vr, offset: valueOffset, length: header.length, littleEndian: syntax.littleEndian },
      next: valueOffset + header.length,
    };
  }

  /**
   * An explicit UN element whose tag the dictionary knows (typically written by a converter from Implicit VR):
   * read with the dictionary VR, as pydicom does, so its value is not lost in an InlineBinary. A UN sequence is
   * Implicit VR Little Endian inside (PS3.5 6.2.2); if it does not parse as such it stays UN.
   */
  private reinterpretUnknown(
    tag: number,
    valueOffset: number,
    length: number,
    syntax: Syntax,
    depth: number,
    pixelRepresentation: number,
  ): { element?: ParsedElement; next: number } | undefined {
    const known = implicitVr(tag, pixelRepresentation, length);
    if (known === 'UN') return undefined;
    if (known === 'SQ') {
      this.win.ensureInFile(valueOffset, length, tag);
      try {
        return this.parseSequence(tag, 'SQ', valueOffset, length, IMPLICIT_LITTLE, depth);
      } catch (error) {
        if (error instanceof DicomInstanceError) return undefined;
        throw error;
      }
    }
    if (!BINARY_VRS.has(known) || length <= INLINE_BINARY_MAX) {
      this.win.bytes(valueOffset, length, tag);
    }
    return {
      element: { tag, vr: known, offset: valueOffset, length, littleEndian: syntax.littleEndian },
      next: valueOffset + length,
    };
  }

  private parseSequence(
    tag: number,
    vr: string,
    valueOffset: number,
    length: number | undefined,
    syntax: Syntax,
    depth: number,
  ): { element: ParsedElement; next: number } {
    const items: ParsedDataset[] = [];
    const end = length === undefined ? undefined : valueOffset + length;
    let pos = valueOffset;
    while (end === undefined || pos < end) {
      const what = tag;
      const header = this.win.bytes(pos, 8, what);
      const itemTag = readUint32Tag(header, 0, syntax.littleEndian);
      const itemLength = syntax.littleEndian ? header.readUInt32LE(4) : header.readUInt32BE(4);
      if (itemTag === SEQUENCE_DELIMITATION) {
        if (end === undefined) {
          return { element: sequenceElement(tag, vr, valueOffset, pos - valueOffset, items, syntax), next: pos + 8 };
        }
        pos += 8; // tolerated inside a defined-length sequence
        continue;
      }
      if (itemTag !== ITEM) {
        throw cannotUnderstand(
          `malformed sequence ${tagLabel(tag)}: expected an item (FFFE,E000) at byte ${pos}, found ${tagLabel(itemTag)}`,
        );
      }
      const itemStart = pos + 8;
      if (itemLength === UNDEFINED_LENGTH) {
        const item = this.parseItem(itemStart, undefined, syntax, depth + 1);
        items.push(item.dataset);
        pos = item.next;
      } else {
        this.win.ensureInFile(itemStart, itemLength, what);
        const item = this.parseItem(itemStart, itemStart + itemLength, syntax, depth + 1);
        items.push(item.dataset);
        pos = itemStart + itemLength;
      }
      if (end !== undefined && pos > end) {
        throw cannotUnderstand(`malformed sequence ${tagLabel(tag)}: an item runs past the end of the sequence (byte ${end})`);
      }
    }
    return { element: sequenceElement(tag, vr, valueOffset, pos - valueOffset, items, syntax), next: pos };
  }

  /** Encapsulated pixel data nested in a sequence (e.g. an icon image): keep its extent, not its fragments. */
  private skipEncapsulated(tag: number, valueOffset: number, syntax: Syntax): { element: ParsedElement; next: number } {
    let pos = valueOffset;
    for (;;) {
      const header = this.win.bytes(pos, 8, tag);
      const itemTag = readUint32Tag(header, 0, syntax.littleEndian);
      const itemLength = header.readUInt32LE(4);
      if (itemTag === SEQUENCE_DELIMITATION) {
        const element: ParsedElement = {
          tag,
          vr: 'OB',
          offset: valueOffset,
          length: pos - valueOffset,
          littleEndian: syntax.littleEndian,
          encapsulated: true,
        };
        return { element, next: pos + 8 };
      }
      if (itemTag !== ITEM || itemLength === UNDEFINED_LENGTH) {
        throw cannotUnderstand(`malformed encapsulated value ${tagLabel(tag)}: expected a fragment item at byte ${pos}`);
      }
      this.win.ensureInFile(pos + 8, itemLength, tag);
      pos += 8 + itemLength;
    }
  }

  private readTag(pos: number, syntax: Syntax): number {
    const b = this.win.bytes(pos, 4, 'the next element tag');
    return readUint32Tag(b, 0, syntax.littleEndian);
  }

  private readHeader(
    pos: number,
    tag: number,
    syntax: Syntax,
    pixelRepresentation: number,
  ): { vr: string; length: number; headerLength: number } {
    const what = tag;
    if (!syntax.explicitVr) {
      const b = this.win.bytes(pos, 8, what);
      const length = syntax.littleEndian ? b.readUInt32LE(4) : b.readUInt32BE(4);
      return { vr: implicitVr(tag, pixelRepresentation, length), length, headerLength: 8 };
    }
    const b = this.win.bytes(pos, 8, what);
    const vr = String.fromCharCode(b[4], b[5]);
    if (!VALID_VRS.has(vr)) {
      // Deliberate: without a valid VR the length field's size is unknown, so nothing after this element can
      // be trusted. Refused, naming the element, rather than guessed (pydicom and dcmtk guess).
      throw cannotUnderstand(
        `element ${tagLabel(tag)} at byte ${pos} has an invalid value representation ${describeVrBytes(b[4], b[5])}; ` +
          'the file is not valid DICOM (PS3.5 6.2) and cannot be read past this point',
      );
    }
    if (LONG_VRS.has(vr)) {
      const long = this.win.bytes(pos, 12, what);
      const length = syntax.littleEndian ? long.readUInt32LE(8) : long.readUInt32BE(8);
      return { vr, length, headerLength: 12 };
    }
    const length = syntax.littleEndian ? b.readUInt16LE(6) : b.readUInt16BE(6);
    return { vr, length, headerLength: 8 };
  }

  private readPixelRepresentation(element: ParsedElement): number {
    if (element.length < 2) return 0;
    const b = this.win.bytes(element.offset, 2, element.tag);
    return element.littleEndian ? b.readUInt16LE(0) : b.readUInt16BE(0);
  }
}

function sequenceElement(
  tag: number,
  vr: string,
  offset: number,
  length: number,
  items: ParsedDataset[],
  syntax: Syntax,
): ParsedElement {
  return { tag, vr, offset, length, littleEndian: syntax.littleEndian, items };
}

export function readUint32Tag(b: Buffer, at: number, littleEndian: boolean): number {
  const group = littleEndian ? b.readUInt16LE(at) : b.readUInt16BE(at);
  const element = littleEndian ? b.readUInt16LE(at + 2) : b.readUInt16BE(at + 2);
  return ((group << 16) | element) >>> 0;
}

function describeVrBytes(a: number, b: number): string {
  const printable = (c: number) => c >= 0x20 && c < 0x7f;
  const hex = `0x${a.toString(16).padStart(2, '0')}${b.toString(16).padStart(2, '0')}`;
  return printable(a) && printable(b) ? `"${String.fromCharCode(a, b)}" (${hex})` : hex;
}

/** The VR of an element in an Implicit VR data set, from the data dictionary (PS3.5 A.1, PS3.6). */
export function implicitVr(tag: number, pixelRepresentation: number, length: number): string {
  const element = tag & 0xffff;
  const group = tag >>> 16;
  if (element === 0) return 'UL'; // group length
  if (group % 2 === 1) {
    if (element >= 0x10 && element <= 0xff) return 'LO'; // private creator
    return length === UNDEFINED_LENGTH ? 'SQ' : 'UN';
  }
  const vr = dictionaryVr(tag);
  switch (vr) {
    case undefined:
    case 'na':
      return length === UNDEFINED_LENGTH ? 'SQ' : 'UN';
    case 'ox':
    case 'lt':
      return 'OW';
    case 'xs':
      return isLutDescriptor(tag) || pixelRepresentation === 0 ? 'US' : 'SS';
    case 'up':
      return 'UL';
    default:
      return vr;
  }
}

function isLutDescriptor(tag: number): boolean {
  return tag === 0x00283002 || (tag >= 0x00281101 && tag <= 0x00281103) || (tag >= 0x00281111 && tag <= 0x00281113);
}
