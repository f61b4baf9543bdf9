/**
 * Where each frame's bytes are in the file: by arithmetic for native pixel data, from the item headers (and
 * offset tables) for encapsulated pixel data (PS3.5 A.4). Only item headers are read, never pixel values.
 */
import { tagLabel } from './dicom-dictionary.ts';
import { DicomInstanceError, FailureReason } from './dicom-status.ts';
import { ITEM, SEQUENCE_DELIMITATION, readUint32Tag, type PixelDataHeader } from './dataset-parser.ts';
import type { FileSpan } from './parsed-instance.ts';
import type { PositionalReader } from './positional-reader.ts';
import type { TransferSyntax } from './transfer-syntax.ts';

export interface ImagePixelAttributes {
  rows?: number;
  columns?: number;
  samplesPerPixel?: number;
  bitsAllocated?: number;
  numberOfFrames: number;
  photometricInterpretation?: string;
}

export interface ExtendedOffsetTable {
  offsets: number[];
  lengths?: number[];
}

export interface PixelDataLayout {
  frames: FileSpan[][];
  /** The whole value: the native bytes, or every item of the encapsulated value (without the delimiter). */
  span: FileSpan;
  /** File offset just after the Pixel Data element. */
  end: number;
}

const UNDEFINED_LENGTH = 0xffffffff;

function cannotUnderstand(message: string): DicomInstanceError {
  return new DicomInstanceError(FailureReason.CannotUnderstand, message);
}

function doesNotMatch(message: string): DicomInstanceError {
  return new DicomInstanceError(FailureReason.DataSetDoesNotMatchSopClass, message);
}

export function nativeFrames(header: PixelDataHeader, attrs: ImagePixelAttributes, fileSize: number): PixelDataLayout {
  const name = `Pixel Data ${tagLabel(header.tag)}`;
  if (header.length === undefined) {
    throw cannotUnderstand(`${name} has an undefined length (encapsulated) but the transfer syntax is not a compressed one`);
  }
  const { rows, columns, bitsAllocated } = attrs;
  const samples = attrs.samplesPerPixel ?? 1;
  if (!rows || !columns) throw doesNotMatch(`Rows (0028,0010) and Columns (0028,0011) are required with ${name}`);
  if (!bitsAllocated) throw doesNotMatch(`Bits Allocated (0028,0100) is required with ${name}`);
  if (bitsAllocated !== 1 && bitsAllocated % 8 !== 0) {
    throw cannotUnderstand(`Bits Allocated ${bitsAllocated} is not supported for native pixel data (1 or a multiple of 8)`);
  }
  let frameBits = rows * columns * samples * bitsAllocated;
  // PS3.3 C.7.6.3.1.2: uncompressed YBR_FULL_422 stores two chroma samples per two pixels.
  if (attrs.photometricInterpretation === 'YBR_FULL_422' && samples === 3) frameBits = (frameBits / 3) * 2;
  const n = attrs.numberOfFrames;
  const neededBytes = Math.ceil((frameBits * n) / 8);

  const span = { offset: header.valueOffset, length: header.length };
  if (header.valueOffset + header.length > fileSize) {
    throw cannotUnderstand(
      `truncated: pixel data needs ${header.length} bytes from byte ${header.valueOffset}, but the file ends after ${fileSize} bytes`,
    );
  }
  if (header.length < neededBytes) {
    throw cannotUnderstand(
      `${name} holds ${header.length} bytes, but ${n} frame(s) of ${rows}x${columns} pixels, ${samples} sample(s) of ` +
        `${bitsAllocated} bits need ${neededBytes} bytes`,
    );
  }
  const frames: FileSpan[][] = [];
  for (let i = 0; i < n; i++) {
    const startBit = i * frameBits;
    const endBit = startBit + frameBits;
    const first = Math.floor(startBit / 8);
    const frame: FileSpan = { offset: header.valueOffset + first, length: Math.ceil(endBit / 8) - first };
    if (startBit % 8 !== 0) frame.firstBit = startBit % 8;
    frames.push([frame]);
  }
  return { frames, span, end: header.valueOffset + header.length };
}

interface Item {
  /** Offset of the item tag. */
  headerOffset: number;
  /** The fragment value. */
  span: FileSpan;
}

