/**
 * Where the elements of a well-formed Explicit VR Little Endian Part 10 file are, so that the fuzzer can hit
 * the bytes that matter (length fields, VRs, tags, item headers, UIDs) instead of flipping pixels. Only for
 * the seed files: it trusts what it reads.
 */
export interface ElementRecord {
  /** File offset of the tag. */
  offset: number;
  tag: number;
  /** Undefined for items and delimiters (no VR). */
  vr?: string;
  lengthOffset: number;
  lengthSize: 2 | 4;
  length: number;
  valueOffset: number;
  /** Nesting level: 0 for top-level elements (and the file meta). */
  depth: number;
  /** A fragment of encapsulated Pixel Data. */
  fragment?: boolean;
}

export const ITEM = 0xfffee000;
export const ITEM_DELIMITATION = 0xfffee00d;
export const SEQUENCE_DELIMITATION = 0xfffee0dd;
export const PIXEL_DATA = 0x7fe00010;
export const TRANSFER_SYNTAX_UID = 0x00020010;
export const GROUP_LENGTH_0002 = 0x00020000;
const UNDEFINED = 0xffffffff;
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);

export interface ScannedFile {
  elements: ElementRecord[];
  /** Offset of the first data set element (after the file meta). */
  datasetStart: number;
}

export function scanExplicitLittle(file: Buffer): ScannedFile {
  if (file.toString('latin1', 128, 132) !== 'DICM') throw new Error('seed is not a Part 10 file');
  const elements: ElementRecord[] = [];
  const open: { end?: number }[] = [];
  let datasetStart = -1;
  let inFragments = false;
  let pos = 132;
  while (pos + 8 <= file.length) {
    while (open.length > 0 && open[open.length - 1].end !== undefined && pos >= open[open.length - 1].end!) open.pop();
    const tag = ((file.readUInt16LE(pos) << 16) | file.readUInt16LE(pos + 2)) >>> 0;
    if (datasetStart < 0 && tag >>> 16 !== 0x0002) datasetStart = pos;
    if (tag >>> 16 === 0xfffe) {
      const length = file.readUInt32LE(pos + 4);
      const record: ElementRecord = { offset: pos, tag, lengthOffset: pos + 4, lengthSize: 4, length, valueOffset: pos + 8, depth: open.length };
      if (inFragments && tag === ITEM) {
        elements.push({ ...record, fragment: true });
        pos += 8 + length;
        continue;
      }
      elements.push(record);
      if (tag === SEQUENCE_DELIMITATION) {
        if (inFragments) inFragments = false;
        else open.pop();
      } else if (tag === ITEM_DELIMITATION) {
        open.pop();
      } else if (tag === ITEM) {
        open.push({ end: length === UNDEFINED ? undefined : pos + 8 + length });
      }
      pos += 8;
      continue;
    }
    const vr = file.toString('latin1', pos + 4, pos + 6);
    const long = LONG_VRS.has(vr);
    const lengthOffset = long ? pos + 8 : pos + 6;
    const length = long ? file.readUInt32LE(lengthOffset) : file.readUInt16LE(lengthOffset);
    const valueOffset = lengthOffset + (long ? 4 : 2);
    elements.push({ offset: pos, tag, vr, lengthOffset, lengthSize: long ? 4 : 2, length, valueOffset, depth: open.length });
    if (vr === 'SQ' || (length === UNDEFINED && tag !== PIXEL_DATA)) {
      open.push({ end: length === UNDEFINED ? undefined : valueOffset + length });
      pos = valueOffset;
    } else if (length === UNDEFINED) {
      inFragments = true;
      pos = valueOffset;
    } else {
      pos = valueOffset + length;
    }
  }
  return { elements, datasetStart: datasetStart < 0 ? file.length : datasetStart };
}

/** Replaces an element's value, fixing its length field (and the file meta group length when it is in group 2). */
export function replaceValue(file: Buffer, scanned: ScannedFile, record: ElementRecord, value: Buffer): Buffer {
  const out = Buffer.concat([file.subarray(0, record.valueOffset), value, file.subarray(record.valueOffset + record.length)]);
  if (record.lengthSize === 2) out.writeUInt16LE(Math.min(value.length, 0xffff), record.lengthOffset);
  else out.writeUInt32LE(value.length, record.lengthOffset);
  const groupLength = scanned.elements.find((e) => e.tag === GROUP_LENGTH_0002);
  if (record.tag >>> 16 === 0x0002 && record.tag !== GROUP_LENGTH_0002 && groupLength) {
    out.writeUInt32LE(out.readUInt32LE(groupLength.valueOffset) + value.length - record.length, groupLength.valueOffset);
  }
  return out;
}

/** An Explicit VR Little Endian element, padded to an even length as DICOM requires. */
export function encodeElement(tag: number, vr: string, value: Buffer): Buffer {
  const padded = value.length % 2 === 0 ? value : Buffer.concat([value, Buffer.from(vr === 'UI' ? '\0' : ' ')]);
  const long = LONG_VRS.has(vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(padded.length, 8);
  else header.writeUInt16LE(padded.length, 6);
  return Buffer.concat([header, padded]);
}
