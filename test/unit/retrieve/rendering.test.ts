import { describe, expect, it } from 'vitest';
import { decodeRle } from '../../../gateway/read/retrieve/render/rle-decoder.ts';
import { voiFunction } from '../../../gateway/read/retrieve/render/voi-lut.ts';
import { applyViewport } from '../../../gateway/read/retrieve/render/viewport.ts';
import { parseViewport, parseWindow } from '../../../gateway/read/retrieve/render/rendered-query.ts';
import { renderFrame } from '../../../gateway/read/retrieve/render/render-frame.ts';
import { pixelModuleOf, type PixelModule } from '../../../gateway/read/retrieve/render/pixel-module.ts';

function rleFrame(segments: number[][]): Uint8Array {
  const header = Buffer.alloc(64);
  header.writeUInt32LE(segments.length, 0);
  let offset = 64;
  segments.forEach((s, i) => {
    header.writeUInt32LE(offset, 4 + 4 * i);
    offset += s.length;
  });
  return new Uint8Array(Buffer.concat([header, ...segments.map((s) => Buffer.from(s))]));
}

describe('RLE Lossless (PS3.5 Annex G)', () => {
  it('decodes literal and replicate runs, high byte segment first, into little endian samples', () => {
    // 4 pixels of 16 bits: high bytes [1,1,1,2] (replicate 3 then literal 1), low bytes [10,20,30,40] (literal 4)
    const frame = rleFrame([[-2 & 0xff, 1, 0, 2], [3, 10, 20, 30, 40]]);
    const out = decodeRle(frame, 4, 1, 2);
    expect([...new Uint16Array(out.buffer)]).toEqual([0x010a, 0x0114, 0x011e, 0x0228]);
  });

  it('refuses a frame whose segment count does not match the image', () => {
    expect(() => decodeRle(rleFrame([[0, 1]]), 1, 3, 1)).toThrow(/1 segments where 3 sample/);
  });
});

describe('VOI LUT functions (PS3.3 C.11.2.1.2)', () => {
  it('LINEAR: c=40 w=400 spans -159.5..239.5', () => {
    const f = voiFunction({ center: 40, width: 400, function: 'LINEAR' });
    expect(f(-160)).toBe(0);
    expect(f(240)).toBe(255);
    expect(f(39.5)).toBeCloseTo(127.5, 5);
  });
  it('LINEAR_EXACT and SIGMOID are centred on c', () => {
    expect(voiFunction({ center: 0, width: 100, function: 'LINEAR_EXACT' })(0)).toBeCloseTo(127.5, 5);
    expect(voiFunction({ center: 0, width: 100, function: 'LINEAR_EXACT' })(-50)).toBe(0);
    expect(voiFunction({ center: 0, width: 100, function: 'SIGMOID' })(0)).toBeCloseTo(127.5, 5);
  });
});

describe('rendering pipeline', () => {
  const pixel: PixelModule = pixelModuleOf({
    '00280010': { vr: 'US', Value: [1] },
    '00280011': { vr: 'US', Value: [3] },
    '00280100': { vr: 'US', Value: [16] },
    '00280101': { vr: 'US', Value: [12] },
    '00280103': { vr: 'US', Value: [1] },
    '00280004': { vr: 'CS', Value: ['MONOCHROME1'] },
    '00281053': { vr: 'DS', Value: [2] },
    '00281052': { vr: 'DS', Value: [-100] },
  });

  it('masks Bits Stored, sign-extends, rescales and inverts MONOCHROME1', () => {
    // 12-bit signed values -2048 (0x800), 0, 2047 (0x7ff), with garbage in the 4 high bits.
    const bytes = new Uint8Array(new Uint16Array([0xf800, 0xa000, 0x57ff]).buffer);
    const raster = renderFrame({ bytes, bytesPerSample: 2, bitsStored: 12, signed: true, planar: false, colorSpace: 'MONOCHROME1' }, pixel, {
      center: -100,
      width: 1000,
      function: 'LINEAR_EXACT',
    });
    // modality values -4196, -100, 3994: below, at the centre, above the window; then inverted.
    expect([...raster.data]).toEqual([255, 127, 0]);
  });

  it('reads functional groups of enhanced multi-frame objects (per frame, then shared)', () => {
    const group = (slope: number, center: number) => ({
      '00289145': { vr: 'SQ', Value: [{ '00281053': { vr: 'DS', Value: [slope] }, '00281052': { vr: 'DS', Value: [0] } }] },
      '00289132': { vr: 'SQ', Value: [{ '00281050': { vr: 'DS', Value: [center] }, '00281051': { vr: 'DS', Value: [10] } }] },
    });
    const m = pixelModuleOf(
      {
        '00280010': { vr: 'US', Value: [2] },
        '00280011': { vr: 'US', Value: [2] },
        '00280100': { vr: 'US', Value: [16] },
        '52009230': { vr: 'SQ', Value: [group(2, 5), group(3, 7)] },
      },
      1,
    );
    expect([m.rescaleSlope, m.windows[0].center]).toEqual([3, 7]);
  });
});

