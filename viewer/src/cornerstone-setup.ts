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

export function webGlAvailable(): boolean {
  try {
    return Boolean(document.createElement('canvas').getContext('webgl2'));
  } catch {
    return false;
  }
}

/**
 * Initialises Cornerstone3D once, in the order its documentation gives: core, then the image loader (whose
 * init would wipe registered metadata if called again), then the tools.
 */
export function initCornerstone(): Promise<void> {
  ready ??= (async () => {
    const cpu = cpuRenderingRequested() || !webGlAvailable();
    initCore();
    if (cpu) setUseCPURendering(true);
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
