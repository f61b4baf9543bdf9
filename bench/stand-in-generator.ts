// Minimal synthetic DICOM Part 10 writer, used by the benchmark only while test-data/generate-study.ts
// does not exist yet. Same signatures as that module's generateCtSeries / generateChestXray /
// generateStudies, so the benchmark swaps to the real generator as soon as it lands.
import { createHash } from 'node:crypto';

export interface CtSeriesOptions {
  kind: 'ct-head' | 'ct-chest';
  slices: number;
  rows?: number;
  columns?: number;
  seed?: number;
}

export interface ChestXrayOptions {
  seed?: number;
}

export interface SmallStudiesOptions {
  seed?: number;
}

const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const DX_FOR_PRESENTATION = '1.2.840.10008.5.1.4.1.1.1.1';
const IMPLEMENTATION_CLASS_UID = '1.2.826.0.1.3680043.10.1500.1';

type Element = { tag: number; vr: string; value: Buffer };

/** Deterministic 2.25.<decimal> UID derived from a seed and a label. */
function uid(seed: number, label: string): string {
  const digest = createHash('sha256').update(`${seed}:${label}`).digest();
  return `2.25.${BigInt(`0x${digest.subarray(0, 15).toString('hex')}`).toString(10)}`;
}

function padded(text: string, padding: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return bytes.length % 2 === 0 ? bytes : Buffer.concat([bytes, Buffer.from(padding, 'latin1')]);
}

function str(tag: number, vr: string, text: string): Element {
  return { tag, vr, value: padded(text, vr === 'UI' ? '\0' : ' ') };
}

function us(tag: number, value: number): Element {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16LE(value);
  return { tag, vr: 'US', value: buffer };
}

const LONG_VRS = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'UC', 'UR']);

function encodeElement({ tag, vr, value }: Element): Buffer {
  const long = LONG_VRS.has(vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(tag >>> 16, 0);
  header.writeUInt16LE(tag & 0xffff, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(value.length, 8);
  else header.writeUInt16LE(value.length, 6);
  return Buffer.concat([header, value]);
}

function part10(sopClassUid: string, sopInstanceUid: string, dataset: Element[]): Buffer {
  const meta = [
    { tag: 0x00020001, vr: 'OB', value: Buffer.from([0, 1]) },
    str(0x00020002, 'UI', sopClassUid),
    str(0x00020003, 'UI', sopInstanceUid),
    str(0x00020010, 'UI', EXPLICIT_VR_LITTLE_ENDIAN),
    str(0x00020012, 'UI', IMPLEMENTATION_CLASS_UID),
  ].map(encodeElement);
  const metaLength = Buffer.alloc(4);
  metaLength.writeUInt32LE(meta.reduce((sum, element) => sum + element.length, 0));
  const sorted = [...dataset].sort((a, b) => a.tag - b.tag);
  return Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM', 'latin1'),
    encodeElement({ tag: 0x00020000, vr: 'UL', value: metaLength }),
    ...meta,
    ...sorted.map(encodeElement),
  ]);
}

/** xorshift32: fast deterministic noise for pixel data. */
function noise(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}

/** A disc phantom with noise, 16-bit signed, so the pixels do not compress to nothing. */
function phantomPixels(rows: number, columns: number, seed: number): Buffer {
  const pixels = Buffer.alloc(rows * columns * 2);
  const next = noise(seed);
  const radius = Math.min(rows, columns) * 0.42;
  for (let y = 0; y < rows; y++) {
    const dy = y - rows / 2;
    for (let x = 0; x < columns; x++) {
      const dx = x - columns / 2;
      const inside = dx * dx + dy * dy < radius * radius;
      const value = (inside ? 40 : -1000) + (next() & 63);
      pixels.writeInt16LE(value, (y * columns + x) * 2);
    }
  }
  return pixels;
}

interface Patient {
  id: string;
  name: string;
  birthDate: string;
  studyDate: string;
}

function imageElements(rows: number, columns: number, pixels: Buffer, signed: boolean): Element[] {
  return [
    us(0x00280002, 1),
    str(0x00280004, 'CS', 'MONOCHROME2'),
    us(0x00280010, rows),
    us(0x00280011, columns),
    us(0x00280100, 16),
    us(0x00280101, 16),
    us(0x00280102, 15),
    us(0x00280103, signed ? 1 : 0),
    { tag: 0x7fe00010, vr: 'OW', value: pixels },
  ];
}

function patientElements(patient: Patient, studyUid: string, accession: string): Element[] {
  return [
    str(0x00080020, 'DA', patient.studyDate),
    str(0x00080030, 'TM', '101500'),
    str(0x00080050, 'SH', accession),
    str(0x00080090, 'PN', 'REFERRER^BENCH'),
    str(0x00081030, 'LO', 'BENCH STUDY'),
    str(0x00100010, 'PN', patient.name),
    str(0x00100020, 'LO', patient.id),
    str(0x00100030, 'DA', patient.birthDate),
    str(0x00100040, 'CS', 'O'),
    str(0x0020000d, 'UI', studyUid),
    str(0x00200010, 'SH', '1'),
  ];
}

