/**
 * A small DICOM Part 10 writer for test data: data sets given as { Keyword: value } (tags and VRs from the dcmjs
 * dictionary), encoded in Explicit VR Little Endian (or Implicit VR Little Endian), UTF-8 text. Fast enough to
 * write ten thousand small instances in a second or two, and independent of the reader it is used to test.
 */
import { tagForKeyword, vrForTag } from '../core/dicom/dicom-dictionary.ts';

/** A value with an explicit VR (private tags, or to override the dictionary). */
export interface Typed {
  vr: string;
  value: Value;
}

/** Encapsulated pixel data (PS3.5 A.4): fragments, and the Basic Offset Table (offsets of each frame's first item). */
export interface Encapsulated {
  fragments: Buffer[];
  /** Index of each frame's first fragment; a Basic Offset Table is written when given. */
  frameStarts?: number[];
}

export type Value = string | number | bigint | null | undefined | (string | number)[] | Buffer | Dataset[] | Encapsulated | Typed;

/** Keys are keywords ('PatientName') or 8-hex tags ('00091010', then give a Typed value). */
export type Dataset = Record<string, Value>;

export interface WriteOptions {
  transferSyntaxUID?: string;
  /** Encode sequences and items with undefined lengths (delimiters) instead of defined lengths. */
  undefinedLengthSequences?: boolean;
  /** File Meta Information values when they must differ from the data set (default: its SOP Class/Instance UIDs). */
  mediaStorageSOPClassUID?: string;
  mediaStorageSOPInstanceUID?: string;
}

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const IMPLEMENTATION_CLASS_UID = '1.2.826.0.1.3680043.10.1500.1.1';
export const IMPLEMENTATION_VERSION_NAME = 'ASTREINTE_TD_1';

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const UNDEFINED_LENGTH = 0xffffffff;

interface Encoding {
  explicitVr: boolean;
  undefinedLengthSequences: boolean;
}

/** A Part 10 file: 128-byte preamble, 'DICM', File Meta Information, then the data set. */
export function writePart10(dataset: Dataset, options: WriteOptions = {}): Buffer {
  const transferSyntaxUID = options.transferSyntaxUID ?? EXPLICIT_VR_LITTLE_ENDIAN;
  const sopClassUID = options.mediaStorageSOPClassUID ?? stringOf(dataset.SOPClassUID);
  const sopInstanceUID = options.mediaStorageSOPInstanceUID ?? stringOf(dataset.SOPInstanceUID);
  const metaElements = encodeDataset(
    {
      FileMetaInformationVersion: { vr: 'OB', value: Buffer.from([0, 1]) },
      MediaStorageSOPClassUID: sopClassUID,
      MediaStorageSOPInstanceUID: sopInstanceUID,
      TransferSyntaxUID: transferSyntaxUID,
      ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
      ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
    },
    { explicitVr: true, undefinedLengthSequences: false },
  );
  const chunks = [Buffer.alloc(128), DICM, elementHeader(0x00020000, 'UL', 4, EXPLICIT), uint32(metaElements.length), metaElements];
  writeDataset(dataset, { explicitVr: transferSyntaxUID !== IMPLICIT_VR_LITTLE_ENDIAN, undefinedLengthSequences: options.undefinedLengthSequences ?? false }, chunks);
  return Buffer.concat(chunks);
}

const EXPLICIT: Encoding = { explicitVr: true, undefinedLengthSequences: false };
const DICM = Buffer.from('DICM', 'latin1');

function stringOf(value: Value): string {
  if (typeof value !== 'string') throw new Error('SOPClassUID and SOPInstanceUID are required (or give the mediaStorage options)');
  return value;
}

/** The elements of a data set, in ascending tag order. */
export function encodeDataset(dataset: Dataset, encoding: Encoding): Buffer {
  const chunks: Buffer[] = [];
  writeDataset(dataset, encoding, chunks);
  return Buffer.concat(chunks);
}

