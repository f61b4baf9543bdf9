/**
 * STOW-RS request bodies for fuzzing: well-formed multipart/related bodies around the given parts, or broken
 * ones (wrong or missing boundaries, missing CRLFs, garbage or oversized part headers, parts without
 * Content-Type, random preambles and epilogues, cut bodies, delimiters inside the data, odd Content-Type
 * headers). Each body comes with a label saying how it was built.
 */
import type { Prng } from './prng.ts';

export interface MultipartBody {
  body: Buffer;
  /** The request's Content-Type header; undefined to send none. */
  contentType: string | undefined;
  label: string;
}

interface Layout {
  boundary: string;
  /** Boundary announced in the Content-Type header. */
  headerBoundary: string;
  preamble: Buffer;
  epilogue: Buffer;
  /** Header block of each part, without the blank line. */
  partHeaders: (index: number) => string;
  /** Between a part's headers and its data. */
  headerEnd: string;
  /** Between a part's data and the next delimiter. */
  dataEnd: string;
  /** After the boundary of a delimiter line (RFC 2046 allows transport padding). */
  delimiterPadding: string;
  close: boolean;
  contentType: (boundary: string) => string | undefined;
}

const BOUNDARY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'()+_,-./:=?";

export function buildMultipart(parts: Buffer[], rng: Prng, broken: boolean): MultipartBody {
  const boundary = randomBoundary(rng);
  const layout: Layout = {
    boundary,
    headerBoundary: boundary,
    preamble: rng.chance(0.2) ? Buffer.from('\r\n') : Buffer.alloc(0),
    epilogue: rng.chance(0.2) ? Buffer.from(rng.pick(['\r\n', '\0'.repeat(64), '\r\n\r\n'])) : Buffer.alloc(0),
    partHeaders: () => 'Content-Type: application/dicom',
    headerEnd: '\r\n\r\n',
    dataEnd: '\r\n',
    delimiterPadding: '',
    close: true,
    contentType: (b) => `multipart/related; type="application/dicom"; boundary=${quoteIfNeeded(b)}`,
  };
  let label = 'well-formed';
  let post: ((body: Buffer) => Buffer) | undefined;
  if (broken) {
    const mutation = rng.pick(ENVELOPE_MUTATIONS);
    label = mutation(layout, rng, parts) ?? '';
    if (label.startsWith('cut')) {
      post = (body) => body.subarray(0, rng.int(body.length + 1));
    } else if (label.startsWith('delimiter inside data')) {
      post = (body) => {
        const at = rng.int(body.length);
        return Buffer.concat([body.subarray(0, at), Buffer.from(`\r\n--${layout.boundary}${rng.pick(['', '--', '\r\n', '\r\nContent-Type: application/dicom\r\n\r\n'])}`), body.subarray(at)]);
      };
    }
  }
  let body = assemble(parts, layout);
  if (post) body = post(body);
  return { body, contentType: layout.contentType(layout.headerBoundary), label };
}

function assemble(parts: Buffer[], l: Layout): Buffer {
  const chunks: Buffer[] = [l.preamble];
  parts.forEach((data, i) => {
    const headers = l.partHeaders(i);
    chunks.push(Buffer.from(`--${l.boundary}${l.delimiterPadding}\r\n${headers}${headers ? l.headerEnd : l.headerEnd.slice(2)}`, 'latin1'));
    chunks.push(data);
    chunks.push(Buffer.from(l.dataEnd));
  });
  if (l.close) chunks.push(Buffer.from(`--${l.boundary}--${l.delimiterPadding}`));
  chunks.push(l.epilogue);
  return Buffer.concat(chunks);
}

type EnvelopeMutation = (l: Layout, rng: Prng, parts: Buffer[]) => string;

