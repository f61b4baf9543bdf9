/**
 * Accept negotiation for DICOMweb retrieve resources (PS3.18 8.7), in one place.
 *
 * A resource lists the representations it can produce as Offers (server preference order) and
 * `negotiate` picks one against the request's Accept header, or returns null (the caller answers 406 and
 * `negotiateOrThrow` builds that answer, naming what can be produced).
 *
 * Parsing (tolerant, because real clients differ):
 * - several media ranges, commas inside quotes do not split; q-values (0..1, at most 3 decimals; an invalid
 *   q discards that range); parameters after `q` are accept-extensions and are ignored;
 * - `type` and `transfer-syntax` are accepted quoted (`type="application/dicom"`, dicomweb-client) and
 *   unquoted (`type=application/octet-stream`, Cornerstone, although `/` is not a token character);
 * - a missing or empty header, or one where no range parses, counts as `*` / `*` (RFC 9110 12.5.1);
 *   malformed ranges next to good ones are ignored.
 *
 * Matching one range against one variant (an offer with one of its transfer syntaxes):
 * - `*` / `*` and `type/*` match the media type but carry no parameters, so they stand for the offer's
 *   default transfer syntax;
 * - `multipart/related` without `type=` matches any part type; with `type=` the part type must equal it;
 * - `transfer-syntax=*` matches every syntax the offer can produce (the first listed is taken on a tie:
 *   it is the stored one, no transcoding); a UID matches only that syntax; NO transfer-syntax parameter
 *   matches only the offer's `defaultTransferSyntax` and nothing when the offer has none;
 * - offers without transfer syntaxes (JSON, non-pixel bulkdata) ignore the parameter;
 * - `charset` other than utf-8 does not match (we only write UTF-8).
 *
 * Choosing (RFC 9110 12.5.1): a variant's quality is the q of the MOST SPECIFIC range matching it
 * (`*` / `*` < `type/*` < `type/subtype` < with `type=` < with a transfer-syntax, a UID being more specific
 * than `*`), so `*`/`*`, `application/dicom+json;q=0` excludes dicom+json. q=0 means not acceptable. Highest
 * quality wins; on a tie, the variant named by the more specific range wins (`application/json, *`/`*`
 * gives application/json), then server order (offer order, then transfer syntax order).
 *
 * Defaults when the client names no transfer syntax (decisions, see the builders below):
 * - instances (`application/dicom`, single or multipart): AS STORED. PS3.18 says Explicit VR Little
 *   Endian (8.7.3.5.2); like Orthanc and dcm4chee we send the stored bytes instead, with their real
 *   transfer syntax in each part's Content-Type, so nothing is transcoded (or lost) without being asked.
 *   A client that needs Explicit VR Little Endian asks for it explicitly and gets it when the resource
 *   can be transcoded, 406 otherwise.
 * - frames (`application/octet-stream`): Explicit VR Little Endian as the standard says. Stored
 *   uncompressed little endian data (implicit, explicit or deflated: the frame bytes are identical once
 *   inflated) is served as is and labelled 1.2.840.10008.1.2.1; compressed or big endian data without an
 *   explicit syntax (or `*`) is 406 unless the resource can transcode to Explicit VR Little Endian.
 *   Compressed frames are also offered under their own media type (`image/jls`, `image/jp2`...), whose
 *   default syntax is PS3.18 Table 8.7.3-5's, so `*`/`*` on a JPEG-LS lossless frame gives
 *   `multipart/related; type="image/jls"`.
 * - metadata: `application/dicom+json`, also `application/json`; no transfer syntax.
 *
 * The DICOMweb `accept` query parameter (PS3.18 8.3.3.1) is the caller's business: pass its value
 * instead of the header when present.
 */
import { NotAcceptable } from './problem.ts';
import { formatMediaType, parseMediaType, splitHeaderList } from './media-type.ts';

export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';
/** In an Offer's transferSyntaxes (study or series of mixed syntaxes) or a Choice: each part as stored. */
export const AS_STORED = '*';

