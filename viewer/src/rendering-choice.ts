const RENDERING_KEY = 'astreinte.rendering';

/**
 * `?rendering=cpu` (kept for the tab) forces Cornerstone's CPU rendering, as a machine without WebGL gets
 * anyway: headless Chromium still has SwiftShader WebGL, so the tests reach the CPU path this way.
 * `?rendering=webgl` goes back to the default.
 */
export function cpuRenderingRequested(): boolean {
  const asked = new URLSearchParams(location.search).get('rendering');
  if (asked === 'cpu' || asked === 'webgl') sessionStorage.setItem(RENDERING_KEY, asked);
  return sessionStorage.getItem(RENDERING_KEY) === 'cpu';
}
