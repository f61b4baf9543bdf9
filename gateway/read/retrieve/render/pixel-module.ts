import type { DicomJsonAttribute, DicomJsonDataset } from '../../../../core/dicom/parsed-instance.ts';

export type VoiLutFunction = 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';

export interface WindowSetting {
  center: number;
  width: number;
  function: VoiLutFunction;
}

/**
 * What rendering needs of an instance (Image Pixel, Modality LUT and VOI LUT modules, PS3.3 C.7.6.3, C.11.1,
 * C.11.2), read from its stored DICOM JSON metadata: the file is only read for the frame's bytes.
 */
export interface PixelModule {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  photometricInterpretation: string;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: 0 | 1;
  /** 0: R1G1B1 R2G2B2...; 1: all R, then all G, then all B (native and RLE data only). */
  planarConfiguration: 0 | 1;
  numberOfFrames: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** The instance's windows (first one is the default), from the VOI LUT module or the functional groups. */
  windows: WindowSetting[];
  /** PALETTE COLOR: the red, green and blue descriptors (entries, first value mapped, bits per entry). */
  paletteDescriptors?: [PaletteDescriptor, PaletteDescriptor, PaletteDescriptor];
}

export interface PaletteDescriptor {
  entries: number;
  firstMapped: number;
  bits: number;
}

/** Palette Color Lookup Table Data (PS3.3 C.7.6.3.1.6): one 16-bit word per entry, red, green, blue. */
export interface Palette {
  descriptors: [PaletteDescriptor, PaletteDescriptor, PaletteDescriptor];
  red: Uint16Array;
  green: Uint16Array;
  blue: Uint16Array;
}

export const PALETTE_DATA_TAGS = ['00281201', '00281202', '00281203'] as const;
const PALETTE_DESCRIPTOR_TAGS = ['00281101', '00281102', '00281103'] as const;

function paletteDescriptorsOf(dataset: DicomJsonDataset): PixelModule['paletteDescriptors'] {
  const descriptors = PALETTE_DESCRIPTOR_TAGS.map((tag) => numbers(dataset[tag]));
  if (descriptors.some((d) => d.length !== 3)) return undefined;
  // An entry count of 0 means 65536 (C.7.6.3.1.5); a first value read as signed is the same 16 bits.
  return descriptors.map(([n, first, bits]) => ({ entries: n === 0 ? 65536 : n, firstMapped: first < 0 ? first + 65536 : first, bits })) as [
    PaletteDescriptor,
    PaletteDescriptor,
    PaletteDescriptor,
  ];
}

const tags = {
  samplesPerPixel: '00280002',
  photometricInterpretation: '00280004',
  planarConfiguration: '00280006',
  numberOfFrames: '00280008',
  rows: '00280010',
  columns: '00280011',
  bitsAllocated: '00280100',
  bitsStored: '00280101',
  pixelRepresentation: '00280103',
  windowCenter: '00281050',
  windowWidth: '00281051',
  rescaleIntercept: '00281052',
  rescaleSlope: '00281053',
  voiLutFunction: '00281056',
  sharedFunctionalGroups: '52009229',
  perFrameFunctionalGroups: '52009230',
  pixelValueTransformation: '00289145',
  frameVoiLut: '00289132',
} as const;

function numbers(attribute: DicomJsonAttribute | undefined): number[] {
  return (attribute?.Value ?? []).map((v) => Number(v)).filter((v) => Number.isFinite(v));
}

function first(dataset: DicomJsonDataset, tag: string): number | undefined {
  return numbers(dataset[tag])[0];
}

function text(dataset: DicomJsonDataset, tag: string): string | undefined {
  const value = dataset[tag]?.Value?.[0];
  return typeof value === 'string' ? value.trim().toUpperCase() : undefined;
}

function item(dataset: DicomJsonDataset | undefined, tag: string, index = 0): DicomJsonDataset | undefined {
  const value = dataset?.[tag]?.Value?.[index];
  return value && typeof value === 'object' ? (value as DicomJsonDataset) : undefined;
}

export function parseVoiLutFunction(value: string | undefined): VoiLutFunction {
  return value === 'SIGMOID' ? 'SIGMOID' : value === 'LINEAR_EXACT' ? 'LINEAR_EXACT' : 'LINEAR';
}

function windowsOf(dataset: DicomJsonDataset | undefined): WindowSetting[] {
  if (!dataset) return [];
  const centers = numbers(dataset[tags.windowCenter]);
  const widths = numbers(dataset[tags.windowWidth]);
  const fn = parseVoiLutFunction(text(dataset, tags.voiLutFunction));
  const windows: WindowSetting[] = [];
  for (let i = 0; i < Math.min(centers.length, widths.length); i++) {
    if (widths[i] > 0) windows.push({ center: centers[i], width: widths[i], function: fn });
  }
  return windows;
}

/** Why an instance cannot be rendered (no pixel data, an encoding rendering does not handle), or undefined. */
export class UnrenderableInstance extends Error {}

/**
 * The pixel module of one frame (0-based): enhanced multi-frame objects carry rescale and window in their
 * functional groups, per frame or shared, instead of the top-level attributes.
 */
export function pixelModuleOf(dataset: DicomJsonDataset, frameIndex = 0): PixelModule {
  const rows = first(dataset, tags.rows);
  const columns = first(dataset, tags.columns);
  const bitsAllocated = first(dataset, tags.bitsAllocated);
  if (!rows || !columns || !bitsAllocated) {
    throw new UnrenderableInstance('it has no image (Rows, Columns or Bits Allocated is missing)');
  }
  const samplesPerPixel = first(dataset, tags.samplesPerPixel) ?? 1;
  const bitsStored = first(dataset, tags.bitsStored) ?? bitsAllocated;
  const perFrame = item(dataset, tags.perFrameFunctionalGroups, frameIndex);
  const shared = item(dataset, tags.sharedFunctionalGroups);
  const transformation =
    item(perFrame, tags.pixelValueTransformation) ?? item(shared, tags.pixelValueTransformation) ?? dataset;
  const windows = windowsOf(item(perFrame, tags.frameVoiLut) ?? item(shared, tags.frameVoiLut));
  return {
    rows,
    columns,
    samplesPerPixel,
    photometricInterpretation: text(dataset, tags.photometricInterpretation) ?? (samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2'),
    bitsAllocated,
    bitsStored: Math.min(bitsStored, bitsAllocated),
    pixelRepresentation: first(dataset, tags.pixelRepresentation) === 1 ? 1 : 0,
    planarConfiguration: first(dataset, tags.planarConfiguration) === 1 ? 1 : 0,
    numberOfFrames: Math.max(1, first(dataset, tags.numberOfFrames) ?? 1),
    rescaleSlope: first(transformation, tags.rescaleSlope) ?? 1,
    rescaleIntercept: first(transformation, tags.rescaleIntercept) ?? 0,
    windows: windows.length > 0 ? windows : windowsOf(dataset),
    paletteDescriptors: paletteDescriptorsOf(dataset),
  };
}
