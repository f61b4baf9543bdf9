/**
 * readInstanceFile on real files: ../shared/dicom-samples (exact expectations) and the pydicom test files
 * (every file parses or is refused with a DicomInstanceError). Frame spans are checked against an independent
 * parser (dicom-parser) and the metadata against dcmjs.
 */
import { inflateRawSync } from 'node:zlib';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import dcmjs from 'dcmjs';
import dicomParser from 'dicom-parser';
import { describe, expect, it } from 'vitest';
import { DicomInstanceError, FailureReason } from '../../core/dicom/dicom-status.ts';
import type { FileSpan, ParsedInstance } from '../../core/dicom/parsed-instance.ts';
import { readInstanceFile } from '../../core/dicom/read-instance-file.ts';
import { DICOM_SAMPLES } from '../support/shared-samples.ts';

const SAMPLES = DICOM_SAMPLES;
const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

const sample = (name: string) => path.join(SAMPLES, name);

function concat(file: Buffer, spans: FileSpan[]): Buffer {
  return Buffer.concat(spans.map((s) => file.subarray(s.offset, s.offset + s.length)));
}

async function refusal(file: string): Promise<DicomInstanceError> {
  const error = await readInstanceFile(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DicomInstanceError);
  return error as DicomInstanceError;
}

/** Frames must be exactly the pixel bytes dicom-parser finds. */
function checkFramesAgainstDicomParser(file: string, parsed: ParsedInstance): void {
  const bytes = readFileSync(file);
  // dicom-parser inflates a deflated data set itself (with Node's zlib, which needs a Buffer): its positions are then
  // in the inflated stream, as ours are.
  const deflated = parsed.transferSyntaxUID === '1.2.840.10008.1.2.1.99';
  const dataSet = dicomParser.parseDicom(deflated ? bytes : new Uint8Array(bytes));
  const pixelData = dataSet.elements.x7fe00010;
  if (!pixelData) {
    expect(parsed.frames).toEqual([]);
    return;
  }
  if (pixelData.encapsulatedPixelData) {
    const fragments = pixelData.fragments ?? [];
    const ours = parsed.frames.flat();
    expect(ours.map((s) => [s.offset, s.length])).toEqual(fragments.map((f) => [f.position, f.length]));
    let first = 0;
    for (const frame of parsed.frames) {
      const theirs = dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, pixelData, first, frame.length, fragments);
      expect(concat(bytes, frame).equals(Buffer.from(theirs))).toBe(true);
      first += frame.length;
    }
  } else {
    const frameLength = parsed.frames[0][0].length;
    expect(parsed.frames[0][0].offset).toBe(pixelData.dataOffset);
    parsed.frames.forEach((frame, i) => {
      expect(frame).toEqual([{ offset: pixelData.dataOffset + i * frameLength, length: frameLength }]);
    });
    expect(parsed.frames.length * frameLength).toBeLessThanOrEqual(pixelData.length);
  }
}

