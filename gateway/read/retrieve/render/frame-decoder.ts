import { Decoder as JpegLosslessDecoder } from '@cornerstonejs/jpeg-lossless-decoder-js';
import jpeg from 'jpeg-js';
import { EXPLICIT_VR_BIG_ENDIAN, transferSyntax } from '../../../../core/dicom/transfer-syntax.ts';
import { UnrenderableInstance, type PixelModule } from './pixel-module.ts';
import { decodeRle } from './rle-decoder.ts';
import { decodeWithWasm, type WasmCodec } from './wasm-codecs.ts';
import { TWELVE_BIT_JPEG, whyNotRenderable } from './renderability.ts';

/** A frame's samples as native little endian bytes, whatever it was stored as. */
export interface DecodedFrame {
  bytes: Uint8Array;
  bytesPerSample: 1 | 2 | 4;
  bitsStored: number;
  signed: boolean;
  /** Colour planes one after the other rather than interleaved. */
  planar: boolean;
  /**
   * What three samples mean: the Photometric Interpretation, or RGB when the codec already converted (JPEG,
   * JPEG 2000 colour transforms). YBR_FULL_422 is only ever native (two luminance samples per chrominance pair).
   */
  colorSpace: string;
}

/** `firstBit`: for bit-packed frames (Bits Allocated 1), where in the first byte the frame starts. */
export async function decodeFrame(frame: Uint8Array, transferSyntaxUID: string, pixel: PixelModule, firstBit = 0): Promise<DecodedFrame> {
  const reason = whyNotRenderable(transferSyntaxUID, pixel);
  if (reason) throw new UnrenderableInstance(reason);
  const syntax = transferSyntax(transferSyntaxUID)!;
  switch (syntax.pixelEncoding) {
    case 'native':
    case 'encapsulated-uncompressed':
      return decodeNative(frame, pixel, transferSyntaxUID === EXPLICIT_VR_BIG_ENDIAN, firstBit);
    case 'rle': {
      const bytesPerSample = sampleBytes(pixel.bitsAllocated);
      const bytes = decodeRle(frame, pixel.rows * pixel.columns, pixel.samplesPerPixel, bytesPerSample);
      return { bytes, bytesPerSample, bitsStored: pixel.bitsStored, signed: pixel.pixelRepresentation === 1, planar: true, colorSpace: pixel.photometricInterpretation };
    }
    case 'jpeg':
      return jpegProcess(frame) === 'lossless' ? decodeJpegLossless(frame, pixel) : decodeJpegLossy(frame, pixel);
    case 'jpeg-ls':
      return fromWasm('jpeg-ls', frame, pixel, pixel.photometricInterpretation);
    case 'jpeg2000':
    case 'htj2k':
      return fromWasm(syntax.pixelEncoding, frame, pixel, pixel.samplesPerPixel === 3 ? 'RGB' : pixel.photometricInterpretation);
    default:
      throw new UnrenderableInstance(`frames in ${syntax.name} are not rendered`);
  }
}

function sampleBytes(bitsAllocated: number): 1 | 2 | 4 {
  if (bitsAllocated <= 8) return 1;
  if (bitsAllocated <= 16) return 2;
  if (bitsAllocated <= 32) return 4;
  throw new UnrenderableInstance(`Bits Allocated ${bitsAllocated} is not rendered (at most 32)`);
}

function decodeNative(frame: Uint8Array, pixel: PixelModule, bigEndian: boolean, firstBit: number): DecodedFrame {
  const pixels = pixel.rows * pixel.columns;
  const signed = pixel.pixelRepresentation === 1;
  if (pixel.bitsAllocated === 1) {
    // Bit-packed (masks, some X-ray): least significant bit first.
    const bytes = new Uint8Array(pixels);
    for (let i = 0; i < pixels; i++) {
      const bit = i + firstBit;
      bytes[i] = (frame[bit >> 3] >> (bit & 7)) & 1;
    }
    return { bytes, bytesPerSample: 1, bitsStored: 1, signed: false, planar: false, colorSpace: pixel.photometricInterpretation };
  }
  const bytesPerSample = sampleBytes(pixel.bitsAllocated);
  if (pixel.photometricInterpretation === 'YBR_FULL_422' && bytesPerSample === 1) {
    return { bytes: expand422(frame, pixels), bytesPerSample, bitsStored: pixel.bitsStored, signed, planar: false, colorSpace: 'YBR_FULL' };
  }
  const length = pixels * pixel.samplesPerPixel * bytesPerSample;
  if (frame.length < length) throw new Error(`the frame holds ${frame.length} bytes, ${pixel.rows}x${pixel.columns} pixels need ${length}`);
  let bytes = frame.subarray(0, length);
  if (bigEndian && bytesPerSample > 1) bytes = swapBytes(bytes, bytesPerSample);
  return { bytes, bytesPerSample, bitsStored: pixel.bitsStored, signed, planar: pixel.samplesPerPixel > 1 && pixel.planarConfiguration === 1, colorSpace: pixel.photometricInterpretation };
}

function swapBytes(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) for (let k = 0; k < size; k++) out[i + k] = bytes[i + size - 1 - k];
  return out;
}

