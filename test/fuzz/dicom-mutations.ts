/**
 * Mutations of well-formed DICOM Part 10 files (Explicit VR Little Endian seeds): byte flips, truncations,
 * lying length fields, changed VRs and tags, broken sequences and items, absurd nesting, altered UIDs, image
 * attributes that do not match the pixels, values far over their VR's length bound, transfer syntaxes that do not match the encoding, deflated parts.
 * Each mutation returns the new bytes and a short label saying what was done (for the report).
 */
import { deflateRawSync } from 'node:zlib';
import {
  encodeElement,
  GROUP_LENGTH_0002,
  ITEM,
  ITEM_DELIMITATION,
  PIXEL_DATA,
  replaceValue,
  scanExplicitLittle,
  SEQUENCE_DELIMITATION,
  TRANSFER_SYNTAX_UID,
  type ElementRecord,
  type ScannedFile,
} from './dicom-elements.ts';
import type { Prng } from './prng.ts';

export interface Seed {
  name: string;
  bytes: Buffer;
  scanned: ScannedFile;
}

export interface Mutant {
  bytes: Buffer;
  /** What was done, e.g. `CT_small.dcm: length(0028,0010)=0xffff`. */
  label: string;
}

export function seedOf(name: string, bytes: Buffer): Seed {
  return { name, bytes, scanned: scanExplicitLittle(bytes) };
}

const SOP_INSTANCE_UID = 0x00080018;
const MEDIA_SOP_INSTANCE_UID = 0x00020003;
const NUMBER_OF_FRAMES = 0x00280008;
const IMAGE_ATTRIBUTES = [0x00280002, 0x00280006, 0x00280010, 0x00280011, 0x00280100, 0x00280101, 0x00280102, 0x00280103];
const TRANSFER_SYNTAXES = [
  '1.2.840.10008.1.2',
  '1.2.840.10008.1.2.2',
  '1.2.840.10008.1.2.1.99',
  '1.2.840.10008.1.2.4.50',
  '1.2.840.10008.1.2.4.90',
  '1.2.840.10008.1.2.4.201',
  '1.2.840.10008.1.2.5',
  '1.2.840.10008.1.2.4.100',
  '1.2.3.4.5',
  '',
  'ABC',
  '1.2.840.10008.1.2.1\\1.2.840.10008.1.2',
];
const VRS = ['SQ', 'UN', 'OB', 'OW', 'UT', 'UI', 'US', 'UL', 'FD', 'AT', 'PN', 'XX', '\0\0', 'ob', '  ', '\xff\xff'];
const NUMBER_OF_FRAMES_VALUES = ['0', '-1', '2147483647', '4294967296', '99999999999', 'abc', '1.5', '', '1\\2', ' 3', '+2', '1e9'];
const UID_GARBAGE = ['a', '/', '\\', '..', '0', ' ', '\0', '\xff', '-', '*', '%', '\r\n', '\u00e9'];
const STRING_GARBAGE = ['\0', '\xff', '\\', '=', '^', '\x1b$B', '\x1b(J', '\xc3\x28', '\xed\xa0\x80', '%00', '\u202e', '<script>', '"', "'"];

type Mutator = (seed: Seed, rng: Prng) => Mutant;

/** One mutation of a seed; several are stacked now and then. */
export function mutateDicom(seed: Seed, rng: Prng): Mutant {
  const steps = rng.weighted([
    [1, 75],
    [2, 18],
    [3, 7],
  ] as const);
  let current: Seed = seed;
  const labels: string[] = [];
  let bytes = seed.bytes;
  for (let i = 0; i < steps; i++) {
    const mutator = rng.weighted(MUTATORS);
    let mutant: Mutant;
    try {
      mutant = mutator(current, rng);
    } catch {
      // A mutation that does not fit this file (offsets past a previous cut, no element of the kind it
      // changes): flip bytes instead.
      mutant = flipBytes(current, rng);
    }
    bytes = mutant.bytes;
    labels.push(mutant.label);
    if (i + 1 < steps) {
      try {
        current = { name: seed.name, bytes, scanned: scanExplicitLittle(bytes) };
      } catch {
        break; // no longer scannable: stacking more needs element positions we no longer have
      }
    }
  }
  return { bytes, label: `${seed.name}: ${labels.join(' + ')}` };
}