describe('viewport', () => {
  const gradient = { width: 4, height: 2, channels: 1 as const, data: new Uint8Array([0, 10, 20, 30, 40, 50, 60, 70]) };

  it('shrinks by area averaging, keeping the aspect ratio', () => {
    const out = applyViewport(gradient, { width: 2, height: 2 });
    expect([out.width, out.height]).toEqual([2, 1]);
    expect([...out.data]).toEqual([25, 45]);
  });

  it('crops the source region and mirrors a negative width', () => {
    const out = applyViewport(gradient, { width: 4, height: 2, source: { x: 3, y: 0, width: -4, height: 1 } });
    expect([...out.data]).toEqual([30, 20, 10, 0]);
  });

  it('parses viewport and window parameters, refusing bad values with a message', () => {
    expect(parseViewport('256,128')).toEqual({ width: 256, height: 128 });
    expect(parseViewport('10,10,1,2,,-5')).toEqual({ width: 10, height: 10, source: { x: 1, y: 2, width: undefined, height: -5 } });
    expect(() => parseViewport('10,10,1')).toThrow(/2 or 6 values/);
    expect(() => parseViewport('4097,10')).toThrow(/from 1 to 4096/);
    expect(parseWindow('40,400,SIGMOID')).toEqual({ center: 40, width: 400, function: 'SIGMOID' });
    expect(parseWindow('-600.5,1500')).toEqual({ center: -600.5, width: 1500, function: 'LINEAR' });
    expect(() => parseWindow('40,0.5,linear')).toThrow(/at least 1 wide/);
  });
});

describe('HTJ2K frames (no shared sample has that syntax): a stream made by OpenJPH decodes to the same samples', () => {
  it('16-bit signed 64x48 grey, lossless (1.2.840.10008.1.2.4.201)', async () => {
    const { decodeFrame } = await import('../../../gateway/read/retrieve/render/frame-decoder.ts');
    const factory = (await import('@cornerstonejs/codec-openjph/wasmjs')).default;
    const codec = await factory({ print: () => undefined, printErr: () => undefined });
    type Encoder = { getDecodedBuffer(i: object): Uint8Array; setQuality(lossless: boolean, q: number): void; encode(): void; getEncodedBuffer(): Uint8Array; delete(): void };
    const encoder = new (codec.HTJ2KEncoder as new () => Encoder)();
    const [width, height] = [64, 48];
    const samples = new Int16Array(width * height).map((_, i) => Math.round(1500 * Math.sin(i / 50)) - 200);
    encoder.getDecodedBuffer({ width, height, bitsPerSample: 16, componentCount: 1, isSigned: true, isUsingColorTransform: false }).set(new Uint8Array(samples.buffer));
    encoder.setQuality(true, 0);
    encoder.encode();
    const stream = encoder.getEncodedBuffer().slice();
    encoder.delete();
    const pixel = pixelModuleOf({
      '00280010': { vr: 'US', Value: [height] },
      '00280011': { vr: 'US', Value: [width] },
      '00280100': { vr: 'US', Value: [16] },
      '00280101': { vr: 'US', Value: [16] },
      '00280103': { vr: 'US', Value: [1] },
    });
    const decoded = await decodeFrame(stream, '1.2.840.10008.1.2.4.201', pixel);
    expect(decoded.bytesPerSample).toBe(2);
    expect([...new Int16Array(decoded.bytes.slice().buffer)]).toEqual([...samples]);
  });
});

describe('corrupt compressed frames', () => {
  it('a truncated JPEG 2000 stream is an error naming the decoder, and the next frame still decodes', async () => {
    const { decodeFrame } = await import('../../../gateway/read/retrieve/render/frame-decoder.ts');
    const { readFileSync } = await import('node:fs');
    const dicomParser = (await import('dicom-parser')).default;
    const { DICOM_SAMPLES } = await import('../../support/shared-samples.ts');
    const file = readFileSync(`${DICOM_SAMPLES}/MR_small_jp2klossless.dcm`);
    const dataSet = dicomParser.parseDicom(new Uint8Array(file));
    const frame = dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, dataSet.elements.x7fe00010, 0);
    const pixel = pixelModuleOf({
      '00280010': { vr: 'US', Value: [64] },
      '00280011': { vr: 'US', Value: [64] },
      '00280100': { vr: 'US', Value: [16] },
      '00280103': { vr: 'US', Value: [1] },
    });
    await expect(decodeFrame(frame.subarray(0, 40), '1.2.840.10008.1.2.4.90', pixel)).rejects.toThrow();
    const good = await decodeFrame(frame, '1.2.840.10008.1.2.4.90', pixel);
    expect(good.bytes.length).toBe(64 * 64 * 2);
  });
});
