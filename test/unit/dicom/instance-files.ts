/** Helpers for the DICOM reader tests: crafted instances written to a temporary directory. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DicomInstanceError } from '../../../core/dicom/dicom-status.ts';
import type { ParsedInstance } from '../../../core/dicom/parsed-instance.ts';
import { readInstanceFile, type ReadInstanceOptions } from '../../../core/dicom/read-instance-file.ts';
import { writePart10, type Dataset, type WriteOptions } from '../../../test-data/part10-writer.ts';

export const STUDY = '1.2.826.0.1.3680043.10.1500.9.1';
export const SERIES = '1.2.826.0.1.3680043.10.1500.9.1.1';
export const INSTANCE = '1.2.826.0.1.3680043.10.1500.9.1.1.1';
export const SC_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.7';

/** A minimal valid secondary capture: 4x4, 16-bit, one frame. */
export function baseDataset(overrides: Dataset = {}): Dataset {
  return {
    SOPClassUID: SC_IMAGE_STORAGE,
    SOPInstanceUID: INSTANCE,
    StudyInstanceUID: STUDY,
    SeriesInstanceUID: SERIES,
    Modality: 'OT',
    PatientName: 'TEST^Patient',
    PatientID: 'P1',
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: 4,
    Columns: 4,
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: 0,
    PixelData: { vr: 'OW', value: Buffer.from(Array.from({ length: 32 }, (_, i) => i)) },
    ...overrides,
  };
}

export class TempFiles {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'astreinte-dicom-test-'));
  private count = 0;

  write(bytes: Buffer, name = `f${++this.count}.dcm`): string {
    const file = path.join(this.dir, name);
    writeFileSync(file, bytes);
    return file;
  }

  instance(dataset: Dataset, options?: WriteOptions): string {
    return this.write(writePart10(dataset, options));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Parses, or returns the DicomInstanceError; any other exception fails the test. */
export async function parseOrRefusal(file: string, options?: ReadInstanceOptions): Promise<ParsedInstance | DicomInstanceError> {
  try {
    return await readInstanceFile(file, options);
  } catch (error) {
    if (error instanceof DicomInstanceError) return error;
    throw error;
  }
}

export async function refusal(file: string, options?: ReadInstanceOptions): Promise<DicomInstanceError> {
  const result = await parseOrRefusal(file, options);
  if (!(result instanceof DicomInstanceError)) throw new Error(`expected a refusal of ${path.basename(file)}, it parsed`);
  return result;
}

/** Replaces the first occurrence of `from` (same length) in `bytes`. */
export function patch(bytes: Buffer, from: string | Buffer, to: string | Buffer): Buffer {
  const a = typeof from === 'string' ? Buffer.from(from, 'latin1') : from;
  const b = typeof to === 'string' ? Buffer.from(to, 'latin1') : to;
  if (a.length !== b.length) throw new Error('patch must keep the length');
  const at = bytes.indexOf(a);
  if (at < 0) throw new Error(`patch: ${a.toString('latin1')} not found`);
  const copy = Buffer.from(bytes);
  b.copy(copy, at);
  return copy;
}