/**
 * A new, valid instance: the seed with a fresh SOP Instance UID of the same length (data set and file meta),
 * so that it is stored. Pixels may also be changed. Used to mix real stores with the garbage.
 */
export function freshInstance(seed: Seed, rng: Prng): Mutant {
  const sop = seed.scanned.elements.find((e) => e.tag === SOP_INSTANCE_UID && e.depth === 0);
  const meta = seed.scanned.elements.find((e) => e.tag === MEDIA_SOP_INSTANCE_UID);
  if (!sop || !meta) throw new Error(`${seed.name} has no SOP Instance UID`);
  const old = seed.bytes.toString('latin1', sop.valueOffset, sop.valueOffset + sop.length).replace(/\0+$/, '');
  const uid = sameLengthUid(old, rng);
  const out = Buffer.from(seed.bytes);
  out.write(uid.padEnd(sop.length, '\0'), sop.valueOffset, 'latin1');
  if (uid.length <= meta.length) out.write(uid.padEnd(meta.length, '\0'), meta.valueOffset, 'latin1');
  const pixels = seed.scanned.elements.find((e) => e.tag === PIXEL_DATA && e.depth === 0);
  if (pixels && pixels.length !== 0xffffffff && pixels.length > 0 && rng.chance(0.5)) {
    for (let i = 0; i < 8; i++) out[pixels.valueOffset + rng.int(pixels.length)] ^= 1 + rng.int(255);
  }
  return { bytes: out, label: `${seed.name}: fresh SOP Instance UID ${uid}` };
}

/** Replaces the digits of the last components, keeping the root, the dots and the length; no leading zero. */
function sameLengthUid(old: string, rng: Prng): string {
  const keep = Math.max(old.indexOf('.') + 1, old.lastIndexOf('.', Math.max(0, old.length - 12)) + 1);
  let uid = old.slice(0, keep);
  for (let i = keep; i < old.length; i++) {
    if (old[i] === '.') uid += '.';
    else uid += String(uid.endsWith('.') ? rng.between(1, 9) : rng.int(10));
  }
  return uid;
}

const flipBytes: Mutator = (seed, rng) => {
  const out = Buffer.from(seed.bytes);
  const count = rng.pick([1, 1, 2, 4, 16, 64]);
  const headerEnd = pixelStart(seed);
  for (let i = 0; i < count; i++) {
    const at = rng.chance(0.8) ? rng.int(headerEnd) : rng.int(out.length);
    out[at] = rng.chance(0.5) ? out[at] ^ (1 << rng.int(8)) : rng.int(256);
  }
  return { bytes: out, label: `flip ${count} bytes` };
};

const truncate: Mutator = (seed, rng) => {
  const at = rng.chance(0.7) ? rng.int(pixelStart(seed) + 16) : rng.int(seed.bytes.length);
  return { bytes: seed.bytes.subarray(0, at), label: `truncate at ${at}` };
};

const lengthField: Mutator = (seed, rng) => {
  const record = rng.pick(seed.scanned.elements);
  const max = record.lengthSize === 2 ? 0xffff : 0xffffffff;
  const value = rng.pick([0, max, max - 1, record.length + 1, Math.max(0, record.length - 1), record.length * 2 + 2, seed.bytes.length, 0x7fffffff, 0x80000000, rng.int(max + 1)]);
  const out = Buffer.from(seed.bytes);
  const clamped = Math.min(value, max);
  if (record.lengthSize === 2) out.writeUInt16LE(clamped, record.lengthOffset);
  else out.writeUInt32LE(clamped, record.lengthOffset);
  return { bytes: out, label: `length${tagText(record)}=0x${clamped.toString(16)}` };
};

