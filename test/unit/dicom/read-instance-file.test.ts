/** readInstanceFile on crafted instances: every refusal reason, frame location rules and DICOM JSON encoding. */
import { closeSync, openSync, readFileSync, writeSync, ftruncateSync } from 'node:fs';
import path from 'node:path';
import dcmjs from 'dcmjs';
import { afterAll, describe, expect, it } from 'vitest';
import { FailureReason } from '../../../core/dicom/dicom-status.ts';
import type { FileSpan, ParsedInstance } from '../../../core/dicom/parsed-instance.ts';
import { readInstanceFile } from '../../../core/dicom/read-instance-file.ts';
import { IMPLICIT_VR_LITTLE_ENDIAN, writePart10, type Dataset } from '../../../test-data/part10-writer.ts';
import { baseDataset, INSTANCE, patch, refusal, SERIES, STUDY, TempFiles } from './instance-files.ts';
import { DICOM_SAMPLES } from '../../support/shared-samples.ts';

const files = new TempFiles();
afterAll(() => files.remove());

const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
const JPEG_2000 = '1.2.840.10008.1.2.4.91';
const RLE = '1.2.840.10008.1.2.5';
const MPEG4 = '1.2.840.10008.1.2.4.102';

function bytesOf(file: string, spans: FileSpan[]): Buffer {
  const all = readFileSync(file);
  return Buffer.concat(spans.map((s) => all.subarray(s.offset, s.offset + s.length)));
}

/** A fake JPEG codestream: SOI, some bytes, EOI (structure only, not a decodable image). */
function jpeg(label: string, size = 40): Buffer {
  const body = Buffer.alloc(size, label);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), body, Buffer.from([0xff, 0xd9])]);
}

function encapsulatedDataset(frames: number, pixelData: Dataset[string], extra: Dataset = {}): Dataset {
  return baseDataset({ NumberOfFrames: frames, BitsAllocated: 8, BitsStored: 8, HighBit: 7, PixelData: pixelData, ...extra });
}

