import type { IncomingMessage } from 'node:http';
import * as Multipasta from 'multipasta';
import { parseContentType } from '../http/content-type.ts';

/** One part as it starts arriving: its headers, and a sink that receives its bytes. */
export interface PartHeaders {
  /** 1-based position of the part in the request. */
  index: number;
  contentType: string;
  contentTypeParameters: Record<string, string>;
}

/** Receives a part's bytes. `write` returning false asks the reader to pause until `drained` resolves. */
export interface PartSink {
  write(chunk: Uint8Array): boolean;
  drained(): Promise<void>;
  /** The part ended normally (its closing boundary was seen). */
  end(): void;
  /** The request broke off or was malformed before the part ended: its bytes must be thrown away. */
  abort(reason: Error): void;
}

export class MultipartBodyError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 413 = 400,
  ) {
    super(message);
    this.name = 'MultipartBodyError';
  }
}

export interface MultipartLimits {
  maxParts: number;
  maxTotalBytes: number;
}

const errorMessages: Record<string, string> = {
  InvalidBoundary: 'the Content-Type header has no multipart boundary parameter',
  BadHeaders: 'a part has malformed or oversized headers (limit 16 KiB, 100 lines)',
  InvalidDisposition: 'a part has an invalid Content-Disposition header',
  EndNotReached: 'the body ended before the closing multipart boundary: the upload was cut off',
};

/**
 * Streams a multipart body (any subtype: multipart/related for DICOMweb) part by part into sinks, with
 * backpressure: the request is paused while a sink is busy. The preamble (e.g. the leading CRLF some clients
 * send) and the epilogue after the closing delimiter (some dicomweb-client versions append NUL bytes) are
 * ignored, as RFC 2046 requires. Resolves with the number of complete parts once the body is consumed.
 */
export function readMultipartBody(
  req: IncomingMessage,
  limits: MultipartLimits,
  openPart: (headers: PartHeaders) => PartSink,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let current: PartSink | undefined;
    let parts = 0;
    let completed = 0;
    let done = false;
    let failed = false;
    let waiting: Promise<void> | undefined;

    const fail = (error: MultipartBodyError) => {
      if (failed || done) return;
      failed = true;
      current?.abort(error);
      current = undefined;
      req.unpipe();
      req.resume(); // drain and discard the rest so the response can still be sent
      reject(error);
    };

    // Clients send `type=application/dicom` unquoted although '/' is not a token character: read the boundary
    // ourselves and hand the parser a clean header.
    const boundary = parseContentType(req.headers['content-type'])?.parameters.boundary;
    const parser = Multipasta.make({
      headers: { 'content-type': boundary ? `multipart/related; boundary="${boundary.replace(/"/g, '')}"` : '' },
      isFile: () => true,
      maxParts: limits.maxParts,
      maxTotalSize: limits.maxTotalBytes,
      onField: () => undefined,
      onFile: (info) => {
        if (failed || done) return () => undefined;
        parts += 1;
        const sink = openPart({
          index: parts,
          contentType: info.contentType.toLowerCase(),
          contentTypeParameters: info.contentTypeParameters,
        });
        current = sink;
        return (chunk) => {
          if (failed) return;
          if (chunk === null) {
            completed += 1;
            current = undefined;
            sink.end();
            return;
          }
          if (!sink.write(chunk) && !waiting) {
            req.pause();
            waiting = sink.drained().then(() => {
              waiting = undefined;
              if (!failed) req.resume();
            });
          }
        };
      },
      onError: (error) => {
        if (done) return; // bytes after the closing delimiter are an epilogue: ignored
        if (error._tag === 'ReachedLimit') {
          fail(
            error.limit === 'MaxParts'
              ? new MultipartBodyError(`too many parts: at most ${limits.maxParts} instances per request`, 413)
              : new MultipartBodyError(`request body too large: at most ${limits.maxTotalBytes} bytes per request`, 413),
          );
        } else {
          fail(new MultipartBodyError(`malformed multipart body: ${errorMessages[error._tag] ?? error._tag}`));
        }
      },
      onDone: () => {
        done = true;
      },
    });

    req.on('data', (chunk: Buffer) => {
      if (!failed && !done) parser.write(chunk);
    });
    req.on('end', () => {
      if (failed) return;
      if (!done) {
        parser.end();
        fail(new MultipartBodyError(`malformed multipart body: ${errorMessages.EndNotReached}`));
        return;
      }
      resolve(completed);
    });
    req.on('error', () => fail(new MultipartBodyError('the upload was interrupted')));
    req.on('aborted', () => fail(new MultipartBodyError('the upload was interrupted')));
  });
}
