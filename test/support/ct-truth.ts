/**
 * What the measuring tools must find on a CT, computed here from the file's own pixels, for the browser tests
 * (Chromium and Firefox alike): a head CT whose stored values are twice HU + 1024 (RescaleSlope 0.5,
 * RescaleIntercept -1024), so that only slope and intercept together give HU.
 */
import dcmjs from 'dcmjs';
import dicomParser from 'dicom-parser';
import { generateCtSeries, type CtSeriesOptions } from '../../test-data/generate-study.ts';

type DcmjsDict = Record<string, { vr: string; Value: unknown[] }>;

/** The same instances with some attributes changed (dcmjs, as a modality would have written them). */
export function rewrite(files: Buffer[], change: (dict: DcmjsDict) => void): Buffer[] {
  return files.map((file) => {
    const dataset = dcmjs.data.DicomMessage.readFile(file.buffer.slice(file.byteOffset, file.byteOffset + file.length) as ArrayBuffer);
    change(dataset.dict as DcmjsDict);
    return Buffer.from(dataset.write());
  });
}

/** A head CT (generateCtSeries) whose stored values are 2 × (HU + 1024), with RescaleSlope 0.5. */
export function halfSlopeHeadCt(options: Omit<CtSeriesOptions, 'kind'>): Buffer[] {
  return rewrite([...generateCtSeries({ ...options, kind: 'ct-head' })], (dict) => {
    const values = new Int16Array(dict['7FE00010'].Value[0] as ArrayBuffer);
    for (let i = 0; i < values.length; i++) values[i] *= 2;
    dict['00281053'] = { vr: 'DS', Value: [0.5] };
  });
}

export interface HuImage {
  /** HU of each pixel, row by row. */
  hu: Float64Array;
  stored: Int16Array;
  columns: number;
  rows: number;
  slope: number;
  intercept: number;
  /** PixelSpacing (0028,0030): between rows, between columns, in mm. */
  pixelSpacing: [number, number];
}

/** The slice of `files` whose SOP Instance UID is `sop`, as HU (uncompressed signed 16-bit pixels). */
export function huImageOf(files: Buffer[], sop: string): HuImage {
  const file = files.find((f) => dicomParser.parseDicom(f, { untilTag: 'x7fe00010' }).string('x00080018') === sop);
  if (!file) throw new Error(`no instance ${sop}`);
  const dataset = dicomParser.parseDicom(file);
  const columns = dataset.uint16('x00280011')!;
  const rows = dataset.uint16('x00280010')!;
  const slope = Number(dataset.string('x00281053') ?? 1);
  const intercept = Number(dataset.string('x00281052') ?? 0);
  const spacing = (dataset.string('x00280030') ?? '').split('\\').map(Number);
  const element = dataset.elements.x7fe00010;
  const stored = new Int16Array(rows * columns);
  for (let i = 0; i < stored.length; i++) stored[i] = file.readInt16LE(element.dataOffset + 2 * i);
  return {
    hu: Float64Array.from(stored, (v) => v * slope + intercept),
    stored,
    columns,
    rows,
    slope,
    intercept,
    pixelSpacing: [spacing[0], spacing[1]],
  };
}

/** Mean of the pixels whose centre (column + 0.5, row + 0.5 in image coordinates) passes `inside`. */
export function meanWhere(
  image: { hu: Float64Array; columns: number; rows: number },
  inside: (x: number, y: number) => boolean,
): { mean: number; count: number } {
  let sum = 0;
  let count = 0;
  for (let row = 0; row < image.rows; row++) {
    for (let column = 0; column < image.columns; column++) {
      if (!inside(column + 0.5, row + 0.5)) continue;
      sum += image.hu[row * image.columns + column];
      count += 1;
    }
  }
  return { mean: sum / count, count };
}

/** The mean HU inside the ellipse bounded by an elliptical ROI's handles (image coordinates), and its radii. */
export function ellipseTruth(image: HuImage, points: [number, number][]): { mean: number; count: number; rx: number; ry: number } {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [cx, cy] = [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
  const [rx, ry] = [(Math.max(...xs) - Math.min(...xs)) / 2, (Math.max(...ys) - Math.min(...ys)) / 2];
  return { ...meanWhere(image, (x, y) => ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1), rx, ry };
}

/** The mean HU inside the rectangle bounded by a rectangle ROI's handles (image coordinates), and its bounds. */
export function rectangleTruth(
  image: HuImage,
  points: [number, number][],
): { mean: number; count: number; storedMean: number; x0: number; x1: number; y0: number; y1: number } {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const inside = (x: number, y: number) => x >= x0 && x <= x1 && y >= y0 && y <= y1;
  const stored = meanWhere({ hu: Float64Array.from(image.stored), columns: image.columns, rows: image.rows }, inside);
  return { ...meanWhere(image, inside), storedMean: stored.mean, x0, x1, y0, y1 };
}

/** The angle in degrees (0–180) at the vertex B of an angle tool's handles A, B, C (image coordinates). */
export function angleOfHandles([a, b, c]: [number, number][]): number {
  const drawn = (Math.abs(Math.atan2(a[1] - b[1], a[0] - b[0]) - Math.atan2(c[1] - b[1], c[0] - b[0])) * 180) / Math.PI;
  return drawn > 180 ? 360 - drawn : drawn;
}