function ctSlice(
  patient: Patient,
  uids: { study: string; series: string; frame: string; instance: string },
  index: number,
  rows: number,
  columns: number,
  pixelSeed: number,
  description: string,
): Buffer {
  const dataset: Element[] = [
    str(0x00080016, 'UI', CT_IMAGE_STORAGE),
    str(0x00080018, 'UI', uids.instance),
    str(0x00080060, 'CS', 'CT'),
    str(0x0008103e, 'LO', description),
    ...patientElements(patient, uids.study, `ACC${pixelSeed % 1_000_000}`),
    str(0x00180050, 'DS', '1.0'),
    str(0x0020000e, 'UI', uids.series),
    str(0x00200011, 'IS', '1'),
    str(0x00200013, 'IS', String(index + 1)),
    str(0x00200032, 'DS', `-250\\-250\\${index}`),
    str(0x00200037, 'DS', '1\\0\\0\\0\\1\\0'),
    str(0x00200052, 'UI', uids.frame),
    str(0x00280030, 'DS', '0.5\\0.5'),
    str(0x00281050, 'DS', '40'),
    str(0x00281051, 'DS', '400'),
    str(0x00281052, 'DS', '-1024'),
    str(0x00281053, 'DS', '1'),
    ...imageElements(rows, columns, phantomPixels(rows, columns, pixelSeed), true),
  ];
  return part10(CT_IMAGE_STORAGE, uids.instance, dataset);
}

function benchPatient(seed: number): Patient {
  const day = 1 + (seed % 28);
  const month = 1 + (Math.floor(seed / 28) % 12);
  const year = 2015 + (Math.floor(seed / 336) % 10);
  return {
    id: `BENCH${String(seed).padStart(6, '0')}`,
    name: `FAMILY${String(seed % 5000).padStart(4, '0')}^GIVEN${seed % 97}`,
    birthDate: `19${50 + (seed % 50)}0101`,
    studyDate: `${year}${String(month).padStart(2, '0')}${String(day).padStart(2, '0')}`,
  };
}

export function* generateCtSeries(options: CtSeriesOptions): Generator<Buffer> {
  const seed = options.seed ?? 1;
  const rows = options.rows ?? 512;
  const columns = options.columns ?? 512;
  const patient = benchPatient(900_000 + seed);
  const study = uid(seed, 'study');
  const series = uid(seed, 'series');
  const frame = uid(seed, 'frame');
  for (let index = 0; index < options.slices; index++) {
    const instance = uid(seed, `instance-${index}`);
    yield ctSlice(patient, { study, series, frame, instance }, index, rows, columns, seed * 100_003 + index, options.kind);
  }
}

export function generateChestXray(options: ChestXrayOptions = {}): Buffer {
  const seed = options.seed ?? 1;
  const rows = 2800;
  const columns = 2800;
  const patient = benchPatient(800_000 + seed);
  const instance = uid(seed, 'dx-instance');
  const dataset: Element[] = [
    str(0x00080016, 'UI', DX_FOR_PRESENTATION),
    str(0x00080018, 'UI', instance),
    str(0x00080060, 'CS', 'DX'),
    str(0x00080068, 'CS', 'FOR PRESENTATION'),
    str(0x0008103e, 'LO', 'CHEST PA'),
    ...patientElements(patient, uid(seed, 'dx-study'), `DX${seed}`),
    str(0x0020000e, 'UI', uid(seed, 'dx-series')),
    str(0x00200011, 'IS', '1'),
    str(0x00200013, 'IS', '1'),
    str(0x00200020, 'CS', 'L\\F'),
    str(0x00280030, 'DS', '0.14\\0.14'),
    ...imageElements(rows, columns, phantomPixels(rows, columns, seed), false),
  ];
  return part10(DX_FOR_PRESENTATION, instance, dataset);
}

/** Many one-instance 64x64 CT studies, each for its own patient, dates spread over 2015-2024. */
export function* generateStudies(count: number, options: SmallStudiesOptions = {}): Generator<Buffer> {
  const base = options.seed ?? 1;
  for (let index = 0; index < count; index++) {
    const seed = base * 1_000_003 + index;
    const patient = benchPatient(index);
    const uids = {
      study: uid(seed, 'small-study'),
      series: uid(seed, 'small-series'),
      frame: uid(seed, 'small-frame'),
      instance: uid(seed, 'small-instance'),
    };
    yield ctSlice(patient, uids, 0, 64, 64, seed, 'ct-head');
  }
}
