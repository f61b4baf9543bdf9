import type { IncomingMessage } from 'node:http';
import * as Multipasta from 'multipasta';
import { parseContentType } from '../http/content-type.ts';
import { isWhitespace, trimEndWhere } from '../../core/text/trim-end.ts';

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

export interface MultipartPacing {
  /**
   * While this answers true, the body is parsed in slices of `sliceBytes` with a turn of the event loop between
   * them, so that requests waiting for the loop (a viewer's frames) are not held behind a whole burst of upload.
   */
  giveWay: () => boolean;
  sliceBytes: number;
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
  pacing?: MultipartPacing,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let current: PartSink | undefined;
    let parts = 0;
    let completed = 0;
    let done = false;
    let failed = false;
    let waiting: Promise<void> | undefined;
    let givingWay = false;
    let bytesSinceTurn = 0;

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
        let ended = false;
        parts += 1;
        const sink = openPart({
          index: parts,
          contentType: info.contentType.toLowerCase(),
          contentTypeParameters: info.contentTypeParameters,
        });
        current = sink;
        return (chunk) => {
          // A delimiter in the epilogue makes the parser end the last part a second time: ignored.
          if (failed || ended) return;
          if (chunk === null) {
            ended = true;
            completed += 1;
            current = undefined;
            sink.end();
            return;
          }
          if (!sink.write(chunk) && !waiting) {
            req.pause();
            waiting = sink.drained().then(() => {
              waiting = undefined;
              if (!failed && !givingWay) req.resume();
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

    // The last bytes read: a closing delimiter whose dashes arrive in a read of their own escapes the parser.
    let tail = Buffer.alloc(0);
    const closing = boundary ? Buffer.from(`--${boundary}--`, 'latin1') : undefined;
    req.on('data', (chunk: Buffer) => {
      if (failed || done) return;
      tail = Buffer.concat([tail, chunk.subarray(Math.max(0, chunk.length - 256))]).subarray(-256);
      parser.write(chunk);
      bytesSinceTurn += chunk.length;
      if (pacing && bytesSinceTurn >= pacing.sliceBytes && !givingWay && !failed && !done) {
        bytesSinceTurn = 0;
        if (!pacing.giveWay()) return;
        givingWay = true;
        req.pause();
        setImmediate(() => {
          givingWay = false;
          if (!failed && !waiting) req.resume();
        });
      }
    });
    req.on('end', () => {
      if (failed) return;
      // The parser holds back bytes that may start a delimiter: a closing delimiter at the very end of the
      // last read is only recognised when it is told the body ended.
      if (!done) parser.end();
      if (failed) return;
      if (!done && current === undefined && closing && endsWithClosingDelimiter(tail, closing)) done = true;
      if (!done) {
        fail(new MultipartBodyError(`malformed multipart body: ${errorMessages.EndNotReached}`));
        return;
      }
      resolve(completed);
    });
    req.on('error', () => fail(new MultipartBodyError('the upload was interrupted')));
    req.on('aborted', () => fail(new MultipartBodyError('the upload was interrupted')));
  });
}

/** True when the body ends with the closing delimiter, maybe followed by white space (an epilogue of CRLFs). */
function endsWithClosingDelimiter(tail: Buffer, closing: Buffer): boolean {
  const text = trimEndWhere(tail.toString('latin1'), (c) => c === '\0' || isWhitespace(c));
  return text.endsWith(closing.toString('latin1'));
}
