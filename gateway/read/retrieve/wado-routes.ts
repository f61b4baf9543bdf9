import type { Request, RequestHandler, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { FileSpan } from '../../../core/dicom/parsed-instance.ts';
import { parseRange } from '../../http/byte-range.ts';
import { MetadataCache } from './metadata-cache.ts';
import { metadataDocument } from './metadata-document.ts';
import { dicomwebRootOf } from '../../http/dicomweb-root.ts';
import { NotFound } from '../../http/problem.ts';
import type { ObjectStore } from '../../../storage/objects/object-store.ts';
import type { DicomIndex, StoredInstance } from '../../../storage/index/dicom-index.ts';
import type { AccessScopeResolver } from './access-scope.ts';
import { parseFrameList } from './frame-list.ts';
import { findTargetInstances, targetNotFound, targetOf, type Target } from './retrieve-target.ts';
import { multipartLength, newBoundary, writeMultipart, type OutgoingPart } from './multipart-writer.ts';
import {
  chooseBulkDataRepresentation,
  chooseFrameRepresentation,
  chooseInstanceRepresentation,
  chooseMetadataRepresentation,
  choosePixelDataRepresentation,
} from './representation.ts';
import { spanSourceFor, type SpanSource } from './inflated-span-reader.ts';

export interface RetrieveDependencies {
  index: DicomIndex;
  objects: ObjectStore;
  log: Logger;
  accessScope: AccessScopeResolver;
  /** Metadata answers kept for reuse, shared by the study, series and instance levels. */
  metadataCache: MetadataCache;
}

/** Bytes of metadata answers kept for reuse. */
export const DEFAULT_METADATA_CACHE_BYTES = 32 << 20;

/**
 * WADO-RS (PS3.18 10.4): instances, metadata, frames and bulk data, streamed from the object store. One handler
 * per resource; the route table (gateway/app/route-table.ts) mounts them at the study, series and instance levels.
 */
export function retrieveInstancesHandler(deps: RetrieveDependencies): RequestHandler {
  return (req, res) => retrieveInstances(req, res, deps);
}

export function retrieveMetadataHandler(deps: RetrieveDependencies): RequestHandler {
  return (req, res) => retrieveMetadata(req, res, deps, deps.metadataCache);
}

export function retrieveFramesHandler(deps: RetrieveDependencies): RequestHandler {
  return (req, res) => retrieveFrames(req, res, deps);
}

/** Pixel Data resources (PS3.18 10.4.1.1.6): every frame of a study, series or instance, one part each. */
export function retrievePixelDataHandler(deps: RetrieveDependencies): RequestHandler {
  return (req, res) => retrievePixelData(req, res, deps);
}

export function retrieveBulkDataHandler(deps: RetrieveDependencies): RequestHandler {
  return (req, res) => retrieveBulkData(req, res, deps);
}

function instanceUrl(root: string, i: StoredInstance): string {
  return `${root}/studies/${i.studyInstanceUID}/series/${i.seriesInstanceUID}/instances/${i.sopInstanceUID}`;
}

async function retrieveInstances(req: Request, res: Response, deps: RetrieveDependencies): Promise<void> {
  const scope = deps.accessScope(res);
  const target = targetOf(req);
  const instances = await findTargetInstances(deps.index, scope, target);
  const representation = chooseInstanceRepresentation(req.get('accept'), instances.map((i) => i.transferSyntaxUID));
  const boundary = newBoundary();
  const root = dicomwebRootOf(req);
  const parts: OutgoingPart[] = instances.map((i) => ({
    contentType: `application/dicom; transfer-syntax=${representation.transferSyntaxFor(i.transferSyntaxUID)}`,
    contentLocation: instanceUrl(root, i),
    length: i.size,
    body: () => readWholeObject(deps.objects, i),
  }));
  res.status(200);
  res.set('Content-Type', `multipart/related; type="application/dicom"; boundary=${boundary}`);
  // Sizes come from the index, so the whole length is known before the first byte (no chunked framing).
  res.set('Content-Length', String(multipartLength(boundary, parts, instances.map((i) => i.size))));
  await writeMultipart(res, parts, boundary);
}

async function retrieveMetadata(req: Request, res: Response, deps: RetrieveDependencies, cache: MetadataCache): Promise<void> {
  const scope = deps.accessScope(res);
  const target = targetOf(req);
  chooseMetadataRepresentation(req.get('accept'));
  // The version query also applies the caller's access: what they may not see is not found, cached or not.
  const version = await deps.index.metadataVersion(scope, target);
  if (version === null) throw targetNotFound(target);
  const root = dicomwebRootOf(req);
  const key = [target.studyInstanceUID, target.seriesInstanceUID ?? '', target.sopInstanceUID ?? '', root].join('|');
  let document = cache.get(key, version);
  if (!document) {
    const texts = await deps.index.findMetadata(scope, target);
    if (texts.length === 0) throw targetNotFound(target);
    document = metadataDocument(texts, root);
    // Built from rows read after the version: cached under it only if nothing was added in between.
    if ((await deps.index.metadataVersion(scope, target)) === version) cache.set(key, version, document);
  }
  res.status(200).type('application/dicom+json').send(document);
}

async function findInstance(req: Request, res: Response, deps: RetrieveDependencies): Promise<StoredInstance> {
  const scope = deps.accessScope(res);
  const target = targetOf(req);
  const [instance] = await findTargetInstances(deps.index, scope, target);
  return instance;
}

async function retrieveFrames(req: Request, res: Response, deps: RetrieveDependencies): Promise<void> {
  const instance = await findInstance(req, res, deps);
  if (instance.numberOfFrames === 0 || instance.frames.length === 0) {
    throw new NotFound(`Instance ${instance.sopInstanceUID} has no pixel data, so it has no frames.`);
  }
  const frameNumbers = parseFrameList(req.params.frames as string, instance.frames.length);
  const representation = chooseFrameRepresentation(req.get('accept'), instance.transferSyntaxUID, frameNumbers.length);
  const spansOf = (n: number) => instance.frames[n - 1];

  if (!representation.multipart) {
    await sendSingle(req, res, spanSourceFor(deps.objects, instance), instance.objectKey, spansOf(frameNumbers[0]), representation.contentType);
    return;
  }
  const boundary = newBoundary();
  const root = dicomwebRootOf(req);
  const parts: OutgoingPart[] = frameNumbers.map((n) => ({
    contentType: representation.contentType,
    contentLocation: `${instanceUrl(root, instance)}/frames/${n}`,
    body: () => readSpans(spanSourceFor(deps.objects, instance), instance.objectKey, spansOf(n)),
  }));
  res.status(200);
  res.set('Content-Type', `multipart/related; type="${representation.partType}"; boundary=${boundary}`);
  res.set('Content-Length', String(multipartLength(boundary, parts, frameNumbers.map((n) => spanLength(spansOf(n))))));
  await writeMultipart(res, parts, boundary);
}

/**
 * Every frame of the target's image instances in one multipart answer, in series then instance order, each
 * part labelled with its transfer syntax, its frame URL (Content-Location) and its length (Content-Length), so
 * that a viewer fills a whole series with one request instead of one per slice. Each instance's representation
 * is chosen before the first byte: one that cannot be sent as asked is a 406 naming it, not a cut answer.
 */
async function retrievePixelData(req: Request, res: Response, deps: RetrieveDependencies): Promise<void> {
  const scope = deps.accessScope(res);
  const target = targetOf(req);
  const imaging = (await findTargetInstances(deps.index, scope, target)).filter((i) => i.numberOfFrames > 0 && i.frames.length > 0);
  if (imaging.length === 0) throw new NotFound(`${target.sopInstanceUID ? 'This instance has' : 'None of these instances has'} pixel data.`);
  const accept = req.get('accept');
  const root = dicomwebRootOf(req);
  const parts: OutgoingPart[] = [];
  let partType: string | undefined;
  for (const instance of imaging) {
    const representation = choosePixelDataRepresentation(accept, instance.transferSyntaxUID, instance.sopInstanceUID);
    partType ??= representation.partType;
    const source = spanSourceFor(deps.objects, instance);
    instance.frames.forEach((spans, index) => {
      parts.push({
        contentType: representation.contentType,
        contentLocation: `${instanceUrl(root, instance)}/frames/${index + 1}`,
        length: spanLength(spans),
        lengthHeader: true,
        body: () => readSpans(source, instance.objectKey, spans),
      });
    });
  }
  const boundary = newBoundary();
  res.status(200);
  res.set('Content-Type', `multipart/related; type="${partType}"; boundary=${boundary}`);
  res.set('Content-Length', String(multipartLength(boundary, parts, parts.map((p) => p.length ?? 0))));
  await writeMultipart(res, parts, boundary);
}

async function retrieveBulkData(req: Request, res: Response, deps: RetrieveDependencies): Promise<void> {
  const instance = await findInstance(req, res, deps);
  const rawPath = req.params.path as unknown;
  const path = (Array.isArray(rawPath) ? rawPath.join('/') : String(rawPath)).toUpperCase();
  const element = instance.bulkData.find((b) => b.path.toUpperCase() === path);
  if (!element) throw new NotFound(`Instance ${instance.sopInstanceUID} has no bulk data at ${JSON.stringify(path.slice(0, 80))}.`);

  const encapsulatedPixelData = path === '7FE00010' && !isNativeSyntax(instance.transferSyntaxUID);
  if (encapsulatedPixelData) {
    // Compressed pixel data is served frame by frame, each part labelled with its transfer syntax.
    const representation = chooseFrameRepresentation(req.get('accept'), instance.transferSyntaxUID, instance.frames.length);
    const boundary = newBoundary();
    const parts: OutgoingPart[] = instance.frames.map((spans) => ({
      contentType: representation.contentType,
      body: () => readSpans(spanSourceFor(deps.objects, instance), instance.objectKey, spans),
    }));
    res.status(200).set('Content-Type', `multipart/related; type="${representation.partType}"; boundary=${boundary}`);
    await writeMultipart(res, parts, boundary);
    return;
  }
  const representation =
    path === '7FE00010'
      ? chooseFrameRepresentation(req.get('accept'), instance.transferSyntaxUID, 1)
      : chooseBulkDataRepresentation(req.get('accept'));
  if (!representation.multipart) {
    await sendSingle(req, res, spanSourceFor(deps.objects, instance), instance.objectKey, [element.span], representation.contentType);
    return;
  }
  const boundary = newBoundary();
  const parts: OutgoingPart[] = [
    { contentType: representation.contentType, body: () => readSpans(spanSourceFor(deps.objects, instance), instance.objectKey, [element.span]) },
  ];
  res.status(200).set('Content-Type', `multipart/related; type="${representation.partType}"; boundary=${boundary}`);
  res.set('Content-Length', String(multipartLength(boundary, parts, [element.span.length])));
  await writeMultipart(res, parts, boundary);
}

/** A single-part octet-stream answer, with `Range` support (progressive loading). */
async function sendSingle(
  req: Request,
  res: Response,
  source: SpanSource,
  objectKey: string,
  spans: FileSpan[],
  contentType: string,
): Promise<void> {
  const total = spanLength(spans);
  res.set('Accept-Ranges', 'bytes');
  res.set('Content-Type', contentType);
  const range = spans.length === 1 ? parseRange(req.get('range'), total) : undefined;
  if (range) {
    const start = spans[0].offset + range.start;
    res.status(206);
    res.set('Content-Range', `bytes ${range.start}-${range.end}/${total}`);
    res.set('Content-Length', String(range.end - range.start + 1));
    await pipeline(await source.read(objectKey, { start, end: spans[0].offset + range.end }), res);
    return;
  }
  res.status(200).set('Content-Length', String(total));
  const body = await readSpans(source, objectKey, spans);
  if (Buffer.isBuffer(body)) res.end(body);
  else await pipeline(body, res);
}

const SMALL_READ = 8 << 20;

/**
 * A stored instance, in one read when small (a CT slice), streamed when large. Its length must be the one
 * indexed: the response's Content-Length was computed from it.
 */
async function readWholeObject(objects: ObjectStore, instance: StoredInstance): Promise<Readable | Buffer> {
  if (instance.size > SMALL_READ) return objects.read(instance.objectKey);
  const bytes = instance.size === 0 ? Buffer.alloc(0) : await objects.readBytes(instance.objectKey, { start: 0, end: instance.size - 1 });
  if (bytes.length !== instance.size) throw new Error(`object ${instance.objectKey} holds ${bytes.length} bytes, the index says ${instance.size}`);
  return bytes;
}

/** A frame made of one or more fragments: small ones are read at once, a large single span is streamed. */
async function readSpans(objects: SpanSource, objectKey: string, spans: FileSpan[]) {
  if (spans.length === 1) {
    const [span] = spans;
    if (span.length === 0) return Buffer.alloc(0);
    if (span.length > SMALL_READ) return objects.read(objectKey, { start: span.offset, end: span.offset + span.length - 1 });
    return objects.readBytes(objectKey, { start: span.offset, end: span.offset + span.length - 1 });
  }
  const buffers = await Promise.all(
    spans.map((s) => (s.length === 0 ? Buffer.alloc(0) : objects.readBytes(objectKey, { start: s.offset, end: s.offset + s.length - 1 }))),
  );
  return Buffer.concat(buffers);
}

function spanLength(spans: FileSpan[]): number {
  return spans.reduce((sum, s) => sum + s.length, 0);
}

const NATIVE_SYNTAXES = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.2']);
export function isNativeSyntax(uid: string): boolean {
  return NATIVE_SYNTAXES.has(uid);
}
