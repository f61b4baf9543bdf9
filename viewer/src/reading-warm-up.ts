import { cache, Enums, type StackViewport } from '@cornerstonejs/core';
import dicomImageLoader from '@cornerstonejs/dicom-image-loader';
import { DICOMWEB } from './api.ts';
import { initCornerstone } from './cornerstone-setup.ts';
import type { DicomJson } from './dicom-json.ts';
import { offerFrame, withdrawFrame } from './frame-registry.ts';
import { readingEngine } from './reading-engine.ts';

/**
 * What opening a study costs before its first image whatever the study, done once while the reader looks at
 * the worklist: Cornerstone's start (its WebGL probe, the decode workers' scripts), the rendering engine's WebGL
 * contexts, and one small synthetic CT slice decoded by a decode worker and drawn out of sight, which compiles
 * the shaders a CT slice is drawn with. The click then waits only for the study's own metadata and first frame.
 */
const VIEWPORT_ID = 'warm-up';
const SIZE = 64;
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
const IMAGE_ID = `wadors:${DICOMWEB}/warm-up/frames/1`;

let warm: Promise<void> | undefined;

export function warmUpReading(): Promise<void> {
  warm ??= (async () => {
    await initCornerstone();
    readingEngine();
    // Only a head start: the reading page works without it (a first image then costs these compilations).
    await drawSyntheticSlice().catch((error: unknown) => console.warn('Astreinte: reading warm-up not done', error));
  })();
  return warm;
}

async function drawSyntheticSlice(): Promise<void> {
  const engine = readingEngine();
  const element = document.createElement('div');
  // Laid out (Cornerstone sizes its canvas from the element) but out of sight and out of the accessibility tree.
  element.style.cssText = `position:fixed;left:-${4 * SIZE}px;top:0;width:${SIZE}px;height:${SIZE}px;pointer-events:none`;
  element.setAttribute('aria-hidden', 'true');
  element.dataset.viewport = VIEWPORT_ID;
  document.body.append(element);
  dicomImageLoader.wadors.metaDataManager.add(IMAGE_ID, syntheticCtSlice() as unknown as Parameters<typeof dicomImageLoader.wadors.metaDataManager.add>[1]);
  offerFrame(IMAGE_ID, { pixelData: syntheticPixels(), transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN });
  try {
    engine.enableElement({ viewportId: VIEWPORT_ID, type: Enums.ViewportType.STACK, element });
    const viewport = engine.getViewport(VIEWPORT_ID) as StackViewport;
    const drawn = new Promise<void>((resolve) => {
      const onRendered = (): void => {
        if (!cache.isLoaded(IMAGE_ID)) return;
        element.removeEventListener(Enums.Events.IMAGE_RENDERED, onRendered);
        resolve();
      };
      element.addEventListener(Enums.Events.IMAGE_RENDERED, onRendered);
    });
    await viewport.setStack([IMAGE_ID]);
    viewport.render();
    await Promise.race([drawn, new Promise((_, reject) => setTimeout(() => reject(new Error('no render within 5 s')), 5_000))]);
  } finally {
    withdrawFrame(IMAGE_ID);
    if (engine.getViewport(VIEWPORT_ID)) engine.disableElement(VIEWPORT_ID);
    element.remove();
    cache.removeImageLoadObject(IMAGE_ID, { force: true });
    dicomImageLoader.wadors.metaDataManager.remove(IMAGE_ID);
  }
}

/** The attributes a CT slice is drawn with (signed 16-bit, HU = stored − 1024), as a series' /metadata gives them. */
function syntheticCtSlice(): DicomJson {
  const us = (value: number) => ({ vr: 'US', Value: [value] });
  const ds = (...values: number[]) => ({ vr: 'DS', Value: values });
  return {
    '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] },
    '00080060': { vr: 'CS', Value: ['CT'] },
    '00200032': ds(0, 0, 0),
    '00200037': ds(1, 0, 0, 0, 1, 0),
    '00280002': us(1),
    '00280004': { vr: 'CS', Value: ['MONOCHROME2'] },
    '00280010': us(SIZE),
    '00280011': us(SIZE),
    '00280030': ds(0.5, 0.5),
    '00280100': us(16),
    '00280101': us(16),
    '00280102': us(15),
    '00280103': us(1),
    '00281050': ds(40),
    '00281051': ds(400),
    '00281052': ds(-1024),
    '00281053': ds(1),
  };
}

/** A ramp of values, so that the slice is drawn as an image, not a flat field. */
function syntheticPixels(): Uint8Array {
  const pixels = new Int16Array(SIZE * SIZE);
  for (let i = 0; i < pixels.length; i++) pixels[i] = i % 2048;
  return new Uint8Array(pixels.buffer);
}
