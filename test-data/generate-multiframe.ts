/**
 * Multi-frame test instances: Multi-frame Grayscale Word Secondary Capture, 16-bit, native (Explicit VR Little
 * Endian) or RLE Lossless (real, decodable RLE, one fragment per frame, with or without Basic Offset Table).
 */
import { deterministicUid, patientFor, random, SITES, type PatientProfile, type SiteProfile } from './generate-study.ts';
import { writePart10, type Dataset } from './part10-writer.ts';

export const MULTIFRAME_GRAYSCALE_WORD_SC = '1.2.840.10008.5.1.4.1.1.7.3';
export const RLE_LOSSLESS = '1.2.840.10008.1.2.5';

export type MultiFrameEncoding = 'native' | 'rle' | 'rle-no-offset-table' | 'rle-extended-offset-table';

export interface MultiFrameOptions {
  frames: number;
  rows?: number;
  columns?: number;
  seed?: string | number;
  /**
   * 'native' (default), or RLE Lossless with a Basic Offset Table ('rle'), without any offset table
   * ('rle-no-offset-table'), or with an Extended Offset Table and an empty Basic Offset Table ('rle-extended-offset-table').
   */
  encoding?: MultiFrameEncoding;
  site?: SiteProfile;
  patient?: PatientProfile;
}

/** One multi-frame instance; frame k is a bright disc moving across a noisy background. */
export function generateMultiFrame(options: MultiFrameOptions): Buffer {
  const seed = options.seed ?? 'multiframe';
  const rows = options.rows ?? 256;
  const columns = options.columns ?? 256;
  const encoding = options.encoding ?? 'native';
  const site = options.site ?? SITES['saint-girons'];
  const patient = options.patient ?? patientFor(seed);
  const frames = Array.from({ length: options.frames }, (_, k) => frame(rows, columns, k, options.frames, random(seed, `frame-${k}`)));
  const fragments = encoding === 'native' ? [] : frames.map((f) => rleEncode16(f, rows, columns));
  const dataset: Dataset = {
    SpecificCharacterSet: 'ISO_IR 192',
    ImageType: ['DERIVED', 'SECONDARY'],
    SOPClassUID: MULTIFRAME_GRAYSCALE_WORD_SC,
    SOPInstanceUID: deterministicUid(seed, 'multiframe-instance'),
    StudyDate: '20240312',
    StudyTime: '101500',
    AccessionNumber: 'MF0001',
    Modality: 'OT',
    ConversionType: 'WSD',
    InstitutionName: site.institutionName,
    StudyDescription: 'CINE TEST MULTI-FRAME',
    PatientName: patient.name,
    PatientID: patient.id,
    IssuerOfPatientID: site.issuerOfPatientID,
    PatientBirthDate: patient.birthDate,
    PatientSex: patient.sex,
    StudyInstanceUID: deterministicUid(seed, 'multiframe-study'),
    SeriesInstanceUID: deterministicUid(seed, 'multiframe-series'),
    StudyID: '1',
    SeriesNumber: 1,
    InstanceNumber: 1,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    NumberOfFrames: options.frames,
    FrameIncrementPointer: 0x00181063,
    FrameTime: 40,
    Rows: rows,
    Columns: columns,
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: 0,
    ...(encoding === 'rle-extended-offset-table' ? extendedOffsetTable(fragments) : {}),
    PixelData:
      encoding === 'native'
        ? { vr: 'OW', value: Buffer.concat(frames) }
        : { fragments, frameStarts: encoding === 'rle' ? frames.map((_, k) => k) : undefined },
  };
  return writePart10(dataset, { transferSyntaxUID: encoding === 'native' ? undefined : RLE_LOSSLESS });
}

/** Extended Offset Table (7FE0,0001) and lengths (7FE0,0002): one fragment per frame. */
function extendedOffsetTable(fragments: Buffer[]): Dataset {
  const offsets = Buffer.alloc(8 * fragments.length);
  const lengths = Buffer.alloc(8 * fragments.length);
  let offset = 0;
  fragments.forEach((f, i) => {
    offsets.writeBigUInt64LE(BigInt(offset), 8 * i);
    lengths.writeBigUInt64LE(BigInt(f.length), 8 * i);
    offset += 8 + f.length;
  });
  return { ExtendedOffsetTable: { vr: 'OV', value: offsets }, ExtendedOffsetTableLengths: { vr: 'OV', value: lengths } };
}

function frame(rows: number, columns: number, k: number, n: number, rnd: () => number): Buffer {
  const out = Buffer.alloc(rows * columns * 2);
  const cx = columns * (0.2 + (0.6 * k) / Math.max(1, n - 1));
  const cy = rows / 2;
  const r2 = (Math.min(rows, columns) / 6) ** 2;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      const inside = (x - cx) ** 2 + (y - cy) ** 2 < r2;
      // Runs of equal values (so that RLE compresses) with a little noise on the disc.
      const value = inside ? 3000 + (rnd() < 0.1 ? 50 : 0) : 200;
      out.writeUInt16LE(value, (y * columns + x) * 2);
    }
  }
  return out;
}

/** RLE Lossless (PS3.5 Annex G) of a 16-bit little endian frame: two segments, high bytes then low bytes. */
export function rleEncode16(frameBytes: Buffer, rows: number, columns: number): Buffer {
  const high = Buffer.alloc(rows * columns);
  const low = Buffer.alloc(rows * columns);
  for (let i = 0; i < rows * columns; i++) {
    low[i] = frameBytes[2 * i];
    high[i] = frameBytes[2 * i + 1];
  }
  const segments = [high, low].map((plane) => {
    const encodedRows: Buffer[] = [];
    for (let y = 0; y < rows; y++) encodedRows.push(packBits(plane.subarray(y * columns, (y + 1) * columns)));
    const segment = Buffer.concat(encodedRows);
    return segment.length % 2 === 0 ? segment : Buffer.concat([segment, Buffer.alloc(1)]);
  });
  const header = Buffer.alloc(64);
  header.writeUInt32LE(segments.length, 0);
  let offset = 64;
  segments.forEach((segment, i) => {
    header.writeUInt32LE(offset, 4 + 4 * i);
    offset += segment.length;
  });
  return Buffer.concat([header, ...segments]);
}

/** PackBits: replicate runs of 2-128 bytes as (257 - n, byte), literal runs of 1-128 bytes as (n - 1, bytes). */
function packBits(row: Buffer): Buffer {
  const out: number[] = [];
  let i = 0;
  while (i < row.length) {
    let run = 1;
    while (i + run < row.length && run < 128 && row[i + run] === row[i]) run++;
    if (run >= 2) {
      out.push(257 - run, row[i]);
      i += run;
      continue;
    }
    const start = i;
    while (i < row.length && i - start < 128 && !(i + 1 < row.length && row[i + 1] === row[i])) i++;
    if (i === start) i++;
    out.push(i - start - 1, ...row.subarray(start, i));
  }
  return Buffer.from(out);
}