const vrChange: Mutator = (seed, rng) => {
  const candidates = seed.scanned.elements.filter((e) => e.vr !== undefined);
  const record = rng.pick(candidates);
  const vr = rng.pick(VRS);
  const out = Buffer.from(seed.bytes);
  out.write(vr, record.offset + 4, 'latin1');
  return { bytes: out, label: `vr${tagText(record)}=${JSON.stringify(vr)}` };
};

const tagChange: Mutator = (seed, rng) => {
  const record = rng.pick(seed.scanned.elements);
  const index = seed.scanned.elements.indexOf(record);
  const previous = seed.scanned.elements[Math.max(0, index - 1)].tag;
  const tag = rng.pick([rng.int(0x100000000), ITEM, ITEM_DELIMITATION, SEQUENCE_DELIMITATION, PIXEL_DATA, 0x00020010, 0xffffffff, 0, previous, 0x00080018, 0x0020000d]) >>> 0;
  const out = Buffer.from(seed.bytes);
  out.writeUInt16LE(tag >>> 16, record.offset);
  out.writeUInt16LE(tag & 0xffff, record.offset + 2);
  return { bytes: out, label: `tag${tagText(record)}->(${hex4(tag >>> 16)},${hex4(tag & 0xffff)})` };
};

const uidChange: Mutator = (seed, rng) => {
  const uids = seed.scanned.elements.filter((e) => e.vr === 'UI' && e.length > 0);
  const record = rng.pick(uids);
  const out = Buffer.from(seed.bytes);
  const kind = rng.int(4);
  if (kind === 0) {
    const garbage = Buffer.from(rng.pick(UID_GARBAGE), 'latin1');
    garbage.copy(out, record.valueOffset + rng.int(record.length), 0, Math.min(garbage.length, record.length));
    return { bytes: out, label: `uid-char${tagText(record)}` };
  }
  if (kind === 1) {
    const traversal = Buffer.from('../../../../etc/passwd/'.repeat(4).slice(0, record.length), 'latin1');
    traversal.copy(out, record.valueOffset);
    return { bytes: out, label: `uid-traversal${tagText(record)}` };
  }
  if (kind === 2) {
    out.fill(rng.pick([0, 0x20, 0x30, 0x2e]), record.valueOffset, record.valueOffset + record.length);
    return { bytes: out, label: `uid-fill${tagText(record)}` };
  }
  const long = Buffer.from(rng.pick(['1.2.3.' + '4'.repeat(100), '1.2.840.10008.'.repeat(20), '2.25.' + '9'.repeat(60), '']), 'latin1');
  return { bytes: replaceValue(seed.bytes, seed.scanned, record, long.length % 2 ? Buffer.concat([long, Buffer.from([0])]) : long), label: `uid-length${tagText(record)}=${long.length}` };
};

const sequenceCorruption: Mutator = (seed, rng) => {
  const markers = seed.scanned.elements.filter((e) => e.tag >>> 16 === 0xfffe || e.vr === 'SQ');
  if (markers.length === 0) return deepNesting(seed, rng);
  const record = rng.pick(markers);
  const out = Buffer.from(seed.bytes);
  switch (rng.int(4)) {
    case 0: {
      const tag = rng.pick([ITEM, ITEM_DELIMITATION, SEQUENCE_DELIMITATION, 0xfffe0000, 0xfffeffff]);
      out.writeUInt16LE(tag >>> 16, record.offset);
      out.writeUInt16LE(tag & 0xffff, record.offset + 2);
      return { bytes: out, label: `item-tag${tagText(record)}->${tag.toString(16)}` };
    }
    case 1: {
      const value = Math.min(0xffffffff, rng.pick([0, 0xffffffff, 0xfffffffe, 7, record.length + 8, 0x40000000]));
      out.writeUInt32LE(value, record.lengthOffset);
      return { bytes: out, label: `item-length${tagText(record)}=0x${value.toString(16)}` };
    }
    case 2: {
      const size = record.valueOffset - record.offset;
      return { bytes: Buffer.concat([seed.bytes.subarray(0, record.offset), seed.bytes.subarray(record.offset + size)]), label: `remove-header${tagText(record)}` };
    }
    default: {
      const header = seed.bytes.subarray(record.offset, record.valueOffset);
      const times = rng.pick([1, 2, 50]);
      const copies = Buffer.concat(Array.from({ length: times }, () => header));
      return { bytes: Buffer.concat([seed.bytes.subarray(0, record.offset), copies, seed.bytes.subarray(record.offset)]), label: `repeat-header${tagText(record)}x${times}` };
    }
  }
};

