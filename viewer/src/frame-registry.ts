import { metaData } from '@cornerstonejs/core';

/**
 * Frames already in the page, offered to Cornerstone's WADO-RS image loader through the metadata module it reads
 * before going to the network (`compressedFrameData`): it then decodes and caches them exactly as frames it
 * fetched itself, under the same image id.
 */
export interface OfferedFrame {
  pixelData: Uint8Array;
  transferSyntaxUid: string;
}

const offered = new Map<string, OfferedFrame>();
let providerAdded = false;

export function offerFrame(imageId: string, frame: OfferedFrame): void {
  if (!providerAdded) {
    providerAdded = true;
    metaData.addProvider((type: string, id: string) => (type === 'compressedFrameData' ? offered.get(id) : undefined), 10_000);
  }
  offered.set(imageId, frame);
}

/** Once the loader has the frame (decoded, or failed): the page keeps no copy. */
export function withdrawFrame(imageId: string): void {
  offered.delete(imageId);
}