const ENVELOPE_MUTATIONS: EnvelopeMutation[] = [
  (l, rng) => {
    l.headerBoundary = rng.chance(0.5) ? randomBoundary(rng) : `${l.boundary}x`;
    return 'boundary in header differs from body';
  },
  (l) => {
    l.dataEnd = '';
    return 'no CRLF before delimiters';
  },
  (l) => {
    l.headerEnd = '\r\n';
    return 'no blank line after part headers';
  },
  (l) => {
    l.headerEnd = '\n\n';
    l.dataEnd = '\n';
    return 'LF line endings';
  },
  (l, rng) => {
    const garbage = rng.pick([
      () => `X-Junk: ${rng.bytes(40).toString('latin1').replace(/[\r\n]/g, '?')}`,
      () => 'NoColonHere',
      () => ': no name',
      () => 'Content-Type:',
      () => 'Content-Type: application/dicom; transfer-syntax="1.2.840.10008.1.2.1"',
      () => 'Content-Type: application/dicom\r\nContent-Type: image/jpeg',
      () => 'Content-Length: 5',
      () => 'Content-Transfer-Encoding: base64',
      () => 'X-Nul: a\0b',
      () => ' folded continuation line',
      () => 'Content-Disposition: form-data; name="file"; filename="../../x.dcm"',
      () => 'Content-Disposition: attachment; filename*=UTF-8\'\'%E2%80%AE%00',
      () => 'Content-Type: APPLICATION/DICOM',
      () => 'Content-Type: application/dicom+json',
      () => 'Content-Type: multipart/related; boundary=inner',
    ])();
    l.partHeaders = () => (rng.chance(0.5) ? `Content-Type: application/dicom\r\n${garbage}` : garbage);
    return `part header garbage ${JSON.stringify(garbage.slice(0, 40))}`;
  },
  (l, rng) => {
    const size = rng.pick([8_000, 16_300, 16_384, 17_000, 40_000, 200_000]);
    l.partHeaders = () => `Content-Type: application/dicom\r\nX-Long: ${'a'.repeat(size)}`;
    return `part header line of ${size} bytes`;
  },
  (l, rng) => {
    const lines = rng.pick([99, 100, 101, 500]);
    l.partHeaders = () => ['Content-Type: application/dicom', ...Array.from({ length: lines }, (_, i) => `X-H${i}: v`)].join('\r\n');
    return `${lines + 1} part header lines`;
  },
  (l) => {
    l.partHeaders = () => '';
    return 'parts without headers';
  },
  (l) => {
    l.partHeaders = (i) => (i % 2 === 0 ? '' : 'Content-Type: application/dicom');
    return 'some parts without Content-Type';
  },
  (l, rng) => {
    l.preamble = Buffer.concat([rng.bytes(rng.pick([1, 100, 5000])), Buffer.from(rng.pick(['', '\r\n', `\r\n--${l.boundary}x\r\n`, `--${l.boundary.slice(0, -1)}\r\n`])), Buffer.from('\r\n')]);
    return 'random preamble';
  },
  (l, rng) => {
    l.epilogue = Buffer.concat([Buffer.from(rng.pick(['', '\r\n', `\r\n--${l.boundary}--\r\n`, `\r\n--${l.boundary}\r\nContent-Type: application/dicom\r\n\r\n`])), rng.bytes(rng.pick([1, 100, 5000]))]);
    return 'random epilogue';
  },
  () => 'cut at a random point',
  () => 'delimiter inside data',
  (l) => {
    l.close = false;
    return 'no closing delimiter';
  },
  (l, rng) => {
    l.delimiterPadding = rng.pick([' ', '\t\t ', ' '.repeat(200), 'x']);
    return `delimiter padding ${JSON.stringify(l.delimiterPadding.slice(0, 4))}`;
  },
  (l, rng) => {
    const variant = rng.pick([
      () => `multipart/related; type="application/dicom"`,
      () => `multipart/related; type="application/dicom"; boundary=`,
      () => `multipart/related; type="application/dicom"; boundary=""`,
      (b: string) => `multipart/related; boundary=${b}`,
      (b: string) => `multipart/related; type=application/dicom; boundary="${b}`,
      (b: string) => `multipart/related; type="application/dicom+json"; boundary=${b}`,
      (b: string) => `multipart/related; type="application/dicom"; boundary=${b}; boundary=other`,
      (b: string) => `MULTIPART/RELATED; TYPE="APPLICATION/DICOM"; BOUNDARY=${b}`,
      (b: string) => `multipart/form-data; boundary=${b}`,
      (b: string) => `multipart/related;type="application/dicom";boundary=${b};charset=utf-8`,
      (b: string) => `multipart/related; type="application/dicom"; start="<x>"; boundary="${b}"`,
      (b: string) => `text/plain; boundary=${b}`,
      (b: string) => `multipart/related; type="application/dicom"; boundary=${b}${'x'.repeat(100)}`,
      (b: string) => `multipart/related; type="application/dicom"; boundary="${b}\\"`,
      (b: string) => `multipart/related; type="application/dicom"; boundary=${b} ; ;; =x`,
      () => undefined,
      () => '',
      () => `multipart/related; type="application/dicom"; boundary=${'b'.repeat(5000)}`,
    ]);
    l.contentType = variant;
    return `content-type ${JSON.stringify(variant(l.boundary)?.slice(0, 60))}`;
  },
  (l, rng) => {
    l.boundary = rng.pick(['a', ' ', 'b c', '--', 'x'.repeat(70), 'x'.repeat(71), 'é', '"q"', 'b;b']);
    l.headerBoundary = l.boundary;
    return `odd boundary ${JSON.stringify(l.boundary.slice(0, 10))}`;
  },
  (l, rng, parts) => {
    parts.splice(0, parts.length, ...Array.from({ length: rng.pick([0, 65, 70, 200]) }, () => Buffer.alloc(rng.int(3))));
    return `${parts.length} tiny parts`;
  },
  (l, rng, parts) => {
    const inner = randomBoundary(rng);
    const nested = Buffer.concat([Buffer.from(`--${inner}\r\nContent-Type: application/dicom\r\n\r\n`), parts[0] ?? Buffer.alloc(0), Buffer.from(`\r\n--${inner}--`)]);
    parts.splice(0, 1, nested);
    l.partHeaders = (i) => (i === 0 ? `Content-Type: multipart/related; type="application/dicom"; boundary=${inner}` : 'Content-Type: application/dicom');
    return 'nested multipart part';
  },
];

function randomBoundary(rng: Prng): string {
  const length = rng.pick([1, 8, 24, 40, 70]);
  let b = '';
  for (let i = 0; i < length; i++) b += rng.pick([...BOUNDARY_CHARS]);
  return b;
}

function quoteIfNeeded(boundary: string): string {
  return /^[A-Za-z0-9!#$&^_.+-]+$/.test(boundary) ? boundary : `"${boundary}"`;
}
