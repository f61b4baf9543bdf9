import type { Raster } from './render-frame.ts';

/** PS3.18 8.3.5.1.3 `viewport=vw,vh[,sx,sy,sw,sh]`: the output box, and optionally the source region. */
export interface Viewport {
  width: number;
  height: number;
  /** Source region; a negative width or height flips the image along that axis. */
  source?: { x: number; y: number; width?: number; height?: number };
}

/**
 * Crops the source region and scales it to fit the viewport, keeping its aspect ratio (never stretched):
 * area averaging when shrinking (no aliasing on a 512-pixel CT shown as a 64-pixel thumbnail), bilinear when
 * enlarging.
 */
export function applyViewport(raster: Raster, viewport: Viewport): Raster {
  const sx = clampInt(viewport.source?.x ?? 0, 0, raster.width - 1);
  const sy = clampInt(viewport.source?.y ?? 0, 0, raster.height - 1);
  const sw = viewport.source?.width ?? raster.width - sx;
  const sh = viewport.source?.height ?? raster.height - sy;
  const region = crop(raster, sx, sy, sw, sh);
  const scale = Math.min(viewport.width / region.width, viewport.height / region.height);
  const width = Math.max(1, Math.round(region.width * scale));
  const height = Math.max(1, Math.round(region.height * scale));
  if (width === region.width && height === region.height) return region;
  return scale < 1 ? shrink(region, width, height) : enlarge(region, width, height);
}

function clampInt(v: number, low: number, high: number): number {
  return Math.min(Math.max(Math.trunc(v), low), high);
}

/** The region from (x, y), `w` by `h` pixels (negative: extends left or up and is mirrored), within the image. */
function crop(raster: Raster, x: number, y: number, w: number, h: number): Raster {
  const flipX = w < 0;
  const flipY = h < 0;
  const x0 = flipX ? Math.max(0, x + w + 1) : x;
  const y0 = flipY ? Math.max(0, y + h + 1) : y;
  const x1 = flipX ? x + 1 : Math.min(raster.width, x + Math.max(1, w));
  const y1 = flipY ? y + 1 : Math.min(raster.height, y + Math.max(1, h));
  const width = Math.max(1, x1 - x0);
  const height = Math.max(1, y1 - y0);
  if (!flipX && !flipY && x0 === 0 && y0 === 0 && width === raster.width && height === raster.height) return raster;
  const c = raster.channels;
  const data = new Uint8Array(width * height * c);
  for (let row = 0; row < height; row++) {
    const srcRow = flipY ? y1 - 1 - row : y0 + row;
    for (let col = 0; col < width; col++) {
      const srcCol = flipX ? x1 - 1 - col : x0 + col;
      for (let k = 0; k < c; k++) data[(row * width + col) * c + k] = raster.data[(srcRow * raster.width + srcCol) * c + k];
    }
  }
  return { width, height, channels: c, data };
}

function shrink(src: Raster, width: number, height: number): Raster {
  const c = src.channels;
  const data = new Uint8Array(width * height * c);
  const fx = src.width / width;
  const fy = src.height / height;
  const sums = new Float64Array(c);
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor(y * fy);
    const y1 = Math.max(y0 + 1, Math.min(src.height, Math.floor((y + 1) * fy)));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor(x * fx);
      const x1 = Math.max(x0 + 1, Math.min(src.width, Math.floor((x + 1) * fx)));
      sums.fill(0);
      for (let sy = y0; sy < y1; sy++) {
        for (let sx = x0; sx < x1; sx++) {
          const i = (sy * src.width + sx) * c;
          for (let k = 0; k < c; k++) sums[k] += src.data[i + k];
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      for (let k = 0; k < c; k++) data[(y * width + x) * c + k] = Math.round(sums[k] / n);
    }
  }
  return { width, height, channels: c, data };
}

function enlarge(src: Raster, width: number, height: number): Raster {
  const c = src.channels;
  const data = new Uint8Array(width * height * c);
  const fx = src.width / width;
  const fy = src.height / height;
  for (let y = 0; y < height; y++) {
    const sy = Math.min(src.height - 1, Math.max(0, (y + 0.5) * fy - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(src.height - 1, y0 + 1);
    const wy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = Math.min(src.width - 1, Math.max(0, (x + 0.5) * fx - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(src.width - 1, x0 + 1);
      const wx = sx - x0;
      for (let k = 0; k < c; k++) {
        const a = src.data[(y0 * src.width + x0) * c + k];
        const b = src.data[(y0 * src.width + x1) * c + k];
        const d = src.data[(y1 * src.width + x0) * c + k];
        const e = src.data[(y1 * src.width + x1) * c + k];
        data[(y * width + x) * c + k] = Math.round((a * (1 - wx) + b * wx) * (1 - wy) + (d * (1 - wx) + e * wx) * wy);
      }
    }
  }
  return { width, height, channels: c, data };
}