describe('refusals', () => {
  it('a file shorter than the preamble', async () => {
    const error = await refusal(files.write(Buffer.from('hello')));
    expect(error.failureReason).toBe(FailureReason.CannotUnderstand);
    expect(error.message).toBe('not a DICOM Part 10 file: it is only 5 bytes long (a Part 10 file starts with a 128-byte preamble and "DICM")');
  });

  it('a file without DICM', async () => {
    const error = await refusal(files.write(Buffer.alloc(4096, 0x41)));
    expect(error.message).toMatch(/^not a DICOM Part 10 file: there is no "DICM" prefix/);
  });

  it('File Meta Information without Transfer Syntax, SOP Class or SOP Instance', async () => {
    const bytes = writePart10(baseDataset());
    const noTs = patch(bytes, Buffer.from([0x02, 0x00, 0x10, 0x00]), Buffer.from([0x02, 0x00, 0x11, 0x00]));
    expect((await refusal(files.write(noTs))).message).toBe(
      'the File Meta Information has no Transfer Syntax UID (0002,0010) (PS3.10 7.1)',
    );
    const noClass = patch(bytes, Buffer.from([0x02, 0x00, 0x02, 0x00]), Buffer.from([0x02, 0x00, 0x04, 0x00]));
    expect((await refusal(files.write(noClass))).message).toContain('no Media Storage SOP Class UID (0002,0002)');
    const noInstance = patch(bytes, Buffer.from([0x02, 0x00, 0x03, 0x00]), Buffer.from([0x02, 0x00, 0x05, 0x00]));
    const error = await refusal(files.write(noInstance));
    expect(error.failureReason).toBe(FailureReason.CannotUnderstand);
    expect(error.message).toContain('no Media Storage SOP Instance UID (0002,0003)');
  });

  it('unknown and private transfer syntaxes, listing what is supported; a data set that claims deflate but is not', async () => {
    const unknown = await refusal(files.instance(baseDataset(), { transferSyntaxUID: '1.2.3.4.5' }));
    expect(unknown.failureReason).toBe(FailureReason.CannotUnderstand);
    expect(unknown.message).toMatch(/^transfer syntax 1\.2\.3\.4\.5: this transfer syntax is not supported\. Supported: Implicit VR Little Endian, Explicit VR Little Endian, Deflated Explicit VR Little Endian, Explicit VR Big Endian \(retired\), JPEG Baseline/);
    expect(unknown.sopInstanceUID).toBe(INSTANCE);
    const deflated = await refusal(files.instance(baseDataset(), { transferSyntaxUID: '1.2.840.10008.1.2.1.99' }));
    expect(deflated.failureReason).toBe(FailureReason.CannotUnderstand);
    expect(deflated.message).toContain('is not a valid deflate stream');
  });

  it('missing or malformed UIDs, naming the attribute', async () => {
    const cases: [Dataset, string][] = [
      [{ SOPClassUID: undefined }, 'SOP Class UID (0008,0016) is missing or empty'],
      [{ StudyInstanceUID: undefined }, 'Study Instance UID (0020,000D) is missing or empty'],
      [{ SeriesInstanceUID: '' }, 'Series Instance UID (0020,000E) is missing or empty'],
      [{ StudyInstanceUID: '1.2.03.4' }, 'Study Instance UID (0020,000D) "1.2.03.4" is not a valid UID: a component has a leading zero (PS3.5 9.1)'],
      [{ SeriesInstanceUID: '1.2..4' }, 'Series Instance UID (0020,000E) "1.2..4" is not a valid UID: it has an empty component'],
      [{ StudyInstanceUID: '1.2/../../x' }, 'Study Instance UID (0020,000D) "1.2/../../x" is not a valid UID: it contains characters other than digits and dots'],
      [{ SOPClassUID: `1.${'2'.repeat(70)}` }, 'SOP Class UID (0008,0016)'],
    ];
    for (const [overrides, message] of cases) {
      const meta = { mediaStorageSOPClassUID: '1.2.840.10008.5.1.4.1.1.7', mediaStorageSOPInstanceUID: INSTANCE };
      const error = await refusal(files.instance(baseDataset(overrides), meta));
      expect(error.failureReason, message).toBe(FailureReason.DataSetDoesNotMatchSopClass);
      expect(error.message).toContain(message);
    }
  });

  it('a data set SOP Instance UID that differs from the File Meta Information: kept under the data set UID, with a warning', async () => {
    const bytes = writePart10(baseDataset());
    // Change the last digit of the meta's copy only (the first occurrence is in the meta).
    const edited = patch(bytes, `${INSTANCE}\0`, `${INSTANCE.slice(0, -1)}2\0`);
    const parsed = await readInstanceFile(files.write(edited));
    expect(parsed.sopInstanceUID).toBe(INSTANCE);
    expect(parsed.warnings).toEqual([
      `SOP Instance UID (0008,0018) ${INSTANCE} differs from Media Storage SOP Instance UID (0002,0003) ` +
        `${INSTANCE.slice(0, -1)}2 in the File Meta Information; stored and indexed under the data set's UID, bytes unchanged`,
    ]);
  });

  it('an element with an invalid VR is refused, naming the tag and the VR (deliberate: nothing after it can be trusted)', async () => {
    const bytes = writePart10(baseDataset({ StudyDate: '20240101' }));
    const edited = patch(bytes, Buffer.from([0x08, 0x00, 0x20, 0x00, 0x44, 0x41]), Buffer.from([0x08, 0x00, 0x20, 0x00, 0x5a, 0x5a]));
    const error = await refusal(files.write(edited));
    expect(error.failureReason).toBe(FailureReason.CannotUnderstand);
    expect(error.message).toMatch(/^element \(0008,0020\) at byte \d+ has an invalid value representation "ZZ" \(0x5a5a\)/);
    expect(error.sopInstanceUID).toBe(INSTANCE);
  });

  it('badVR.dcm with a consistent meta header: Number of Frames "1A" is refused (frames cannot be located)', async () => {
    const original = readFileSync(path.join(DICOM_SAMPLES, 'badVR.dcm'));
    const fixed = patch(original, '1.2.999.999.99.9.9999.9999.20030818153516', '1.9.999.999.99.9.9999.9999.20030818153516');
    const error = await refusal(files.write(fixed));
    expect(error.failureReason).toBe(FailureReason.DataSetDoesNotMatchSopClass);
    expect(error.message).toBe('Number of Frames (0028,0008) is "1A", which is not a positive integer of at most 2147483647 (PS3.5 IS)');
    // The same file with a valid count parses; an invalid IS elsewhere is kept as a string (CP 1861).
    const parsed = await readInstanceFile(files.write(patch(fixed, 'IS\x02\x001A', 'IS\x02\x0015')));
    expect(parsed.frames).toHaveLength(15);
    const withBadNumber = await readInstanceFile(files.instance(baseDataset({ InstanceNumber: '1A', SliceLocation: 'abc' })));
    expect(withBadNumber.metadata['00200013']).toEqual({ vr: 'IS', Value: ['1A'] });
    expect(withBadNumber.metadata['00201041']).toEqual({ vr: 'DS', Value: ['abc'] });
    expect(withBadNumber.instance.number).toBeUndefined();
  });

  it('truncated in the attributes', async () => {
    const bytes = writePart10(baseDataset({ StudyDescription: 'x'.repeat(200) }));
    const at = bytes.indexOf(Buffer.from('xxxx')) + 50;
    const error = await refusal(files.write(bytes.subarray(0, at)));
    expect(error.failureReason).toBe(FailureReason.CannotUnderstand);
    expect(error.message).toMatch(/^truncated: element \(0008,1030\) needs 200 bytes from byte \d+, but the file ends after \d+ bytes$/);
  });

  it('truncated in the pixel data, native and encapsulated', async () => {
    const bytes = writePart10(baseDataset());
    const error = await refusal(files.write(bytes.subarray(0, bytes.length - 3)));
    expect(error.message).toBe(`truncated: pixel data needs 32 bytes from byte ${bytes.length - 32}, but the file ends after ${bytes.length - 3} bytes`);

    const encapsulated = writePart10(encapsulatedDataset(1, { fragments: [jpeg('a', 100)] }), { transferSyntaxUID: JPEG_BASELINE });
    const cutInFragment = await refusal(files.write(encapsulated.subarray(0, encapsulated.length - 30)));
    expect(cutInFragment.message).toMatch(/^truncated: pixel data fragment needs 104 bytes from byte \d+/);
    const noDelimiter = await refusal(files.write(encapsulated.subarray(0, encapsulated.length - 8)));
    expect(noDelimiter.message).toMatch(/^truncated: encapsulated Pixel Data \(its sequence delimitation item is missing\) needs 8 bytes/);
  });

  it('native pixel data shorter than Rows x Columns x frames', async () => {
    const error = await refusal(files.instance(baseDataset({ NumberOfFrames: 2 })));
    expect(error.failureReason).toBe(FailureReason.CannotUnderstand);
    expect(error.message).toBe('Pixel Data (7FE0,0010) holds 32 bytes, but 2 frame(s) of 4x4 pixels, 1 sample(s) of 16 bits need 64 bytes');
  });

  it('an attribute header over the limit: 0xA700 (64 MiB by default, configurable)', async () => {
    const big = files.instance(baseDataset({ ImageComments: { vr: 'UT', value: 'y'.repeat(400 * 1024) } }));
    const error = await refusal(big, { maxHeaderBytes: 300 * 1024 });
    expect(error.failureReason).toBe(FailureReason.OutOfResources);
    expect(error.message).toContain('take more than 300 KiB');
    const huge = files.instance(baseDataset({ ImageComments: { vr: 'UT', value: 'z'.repeat(65 * 1024 * 1024) } }));
    const hugeError = await refusal(huge);
    expect(hugeError.failureReason).toBe(FailureReason.OutOfResources);
    expect(hugeError.message).toBe(
      'the attributes of this instance (everything but Pixel Data and other large binary values) take more than 64 MiB; the archive does not accept such headers',
    );
  });
});

