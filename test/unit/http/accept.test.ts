import { describe, expect, it } from 'vitest';
import {
  AS_STORED,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  bulkdataOffers,
  compressedMediaType,
  describeOffers,
  frameOffers,
  instanceOffers,
  metadataOffers,
  negotiate,
  negotiateOrThrow,
  parseAccept,
  partContentType,
  withBoundary,
} from '../../../gateway/http/accept.ts';
import { formatMediaType, parseMediaType, splitHeaderList } from '../../../gateway/http/media-type.ts';
import { NotAcceptable } from '../../../gateway/http/problem.ts';

const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
const JPEG_LOSSLESS_SV1 = '1.2.840.10008.1.2.4.70';
const JPEG_LS = '1.2.840.10008.1.2.4.80';
const J2K_LOSSY = '1.2.840.10008.1.2.4.91';
const BIG_ENDIAN = '1.2.840.10008.1.2.2';

const CORNERSTONE = 'multipart/related; type=application/octet-stream; transfer-syntax=*';
const DICOMWEB_CLIENT_BULK = 'multipart/related; type="application/octet-stream"';

describe('media types', () => {
  it('splits lists on commas outside quotes', () => {
    expect(splitHeaderList('a/b; x="1,2", c/d ,, e/f')).toEqual(['a/b; x="1,2"', 'c/d', 'e/f']);
  });

  it('parses quoted and unquoted parameters, lower-casing names and the essence', () => {
    const mt = parseMediaType('Multipart/Related; Type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1');
    expect(mt?.essence).toBe('multipart/related');
    expect(mt?.params.get('type')).toBe('application/dicom');
    expect(mt?.params.get('transfer-syntax')).toBe('1.2.840.10008.1.2.1');
    expect(parseMediaType('multipart/related;type=application/octet-stream')?.params.get('type')).toBe(
      'application/octet-stream',
    );
    expect(parseMediaType('text/plain; a="x\\"y;z"; b=2')?.params).toEqual(new Map([['a', 'x"y;z'], ['b', '2']]));
  });

  it('rejects what is not a media type', () => {
    for (const bad of ['', 'dicom', '/json', 'a/b c', 'a/b; novalue', 'a/b; x="open', 'a/b; x=1 2', 'a/b; x="1" y']) {
      expect(parseMediaType(bad), bad).toBeNull();
    }
  });

  it('formats with quotes only where needed', () => {
    expect(formatMediaType('multipart/related', { type: 'application/dicom', boundary: 'abc' })).toBe(
      'multipart/related; type="application/dicom"; boundary=abc',
    );
    expect(formatMediaType('a/b', { x: 'say "hi"', y: undefined })).toBe('a/b; x="say \\"hi\\""');
  });
});

describe('parseAccept', () => {
  it('treats a missing, empty or unparsable header as */*', () => {
    for (const h of [undefined, '', '   ', 'garbage', ',,']) {
      expect(parseAccept(h).map((r) => r.essence), String(h)).toEqual(['*/*']);
    }
  });

  it('reads q-values, ignores malformed ranges and what follows q', () => {
    const ranges = parseAccept('application/json;q=0.5;type=x, bad, application/dicom+json;q=2, */*;q=0');
    expect(ranges.map((r) => [r.essence, r.q, r.partType])).toEqual([
      ['application/json', 0.5, undefined],
      ['*/*', 0, undefined],
    ]);
  });

  it('refuses */subtype', () => {
    expect(parseAccept('*/json').map((r) => r.essence)).toEqual(['*/*']); // dropped, so nothing valid left
  });
});

