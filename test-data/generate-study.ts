/**
 * Synthetic but realistic studies for tests and benchmarks: CT series (head, chest), a large chest radiograph,
 * and many tiny one-instance studies. French sites and patients (accents, local IPP with its issuer, INS in the
 * Other Patient IDs Sequence). Deterministic: the same seed gives the same bytes and UIDs.
 */
import { createHash } from 'node:crypto';
import { writePart10, type Dataset } from './part10-writer.ts';

export interface SiteProfile {
  institutionName: string;
  institutionAddress?: string;
  departmentName?: string;
  stationName: string;
  manufacturer: string;
  manufacturerModelName: string;
  /** Issuer of Patient ID (0010,0021) for this site's local identifiers (IPP). */
  issuerOfPatientID: string;
  /** Prefix of accession numbers. */
  accessionPrefix: string;
}

export interface PatientProfile {
  /** DICOM PN, e.g. 'DUPRÉ^Élodie'. */
  name: string;
  /** Local identifier (IPP) at the site. */
  id: string;
  /** YYYYMMDD */
  birthDate: string;
  sex: 'M' | 'F' | 'O';
  /** INS (matricule INS, 15 digits: NIR + key); written as an Other Patient IDs Sequence item. */
  ins?: string;
}

export const INS_ISSUER_OID = '1.2.250.1.213.1.4.8';

export const SITES: Record<'saint-girons' | 'seysses' | 'foix', SiteProfile> = {
  'saint-girons': {
    institutionName: 'CH Saint-Girons',
    institutionAddress: 'Chemin de Barrau, 09200 Saint-Girons',
    departmentName: 'Imagerie médicale',
    stationName: 'CHSG-CT01',
    manufacturer: 'GE MEDICAL SYSTEMS',
    manufacturerModelName: 'Revolution EVO',
    issuerOfPatientID: 'CHSG',
    accessionPrefix: 'SG',
  },
  seysses: {
    institutionName: "Maison d'arrêt de Seysses - UCSA",
    institutionAddress: 'Route de Muret, 31600 Seysses',
    departmentName: 'UCSA - Radiologie',
    stationName: 'UCSA-DX01',
    manufacturer: 'Carestream Health',
    manufacturerModelName: 'DRX-Evolution Plus',
    issuerOfPatientID: 'UCSA-SEYSSES',
    accessionPrefix: 'SY',
  },
  foix: {
    institutionName: 'CHIVA - Centre Hospitalier du Val d’Ariège',
    institutionAddress: 'Chemin de Barrau, 09000 Foix',
    departmentName: 'Service d’imagerie',
    stationName: 'CHIVA-CT02',
    manufacturer: 'SIEMENS',
    manufacturerModelName: 'SOMATOM go.Up',
    issuerOfPatientID: 'CHIVA',
    accessionPrefix: 'FX',
  },
};

export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
export const DX_FOR_PRESENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.1.1';
export const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';
export const CR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.1';
export const US_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.6.1';
export const MG_FOR_PRESENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.1.2';

type Seed = string | number;

export interface CtSeriesOptions {
  kind: 'ct-head' | 'ct-chest';
  slices: number;
  rows?: number;
  columns?: number;
  seed?: Seed;
  site?: SiteProfile;
  patient?: PatientProfile;
  studyInstanceUID?: string;
}

export interface ChestXrayOptions {
  seed?: Seed;
  rows?: number;
  columns?: number;
  site?: SiteProfile;
  patient?: PatientProfile;
  studyInstanceUID?: string;
}

export interface SmallStudiesOptions {
  seed?: Seed;
  /** Image size (square), default 16. */
  size?: number;
  /** One site for all studies (default: they rotate over SITES). */
  site?: SiteProfile;
}

// ---------------------------------------------------------------------------------------------------------------
// Deterministic identifiers

/** A UID under 2.25 (PS3.5 B.2) derived from the seed and a label: stable across runs, unique across labels. */
export function deterministicUid(seed: Seed, label: string): string {
  const digest = createHash('sha256').update(`${seed}\u0000${label}`).digest();
  return `2.25.${BigInt(`0x${digest.subarray(0, 15).toString('hex')}`).toString(10)}`;
}