describe('reading', () => {
  it('a header longer than the first read (256 KiB) is read by growing the window', async () => {
    const comments = 'long comment '.repeat(50_000);
    const parsed = await readInstanceFile(files.instance(baseDataset({ ImageComments: { vr: 'UT', value: comments } })));
    expect(parsed.metadata['00204000']).toEqual({ vr: 'UT', Value: [comments.trimEnd()] });
    expect(parsed.frames[0][0].length).toBe(32);
  });

  it('large binary values before Pixel Data are not read: bulk data by reference, exact spans', async () => {
    const blob = Buffer.alloc(5 * 1024 * 1024, 7);
    const file = files.instance(
      baseDataset({
        '00090010': { vr: 'LO', value: 'ASTREINTE TEST' },
        '00091001': { vr: 'OB', value: blob },
        '00091002': { vr: 'OB', value: Buffer.from('small') },
      }),
    );
    const parsed = await readInstanceFile(file, { maxHeaderBytes: 1024 * 1024 });
    const bulk = parsed.bulkData.find((b) => b.path === '00091001');
    expect(bulk?.vr).toBe('OB');
    expect(bytesOf(file, [bulk!.span]).equals(blob)).toBe(true);
    expect(parsed.metadata['00091001']).toEqual({
      vr: 'OB',
      BulkDataURI: `@@DICOMWEB_ROOT@@/studies/${STUDY}/series/${SERIES}/instances/${INSTANCE}/bulkdata/00091001`,
    });
    expect(parsed.metadata['00091002']).toEqual({ vr: 'OB', InlineBinary: Buffer.from('small\0').toString('base64') });
    expect(parsed.metadata['00090010']).toEqual({ vr: 'LO', Value: ['ASTREINTE TEST'] });
  });

  it('nested bulk data paths use tags and item indexes', async () => {
    const icon = Buffer.alloc(64 * 64, 9);
    const file = files.instance(
      baseDataset({
        IconImageSequence: [
          { Rows: 64, Columns: 64, BitsAllocated: 8, PixelData: { vr: 'OB', value: icon } },
        ],
      }),
    );
    const parsed = await readInstanceFile(file);
    const bulk = parsed.bulkData.find((b) => b.path === '00880200/0/7FE00010');
    expect(bytesOf(file, [bulk!.span]).equals(icon)).toBe(true);
    const item = (parsed.metadata['00880200'].Value as Record<string, { BulkDataURI?: string }>[])[0];
    expect(item['7FE00010'].BulkDataURI).toMatch(/\/bulkdata\/00880200\/0\/7FE00010$/);
  });

  it('Implicit VR Little Endian: VRs from the dictionary, unknown private tags UN', async () => {
    const file = files.instance(
      baseDataset({ '00090010': { vr: 'LO', value: 'PRIV' }, '00091001': { vr: 'UN', value: Buffer.from('abcd') }, PixelSpacing: [0.5, 0.25] }),
      { transferSyntaxUID: IMPLICIT_VR_LITTLE_ENDIAN },
    );
    const parsed = await readInstanceFile(file);
    expect(parsed.transferSyntaxUID).toBe(IMPLICIT_VR_LITTLE_ENDIAN);
    expect(parsed.metadata['00280030']).toEqual({ vr: 'DS', Value: [0.5, 0.25] });
    expect(parsed.metadata['00280010']).toEqual({ vr: 'US', Value: [4] });
    expect(parsed.metadata['00090010']).toEqual({ vr: 'LO', Value: ['PRIV'] });
    expect(parsed.metadata['00091001']).toEqual({ vr: 'UN', InlineBinary: Buffer.from('abcd').toString('base64') });
    expect(parsed.metadata['7FE00010'].vr).toBe('OW');
  });

  it('undefined-length sequences and items read like defined-length ones', async () => {
    const dataset = baseDataset({
      OtherPatientIDsSequence: [
        { PatientID: '123456789012345', IssuerOfPatientID: '1.2.250.1.213.1.4.8' },
        { PatientID: 'X9', IssuerOfPatientID: 'OTHER' },
        { TypeOfPatientID: 'TEXT' },
      ],
      ReferencedImageSequence: [],
    });
    const defined = await readInstanceFile(files.instance(dataset));
    const undefinedLengths = await readInstanceFile(files.instance(dataset, { undefinedLengthSequences: true }));
    expect(undefinedLengths.metadata).toEqual(defined.metadata);
    expect(defined.patient.otherIds).toEqual([
      { id: '123456789012345', issuer: '1.2.250.1.213.1.4.8' },
      { id: 'X9', issuer: 'OTHER' },
    ]);
    expect(defined.metadata['00081140']).toEqual({ vr: 'SQ' });
  });

  it('an undefined-length UN element is a sequence in Implicit VR Little Endian (PS3.5 6.2.2)', async () => {
    const item = Buffer.concat([
      Buffer.from([0x10, 0x00, 0x20, 0x00, 0x04, 0x00, 0x00, 0x00]), // (0010,0020) implicit, length 4
      Buffer.from('ABCD'),
    ]);
    const value = Buffer.concat([
      Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]),
      item,
      Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0]),
      Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]),
    ]);
    // A private tag, explicit UN, undefined length: patch a placeholder's length to 0xFFFFFFFF.
    const bytes = writePart10(baseDataset({ '00090010': { vr: 'LO', value: 'PRIV' }, '00091001': { vr: 'UN', value } }));
    const header = Buffer.concat([Buffer.from([0x09, 0x00, 0x01, 0x10]), Buffer.from('UN\0\0'), Buffer.alloc(4)]);
    header.writeUInt32LE(value.length, 8);
    const undefinedHeader = Buffer.from(header);
    undefinedHeader.writeUInt32LE(0xffffffff, 8);
    const parsed = await readInstanceFile(files.write(patch(bytes, header, undefinedHeader)));
    expect(parsed.metadata['00091001']).toEqual({ vr: 'SQ', Value: [{ '00100020': { vr: 'LO', Value: ['ABCD'] } }] });
  });

  it('attributes after Pixel Data are kept, trailing padding dropped', async () => {
    const file = files.instance(
      baseDataset({
        DigitalSignaturesSequence: [{ MACIDNumber: 1, DigitalSignatureUID: '1.2.3.4' }],
        DataSetTrailingPadding: { vr: 'OB', value: Buffer.alloc(100) },
      }),
    );
    const parsed = await readInstanceFile(file);
    expect(parsed.metadata.FFFAFFFA).toEqual({
      vr: 'SQ',
      Value: [{ '04000005': { vr: 'US', Value: [1] }, '04000100': { vr: 'UI', Value: ['1.2.3.4'] } }],
    });
    expect(parsed.metadata.FFFCFFFC).toBeUndefined();
    expect(Object.keys(parsed.metadata).at(-1)).toBe('FFFAFFFA');
  });

  it('Bits Allocated 1: bit-packed frames, with the first bit when not byte aligned', async () => {
    const file = files.instance(
      baseDataset({ Rows: 3, Columns: 3, BitsAllocated: 1, BitsStored: 1, HighBit: 0, NumberOfFrames: 3, PixelData: { vr: 'OB', value: Buffer.from([0xff, 0x01, 0x80, 0x03]) } }),
    );
    const parsed = await readInstanceFile(file);
    const start = parsed.bulkData[0].span.offset;
    expect(parsed.frames).toEqual([
      [{ offset: start, length: 2 }],
      [{ offset: start + 1, length: 2, firstBit: 1 }],
      [{ offset: start + 2, length: 2, firstBit: 2 }],
    ]);
  });

  it('a 1 GiB multi-frame file is located without reading its pixel data (sparse file)', async () => {
    const frames = 2048;
    const frameBytes = 512 * 512 * 2;
    const header = writePart10(baseDataset({ Rows: 512, Columns: 512, NumberOfFrames: frames, PixelData: { vr: 'OW', value: Buffer.alloc(0) } }));
    header.writeUInt32LE(frames * frameBytes, header.length - 4);
    const file = path.join(files.dir, 'huge.dcm');
    const fd = openSync(file, 'w');
    writeSync(fd, header);
    ftruncateSync(fd, header.length + frames * frameBytes);
    closeSync(fd);
    const readBefore = bytesReadByThisProcess();
    const parsed = await readInstanceFile(file);
    const bytesRead = bytesReadByThisProcess() - readBefore;
    expect(parsed.frames).toHaveLength(frames);
    expect(parsed.frames[frames - 1]).toEqual([{ offset: header.length + (frames - 1) * frameBytes, length: frameBytes }]);
    expect(parsed.instance.numberOfFrames).toBe(frames);
    // The whole process's reads (test runner included) stay far below the 1 GiB of pixel data.
    expect(bytesRead).toBeLessThan(16 * 1024 * 1024);
  });
});