export function encapsulatedFrames(
  reader: PositionalReader,
  header: PixelDataHeader,
  ts: TransferSyntax,
  attrs: ImagePixelAttributes,
  extendedOffsetTable: ExtendedOffsetTable | undefined,
): PixelDataLayout {
  if (header.length !== undefined) {
    throw cannotUnderstand(
      `Pixel Data has a defined length (${header.length} bytes) but transfer syntax ${ts.uid} (${ts.name}) requires encapsulated (fragmented) pixel data`,
    );
  }
  const direct = extendedOffsetTable && framesFromExtendedOffsetTable(reader, header, extendedOffsetTable, attrs.numberOfFrames);
  if (direct && ts.pixelEncoding !== 'video') return direct;
  const { items, delimiterOffset } = readItems(reader, header.valueOffset);
  if (items.length === 0) throw cannotUnderstand('encapsulated Pixel Data has no Basic Offset Table item (PS3.5 A.4)');
  const [bot, ...fragments] = items;
  const span = { offset: header.valueOffset, length: delimiterOffset - header.valueOffset };
  const end = delimiterOffset + 8;
  if (fragments.length === 0) throw cannotUnderstand('encapsulated Pixel Data has no fragment');
  const n = attrs.numberOfFrames;

  if (ts.pixelEncoding === 'video') {
    // One video stream (all fragments) holds every frame; it is served whole.
    return { frames: [fragments.map((f) => f.span)], span, end };
  }
  const base = fragments[0].headerOffset;
  if (extendedOffsetTable) {
    return { frames: groupByStarts(fragments, extendedOffsetTable.offsets, n, base, 'Extended Offset Table (7FE0,0001)'), span, end };
  }
  if (bot.span.length > 0) {
    const table = reader.bytes(bot.span.offset, bot.span.length - (bot.span.length % 4), 'the Basic Offset Table');
    const offsets: number[] = [];
    for (let at = 0; at < table.length; at += 4) offsets.push(table.readUInt32LE(at));
    return { frames: groupByStarts(fragments, offsets, n, base, 'Basic Offset Table'), span, end };
  }
  if (fragments.length === n) return { frames: fragments.map((f) => [f.span]), span, end };
  if (n === 1) return { frames: [fragments.map((f) => f.span)], span, end };
  if (fragments.length < n) {
    throw cannotUnderstand(`encapsulated Pixel Data has ${fragments.length} fragments for ${n} frames (at least one fragment per frame is required)`);
  }
  const starts = frameStartsFromMarkers(reader, fragments, ts);
  if (starts === undefined || starts.length !== n) {
    throw cannotUnderstand(
      `cannot tell where each of the ${n} frames starts among ${fragments.length} fragments: there is no Basic or Extended ` +
        `Offset Table${starts ? ` and the ${ts.name} start markers give ${starts.length} frames` : ''}; re-send with a Basic Offset Table`,
    );
  }
  return { frames: groupByStarts(fragments, starts.map((i) => fragments[i].headerOffset - base), n, base, 'start markers'), span, end };
}

/**
 * With an Extended Offset Table (one fragment per frame, PS3.3 C.7.6.3.1.8) the frames are known without walking
 * the fragments: only the Basic Offset Table item, each frame's item header and the final delimiter are checked
 * (`undefined` if anything does not match, then the fragments are walked).
 */
function framesFromExtendedOffsetTable(
  reader: PositionalReader,
  header: PixelDataHeader,
  table: ExtendedOffsetTable,
  n: number,
): PixelDataLayout | undefined {
  const { offsets, lengths } = table;
  if (!lengths || offsets.length !== n || lengths.length !== n) return undefined;
  const botHeader = reader.bytes(header.valueOffset, 8, 'the Basic Offset Table item');
  if (readUint32Tag(botHeader, 0, true) !== ITEM) return undefined;
  const base = header.valueOffset + 8 + botHeader.readUInt32LE(4);
  const frames: FileSpan[][] = [];
  let expected = 0;
  for (let i = 0; i < n; i++) {
    if (offsets[i] !== expected) return undefined;
    const itemOffset = base + offsets[i];
    if (itemOffset + 8 + lengths[i] > reader.fileSize) return undefined;
    const item = reader.bytes(itemOffset, 8, 'a pixel data fragment');
    if (readUint32Tag(item, 0, true) !== ITEM || item.readUInt32LE(4) !== lengths[i]) return undefined;
    frames.push([{ offset: itemOffset + 8, length: lengths[i] }]);
    expected = offsets[i] + 8 + lengths[i];
  }
  const delimiterOffset = base + expected;
  if (delimiterOffset + 8 > reader.fileSize) return undefined;
  if (readUint32Tag(reader.bytes(delimiterOffset, 8, 'the sequence delimitation item'), 0, true) !== SEQUENCE_DELIMITATION) {
    return undefined;
  }
  return { frames, span: { offset: header.valueOffset, length: delimiterOffset - header.valueOffset }, end: delimiterOffset + 8 };
}