/** Sequences nested far deeper than any real file, at the start of the data set, closed or not. */
const deepNesting: Mutator = (seed, rng) => {
  const depth = rng.pick([33, 100, 2000, 60_000]);
  const closed = rng.chance(0.5);
  const definedLengths = rng.chance(0.2);
  const open = Buffer.from([0x08, 0x00, 0x06, 0x00, 0x53, 0x51, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]);
  if (definedLengths) {
    open.writeUInt32LE(0x7ffffff0, 8);
    open.writeUInt32LE(0x7fffffe0, 16);
  }
  const close = Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0, 0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
  const at = seed.scanned.datasetStart;
  const parts = [seed.bytes.subarray(0, at), Buffer.concat(Array.from({ length: depth }, () => open))];
  if (closed) parts.push(Buffer.concat(Array.from({ length: depth }, () => close)));
  parts.push(seed.bytes.subarray(at));
  return { bytes: Buffer.concat(parts), label: `nesting ${depth}${closed ? ' closed' : ''}${definedLengths ? ' defined-lengths' : ''}` };
};

const transferSyntaxLie: Mutator = (seed, rng) => {
  const record = seed.scanned.elements.find((e) => e.tag === TRANSFER_SYNTAX_UID);
  if (!record) return flipBytes(seed, rng);
  const uid = rng.pick(TRANSFER_SYNTAXES);
  const value = Buffer.from(uid.length % 2 ? `${uid}\0` : uid, 'latin1');
  const fixGroup = rng.chance(0.8);
  const bytes = fixGroup ? replaceValue(seed.bytes, seed.scanned, record, value) : replaceValue(seed.bytes, { ...seed.scanned, elements: [] }, record, value);
  return { bytes, label: `transfer-syntax=${JSON.stringify(uid)}${fixGroup ? '' : ' (stale group length)'}` };
};

const deflate: Mutator = (seed, rng) => {
  const start = seed.scanned.datasetStart;
  const ts = seed.scanned.elements.find((e) => e.tag === TRANSFER_SYNTAX_UID);
  const kind = rng.int(4);
  if (kind <= 1 && ts) {
    // A deflated file: correct (kind 0) or cut short (kind 1).
    const withTs = replaceValue(seed.bytes, seed.scanned, ts, Buffer.from('1.2.840.10008.1.2.1.99', 'latin1'));
    const datasetStart = start + (withTs.length - seed.bytes.length);
    let body = deflateRawSync(withTs.subarray(datasetStart));
    if (kind === 1) body = body.subarray(0, rng.int(body.length));
    return { bytes: Buffer.concat([withTs.subarray(0, datasetStart), body]), label: kind === 0 ? 'deflated data set' : 'deflated data set, cut' };
  }
  if (kind === 2 && ts) {
    // Says deflate, is not.
    return { bytes: replaceValue(seed.bytes, seed.scanned, ts, Buffer.from('1.2.840.10008.1.2.1.99', 'latin1')), label: 'claims deflate, not deflated' };
  }
  // A random range replaced by its deflated bytes.
  const from = start + rng.int(Math.max(1, seed.bytes.length - start));
  const to = Math.min(seed.bytes.length, from + rng.between(8, 4096));
  return { bytes: Buffer.concat([seed.bytes.subarray(0, from), deflateRawSync(seed.bytes.subarray(from, to)), seed.bytes.subarray(to)]), label: `deflate range ${from}-${to}` };
};

