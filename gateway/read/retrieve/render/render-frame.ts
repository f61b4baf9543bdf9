import type { DecodedFrame } from './frame-decoder.ts';
import { UnrenderableInstance, type Palette, type PixelModule, type WindowSetting } from './pixel-module.ts';
import { voiFunction } from './voi-lut.ts';

/** 8-bit pixels, one (grey) or three (RGB) interleaved samples each. */
export interface Raster {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/**
 * The presentation pipeline of PS3.3 C.7.6 / C.11 for one frame: stored values (Bits Stored, Pixel
 * Representation), Modality LUT (rescale), VOI (the requested window, else the instance's first, else the
 * frame's minimum and maximum), MONOCHROME1 inverted; colour frames converted to RGB.
 */
export function renderFrame(frame: DecodedFrame, pixel: PixelModule, window?: WindowSetting, palette?: Palette): Raster {
  const width = pixel.columns;
  const height = pixel.rows;
  const pixels = width * height;
  if (pixel.photometricInterpretation === 'PALETTE COLOR') {
    if (!palette) throw new UnrenderableInstance('it is PALETTE COLOR and its lookup tables could not be read');
    return { width, height, channels: 3, data: applyPalette(storedValues(frame, pixels), palette) };
  }
  if (pixel.samplesPerPixel === 3) return { width, height, channels: 3, data: toRgb(frame, pixels) };
  if (pixel.samplesPerPixel !== 1) throw new UnrenderableInstance(`images of ${pixel.samplesPerPixel} samples per pixel are not rendered`);

  const stored = storedValues(frame, pixels);
  const { rescaleSlope: slope, rescaleIntercept: intercept } = pixel;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < pixels; i++) {
    const v = stored[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const chosen = window ?? pixel.windows[0] ?? minMaxWindow(min * slope + intercept, max * slope + intercept, slope);
  const voi = voiFunction(chosen);
  const invert = pixel.photometricInterpretation === 'MONOCHROME1';
  const out = new Uint8Array(pixels);
  const shade = (v: number) => {
    const y = Math.round(voi(v * slope + intercept));
    return invert ? 255 - y : y;
  };
  if (max - min < 1 << 20) {
    // One evaluation per distinct stored value, not per pixel.
    const lut = new Uint8Array(max - min + 1);
    for (let v = min; v <= max; v++) lut[v - min] = shade(v);
    for (let i = 0; i < pixels; i++) out[i] = lut[stored[i] - min];
  } else {
    for (let i = 0; i < pixels; i++) out[i] = shade(stored[i]);
  }
  return { width, height, channels: 1, data: out };
}

/** A window spanning the values present (linear-exact, so the minimum is black and the maximum white). */
function minMaxWindow(a: number, b: number, slope: number): WindowSetting {
  const low = Math.min(a, b);
  const high = Math.max(a, b);
  const width = Math.max(high - low, Math.abs(slope), Number.EPSILON);
  return { center: (low + high) / 2, width, function: 'LINEAR_EXACT' };
}

/** Stored values, masked to Bits Stored and sign-extended when Pixel Representation is 1. */
function storedValues(frame: DecodedFrame, pixels: number): Int32Array | Float64Array {
  const { bytes, bytesPerSample, bitsStored, signed } = frame;
  if (bytes.length < pixels * bytesPerSample) throw new Error(`the decoded frame holds ${bytes.length} bytes, ${pixels} pixels need ${pixels * bytesPerSample}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytesPerSample === 4) {
    // 32-bit values may not fit a signed 32-bit integer once unsigned.
    const out = new Float64Array(pixels);
    for (let i = 0; i < pixels; i++) out[i] = signed ? view.getInt32(i * 4, true) : view.getUint32(i * 4, true);
    return out;
  }
  const out = new Int32Array(pixels);
  const mask = (1 << bitsStored) - 1;
  const signBit = 1 << (bitsStored - 1);
  const range = 1 << bitsStored;
  // Typed array views are several times faster than a DataView; a misaligned frame is copied first (little
  // endian hosts only, as every platform Node runs on).
  const samples = bytesPerSample === 1 ? bytes : new Uint16Array(bytes.byteOffset % 2 === 0 ? bytes.buffer : bytes.slice().buffer, bytes.byteOffset % 2 === 0 ? bytes.byteOffset : 0, pixels);
  for (let i = 0; i < pixels; i++) {
    const v = samples[i] & mask;
    out[i] = signed && v & signBit ? v - range : v;
  }
  return out;
}

/** Three samples per pixel to interleaved 8-bit RGB (YBR_FULL converted, PS3.3 C.7.6.3.1.2). */
function toRgb(frame: DecodedFrame, pixels: number): Uint8Array {
  const { bytes, bytesPerSample, planar } = frame;
  const shift = Math.max(0, Math.min(frame.bitsStored, bytesPerSample * 8) - 8);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sample = (p: number, s: number) => {
    const index = planar ? s * pixels + p : p * 3 + s;
    if (bytesPerSample === 1) return bytes[index];
    return bytesPerSample === 2 ? (view.getUint16(index * 2, true) >> shift) & 0xff : (view.getUint32(index * 4, true) >>> shift) & 0xff;
  };
  const out = new Uint8Array(pixels * 3);
  const ybr = frame.colorSpace === 'YBR_FULL' || frame.colorSpace === 'YBR_FULL_422';
  for (let p = 0; p < pixels; p++) {
    const a = sample(p, 0);
    const b = sample(p, 1);
    const c = sample(p, 2);
    if (ybr) {
      out[p * 3] = clamp(a + 1.402 * (c - 128));
      out[p * 3 + 1] = clamp(a - 0.344136 * (b - 128) - 0.714136 * (c - 128));
      out[p * 3 + 2] = clamp(a + 1.772 * (b - 128));
    } else {
      out[p * 3] = a;
      out[p * 3 + 1] = b;
      out[p * 3 + 2] = c;
    }
  }
  return out;
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** PALETTE COLOR (PS3.3 C.7.6.3.1.5-6): each stored value looks up red, green and blue; out of range clamps. */
function applyPalette(stored: Int32Array | Float64Array, palette: Palette): Uint8Array {
  const out = new Uint8Array(stored.length * 3);
  const tables = [palette.red, palette.green, palette.blue];
  tables.forEach((table, c) => {
    const { entries, firstMapped, bits } = palette.descriptors[c];
    const last = Math.min(entries, table.length) - 1;
    const shift = bits > 8 ? bits - 8 : 0;
    for (let i = 0; i < stored.length; i++) {
      const index = Math.min(Math.max(stored[i] - firstMapped, 0), last);
      out[i * 3 + c] = (table[index] >> shift) & 0xff;
    }
  });
  return out;
}
