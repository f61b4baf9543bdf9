/**
 * Parsed elements -> DICOM JSON (PS3.18 Annex F): strings decoded with the Specific Character Set in force,
 * PN as component groups, IS/DS as JSON numbers (as strings when they are not valid numbers, as CP 1861 allows),
 * AT as 8 hex digits, binary values inline up to 1 KiB and by BulkDataURI beyond.
 */
import { ByteWindow } from './byte-window.ts';
import { textDecoderFor, type TextDecodeFn } from './character-set.ts';
import { tagHex } from './dicom-dictionary.ts';
import { trimEndChars } from '../text/trim-end.ts';
import { BINARY_VRS, INLINE_BINARY_MAX, type ParsedDataset, type ParsedElement } from './dataset-parser.ts';
import type { BulkDataElement, DicomJsonAttribute, DicomJsonDataset } from './parsed-instance.ts';

export const SPECIFIC_CHARACTER_SET = 0x00080005;
const DATA_SET_TRAILING_PADDING = 0xfffcfffc;

/** Decoded with the Specific Character Set; all other string VRs are ASCII. */
const CHARSET_VRS = new Set(['SH', 'LO', 'ST', 'LT', 'UC', 'UT', 'PN']);
/** Single-valued: a backslash is part of the text. */
const SINGLE_VALUE_VRS = new Set(['LT', 'ST', 'UT', 'UR']);
/** Leading spaces are significant. */
const LEADING_SPACE_VRS = new Set(['LT', 'ST', 'UT', 'UC', 'UR']);
/**
 * Longest value, in characters, of each text VR (PS3.5 table 6.2-1; a Person Name: per component group). A longer
 * value is truncated in the metadata and the index (the stored bytes stay as received) and the sender is warned:
 * without a bound, an implicit VR value of megabytes went through every later step. Two bounds are looser than
 * the standard because real files exceed it and truncation would change their meaning: DS (over-precise
 * decimals such as 0.48828125000000001 are common; a cut number is another number) and DA (ACR-NEMA
 * 'YYYY.MM.DD'). UC, UR and UT are unbounded by the standard and keep their whole value.
 */
export const TEXT_VALUE_MAX_CHARS: Readonly<Record<string, number>> = {
  AE: 16,
  AS: 4,
  CS: 16,
  DA: 10,
  DS: 64,
  DT: 26,
  IS: 12,
  LO: 64,
  LT: 10240,
  PN: 64,
  SH: 16,
  ST: 1024,
  TM: 16,
  UI: 64,
};

/** A value cut to its VR's bound (TEXT_VALUE_MAX_CHARS). */
export interface TruncatedValue {
  /** 8-digit hex tag, e.g. '00100010'. */
  tag: string;
  vr: string;
  /** Characters received in the longest value (or Person Name component group) of the element. */
  length: number;
}

/** Byte-swapped to little endian when inlined from a big endian file (word size). */
const SWAP_SIZE: Record<string, number> = { OW: 2, OF: 4, OL: 4, OD: 8, OV: 8 };

export interface DicomJsonBuildOptions {
  win: ByteWindow;
  /** `${BULKDATA_ROOT_PLACEHOLDER}/studies/<s>/series/<se>/instances/<i>/bulkdata` */
  bulkDataUriBase: string;
  /** Receives one entry per value served by reference. */
  bulkData: BulkDataElement[];
  /** Specific Character Set in force where this data set sits (for elements after Pixel Data: the top level's). */
  characterSet?: string[];
  /** Receives one entry per element with a value longer than its VR allows (truncated in the JSON). */
  truncated?: TruncatedValue[];
}

/** All text in DICOM JSON is Unicode, so the metadata declares UTF-8 (as dcmtk's dcm2json does). */
const UTF8_CHARACTER_SET: DicomJsonAttribute = { vr: 'CS', Value: ['ISO_IR 192'] };

export function buildDicomJson(dataset: ParsedDataset, options: DicomJsonBuildOptions): DicomJsonDataset {
  const builder = new DicomJsonBuilder(options);
  const json = builder.dataset(dataset, '', textDecoderFor(options.characterSet ?? []));
  if (!json['00080005'] && !options.characterSet && builder.sawNonAscii) {
    // Non-ASCII text without a declared character set (decoded as UTF-8 or Latin-1): declare it now.
    json['00080005'] = UTF8_CHARACTER_SET;
    return Object.fromEntries(Object.entries(json).sort(([a], [b]) => (a < b ? -1 : 1)));
  }
  return json;
}