function readItems(reader: PositionalReader, start: number): { items: Item[]; delimiterOffset: number } {
  const items: Item[] = [];
  let pos = start;
  for (;;) {
    const h = reader.bytes(pos, 8, 'encapsulated Pixel Data (its sequence delimitation item is missing)');
    const tag = readUint32Tag(h, 0, true);
    const length = h.readUInt32LE(4);
    if (tag === SEQUENCE_DELIMITATION) return { items, delimiterOffset: pos };
    if (tag !== ITEM || length === UNDEFINED_LENGTH) {
      throw cannotUnderstand(`malformed encapsulated Pixel Data: expected a fragment item (FFFE,E000) at byte ${pos}, found ${tagLabel(tag)}`);
    }
    const valueOffset = pos + 8;
    if (valueOffset + length > reader.fileSize) {
      throw cannotUnderstand(
        `truncated: pixel data fragment needs ${length} bytes from byte ${valueOffset}, but the file ends after ${reader.fileSize} bytes`,
      );
    }
    items.push({ headerOffset: pos, span: { offset: valueOffset, length } });
    pos = valueOffset + length;
  }
}

/** Frames from the offsets of their first fragment item, relative to the first fragment item (PS3.5 A.4). */
function groupByStarts(fragments: Item[], offsets: number[], n: number, base: number, source: string): FileSpan[][] {
  if (offsets.length !== n) {
    throw cannotUnderstand(`the ${source} has ${offsets.length} entries but Number of Frames is ${n}`);
  }
  const indexByOffset = new Map(fragments.map((f, i) => [f.headerOffset - base, i]));
  const firstIndexes = offsets.map((offset, frame) => {
    const index = indexByOffset.get(offset);
    if (index === undefined) {
      throw cannotUnderstand(`the ${source} entry for frame ${frame + 1} (offset ${offset}) does not point at a fragment`);
    }
    return index;
  });
  return firstIndexes.map((first, frame) => {
    const next = frame + 1 < n ? firstIndexes[frame + 1] : fragments.length;
    if (next <= first) throw cannotUnderstand(`the ${source} entries are not in increasing order (frame ${frame + 1})`);
    return fragments.slice(first, next).map((f) => f.span);
  });
}

/** Indexes of the fragments that start a frame, from codestream start markers; undefined when the codec has none. */
function frameStartsFromMarkers(reader: PositionalReader, fragments: Item[], ts: TransferSyntax): number[] | undefined {
  const isStart = START_MARKERS[ts.pixelEncoding];
  if (!isStart) return undefined;
  const starts: number[] = [];
  for (let i = 0; i < fragments.length; i++) {
    const { offset, length } = fragments[i].span;
    const head = reader.bytes(offset, Math.min(12, length), 'a pixel data fragment');
    if (isStart(head)) starts.push(i);
  }
  if (starts[0] !== 0) return [];
  return starts;
}

const JP2_SIGNATURE = [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20];
const JXL_CONTAINER = [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20];

function startsWith(b: Buffer, prefix: number[]): boolean {
  return b.length >= prefix.length && prefix.every((v, i) => b[i] === v);
}

/** Frame start markers, as dicom-parser's createJPEGBasicOffsetTable uses SOI for JPEG. */
const START_MARKERS: Partial<Record<TransferSyntax['pixelEncoding'], (b: Buffer) => boolean>> = {
  jpeg: (b) => startsWith(b, [0xff, 0xd8]), // SOI
  'jpeg-ls': (b) => startsWith(b, [0xff, 0xd8]),
  jpeg2000: (b) => startsWith(b, [0xff, 0x4f, 0xff, 0x51]) || startsWith(b, JP2_SIGNATURE), // SOC SIZ, or JP2
  htj2k: (b) => startsWith(b, [0xff, 0x4f, 0xff, 0x51]) || startsWith(b, JP2_SIGNATURE),
  'jpeg-xl': (b) => startsWith(b, [0xff, 0x0a]) || startsWith(b, JXL_CONTAINER),
};
