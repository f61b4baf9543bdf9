import { cache, Enums, imageLoader } from '@cornerstonejs/core';
import { ApiError, DICOMWEB } from './api.ts';
import { offerFrame, withdrawFrame } from './frame-registry.ts';
import type { StreamEvent, StreamRequest } from './series-stream-worker.ts';
import { currentSession } from './session.ts';

/**
 * A whole series' frames in one request: the gateway's Pixel Data resource (PS3.18 10.4.1.1.6), instead of one
 * WADO-RS frame request per slice. Each frame that arrives is offered to Cornerstone's WADO-RS image loader
 * (frame-registry.ts), so it is decoded and cached exactly as a frame it fetched itself, under the same image id.
 */
const ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';
/** Frames handed to the decoder and not yet cached: the stream waits beyond this (memory stays bounded). */
const MAX_DECODING = 24;
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

export interface SeriesPixelLoad {
  /** Resolves with the number of frames handed to the loader once the answer has been read to its end. */
  done: Promise<number>;
  cancel(): void;
}

/** Loads every frame of the series into Cornerstone's cache; `imageIds` are the series' `wadors:` frame ids. */
export function loadSeriesPixels(study: string, series: string, imageIds: readonly string[]): SeriesPixelLoad {
  const controller = new AbortController();
  const done = readSeries(study, series, new Set(imageIds), controller.signal);
  done.catch(() => undefined);
  return { done, cancel: () => controller.abort() };
}

async function readSeries(study: string, series: string, wanted: Set<string>, signal: AbortSignal): Promise<number> {
  const worker = new Worker(new URL('./series-stream-worker.ts', import.meta.url), { type: 'module' });
  let handed = 0;
  try {
    return await new Promise<number>((resolve, reject) => {
      signal.addEventListener('abort', () => reject(new DOMException('cancelled', 'AbortError')));
      worker.onerror = (event) => reject(new Error(event.message || 'the pixel data reader failed'));
      worker.onmessage = (event: MessageEvent<StreamEvent>) => {
        const message = event.data;
        if (message.kind === 'end') resolve(handed);
        else if (message.kind === 'refused') reject(new ApiError(message.status, message.detail));
        else if (message.kind === 'failed') reject(new Error(message.message));
        else {
          const location = message.contentLocation;
          const imageId = `wadors:${DICOMWEB}${location.slice(location.indexOf('/studies/'))}`;
          // A slice the reader scrolled to before it arrived was asked for on its own: already loading or loaded.
          if (!wanted.has(imageId) || cache.getImageLoadObject(imageId) || cache.isLoaded(imageId)) {
            worker.postMessage({ kind: 'credit', frames: 1 } satisfies StreamRequest);
            return;
          }
          offerFrame(imageId, { pixelData: new Uint8Array(message.body), transferSyntaxUid: transferSyntaxOf(message.contentType) });
          handed++;
          void imageLoader
            .loadAndCacheImage(imageId, { priority: 0, requestType: Enums.RequestType.Prefetch })
            .catch(() => undefined) // a frame that fails here is asked for again, on its own, when shown
            .finally(() => {
              withdrawFrame(imageId);
              worker.postMessage({ kind: 'credit', frames: 1 } satisfies StreamRequest);
            });
        }
      };
      const request: StreamRequest = { kind: 'start', url: `${DICOMWEB}/studies/${study}/series/${series}/pixeldata`, token: currentSession()?.token, accept: ACCEPT };
      worker.postMessage(request);
      worker.postMessage({ kind: 'credit', frames: MAX_DECODING } satisfies StreamRequest);
    });
  } finally {
    worker.terminate();
  }
}

function transferSyntaxOf(contentType: string | undefined): string {
  return /transfer-syntax="?([0-9.]+)"?/i.exec(contentType ?? '')?.[1] ?? EXPLICIT_VR_LITTLE_ENDIAN;
}