/** Native YBR_FULL_422: Y1 Y2 Cb Cr for each pair of pixels (PS3.3 C.7.6.3.1.2) into Y Cb Cr per pixel. */
function expand422(frame: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let p = 0, i = 0; p + 1 < pixels + 1 && i + 3 < frame.length; p += 2, i += 4) {
    const [y1, y2, cb, cr] = [frame[i], frame[i + 1], frame[i + 2], frame[i + 3]];
    out.set([y1, cb, cr], p * 3);
    if (p + 1 < pixels) out.set([y2, cb, cr], (p + 1) * 3);
  }
  return out;
}

type JpegProcess = 'baseline-8' | 'extended-12' | 'lossless';

/** The coding process of a JPEG stream, from its Start Of Frame marker. */
export function jpegProcess(frame: Uint8Array): JpegProcess {
  for (let i = 2; i + 4 < frame.length; ) {
    if (frame[i] !== 0xff) {
      i++;
      continue;
    }
    const marker = frame[i + 1];
    if (marker === 0xff || marker === 0x00 || marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += marker === 0xff ? 1 : 2;
      continue;
    }
    if (marker === 0xc3 || marker === 0xc7 || marker === 0xcb || marker === 0xcf) return 'lossless';
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return frame[i + 4] > 8 ? 'extended-12' : 'baseline-8';
    }
    i += 2 + ((frame[i + 2] << 8) | frame[i + 3]);
  }
  throw new Error('the JPEG frame has no Start Of Frame marker');
}

async function decodeJpegLossy(frame: Uint8Array, pixel: PixelModule): Promise<DecodedFrame> {
  if (jpegProcess(frame) === 'extended-12') {
    throw new UnrenderableInstance(TWELVE_BIT_JPEG);
  }
  if (pixel.samplesPerPixel === 3 && pixel.photometricInterpretation === 'RGB' && libjpegGuessesYcbcr(frame)) {
    // Without a JFIF or Adobe marker libjpeg guesses YCbCr (unless the components are named R, G, B) and converts,
    // and the WebAssembly build cannot be told otherwise; a DICOM RGB label means the samples are RGB (PS3.5
    // 8.2.1), as DCMTK and pydicom read them: jpeg-js decodes them without a colour transform.
    const image = jpeg.decode(frame, { colorTransform: false, formatAsRGBA: false, useTArray: true });
    return { bytes: image.data, bytesPerSample: 1, bitsStored: 8, signed: false, planar: false, colorSpace: 'RGB' };
  }
  // libjpeg-turbo converts YCbCr to RGB as the stream says (JFIF, Adobe marker), whatever the DICOM label.
  return fromWasm('jpeg', frame, pixel, pixel.samplesPerPixel === 3 ? 'RGB' : pixel.photometricInterpretation);
}

/** A 3-component stream with neither JFIF (APP0) nor Adobe (APP14) marker and components not named R, G, B. */
function libjpegGuessesYcbcr(frame: Uint8Array): boolean {
  for (let i = 2; i + 4 < frame.length; ) {
    if (frame[i] !== 0xff) return false;
    const marker = frame[i + 1];
    const length = (frame[i + 2] << 8) | frame[i + 3];
    const text = (from: number, n: number) => String.fromCharCode(...frame.subarray(from, from + n));
    if (marker === 0xe0 && text(i + 4, 4) === 'JFIF') return false;
    if (marker === 0xee && text(i + 4, 5) === 'Adobe') return false;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const ids = [frame[i + 10], frame[i + 13], frame[i + 16]];
      return frame[i + 9] === 3 && !(ids[0] === 0x52 && ids[1] === 0x47 && ids[2] === 0x42);
    }
    i += 2 + length;
  }
  return false;
}

function decodeJpegLossless(frame: Uint8Array, pixel: PixelModule): DecodedFrame {
  const bytesPerSample = pixel.bitsAllocated <= 8 ? 1 : 2;
  const copy = frame.slice();
  const decoded = new JpegLosslessDecoder().decode(copy.buffer, 0, copy.length, bytesPerSample);
  const bytes = new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
  return { bytes, bytesPerSample, bitsStored: pixel.bitsStored, signed: pixel.pixelRepresentation === 1, planar: false, colorSpace: pixel.photometricInterpretation };
}

async function fromWasm(codec: WasmCodec, frame: Uint8Array, pixel: PixelModule, colorSpace: string): Promise<DecodedFrame> {
  let decoded;
  try {
    decoded = await decodeWithWasm(codec, frame);
  } catch (error) {
    // Emscripten throws a pointer (a number) on a C++ exception: say what failed instead.
    throw error instanceof Error ? error : new Error(`the ${codec} decoder could not decode this frame (corrupt or unsupported stream)`);
  }
  const { info, bytes } = decoded;
  if (info.width !== pixel.columns || info.height !== pixel.rows) {
    throw new Error(`the ${codec} stream is ${info.width}x${info.height}, the instance says ${pixel.columns}x${pixel.rows}`);
  }
  const bytesPerSample = info.bitsPerSample > 8 ? 2 : 1;
  return {
    bytes,
    bytesPerSample,
    bitsStored: Math.min(pixel.bitsStored, bytesPerSample * 8),
    signed: pixel.pixelRepresentation === 1,
    planar: false,
    colorSpace: info.componentCount === 3 ? colorSpace : 'MONOCHROME2',
  };
}