/** The values of Specific Character Set in a data set, [] when absent. */
export function specificCharacterSetOf(dataset: ParsedDataset, win: ByteWindow): string[] {
  const element = dataset.find((e) => e.tag === SPECIFIC_CHARACTER_SET);
  if (!element) return [];
  const text = asciiValue(win, element);
  return text.split('\\').map((v) => v.trim());
}

/** The raw text of a value (ASCII VRs), without padding. */
export function asciiValue(win: ByteWindow, element: ParsedElement): string {
  const bytes = win.bytes(element.offset, element.length, element.tag);
  return trimPadding(bytes.toString('latin1'), true);
}

function trimPadding(text: string, leading: boolean): string {
  const trailingTrimmed = trimEndChars(text, '\0 ');
  return leading ? trailingTrimmed.replace(/^[\0 ]+/, '') : trailingTrimmed;
}

class DicomJsonBuilder {
  sawNonAscii = false;

  constructor(private readonly options: DicomJsonBuildOptions) {}

  /** `prefix`: the bulk data path of the data set, '' at the top level, else ending with '/'. */
  dataset(dataset: ParsedDataset, prefix: string, inherited: TextDecodeFn): DicomJsonDataset {
    let decode = inherited;
    const json: DicomJsonDataset = {};
    for (const element of dataset) {
      const { tag } = element;
      if (!isAttribute(tag)) continue;
      const key = tagHex(tag);
      if (tag === SPECIFIC_CHARACTER_SET) {
        // Always the first attribute of a data set but (0008,0001), so it precedes every text value.
        decode = textDecoderFor(specificCharacterSetOf(dataset, this.options.win));
        json[key] = UTF8_CHARACTER_SET;
        continue;
      }
      json[key] = this.attribute(element, prefix, key, decode);
    }
    return json;
  }

  private attribute(element: ParsedElement, prefix: string, key: string, decode: TextDecodeFn): DicomJsonAttribute {
    const { vr } = element;
    if (element.items) {
      if (element.items.length === 0) return { vr: 'SQ' };
      return { vr: 'SQ', Value: element.items.map((item, i) => this.dataset(item, `${prefix}${key}/${i}/`, decode)) };
    }
    if (BINARY_VRS.has(vr) || element.encapsulated) return this.binary(element, prefix + key);
    if (element.length === 0) return { vr };
    const bytes = this.options.win.bytes(element.offset, element.length, element.tag);
    let longest = 0;
    const values = decodeValues(
      vr,
      bytes,
      element.littleEndian,
      (b) => {
        const text = decode(b);
        if (!this.sawNonAscii && /[^\x00-\x7f]/.test(text)) this.sawNonAscii = true;
        return text;
      },
      (length) => {
        longest = Math.max(longest, length);
      },
    );
    if (longest > 0) this.options.truncated?.push({ tag: key, vr, length: longest });
    return values.length === 0 || values.every((v) => v === null) ? { vr } : { vr, Value: values };
  }

  private binary(element: ParsedElement, bulkPath: string): DicomJsonAttribute {
    const vr = element.encapsulated ? 'OB' : element.vr;
    if (element.alwaysBulk || element.encapsulated || element.length > INLINE_BINARY_MAX) {
      this.options.bulkData.push({ path: bulkPath, vr, span: { offset: element.offset, length: element.length } });
      return { vr, BulkDataURI: `${this.options.bulkDataUriBase}/${bulkPath}` };
    }
    if (element.length === 0) return { vr };
    let bytes = this.options.win.bytes(element.offset, element.length, element.tag);
    const swap = SWAP_SIZE[vr];
    if (!element.littleEndian && swap) bytes = swapBytes(bytes, swap);
    return { vr, InlineBinary: bytes.toString('base64') };
  }
}

/** Group lengths, trailing padding and the file meta group are encoding details, not attributes. */
function isAttribute(tag: number): boolean {
  return (tag & 0xffff) !== 0 && tag >>> 16 !== 0x0002 && tag !== DATA_SET_TRAILING_PADDING;
}

function swapBytes(bytes: Buffer, size: number): Buffer {
  const copy = Buffer.from(bytes);
  const whole = copy.length - (copy.length % size);
  const view = copy.subarray(0, whole);
  if (size === 2) view.swap16();
  else if (size === 4) view.swap32();
  else view.swap64();
  return copy;
}

type JsonValue = string | number | null | { Alphabetic?: string; Ideographic?: string; Phonetic?: string };