/** Appends the encoded data set to `chunks`; returns its length. */
function writeDataset(dataset: Dataset, encoding: Encoding, chunks: Buffer[]): number {
  const elements: { tag: number; vr: string; value: Value }[] = [];
  for (const key in dataset) {
    const raw = dataset[key];
    if (raw === undefined) continue;
    const { tag, vr: dictionaryVr } = lookup(key);
    const typed = isTyped(raw) ? raw : undefined;
    const vr = typed?.vr ?? dictionaryVr;
    if (!vr) throw new Error(`no VR for ${key}: give { vr, value }`);
    elements.push({ tag, vr, value: typed ? typed.value : raw });
  }
  elements.sort((a, b) => a.tag - b.tag);
  let length = 0;
  for (const e of elements) length += writeElement(e.tag, e.vr, e.value, encoding, chunks);
  return length;
}

const lookups = new Map<string, { tag: number; vr: string | undefined }>();

function lookup(key: string): { tag: number; vr: string | undefined } {
  let found = lookups.get(key);
  if (!found) {
    const tagHex = /^[0-9A-Fa-f]{8}$/.test(key) ? key.toUpperCase() : tagForKeyword(key);
    if (!tagHex) throw new Error(`unknown keyword ${key}`);
    found = { tag: parseInt(tagHex, 16) >>> 0, vr: vrForTag(tagHex) };
    lookups.set(key, found);
  }
  return found;
}

function isTyped(value: Value): value is Typed {
  return typeof value === 'object' && value !== null && !Buffer.isBuffer(value) && !Array.isArray(value) && 'vr' in value;
}

function isEncapsulated(value: Value): value is Encapsulated {
  return typeof value === 'object' && value !== null && !Buffer.isBuffer(value) && !Array.isArray(value) && 'fragments' in value;
}

function writeElement(tag: number, vr: string, value: Value, encoding: Encoding, chunks: Buffer[]): number {
  if (vr === 'SQ') return writeSequence(tag, (value ?? []) as Dataset[], encoding, chunks);
  if (isEncapsulated(value)) {
    const bytes = encodeEncapsulated(tag, value);
    chunks.push(bytes);
    return bytes.length;
  }
  const bytes = encodeValue(vr, value);
  const header = elementHeader(tag, vr, bytes.length, encoding);
  chunks.push(header, bytes);
  return header.length + bytes.length;
}

function writeSequence(tag: number, items: Dataset[], encoding: Encoding, chunks: Buffer[]): number {
  const undefinedLength = encoding.undefinedLengthSequences;
  const header = elementHeader(tag, 'SQ', 0, encoding);
  chunks.push(header);
  let length = 0;
  for (const item of items) {
    const itemStart = itemHeader(0xfffee000, 0);
    chunks.push(itemStart);
    const itemLength = writeDataset(item, encoding, chunks);
    if (undefinedLength) {
      itemStart.writeUInt32LE(UNDEFINED_LENGTH, 4);
      chunks.push(itemHeader(0xfffee00d, 0));
      length += 16 + itemLength;
    } else {
      itemStart.writeUInt32LE(itemLength, 4);
      length += 8 + itemLength;
    }
  }
  if (undefinedLength) chunks.push(itemHeader(0xfffee0dd, 0));
  header.writeUInt32LE(undefinedLength ? UNDEFINED_LENGTH : length, header.length - 4);
  return header.length + length + (undefinedLength ? 8 : 0);
}

