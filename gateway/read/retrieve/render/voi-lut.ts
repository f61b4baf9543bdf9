import type { WindowSetting } from './pixel-module.ts';

/**
 * The VOI LUT functions of PS3.3 C.11.2.1.2 (LINEAR, LINEAR_EXACT, SIGMOID), from modality values to 0..255.
 * PS3.18's `window=center,width,function` names them linear, linear-exact and sigmoid.
 */
export function voiFunction(window: WindowSetting): (x: number) => number {
  const { center: c, width: w } = window;
  const yMax = 255;
  switch (window.function) {
    case 'SIGMOID':
      return (x) => yMax / (1 + Math.exp((-4 * (x - c)) / w));
    case 'LINEAR_EXACT':
      return (x) => (x <= c - w / 2 ? 0 : x > c + w / 2 ? yMax : ((x - c) / w + 0.5) * yMax);
    case 'LINEAR': {
      // C.11.2.1.2.1: width 1 is a threshold at the center.
      if (w <= 1) return (x) => (x < c - 0.5 ? 0 : yMax);
      const low = c - 0.5 - (w - 1) / 2;
      const high = c - 0.5 + (w - 1) / 2;
      return (x) => (x <= low ? 0 : x > high ? yMax : ((x - (c - 0.5)) / (w - 1) + 0.5) * yMax);
    }
  }
}
