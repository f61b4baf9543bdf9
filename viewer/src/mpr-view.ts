import {
  cache,
  cornerstoneStreamingImageVolumeLoader,
  Enums,
  setVolumesForViewports,
  volumeLoader,
  type RenderingEngine,
  type Types,
} from '@cornerstonejs/core';
import { CrosshairsTool, Enums as ToolEnums, PanTool, StackScrollTool, ToolGroupManager, WindowLevelTool, ZoomTool } from '@cornerstonejs/tools';
import { h } from './dom.ts';

const TOOL_GROUP_ID = 'mpr-tools';
export const MPR_VIEWPORTS = ['mpr-axial', 'mpr-coronal', 'mpr-sagittal'] as const;
const ORIENTATIONS = [Enums.OrientationAxis.AXIAL, Enums.OrientationAxis.CORONAL, Enums.OrientationAxis.SAGITTAL];
let registered = false;

/**
 * Axial, coronal and sagittal reformats of a CT series with crosshairs (WebGL only: Cornerstone's volume
 * viewports have no CPU path). The volume streams from the same WADO-RS frames the stack view already cached.
 */
export async function openMpr(engine: RenderingEngine, container: HTMLElement, seriesUid: string, imageIds: string[]): Promise<() => void> {
  if (!registered) {
    volumeLoader.registerVolumeLoader('cornerstoneStreamingImageVolume', cornerstoneStreamingImageVolumeLoader as unknown as Parameters<typeof volumeLoader.registerVolumeLoader>[1]);
    registered = true;
  }
  const elements = MPR_VIEWPORTS.map((id) => h('div', { class: 'mpr-viewport', 'data-viewport': id }));
  container.replaceChildren(...elements);
  container.hidden = false;
  // enableElement, not setViewports: the latter would disable the stack viewport we come back to.
  MPR_VIEWPORTS.forEach((viewportId, index) =>
    engine.enableElement({
      viewportId,
      type: Enums.ViewportType.ORTHOGRAPHIC,
      element: elements[index],
      defaultOptions: { orientation: ORIENTATIONS[index], background: [0, 0, 0] as Types.Point3 },
    }),
  );
  const volumeId = `cornerstoneStreamingImageVolume:${seriesUid}`;
  const volume = cache.getVolume(volumeId) ?? (await volumeLoader.createAndCacheVolume(volumeId, { imageIds }));
  (volume as { load?: () => void }).load?.();
  await setVolumesForViewports(engine, [{ volumeId }], [...MPR_VIEWPORTS]);

  const group = ToolGroupManager.createToolGroup(TOOL_GROUP_ID)!;
  for (const tool of [CrosshairsTool, WindowLevelTool, PanTool, ZoomTool, StackScrollTool]) group.addTool(tool.toolName);
  for (const id of MPR_VIEWPORTS) group.addViewport(id, engine.id);
  const { MouseBindings } = ToolEnums;
  group.setToolActive(CrosshairsTool.toolName, { bindings: [{ mouseButton: MouseBindings.Primary }] });
  group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
  group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
  group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
  engine.renderViewports([...MPR_VIEWPORTS]);
  return () => {
    ToolGroupManager.destroyToolGroup(TOOL_GROUP_ID);
    for (const id of MPR_VIEWPORTS) engine.disableElement(id);
    container.replaceChildren();
    container.hidden = true;
  };
}
