import type { Request, RequestHandler, Response } from 'express';
import type { DicomJsonDataset, FileSpan } from '../../../core/dicom/parsed-instance.ts';
import { dicomwebRootOf } from '../../http/dicomweb-root.ts';
import { NotAcceptable, NotFound } from '../../http/problem.ts';
import type { AccessScope, DicomIndex, StoredInstance } from '../../../storage/index/dicom-index.ts';
import type { ObjectStore } from '../../../storage/objects/object-store.ts';
import type { AccessScopeResolver } from './access-scope.ts';
import { parseFrameList } from './frame-list.ts';
import { findTargetInstances, targetNotFound, targetOf, type Target } from './retrieve-target.ts';
import { newBoundary, writeMultipart, type OutgoingPart } from './multipart-writer.ts';
import type { RenderedMediaType } from './render/image-encoder.ts';
import { PALETTE_DATA_TAGS, pixelModuleOf, UnrenderableInstance, type Palette, type PixelModule } from './render/pixel-module.ts';
import { EXPLICIT_VR_BIG_ENDIAN } from '../../../core/dicom/transfer-syntax.ts';
import type { RenderJob } from './render/render-job.ts';
import { whyNotRenderable } from './render/renderability.ts';
import { RenderPool } from './render/render-pool.ts';
import { chooseRenderedRepresentation, chooseThumbnailType, parseRenderedQuery, type RenderedQuery } from './render/rendered-query.ts';
import { spanSourceFor, type SpanSource } from './inflated-span-reader.ts';

export interface RenderedDependencies {
  index: DicomIndex;
  objects: ObjectStore;
  accessScope: AccessScopeResolver;
  /** Where frames are rendered (worker threads); one is made when not given. */
  pool?: { render(job: RenderJob): Promise<Uint8Array> };
}

/** Thumbnails without a viewport fit in this square. */
export const THUMBNAIL_SIZE = 128;

/**
 * WADO-RS rendered resources and thumbnails (PS3.18 10.4.1, Retrieve Rendered and Thumbnail): frames decoded on
 * the server whatever their transfer syntax, windowed, scaled to the viewport, sent as JPEG or PNG. One handler
 * per kind of resource, sharing one render pool; the route table (gateway/app/route-table.ts) mounts them.
 */
export interface RenderedHandlers {
  /** GET {study}/rendered, {series}/rendered */
  set: RequestHandler;
  /** GET {instance}/rendered */
  instance: RequestHandler;
  /** GET {instance}/frames/{frames}/rendered */
  frames: RequestHandler;
  /** GET .../thumbnail at every level */
  thumbnail: RequestHandler;
}

export function renderedHandlers(deps: RenderedDependencies): RenderedHandlers {
  const pool = deps.pool ?? new RenderPool();
  return {
    set: (req, res) => renderedSet(req, res, deps, pool),
    instance: (req, res) => renderedInstance(req, res, deps, pool),
    frames: (req, res) => renderedFrames(req, res, deps, pool),
    thumbnail: (req, res) => thumbnail(req, res, deps, pool),
  };
}

type Pool = NonNullable<RenderedDependencies['pool']>;

function hasImage(i: StoredInstance): boolean {
  return i.frames.length > 0;
}

async function metadataOf(deps: RenderedDependencies, scope: AccessScope, i: StoredInstance): Promise<DicomJsonDataset> {
  const [text] = await deps.index.findMetadata(scope, { studyInstanceUID: i.studyInstanceUID, seriesInstanceUID: i.seriesInstanceUID, sopInstanceUID: i.sopInstanceUID });
  if (text === undefined) throw new NotFound(`Instance ${i.sopInstanceUID} was not found, or you may not see it.`);
  return JSON.parse(text) as DicomJsonDataset;
}

