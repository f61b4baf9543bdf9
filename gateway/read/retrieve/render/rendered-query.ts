import type { Request } from 'express';
import { negotiateOrThrow, type Offer } from '../../../http/accept.ts';
import { BadRequest } from '../../../http/problem.ts';
import type { RenderedMediaType } from './image-encoder.ts';
import type { WindowSetting } from './pixel-module.ts';
import type { Viewport } from './viewport.ts';

/** What a `/rendered` or `/thumbnail` request asks for (PS3.18 8.3.5, 10.4.1.1.3). */
export interface RenderedQuery {
  window?: WindowSetting;
  viewport?: Viewport;
  /** 1-100, for JPEG. */
  quality: number;
}

export interface RenderedRepresentation {
  /** The image type of the body, or of each part. */
  mediaType: RenderedMediaType;
  multipart: boolean;
}

const DEFAULT_QUALITY = 90;
/** Largest viewport side: a rendered image is built in memory (4096x4096 RGB: 48 MiB), its size is bounded. */
const MAX_VIEWPORT = 4096;
const IMAGE_TYPES: RenderedMediaType[] = ['image/jpeg', 'image/png', 'image/gif'];

const FUNCTIONS: Record<string, WindowSetting['function']> = {
  linear: 'LINEAR',
  'linear-exact': 'LINEAR_EXACT',
  sigmoid: 'SIGMOID',
};

function single(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new BadRequest(`The query parameter ${name} must be given once, as text.`);
  return value;
}

export function parseRenderedQuery(req: Request, options: { thumbnail: boolean }): RenderedQuery {
  const query: RenderedQuery = { quality: parseQuality(single(req, 'quality')) };
  const viewport = single(req, 'viewport');
  if (viewport !== undefined) query.viewport = parseViewport(viewport);
  if (!options.thumbnail) {
    const window = single(req, 'window');
    if (window !== undefined) query.window = parseWindow(window);
    // annotation (patient, technique) may be ignored (PS3.18 8.3.5.1.1): burning in demographics is not done.
    single(req, 'annotation');
    parseIccProfile(single(req, 'iccprofile'));
  }
  return query;
}

function parseQuality(text: string | undefined): number {
  if (text === undefined) return DEFAULT_QUALITY;
  if (!/^\d{1,3}$/.test(text) || Number(text) < 1 || Number(text) > 100) {
    throw new BadRequest(`quality=${JSON.stringify(text.slice(0, 40))} is invalid: give an integer from 1 to 100.`);
  }
  return Number(text);
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** `window=center,width[,function]`, function linear (default), linear-exact or sigmoid. */
export function parseWindow(text: string): WindowSetting {
  const [center, width, fn, ...rest] = text.split(',').map((s) => s.trim());
  const bad = (why: string) =>
    new BadRequest(`window=${JSON.stringify(text.slice(0, 60))} is invalid: ${why}. Give window=center,width,function, e.g. window=40,400,linear.`);
  if (rest.length > 0 || center === undefined || width === undefined) throw bad('it needs a center and a width, then optionally a function');
  if (!NUMBER.test(center) || !NUMBER.test(width)) throw bad('center and width must be numbers');
  const fnName = (fn ?? 'linear').toLowerCase();
  const setting: WindowSetting = { center: Number(center), width: Number(width), function: FUNCTIONS[fnName] };
  if (!setting.function) throw bad('the function must be linear, linear-exact or sigmoid');
  if (setting.function === 'LINEAR' ? setting.width < 1 : setting.width <= 0) {
    throw bad(setting.function === 'LINEAR' ? 'a linear window is at least 1 wide' : 'the width must be positive');
  }
  return setting;
}

/** `viewport=vw,vh` or `viewport=vw,vh,sx,sy,sw,sh` (sw, sh may be empty: to the image's edge; negative: flipped). */
export function parseViewport(text: string): Viewport {
  const values = text.split(',').map((s) => s.trim());
  const bad = (why: string) =>
    new BadRequest(`viewport=${JSON.stringify(text.slice(0, 60))} is invalid: ${why}. Give viewport=vw,vh or viewport=vw,vh,sx,sy,sw,sh, e.g. viewport=256,256.`);
  if (values.length !== 2 && values.length !== 6) throw bad('it has 2 or 6 values');
  const integer = (s: string) => (/^-?\d{1,6}$/.test(s) ? Number(s) : NaN);
  const [vw, vh] = values.slice(0, 2).map(integer);
  if (!(vw >= 1 && vw <= MAX_VIEWPORT && vh >= 1 && vh <= MAX_VIEWPORT)) throw bad(`vw and vh are integers from 1 to ${MAX_VIEWPORT}`);
  const viewport: Viewport = { width: vw, height: vh };
  if (values.length === 6) {
    const [sx, sy] = values.slice(2, 4).map(integer);
    const [sw, sh] = values.slice(4).map((s) => (s === '' ? undefined : integer(s)));
    if (!(sx >= 0 && sy >= 0)) throw bad('sx and sy are integers from 0');
    if ([sw, sh].some((v) => v !== undefined && (Number.isNaN(v) || v === 0))) throw bad('sw and sh are non-zero integers, or empty');
    viewport.source = { x: sx, y: sy, width: sw, height: sh };
  }
  return viewport;
}

/** ICC profiles are not embedded: `no` (the default) is the only value that can be honoured. */
function parseIccProfile(text: string | undefined): void {
  if (text === undefined || text.toLowerCase() === 'no') return;
  throw new BadRequest(
    `iccprofile=${JSON.stringify(text.slice(0, 40))} cannot be honoured: rendered images are sent without an ICC profile. Leave the parameter out or give iccprofile=no.`,
  );
}

/**
 * The image type to send, from the `accept` query parameter (PS3.18 8.3.3.1, it wins over the header) or the
 * Accept header. `several`: the resource is several images (study, series, frame list), sent as
 * `multipart/related` only.
 */
export function chooseRenderedRepresentation(req: Request, resource: string, several: boolean): RenderedRepresentation {
  const accept = single(req, 'accept') ?? req.get('accept');
  const offers: Offer[] = [
    ...(several ? [] : IMAGE_TYPES.map((mediaType) => ({ mediaType }))),
    ...IMAGE_TYPES.map((partType) => ({ mediaType: 'multipart/related', partType })),
  ];
  const choice = negotiateOrThrow(accept, offers, resource);
  const multipart = choice.mediaType === 'multipart/related';
  return { mediaType: (multipart ? choice.partType : choice.mediaType) as RenderedMediaType, multipart };
}

/** Thumbnails are one image: JPEG, PNG or GIF. */
export function chooseThumbnailType(req: Request): RenderedMediaType {
  const accept = single(req, 'accept') ?? req.get('accept');
  return negotiateOrThrow(accept, IMAGE_TYPES.map((mediaType) => ({ mediaType })), 'thumbnail').mediaType as RenderedMediaType;
}