const spliceBytes: Mutator = (seed, rng) => {
  const b = seed.bytes;
  const at = rng.chance(0.7) ? rng.int(pixelStart(seed)) : rng.int(b.length);
  switch (rng.int(4)) {
    case 0: {
      const junk = rng.bytes(rng.pick([1, 2, 3, 8, 64, 1000]));
      return { bytes: Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]), label: `insert ${junk.length} random bytes at ${at}` };
    }
    case 1: {
      const n = rng.pick([1, 2, 4, 8, 100, 5000]);
      return { bytes: Buffer.concat([b.subarray(0, at), b.subarray(at + n)]), label: `delete ${n} bytes at ${at}` };
    }
    case 2: {
      const n = rng.pick([4, 8, 12, 100, 2000]);
      return { bytes: Buffer.concat([b.subarray(0, at + n), b.subarray(at, at + n), b.subarray(at + n)]), label: `duplicate ${n} bytes at ${at}` };
    }
    default:
      return { bytes: Buffer.concat([b, rng.bytes(rng.pick([1, 7, 100, 10_000]))]), label: 'trailing garbage' };
  }
};

const metaCorruption: Mutator = (seed, rng) => {
  const out = Buffer.from(seed.bytes);
  const group = seed.scanned.elements.find((e) => e.tag === GROUP_LENGTH_0002);
  switch (rng.int(6)) {
    case 0:
      out.write('DICN', 128, 'latin1');
      return { bytes: out, label: 'no DICM' };
    case 1:
      if (group) out.writeUInt32LE(rng.pick([0, 2, 0xffffffff, 0x7fffffff, 100_000]), group.valueOffset);
      return { bytes: out, label: 'group length' };
    case 2:
      return { bytes: seed.bytes.subarray(seed.scanned.datasetStart), label: 'no preamble, no meta' };
    case 3: {
      const ts = seed.scanned.elements.find((e) => e.tag === TRANSFER_SYNTAX_UID);
      if (!ts) return { bytes: out, label: 'unchanged' };
      const cut = Buffer.concat([seed.bytes.subarray(0, ts.offset), seed.bytes.subarray(ts.valueOffset + ts.length)]);
      return { bytes: cut, label: 'no transfer syntax' };
    }
    case 4:
      return { bytes: seed.bytes.subarray(128), label: 'no preamble' };
    default: {
      const meta = seed.scanned.elements.filter((e) => e.tag >>> 16 === 0x0002);
      const record = rng.pick(meta);
      out.fill(rng.pick([0, 0xff, 0x20]), record.valueOffset, record.valueOffset + record.length);
      return { bytes: out, label: `meta value${tagText(record)}` };
    }
  }
};

const stringGarbage: Mutator = (seed, rng) => {
  const strings = seed.scanned.elements.filter((e) => e.vr !== undefined && /^(PN|LO|SH|CS|DA|TM|DT|DS|IS|AS|AE|ST|LT|UT|UC)$/.test(e.vr) && e.length > 0 && e.length < 0xffff);
  if (strings.length === 0) return flipBytes(seed, rng);
  const record = rng.pick(strings);
  const out = Buffer.from(seed.bytes);
  if (rng.chance(0.3)) {
    const value = Buffer.from(rng.pick(['x'.repeat(70_000), '\\'.repeat(5000), '=^'.repeat(3000), '\0'.repeat(4000)]), 'latin1');
    return { bytes: replaceValue(seed.bytes, seed.scanned, record, value), label: `long value${tagText(record)}` };
  }
  const garbage = Buffer.from(rng.pick(STRING_GARBAGE), 'latin1');
  garbage.copy(out, record.valueOffset + rng.int(record.length), 0, Math.min(garbage.length, record.length));
  return { bytes: out, label: `string${tagText(record)}` };
};