/** A small deterministic pseudo-random generator (mulberry32) seeded from a string. */
export function random(seed: Seed, label = ''): () => number {
  let state = createHash('sha256').update(`${seed}\u0000${label}`).digest().readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FAMILY_NAMES = [
  'DUPRÉ', 'LEFÈVRE', 'GARÇON', 'MARTIN', 'BERNARD', 'FAURÉ', 'CAZENAVE', 'ESPÉRANCE', 'D’ARTAGNAN', 'NOËL',
  'ROUSSEL', 'MÉRIC', 'LAFFONT', 'PUJOL', 'SÉGUIER', 'BÉDAT', 'CASTÈRES', 'AUDOUY', 'GALY', 'SOUM',
];
const GIVEN_NAMES_F = ['Élodie', 'Maëlle', 'Hélène', 'Chloé', 'Inès', 'Zoé', 'Anaïs', 'Françoise', 'Léa', 'Mélanie'];
const GIVEN_NAMES_M = ['Jérôme', 'François', 'Noël', 'Loïc', 'Raphaël', 'André', 'Benoît', 'Gaëtan', 'Théo', 'Cédric'];

/** The INS of a patient: a NIR-like 13-digit number and its key (97 - NIR mod 97), 15 digits in all. */
export function insFor(sex: 'M' | 'F' | 'O', birthDate: string, serial: number): string {
  const nir = `${sex === 'F' ? 2 : 1}${birthDate.slice(2, 4)}${birthDate.slice(4, 6)}09${String(100 + (serial % 900)).padStart(3, '0')}${String(serial % 1000).padStart(3, '0')}`;
  const key = 97 - Number(BigInt(nir) % 97n);
  return `${nir}${String(key).padStart(2, '0')}`;
}

/** A deterministic patient for a seed (accents in the names, local IPP, INS). */
export function patientFor(seed: Seed, index = 0): PatientProfile {
  const rnd = random(seed, `patient-${index}`);
  const sex = rnd() < 0.5 ? 'F' : 'M';
  const given = sex === 'F' ? GIVEN_NAMES_F : GIVEN_NAMES_M;
  const family = FAMILY_NAMES[Math.floor(rnd() * FAMILY_NAMES.length)];
  const year = 1935 + Math.floor(rnd() * 70);
  const month = 1 + Math.floor(rnd() * 12);
  const day = 1 + Math.floor(rnd() * 28);
  const birthDate = `${year}${pad2(month)}${pad2(day)}`;
  const serial = Math.floor(rnd() * 1_000_000);
  return {
    name: `${family}^${given[Math.floor(rnd() * given.length)]}`,
    id: `IPP${String(serial).padStart(7, '0')}`,
    birthDate,
    sex,
    ins: insFor(sex, birthDate, serial),
  };
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function accessionNumber(site: SiteProfile, seed: Seed, label: string): string {
  const digits = BigInt(`0x${createHash('sha256').update(`${seed}\u0000${label}`).digest().subarray(0, 6).toString('hex')}`);
  return `${site.accessionPrefix}${(digits % 10_000_000_000n).toString().padStart(10, '0')}`;
}

/** A study date and time in 2015-2024 derived from the seed. */
function studyDateTime(seed: Seed, label: string): { date: string; time: string } {
  const rnd = random(seed, `${label}-date`);
  const day = new Date(Date.UTC(2015, 0, 1) + Math.floor(rnd() * 3652) * 86_400_000);
  const date = `${day.getUTCFullYear()}${pad2(day.getUTCMonth() + 1)}${pad2(day.getUTCDate())}`;
  const minutes = Math.floor(rnd() * 24 * 60);
  return { date, time: `${pad2(Math.floor(minutes / 60))}${pad2(minutes % 60)}${pad2(Math.floor(rnd() * 60))}` };
}

function ageAt(birthDate: string, date: string): string {
  const years = Number(date.slice(0, 4)) - Number(birthDate.slice(0, 4)) - (date.slice(4) < birthDate.slice(4) ? 1 : 0);
  return `${String(Math.max(0, years)).padStart(3, '0')}Y`;
}

// ---------------------------------------------------------------------------------------------------------------
// Common modules

function patientModule(patient: PatientProfile, site: SiteProfile, studyDate: string): Dataset {
  return {
    SpecificCharacterSet: 'ISO_IR 192',
    PatientName: patient.name,
    PatientID: patient.id,
    IssuerOfPatientID: site.issuerOfPatientID,
    TypeOfPatientID: 'TEXT',
    PatientBirthDate: patient.birthDate,
    PatientSex: patient.sex,
    PatientAge: ageAt(patient.birthDate, studyDate),
    OtherPatientIDsSequence: patient.ins
      ? [{ PatientID: patient.ins, IssuerOfPatientID: INS_ISSUER_OID, TypeOfPatientID: 'TEXT' }]
      : undefined,
  };
}

function equipmentModule(site: SiteProfile): Dataset {
  return {
    Manufacturer: site.manufacturer,
    InstitutionName: site.institutionName,
    InstitutionAddress: site.institutionAddress,
    InstitutionalDepartmentName: site.departmentName,
    StationName: site.stationName,
    ManufacturerModelName: site.manufacturerModelName,
    SoftwareVersions: 'astreinte-test-data 1.0',
  };
}

// ---------------------------------------------------------------------------------------------------------------
// CT

const CT_KINDS = {
  'ct-head': {
    studyDescription: 'TDM CEREBRALE SANS INJECTION',
    seriesDescription: 'CEREBRAL STANDARD 5 mm',
    protocolName: 'CRANE SANS IV',
    bodyPart: 'HEAD',
    sliceThickness: 5,
    fieldOfView: 230,
    kernel: 'H30s',
    window: { center: [40, 600], width: [80, 2800] },
    firstSliceZ: -60,
  },
  'ct-chest': {
    studyDescription: 'TDM THORACIQUE AVEC INJECTION',
    seriesDescription: 'THORAX IV 1.25 mm',
    protocolName: 'THORAX IV',
    bodyPart: 'CHEST',
    sliceThickness: 1.25,
    fieldOfView: 380,
    kernel: 'B40f',
    window: { center: [40, -600], width: [400, 1500] },
    firstSliceZ: -350,
  },
} as const;

/**
 * One CT series, one Part 10 Explicit VR Little Endian instance at a time (the series is never held in memory).
 * Pixel data: 16-bit signed, a phantom (skull and brain, or body, lungs, heart and spine) with noise.
 */
export function* generateCtSeries(options: CtSeriesOptions): Generator<Buffer> {
  const seed = options.seed ?? 'ct';
  const kind = CT_KINDS[options.kind];
  const rows = options.rows ?? 512;
  const columns = options.columns ?? 512;
  const site = options.site ?? SITES['saint-girons'];
  const patient = options.patient ?? patientFor(seed);
  const studyUid = options.studyInstanceUID ?? deterministicUid(seed, `${options.kind}-study`);
  const seriesUid = deterministicUid(seed, `${options.kind}-series`);
  const frameOfReferenceUid = deterministicUid(seed, `${options.kind}-frame-of-reference`);
  const { date, time } = studyDateTime(seed, options.kind);
  const pixelSpacing = kind.fieldOfView / columns;

  const common: Dataset = {
    ...patientModule(patient, site, date),
    ...equipmentModule(site),
    ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
    SOPClassUID: CT_IMAGE_STORAGE,
    StudyDate: date,
    SeriesDate: date,
    AcquisitionDate: date,
    ContentDate: date,
    StudyTime: time,
    SeriesTime: time,
    AccessionNumber: accessionNumber(site, seed, options.kind),
    Modality: 'CT',
    ReferringPhysicianName: 'MARTIN^Paul^^Dr',
    StudyDescription: kind.studyDescription,
    SeriesDescription: kind.seriesDescription,
    BodyPartExamined: kind.bodyPart,
    ProtocolName: kind.protocolName,
    SliceThickness: kind.sliceThickness,
    KVP: 120,
    DataCollectionDiameter: 500,
    ReconstructionDiameter: kind.fieldOfView,
    GantryDetectorTilt: 0,
    TableHeight: 150,
    RotationDirection: 'CW',
    XRayTubeCurrent: options.kind === 'ct-head' ? 300 : 180,
    ExposureTime: 1000,
    ConvolutionKernel: kind.kernel,
    PatientPosition: 'HFS',
    StudyInstanceUID: studyUid,
    SeriesInstanceUID: seriesUid,
    StudyID: accessionNumber(site, seed, options.kind).slice(-8),
    SeriesNumber: 2,
    FrameOfReferenceUID: frameOfReferenceUid,
    PositionReferenceIndicator: null,
    ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: rows,
    Columns: columns,
    PixelSpacing: [round(pixelSpacing, 6), round(pixelSpacing, 6)],
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: 1,
    WindowCenter: [...kind.window.center],
    WindowWidth: [...kind.window.width],
    RescaleIntercept: -1024,
    RescaleSlope: 1,
    RescaleType: 'HU',
  };
  const x0 = -(columns / 2) * pixelSpacing;
  for (let index = 0; index < options.slices; index++) {
    const z = round(kind.firstSliceZ + index * kind.sliceThickness, 3);
    const pixels = ctPhantom(options.kind, rows, columns, index / Math.max(1, options.slices - 1), random(seed, `slice-${index}`));
    const instanceTime = addSeconds(time, index);
    yield writePart10({
      ...common,
      SOPInstanceUID: deterministicUid(seed, `${options.kind}-instance-${index}`),
      AcquisitionTime: instanceTime,
      ContentTime: instanceTime,
      InstanceNumber: index + 1,
      ImagePositionPatient: [round(x0, 3), round(x0, 3), z],
      SliceLocation: z,
      PixelData: { vr: 'OW', value: pixels },
    });
  }
}

function round(n: number, digits: number): number {
  return Number(n.toFixed(digits));
}

function addSeconds(time: string, seconds: number): string {
  const total = (Number(time.slice(0, 2)) * 3600 + Number(time.slice(2, 4)) * 60 + Number(time.slice(4, 6)) + seconds) % 86_400;
  return `${pad2(Math.floor(total / 3600))}${pad2(Math.floor(total / 60) % 60)}${pad2(total % 60)}`;
}

/** Stored values (HU + 1024) of one slice; `t` in [0,1] is the position in the series. */
function ctPhantom(kind: 'ct-head' | 'ct-chest', rows: number, columns: number, t: number, rnd: () => number): Buffer {
  const out = new Int16Array(rows * columns);
  const cx = columns / 2;
  const cy = rows / 2;
  const outside = -3024; // outside the reconstruction circle, as many scanners write
  // Noise from a small table (fast and deterministic).
  const noise = new Int16Array(4096);
  for (let i = 0; i < noise.length; i++) noise[i] = Math.round((rnd() + rnd() + rnd() - 1.5) * 12);
  const head = kind === 'ct-head';
  const scale = Math.sin(Math.PI * (0.1 + 0.8 * t)); // the section grows then shrinks along the series
  const ax = columns * (head ? 0.36 : 0.44) * (head ? 0.6 + 0.4 * scale : 1);
  const ay = rows * (head ? 0.43 : 0.3) * (head ? 0.6 + 0.4 * scale : 1);
  let n = Math.floor(rnd() * noise.length);
  for (let y = 0; y < rows; y++) {
    const dy = (y - cy) / ay;
    const ry = (y - cy) / (rows / 2);
    for (let x = 0; x < columns; x++) {
      const dx = (x - cx) / ax;
      const rx = (x - cx) / (columns / 2);
      let hu: number;
      if (rx * rx + ry * ry > 1) hu = outside;
      else {
        const r = dx * dx + dy * dy;
        hu = r > 1 ? -1000 : head ? headTissue(r) : chestTissue(x, y, cx, cy, columns, rows, r);
        n = (n + 1) & 4095;
        hu += noise[n];
      }
      out[y * columns + x] = hu + 1024;
    }
  }
  return littleEndianBytes(out);
}

/** The bytes of a typed array, little endian whatever the platform. */
function littleEndianBytes(values: Int16Array | Uint16Array): Buffer {
  const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 0) bytes.swap16();
  return bytes;
}

function headTissue(r: number): number {
  if (r > 0.88) return 60; // scalp
  if (r > 0.78) return 1200; // skull
  if (r > 0.74) return 8; // CSF
  return r < 0.05 ? 10 : 35; // ventricles, brain
}

function chestTissue(x: number, y: number, cx: number, cy: number, columns: number, rows: number, r: number): number {
  if (r > 0.85) return -90; // subcutaneous fat
  const u = (x - cx) / columns;
  const v = (y - cy) / rows;
  if (Math.hypot(u, v - 0.2) < 0.035) return 700; // spine
  if (Math.hypot(u + 0.03, v + 0.02) < 0.08) return 45; // heart
  if (Math.abs(u) > 0.07 && Math.abs(u) < 0.33 && Math.abs(v) < 0.2) return -820; // lungs
  return 40; // muscle, mediastinum
}

// ---------------------------------------------------------------------------------------------------------------
// Chest radiograph

/** A PA chest radiograph (DX, For Presentation), 2500x3000 16-bit by default (about 15 MB). */
export function generateChestXray(options: ChestXrayOptions = {}): Buffer {
  const seed = options.seed ?? 'dx';
  const rows = options.rows ?? 3000;
  const columns = options.columns ?? 2500;
  const site = options.site ?? SITES.seysses;
  const patient = options.patient ?? patientFor(seed);
  const { date, time } = studyDateTime(seed, 'dx');
  const spacing = round(430 / columns, 4);
  return writePart10({
    ...patientModule(patient, site, date),
    ...equipmentModule(site),
    ImageType: ['ORIGINAL', 'PRIMARY'],
    SOPClassUID: DX_FOR_PRESENTATION_STORAGE,
    SOPInstanceUID: deterministicUid(seed, 'dx-instance'),
    StudyDate: date,
    SeriesDate: date,
    ContentDate: date,
    AcquisitionDateTime: `${date}${time}`,
    StudyTime: time,
    SeriesTime: time,
    ContentTime: time,
    AccessionNumber: accessionNumber(site, seed, 'dx'),
    Modality: 'DX',
    PresentationIntentType: 'FOR PRESENTATION',
    ReferringPhysicianName: 'BERTRAND^Claire^^Dr',
    StudyDescription: 'RADIOGRAPHIE THORAX',
    SeriesDescription: 'THORAX FACE',
    BodyPartExamined: 'CHEST',
    ViewPosition: 'PA',
    KVP: 125,
    ExposureTime: 8,
    XRayTubeCurrent: 320,
    Exposure: 3,
    DistanceSourceToDetector: 1800,
    ImagerPixelSpacing: [spacing, spacing],
    DetectorType: 'SCINTILLATOR',
    PatientOrientation: ['L', 'F'],
    StudyInstanceUID: options.studyInstanceUID ?? deterministicUid(seed, 'dx-study'),
    SeriesInstanceUID: deterministicUid(seed, 'dx-series'),
    StudyID: accessionNumber(site, seed, 'dx').slice(-8),
    SeriesNumber: 1,
    InstanceNumber: 1,
    BurnedInAnnotation: 'NO',
    LossyImageCompression: '00',
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: rows,
    Columns: columns,
    PixelSpacing: [spacing, spacing],
    PixelSpacingCalibrationType: 'GEOMETRY',
    BitsAllocated: 16,
    BitsStored: 14,
    HighBit: 13,
    PixelRepresentation: 0,
    WindowCenter: 8192,
    WindowWidth: 12000,
    RescaleIntercept: 0,
    RescaleSlope: 1,
    RescaleType: 'US',
    PresentationLUTShape: 'IDENTITY',
    PixelData: { vr: 'OW', value: chestRadiograph(rows, columns, random(seed, 'dx-pixels')) },
  });
}

function chestRadiograph(rows: number, columns: number, rnd: () => number): Buffer {
  const out = new Uint16Array(rows * columns);
  const noise = new Int16Array(8192);
  for (let i = 0; i < noise.length; i++) noise[i] = Math.round((rnd() + rnd() - 1) * 150);
  let n = Math.floor(rnd() * noise.length);
  for (let y = 0; y < rows; y++) {
    const v = y / rows;
    for (let x = 0; x < columns; x++) {
      const u = x / columns - 0.5;
      let value: number;
      const lungU = (Math.abs(u) - 0.18) / 0.13;
      const lungV = (v - 0.45) / 0.3;
      const heartU = (u - 0.07) / 0.13;
      const heartV = (v - 0.62) / 0.12;
      if (Math.abs(u) > 0.42 - 0.05 * v) value = 1200; // air beside the body
      else if (heartU * heartU + heartV * heartV < 1) value = 9500; // heart (patient's left, image right)
      else if (lungU * lungU + lungV * lungV < 1 && v < 0.72) {
        const rib = Math.sin((v * 22 + Math.abs(u) * 3) * Math.PI) > 0.8 ? 2200 : 0;
        value = 3200 + rib; // lungs, ribs
      } else if (Math.abs(u) < 0.05) value = 11500 - 1500 * v; // spine, mediastinum
      else value = 8500 + 1000 * v; // soft tissue, diaphragm
      n = (n + 1) & 8191;
      out[y * columns + x] = Math.max(0, Math.min(16383, value + noise[n]));
    }
  }
  return littleEndianBytes(out);
}

// ---------------------------------------------------------------------------------------------------------------
// Many small studies

const SMALL_MODALITIES = [
  { modality: 'CT', sopClass: CT_IMAGE_STORAGE, description: 'TDM CEREBRALE SANS INJECTION', bodyPart: 'HEAD' },
  { modality: 'CT', sopClass: CT_IMAGE_STORAGE, description: 'TDM THORACO-ABDOMINO-PELVIENNE', bodyPart: 'CHEST' },
  { modality: 'DX', sopClass: DX_FOR_PRESENTATION_STORAGE, description: 'RADIOGRAPHIE THORAX', bodyPart: 'CHEST' },
  { modality: 'CR', sopClass: CR_IMAGE_STORAGE, description: 'RADIOGRAPHIE DU BASSIN', bodyPart: 'PELVIS' },
  { modality: 'MR', sopClass: MR_IMAGE_STORAGE, description: 'IRM DU GENOU DROIT', bodyPart: 'KNEE' },
  { modality: 'US', sopClass: US_IMAGE_STORAGE, description: 'ÉCHOGRAPHIE ABDOMINALE', bodyPart: 'ABDOMEN' },
  { modality: 'MG', sopClass: MG_FOR_PRESENTATION_STORAGE, description: 'MAMMOGRAPHIE BILATÉRALE', bodyPart: 'BREAST' },
] as const;

/**
 * `count` one-instance studies (tiny 16x16 images by default), for growing an index quickly: patients (about one
 * for two studies), dates over 2015-2024, modalities and sites vary. Yields one Part 10 file at a time.
 */
export function* generateStudies(count: number, options: SmallStudiesOptions = {}): Generator<Buffer> {
  const seed = options.seed ?? 'studies';
  const size = options.size ?? 16;
  const sites = options.site ? [options.site] : Object.values(SITES);
  const pixels = Buffer.alloc(size * size * 2);
  for (let i = 0; i < size * size; i++) pixels.writeUInt16LE((i * 37) % 4096, i * 2);
  for (let index = 0; index < count; index++) {
    const label = `small-${index}`;
    const patientIndex = Math.floor(index / 2); // two studies per patient (a prior and a current)
    const patient = patientFor(seed, patientIndex);
    const site = sites[patientIndex % sites.length];
    const kind = SMALL_MODALITIES[index % SMALL_MODALITIES.length];
    const { date, time } = studyDateTime(seed, label);
    yield writePart10({
      ...patientModule(patient, site, date),
      ...equipmentModule(site),
      SOPClassUID: kind.sopClass,
      SOPInstanceUID: deterministicUid(seed, `${label}-instance`),
      StudyDate: date,
      StudyTime: time,
      SeriesDate: date,
      SeriesTime: time,
      AccessionNumber: accessionNumber(site, seed, label),
      Modality: kind.modality,
      PresentationIntentType: kind.modality === 'DX' || kind.modality === 'MG' ? 'FOR PRESENTATION' : undefined,
      ReferringPhysicianName: 'MARTIN^Paul^^Dr',
      StudyDescription: kind.description,
      SeriesDescription: kind.description,
      BodyPartExamined: kind.bodyPart,
      StudyInstanceUID: deterministicUid(seed, `${label}-study`),
      SeriesInstanceUID: deterministicUid(seed, `${label}-series`),
      StudyID: String(index + 1),
      SeriesNumber: 1,
      InstanceNumber: 1,
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: size,
      Columns: size,
      BitsAllocated: 16,
      BitsStored: 12,
      HighBit: 11,
      PixelRepresentation: 0,
      PixelData: { vr: 'OW', value: pixels },
    });
  }
}
