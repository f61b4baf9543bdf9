import { randomBytes } from 'node:crypto';

export interface MultipartOptions {
  boundary?: string;
  /** Quote the boundary parameter, as dicomweb-client does. */
  quoteBoundary?: boolean;
  /** Quote the type parameter (`type="application/dicom"`), as most clients do. */
  quoteType?: boolean;
  /** Bytes before the first delimiter (a preamble: dicomweb-client starts with CRLF). */
  preamble?: Buffer;
  /** Bytes after the closing delimiter (some dicomweb-client versions append NULs). */
  epilogue?: Buffer;
  partType?: string;
}

/** Builds a STOW-RS request body and its Content-Type. */
export function multipartRequest(parts: Buffer[], options: MultipartOptions = {}): { body: Buffer; contentType: string } {
  const boundary = options.boundary ?? `test-${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  if (options.preamble) chunks.push(options.preamble);
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${options.partType ?? 'application/dicom'}\r\n\r\n`));
    chunks.push(part);
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--`));
  if (options.epilogue) chunks.push(options.epilogue);
  const type = options.quoteType === false ? 'application/dicom' : '"application/dicom"';
  const b = options.quoteBoundary ? `"${boundary}"` : boundary;
  return { body: Buffer.concat(chunks), contentType: `multipart/related; type=${type}; boundary=${b}` };
}

export interface DicomJson {
  [tag: string]: { vr: string; Value?: unknown[]; BulkDataURI?: string; InlineBinary?: string };
}

export interface StowResult {
  status: number;
  body: DicomJson;
  warnings: string[];
}

export async function stow(root: string, token: string, parts: Buffer[], options: MultipartOptions & { study?: string } = {}): Promise<StowResult> {
  const { body, contentType } = multipartRequest(parts, options);
  const res = await fetch(`${root}/studies${options.study ? `/${options.study}` : ''}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType, accept: 'application/dicom+json' },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as DicomJson) : {}, warnings: res.headers.get('warning')?.split(/,\s*(?=299)/) ?? [] };
}

/** FailureReason codes of a STOW response, in order. */
export function failureReasons(body: DicomJson): number[] {
  const failed = (body['00081198']?.Value ?? []) as DicomJson[];
  return failed.map((item) => item['00081197'].Value?.[0] as number);
}

export function referencedInstances(body: DicomJson): string[] {
  const items = (body['00081199']?.Value ?? []) as DicomJson[];
  return items.map((item) => item['00081155'].Value?.[0] as string);
}

/** Splits a multipart/related response into its parts (headers and bytes), as a strict client would. */
export function parseMultipart(body: Buffer, contentType: string): { headers: Record<string, string>; body: Buffer }[] {
  const match = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!match) throw new Error(`no boundary in ${contentType}`);
  const delimiter = Buffer.from(`--${match[1]}`);
  const parts: { headers: Record<string, string>; body: Buffer }[] = [];
  let position = body.indexOf(delimiter);
  while (position !== -1) {
    const start = position + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const headerEnd = body.indexOf('\r\n\r\n', start);
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd);
    const headers: Record<string, string> = {};
    for (const line of body.subarray(start + 2, headerEnd).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, body: body.subarray(headerEnd + 4, next) });
    position = next === -1 ? -1 : next + 2;
  }
  return parts;
}