export interface Offer {
  /** Media type of the response body: `multipart/related` or a single-part type. */
  mediaType: string;
  /** For `multipart/related`: the media type of each part (the `type` parameter). */
  partType?: string;
  /**
   * Syntaxes the resource can be sent in, preferred first (the stored one: no work). `*` (AS_STORED)
   * means each part in its own stored syntax. Omitted for media types without one (JSON, bulkdata).
   */
  transferSyntaxes?: readonly string[];
  /** Served when the client names no transfer syntax; without it, such a request does not match. */
  defaultTransferSyntax?: string;
}

export interface Choice {
  offer: Offer;
  /** `multipart/related` or the single-part media type. */
  mediaType: string;
  partType?: string;
  /** A UID, AS_STORED (`*`: label each part with its own syntax), or undefined for JSON/bulkdata. */
  transferSyntax?: string;
  /** The response Content-Type; for multipart add the boundary with `withBoundary`. */
  contentType: string;
  /** Content-Type of every part (multipart with one known syntax); see `partContentType` otherwise. */
  partContentType?: string;
  /** The q-value the client gave this choice. */
  quality: number;
}

export interface MediaRange {
  essence: string;
  partType?: string;
  transferSyntax?: string;
  charset?: string;
  q: number;
  specificity: number;
}

const MAX_RANGES = 64;
const ANY: MediaRange = { essence: '*/*', q: 1, specificity: 0 };

/** Parses an Accept header value. Missing, empty or wholly unparsable means `*` / `*`. */
export function parseAccept(header: string | undefined): MediaRange[] {
  if (header === undefined) return [ANY];
  const ranges: MediaRange[] = [];
  for (const item of splitHeaderList(header).slice(0, MAX_RANGES)) {
    const range = parseRange(item);
    if (range) ranges.push(range);
  }
  return ranges.length > 0 ? ranges : [ANY];
}

function parseRange(text: string): MediaRange | null {
  const mt = parseMediaType(text);
  if (!mt) return null;
  const [top, sub] = mt.essence.split('/');
  if (top === '*' && sub !== '*') return null;
  const range: MediaRange = { essence: mt.essence, q: 1, specificity: 0 };
  for (const [name, value] of mt.params) {
    if (name === 'q') {
      if (!/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value)) return null;
      range.q = Number(value);
      break; // what follows q is accept-ext
    }
    if (name === 'type') range.partType = value.toLowerCase();
    else if (name === 'transfer-syntax') range.transferSyntax = value;
    else if (name === 'charset') range.charset = value.toLowerCase();
  }
  if (top === '*') range.specificity = 0;
  else if (sub === '*') range.specificity = 10;
  else
    range.specificity =
      20 + (range.partType ? 4 : 0) + (range.transferSyntax === undefined ? 0 : range.transferSyntax === '*' ? 1 : 2);
  return range;
}

/** Picks the representation to send, or null when none of the offers is acceptable (answer 406). */
export function negotiate(accept: string | undefined, offers: readonly Offer[]): Choice | null {
  const ranges = parseAccept(accept);
  let best: { offer: Offer; ts: string | undefined; q: number; specificity: number } | null = null;
  for (const offer of offers) {
    const syntaxes: readonly (string | undefined)[] = offer.transferSyntaxes ?? [undefined];
    for (const ts of syntaxes) {
      const governing = mostSpecificMatch(ranges, offer, ts);
      if (!governing || governing.q === 0) continue;
      if (!best || governing.q > best.q || (governing.q === best.q && governing.specificity > best.specificity)) {
        best = { offer, ts, q: governing.q, specificity: governing.specificity };
      }
    }
  }
  return best ? toChoice(best.offer, best.ts, best.q) : null;
}

/** Like `negotiate`, but throws 406 Not Acceptable naming what this resource can be sent as. */
export function negotiateOrThrow(accept: string | undefined, offers: readonly Offer[], resource: string): Choice {
  const choice = negotiate(accept, offers);
  if (choice) return choice;
  const asked = accept === undefined ? '' : ` (asked: ${accept.length > 300 ? `${accept.slice(0, 300)}…` : accept})`;
  throw new NotAcceptable(
    `This ${resource} cannot be sent in any of the requested representations${asked}. ` +
      `It can be sent as: ${describeOffers(offers).join(', ')}.`,
  );
}