describe('encapsulated pixel data', () => {
  const fragments = [jpeg('a'), jpeg('b').subarray(0, 20), jpeg('b').subarray(20), jpeg('c'), jpeg('d', 10)];

  async function framesOf(dataset: Dataset, ts = JPEG_BASELINE): Promise<{ parsed: ParsedInstance; file: string }> {
    const file = files.instance(dataset, { transferSyntaxUID: ts });
    return { parsed: await readInstanceFile(file), file };
  }

  it('Basic Offset Table: frames of several fragments', async () => {
    const { parsed, file } = await framesOf(encapsulatedDataset(4, { fragments, frameStarts: [0, 1, 3, 4] }));
    expect(parsed.frames.map((f) => f.length)).toEqual([1, 2, 1, 1]);
    expect(bytesOf(file, parsed.frames[1]).equals(jpeg('b'))).toBe(true);
    expect(bytesOf(file, parsed.frames[3]).equals(jpeg('d', 10))).toBe(true);
  });

  it('no offset table, one fragment per frame', async () => {
    const one = [jpeg('a'), jpeg('b'), jpeg('c')];
    const { parsed, file } = await framesOf(encapsulatedDataset(3, { fragments: one }));
    expect(parsed.frames.map((f) => bytesOf(file, f))).toEqual(one);
  });

  it('no offset table, single frame in several fragments', async () => {
    const { parsed } = await framesOf(encapsulatedDataset(1, { fragments: fragments.slice(1, 3) }));
    expect(parsed.frames).toHaveLength(1);
    expect(parsed.frames[0]).toHaveLength(2);
  });

  it('no offset table, more fragments than frames: frames found from JPEG SOI markers', async () => {
    const { parsed, file } = await framesOf(encapsulatedDataset(4, { fragments }));
    expect(parsed.frames.map((f) => f.length)).toEqual([1, 2, 1, 1]);
    expect(bytesOf(file, parsed.frames[1]).equals(jpeg('b'))).toBe(true);
  });

  it('no offset table, JPEG 2000 codestream markers', async () => {
    const j2k = (label: string) => Buffer.concat([Buffer.from([0xff, 0x4f, 0xff, 0x51]), Buffer.alloc(30, label)]);
    const parts = [j2k('a').subarray(0, 10), j2k('a').subarray(10), j2k('b')];
    const { parsed } = await framesOf(encapsulatedDataset(2, { fragments: parts }), JPEG_2000);
    expect(parsed.frames.map((f) => f.length)).toEqual([2, 1]);
  });

  it('no offset table and markers that do not match the frame count: refused, saying what to do', async () => {
    const file = files.instance(encapsulatedDataset(3, { fragments }), { transferSyntaxUID: JPEG_BASELINE });
    const error = await refusal(file);
    expect(error.failureReason).toBe(FailureReason.CannotUnderstand);
    expect(error.message).toBe(
      'cannot tell where each of the 3 frames starts among 5 fragments: there is no Basic or Extended Offset Table and the ' +
        'JPEG Baseline (Process 1) start markers give 4 frames; re-send with a Basic Offset Table',
    );
    const rle = await refusal(files.instance(encapsulatedDataset(2, { fragments: fragments.slice(0, 3) }), { transferSyntaxUID: RLE }));
    expect(rle.message).toContain('cannot tell where each of the 2 frames starts among 3 fragments');
    const tooFew = await refusal(files.instance(encapsulatedDataset(9, { fragments }), { transferSyntaxUID: JPEG_BASELINE }));
    expect(tooFew.message).toBe('encapsulated Pixel Data has 5 fragments for 9 frames (at least one fragment per frame is required)');
  });

  it('Extended Offset Table (7FE0,0001/0002)', async () => {
    const one = [jpeg('a'), jpeg('bb', 100), jpeg('c')];
    const offsets = Buffer.alloc(24);
    const lengths = Buffer.alloc(24);
    let offset = 0;
    one.forEach((f, i) => {
      offsets.writeBigUInt64LE(BigInt(offset), 8 * i);
      lengths.writeBigUInt64LE(BigInt(f.length), 8 * i);
      offset += 8 + f.length;
    });
    const dataset = encapsulatedDataset(3, { fragments: [...one] }, {
      ExtendedOffsetTable: { vr: 'OV', value: offsets },
      ExtendedOffsetTableLengths: { vr: 'OV', value: lengths },
    });
    const { parsed, file } = await framesOf(dataset);
    expect(parsed.frames.map((f) => bytesOf(file, f))).toEqual(one);
    // A table pointing between fragments is refused.
    offsets.writeBigUInt64LE(3n, 8);
    const error = await refusal(files.instance(dataset, { transferSyntaxUID: JPEG_BASELINE }));
    expect(error.message).toBe('the Extended Offset Table (7FE0,0001) entry for frame 2 (offset 3) does not point at a fragment');
  });

  it('video: a Number of Frames past the IS range is refused, not a database error (stow-fuzz seed 3769361920)', async () => {
    const error = await refusal(files.instance(encapsulatedDataset(4294967296, { fragments: fragments.slice(0, 3) }), { transferSyntaxUID: MPEG4 }));
    expect(error.failureReason).toBe(FailureReason.DataSetDoesNotMatchSopClass);
    expect(error.message).toBe('Number of Frames (0028,0008) is "4294967296", which is not a positive integer of at most 2147483647 (PS3.5 IS)');
  });

  it('video: all fragments are one stream', async () => {
    const { parsed } = await framesOf(encapsulatedDataset(120, { fragments: fragments.slice(0, 3) }), MPEG4);
    expect(parsed.instance.numberOfFrames).toBe(120);
    expect(parsed.frames).toHaveLength(1);
    expect(parsed.frames[0]).toHaveLength(3);
  });

  it('encapsulated pixel data in a native transfer syntax, and native in an encapsulated one', async () => {
    const wrongNative = await refusal(files.instance(encapsulatedDataset(1, { fragments })));
    expect(wrongNative.message).toBe('Pixel Data (7FE0,0010) has an undefined length (encapsulated) but the transfer syntax is not a compressed one');
    const wrongEncapsulated = await refusal(files.instance(baseDataset(), { transferSyntaxUID: JPEG_BASELINE }));
    expect(wrongEncapsulated.message).toBe(
      'Pixel Data has a defined length (32 bytes) but transfer syntax 1.2.840.10008.1.2.4.50 (JPEG Baseline (Process 1)) requires encapsulated (fragmented) pixel data',
    );
  });

  it('encapsulated pixel data nested in an icon image sequence is kept as bulk data', async () => {
    const icon = { fragments: [jpeg('i')] };
    const { parsed, file } = await framesOf(
      encapsulatedDataset(1, { fragments: [jpeg('a')] }, { IconImageSequence: [{ Rows: 8, Columns: 8, PixelData: icon }] }),
    );
    const bulk = parsed.bulkData.find((b) => b.path === '00880200/0/7FE00010');
    expect(bulk?.vr).toBe('OB');
    expect(bytesOf(file, [bulk!.span]).includes(jpeg('i'))).toBe(true);
  });
});

