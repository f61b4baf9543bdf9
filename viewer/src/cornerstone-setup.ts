import { init as initCore, setUseCPURendering } from '@cornerstonejs/core';
import dicomImageLoader from '@cornerstonejs/dicom-image-loader';
import {
  AngleTool,
  addTool,
  CrosshairsTool,
  EllipticalROITool,
  init as initTools,
  LengthTool,
  PanTool,
  RectangleROITool,
  ReferenceLinesTool,
  StackScrollTool,
  WindowLevelTool,
  ZoomTool,
} from '@cornerstonejs/tools';
import { cpuRenderingRequested } from './rendering-choice.ts';
import { currentSession } from './session.ts';

let ready: Promise<void> | undefined;

/**
 * Initialises Cornerstone3D once, in the order its documentation gives: core, then the image loader (whose
 * init would wipe registered metadata if called again), then the tools.
 */
export function initCornerstone(): Promise<void> {
  ready ??= (async () => {
    // Core probes WebGL itself (and falls back to CPU rendering without it). One WebGL context per stack viewport
    // shown at once (the study and its prior; MPR's volumes share the first), not core's pool of 7: each costs
    // time to create and holds GPU memory for the tab's life.
    initCore({ rendering: { webGlContextCount: 2 }, debug: {} });
    if (cpuRenderingRequested()) setUseCPURendering(true);
    dicomImageLoader.init({
      maxWebWorkers: Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2)),
      // No wasmBasePath: Vite bundles the codec .wasm files beside the decode worker, which finds them itself.
      // The token on every request of the loader (frames), as a headers object (streaming requests have no xhr).
      beforeSend: () => {
        const session = currentSession();
        const headers: Record<string, string> = {};
        if (session) headers.Authorization = `Bearer ${session.token}`;
        return headers;
      },
    });
    initTools();
    for (const tool of [CrosshairsTool, WindowLevelTool, PanTool, ZoomTool, StackScrollTool, LengthTool, AngleTool, EllipticalROITool, RectangleROITool, ReferenceLinesTool]) {
      addTool(tool);
    }
  })();
  return ready;
}