/** `onTruncated` receives the length of each value cut to its VR's bound. */
type TruncationFn = (length: number) => void;

function decodeValues(
  vr: string,
  bytes: Buffer,
  littleEndian: boolean,
  decode: TextDecodeFn,
  onTruncated: TruncationFn,
): JsonValue[] {
  switch (vr) {
    case 'US':
      return numbers(bytes, 2, (at) => (littleEndian ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at)));
    case 'SS':
      return numbers(bytes, 2, (at) => (littleEndian ? bytes.readInt16LE(at) : bytes.readInt16BE(at)));
    case 'UL':
      return numbers(bytes, 4, (at) => (littleEndian ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at)));
    case 'SL':
      return numbers(bytes, 4, (at) => (littleEndian ? bytes.readInt32LE(at) : bytes.readInt32BE(at)));
    case 'FL':
      return numbers(bytes, 4, (at) => float32(littleEndian ? bytes.readFloatLE(at) : bytes.readFloatBE(at)));
    case 'FD':
      return numbers(bytes, 8, (at) => finite(littleEndian ? bytes.readDoubleLE(at) : bytes.readDoubleBE(at)));
    case 'SV':
      return numbers(bytes, 8, (at) => bigint(littleEndian ? bytes.readBigInt64LE(at) : bytes.readBigInt64BE(at)));
    case 'UV':
      return numbers(bytes, 8, (at) => bigint(littleEndian ? bytes.readBigUInt64LE(at) : bytes.readBigUInt64BE(at)));
    case 'AT':
      return numbers(bytes, 4, (at) => {
        const group = littleEndian ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at);
        const element = littleEndian ? bytes.readUInt16LE(at + 2) : bytes.readUInt16BE(at + 2);
        return tagHex(((group << 16) | element) >>> 0);
      });
    default:
      return textValues(vr, CHARSET_VRS.has(vr) ? decode(bytes) : bytes.toString('latin1'), onTruncated);
  }
}

function numbers(bytes: Buffer, size: number, read: (at: number) => JsonValue): JsonValue[] {
  const values: JsonValue[] = [];
  for (let at = 0; at + size <= bytes.length; at += size) values.push(read(at));
  return values;
}

/** JSON has no NaN or Infinity. */
function finite(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}

/** The shortest decimal that reads back as the same 32-bit float (-77.2040634, not -77.20406341552734). */
function float32(n: number): number | null {
  if (!Number.isFinite(n)) return null;
  for (let precision = 6; precision < 9; precision++) {
    const short = Number(n.toPrecision(precision));
    if (Math.fround(short) === n) return short;
  }
  return Number(n.toPrecision(9));
}

/** SV/UV: a JSON number when exact, else a string (PS3.18 F.2.3.1). */
function bigint(n: bigint): number | string {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

function textValues(vr: string, text: string, onTruncated: TruncationFn): JsonValue[] {
  const raw = SINGLE_VALUE_VRS.has(vr) ? [text] : text.split('\\');
  const leading = !LEADING_SPACE_VRS.has(vr);
  const max = TEXT_VALUE_MAX_CHARS[vr];
  return raw.map((value) => {
    let trimmed = trimPadding(value, leading);
    if (trimmed === '') return null;
    if (max !== undefined && vr !== 'PN' && trimmed.length > max) {
      onTruncated(trimmed.length);
      trimmed = trimmed.slice(0, max);
    }
    switch (vr) {
      case 'PN':
        return personName(trimmed, max ?? Infinity, onTruncated);
      case 'IS':
        return /^[+-]?\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
      case 'DS':
        return decimal(trimmed);
      default:
        return trimmed;
    }
  });
}

const DS_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function decimal(text: string): number | string {
  if (!DS_PATTERN.test(text)) return text;
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
}

function personName(value: string, maxGroupChars: number, onTruncated: TruncationFn): JsonValue {
  const [alphabetic, ideographic, phonetic] = value.split('=', 3).map((group) => {
    const trimmed = trimEndChars(group, '^ ');
    if (trimmed.length <= maxGroupChars) return trimmed;
    onTruncated(trimmed.length);
    return trimEndChars(trimmed.slice(0, maxGroupChars), '^ ');
  });
  const name: { Alphabetic?: string; Ideographic?: string; Phonetic?: string } = {};
  if (alphabetic) name.Alphabetic = alphabetic;
  if (ideographic) name.Ideographic = ideographic;
  if (phonetic) name.Phonetic = phonetic;
  return Object.keys(name).length > 0 ? name : null;
}