async function readFrame(objects: SpanSource, objectKey: string, spans: FileSpan[]): Promise<Uint8Array> {
  const parts = await Promise.all(
    spans.map((s) => (s.length === 0 ? Buffer.alloc(0) : objects.readBytes(objectKey, { start: s.offset, end: s.offset + s.length - 1 }))),
  );
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/** Renders one frame (1-based) of an instance whose metadata is known. */
async function renderOne(
  deps: RenderedDependencies,
  pool: Pool,
  instance: StoredInstance,
  metadata: DicomJsonDataset,
  frameNumber: number,
  mediaType: RenderedMediaType,
  query: RenderedQuery,
): Promise<Buffer> {
  let pixel;
  try {
    pixel = pixelModuleOf(metadata, frameNumber - 1);
  } catch (error) {
    throw unrenderable(instance, error);
  }
  const spans = instance.frames[frameNumber - 1];
  const palette = pixel.photometricInterpretation === 'PALETTE COLOR' ? await paletteOf(deps, instance, metadata, pixel) : undefined;
  const job: RenderJob = {
    palette,
    frame: await readFrame(spanSourceFor(deps.objects, instance), instance.objectKey, spans),
    firstBit: spans[0]?.firstBit,
    transferSyntaxUID: instance.transferSyntaxUID,
    pixel,
    window: query.window,
    viewport: query.viewport,
    mediaType,
    quality: query.quality,
  };
  try {
    const image = await pool.render(job);
    return Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  } catch (error) {
    throw unrenderable(instance, error);
  }
}

const palettes = new WeakMap<DicomJsonDataset, Promise<Palette | undefined>>();

/**
 * The three Palette Color Lookup Table Data values: inline in the metadata when small (256 entries), else read
 * from the object as bulk data (up to 65536 entries). Undefined when one is missing (segmented palettes).
 */
function paletteOf(deps: RenderedDependencies, instance: StoredInstance, metadata: DicomJsonDataset, pixel: PixelModule): Promise<Palette | undefined> {
  let palette = palettes.get(metadata);
  if (!palette) {
    palette = (async () => {
      if (!pixel.paletteDescriptors) return undefined;
      const tables: Uint16Array[] = [];
      for (const tag of PALETTE_DATA_TAGS) {
        const attribute = metadata[tag];
        const bulk = instance.bulkData.find((b) => b.path.toUpperCase() === tag);
        let bytes: Uint8Array | undefined;
        if (attribute?.InlineBinary !== undefined) bytes = Buffer.from(attribute.InlineBinary, 'base64');
        else if (bulk) bytes = await readFrame(spanSourceFor(deps.objects, instance), instance.objectKey, [bulk.span]);
        if (!bytes) return undefined;
        const words = new Uint16Array(bytes.length >> 1);
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const littleEndian = instance.transferSyntaxUID !== EXPLICIT_VR_BIG_ENDIAN || attribute?.InlineBinary !== undefined;
        for (let i = 0; i < words.length; i++) words[i] = view.getUint16(i * 2, littleEndian);
        tables.push(words);
      }
      return { descriptors: pixel.paletteDescriptors, red: tables[0], green: tables[1], blue: tables[2] };
    })();
    palettes.set(metadata, palette);
  }
  return palette;
}

function unrenderable(instance: StoredInstance, error: unknown): Error {
  if (error instanceof UnrenderableInstance) {
    return new NotAcceptable(`Instance ${instance.sopInstanceUID} cannot be rendered as an image: ${error.message}.`, 'not-renderable');
  }
  return error instanceof Error ? error : new Error(String(error));
}

function noImage(instance: StoredInstance): NotAcceptable {
  return new NotAcceptable(`Instance ${instance.sopInstanceUID} has no pixel data (SOP Class ${instance.sopClassUID}): there is no image to render.`, 'not-renderable');
}

function sendImage(res: Response, mediaType: RenderedMediaType, image: Buffer): void {
  res.status(200).set('Content-Type', mediaType).set('Content-Length', String(image.length)).end(image);
}

/** An image instance with its metadata, or why it cannot be rendered. */
interface Candidate {
  instance: StoredInstance;
  metadata: DicomJsonDataset;
  whyNot?: string;
}

function candidate(instance: StoredInstance, metadata: DicomJsonDataset): Candidate {
  try {
    return { instance, metadata, whyNot: whyNotRenderable(instance.transferSyntaxUID, pixelModuleOf(metadata)) };
  } catch (error) {
    return { instance, metadata, whyNot: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Study or series: every frame of every image instance, one part each, in series and instance order. Instances
 * that cannot be rendered (a 12-bit lossy JPEG among them) are left out, and a Warning header says so.
 */
async function renderedSet(req: Request, res: Response, deps: RenderedDependencies, pool: Pool): Promise<void> {
  const scope = deps.accessScope(res);
  const target = targetOf(req);
  const query = parseRenderedQuery(req, { thumbnail: false });
  const instances = (await findTargetInstances(deps.index, scope, target)).filter(hasImage);
  const representation = chooseRenderedRepresentation(req, target.seriesInstanceUID ? 'series' : 'study', true);
  const texts = await deps.index.findMetadata(scope, target);
  const bySop = new Map<string, DicomJsonDataset>();
  for (const text of texts) {
    const dataset = JSON.parse(text) as DicomJsonDataset;
    bySop.set(String(dataset['00080018']?.Value?.[0]), dataset);
  }
  const candidates = instances.filter((i) => bySop.has(i.sopInstanceUID)).map((i) => candidate(i, bySop.get(i.sopInstanceUID)!));
  const renderable = candidates.filter((c) => !c.whyNot);
  const left = candidates.filter((c) => c.whyNot);
  if (renderable.length === 0) {
    const why = left.length > 0 ? `: instance ${left[0].instance.sopInstanceUID} cannot be rendered, ${left[0].whyNot}` : ' (only documents or other non-image objects)';
    throw new NotAcceptable(`This ${target.seriesInstanceUID ? 'series' : 'study'} holds no image that can be rendered${why}.`, 'not-renderable');
  }
  if (left.length > 0) {
    const reason = `${left.length} instance(s) left out, e.g. ${left[0].instance.sopInstanceUID}: ${left[0].whyNot}`.replace(/["\\]/g, "'");
    res.set('Warning', `299 astreinte "${reason}"`);
  }
  const root = dicomwebRootOf(req);
  const parts: OutgoingPart[] = renderable.flatMap(({ instance: i, metadata }) =>
    i.frames.map((_, f) => ({
      contentType: representation.mediaType,
      contentLocation: `${instanceUrl(root, i)}/frames/${f + 1}/rendered`,
      body: () => renderOne(deps, pool, i, metadata, f + 1, representation.mediaType, query),
    })),
  )
  await sendParts(res, representation.mediaType, parts);
}

/** An instance: its first frame as one image, or every frame as multipart when that is what is asked. */
async function renderedInstance(req: Request, res: Response, deps: RenderedDependencies, pool: Pool): Promise<void> {
  const scope = deps.accessScope(res);
  const target = targetOf(req);
  const query = parseRenderedQuery(req, { thumbnail: false });
  const [instance] = await findTargetInstances(deps.index, scope, target);
  const representation = chooseRenderedRepresentation(req, 'instance', false);
  if (!hasImage(instance)) throw noImage(instance);
  const metadata = await metadataOf(deps, scope, instance);
  if (!representation.multipart) {
    sendImage(res, representation.mediaType, await renderOne(deps, pool, instance, metadata, 1, representation.mediaType, query));
    return;
  }
  const root = dicomwebRootOf(req);
  const parts = instance.frames.map((_, f) => ({
    contentType: representation.mediaType,
    contentLocation: `${instanceUrl(root, instance)}/frames/${f + 1}/rendered`,
    body: () => renderOne(deps, pool, instance, metadata, f + 1, representation.mediaType, query),
  }));
  await sendParts(res, representation.mediaType, parts);
}

async function renderedFrames(req: Request, res: Response, deps: RenderedDependencies, pool: Pool): Promise<void> {
  const scope = deps.accessScope(res);
  const target = targetOf(req);
  const query = parseRenderedQuery(req, { thumbnail: false });
  const [instance] = await findTargetInstances(deps.index, scope, target);
  if (!hasImage(instance)) throw noImage(instance);
  const frameNumbers = parseFrameList(req.params.frames as string, instance.frames.length);
  const representation = chooseRenderedRepresentation(req, frameNumbers.length === 1 ? 'frame' : 'frame list', frameNumbers.length > 1);
  const metadata = await metadataOf(deps, scope, instance);
  if (!representation.multipart) {
    sendImage(res, representation.mediaType, await renderOne(deps, pool, instance, metadata, frameNumbers[0], representation.mediaType, query));
    return;
  }
  const root = dicomwebRootOf(req);
  const parts = frameNumbers.map((n) => ({
    contentType: representation.mediaType,
    contentLocation: `${instanceUrl(root, instance)}/frames/${n}/rendered`,
    body: () => renderOne(deps, pool, instance, metadata, n, representation.mediaType, query),
  }));
  await sendParts(res, representation.mediaType, parts);
}

/** Instances checked, at most, for a renderable representative image before a thumbnail gives up. */
const THUMBNAIL_TRIES = 20;

/** Series in order; in each, its middle image first, then the others in order. */
function thumbnailCandidates(images: StoredInstance[]): StoredInstance[] {
  const order: StoredInstance[] = [];
  for (const uid of new Set(images.map((i) => i.seriesInstanceUID))) {
    const inSeries = images.filter((i) => i.seriesInstanceUID === uid);
    const middle = Math.floor((inSeries.length - 1) / 2);
    order.push(inSeries[middle], ...inSeries.filter((_, n) => n !== middle));
  }
  return order;
}

/**
 * One small image: a study's representative instance is the middle image of its first series that has one that
 * can be rendered, a series' its middle image, an instance's its middle frame (the middle slice of a CT volume
 * says more than its first). Only the chosen instances' metadata is read.
 */
async function thumbnail(req: Request, res: Response, deps: RenderedDependencies, pool: Pool): Promise<void> {
  const scope = deps.accessScope(res);
  const target = targetOf(req);
  const query = parseRenderedQuery(req, { thumbnail: true });
  query.viewport ??= { width: THUMBNAIL_SIZE, height: THUMBNAIL_SIZE };
  const mediaType = chooseThumbnailType(req);
  const instances = await findTargetInstances(deps.index, scope, target);
  const images = instances.filter(hasImage);
  if (images.length === 0) {
    if (target.sopInstanceUID) throw noImage(instances[0]);
    throw new NotAcceptable('This resource holds no image instance to make a thumbnail of.', 'not-renderable');
  }
  let chosen: Candidate | undefined;
  let refused: Candidate | undefined;
  for (const next of thumbnailCandidates(images).slice(0, THUMBNAIL_TRIES)) {
    const c = candidate(next, await metadataOf(deps, scope, next));
    if (!c.whyNot) {
      chosen = c;
      break;
    }
    refused ??= c;
  }
  if (!chosen) throw unrenderable(refused!.instance, new UnrenderableInstance(refused!.whyNot));
  const { instance, metadata } = chosen;
  const frameNumber = req.params.frames
    ? parseFrameList(req.params.frames as string, instance.frames.length)[0]
    : Math.floor((instance.frames.length - 1) / 2) + 1;
  sendImage(res, mediaType, await renderOne(deps, pool, instance, metadata, frameNumber, mediaType, query));
}

async function sendParts(res: Response, partType: RenderedMediaType, parts: OutgoingPart[]): Promise<void> {
  const boundary = newBoundary();
  res.status(200).set('Content-Type', `multipart/related; type="${partType}"; boundary=${boundary}`);
  await writeMultipart(res, parts, boundary);
}

function instanceUrl(root: string, i: StoredInstance): string {
  return `${root}/studies/${i.studyInstanceUID}/series/${i.seriesInstanceUID}/instances/${i.sopInstanceUID}`;
}