describe('instance retrieve', () => {
  const uncompressed = instanceOffers({ stored: IMPLICIT_VR_LITTLE_ENDIAN, transcodable: [EXPLICIT_VR_LITTLE_ENDIAN] });
  const jpeg = instanceOffers({ stored: JPEG_BASELINE });

  it('defaults to multipart application/dicom as stored for */*, a missing header and multipart/related', () => {
    for (const accept of [undefined, '*/*', 'multipart/related', 'multipart/*', 'multipart/related; type="application/dicom"']) {
      const c = negotiate(accept, jpeg);
      expect(c, String(accept)).toMatchObject({
        mediaType: 'multipart/related',
        partType: 'application/dicom',
        transferSyntax: JPEG_BASELINE,
        contentType: 'multipart/related; type="application/dicom"',
        partContentType: `application/dicom; transfer-syntax=${JPEG_BASELINE}`,
        quality: 1,
      });
    }
  });

  it('serves the stored syntax for transfer-syntax=*, quoted or not', () => {
    for (const accept of [
      'multipart/related; type="application/dicom"; transfer-syntax=*',
      'multipart/related; type=application/dicom; transfer-syntax="*"',
      'multipart/related;type=application/dicom;transfer-syntax=*',
    ]) {
      expect(negotiate(accept, uncompressed)?.transferSyntax, accept).toBe(IMPLICIT_VR_LITTLE_ENDIAN);
    }
  });

  it('honours an explicit syntax it can produce and refuses one it cannot', () => {
    const explicit = `multipart/related; type="application/dicom"; transfer-syntax=${EXPLICIT_VR_LITTLE_ENDIAN}`;
    expect(negotiate(explicit, uncompressed)?.transferSyntax).toBe(EXPLICIT_VR_LITTLE_ENDIAN);
    expect(negotiate(explicit, jpeg)).toBeNull();
    expect(negotiate(`multipart/related; type="application/dicom"; transfer-syntax=${JPEG_BASELINE}`, jpeg)?.transferSyntax).toBe(
      JPEG_BASELINE,
    );
  });

  it('prefers the syntax the client names over its own * fallback', () => {
    const accept = `multipart/related; type="application/dicom"; transfer-syntax=*, multipart/related; type="application/dicom"; transfer-syntax=${EXPLICIT_VR_LITTLE_ENDIAN}`;
    expect(negotiate(accept, uncompressed)?.transferSyntax).toBe(EXPLICIT_VR_LITTLE_ENDIAN);
  });

  it('orders by q-value', () => {
    const accept = `multipart/related; type="application/dicom"; transfer-syntax=${EXPLICIT_VR_LITTLE_ENDIAN}; q=0.4, multipart/related; type="application/dicom"; transfer-syntax=*; q=0.9`;
    expect(negotiate(accept, uncompressed)).toMatchObject({ transferSyntax: IMPLICIT_VR_LITTLE_ENDIAN, quality: 0.9 });
  });

  it('excludes a syntax with q=0 even when * would allow it', () => {
    const accept = `multipart/related; type="application/dicom"; transfer-syntax=${IMPLICIT_VR_LITTLE_ENDIAN}; q=0, multipart/related; type="application/dicom"; transfer-syntax=*`;
    expect(negotiate(accept, uncompressed)?.transferSyntax).toBe(EXPLICIT_VR_LITTLE_ENDIAN);
    expect(negotiate(`multipart/related; type="application/dicom"; transfer-syntax=${JPEG_BASELINE}; q=0, */*`, jpeg)).toBeNull();
    expect(negotiate('*/*;q=0', jpeg)).toBeNull();
  });

  it('offers single-part application/dicom only when asked to', () => {
    expect(negotiate('application/dicom', jpeg)).toBeNull();
    const c = negotiate('application/dicom', instanceOffers({ stored: JPEG_BASELINE, singlePart: true }));
    expect(c).toMatchObject({ mediaType: 'application/dicom', contentType: `application/dicom; transfer-syntax=${JPEG_BASELINE}` });
    expect(c?.partContentType).toBeUndefined();
  });

  it('handles a study of mixed syntaxes (each part as stored)', () => {
    const mixed = instanceOffers({ stored: AS_STORED });
    const c = negotiate(CORNERSTONE.replace('octet-stream', 'dicom'), mixed);
    expect(c).toMatchObject({ transferSyntax: AS_STORED, contentType: 'multipart/related; type="application/dicom"' });
    expect(c?.partContentType).toBeUndefined();
    expect(negotiate(undefined, mixed)?.transferSyntax).toBe(AS_STORED);
    expect(negotiate(`multipart/related; type="application/dicom"; transfer-syntax=${EXPLICIT_VR_LITTLE_ENDIAN}`, mixed)).toBeNull();
    expect(partContentType('application/dicom', JPEG_BASELINE)).toBe(`application/dicom; transfer-syntax=${JPEG_BASELINE}`);
  });

  it('refuses other part types and unknown media types', () => {
    for (const accept of [
      'multipart/related; type="application/octet-stream"',
      'multipart/related; type="application/dicom+xml"',
      'application/dicom+json',
      'image/jpeg',
      'text/html, application/xhtml+xml',
    ]) {
      expect(negotiate(accept, jpeg), accept).toBeNull();
    }
  });

  it('builds the multipart Content-Type with a boundary', () => {
    const c = negotiate(undefined, jpeg)!;
    expect(withBoundary(c, 'b0undary')).toBe('multipart/related; type="application/dicom"; boundary=b0undary');
    expect(withBoundary(c, 'a:b')).toBe('multipart/related; type="application/dicom"; boundary="a:b"');
  });
});

