import {
  AS_STORED,
  bulkdataOffers,
  frameOffers,
  instanceOffers,
  metadataOffers,
  negotiateOrThrow,
  partContentType,
  type Choice,
} from '../../http/accept.ts';

/** How instances are sent: each part's transfer syntax given its stored one (no transcoding here). */
export interface InstanceRepresentation {
  transferSyntaxFor(stored: string): string;
}

/** How pixel data or other bulk values are sent. */
export interface BinaryRepresentation {
  multipart: boolean;
  /** The `type` parameter of the multipart response. */
  partType: string;
  /** Content-Type of each part, or of the single-part body. */
  contentType: string;
}

export function chooseInstanceRepresentation(accept: string | undefined, storedSyntaxes: string[]): InstanceRepresentation {
  const distinct = new Set(storedSyntaxes);
  const stored = distinct.size === 1 ? storedSyntaxes[0] : AS_STORED;
  const choice = negotiateOrThrow(accept, instanceOffers({ stored }), distinct.size === 1 ? 'resource' : 'resource (its instances are stored in several transfer syntaxes)');
  const chosen = choice.transferSyntax;
  return { transferSyntaxFor: (s) => (chosen === undefined || chosen === AS_STORED ? s : chosen) };
}

export function chooseMetadataRepresentation(accept: string | undefined): void {
  negotiateOrThrow(accept, metadataOffers(), 'metadata');
}

export function chooseFrameRepresentation(accept: string | undefined, stored: string, frameCount: number): BinaryRepresentation {
  return binary(negotiateOrThrow(accept, frameOffers({ stored, singlePart: frameCount === 1 }), frameCount === 1 ? 'frame' : 'frame list'));
}

/** The frames of one instance within a Pixel Data answer (always multipart: it holds several frames). */
export function choosePixelDataRepresentation(accept: string | undefined, stored: string, sopInstanceUID: string): BinaryRepresentation {
  return binary(negotiateOrThrow(accept, frameOffers({ stored }), `pixel data of instance ${sopInstanceUID} (stored as ${stored})`));
}

export function chooseBulkDataRepresentation(accept: string | undefined): BinaryRepresentation {
  return binary(negotiateOrThrow(accept, bulkdataOffers({ singlePart: true }), 'bulk data'));
}

function binary(choice: Choice): BinaryRepresentation {
  const multipart = choice.mediaType === 'multipart/related';
  const partType = choice.partType ?? choice.mediaType;
  const concrete = choice.transferSyntax === AS_STORED ? undefined : choice.transferSyntax;
  return {
    multipart,
    partType,
    contentType: multipart ? (choice.partContentType ?? partContentType(partType, concrete)) : choice.contentType,
  };
}
