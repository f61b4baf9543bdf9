import { decodeFrame } from './frame-decoder.ts';
import { encodeImage, type RenderedMediaType } from './image-encoder.ts';
import type { Palette, PixelModule, WindowSetting } from './pixel-module.ts';
import { renderFrame } from './render-frame.ts';
import { applyViewport, type Viewport } from './viewport.ts';

/** Everything needed to turn one stored frame into a JPEG or PNG: plain data, so it can cross to a worker thread. */
export interface RenderJob {
  /** The frame as stored (all its fragments, concatenated). */
  frame: Uint8Array;
  /** Bit-packed frames: the bit of the first byte where the frame starts. */
  firstBit?: number;
  transferSyntaxUID: string;
  pixel: PixelModule;
  window?: WindowSetting;
  /** PALETTE COLOR images: their lookup tables. */
  palette?: Palette;
  viewport?: Viewport;
  mediaType: RenderedMediaType;
  quality: number;
}

export async function runRenderJob(job: RenderJob): Promise<Uint8Array> {
  const decoded = await decodeFrame(job.frame, job.transferSyntaxUID, job.pixel, job.firstBit);
  let raster = renderFrame(decoded, job.pixel, job.window, job.palette);
  if (job.viewport) raster = applyViewport(raster, job.viewport);
  return await encodeImage(raster, job.mediaType, job.quality);
}