describe('metadata', () => {
  const offers = metadataOffers();

  it('answers application/dicom+json by default and for wildcards', () => {
    for (const accept of [undefined, '*/*', 'application/*', 'application/dicom+json', 'application/dicom+json; charset=utf-8']) {
      expect(negotiate(accept, offers), String(accept)).toMatchObject({
        mediaType: 'application/dicom+json',
        contentType: 'application/dicom+json',
        transferSyntax: undefined,
      });
    }
  });

  it('answers application/json when it is named, even next to */*', () => {
    expect(negotiate('application/json', offers)?.mediaType).toBe('application/json');
    expect(negotiate('application/json, */*', offers)?.mediaType).toBe('application/json');
    expect(negotiate('*/*, application/dicom+json;q=0', offers)?.mediaType).toBe('application/json');
    expect(negotiate('*/*;q=0, application/json', offers)?.mediaType).toBe('application/json');
    expect(negotiate('application/json;Q=0.9, application/dicom+json;q=0.3', offers)?.mediaType).toBe('application/json');
    const browser = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
    expect(negotiate(browser, offers)).toMatchObject({ mediaType: 'application/dicom+json', quality: 0.8 });
    expect(negotiate('application/json;q=0.5, application/dicom+json;q=0.8', offers)?.mediaType).toBe(
      'application/dicom+json',
    );
  });

  it('refuses XML, other charsets and q=0 everywhere', () => {
    expect(negotiate('multipart/related; type="application/dicom+xml"', offers)).toBeNull();
    expect(negotiate('application/dicom+json; charset=ISO-8859-1', offers)).toBeNull();
    expect(negotiate('application/json;q=0, application/dicom+json;q=0', offers)).toBeNull();
    expect(negotiate('image/*', offers)).toBeNull();
  });
});

describe('frames', () => {
  const uncompressed = frameOffers({ stored: IMPLICIT_VR_LITTLE_ENDIAN, singlePart: true });
  const jpegLs = frameOffers({ stored: JPEG_LS, singlePart: true });
  const jpegBaseline = frameOffers({ stored: JPEG_BASELINE });

  it('gives Cornerstone (unquoted, transfer-syntax=*) the stored syntax, labelled in each part', () => {
    expect(negotiate(CORNERSTONE, jpegLs)).toMatchObject({
      mediaType: 'multipart/related',
      partType: 'application/octet-stream',
      transferSyntax: JPEG_LS,
      contentType: 'multipart/related; type="application/octet-stream"',
      partContentType: `application/octet-stream; transfer-syntax=${JPEG_LS}`,
    });
    expect(negotiate(CORNERSTONE, uncompressed)?.partContentType).toBe(
      `application/octet-stream; transfer-syntax=${EXPLICIT_VR_LITTLE_ENDIAN}`,
    );
  });

  it('serves uncompressed little endian frames as Explicit VR Little Endian without a syntax', () => {
    for (const accept of [undefined, '*/*', DICOMWEB_CLIENT_BULK, 'multipart/related; type=application/octet-stream']) {
      expect(negotiate(accept, uncompressed)?.transferSyntax, String(accept)).toBe(EXPLICIT_VR_LITTLE_ENDIAN);
    }
    const implicit = `multipart/related; type="application/octet-stream"; transfer-syntax=${IMPLICIT_VR_LITTLE_ENDIAN}`;
    expect(negotiate(implicit, uncompressed)?.transferSyntax).toBe(IMPLICIT_VR_LITTLE_ENDIAN);
    expect(negotiate(DICOMWEB_CLIENT_BULK, frameOffers({ stored: '1.2.840.10008.1.2.1.99' }))?.transferSyntax).toBe(
      EXPLICIT_VR_LITTLE_ENDIAN,
    );
  });

  it('answers 406 for compressed frames when no syntax is named on octet-stream', () => {
    expect(negotiate(DICOMWEB_CLIENT_BULK, jpegLs)).toBeNull();
    expect(negotiate('application/octet-stream', jpegLs)).toBeNull();
    expect(negotiate(`multipart/related; type="application/octet-stream"; transfer-syntax=${EXPLICIT_VR_LITTLE_ENDIAN}`, jpegLs)).toBeNull();
    // unless the caller can transcode
    const transcoding = frameOffers({ stored: JPEG_LS, transcodable: [EXPLICIT_VR_LITTLE_ENDIAN] });
    expect(negotiate(DICOMWEB_CLIENT_BULK, transcoding)?.transferSyntax).toBe(EXPLICIT_VR_LITTLE_ENDIAN);
    expect(negotiate(CORNERSTONE, transcoding)?.transferSyntax).toBe(JPEG_LS);
  });

  it('answers big endian frames only when asked for them', () => {
    const be = frameOffers({ stored: BIG_ENDIAN });
    expect(negotiate(DICOMWEB_CLIENT_BULK, be)).toBeNull();
    expect(negotiate(CORNERSTONE, be)?.transferSyntax).toBe(BIG_ENDIAN);
  });

  it('offers compressed frames under their own media type, with PS3.18 defaults', () => {
    expect(negotiate(undefined, jpegLs)).toMatchObject({
      partType: 'image/jls',
      transferSyntax: JPEG_LS,
      partContentType: `image/jls; transfer-syntax=${JPEG_LS}`,
    });
    expect(negotiate('multipart/related; type="image/jls"', jpegLs)?.transferSyntax).toBe(JPEG_LS);
    expect(negotiate('image/jls', jpegLs)).toMatchObject({
      mediaType: 'image/jls',
      contentType: `image/jls; transfer-syntax=${JPEG_LS}`,
    });
    expect(negotiate('image/*', jpegLs)?.mediaType).toBe('image/jls'); // image/* cannot match multipart/related
    // image/jpeg defaults to lossless SV1; baseline must be named
    expect(negotiate('multipart/related; type="image/jpeg"', jpegBaseline)).toBeNull();
    expect(negotiate(undefined, jpegBaseline)).toBeNull();
    expect(negotiate(`multipart/related; type="image/jpeg"; transfer-syntax=${JPEG_BASELINE}`, jpegBaseline)?.transferSyntax).toBe(
      JPEG_BASELINE,
    );
    expect(negotiate('multipart/related; type="image/jpeg"', frameOffers({ stored: JPEG_LOSSLESS_SV1 }))?.transferSyntax).toBe(
      JPEG_LOSSLESS_SV1,
    );
    expect(negotiate('multipart/related; type="image/jp2"', jpegLs)).toBeNull();
    expect(compressedMediaType(J2K_LOSSY)).toEqual({ mediaType: 'image/jp2', isDefault: false });
    expect(compressedMediaType(EXPLICIT_VR_LITTLE_ENDIAN)).toBeUndefined();
  });

  it('offers single-part octet-stream only when asked to', () => {
    expect(negotiate('application/octet-stream', uncompressed)).toMatchObject({
      mediaType: 'application/octet-stream',
      contentType: `application/octet-stream; transfer-syntax=${EXPLICIT_VR_LITTLE_ENDIAN}`,
    });
    expect(negotiate('application/octet-stream', frameOffers({ stored: IMPLICIT_VR_LITTLE_ENDIAN }))).toBeNull();
  });

  it('prefers what the client ranks higher across media types', () => {
    const accept = `multipart/related; type="image/jls"; q=0.5, ${CORNERSTONE}; q=0.8`;
    expect(negotiate(accept, jpegLs)?.partType).toBe('application/octet-stream');
    const accept2 = `multipart/related; type="image/jls"; q=0.9, ${CORNERSTONE}; q=0.8`;
    expect(negotiate(accept2, jpegLs)?.partType).toBe('image/jls');
  });
});

