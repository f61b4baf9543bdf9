import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { Raster } from './render-frame.ts';

export type RenderedMediaType = 'image/jpeg' | 'image/png';

/** PNG (lossless; grey stays one channel) or baseline JPEG at `quality` (1-100). */
export function encodeImage(raster: Raster, mediaType: RenderedMediaType, quality: number): Buffer {
  if (mediaType === 'image/png') {
    return PNG.sync.write(
      { width: raster.width, height: raster.height, data: Buffer.from(raster.data.buffer, raster.data.byteOffset, raster.data.byteLength) } as PNG,
      { colorType: raster.channels === 1 ? 0 : 2, inputColorType: raster.channels === 1 ? 0 : 2, inputHasAlpha: false, bitDepth: 8 },
    );
  }
  const pixels = raster.width * raster.height;
  const rgba = Buffer.alloc(pixels * 4);
  for (let p = 0; p < pixels; p++) {
    if (raster.channels === 1) {
      const v = raster.data[p];
      rgba[p * 4] = v;
      rgba[p * 4 + 1] = v;
      rgba[p * 4 + 2] = v;
    } else {
      rgba[p * 4] = raster.data[p * 3];
      rgba[p * 4 + 1] = raster.data[p * 3 + 1];
      rgba[p * 4 + 2] = raster.data[p * 3 + 2];
    }
    rgba[p * 4 + 3] = 255;
  }
  return jpeg.encode({ data: rgba, width: raster.width, height: raster.height }, quality).data;
}