function encodeEncapsulated(tag: number, value: Encapsulated): Buffer {
  const fragments = value.fragments.map((f) => (f.length % 2 === 0 ? f : Buffer.concat([f, Buffer.alloc(1)])));
  const itemOffsets: number[] = [];
  let offset = 0;
  for (const f of fragments) {
    itemOffsets.push(offset);
    offset += 8 + f.length;
  }
  const table = Buffer.alloc(4 * (value.frameStarts?.length ?? 0));
  value.frameStarts?.forEach((fragmentIndex, i) => table.writeUInt32LE(itemOffsets[fragmentIndex], 4 * i));
  const parts = [elementHeader(tag, 'OB', UNDEFINED_LENGTH, EXPLICIT), itemHeader(0xfffee000, table.length), table];
  for (const f of fragments) parts.push(itemHeader(0xfffee000, f.length), f);
  parts.push(itemHeader(0xfffee0dd, 0));
  return Buffer.concat(parts);
}

function itemHeader(tag: number, length: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(tag >>> 16, 0);
  b.writeUInt16LE(tag & 0xffff, 2);
  b.writeUInt32LE(length, 4);
  return b;
}

function elementHeader(tag: number, vr: string, length: number, encoding: Encoding): Buffer {
  if (!encoding.explicitVr) {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(tag >>> 16, 0);
    b.writeUInt16LE(tag & 0xffff, 2);
    b.writeUInt32LE(length, 4);
    return b;
  }
  const long = LONG_VRS.has(vr);
  const b = Buffer.alloc(long ? 12 : 8);
  b.writeUInt16LE(tag >>> 16, 0);
  b.writeUInt16LE(tag & 0xffff, 2);
  b.write(vr, 4, 'latin1');
  if (long) b.writeUInt32LE(length, 8);
  else {
    if (length > 0xffff) throw new Error(`value of ${tag.toString(16)} too long for VR ${vr}`);
    b.writeUInt16LE(length, 6);
  }
  return b;
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

const NUMERIC: Record<string, { size: number; write: (b: Buffer, v: number, at: number) => void }> = {
  US: { size: 2, write: (b, v, at) => b.writeUInt16LE(v, at) },
  SS: { size: 2, write: (b, v, at) => b.writeInt16LE(v, at) },
  UL: { size: 4, write: (b, v, at) => b.writeUInt32LE(v, at) },
  SL: { size: 4, write: (b, v, at) => b.writeInt32LE(v, at) },
  FL: { size: 4, write: (b, v, at) => b.writeFloatLE(v, at) },
  FD: { size: 8, write: (b, v, at) => b.writeDoubleLE(v, at) },
  SV: { size: 8, write: (b, v, at) => b.writeBigInt64LE(BigInt(v), at) },
  UV: { size: 8, write: (b, v, at) => b.writeBigUInt64LE(BigInt(v), at) },
  AT: {
    size: 4,
    write: (b, v, at) => {
      b.writeUInt16LE(v >>> 16, at);
      b.writeUInt16LE(v & 0xffff, at + 2);
    },
  },
};

function encodeValue(vr: string, value: Value): Buffer {
  if (value === null || value === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(value)) return padEven(value, 0);
  const numeric = NUMERIC[vr];
  if (numeric) {
    const values = (Array.isArray(value) ? value : [value]) as (number | string)[];
    const b = Buffer.alloc(values.length * numeric.size);
    values.forEach((v, i) => numeric.write(b, typeof v === 'string' ? parseInt(v, 16) : v, i * numeric.size));
    return b;
  }
  const values = Array.isArray(value) ? value : [value];
  const text = values.map((v) => (typeof v === 'number' ? formatNumber(vr, v) : String(v))).join('\\');
  return padEven(Buffer.from(text, 'utf8'), vr === 'UI' ? 0 : 0x20);
}

/** DS values are at most 16 characters. */
function formatNumber(vr: string, n: number): string {
  if (vr !== 'DS') return String(Math.round(n));
  let text = String(n);
  for (let precision = 15; text.length > 16 && precision > 1; precision--) text = String(Number(n.toPrecision(precision)));
  return text;
}

function padEven(b: Buffer, pad: number): Buffer {
  return b.length % 2 === 0 ? b : Buffer.concat([b, Buffer.from([pad])]);
}