/**
 * Values just over and far over their VR's PS3.5 bound, shaped as the worst case for right-trims: a long run of a
 * padding or separator character followed by one other character (quadratic with `X+$` regular expressions).
 */
const valueLength: Mutator = (seed, rng) => {
  const texts = seed.scanned.elements.filter((e) => e.vr !== undefined && /^(PN|LO|SH|CS|DA|TM|DT|DS|IS|AS|AE|ST|LT|UT|UC|UI)$/.test(e.vr) && e.length < 0xffff);
  if (texts.length === 0) return flipBytes(seed, rng);
  const record = rng.pick(texts);
  const max = record.lengthSize === 2 ? 0xfffe : 1 << 20;
  const length = Math.min(max, rng.pick([17, 65, 257, 1025, 10_241, 0xfffe, 1 << 20, 64 + rng.int(0x10000)]));
  const run = rng.pick(['^', ' ', '\0', '/', '=', '\\', '0', '^ ', '=^']);
  const last = rng.pick(['x', '^', '1', '\xe9', '']);
  const text = (run.repeat(Math.ceil(length / run.length)) + last).slice(-length);
  const value = Buffer.from(text.length % 2 === 0 ? text : `${text} `, 'latin1');
  return { bytes: replaceValue(seed.bytes, seed.scanned, record, value), label: `length${tagText(record)}=${value.length}` };
};

const imageAttributes: Mutator = (seed, rng) => {
  const present = seed.scanned.elements.filter((e) => e.depth === 0 && IMAGE_ATTRIBUTES.includes(e.tag) && e.length === 2);
  if (present.length > 0 && rng.chance(0.6)) {
    const record = rng.pick(present);
    const value = rng.pick([0, 1, 3, 7, 8, 12, 16, 32, 64, 0x7fff, 0xffff, rng.int(0x10000)]);
    const out = Buffer.from(seed.bytes);
    out.writeUInt16LE(value, record.valueOffset);
    return { bytes: out, label: `image${tagText(record)}=${value}` };
  }
  // Number of Frames, inserted (or replaced) at its place in the top-level data set.
  const value = Buffer.from(rng.pick(NUMBER_OF_FRAMES_VALUES), 'latin1');
  const existing = seed.scanned.elements.find((e) => e.tag === NUMBER_OF_FRAMES && e.depth === 0);
  if (existing) return { bytes: replaceValue(seed.bytes, seed.scanned, existing, value.length % 2 ? Buffer.concat([value, Buffer.from(' ')]) : value), label: `NumberOfFrames=${JSON.stringify(value.toString('latin1'))}` };
  const next = seed.scanned.elements.find((e) => e.depth === 0 && e.tag > NUMBER_OF_FRAMES && e.offset >= seed.scanned.datasetStart);
  const at = next ? next.offset : seed.bytes.length;
  const element = encodeElement(NUMBER_OF_FRAMES, 'IS', value);
  return { bytes: Buffer.concat([seed.bytes.subarray(0, at), element, seed.bytes.subarray(at)]), label: `NumberOfFrames+=${JSON.stringify(value.toString('latin1'))}` };
};

const MUTATORS: (readonly [Mutator, number])[] = [
  [flipBytes, 14],
  [truncate, 10],
  [lengthField, 14],
  [vrChange, 8],
  [tagChange, 7],
  [uidChange, 9],
  [sequenceCorruption, 8],
  [deepNesting, 2],
  [transferSyntaxLie, 5],
  [deflate, 4],
  [spliceBytes, 8],
  [metaCorruption, 4],
  [stringGarbage, 6],
  [valueLength, 5],
  [imageAttributes, 8],
];

function pixelStart(seed: Seed): number {
  const pixels = seed.scanned.elements.find((e) => e.tag === PIXEL_DATA && e.depth === 0);
  return Math.min(seed.bytes.length, (pixels?.valueOffset ?? seed.bytes.length) + 64);
}

function tagText(record: ElementRecord): string {
  return `(${hex4(record.tag >>> 16)},${hex4(record.tag & 0xffff)})`;
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