/** Human-readable list of what the offers can produce, for 406 messages. */
export function describeOffers(offers: readonly Offer[]): string[] {
  const out: string[] = [];
  for (const offer of offers) {
    const base = offer.partType ? formatMediaType(offer.mediaType, { type: offer.partType }) : offer.mediaType;
    if (!offer.transferSyntaxes) out.push(base);
    else
      for (const ts of offer.transferSyntaxes) {
        out.push(`${base}; transfer-syntax=${ts}${ts === AS_STORED ? ' (as stored)' : ''}`);
      }
  }
  return out;
}

/** The multipart Content-Type with its boundary, e.g. `multipart/related; type="application/dicom"; boundary=x`. */
export function withBoundary(choice: Choice, boundary: string): string {
  return `${choice.contentType}${formatMediaType('', { boundary })}`;
}

/** Content-Type of one part: `application/dicom; transfer-syntax=1.2.840.10008.1.2.4.50`. */
export function partContentType(partType: string, transferSyntax: string | undefined): string {
  return formatMediaType(partType, { 'transfer-syntax': transferSyntax });
}

function mostSpecificMatch(
  ranges: readonly MediaRange[],
  offer: Offer,
  ts: string | undefined,
): MediaRange | undefined {
  let best: MediaRange | undefined;
  for (const range of ranges) {
    if (!rangeMatches(range, offer, ts)) continue;
    if (!best || range.specificity > best.specificity || (range.specificity === best.specificity && range.q > best.q)) {
      best = range;
    }
  }
  return best;
}

function rangeMatches(range: MediaRange, offer: Offer, ts: string | undefined): boolean {
  const offered = offer.mediaType.toLowerCase();
  if (range.charset !== undefined && range.charset !== 'utf-8' && range.charset !== 'utf8') return false;
  if (range.essence === '*/*' || range.essence.endsWith('/*')) {
    if (range.essence !== '*/*' && offered.split('/')[0] !== range.essence.split('/')[0]) return false;
    return ts === undefined || ts === offer.defaultTransferSyntax;
  }
  if (range.essence !== offered) return false;
  if (range.partType !== undefined && offer.partType !== undefined && range.partType !== offer.partType.toLowerCase()) {
    return false;
  }
  if (ts === undefined) return true;
  if (range.transferSyntax === undefined) return ts === offer.defaultTransferSyntax;
  return range.transferSyntax === '*' || range.transferSyntax === ts;
}

function toChoice(offer: Offer, ts: string | undefined, quality: number): Choice {
  const multipart = offer.partType !== undefined;
  const concrete = ts !== undefined && ts !== AS_STORED ? ts : undefined;
  return {
    offer,
    mediaType: offer.mediaType,
    partType: offer.partType,
    transferSyntax: ts,
    contentType: multipart
      ? formatMediaType(offer.mediaType, { type: offer.partType })
      : formatMediaType(offer.mediaType, { 'transfer-syntax': concrete }),
    partContentType:
      offer.partType !== undefined && ts !== AS_STORED ? partContentType(offer.partType, concrete) : undefined,
    quality,
  };
}

// ---- What each DICOMweb resource offers -------------------------------------------------------------

/** Compressed pixel data media types and their default syntax (PS3.18 Table 8.7.3-5). */
const COMPRESSED_MEDIA_TYPES: readonly { mediaType: string; defaultTs: string; syntaxes: readonly string[] }[] = [
  {
    mediaType: 'image/jpeg',
    defaultTs: '1.2.840.10008.1.2.4.70',
    syntaxes: ['1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.57', '1.2.840.10008.1.2.4.70'],
  },
  { mediaType: 'image/dicom-rle', defaultTs: '1.2.840.10008.1.2.5', syntaxes: ['1.2.840.10008.1.2.5'] },
  jpegFamily('image/jls', '1.2.840.10008.1.2.4.80', ['1.2.840.10008.1.2.4.81']),
  jpegFamily('image/jp2', '1.2.840.10008.1.2.4.90', ['1.2.840.10008.1.2.4.91']),
  jpegFamily('image/jpx', '1.2.840.10008.1.2.4.92', ['1.2.840.10008.1.2.4.93']),
  {
    mediaType: 'image/jphc',
    defaultTs: '1.2.840.10008.1.2.4.201',
    syntaxes: ['1.2.840.10008.1.2.4.201', '1.2.840.10008.1.2.4.202', '1.2.840.10008.1.2.4.203'],
  },
];