describe('bulkdata', () => {
  const offers = bulkdataOffers({ singlePart: true });

  it('serves raw bytes whatever transfer syntax is asked', () => {
    for (const accept of [undefined, DICOMWEB_CLIENT_BULK, CORNERSTONE, 'application/octet-stream']) {
      const c = negotiate(accept, offers);
      expect(c?.transferSyntax, String(accept)).toBeUndefined();
    }
    expect(negotiate(DICOMWEB_CLIENT_BULK, offers)?.partContentType).toBe('application/octet-stream');
    expect(negotiate('application/octet-stream', offers)?.contentType).toBe('application/octet-stream');
    expect(negotiate('application/dicom', offers)).toBeNull();
  });
});

describe('negotiateOrThrow', () => {
  it('throws 406 naming what can be produced and what was asked', () => {
    const offers = frameOffers({ stored: JPEG_LS });
    let error: unknown;
    try {
      negotiateOrThrow(DICOMWEB_CLIENT_BULK, offers, 'frame');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NotAcceptable);
    const message = (error as NotAcceptable).message;
    expect(message).toContain('This frame cannot be sent');
    expect(message).toContain(`multipart/related; type="application/octet-stream"; transfer-syntax=${JPEG_LS}`);
    expect(message).toContain(`multipart/related; type="image/jls"; transfer-syntax=${JPEG_LS}`);
    expect(message).toContain(`asked: ${DICOMWEB_CLIENT_BULK}`);
    expect(negotiateOrThrow(CORNERSTONE, offers, 'frame').transferSyntax).toBe(JPEG_LS);
  });

  it('describes mixed-syntax offers', () => {
    expect(describeOffers(instanceOffers({ stored: AS_STORED }))).toEqual([
      'multipart/related; type="application/dicom"; transfer-syntax=* (as stored)',
    ]);
  });
});
