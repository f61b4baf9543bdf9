import { RenderingEngine } from '@cornerstonejs/core';

export const RENDERING_ENGINE_ID = 'astreinte-reading';

let engine: RenderingEngine | undefined;

/**
 * The tab's one rendering engine: made when the worklist warms the reading page up, kept across the studies
 * opened (each page enables its viewports and disables them on leaving). Its WebGL contexts and the shaders
 * compiled in them are then ready at the click, not made after it.
 */
export function readingEngine(): RenderingEngine {
  engine ??= new RenderingEngine(RENDERING_ENGINE_ID);
  return engine;
}