function jpegFamily(mediaType: string, defaultTs: string, others: readonly string[]) {
  return { mediaType, defaultTs, syntaxes: [defaultTs, ...others] };
}

/** The media type PS3.18 gives compressed pixel data in this syntax, and whether it is that type's default. */
export function compressedMediaType(ts: string): { mediaType: string; isDefault: boolean } | undefined {
  const entry = COMPRESSED_MEDIA_TYPES.find((e) => e.syntaxes.includes(ts));
  return entry && { mediaType: entry.mediaType, isDefault: entry.defaultTs === ts };
}

/** Implicit, explicit or deflated explicit VR little endian: frames are the same bytes in all three. */
export function isUncompressedLittleEndian(ts: string): boolean {
  return [IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN].includes(ts);
}

export interface InstanceOfferOptions {
  /** The stored syntax, or AS_STORED for a study/series whose instances differ. */
  stored: string;
  /** Other syntaxes the caller can transcode (every instance of) the resource to. */
  transcodable?: readonly string[];
  /** Also offer a single-part `application/dicom` body (only when the resource is one instance). */
  singlePart?: boolean;
}

/** Study, series or instance retrieve: `multipart/related; type="application/dicom"`, as stored by default. */
export function instanceOffers({ stored, transcodable = [], singlePart = false }: InstanceOfferOptions): Offer[] {
  const syntaxes = unique([stored, ...transcodable]);
  const representation = { transferSyntaxes: syntaxes, defaultTransferSyntax: stored };
  const offers: Offer[] = [{ mediaType: 'multipart/related', partType: 'application/dicom', ...representation }];
  if (singlePart) offers.push({ mediaType: 'application/dicom', ...representation });
  return offers;
}

/** Study, series or instance metadata. */
export function metadataOffers(): Offer[] {
  return [{ mediaType: 'application/dicom+json' }, { mediaType: 'application/json' }];
}

export interface FrameOfferOptions {
  /** The stored syntax of the instance. */
  stored: string;
  /** Other syntaxes the caller can transcode the frames to. */
  transcodable?: readonly string[];
  /** Also offer single-part bodies (only when exactly one frame is asked for). */
  singlePart?: boolean;
}

/** Frames (and the pixel data bulkdata URI): octet-stream, plus the compressed media type when compressed. */
export function frameOffers({ stored, transcodable = [], singlePart = false }: FrameOfferOptions): Offer[] {
  const offers: Offer[] = [];
  const add = (mediaType: string, offer: Omit<Offer, 'mediaType' | 'partType'>) => {
    offers.push({ mediaType: 'multipart/related', partType: mediaType, ...offer });
    if (singlePart) offers.push({ mediaType, ...offer });
  };
  if (isUncompressedLittleEndian(stored)) {
    add('application/octet-stream', {
      transferSyntaxes: unique([EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, ...transcodable]),
      defaultTransferSyntax: EXPLICIT_VR_LITTLE_ENDIAN,
    });
    return offers;
  }
  const octet = unique([stored, ...transcodable]);
  add('application/octet-stream', {
    transferSyntaxes: octet,
    defaultTransferSyntax: octet.includes(EXPLICIT_VR_LITTLE_ENDIAN) ? EXPLICIT_VR_LITTLE_ENDIAN : undefined,
  });
  const compressed = compressedMediaType(stored);
  if (compressed) {
    add(compressed.mediaType, {
      transferSyntaxes: [stored],
      defaultTransferSyntax: compressed.isDefault ? stored : undefined,
    });
  }
  return offers;
}

/** Bulkdata other than pixel data: raw bytes, no transfer syntax. */
export function bulkdataOffers({ singlePart = false }: { singlePart?: boolean } = {}): Offer[] {
  const offers: Offer[] = [{ mediaType: 'multipart/related', partType: 'application/octet-stream' }];
  if (singlePart) offers.push({ mediaType: 'application/octet-stream' });
  return offers;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