describe('DICOM JSON values', () => {
  it('every VR family, as dcmjs reads it back', async () => {
    const file = files.instance(
      baseDataset({
        SpecificCharacterSet: 'ISO_IR 192',
        PatientName: ['DUPRÉ^Élodie', 'DUPRE^Elodie'],
        ImageType: ['ORIGINAL', 'PRIMARY', '', 'AXIAL '],
        PixelSpacing: [0.5, '1e-3'],
        WindowCenter: [40, -600],
        FrameIncrementPointer: 0x00181063,
        RealWorldValueLUTData: [1.5, -2.25],
        ImageComments: '  leading spaces kept\\backslash kept  ',
        SmallestImagePixelValue: 0,
        '00091001': { vr: 'SV', value: [-5, 9] },
        '00091002': { vr: 'FL', value: [Number.NaN, 0.1] },
        '00090010': { vr: 'LO', value: 'PRIV' },
      }),
    );
    const parsed = await readInstanceFile(file);
    const m = parsed.metadata;
    expect(m['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'DUPRÉ^Élodie' }, { Alphabetic: 'DUPRE^Elodie' }] });
    expect(m['00080008']).toEqual({ vr: 'CS', Value: ['ORIGINAL', 'PRIMARY', null, 'AXIAL'] });
    expect(m['00280030']).toEqual({ vr: 'DS', Value: [0.5, 0.001] });
    expect(m['00281050']).toEqual({ vr: 'DS', Value: [40, -600] });
    expect(m['00280009']).toEqual({ vr: 'AT', Value: ['00181063'] });
    expect(m['00409212']).toEqual({ vr: 'FD', Value: [1.5, -2.25] });
    expect(m['00204000']).toEqual({ vr: 'LT', Value: ['  leading spaces kept\\backslash kept'] });
    expect(m['00280106']).toEqual({ vr: 'US', Value: [0] });
    expect(m['00091001']).toEqual({ vr: 'SV', Value: [-5, 9] });
    expect(m['00091002']).toEqual({ vr: 'FL', Value: [null, 0.1] });
    const natural = dcmjs.data.DicomMetaDictionary.naturalizeDataset(JSON.parse(JSON.stringify(m)));
    expect(natural.PatientName).toEqual([{ Alphabetic: 'DUPRÉ^Élodie' }, { Alphabetic: 'DUPRE^Elodie' }]);
    expect(natural.Rows).toBe(4);
    expect(natural.PixelSpacing).toEqual([0.5, 0.001]);
  });

  it('ISO 2022 (Japanese) names: alphabetic, ideographic and phonetic groups', async () => {
    const name = Buffer.from(
      'Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B',
      'latin1',
    );
    const parsed = await readInstanceFile(
      files.instance(baseDataset({ SpecificCharacterSet: ['', 'ISO 2022 IR 87'], PatientName: { vr: 'PN', value: name } })),
    );
    expect(parsed.specificCharacterSet).toBe('\\ISO 2022 IR 87');
    expect(parsed.metadata['00100010']).toEqual({
      vr: 'PN',
      Value: [{ Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' }],
    });
    expect(parsed.patient.name).toBe('Yamada^Tarou');
  });

  it('text without Specific Character Set: UTF-8 when valid, Latin-1 otherwise; metadata declares UTF-8', async () => {
    const utf8 = await readInstanceFile(files.instance(baseDataset({ PatientName: 'GARÇON^Maëlle' })));
    expect(utf8.patient.name).toBe('GARÇON^Maëlle');
    expect(utf8.specificCharacterSet).toBeUndefined();
    expect(utf8.metadata['00080005']).toEqual({ vr: 'CS', Value: ['ISO_IR 192'] });
    expect(Object.keys(utf8.metadata)[0]).toBe('00080005');
    const latin1 = await readInstanceFile(
      files.instance(baseDataset({ PatientName: { vr: 'PN', value: Buffer.from('GAR\xc7ON^Ma\xeblle', 'latin1') } })),
    );
    expect(latin1.patient.name).toBe('GARÇON^Maëlle');
    const ascii = await readInstanceFile(files.instance(baseDataset()));
    expect(ascii.metadata['00080005']).toBeUndefined();
  });

  it('a Specific Character Set inside a sequence item applies to that item', async () => {
    const parsed = await readInstanceFile(
      files.instance(
        baseDataset({
          SpecificCharacterSet: 'ISO_IR 100',
          PatientName: { vr: 'PN', value: Buffer.from('J\xe9r\xf4me', 'latin1') },
          OtherPatientIDsSequence: [
            { SpecificCharacterSet: 'ISO_IR 192', PatientID: 'Jérôme-ID', IssuerOfPatientID: 'X' },
            { PatientID: { vr: 'LO', value: Buffer.from('J\xe9r', 'latin1') } },
          ],
        }),
      ),
    );
    expect(parsed.patient.name).toBe('Jérôme');
    expect(parsed.patient.otherIds).toEqual([{ id: 'Jérôme-ID', issuer: 'X' }, { id: 'Jér' }]);
  });
});

/** Bytes this process has read through read(2) and its kin so far (Linux's /proc/self/io `rchar`). */
function bytesReadByThisProcess(): number {
  const match = /^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  if (!match) throw new Error('/proc/self/io has no rchar line');
  return Number(match[1]);
}