describe('readInstanceFile on shared/dicom-samples', () => {
  it('CT_small.dcm: one 128x128x16-bit frame, exactly the Pixel Data value', async () => {
    const parsed = await readInstanceFile(sample('CT_small.dcm'));
    expect(parsed.transferSyntaxUID).toBe('1.2.840.10008.1.2.1');
    expect(parsed.sopClassUID).toBe('1.2.840.10008.5.1.4.1.1.2');
    expect(parsed.sopInstanceUID).toBe('1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322');
    expect(parsed.studyInstanceUID).toBe('1.3.6.1.4.1.5962.1.2.1.20040119072730.12322');
    expect(parsed.seriesInstanceUID).toBe('1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322');
    expect(parsed.instance).toEqual({ number: 1, rows: 128, columns: 128, numberOfFrames: 1 });
    expect(parsed.frames).toHaveLength(1);
    expect(parsed.frames[0]).toHaveLength(1);
    expect(parsed.frames[0][0].length).toBe(128 * 128 * 2);
    const bytes = readFileSync(sample('CT_small.dcm'));
    const dataSet = dicomParser.parseDicom(new Uint8Array(bytes));
    expect(parsed.frames[0][0].offset).toBe(dataSet.elements.x7fe00010.dataOffset);
    expect(parsed.patient).toMatchObject({
      id: '1CT1',
      name: 'CompressedSamples^CT1',
      sex: 'O',
      otherIds: [{ id: 'ABCD1234' }, { id: '1234ABCD' }],
    });
    expect(parsed.study).toMatchObject({ date: '20040119', time: '072730', accessionNumber: undefined, studyId: '1CT1' });
    expect(parsed.series).toMatchObject({ modality: 'CT', number: 1 });
    const pixelBulk = parsed.bulkData.find((b) => b.path === '7FE00010');
    expect(pixelBulk).toEqual({ path: '7FE00010', vr: 'OW', span: parsed.frames[0][0] });
    expect(parsed.metadata['7FE00010']).toEqual({
      vr: 'OW',
      BulkDataURI:
        '@@DICOMWEB_ROOT@@/studies/1.3.6.1.4.1.5962.1.2.1.20040119072730.12322/series/1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322' +
        '/instances/1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322/bulkdata/7FE00010',
    });
    // A private OB value over 1 KiB is served by reference too.
    expect(parsed.bulkData.map((b) => b.path)).toContain('00431029');
    // DICOM JSON value types.
    expect(parsed.metadata['00280030']).toEqual({ vr: 'DS', Value: [0.661468, 0.661468] });
    expect(parsed.metadata['00200013']).toEqual({ vr: 'IS', Value: [1] });
    expect(parsed.metadata['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'CompressedSamples^CT1' }] });
    expect(parsed.metadata['00280010']).toEqual({ vr: 'US', Value: [128] });
    expect(parsed.metadata['00271041']).toEqual({ vr: 'FL', Value: [-77.20406] });
    expect(parsed.metadata['00080050']).toEqual({ vr: 'SH' });
    expect(parsed.metadata['00020010']).toBeUndefined();
  });

  it('MR_small in five transfer syntaxes: same instance, frames where dicom-parser finds them', async () => {
    const variants = {
      'MR_small.dcm': '1.2.840.10008.1.2.1',
      'MR_small_implicit.dcm': '1.2.840.10008.1.2',
      'MR_small_bigendian.dcm': '1.2.840.10008.1.2.2',
      'MR_small_RLE.dcm': '1.2.840.10008.1.2.5',
      'MR_small_jp2klossless.dcm': '1.2.840.10008.1.2.4.90',
      'MR_small_jpeg_ls_lossless.dcm': '1.2.840.10008.1.2.4.80',
    };
    const reference = await readInstanceFile(sample('MR_small.dcm'));
    for (const [name, ts] of Object.entries(variants)) {
      const parsed = await readInstanceFile(sample(name));
      expect(parsed.transferSyntaxUID, name).toBe(ts);
      expect(parsed.sopInstanceUID, name).toBe(reference.sopInstanceUID);
      expect(parsed.instance, name).toEqual({ number: 1, rows: 64, columns: 64, numberOfFrames: 1 });
      expect(parsed.patient.name, name).toBe('CompressedSamples^MR1');
      expect(parsed.frames, name).toHaveLength(1);
      if (ts === '1.2.840.10008.1.2.2') {
        expect(parsed.frames[0]).toEqual([{ offset: parsed.frames[0][0].offset, length: 8192 }]);
        // Big endian file: numeric values are decoded, not byte-swapped garbage.
        expect(parsed.metadata['00280010']).toEqual({ vr: 'US', Value: [64] });
      } else {
        checkFramesAgainstDicomParser(sample(name), parsed);
      }
    }
    // Native variants carry the same pixel values (big endian swapped).
    const le = concat(readFileSync(sample('MR_small.dcm')), reference.frames[0]);
    const beParsed = await readInstanceFile(sample('MR_small_bigendian.dcm'));
    const be = Buffer.from(concat(readFileSync(sample('MR_small_bigendian.dcm')), beParsed.frames[0])).swap16();
    expect(be.equals(le)).toBe(true);
    const implicitParsed = await readInstanceFile(sample('MR_small_implicit.dcm'));
    expect(concat(readFileSync(sample('MR_small_implicit.dcm')), implicitParsed.frames[0]).equals(le)).toBe(true);
    expect(implicitParsed.metadata['7FE00010'].vr).toBe('OW');
  });

  it('compressed samples: fragment spans are the encapsulated fragments', async () => {
    for (const name of ['JPEG-lossy.dcm', 'JPGExtended.dcm', 'JPEG2000.dcm', 'SC_rgb_jpeg_dcmtk.dcm', 'SC_rgb_rle.dcm']) {
      const parsed = await readInstanceFile(sample(name));
      expect(parsed.frames, name).toHaveLength(1);
      checkFramesAgainstDicomParser(sample(name), parsed);
      const bytes = readFileSync(sample(name));
      const first = bytes.subarray(parsed.frames[0][0].offset, parsed.frames[0][0].offset + 4);
      if (name.includes('rle')) expect(first.readUInt32LE(0), name).toBe(3); // RGB: 3 RLE segments
      else if (name.includes('2000')) expect([...first.subarray(0, 2)], name).toEqual([0xff, 0x4f]); // J2K SOC
      else expect([...first.subarray(0, 2)], name).toEqual([0xff, 0xd8]); // JPEG SOI
      expect(parsed.metadata['7FE00010'].vr).toBe('OB');
      const bulk = parsed.bulkData.find((b) => b.path === '7FE00010');
      expect(bulk?.span.offset).toBeLessThan(parsed.frames[0][0].offset);
    }
  });

  it('JPEG-lossy.dcm and JPGExtended.dcm share a SOP Instance UID with different bytes', async () => {
    const a = await readInstanceFile(sample('JPEG-lossy.dcm'));
    const b = await readInstanceFile(sample('JPGExtended.dcm'));
    expect(a.sopInstanceUID).toBe(b.sopInstanceUID);
    expect(readFileSync(sample('JPEG-lossy.dcm')).equals(readFileSync(sample('JPGExtended.dcm')))).toBe(false);
  });

  it('chrFren.dcm / chrFrenMulti.dcm: ISO_IR 100 names decoded to Unicode, metadata declared UTF-8', async () => {
    const single = await readInstanceFile(sample('chrFren.dcm'));
    expect(single.specificCharacterSet).toBe('ISO_IR 100');
    expect(single.patient.name).toBe('Buc^Jérôme');
    expect(single.metadata['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'Buc^Jérôme' }] });
    expect(single.metadata['00080005']).toEqual({ vr: 'CS', Value: ['ISO_IR 192'] });
    // '^^^^' is an empty name: no value.
    expect(single.metadata['00080090']).toEqual({ vr: 'PN' });

    const multi = await readInstanceFile(sample('chrFrenMulti.dcm'));
    expect(multi.sopInstanceUID).toBe(single.sopInstanceUID);
    expect(multi.metadata['00101001']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'Buc^Jérôme' }, { Alphabetic: 'Buc^Jérôme' }] });
    expect(multi.metadata['00101000']).toEqual({ vr: 'LO', Value: ['eggs', 'spam'] });
    expect(JSON.parse(JSON.stringify(multi.metadata))).toEqual(multi.metadata);
  });

  it('test-SR.dcm: no pixel data, nested content sequences', async () => {
    const parsed = await readInstanceFile(sample('test-SR.dcm'));
    expect(parsed.frames).toEqual([]);
    expect(parsed.instance.numberOfFrames).toBe(0);
    expect(parsed.bulkData).toEqual([]);
    const content = parsed.metadata['0040A730'];
    expect(content.vr).toBe('SQ');
    expect(content.Value?.length).toBeGreaterThan(0);
  });

  it('MR_truncated.dcm is refused: truncated pixel data', async () => {
    const error = await refusal(sample('MR_truncated.dcm'));
    expect(error.failureReason).toBe(FailureReason.CannotUnderstand);
    expect(error.message).toBe('truncated: pixel data needs 8192 bytes from byte 1500, but the file ends after 9630 bytes');
    expect(error.sopInstanceUID).toBe('1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457');
  });

  it('no_meta.dcm is refused: not Part 10', async () => {
    const error = await refusal(sample('no_meta.dcm'));
    expect(error.failureReason).toBe(FailureReason.CannotUnderstand);
    expect(error.message).toMatch(/^not a DICOM Part 10 file: there is no "DICM" prefix after the 128-byte preamble/);
  });

  it('rtdose.dcm is kept under its data set UID with a warning; badVR.dcm is refused for its invalid Number of Frames', async () => {
    const rtdose = await readInstanceFile(sample('rtdose.dcm'));
    expect(rtdose.sopInstanceUID).toBe('1.9.999.999.99.9.9999.9999.20030818153516');
    expect(rtdose.warnings?.join(' ')).toContain('differs from Media Storage SOP Instance UID (0002,0003)');
    expect(rtdose.frames.length).toBeGreaterThan(1);
    const error = await refusal(sample('badVR.dcm'));
    expect(error.failureReason).toBe(FailureReason.DataSetDoesNotMatchSopClass);
    expect(error.message).toMatch(/Number of Frames/);
  });

  it('every sample: parsed or refused with a DicomInstanceError; metadata accepted by dcmjs', async () => {
    for (const name of readdirSync(SAMPLES).filter((n) => n.endsWith('.dcm'))) {
      await checkParsesOrRefuses(sample(name));
    }
  });
});

/** The size positions are given in: the file's, or for a deflated one, its File Meta Information and inflated data set. */
function parsedSize(file: string, parsed: ParsedInstance): number {
  const bytes = readFileSync(file);
  if (parsed.transferSyntaxUID !== '1.2.840.10008.1.2.1.99') return bytes.length;
  const dataSetStart = 144 + bytes.readUInt32LE(140);
  return dataSetStart + inflateRawSync(bytes.subarray(dataSetStart)).length;
}

async function checkParsesOrRefuses(file: string): Promise<'parsed' | 'refused'> {
  let parsed: ParsedInstance;
  try {
    parsed = await readInstanceFile(file);
  } catch (error) {
    if (!(error instanceof DicomInstanceError)) throw new Error(`${file}: ${String(error)}`);
    expect([0xa700, 0xa900, 0xc000], file).toContain(error.failureReason);
    expect(error.message.length, file).toBeGreaterThan(10);
    return 'refused';
  }
  const json = JSON.parse(JSON.stringify(parsed.metadata)) as typeof parsed.metadata;
  expect(json, file).toEqual(parsed.metadata);
  const natural = dcmjs.data.DicomMetaDictionary.naturalizeDataset(json);
  expect(natural.SOPInstanceUID, file).toBe(parsed.sopInstanceUID);
  for (const bulk of parsed.bulkData) {
    expect(bulk.span.offset + bulk.span.length, file).toBeLessThanOrEqual(parsedSize(file, parsed));
  }
  checkFramesAgainstDicomParser(file, parsed);
  return 'parsed';
}

describe.runIf(existsSync(PYDICOM))('readInstanceFile on the pydicom test files', () => {
  it('every file parses or is refused with a DicomInstanceError, never another exception', async () => {
    const counts = { parsed: 0, refused: 0 };
    for (const name of readdirSync(PYDICOM)) {
      const file = path.join(PYDICOM, name);
      if (!statSync(file).isFile()) continue;
      counts[await checkParsesOrRefuses(file)]++;
    }
    expect(counts.parsed).toBeGreaterThan(40);
  });

  it('files that are refused say why', async () => {
    const expectations: Record<string, RegExp> = {
      'meta_missing_tsyntax.dcm': /no Transfer Syntax UID \(0002,0010\)/,
      'rtplan_truncated.dcm': /^truncated: element \(300A,00B0\) needs 976 bytes/,
      'SC_rgb_jpeg.dcm': /element \(0008,0008\) at byte 356 has an invalid value representation 0x1800/,
      'ExplVR_BigEndNoMeta.dcm': /^not a DICOM Part 10 file/,
    };
    for (const [name, message] of Object.entries(expectations)) {
      const error = await refusal(path.join(PYDICOM, name));
      expect(error.failureReason, name).toBe(FailureReason.CannotUnderstand);
      expect(error.message, name).toMatch(message);
    }
  });

  it('RLE multi-frame (rtdose_rle.dcm, 15 frames) and explicit UN elements read with their dictionary VR', async () => {
    const file = path.join(PYDICOM, 'rtdose_rle.dcm');
    const parsed = await readInstanceFile(file);
    expect(parsed.frames).toHaveLength(15);
    expect(parsed.instance.numberOfFrames).toBe(15);
    checkFramesAgainstDicomParser(file, parsed);
    // The file writes every attribute with VR UN; they come out with their real VR.
    expect(parsed.metadata['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'Lastname^Firstname' }] });
    expect(parsed.metadata['300C0002'].vr).toBe('SQ');
  });

  it('uncompressed YBR_FULL_422 frames are 2 bytes per pixel', async () => {
    const parsed = await readInstanceFile(path.join(PYDICOM, 'SC_ybr_full_422_uncompressed.dcm'));
    expect(parsed.frames[0][0].length).toBe(100 * 100 * 2);
  });
});
