import sharp from 'sharp';
import type { Raster } from './render-frame.ts';

export type RenderedMediaType = 'image/jpeg' | 'image/png' | 'image/gif';

// One encode at a time per render thread (the pool already runs one thread per core), and no libvips cache:
// every image is encoded once.
sharp.concurrency(1);
sharp.cache(false);

/**
 * JPEG at `quality` (1-100), PNG (lossless; grey stays one channel) or GIF, with sharp (libvips, prebuilt for
 * each platform as npm packages: nothing compiled or downloaded at install). libjpeg-turbo's WebAssembly encoder
 * was tried first: it writes past its output buffer whenever the JPEG is larger than the raw pixels (a 16x16
 * image, a noisy narrow window), which crashes the thread.
 */
export async function encodeImage(raster: Raster, mediaType: RenderedMediaType, quality: number): Promise<Uint8Array> {
  const image = sharp(raster.data, { raw: { width: raster.width, height: raster.height, channels: raster.channels } });
  if (mediaType === 'image/png') return image.png().toBuffer();
  if (mediaType === 'image/gif') return image.gif().toBuffer();
  return image.jpeg({ quality }).toBuffer();
}
