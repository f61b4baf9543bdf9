import { transferSyntax } from '../../../../core/dicom/transfer-syntax.ts';
import type { PixelModule } from './pixel-module.ts';

/** Why a transfer syntax has no decoder here (answered with 406 naming it). */
const NO_DECODER: Record<string, string> = {
  'jpeg-xl':
    'JPEG XL frames cannot be rendered: the only maintained WebAssembly decoder (@cornerstonejs/codec-libjxl) needs Node.js 24, the gateway runs on Node.js 20',
  video: 'video (MPEG-2, H.264, H.265) is not rendered as still images; retrieve the instance and play it in a video-capable viewer',
};

export const TWELVE_BIT_JPEG =
  'its frames are 12-bit lossy JPEG (JPEG Extended, Process 4): no maintained decoder of 12-bit lossy JPEG runs in ' +
  'Node.js 20 without a native build (the WebAssembly libjpeg-turbo is built for 8 bits). Retrieve the frames as stored ' +
  '(transfer-syntax=*) and let the viewer decode them';

/**
 * Why frames of this syntax and pixel module cannot be rendered, known before reading them (to leave such
 * instances out of a study or series, or out of the choice of a thumbnail), or undefined.
 */
export function whyNotRenderable(transferSyntaxUID: string, pixel: PixelModule): string | undefined {
  const syntax = transferSyntax(transferSyntaxUID);
  if (!syntax) return `its transfer syntax ${transferSyntaxUID} is unknown`;
  const reason = NO_DECODER[syntax.pixelEncoding];
  if (reason) return reason;
  if (syntax.pixelEncoding === 'jpeg' && LOSSY_JPEG.has(transferSyntaxUID) && pixel.bitsStored > 8) return TWELVE_BIT_JPEG;
  if (pixel.photometricInterpretation === 'PALETTE COLOR' && !pixel.paletteDescriptors) {
    return 'it is PALETTE COLOR without the three Palette Color Lookup Table Descriptors (segmented palettes are not rendered)';
  }
  if (pixel.samplesPerPixel !== 1 && pixel.samplesPerPixel !== 3) return `images of ${pixel.samplesPerPixel} samples per pixel are not rendered`;
  if (pixel.bitsAllocated > 32) return `Bits Allocated ${pixel.bitsAllocated} is not rendered (at most 32)`;
  return undefined;
}

const LOSSY_JPEG = new Set(['1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51']);

